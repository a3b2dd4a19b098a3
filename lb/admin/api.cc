#include "lb/admin/api.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <chrono>

#include "conf/json_dump.h"
#include "conf/json_loader.h"
#include "health/status.h"

namespace mqlb::lb::admin {
namespace {

using Json = nlohmann::ordered_json;

Response json_response(int status, const Json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  return r;
}

Response error(int status, const std::string& message, const std::string& field = {}) {
  Json j;
  j["error"] = message;
  if (!field.empty()) j["field"] = field;
  return json_response(status, j);
}

Response from(const Outcome& o) {
  return error(o.status, o.error, o.field);
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

Json totals_json(const PerWorker<Totals>& t) {
  Json j;
  j["total"] = t.sum(&Totals::sessions);
  j["bytes_in"] = t.sum(&Totals::bytes_in);
  j["bytes_out"] = t.sum(&Totals::bytes_out);
  j["connect_errors"] = t.sum(&Totals::connect_errors);
  return j;
}

Json frontend_json(const Frontend& f) {
  Json j;
  j["name"] = f.conf.name;
  Json binds = Json::array();
  for (const auto& b : f.conf.binds)
    binds.push_back({{"address", b.to_string()}, {"ssl", b.tls.enabled}});
  j["binds"] = std::move(binds);
  j["default_backend"] = f.conf.default_backend;
  j["maxconn"] = f.conf.maxconn;
  Json sessions = totals_json(f.state->totals);
  sessions["current"] = f.state->active.get();
  sessions["no_server"] = f.state->totals.sum(&Totals::no_server);
  sessions["denied"] = f.state->totals.sum(&Totals::denied);
  j["sessions"] = std::move(sessions);
  return j;
}

Json backend_json(const Backend& b) {
  Json j;
  j["name"] = b.conf.name;
  j["balance"] = conf::to_string(b.conf.balance);
  unsigned up = 0;
  for (const auto& s : b.servers)
    up += s->state->usable() ? 1 : 0;
  j["servers"] = b.servers.size();
  j["servers_usable"] = up;
  Json sessions = totals_json(b.state->totals);
  sessions["current"] = b.state->active.get();
  sessions["queued"] = b.state->queued();
  j["sessions"] = std::move(sessions);
  return j;
}

// A string or null in a PATCH body.
bool nullable_string(const nlohmann::json& v) {
  return v.is_null() || v.is_string();
}

Response patch_server(const Backend& b, const Server& s, const std::string& body, Admin& admin) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return error(400, "the body is not JSON", "body");
  if (!doc.is_object() || doc.empty())
    return error(400,
                 "expected an object with admin_state, weight, address or port, e.g. "
                 "{\"admin_state\": \"drain\"}",
                 "body");
  SetServer c{b.conf.name, s.conf.name, {}};
  ServerPatch& p = c.patch;
  for (const auto& item : doc.items()) {
    const std::string& key = item.key();
    const nlohmann::json& v = item.value();
    if (key == "admin_state") {
      if (!nullable_string(v) || (v.is_string() && !parse_admin(v.get<std::string>())))
        return error(400, "must be \"ready\", \"drain\", \"maint\" or null, got " + v.dump(), key);
      if (v.is_null())
        p.clear_admin = true;
      else
        p.set.admin = parse_admin(v.get<std::string>());
    } else if (key == "weight") {
      if (v.is_null())
        p.clear_weight = true;
      else if (v.is_number_unsigned() && v.get<uint64_t>() <= 256)
        p.set.weight = v.get<uint32_t>();
      else
        return error(400, "must be 0..256 or null, got " + v.dump(), key);
    } else if (key == "address") {
      if (v.is_null())
        p.clear_address = true;
      else if (v.is_string() && !v.get<std::string>().empty())
        p.set.address = v.get<std::string>();
      else
        return error(400, "must be a host name or IP address, or null, got " + v.dump(), key);
    } else if (key == "port") {
      if (v.is_number_unsigned() && v.get<uint64_t>() >= 1 && v.get<uint64_t>() <= 65535)
        p.set.port = v.get<uint16_t>();
      else
        return error(400, "must be 1..65535, got " + v.dump(), key);
    } else {
      return error(400, "unknown key (expected one of: admin_state, weight, address, port)", key);
    }
  }
  if (Outcome o = admin.change(c); !o.ok()) return from(o);
  const Backend* nb = find_backend(admin.runtime(), c.backend);
  const Server* ns = nb ? find_server(*nb, c.server) : nullptr;
  if (!ns) return error(404, "no server '" + c.server + "'");
  return json_response(200, server_json(*nb, *ns));
}

Response add_server(const Backend& b, const std::string& body, Admin& admin) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return error(400, "the body is not JSON", "body");
  if (!doc.is_object())
    return error(400,
                 "expected a server object, e.g. {\"name\": \"b3\", \"address\": "
                 "\"10.0.0.3\", \"port\": 1883}",
                 "body");
  std::vector<conf::Error> errors;
  auto s = conf::load_json_server(doc, b.conf.check, errors);
  if (!s) {
    // The first error names its key; the rest follow in "errors".
    Response r = error(400, errors.front().message, errors.front().field);
    if (errors.size() > 1) {
      Json j = Json::parse(r.body);
      Json all = Json::array();
      for (const auto& e : errors)
        all.push_back({{"field", e.field}, {"error", e.message}});
      j["errors"] = std::move(all);
      r = json_response(400, j);
    }
    return r;
  }
  const std::string name = s->name;
  AddServer c{b.conf.name, std::move(*s)};
  // `b` is gone once the change runs: a new snapshot replaces its own.
  if (Outcome o = admin.change(c); !o.ok()) return from(o);
  const Backend* nb = find_backend(admin.runtime(), c.backend);
  const Server* ns = nb ? find_server(*nb, name) : nullptr;
  if (!ns) return error(404, "no server '" + name + "'");
  Response r = json_response(201, server_json(*nb, *ns));
  r.headers.push_back({"Location", "/api/v1/backends/" + c.backend + "/servers/" + name});
  return r;
}

Response method_not_allowed(const std::string& allow) {
  Response r = error(405, "method not allowed here (allowed: " + allow + ")");
  r.headers.push_back({"Allow", allow});
  return r;
}

Json info_json(Admin& admin) {
  const Info i = admin.info();
  const Runtime& rt = admin.runtime();
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Json j;
  j["version"] = i.version;
  j["pid"] = i.pid;
  j["uptime_s"] = (now - i.started_unix_ms) / 1000;
  j["workers"] = i.workers;
  j["maxconn"] = rt.maxconn;
  j["current_sessions"] = rt.process->active.get();
  j["reloads"] = rt.process->reloads.load(std::memory_order_relaxed);
  j["reloads_failed"] = rt.process->reloads_failed.load(std::memory_order_relaxed);
  j["last_reload_unix_ms"] = rt.process->last_reload_unix_ms.load(std::memory_order_relaxed);
  j["state_file"] = i.state_file;
  return j;
}

// One base64 block (an Authorization: Basic value), or nullopt.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 1024) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the padding as decoded zero bytes.
  for (size_t i = in.size(); i > 0 && in[i - 1] == '=' && len > 0; --i)
    --len;
  out.resize(len);
  return out;
}

bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// An Authorization value's scheme, which is case-insensitive (RFC 9110
// §11.1), followed by one space.
bool has_scheme(std::string_view s, std::string_view scheme) {
  if (s.size() <= scheme.size() || s[scheme.size()] != ' ') return false;
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != scheme[i]) return false;
  return true;
}

}  // namespace

nlohmann::ordered_json server_json(const Backend& b, const Server& s) {
  const ServerState& st = *s.state;
  const health::ServerHealthView view = st.check_view();
  Json j;
  j["name"] = s.conf.name;
  j["backend"] = b.conf.name;
  j["address"] = s.conf.address;
  j["port"] = s.conf.port;
  j["state"] = status_name(s);
  j["admin_state"] = admin_name(st.admin());
  j["weight"] = s.conf.weight;
  j["effective_weight"] = st.weight();
  j["backup"] = s.conf.backup;
  j["maxconn"] = s.conf.maxconn;
  Json sessions = totals_json(st.totals);
  sessions["current"] = st.active.get();
  sessions["queued"] = st.queue.size();
  j["sessions"] = std::move(sessions);
  Json check;
  check["enabled"] = s.conf.check.enabled;
  if (s.conf.check.enabled) {
    check["status"] = health::name(view.last_check.status);
    check["info"] = view.last_check.info;
    check["duration_ms"] = view.last_check.duration.count();
    check["down_transitions"] = view.down_transitions;
    check["since_unix_ms"] = view.since_unix_ms;
  }
  j["check"] = std::move(check);
  return j;
}

