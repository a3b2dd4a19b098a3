#pragma once
// mqlb's JSON configuration (docs/config.md) into a resolved Config, with
// `defaults` applied the way HAProxy applies its defaults section. Every
// error names its JSON path. Pure: no libuv, no sockets, no OpenSSL.

#include <string>
#include <string_view>

#include "conf/config.h"

namespace mqlb::conf {

LoadResult load_json(std::string_view text, const std::string& file);

}  // namespace mqlb::conf
