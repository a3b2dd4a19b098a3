#pragma once
// What the admin interfaces (the REST API, lb/admin/api; the runtime
// socket, lb/admin/commands) may read and change in the running process.
// Control implements it; both interfaces only parse requests into these
// calls and format the answers, so they can be tested without a process.
// Thread: control.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "conf/config.h"
#include "lb/runtime.h"
#include "lb/state.h"

namespace mqlb::lb::admin {

// What the API and the runtime socket set on one server. Each field is an
// override of the configuration file: it wins over the file until cleared
// (lb/admin/overrides.h).
struct ServerOverride {
  std::optional<AdminState> admin;
  std::optional<uint32_t> weight;
  std::optional<std::string> address;  // IP literal or host name
  std::optional<uint16_t> port;

  bool empty() const { return !admin && !weight && !address && !port; }
  bool operator==(const ServerOverride&) const = default;
};

// One request's change to a server: fields to set, and overrides to clear
// (back to what the file says).
struct ServerPatch {
  ServerOverride set;
  bool clear_admin = false, clear_weight = false, clear_address = false;
};

struct SetServer {
  std::string backend, server;
  ServerPatch patch;
};
// A server that the file does not have. Its name must be new in the backend.
struct AddServer {
  std::string backend;
  conf::Server server;
};
// Drains the server, then it is gone: no new sessions, live ones stay until
// they end or hard-stop-after.
struct DelServer {
  std::string backend, server;
};
using Change = std::variant<SetServer, AddServer, DelServer>;

// How a request ended, in HTTP's terms (the runtime socket prints `error`).
struct Outcome {
  int status = 200;   // 200, 201 created, 400 bad value, 404 unknown object, 409 conflict
  std::string error;  // empty on success
  std::string field;  // the request field the error is about, when there is one

  bool ok() const { return status < 300; }
  static Outcome bad(std::string field, std::string error) {
    return {400, std::move(error), std::move(field)};
  }
  static Outcome not_found(std::string error) { return {404, std::move(error), {}}; }
};

struct Info {
  std::string version;
  pid_t pid = 0;
  int64_t started_unix_ms = 0;
  unsigned workers = 0;
  std::string state_file;  // empty: changes are not persisted
};

class Admin {
 public:
  // The running snapshot (its config is the effective one: file plus
  // overrides); valid until the next change or reload.
  virtual const Runtime& runtime() const = 0;
  virtual Info info() const = 0;
  // Applies `c` to every worker and persists it; on error nothing changes.
  virtual Outcome change(const Change& c) = 0;
  // Reads the configuration files again: the errors, or none.
  virtual std::vector<std::string> reload(const std::string& trigger) = 0;

 protected:
  ~Admin() = default;
};

// "UP", "DOWN", "MAINT", "DRAIN", "NOLB" (weight 0): HAProxy's status of a
// server, as its stats show it.
std::string_view status_name(const Server& s);
std::string_view admin_name(AdminState a);  // "ready", "drain", "maint"
std::optional<AdminState> parse_admin(std::string_view text);

// The backend and server of the snapshot by name, or null.
const Backend* find_backend(const Runtime& rt, std::string_view name);
const Server* find_server(const Backend& b, std::string_view name);

}  // namespace mqlb::lb::admin
