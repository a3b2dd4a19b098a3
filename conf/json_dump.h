#pragma once
// A Config written back as mqlb JSON (docs/config.md), every default resolved
// into each proxy, with no `defaults` section: what `mqlb --dump-config`
// prints. load_json() of the text gives back the same Config. Pure: no I/O,
// no libuv, no sockets, no OpenSSL.

#include <nlohmann/json.hpp>
#include <string>

#include "conf/config.h"

namespace mqlb::conf {

// The document, keys in the order docs/config.md lists them.
nlohmann::ordered_json to_json(const Config& c);

// One server as a "servers" entry of its backend (`checks`), as the admin
// API shows it and the state file keeps it.
nlohmann::ordered_json to_json(const Server& s, const BackendCheck& checks);

// to_json(c), pretty-printed with a 2-space indent and a final newline.
std::string dump_json(const Config& c);

}  // namespace mqlb::conf
