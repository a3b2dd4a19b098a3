#pragma once
// The status page: one self-contained HTML document (no external assets,
// works offline) that draws frontends, backends and servers from /api/v1
// and refreshes itself; its drain/ready/maint buttons PATCH the API, which
// decides whether the caller may. Pure.

#include <string>

namespace mqlb::lb::admin {

// `refresh_ms`: how often the page reads the API again (HAProxy's `stats
// refresh`, else 5 s).
std::string status_page(long refresh_ms);

}  // namespace mqlb::lb::admin
