#pragma once
// Changes made through the admin API and the runtime socket, kept apart
// from the configuration files: the running configuration is the files'
// with these on top (apply), so a reload of the files keeps them and a
// restart reads them back from the state file. Precedence: an override
// wins over the file until it is cleared (PATCH with null) or its server
// is deleted; a server added at run time stays until it is deleted. Pure:
// no I/O (Control reads and writes the state file).

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "lb/admin/admin.h"

namespace mqlb::lb::admin {

struct AddedServer {
  std::string backend;
  conf::Server server;
  bool operator==(const AddedServer&) const = default;
};

struct Overrides {
  std::map<std::string, ServerOverride> servers;  // by "backend/server"
  std::vector<AddedServer> added;                 // in the order they were added
  std::set<std::string> deleted;                  // "backend/server" of the files' servers

  bool empty() const { return servers.empty() && added.empty() && deleted.empty(); }
  bool operator==(const Overrides&) const = default;
};

// The files' configuration with `o` on top. What no longer applies (an
// override or added server of a backend or server the files dropped, an
// added server whose name the files now use) is taken out of `o` and
// described in `notes`, for the log.
conf::Config apply(const conf::Config& files, Overrides& o, std::vector<std::string>& notes);

// Records `c` in `o`, checked against the running configuration: the
// outcome, with `o` changed only when it is a success. Names are checked
// here; addresses are resolved when the snapshot is built.
Outcome record(Overrides& o, const Change& c, const conf::Config& running);

// The state file's text (JSON, version 1) and back. Errors name the file
// and the key; added servers are read against the backends of `files`.
std::string to_state_json(const Overrides& o, const conf::Config& running);
std::optional<Overrides> from_state_json(std::string_view text, const std::string& file,
                                         const conf::Config& files,
                                         std::vector<conf::Error>& errors);

}  // namespace mqlb::lb::admin
