#pragma once
// A haproxy.cfg (HAProxy 2.6's syntax, mode tcp) into the same resolved
// Config the JSON loader produces. Errors and warnings carry the file and
// line, with HAProxy's wording where HAProxy has one (docs/haproxy.md lists
// what is supported, warned about and refused). Pure: no libuv, no
// sockets, no DNS (host names stay in Server::address), no file reading.

#include <string>
#include <string_view>

#include "conf/config.h"
#include "conf/haproxy_tokenizer.h"

namespace mqlb::conf {

LoadResult load_haproxy(std::string_view text, const std::string& file, const EnvLookup& env);

}  // namespace mqlb::conf
