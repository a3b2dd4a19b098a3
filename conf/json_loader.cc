// Pure.
#include "conf/json_loader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "conf/duration.h"
#include "conf/haproxy_tokenizer.h"
#include "conf/names.h"

namespace mqlb::conf {
namespace {

using Json = nlohmann::json;

std::string describe(const Json& v) {
  std::string s = v.dump();
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

// Walks the document, collecting every error with its path.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  std::vector<Error> errors;

  void fail(const std::string& path, const std::string& message) {
    errors.push_back({file_, 0, path, message});
  }

  // Reports keys the schema does not know; a typo never passes silently.
  void only_keys(const Json& obj, const std::string& path,
                 const std::vector<std::string_view>& keys) {
    for (const auto& item : obj.items()) {
      // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
      const std::string& key = item.key();
      bool known =
          std::any_of(keys.begin(), keys.end(), [&](std::string_view k) { return key == k; });
      if (!known) {
        std::string list;
        for (std::string_view k : keys)
          list += (list.empty() ? "" : ", ") + std::string(k);
        fail(join(path, key), "unknown key (expected one of: " + list + ")");
      }
    }
  }

  bool object(const Json& v, const std::string& path) {
    if (v.is_object()) return true;
    fail(path, "must be an object, got " + describe(v));
    return false;
  }

  std::optional<std::string> string(const Json& v, const std::string& path) {
    if (v.is_string() && !v.get<std::string>().empty()) return v.get<std::string>();
    fail(path, "must be a non-empty string, got " + describe(v));
    return std::nullopt;
  }

  std::optional<bool> boolean(const Json& v, const std::string& path) {
    if (v.is_boolean()) return v.get<bool>();
    fail(path, "must be true or false, got " + describe(v));
    return std::nullopt;
  }

  std::optional<uint64_t> integer(const Json& v, const std::string& path, uint64_t lo,
                                  uint64_t hi) {
    // The parser stores every non-negative integer as unsigned.
    if (v.is_number_unsigned()) {
      uint64_t n = v.get<uint64_t>();
      if (n >= lo && n <= hi) return n;
    }
    fail(path,
         "must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + describe(v));
    return std::nullopt;
  }

  std::optional<Duration> duration(const Json& v, const std::string& path) {
    if (v.is_number_unsigned()) return parse_as_duration(std::to_string(v.get<uint64_t>()), path);
    if (v.is_string()) return parse_as_duration(v.get<std::string>(), path);
    fail(path, "must be a time such as 5000 (ms) or \"5s\", got " + describe(v));
    return std::nullopt;
  }

  // "backends[0].name"; a key that is not a plain word ("", "a b", "x.y")
  // in JSON quotes and brackets, so that the path still names it:
  // `defaults[""]`, `[" "]` at the top level.
  static std::string join(const std::string& path, const std::string& key) {
    bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    if (!plain)
      return path + "[" + Json(key).dump(-1, ' ', false, Json::error_handler_t::replace) + "]";
    return path.empty() ? key : path + "." + key;
  }
  static std::string index(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

 private:
  std::optional<Duration> parse_as_duration(const std::string& text, const std::string& path) {
    auto parsed = parse_duration(text);
    if (auto* d = std::get_if<Duration>(&parsed)) return *d;
    fail(path, std::get<std::string>(parsed));
    return std::nullopt;
  }

  std::string file_;
};

// Splits "HOST:PORT", "[V6]:PORT", "*:PORT" or ":PORT".
bool split_host_port(std::string_view text, std::string& host, uint16_t& port, std::string& why) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    why = "expected ADDRESS:PORT such as 127.0.0.1:1883 or [::1]:1883, got '" + std::string(text) +
          "'";
    return false;
  }
  if (text.back() == ']') colon = std::string_view::npos;  // "[::1]": no port
  if (colon == std::string_view::npos) {
    why = "expected ADDRESS:PORT such as 127.0.0.1:1883 or [::1]:1883, got '" + std::string(text) +
          "'";
    return false;
  }
  std::string_view h = text.substr(0, colon), p = text.substr(colon + 1);
  bool bracketed = h.size() >= 2 && h.front() == '[' && h.back() == ']';
  if (bracketed) h = h.substr(1, h.size() - 2);
  if (bracketed && h.empty()) {
    why = "empty address in brackets, got '" + std::string(text) + "' (use [::]:PORT or *:PORT)";
    return false;
  }
  if (!bracketed && h.find(':') != std::string_view::npos) {
    why = "an IPv6 address needs brackets, as in [::1]:1883, got '" + std::string(text) + "'";
    return false;
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc{} || end != p.data() + p.size() || value < 1 || value > 65535) {
    why = "port must be 1..65535, got '" + std::string(p) + "'";
    return false;
  }
  host = (h.empty() || h == "*") ? "0.0.0.0" : std::string(h);
  port = static_cast<uint16_t>(value);
  return true;
}

// Names of frontends, backends and servers appear in logs and, later, in
// metric labels and API paths: a conservative character set.
void read_name(Reader& r, const Json& v, const std::string& path, std::string& out) {
  auto n = r.string(v, path);
  if (!n) return;
  if (is_valid_name(*n))
    out = *n;
  else
    r.fail(path, "may hold only letters, digits and - _ . :, got '" + *n + "'");
}

// HAProxy's log-format string, compiled now; "" is the tcplog line.
void read_log_format(Reader& r, const Json& v, const std::string& path, LogFormat& out) {
  auto text = r.string(v, path);
  if (!text) return;
  std::string why;
  auto nodes = parse_log_format(*text, why);
  if (!nodes) {
    r.fail(path, "failed to parse log-format : " + why);
    return;
  }
  out = {*text, std::move(*nodes)};
}

std::optional<std::vector<LogTarget>> read_log(Reader& r, const Json& v, const std::string& path) {
  if (!v.is_array()) {
    r.fail(path,
           "must be a list of log targets (\"stdout\", \"stderr\" or {\"address\": ...}), got " +
               describe(v));
    return std::nullopt;
  }
  std::vector<LogTarget> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const Json& e = v[i];
    std::string p = Reader::index(path, i);
    LogTarget t;
    if (e.is_string() && (e == "stdout" || e == "stderr")) {
      t.kind = e == "stdout" ? LogTarget::Kind::Stdout : LogTarget::Kind::Stderr;
      t.format = LogTarget::Format::Raw;
      out.push_back(t);
      continue;
    }
    if (!e.is_object()) {
      r.fail(p, "must be \"stdout\", \"stderr\" or {\"address\": \"HOST:PORT\", ...}, got " +
                    describe(e));
      continue;
    }
    r.only_keys(e, p, {"address", "facility", "level", "format", "len"});
    t.kind = LogTarget::Kind::Syslog;
    if (!e.contains("address")) {
      r.fail(Reader::join(p, "address"), "is required, e.g. \"127.0.0.1:514\"");
    } else if (auto a = r.string(e["address"], Reader::join(p, "address"))) {
      std::string why;
      // HAProxy's `log stdout ... debug`: a stream with a level of its own.
      if (*a == "stdout" || *a == "stderr") {
        t.kind = *a == "stdout" ? LogTarget::Kind::Stdout : LogTarget::Kind::Stderr;
      } else {
        std::string with_port =
            a->find(':') == std::string::npos || a->back() == ']' ? *a + ":514" : *a;
        if (!split_host_port(with_port, t.host, t.port, why))
          r.fail(Reader::join(p, "address"), why);
      }
    }
    auto pick_name = [&](const char* key, auto& names, int& field) {
      if (!e.contains(key)) return;
      auto s = r.string(e[key], Reader::join(p, key));
      if (!s) return;
      auto it = std::find(std::begin(names), std::end(names), *s);
      if (it == std::end(names)) {
        std::string list;
        for (auto n : names)
          list += (list.empty() ? "" : " ") + std::string(n);
        r.fail(Reader::join(p, key),
               "unknown " + std::string(key) + " '" + *s + "' (one of: " + list + ")");
      } else {
        field = static_cast<int>(it - std::begin(names));
      }
    };
    pick_name("facility", kSyslogFacilities, t.facility);
    pick_name("level", kSyslogLevels, t.level);
    if (e.contains("len"))
      if (auto n = r.integer(e["len"], Reader::join(p, "len"), 80, 65535)) t.len = uint32_t(*n);
    // A stream's lines are raw unless a format says otherwise; a syslog
    // target's header is HAProxy's default (resolve_log_formats).
    if (t.kind != LogTarget::Kind::Syslog) t.format = LogTarget::Format::Raw;
    if (e.contains("format")) {
      if (auto name = r.string(e["format"], Reader::join(p, "format"))) {
        t.format = parse_log_target_format(*name);
        if (!t.format)
          r.fail(Reader::join(p, "format"),
                 "unknown format '" + *name +
                     "' (one of: local rfc3164 rfc5424 priority short timed iso raw)");
      }
    }
    out.push_back(t);
  }
  return out;
}

void read_timeouts(Reader& r, const Json& v, const std::string& path, Timeouts& t) {
  if (!r.object(v, path)) return;
  r.only_keys(v, path,
              {"client", "client_fin", "client_hs", "connect", "server", "server_fin", "tunnel",
               "queue", "check"});
  auto set = [&](const char* key, std::optional<Duration>& field) {
    if (!v.contains(key)) return;
    // 0 is kept as a value here so that it overrides what `defaults`
    // hands down; without_zeros() turns it into "no timeout" afterwards.
    if (auto d = r.duration(v[key], Reader::join(path, key))) field = d;
  };
  set("client", t.client);
  set("client_fin", t.client_fin);
  set("client_hs", t.client_hs);
  set("connect", t.connect);
  set("server", t.server);
  set("server_fin", t.server_fin);
  set("tunnel", t.tunnel);
  set("queue", t.queue);
  set("check", t.check);
}

// A string option of a bind or server, read into `out` when present.
void read_option(Reader& r, const Json& v, const std::string& path, const char* key,
                 std::string& out) {
  if (v.contains(key))
    if (auto x = r.string(v[key], Reader::join(path, key))) out = *x;
}

void read_flag(Reader& r, const Json& v, const std::string& path, const char* key, bool& out) {
  if (v.contains(key))
    if (auto x = r.boolean(v[key], Reader::join(path, key))) out = *x;
}

// One of a few names, such as "init-state": "fully-up"; `what` names the
// kind in the error. False when the value was given and is not one of them.
template <typename Value, size_t N>
bool read_choice(Reader& r, const Json& v, const std::string& path, const char* key,
                 const std::string& what, const std::pair<std::string_view, Value> (&names)[N],
                 Value& out) {
  if (!v.contains(key)) return true;
  auto text = r.string(v[key], Reader::join(path, key));
  if (!text) return false;
  for (const auto& name : names)
    if (name.first == *text) {
      out = name.second;
      return true;
    }
  std::string list;
  for (const auto& name : names)
    list += (list.empty() ? "" : ", ") + std::string(name.first);
  r.fail(Reader::join(path, key), "unknown " + what + " '" + *text + "' (" + list + ")");
  return false;
}

// --- Health checks ---------------------------------------------------------

constexpr std::pair<std::string_view, ServerCheck::InitState> kInitStates[] = {
    {"up", ServerCheck::InitState::Up},
    {"down", ServerCheck::InitState::Down},
    {"fully-up", ServerCheck::InitState::FullyUp},
    {"fully-down", ServerCheck::InitState::FullyDown}};
constexpr std::pair<std::string_view, ServerCheck::OnError> kOnErrors[] = {
    {"fastinter", ServerCheck::OnError::Fastinter},
    {"fail-check", ServerCheck::OnError::FailCheck},
    {"sudden-death", ServerCheck::OnError::SuddenDeath},
    {"mark-down", ServerCheck::OnError::MarkDown}};
constexpr std::pair<std::string_view, bool> kObserve[] = {{"layer4", true}, {"none", false}};
constexpr std::pair<std::string_view, ServerResolve::Family> kFamilies[] = {
    {"ipv4", ServerResolve::Family::Ipv4}, {"ipv6", ServerResolve::Family::Ipv6}};
constexpr std::pair<std::string_view, bool> kOnMarkedDown[] = {{"shutdown-sessions", true}};
constexpr std::pair<std::string_view, bool> kOnMarkedUp[] = {{"shutdown-backup-sessions", true}};
constexpr std::pair<std::string_view, BackendCheck::Type> kCheckTypes[] = {
    {"tcp", BackendCheck::Type::Tcp},
    {"mqtt", BackendCheck::Type::Mqtt},
    {"tcp-check", BackendCheck::Type::TcpCheck}};

// A time between checks; HAProxy refuses 0 for these ("expects a positive delay").
std::optional<Duration> read_interval(Reader& r, const Json& v, const std::string& path,
                                      const char* key) {
  if (!v.contains(key)) return std::nullopt;
  std::string p = Reader::join(path, key);
  auto d = r.duration(v[key], p);
  if (!d || d->count() > 0) return d;
  r.fail(p, "must be above 0, such as 2000 (ms) or \"2s\"");
  return std::nullopt;
}

// The keys of read_server_options().
const std::vector<std::string_view> kServerOptionKeys = {
    "weight",     "maxconn",     "backup",         "disabled",     "check",      "inter",
    "fastinter",  "downinter",   "rise",           "fall",         "check-port", "check-addr",
    "init-state", "slowstart",   "on-marked-down", "on-marked-up", "on-error",   "check-ssl",
    "observe",    "error-limit", "resolve-prefer", "init-addr",    "drain"};

// What a server shares with "default-server": the check options and where
// the server stands in the balancing. Each one overwrites `s` only when
// given, so reading defaults.default-server, then the backend's, then the
// server's own keys into one Server resolves HAProxy's inheritance.
void read_server_options(Reader& r, const Json& v, const std::string& path, Server& s) {
  if (v.contains("weight"))
    if (auto n = r.integer(v["weight"], path + ".weight", 0, 256)) s.weight = uint32_t(*n);
  if (v.contains("maxconn"))
    if (auto n = r.integer(v["maxconn"], path + ".maxconn", 0, 10'000'000))
      s.maxconn = uint32_t(*n);
  read_flag(r, v, path, "backup", s.backup);
  read_flag(r, v, path, "disabled", s.disabled);
  read_flag(r, v, path, "drain", s.drain);

  ServerCheck& c = s.check;
  read_flag(r, v, path, "check", c.enabled);
  if (auto d = read_interval(r, v, path, "inter")) c.inter = *d;
  if (auto d = read_interval(r, v, path, "fastinter")) c.fastinter = d;
  if (auto d = read_interval(r, v, path, "downinter")) c.downinter = d;
  if (v.contains("rise"))
    if (auto n = r.integer(v["rise"], path + ".rise", 1, 100)) c.rise = uint32_t(*n);
  if (v.contains("fall"))
    if (auto n = r.integer(v["fall"], path + ".fall", 1, 100)) c.fall = uint32_t(*n);
  if (v.contains("check-port"))
    if (auto n = r.integer(v["check-port"], path + ".check-port", 1, 65535)) c.port = uint16_t(*n);
  if (v.contains("check-addr"))
    if (auto a = r.string(v["check-addr"], path + ".check-addr")) {
      if (is_ip_literal(*a))
        c.addr = *a;
      else
        r.fail(path + ".check-addr",
               "must be an IP address such as 10.0.0.5 or ::1, got '" + *a + "'");
    }
  read_choice(r, v, path, "init-state", "init-state", kInitStates, c.init_state);
  if (v.contains("slowstart"))
    if (auto d = r.duration(v["slowstart"], path + ".slowstart"))
      c.slowstart = d->count() > 0 ? d : std::nullopt;  // 0: none, over an inherited one
  read_choice(r, v, path, "on-marked-down", "on-marked-down action", kOnMarkedDown,
              c.shutdown_sessions_on_down);
  read_choice(r, v, path, "on-marked-up", "on-marked-up action", kOnMarkedUp,
              c.shutdown_backup_sessions_on_up);
  read_choice(r, v, path, "on-error", "on-error action", kOnErrors, c.on_error);
  if (v.contains("observe") && v["observe"] == "layer7")
    r.fail(path + ".observe",
           "'layer7' observes HTTP responses, and mqlb balances TCP: use 'layer4'");
  else
    read_choice(r, v, path, "observe", "observe mode", kObserve, c.observe);
  if (v.contains("error-limit"))
    if (auto n = r.integer(v["error-limit"], path + ".error-limit", 1, 1'000'000))
      c.error_limit = uint32_t(*n);
  read_flag(r, v, path, "check-ssl", c.ssl);
  read_choice(r, v, path, "resolve-prefer", "address family", kFamilies, s.resolve.prefer);
  if (v.contains("init-addr"))
    if (auto text = r.string(v["init-addr"], path + ".init-addr")) {
      std::string why;
      if (auto steps = parse_init_addr(*text, why))
        s.resolve.init_addr = std::move(*steps);
      else
        r.fail(path + ".init-addr", why);
    }
}

// The check options only mean something on a server that is checked. As in
// HAProxy, a default-server may give them to servers that are not: only a
// server's own keys are reported.
void require_check(Reader& r, const Json& v, const std::string& path, const ServerCheck& c) {
  if (c.enabled || (v.contains("check") && !v["check"].is_boolean())) return;
  for (const char* key :
       {"inter", "fastinter", "downinter", "rise", "fall", "check-port", "check-addr", "init-state",
        "on-error", "check-ssl", "observe", "error-limit"})
    if (v.contains(key)) r.fail(Reader::join(path, key), "needs \"check\": true");
}

// HAProxy's `default-server`, in `defaults` or in a backend.
void read_default_server(Reader& r, const Json& v, const std::string& path, Server& s) {
  if (!r.object(v, path)) return;
  r.only_keys(v, path, kServerOptionKeys);
  read_server_options(r, v, path, s);
}

// A backend's "check": what each check of its servers does. The "tcp-check"
// rules are kept as written, not parsed: their parser lives in health/,
// which conf/ (pure, and below health/) cannot depend on; the health
// checker reports a bad rule.
void read_backend_check(Reader& r, const Json& v, const std::string& path, BackendCheck& c) {
  if (!r.object(v, path)) return;
  r.only_keys(
      v, path,
      {"type", "client_id", "username", "password", "protocol", "tcp-check", "log-health-checks"});
  read_flag(r, v, path, "log-health-checks", c.log_health_checks);
  // With an unknown type, the keys that depend on it would only add noise.
  if (!read_choice(r, v, path, "type", "check type", kCheckTypes, c.type)) return;
  if (c.type == BackendCheck::Type::Mqtt) {
    read_option(r, v, path, "client_id", c.client_id);
    read_option(r, v, path, "username", c.username);
    read_option(r, v, path, "password", c.password);
    if (v.contains("protocol")) {
      const Json& p = v["protocol"];
      if (p == "3.1.1" || p == "5")
        c.protocol = p == "5" ? 5 : 4;
      else
        r.fail(path + ".protocol", "must be \"3.1.1\" or \"5\", got " + describe(p));
    }
    // MQTT 3.1.1 §3.1.2.9: no password flag without the user name flag.
    if (c.protocol == 4 && !c.password.empty() && c.username.empty())
      r.fail(path + ".password", "needs a \"username\" with MQTT 3.1.1 (§3.1.2.9)");
  } else {
    for (const char* key : {"client_id", "username", "password", "protocol"})
      if (v.contains(key)) r.fail(Reader::join(path, key), "needs \"type\": \"mqtt\"");
  }
  const std::string rules_path = path + ".tcp-check";
  if (c.type != BackendCheck::Type::TcpCheck) {
    if (v.contains("tcp-check")) r.fail(rules_path, "needs \"type\": \"tcp-check\"");
    return;
  }
  const std::string example =
      "[\"connect\", \"send-binary 101000044d5154540402003c0000\", \"expect binary 20020000\"]";
  if (!v.contains("tcp-check")) {
    r.fail(rules_path,
           "is required with \"type\": \"tcp-check\": a list of rules such as " + example);
    return;
  }
  const Json& rules = v["tcp-check"];
  if (!rules.is_array() || rules.empty()) {
    r.fail(rules_path,
           "must be a non-empty list of rules such as " + example + ", got " + describe(rules));
    return;
  }
  for (size_t i = 0; i < rules.size(); ++i)
    if (auto rule = r.string(rules[i], Reader::index(rules_path, i))) c.tcp_check.push_back(*rule);
}

void read_hash_type(Reader& r, const Json& v, const std::string& path, HashType& out) {
  if (auto s = r.string(v, path)) {
    if (auto h = parse_hash_type(*s))
      out = *h;
    else
      r.fail(path, "unknown hash type '" + *s + "' (map-based, consistent)");
  }
}

// What the `defaults` section hands down.
struct Defaults {
  std::optional<uint32_t> maxconn;
  uint32_t retries = 3;
  bool redispatch = false;
  Balance balance = Balance::RoundRobin;
  HashType hash_type = HashType::MapBased;
  std::optional<std::vector<LogTarget>> log;
  LogFormat log_format;
  bool dontlognull = false;
  std::string log_tag;
  Timeouts timeouts;
  Server server;       // "default-server": its options only
  BackendCheck check;  // "check": for backends without their own
};

// As in HAProxy, a timeout of 0 means "no timeout".
Timeouts without_zeros(Timeouts t) {
  for (auto* f : {&t.client, &t.client_fin, &t.client_hs, &t.connect, &t.server, &t.server_fin,
                  &t.tunnel, &t.queue, &t.check})
    if (*f && (*f)->count() == 0) f->reset();
  return t;
}

Timeouts inherit(const Timeouts& own, const Timeouts& defaults) {
  auto pick = [](auto& a, auto& b) { return a ? a : b; };
  return {pick(own.client, defaults.client),
          pick(own.client_fin, defaults.client_fin),
          pick(own.connect, defaults.connect),
          pick(own.server, defaults.server),
          pick(own.server_fin, defaults.server_fin),
          pick(own.tunnel, defaults.tunnel),
          pick(own.queue, defaults.queue),
          pick(own.client_hs, defaults.client_hs),
          pick(own.check, defaults.check)};
}

void read_tune(Reader& r, const Json& v, Tune& t) {
  const std::string path = "global.tune";
  if (!r.object(v, path)) return;
  r.only_keys(v, path, {"bufsize", "relay_high_water", "relay_low_water"});
  auto size = [&](const char* key, uint32_t& out, uint64_t min) {
    if (v.contains(key))
      if (auto n = r.integer(v[key], path + "." + key, min, 64 * 1024 * 1024)) out = uint32_t(*n);
  };
  size("bufsize", t.bufsize, 1024);
  size("relay_high_water", t.relay_high_water, 1024);
  if (v.contains("relay_high_water") && !v.contains("relay_low_water"))
    t.relay_low_water = t.relay_high_water / 2;
  size("relay_low_water", t.relay_low_water, 0);
  if (t.relay_low_water >= t.relay_high_water)
    r.fail(path + ".relay_low_water", "must be below relay_high_water (" +
                                          std::to_string(t.relay_high_water) + "), got " +
                                          std::to_string(t.relay_low_water));
}

// "admin": false, or {"bind": "127.0.0.1:8404", "token": "..."}.
void read_admin(Reader& r, const Json& v, AdminApi& a) {
  const std::string path = "global.admin";
  if (v.is_boolean()) {
    a.enabled = v.get<bool>();
    return;
  }
  if (!r.object(v, path)) return;
  r.only_keys(v, path, {"bind", "token"});
  if (v.contains("bind"))
    if (auto text = r.string(v["bind"], path + ".bind")) {
      std::string why;
      if (!split_host_port(*text, a.host, a.port, why))
        r.fail(path + ".bind", why);
      else if (!is_ip_literal(a.host))
        r.fail(path + ".bind", "must be an IP address (or * for all), got '" + a.host + "'");
      a.configured = true;
    }
  read_option(r, v, path, "token", a.token);
}

// "runtime_sockets": [{"path": "/run/mqlb.sock", "mode": "660", "level": "admin"}].
void read_runtime_sockets(Reader& r, const Json& v, std::vector<StatsSocket>& out) {
  const std::string path = "global.runtime_sockets";
  if (!v.is_array()) {
    r.fail(path, "must be a list such as [{\"path\": \"/run/mqlb.sock\", \"level\": \"admin\"}]");
    return;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = Reader::index(path, i);
    if (!r.object(v[i], p)) continue;
    r.only_keys(v[i], p, {"path", "mode", "level"});
    StatsSocket sock;
    if (!v[i].contains("path"))
      r.fail(p + ".path", "is required");
    else if (auto text = r.string(v[i]["path"], p + ".path"))
      sock.path = *text;
    read_option(r, v[i], p, "mode", sock.mode);
    if (!sock.mode.empty() &&
        (sock.mode.size() > 4 || sock.mode.find_first_not_of("01234567") != std::string::npos))
      r.fail(p + ".mode", "must be an octal file mode such as \"660\", got '" + sock.mode + "'");
    read_option(r, v[i], p, "level", sock.level);
    if (sock.level != "user" && sock.level != "operator" && sock.level != "admin")
      r.fail(p + ".level", "must be \"user\", \"operator\" or \"admin\", got '" + sock.level + "'");
    out.push_back(std::move(sock));
  }
}

void read_global(Reader& r, const Json& v, Global& g) {
  const std::string path = "global";
  if (!r.object(v, path)) return;
  r.only_keys(v, path,
              {"workers", "maxconn", "hard_stop_after", "log", "log_tag", "log_send_hostname",
               "tune", "admin", "state_file", "runtime_sockets"});
  if (v.contains("log_tag"))
    if (auto tag = r.string(v["log_tag"], "global.log_tag")) g.log_tag = *tag;
  if (v.contains("log_send_hostname")) {
    const Json& h = v["log_send_hostname"];
    if (h.is_boolean()) {
      if (h.get<bool>()) g.log_send_hostname = "";
    } else if (auto name = r.string(h, "global.log_send_hostname")) {
      g.log_send_hostname = *name;
    }
  }
  if (v.contains("admin")) read_admin(r, v["admin"], g.admin);
  read_option(r, v, path, "state_file", g.server_state_file);
  if (v.contains("runtime_sockets")) read_runtime_sockets(r, v["runtime_sockets"], g.stats_sockets);
  if (v.contains("workers"))
    if (auto n = r.integer(v["workers"], "global.workers", 1, 256)) g.workers = unsigned(*n);
  if (v.contains("maxconn"))
    if (auto n = r.integer(v["maxconn"], "global.maxconn", 1, 10'000'000)) g.maxconn = uint32_t(*n);
  if (v.contains("hard_stop_after"))
    if (auto d = r.duration(v["hard_stop_after"], "global.hard_stop_after")) g.hard_stop_after = *d;
  if (v.contains("log"))
    if (auto l = read_log(r, v["log"], "global.log")) g.log = *l;
  if (v.contains("tune")) read_tune(r, v["tune"], g.tune);
}

void read_defaults(Reader& r, const Json& v, Defaults& d) {
  const std::string path = "defaults";
  if (!r.object(v, path)) return;
  r.only_keys(v, path,
              {"maxconn", "retries", "redispatch", "balance", "hash_type", "log", "log_format",
               "dontlognull", "log_tag", "timeouts", "default-server", "check"});
  if (v.contains("log_tag"))
    if (auto tag = r.string(v["log_tag"], "defaults.log_tag")) d.log_tag = *tag;
  if (v.contains("maxconn"))
    if (auto n = r.integer(v["maxconn"], "defaults.maxconn", 1, 10'000'000))
      d.maxconn = uint32_t(*n);
  if (v.contains("retries"))
    if (auto n = r.integer(v["retries"], "defaults.retries", 0, 100)) d.retries = uint32_t(*n);
  if (v.contains("redispatch"))
    if (auto b = r.boolean(v["redispatch"], "defaults.redispatch")) d.redispatch = *b;
  if (v.contains("balance")) {
    if (auto s = r.string(v["balance"], "defaults.balance")) {
      if (auto b = parse_balance(*s))
        d.balance = *b;
      else
        r.fail("defaults.balance",
               "unknown algorithm '" + *s +
                   "' (roundrobin, static-rr, leastconn, source, first, random)");
    }
  }
  if (v.contains("hash_type")) read_hash_type(r, v["hash_type"], "defaults.hash_type", d.hash_type);
  if (v.contains("log")) d.log = read_log(r, v["log"], "defaults.log");
  if (v.contains("log_format"))
    read_log_format(r, v["log_format"], "defaults.log_format", d.log_format);
  if (v.contains("dontlognull"))
    if (auto b = r.boolean(v["dontlognull"], "defaults.dontlognull")) d.dontlognull = *b;
  if (v.contains("timeouts")) read_timeouts(r, v["timeouts"], "defaults.timeouts", d.timeouts);
  if (v.contains("default-server"))
    read_default_server(r, v["default-server"], "defaults.default-server", d.server);
  if (v.contains("check")) read_backend_check(r, v["check"], "defaults.check", d.check);
}

// The TLS options only mean something with "ssl": true; given without it
// they are a mistake worth reporting, not something to ignore.
void require_ssl(Reader& r, const Json& v, const std::string& path, bool enabled,
                 std::initializer_list<const char*> keys) {
  if (enabled) return;
  for (const char* key : keys)
    if (v.contains(key)) r.fail(Reader::join(path, key), "needs \"ssl\": true");
}

constexpr std::string_view kTlsVersions[] = {"TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"};

void read_tls_version(Reader& r, const Json& v, const std::string& path, const char* key,
                      std::string& out) {
  std::string text;
  read_option(r, v, path, key, text);
  if (text.empty()) return;
  if (std::find(std::begin(kTlsVersions), std::end(kTlsVersions), text) == std::end(kTlsVersions))
    r.fail(Reader::join(path, key),
           "unknown TLS version '" + text + "' (TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3)");
  else
    out = text;
}

// HAProxy's `server ... ssl verify none|required ca-file F sni S crt F`.
// Checks over TLS ("check-ssl") use the same settings, with or without "ssl".
void read_server_tls(Reader& r, const Json& v, const std::string& path, bool check_ssl,
                     ServerTls& t) {
  read_flag(r, v, path, "ssl", t.enabled);
  bool used = t.enabled || check_ssl;
  require_ssl(r, v, path, used, {"verify", "ca-file", "sni", "crt"});
  if (v.contains("verify"))
    if (auto x = r.string(v["verify"], path + ".verify")) {
      if (*x == "none" || *x == "required")
        t.verify = *x == "required";
      else
        r.fail(path + ".verify", "must be \"none\" or \"required\", got '" + *x + "'");
    }
  read_option(r, v, path, "ca-file", t.ca_file);
  read_option(r, v, path, "sni", t.sni);
  read_option(r, v, path, "crt", t.crt);
  if (used && t.verify && t.ca_file.empty())
    r.fail(path + ".ca-file",
           "is required to verify the server's certificate (or set \"verify\": \"none\")");
}

// A bind's TLS options, with HAProxy's names.
void read_bind_tls(Reader& r, const Json& v, const std::string& path, BindTls& t) {
  read_flag(r, v, path, "ssl", t.enabled);
  require_ssl(r, v, path, t.enabled,
              {"crt", "ca-file", "verify", "crl-file", "ssl-min-ver", "ssl-max-ver", "ciphers",
               "ciphersuites", "curves", "alpn", "no-tls-tickets", "prefer-client-ciphers",
               "tls-ticket-keys"});
  if (!t.enabled) return;
  if (!v.contains("crt")) {
    r.fail(path + ".crt", "is required with \"ssl\": true (a PEM bundle or a directory of them)");
  } else if (v["crt"].is_array() && !v["crt"].empty()) {
    for (size_t i = 0; i < v["crt"].size(); ++i)
      if (auto x = r.string(v["crt"][i], Reader::index(path + ".crt", i))) t.crt.push_back(*x);
  } else if (auto x = r.string(v["crt"], path + ".crt")) {
    t.crt.push_back(*x);
  }
  read_option(r, v, path, "ca-file", t.ca_file);
  if (v.contains("verify"))
    if (auto x = r.string(v["verify"], path + ".verify")) {
      if (*x == "none")
        t.verify = Verify::None;
      else if (*x == "optional")
        t.verify = Verify::Optional;
      else if (*x == "required")
        t.verify = Verify::Required;
      else
        r.fail(path + ".verify",
               "must be \"none\", \"optional\" or \"required\", got '" + *x + "'");
    }
  if (t.verify != Verify::None && t.ca_file.empty())
    r.fail(path + ".ca-file", "is required to verify client certificates");
  read_option(r, v, path, "crl-file", t.crl_file);
  read_tls_version(r, v, path, "ssl-min-ver", t.min_ver);
  read_tls_version(r, v, path, "ssl-max-ver", t.max_ver);
  if (!t.max_ver.empty() && t.max_ver < t.min_ver)  // the names sort by version
    r.fail(path + ".ssl-max-ver", "is below ssl-min-ver (" + t.min_ver + ")");
  read_option(r, v, path, "ciphers", t.ciphers);
  read_option(r, v, path, "ciphersuites", t.ciphersuites);
  read_option(r, v, path, "curves", t.curves);
  std::string alpn;
  read_option(r, v, path, "alpn", alpn);
  for (size_t start = 0; !alpn.empty() && start <= alpn.size();) {
    size_t comma = std::min(alpn.find(',', start), alpn.size());
    std::string proto = alpn.substr(start, comma - start);
    if (proto.empty() || proto.size() > 255)
      r.fail(path + ".alpn", "must be a comma-separated list of protocol names, e.g. \"mqtt\"");
    else
      t.alpn.push_back(proto);
    start = comma + 1;
  }
  read_flag(r, v, path, "no-tls-tickets", t.no_tls_tickets);
  read_flag(r, v, path, "prefer-client-ciphers", t.prefer_client_ciphers);
  read_option(r, v, path, "tls-ticket-keys", t.tls_ticket_keys);
  if (t.no_tls_tickets && !t.tls_ticket_keys.empty())
    r.fail(path + ".tls-ticket-keys", "makes no sense with \"no-tls-tickets\": true");
}

// "HOST:PORT", or an object with "address" and the bind's options.
std::optional<Bind> read_bind(Reader& r, const Json& v, const std::string& path) {
  Bind b;
  std::string address_path = path;
  std::optional<std::string> address;
  if (v.is_object()) {
    r.only_keys(v, path,
                {"address", "name", "ssl", "crt", "ca-file", "verify", "crl-file", "ssl-min-ver",
                 "ssl-max-ver", "ciphers", "ciphersuites", "curves", "alpn", "no-tls-tickets",
                 "prefer-client-ciphers", "tls-ticket-keys"});
    address_path = path + ".address";
    if (!v.contains("address"))
      r.fail(address_path, "is required, e.g. \"0.0.0.0:8883\"");
    else
      address = r.string(v["address"], address_path);
    // Any text, as HAProxy's `bind ... name` (a haproxy.cfg may say
    // `name 'plain one'`): it only labels log lines, and --dump-config
    // writes what the haproxy.cfg loader accepted.
    read_option(r, v, path, "name", b.name);
    read_bind_tls(r, v, path, b.tls);
  } else if (v.is_string()) {
    address = r.string(v, path);
  } else {
    r.fail(path,
           "must be \"ADDRESS:PORT\" or {\"address\": \"ADDRESS:PORT\", \"ssl\": true, ...}, got " +
               describe(v));
  }
  if (!address) return std::nullopt;
  std::string why;
  if (!split_host_port(*address, b.host, b.port, why)) {
    r.fail(address_path, why);
    return std::nullopt;
  }
  if (!is_ip_literal(b.host)) {
    r.fail(address_path, "must be an IP address (or * for all), got '" + b.host + "'");
    return std::nullopt;
  }
  return b;
}

void read_server(Reader& r, const Json& v, const std::string& path, const BackendCheck& checks,
                 Server& s) {
  if (!r.object(v, path)) return;
  std::vector<std::string_view> keys = kServerOptionKeys;
  keys.insert(keys.end(), {"name", "address", "port", "ssl", "verify", "ca-file", "sni", "crt"});
  r.only_keys(v, path, keys);
  for (const char* key : {"name", "address", "port"})
    if (!v.contains(key)) r.fail(Reader::join(path, key), "is required");
  if (v.contains("name")) read_name(r, v["name"], path + ".name", s.name);
  if (v.contains("address"))
    if (auto a = r.string(v["address"], path + ".address")) {
      if (looks_like_ip(*a) && !is_ip_literal(*a))
        r.fail(path + ".address",
               "is not a valid IP address: '" + *a + "' (IPv6 without brackets, e.g. \"::1\")");
      else
        s.address = *a;
    }
  if (v.contains("port"))
    if (auto n = r.integer(v["port"], path + ".port", 1, 65535)) s.port = uint16_t(*n);
  read_server_options(r, v, path, s);
  require_check(r, v, path, s.check);
  // uses_tls(), before "ssl" itself is read.
  read_server_tls(r, v, path, s.check.enabled && (s.check.ssl || tcp_check_over_tls(checks)),
                  s.tls);
}

void read_backend(Reader& r, const Json& v, const std::string& path, const Defaults& d,
                  Backend& b) {
  b.balance = d.balance;
  b.hash_type = d.hash_type;
  b.retries = d.retries;
  b.redispatch = d.redispatch;
  b.check = d.check;  // a backend's own "check" replaces it as a whole
  Timeouts own;
  if (r.object(v, path)) {
    r.only_keys(v, path,
                {"name", "balance", "hash_type", "retries", "redispatch", "allbackups", "srvtcpka",
                 "timeouts", "default-server", "check", "servers"});
    if (!v.contains("name"))
      r.fail(path + ".name", "is required");
    else
      read_name(r, v["name"], path + ".name", b.name);
    if (v.contains("balance"))
      if (auto s = r.string(v["balance"], path + ".balance")) {
        if (auto algo = parse_balance(*s))
          b.balance = *algo;
        else
          r.fail(path + ".balance",
                 "unknown algorithm '" + *s +
                     "' (roundrobin, static-rr, leastconn, source, first, random)");
      }
    if (v.contains("hash_type"))
      read_hash_type(r, v["hash_type"], path + ".hash_type", b.hash_type);
    if (v.contains("retries"))
      if (auto n = r.integer(v["retries"], path + ".retries", 0, 100)) b.retries = uint32_t(*n);
    if (v.contains("redispatch"))
      if (auto x = r.boolean(v["redispatch"], path + ".redispatch")) b.redispatch = *x;
    if (v.contains("allbackups"))
      if (auto x = r.boolean(v["allbackups"], path + ".allbackups")) b.allbackups = *x;
    if (v.contains("srvtcpka"))
      if (auto x = r.boolean(v["srvtcpka"], path + ".srvtcpka")) b.srvtcpka = *x;
    if (v.contains("timeouts")) read_timeouts(r, v["timeouts"], path + ".timeouts", own);
    if (v.contains("check")) {
      b.check = BackendCheck{};
      read_backend_check(r, v["check"], path + ".check", b.check);
    }
    Server base = d.server;
    if (v.contains("default-server"))
      read_default_server(r, v["default-server"], path + ".default-server", base);
    if (!v.contains("servers") || !v["servers"].is_array() || v["servers"].empty()) {
      r.fail(path + ".servers",
             "must be a list of at least one server, e.g. "
             "[{\"name\": \"b1\", \"address\": \"127.0.0.1\", \"port\": 1883}]");
    } else {
      std::set<std::string> names;
      for (size_t i = 0; i < v["servers"].size(); ++i) {
        Server s = base;
        std::string sp = Reader::index(path + ".servers", i);
        read_server(r, v["servers"][i], sp, b.check, s);
        if (!s.name.empty() && !names.insert(s.name).second)
          r.fail(sp + ".name",
                 "duplicate server name '" + s.name + "' in backend '" + b.name + "'");
        b.servers.push_back(std::move(s));
      }
    }
  }
  b.timeouts = inherit(own, d.timeouts);
  if (!b.timeouts.connect) b.timeouts.connect = std::chrono::seconds(5);
  if (!b.timeouts.queue) b.timeouts.queue = b.timeouts.connect;
  b.timeouts = without_zeros(b.timeouts);
}

// Words of an ACL test or condition, split as haproxy.cfg splits a line
// (quotes, escapes; no environment expansion in JSON).
std::optional<std::vector<std::string>> acl_words(Reader& r, const Json& v,
                                                  const std::string& path) {
  auto text = r.string(v, path);
  if (!text) return std::nullopt;
  auto words = tokenize_line(*text, [](std::string_view) { return std::nullopt; });
  if (auto* e = std::get_if<TokenizeError>(&words)) {
    r.fail(path, e->message);
    return std::nullopt;
  }
  return std::get<std::vector<std::string>>(std::move(words));
}

// A list of rule objects (`use_backend`, `tcp_request_connection`).
bool rule_list(Reader& r, const Json& v, const std::string& path, const std::string& example) {
  if (v.is_array()) return true;
  r.fail(path, "must be a list of rules, e.g. " + example);
  return false;
}

// A rule's "if" or "unless" (at most one; neither: the rule always applies).
bool read_rule_condition(Reader& r, const Json& rule, const std::string& rp, const NamedAcls& acls,
                         bool& unless, Condition& out) {
  if (rule.contains("if") && rule.contains("unless")) {
    r.fail(rp, "has both \"if\" and \"unless\": give one");
    return false;
  }
  unless = rule.contains("unless");
  const char* key = unless ? "unless" : "if";
  if (!rule.contains(key)) return true;
  auto words = acl_words(r, rule[key], rp + "." + key);
  if (!words) return false;
  auto cond = parse_condition(*words, acls);
  if (auto* e = std::get_if<std::string>(&cond)) {
    r.fail(rp + "." + key, *e);
    return false;
  }
  out = std::get<Condition>(std::move(cond));
  if (out.any_of.empty()) {
    r.fail(rp + "." + key, "is empty: leave it out for a rule that always applies");
    return false;
  }
  return true;
}

// HAProxy's `acl`, `use_backend` and `tcp-request connection`, as
//   "acl": {"lan": ["src 10.0.0.0/8", "src 192.168.0.0/16"], "tls": "ssl_fc"},
//   "use_backend": [{"backend": "b2", "if": "tls lan"}, {"backend": "b3", "unless": "..."}],
//   "tcp_request_connection": [{"action": "reject", "unless": "lan"}]
void read_routing(Reader& r, const Json& v, const std::string& path, Frontend& f) {
  NamedAcls acls;
  if (v.contains("acl") && r.object(v["acl"], path + ".acl"))
    for (const auto& [name, tests] : v["acl"].items()) {
      const std::string ap = path + ".acl." + name;
      const Json list = tests.is_array() ? tests : Json::array({tests});
      for (size_t i = 0; i < list.size(); ++i) {
        const std::string tp = tests.is_array() ? Reader::index(ap, i) : ap;
        auto words = acl_words(r, list[i], tp);
        if (!words) continue;
        auto test = parse_acl_test(*words);
        if (auto* e = std::get_if<std::string>(&test))
          r.fail(tp, *e);
        else
          acls[name].push_back(std::get<AclTest>(std::move(test)));
      }
    }
  if (v.contains("use_backend") && rule_list(r, v["use_backend"], path + ".use_backend",
                                             R"([{"backend": "tls", "if": "{ ssl_fc }"}])")) {
    const Json& rules = v["use_backend"];
    for (size_t i = 0; i < rules.size(); ++i) {
      const std::string rp = Reader::index(path + ".use_backend", i);
      const Json& rule = rules[i];
      if (!r.object(rule, rp)) continue;
      r.only_keys(rule, rp, {"backend", "if", "unless"});
      BackendRule out;
      if (!rule.contains("backend")) {
        r.fail(rp + ".backend", "is required");
        continue;
      }
      if (auto b = r.string(rule["backend"], rp + ".backend")) out.backend = *b;
      if (read_rule_condition(r, rule, rp, acls, out.unless, out.condition))
        f.use_backend.push_back(std::move(out));
    }
  }
  if (v.contains("tcp_request_connection") &&
      rule_list(r, v["tcp_request_connection"], path + ".tcp_request_connection",
                R"([{"action": "reject", "unless": "{ src 10.0.0.0/8 }"}])")) {
    const Json& rules = v["tcp_request_connection"];
    for (size_t i = 0; i < rules.size(); ++i) {
      const std::string rp = Reader::index(path + ".tcp_request_connection", i);
      const Json& rule = rules[i];
      if (!r.object(rule, rp)) continue;
      r.only_keys(rule, rp, {"action", "if", "unless"});
      ConnectionRule out;
      if (!rule.contains("action")) {
        r.fail(rp + ".action", "is required (\"accept\" or \"reject\")");
        continue;
      }
      auto action = r.string(rule["action"], rp + ".action");
      if (!action) continue;
      if (*action != "accept" && *action != "reject") {
        r.fail(rp + ".action", "must be \"accept\" or \"reject\", got \"" + *action + "\"");
        continue;
      }
      out.action =
          *action == "accept" ? ConnectionRule::Action::Accept : ConnectionRule::Action::Reject;
      if (read_rule_condition(r, rule, rp, acls, out.unless, out.condition))
        f.tcp_request_connection.push_back(std::move(out));
    }
  }
}

void read_frontend(Reader& r, const Json& v, const std::string& path, const Defaults& d,
                   const Global& g, Frontend& f) {
  Timeouts own;
  if (r.object(v, path)) {
    r.only_keys(v, path,
                {"name", "bind", "default_backend", "acl", "use_backend", "tcp_request_connection",
                 "maxconn", "clitcpka", "timeouts", "log", "log_format", "dontlognull", "log_tag"});
    for (const char* key : {"name", "bind", "default_backend"})
      if (!v.contains(key)) r.fail(path + "." + key, "is required");
    if (v.contains("name")) read_name(r, v["name"], path + ".name", f.name);
    if (v.contains("bind")) {
      const Json& binds = v["bind"];
      if (!binds.is_array() || binds.empty()) {
        r.fail(path + ".bind",
               "must be a list of at least one ADDRESS:PORT or bind object, e.g. "
               "[\"0.0.0.0:1883\", {\"address\": \"0.0.0.0:8883\", \"ssl\": true, \"crt\": "
               "\"/etc/mqlb/mqlb.pem\"}]");
      } else {
        for (size_t i = 0; i < binds.size(); ++i) {
          if (auto b = read_bind(r, binds[i], Reader::index(path + ".bind", i))) {
            // HAProxy names an unnamed bind by its position in log lines.
            if (b->name.empty()) b->name = std::to_string(i + 1);
            f.binds.push_back(std::move(*b));
          }
        }
      }
    }
    if (v.contains("default_backend"))
      if (auto n = r.string(v["default_backend"], path + ".default_backend"))
        f.default_backend = *n;
    read_routing(r, v, path, f);
    if (v.contains("maxconn"))
      if (auto n = r.integer(v["maxconn"], path + ".maxconn", 1, 10'000'000))
        f.maxconn = uint32_t(*n);
    if (v.contains("clitcpka"))
      if (auto x = r.boolean(v["clitcpka"], path + ".clitcpka")) f.clitcpka = *x;
    if (v.contains("timeouts")) read_timeouts(r, v["timeouts"], path + ".timeouts", own);
    if (v.contains("log"))
      if (auto l = read_log(r, v["log"], path + ".log")) f.log = *l;
    if (!v.contains("log")) f.log = d.log ? *d.log : g.log;
    f.log_format = d.log_format;
    if (v.contains("log_format"))
      read_log_format(r, v["log_format"], path + ".log_format", f.log_format);
    f.dontlognull = d.dontlognull;
    if (v.contains("dontlognull"))
      if (auto x = r.boolean(v["dontlognull"], path + ".dontlognull")) f.dontlognull = *x;
    f.log_tag = d.log_tag;
    if (v.contains("log_tag"))
      if (auto tag = r.string(v["log_tag"], path + ".log_tag")) f.log_tag = *tag;
  }
  if (f.maxconn == 0) f.maxconn = d.maxconn.value_or(g.maxconn);
  f.timeouts = inherit(own, d.timeouts);
  f.timeouts = without_zeros(f.timeouts);
}

int line_of(std::string_view text, size_t byte) {
  byte = std::min(byte, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + byte, '\n'));
}

}  // namespace

