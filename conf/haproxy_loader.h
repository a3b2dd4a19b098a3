#pragma once
// A haproxy.cfg (HAProxy 2.6's syntax, mode tcp) into the same resolved
// Config the JSON loader produces. Errors and warnings carry the file and
// line, with HAProxy's wording where HAProxy has one (docs/haproxy.md lists
// what is supported, warned about and refused). Pure: no libuv, no
// sockets, no DNS (host names stay in Server::address), no file reading.

#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/haproxy_tokenizer.h"

namespace mqlb::conf {

LoadResult load_haproxy(std::string_view text, const std::string& file, const EnvLookup& env);

// Several files read as one configuration, in order, as `haproxy -f A -f B`
// reads them: a defaults section applies to the proxies of later files.
struct SourceText {
  std::string file;
  std::string_view text;
};
LoadResult load_haproxy(const std::vector<SourceText>& files, const EnvLookup& env);

}  // namespace mqlb::conf
