#pragma once
// The admin REST API (/api/v1, JSON): requests in, calls on admin::Admin,
// responses out. Pure apart from what Admin does; the HTTP server
// (lb/admin/http_server) only moves bytes and asks authorize() first.
// Thread: control.
//
//   GET    /api/v1/info                         version, pid, uptime, workers, reloads
//   GET    /api/v1/config                       the running configuration as mqlb JSON
//   GET    /api/v1/frontends
//   GET    /api/v1/backends[/{b}]
//   GET    /api/v1/backends/{b}/servers[/{s}]   state, admin state, weight, sessions, check
//   POST   /api/v1/backends/{b}/servers         add: a "servers" entry of docs/config.md
//   PATCH  /api/v1/backends/{b}/servers/{s}     admin_state, weight, address, port (null clears)
//   DELETE /api/v1/backends/{b}/servers/{s}     drains it, then it is gone
//   POST   /api/v1/reload                       reads the files again
//
// Errors: {"error": "...", "field": "..."} with 400 (bad body), 404
// (unknown object or path), 405 (known path, other method), 409 (a name
// in use).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lb/admin/admin.h"

namespace mqlb::lb::admin {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::string body;
};

struct Response {
  int status = 200;
  std::string body;  // JSON, ending with a newline
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Allow, WWW-Authenticate
};

Response handle(const Request& r, Admin& admin);

// Who may read and change through one HTTP endpoint.
struct Endpoint {
  bool loopback = true;  // bound to 127.0.0.0/8 or ::1
  std::string token;     // the admin API's bearer token (global admin.token)
  // A haproxy.cfg stats section: reads need its `stats auth` (when set),
  // changes `stats admin` and that auth, or the token.
  bool stats = false;
  std::string user, password;
  bool stats_admin = false;
  std::string realm = "mqlb";
};

// Null when the request may go on; else the 401 or 403 to send.
// `authorization` is the request's Authorization header, or empty.
std::optional<Response> authorize(const Endpoint& e, std::string_view method,
                                  std::string_view authorization);

// A server as GET .../servers/{s} shows it.
nlohmann::ordered_json server_json(const Backend& b, const Server& s);

}  // namespace mqlb::lb::admin