Response handle(const Request& r, Admin& admin) {
  const std::vector<std::string_view> p = split_path(r.path);
  const bool get = r.method == "GET" || r.method == "HEAD";
  if (p.size() < 3 || p[0] != "api" || p[1] != "v1")
    return error(404, "no such resource: " + r.path + " (the API is under /api/v1)");
  const Runtime& rt = admin.runtime();
  const std::string_view what = p[2];
  if (p.size() == 3 && what == "info") {
    if (!get) return method_not_allowed("GET");
    return json_response(200, info_json(admin));
  }
  if (p.size() == 3 && what == "config") {
    if (!get) return method_not_allowed("GET");
    return json_response(200, conf::to_json(rt.config));
  }
  if (p.size() == 3 && what == "reload") {
    if (r.method != "POST") return method_not_allowed("POST");
    std::vector<std::string> errors = admin.reload("API request");
    if (errors.empty()) return json_response(200, {{"reloaded", true}});
    Json j;
    j["error"] = "the reload failed; the running configuration keeps serving";
    j["errors"] = errors;
    return json_response(400, j);
  }
  if (p.size() == 3 && what == "frontends") {
    if (!get) return method_not_allowed("GET");
    Json list = Json::array();
    for (const auto& f : rt.frontends)
      list.push_back(frontend_json(*f));
    return json_response(200, list);
  }
  if (what != "backends") return error(404, "no such resource: " + r.path);
  if (p.size() == 3) {
    if (!get) return method_not_allowed("GET");
    Json list = Json::array();
    for (const auto& b : rt.backends)
      list.push_back(backend_json(*b));
    return json_response(200, list);
  }
  const Backend* b = find_backend(rt, p[3]);
  if (!b) return error(404, "no backend '" + std::string(p[3]) + "'");
  if (p.size() == 4) {
    if (!get) return method_not_allowed("GET");
    return json_response(200, backend_json(*b));
  }
  if (p[4] != "servers" || p.size() > 6) return error(404, "no such resource: " + r.path);
  if (p.size() == 5) {
    if (r.method == "POST") return add_server(*b, r.body, admin);
    if (!get) return method_not_allowed("GET, POST");
    Json list = Json::array();
    for (const auto& s : b->servers)
      list.push_back(server_json(*b, *s));
    return json_response(200, list);
  }
  const Server* s = find_server(*b, p[5]);
  if (!s)
    return error(404, "no server '" + std::string(p[5]) + "' in backend '" + b->conf.name + "'");
  if (get) return json_response(200, server_json(*b, *s));
  if (r.method == "PATCH") return patch_server(*b, *s, r.body, admin);
  if (r.method == "DELETE") {
    const uint32_t live = s->state->active.get();
    DelServer c{b->conf.name, s->conf.name};
    if (Outcome o = admin.change(c); !o.ok()) return from(o);
    return json_response(200, {{"deleted", c.backend + "/" + c.server}, {"draining", live}});
  }
  return method_not_allowed("GET, PATCH, DELETE");
}

std::optional<Response> authorize(const Endpoint& e, std::string_view method,
                                  std::string_view authorization) {
  const bool change = !(method == "GET" || method == "HEAD");
  const bool bearer = has_scheme(authorization, "bearer") && !e.token.empty() &&
                      same(authorization.substr(7), e.token);
  bool basic = false;
  if (has_scheme(authorization, "basic"))
    if (auto creds = base64_decode(authorization.substr(6)))
      basic = same(*creds, e.user + ":" + e.password);
  auto challenge = [&](const std::string& why, bool basic_auth) {
    Response r = error(401, why);
    r.headers.push_back({"WWW-Authenticate", basic_auth ? "Basic realm=\"" + e.realm + "\""
                                                        : "Bearer realm=\"" + e.realm + "\""});
    return r;
  };
  if (e.stats) {
    const bool authed = e.user.empty() || basic;
    if (!change) {
      if (authed || bearer) return std::nullopt;
      return challenge("this stats page needs its user and password (stats auth)", true);
    }
    if (bearer || (e.stats_admin && authed)) return std::nullopt;
    if (e.stats_admin) return challenge("changes need the stats user and password", true);
    return error(403, e.token.empty() ? "changes need 'stats admin if TRUE' on this stats section"
                                      : "changes need 'stats admin if TRUE' or the admin token");
  }
  if (!change || e.loopback || bearer) return std::nullopt;
  if (e.token.empty())
    return error(403, "changes off loopback need an admin token (global.admin.token)");
  return challenge("changes need the admin token (Authorization: Bearer TOKEN)", false);
}

}  // namespace mqlb::lb::admin
