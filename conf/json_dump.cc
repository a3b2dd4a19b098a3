// Pure.
//
// The dump is the inverse of json_loader.cc: each key below is one the
// loader reads, spelled as it reads it, and a value is written only where
// the loader accepts it. Where the model's "unset" cannot be written (an
// empty string, a port of 0, an optional interval), the key is left out and
// the loader's default gives the same value back.
#include "conf/json_dump.h"

#include <string_view>

#include "conf/duration.h"
#include "conf/names.h"

namespace mqlb::conf {
namespace {

using Json = nlohmann::ordered_json;

// A name from a table, or the bare number when it is out of range: the
// loader then refuses it rather than reading back another value.
template <size_t N>
Json name_of(const std::string_view (&names)[N], int index) {
  if (index >= 0 && static_cast<size_t>(index) < N) return std::string(names[index]);
  return index;
}

// 0 is "no timeout" in every place a duration may be 0.
Json duration(Duration d) {
  if (d.count() == 0) return 0;
  return format_duration(d);
}

std::string host_port(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Json log_target(const LogTarget& t) {
  Json j;
  switch (t.kind) {
    case LogTarget::Kind::Stdout:
      j["address"] = "stdout";
      break;
    case LogTarget::Kind::Stderr:
      j["address"] = "stderr";
      break;
    case LogTarget::Kind::Syslog:
      j["address"] = host_port(t.host, t.port);
      break;
  }
  j["facility"] = name_of(kSyslogFacilities, t.facility);
  j["level"] = name_of(kSyslogLevels, t.level);
  if (t.format) j["format"] = std::string(to_string(*t.format));
  if (t.len != LogTarget().len) j["len"] = t.len;
  return j;
}

Json log_targets(const std::vector<LogTarget>& targets) {
  Json j = Json::array();
  for (const LogTarget& t : targets)
    j.push_back(log_target(t));
  return j;
}

// Which unset timeouts are written as 0. A proxy's own side says "no
// timeout" explicitly, and a backend must, because the loader would
// otherwise give connect 5 s and queue the connect time. client_fin,
// server_fin, client_hs and check are left out when unset: unset means "fall
// back to another setting", which 0 would not say.
enum class Side { Client, Server };

Json timeouts(const Timeouts& t, Side side) {
  Json j = Json::object();
  auto put = [&](const char* key, const std::optional<Duration>& d, bool zero_when_unset) {
    if (d)
      j[key] = duration(*d);
    else if (zero_when_unset)
      j[key] = 0;
  };
  const bool client = side == Side::Client, server = side == Side::Server;
  put("client", t.client, client);
  put("client_fin", t.client_fin, false);
  put("client_hs", t.client_hs, false);
  put("connect", t.connect, server);
  put("server", t.server, server);
  put("server_fin", t.server_fin, false);
  put("tunnel", t.tunnel, server);
  put("queue", t.queue, server);
  put("check", t.check, false);
  return j;
}

Json bind(const Bind& b) {
  Json j;
  j["address"] = b.to_string();
  if (!b.name.empty()) j["name"] = b.name;
  const BindTls& t = b.tls;
  j["ssl"] = t.enabled;
  // The loader refuses every TLS key on a bind without "ssl".
  if (!t.enabled) return j;
  j["crt"] = t.crt;
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("ca-file", t.ca_file);
  switch (t.verify) {
    case Verify::None:
      j["verify"] = "none";
      break;
    case Verify::Optional:
      j["verify"] = "optional";
      break;
    case Verify::Required:
      j["verify"] = "required";
      break;
  }
  put("crl-file", t.crl_file);
  put("ssl-min-ver", t.min_ver);
  put("ssl-max-ver", t.max_ver);
  put("ciphers", t.ciphers);
  put("ciphersuites", t.ciphersuites);
  put("curves", t.curves);
  std::string alpn;
  for (const std::string& proto : t.alpn)
    alpn += (alpn.empty() ? "" : ",") + proto;
  put("alpn", alpn);
  j["no-tls-tickets"] = t.no_tls_tickets;
  j["prefer-client-ciphers"] = t.prefer_client_ciphers;
  put("tls-ticket-keys", t.tls_ticket_keys);
  return j;
}

std::string_view init_state_name(ServerCheck::InitState s) {
  switch (s) {
    case ServerCheck::InitState::Up:
      return "up";
    case ServerCheck::InitState::Down:
      return "down";
    case ServerCheck::InitState::FullyUp:
      return "fully-up";
    case ServerCheck::InitState::FullyDown:
      return "fully-down";
  }
  return "?";
}

std::string_view on_error_name(ServerCheck::OnError e) {
  switch (e) {
    case ServerCheck::OnError::Fastinter:
      return "fastinter";
    case ServerCheck::OnError::FailCheck:
      return "fail-check";
    case ServerCheck::OnError::SuddenDeath:
      return "sudden-death";
    case ServerCheck::OnError::MarkDown:
      return "mark-down";
  }
  return "?";
}

// The options the loader accepts on a server only with "check": true
// (require_check in json_loader.cc). fastinter, downinter, check-port and
// check-addr are written only when set: unset, they fall back to inter and
// to the server's own port and address.
Json check_options(const ServerCheck& c) {
  Json j;
  j["inter"] = duration(c.inter);
  if (c.fastinter) j["fastinter"] = duration(*c.fastinter);
  if (c.downinter) j["downinter"] = duration(*c.downinter);
  j["rise"] = c.rise;
  j["fall"] = c.fall;
  if (c.port != 0) j["check-port"] = c.port;
  if (!c.addr.empty()) j["check-addr"] = c.addr;
  j["init-state"] = std::string(init_state_name(c.init_state));
  j["observe"] = c.observe ? "layer4" : "none";
  j["error-limit"] = c.error_limit;
  j["on-error"] = std::string(on_error_name(c.on_error));
  j["check-ssl"] = c.ssl;
  return j;
}

// A server that is not checked may still carry check options, inherited
// from a default-server, and the loader does not let it set them itself.
// The backend's dump then hands them down in a default-server of its own,
// holding only the values that differ from the model's defaults: every
// checked server writes all of its options and overrides them, and the
// loader gives every unchecked server of one backend the same ones.
Json inherited_check_options(const Backend& b) {
  const Json defaults = check_options(ServerCheck{});
  for (const Server& s : b.servers) {
    if (s.check.enabled) continue;
    const Json own = check_options(s.check);
    Json diff = Json::object();
    for (const auto& [key, value] : own.items())
      if (!defaults.contains(key) || defaults[key] != value) diff[key] = value;
    return diff;
  }
  return Json::object();
}

Json server(const Server& s, const BackendCheck& checks) {
  Json j;
  j["name"] = s.name;
  j["address"] = s.address;
  j["port"] = s.port;
  j["weight"] = s.weight;
  j["maxconn"] = s.maxconn;
  j["backup"] = s.backup;
  j["disabled"] = s.disabled;
  if (s.drain) j["drain"] = true;
  j["check"] = s.check.enabled;
  if (s.check.enabled) j.update(check_options(s.check));
  j["slowstart"] = s.check.slowstart ? duration(*s.check.slowstart) : Json(0);
  j["resolve-prefer"] = s.resolve.prefer == ServerResolve::Family::Ipv6 ? "ipv6" : "ipv4";
  j["init-addr"] = to_string(s.resolve.init_addr);
  // The loader knows only the "on" value of these two.
  if (s.check.shutdown_sessions_on_down) j["on-marked-down"] = "shutdown-sessions";
  if (s.check.shutdown_backup_sessions_on_up) j["on-marked-up"] = "shutdown-backup-sessions";
  const ServerTls& t = s.tls;
  j["ssl"] = t.enabled;
  // As in read_server_tls: the TLS keys are allowed when the server or its
  // checks speak TLS.
  if (uses_tls(s, checks)) {
    j["verify"] = t.verify ? "required" : "none";
    if (!t.ca_file.empty()) j["ca-file"] = t.ca_file;
    if (!t.sni.empty()) j["sni"] = t.sni;
    if (!t.crt.empty()) j["crt"] = t.crt;
  }
  return j;
}

Json backend_check(const BackendCheck& c) {
  Json j;
  switch (c.type) {
    case BackendCheck::Type::Tcp:
      j["type"] = "tcp";
      break;
    case BackendCheck::Type::Mqtt:
      j["type"] = "mqtt";
      if (!c.client_id.empty()) j["client_id"] = c.client_id;
      if (!c.username.empty()) j["username"] = c.username;
      if (!c.password.empty()) j["password"] = c.password;
      j["protocol"] = c.protocol == 5 ? "5" : "3.1.1";
      break;
    case BackendCheck::Type::TcpCheck:
      j["type"] = "tcp-check";
      j["tcp-check"] = c.tcp_check;
      break;
  }
  j["log-health-checks"] = c.log_health_checks;
  return j;
}

Json backend(const Backend& b) {
  Json j;
  j["name"] = b.name;
  j["balance"] = std::string(to_string(b.balance));
  j["hash_type"] = std::string(to_string(b.hash_type));
  j["retries"] = b.retries;
  j["redispatch"] = b.redispatch;
  j["allbackups"] = b.allbackups;
  j["srvtcpka"] = b.srvtcpka;
  j["timeouts"] = timeouts(b.timeouts, Side::Server);
  j["check"] = backend_check(b.check);
  if (Json inherited = inherited_check_options(b); !inherited.empty())
    j["default-server"] = std::move(inherited);
  Json servers = Json::array();
  for (const Server& s : b.servers)
    servers.push_back(server(s, b.check));
  j["servers"] = std::move(servers);
  return j;
}

Json frontend(const Frontend& f) {
  Json j;
  j["name"] = f.name;
  Json binds = Json::array();
  for (const Bind& b : f.binds)
    binds.push_back(bind(b));
  j["bind"] = std::move(binds);
  NamedAcls names;  // the terms that need a name to be written
  if (!f.use_backend.empty()) {
    Json rules = Json::array();
    for (const BackendRule& r : f.use_backend) {
      Json rule;
      rule["backend"] = r.backend;
      if (!r.condition.any_of.empty())
        rule[r.unless ? "unless" : "if"] = to_text(r.condition, names);
      rules.push_back(std::move(rule));
    }
    j["use_backend"] = std::move(rules);
  }
  if (!f.tcp_request_connection.empty()) {
    Json rules = Json::array();
    for (const ConnectionRule& r : f.tcp_request_connection) {
      Json rule;
      rule["action"] = r.action == ConnectionRule::Action::Accept ? "accept" : "reject";
      if (!r.condition.any_of.empty())
        rule[r.unless ? "unless" : "if"] = to_text(r.condition, names);
      rules.push_back(std::move(rule));
    }
    j["tcp_request_connection"] = std::move(rules);
  }
  if (!names.empty()) {
    Json acl = Json::object();
    for (const auto& [name, tests] : names)
      for (const AclTest& t : tests)
        acl[name].push_back(to_text(t));
    j["acl"] = std::move(acl);
  }
  j["default_backend"] = f.default_backend;
  j["maxconn"] = f.maxconn;
  j["clitcpka"] = f.clitcpka;
  j["timeouts"] = timeouts(f.timeouts, Side::Client);
  j["log"] = log_targets(f.log);
  if (!f.log_format.empty()) j["log_format"] = f.log_format.text;
  if (f.dontlognull) j["dontlognull"] = true;
  if (!f.log_tag.empty()) j["log_tag"] = f.log_tag;
  return j;
}

Json global(const Global& g) {
  Json j;
  // 0 means "one per core", which the loader spells by leaving the key out.
  if (g.workers != 0) j["workers"] = g.workers;
  j["maxconn"] = g.maxconn;
  j["hard_stop_after"] = duration(g.hard_stop_after);
  j["log"] = log_targets(g.log);
  j["log_tag"] = g.log_tag;
  if (g.log_send_hostname) {
    if (g.log_send_hostname->empty())
      j["log_send_hostname"] = true;
    else
      j["log_send_hostname"] = *g.log_send_hostname;
  }
  j["tune"] = {{"bufsize", g.tune.bufsize},
               {"relay_high_water", g.tune.relay_high_water},
               {"relay_low_water", g.tune.relay_low_water}};
  if (!g.admin.enabled) {
    j["admin"] = false;
  } else if (g.admin.configured || !g.admin.token.empty()) {
    Json a;
    if (g.admin.configured) a["bind"] = host_port(g.admin.host, g.admin.port);
    if (!g.admin.token.empty()) a["token"] = g.admin.token;
    j["admin"] = std::move(a);
  }
  if (!g.server_state_file.empty()) j["state_file"] = g.server_state_file;
  if (!g.stats_sockets.empty()) {
    Json list = Json::array();
    for (const StatsSocket& s : g.stats_sockets) {
      Json one;
      one["path"] = s.path;
      if (!s.mode.empty()) one["mode"] = s.mode;
      one["level"] = s.level;
      list.push_back(std::move(one));
    }
    j["runtime_sockets"] = std::move(list);
  }
  return j;
}

}  // namespace

nlohmann::ordered_json to_json(const Server& s, const BackendCheck& checks) {
  return server(s, checks);
}

nlohmann::ordered_json to_json(const Config& c) {
  Json j;
  j["global"] = global(c.global);
  Json frontends = Json::array();
  for (const Frontend& f : c.frontends)
    frontends.push_back(frontend(f));
  j["frontends"] = std::move(frontends);
  Json backends = Json::array();
  for (const Backend& b : c.backends)
    backends.push_back(backend(b));
  j["backends"] = std::move(backends);
  return j;
}

std::string dump_json(const Config& c) {
  // A haproxy.cfg may hold bytes that are not UTF-8; they are replaced
  // rather than thrown over (nothing throws out of conf/).
  return to_json(c).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace mqlb::conf