std::optional<Server> load_json_server(const nlohmann::json& v, const BackendCheck& checks,
                                       std::vector<Error>& errors) {
  Reader r("");
  Server s;
  read_server(r, v, "", checks, s);
  for (Error& e : r.errors) {
    // Paths built as path + ".key" from the empty root.
    if (!e.field.empty() && e.field.front() == '.') e.field.erase(0, 1);
    errors.push_back(std::move(e));
  }
  if (!r.errors.empty()) return std::nullopt;
  return s;
}

LoadResult load_json(std::string_view text, const std::string& file) {
  LoadResult result;
  Json doc;
  // nlohmann's parser takes a NUL byte for the end of the input and would
  // read "{...}\0junk" as the object before it: a NUL is refused here.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    result.errors.push_back({file, line_of(text, nul), "",
                             "invalid JSON: a NUL byte at offset " + std::to_string(nul)});
    return result;
  }
  try {
    doc = Json::parse(text);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." -> the part after ":
    // "
    size_t colon = what.find(": ");
    result.errors.push_back(
        {file, line_of(text, e.byte ? e.byte - 1 : 0), "",
         "invalid JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2))});
    return result;
  } catch (const Json::out_of_range& e) {
    // A number beyond a double ("1e400") is not a parse_error but
    // out_of_range.406, with no position: its message quotes the number,
    // and the line is where the text has it first.
    std::string what = e.what();
    size_t open = what.find('\''), close = what.rfind('\'');
    std::string number = open < close ? what.substr(open + 1, close - open - 1) : "";
    size_t at = number.empty() ? std::string_view::npos : text.find(number);
    if (number.size() > 40) number = number.substr(0, 37) + "...";
    result.errors.push_back({file, line_of(text, at == std::string_view::npos ? 0 : at), "",
                             "invalid JSON: number " + number + " is out of range"});
    return result;
  }
  Reader r(file);
  Config cfg;
  cfg.file = file;
  Defaults defaults;
  if (r.object(doc, "(top level)")) {
    r.only_keys(doc, "", {"global", "defaults", "frontends", "backends"});
    if (doc.contains("global")) read_global(r, doc["global"], cfg.global);
    if (doc.contains("defaults")) read_defaults(r, doc["defaults"], defaults);
    if (!doc.contains("backends") || !doc["backends"].is_array() || doc["backends"].empty()) {
      r.fail("backends", "must be a list of at least one backend");
    } else {
      for (size_t i = 0; i < doc["backends"].size(); ++i) {
        Backend b;
        read_backend(r, doc["backends"][i], Reader::index("backends", i), defaults, b);
        cfg.backends.push_back(std::move(b));
      }
    }
    if (!doc.contains("frontends") || !doc["frontends"].is_array() || doc["frontends"].empty()) {
      r.fail("frontends", "must be a list of at least one frontend");
    } else {
      for (size_t i = 0; i < doc["frontends"].size(); ++i) {
        Frontend f;
        read_frontend(r, doc["frontends"][i], Reader::index("frontends", i), defaults, cfg.global,
                      f);
        cfg.frontends.push_back(std::move(f));
      }
    }
  }
  // Cross references, once every section is read.
  std::set<std::string> names;
  for (size_t i = 0; i < cfg.backends.size(); ++i)
    if (!cfg.backends[i].name.empty() && !names.insert(cfg.backends[i].name).second)
      r.fail(Reader::index("backends", i) + ".name",
             "duplicate backend name '" + cfg.backends[i].name + "'");
  names.clear();
  std::set<std::pair<std::string, uint16_t>> binds;
  for (size_t i = 0; i < cfg.frontends.size(); ++i) {
    const Frontend& f = cfg.frontends[i];
    std::string fp = Reader::index("frontends", i);
    if (!f.name.empty() && !names.insert(f.name).second)
      r.fail(fp + ".name", "duplicate frontend name '" + f.name + "'");
    if (!f.default_backend.empty() && !cfg.find_backend(f.default_backend))
      r.fail(fp + ".default_backend", "no backend named '" + f.default_backend + "'");
    for (size_t k = 0; k < f.use_backend.size(); ++k)
      if (!cfg.find_backend(f.use_backend[k].backend))
        r.fail(Reader::index(fp + ".use_backend", k) + ".backend",
               "no backend named '" + f.use_backend[k].backend + "'");
    for (const Bind& b : f.binds)
      if (!binds.insert({b.host, b.port}).second)
        r.fail(fp + ".bind", "address " + b.to_string() + " is bound twice");
  }
  for (const Frontend& f : cfg.frontends)
    if (f.maxconn > cfg.global.maxconn)
      result.warnings.push_back(
          {file, 0, "frontends[" + std::to_string(&f - cfg.frontends.data()) + "].maxconn",
           "is above global.maxconn (" + std::to_string(cfg.global.maxconn) +
               "), which limits it"});
  result.errors = std::move(r.errors);
  resolve_log_formats(cfg);
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

}  // namespace mqlb::conf
