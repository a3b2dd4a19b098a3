#pragma once
// mqlb's JSON configuration (docs/config.md) into a resolved Config, with
// `defaults` applied the way HAProxy applies its defaults section. Every
// error names its JSON path. Pure: no libuv, no sockets, no OpenSSL.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace mqlb::conf {

LoadResult load_json(std::string_view text, const std::string& file);

// One server as the admin API receives it: the keys of a "servers" entry
// over conf::Server's defaults (a backend's default-server does not apply,
// as with HAProxy's `add server`). `checks` are its backend's. Errors name
// the key ("port: must be 1..65535, got 0"); none when a server comes back.
std::optional<Server> load_json_server(const nlohmann::json& v, const BackendCheck& checks,
                                       std::vector<Error>& errors);

}  // namespace mqlb::conf
