#pragma once
// The configuration files named on the command line into one Config: the
// loader is chosen by content (JSON starts with '{', anything else is a
// haproxy.cfg), not by extension. The only place in conf/ that reads files.

#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/haproxy_tokenizer.h"

namespace mqlb::conf {

// One text, by its content. Pure.
LoadResult load_text(std::string_view text, const std::string& file, const EnvLookup& env);

// `paths` in order, as `haproxy -f A -f B` reads them; a directory stands
// for its *.cfg files in lexical order. Several haproxy.cfg files make one
// configuration; a JSON file must come alone.
LoadResult load_files(const std::vector<std::string>& paths, const EnvLookup& env);

}  // namespace mqlb::conf
