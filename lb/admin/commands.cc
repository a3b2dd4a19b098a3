#include "lb/admin/commands.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include "conf/haproxy_loader.h"
#include "conf/names.h"
#include "health/status.h"

namespace mqlb::lb::admin {
namespace {

using Words = std::vector<std::string>;

// HAProxy 2.6 src/cli.c cli_permission_denied_msg.
constexpr std::string_view kPermissionDenied = "Permission denied\n";
// HAProxy's srv_update_addr_port names who changed the address.
constexpr std::string_view kUpdater = " by 'stats socket command'";

// One command of the usage list: its keywords and HAProxy's usage line (the
// command padded to 40 columns, then what it does), where mqlb differs said
// in the line.
struct Command {
  std::vector<std::string_view> words;
  std::string_view usage;
};

// Sorted by usage line, as HAProxy's cmp_kw_entries sorts them.
const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {{"add", "server"},
       "add server <bk>/<srv> <addr> [args]*    : create a new server, in maintenance until "
       "'enable server'; args as on a haproxy.cfg server line"},
      {{"del", "server"},
       "del server <bk>/<srv>                   : drain a server, then remove it (mqlb: it need "
       "not "
       "be in maintenance first)"},
      {{"disable", "server"},
       "disable server <bk>/<srv>               : put a server in maintenance (same as 'set server "
       "<bk>/<srv> state maint')"},
      {{"enable", "server"},
       "enable server <bk>/<srv>                : take a server out of maintenance (same as 'set "
       "server <bk>/<srv> state ready')"},
      {{"get", "weight"},
       "get weight <bk>/<srv>                   : report a server's current weight (initial: the "
       "running configuration's)"},
      {{"reload"},
       "reload                                  : read the configuration files again (mqlb; "
       "HAProxy's master CLI has it)"},
      {{"set", "server"},
       "set server <bk>/<srv> [opts]            : change a server's state (ready|drain|maint), "
       "weight (<w>|0%|100%) or addr (<addr> [port <p>]) (mqlb: no agent, check, fqdn, health, "
       "ssl)"},
      {{"set", "weight"},
       "set weight <bk>/<srv> <w>|0%|100%       : change a server's weight (same as 'set server "
       "<bk>/<srv> weight')"},
      {{"show", "backend"},
       "show backend                            : list backends in the current running config"},
      {{"show", "info"},
       "show info                               : report information about the running process "
       "(mqlb: no desc, json, typed or float)"},
      {{"show", "servers", "state"},
       "show servers state [<backend>]          : dump volatile server information (all or for a "
       "single backend)"},
      {{"show", "sess"},
       "show sess                               : count the live sessions per frontend, backend "
       "and server (mqlb: a summary, it keeps no list of sessions)"},
      {{"show", "stat"},
       "show stat [<iid> <type> <sid>] [no-maint|up]*: report counters for each proxy and "
       "server (mqlb: CSV only, no desc, json or typed)"},
      {{"show", "version"},
       "show version                            : show version of the current process"},
  };
  return list;
}

// How many leading words of `w` name a command word for word, at most.
size_t matched_words(const Words& w, const Command& c) {
  size_t n = 0;
  while (n < c.words.size() && n < w.size() && w[n] == c.words[n])
    ++n;
  return n;
}

// HAProxy's cli_gen_usage_msg: the commands matching as many leading words
// of `w` as any does (all when none matches), then help, prompt and quit.
// HAProxy also ranks the remaining words by similarity; mqlb lists every
// command that matches the leading words.
std::string usage(const Words& w, std::string_view title) {
  size_t longest = 0;
  for (const auto& c : commands())
    longest = std::max(longest, matched_words(w, c));
  std::string out(title);
  for (const auto& c : commands())
    if (matched_words(w, c) == longest) out.append("  ").append(c.usage).append("\n");
  out +=
      "  help [<command>]                        : list matching or all commands\n"
      "  prompt                                  : toggle interactive mode with prompt\n"
      "  quit                                    : disconnect\n";
  return out;
}

std::string unknown_command(const Words& w) {
  size_t longest = 0;
  for (const auto& c : commands())
    longest = std::max(longest, matched_words(w, c));
  if (longest == 0 && w.empty())
    return usage(w, "Unknown command. Please enter one of the following commands only:\n");
  return usage(w, "Unknown command, but maybe one of the following ones is a better match:\n");
}

// Splits a line into commands at each ';' not escaped by a backslash (the
// escapes stay for split_words), as HAProxy's cli_io_handler does.
std::vector<std::string_view> split_commands(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\') {
      ++i;
    } else if (line[i] == ';') {
      out.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(line.substr(start));
  return out;
}

// HAProxy's cli_parse_request: words end at an unescaped space or tab; "\\"
// is a backslash and '\' before any other character keeps that character.
Words split_words(std::string_view cmd) {
  Words out;
  size_t i = 0;
  while (i < cmd.size()) {
    while (i < cmd.size() && (cmd[i] == ' ' || cmd[i] == '\t'))
      ++i;
    if (i == cmd.size()) break;
    std::string word;
    while (i < cmd.size() && cmd[i] != ' ' && cmd[i] != '\t') {
      if (cmd[i] == '\\') {
        if (++i == cmd.size()) break;
      }
      word += cmd[i++];
    }
    out.push_back(std::move(word));
  }
  return out;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// The command as typed, for error messages: "set server mqtt/b9".
std::string command_text(const Words& w, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < w.size(); ++i)
    out += (i ? " " : "") + w[i];
  return out;
}

bool parse_number(std::string_view text, uint32_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// The server a command names, looked up in the snapshot.
struct Target {
  const Backend* backend = nullptr;
  const Server* server = nullptr;
  std::string backend_name, server_name;
};

// Reads "<backend>/<server>" at w[2] for the command w[0] w[1]. Returns the
// error text, or empty with `t` filled. `must_exist`: the server must be in
// the snapshot (else only the backend must).
std::string find_target(const Words& w, const Runtime& rt, bool must_exist, Target& t) {
  const std::string cmd = command_text(w, 2);
  if (w.size() < 3) return quoted(cmd) + ": expects <backend>/<server>\n";
  const std::string& arg = w[2];
  const size_t slash = arg.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == arg.size())
    return quoted(arg) + ": expects <backend>/<server>\n";
  t.backend_name = arg.substr(0, slash);
  t.server_name = arg.substr(slash + 1);
  t.backend = find_backend(rt, t.backend_name);
  if (!t.backend) return quoted(command_text(w, 3)) + ": no such backend\n";
  t.server = find_server(*t.backend, t.server_name);
  if (must_exist && !t.server) return quoted(command_text(w, 3)) + ": no such server\n";
  return {};
}

// Nothing may follow the arguments a command takes.
std::string extra_words(const Words& w, size_t n) {
  if (w.size() <= n) return {};
  return quoted(command_text(w, n)) + ": unexpected " + quoted(w[n]) + "\n";
}

std::string answer(const Outcome& o, std::string_view success) {
  if (!o.ok()) return o.error + "\n";
  return std::string(success);
}

// "<n>", "0%" or "100%" (HAProxy's relative weight, of the configured one).
std::string parse_weight(std::string_view text, ServerPatch& patch) {
  if (!text.empty() && text.back() == '%') {
    uint32_t pct = 0;
    if (!parse_number(text.substr(0, text.size() - 1), pct))
      return "relative weight must be a number and '%', got " + quoted(text) + "\n";
    if (pct == 100) {
      patch.clear_weight = true;  // the initial weight: the file's
      return {};
    }
    if (pct == 0) {
      patch.set.weight = 0;
      return {};
    }
    // The runtime socket sees the effective weight, not the file's.
    return "relative weight " + quoted(text) +
           " is not supported: mqlb takes 0%, 100% (the configuration file's weight) or an "
           "absolute weight 0..256\n";
  }
  uint32_t weight = 0;
  if (!parse_number(text, weight) || weight > 256)
    return "weight must be 0..256, got " + quoted(text) + "\n";
  patch.set.weight = weight;
  return {};
}

std::string set_admin(Admin& admin, const Target& t, AdminState a) {
  SetServer c{t.backend_name, t.server_name, {}};
  c.patch.set.admin = a;
  return answer(admin.change(c), "");
}

std::string cmd_set_server(const Words& w, Admin& admin) {
  Target t;
  if (auto e = find_target(w, admin.runtime(), true, t); !e.empty()) return e;
  const std::string cmd = command_text(w, 3);
  if (w.size() < 4)
    return quoted(cmd) + ": expects state, weight or addr, e.g. '" + cmd + " state drain'\n";
  const std::string& what = w[3];
  if (what == "state") {
    std::optional<AdminState> a = w.size() > 4 ? parse_admin(w[4]) : std::nullopt;
    if (!a)
      return "state must be ready, drain or maint, got " + quoted(w.size() > 4 ? w[4] : "") + "\n";
    if (auto e = extra_words(w, 5); !e.empty()) return e;
    return set_admin(admin, t, *a);
  }
  if (what == "weight") {
    SetServer c{t.backend_name, t.server_name, {}};
    if (auto e = parse_weight(w.size() > 4 ? w[4] : "", c.patch); !e.empty()) return e;
    if (auto e = extra_words(w, 5); !e.empty()) return e;
    return answer(admin.change(c), "");
  }
  if (what == "addr") {
    if (w.size() < 5 || w[4].empty())
      return quoted(cmd + " addr") + " needs an address, e.g. '" + cmd +
             " addr 10.0.0.5 port 1883'\n";
    SetServer c{t.backend_name, t.server_name, {}};
    c.patch.set.address = w[4];
    size_t next = 5;
    if (w.size() > 5 && w[5] == "port") {
      uint32_t port = 0;
      if (w.size() < 7 || !parse_number(w[6], port) || port == 0 || port > 65535)
        return "port must be 1..65535, got " + quoted(w.size() > 6 ? w[6] : "") + "\n";
      c.patch.set.port = static_cast<uint16_t>(port);
      next = 7;
    }
    if (auto e = extra_words(w, next); !e.empty()) return e;
    // HAProxy's srv_update_addr_port report, from the snapshot before.
    const conf::Server& before = t.server->conf;
    std::string report = before.address == w[4]
                             ? "no need to change the addr"
                             : "IP changed from " + quoted(before.address) + " to " + quoted(w[4]);
    if (c.patch.set.port) {
      report += ", ";
      report += before.port == *c.patch.set.port
                    ? std::string("no need to change the port")
                    : "port changed from '" + std::to_string(before.port) + "' to '" +
                          std::to_string(*c.patch.set.port) + "'";
    }
    return answer(admin.change(c), report + std::string(kUpdater) + "\n");
  }
  return quoted(command_text(w, 4)) +
         ": mqlb can set a server's state, weight or addr (not HAProxy's agent, agent-addr, "
         "agent-port, agent-send, check-addr, check-port, fqdn, health or ssl)\n";
}

std::string cmd_set_weight(const Words& w, Admin& admin) {
  Target t;
  if (auto e = find_target(w, admin.runtime(), true, t); !e.empty()) return e;
  SetServer c{t.backend_name, t.server_name, {}};
  if (auto e = parse_weight(w.size() > 3 ? w[3] : "", c.patch); !e.empty()) return e;
  if (auto e = extra_words(w, 4); !e.empty()) return e;
  return answer(admin.change(c), "");
}

// HAProxy's "%d (initial %d)": the live weight and the configured one.
std::string cmd_get_weight(const Words& w, const Runtime& rt) {
  Target t;
  if (auto e = find_target(w, rt, true, t); !e.empty()) return e;
  if (auto e = extra_words(w, 3); !e.empty()) return e;
  return std::to_string(t.server->state->weight()) + " (initial " +
         std::to_string(t.server->conf.weight) + ")\n";
}

std::string cmd_enable_disable(const Words& w, Admin& admin, AdminState a) {
  Target t;
  if (auto e = find_target(w, admin.runtime(), true, t); !e.empty()) return e;
  if (auto e = extra_words(w, 3); !e.empty()) return e;
  return set_admin(admin, t, a);
}

// A word as a haproxy.cfg word that reads back as itself: single quotes
// (no escapes, no environment inside), a quote written as '\''.
std::string cfg_word(std::string_view w) {
  std::string out = "'";
  for (char c : w)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The server options are those of a haproxy.cfg server line: the words go
// through the config loader inside the smallest configuration it accepts,
// so keywords and errors are the loader's. As in HAProxy 2.6, no
// default-server applies, and the server starts in maintenance.
std::string cmd_add_server(const Words& w, Admin& admin) {
  Target t;
  if (auto e = find_target(w, admin.runtime(), false, t); !e.empty()) return e;
  if (t.server)
    return quoted(command_text(w, 3)) + ": backend " + quoted(t.backend_name) +
           " already has a server " + quoted(t.server_name) + "\n";
  if (w.size() < 4)
    return quoted(command_text(w, 3)) + " needs an address, e.g. '" + command_text(w, 3) +
           " 10.0.0.5:1883 check'\n";
  for (size_t i = 3; i < w.size(); ++i)
    for (char c : w[i])
      if (c == '\n' || c == '\r' || c == '\0')
        return quoted(command_text(w, 3)) + ": control characters are not allowed in " +
               quoted(w[i]) + "\n";
  const std::string frontend =
      t.backend_name == "runtime-socket" ? "runtime-socket-add" : "runtime-socket";
  std::string text = "frontend " + cfg_word(frontend) +
                     "\n    mode tcp\n    bind 127.0.0.1:1\n    default_backend " +
                     cfg_word(t.backend_name) + "\nbackend " + cfg_word(t.backend_name) +
                     "\n    mode tcp\n    server " + cfg_word(t.server_name);
  constexpr int kServerLine = 7;
  for (size_t i = 3; i < w.size(); ++i)
    text += " " + cfg_word(w[i]);
  text += "\n";
  conf::LoadResult r = conf::load_haproxy(
      text, "runtime socket", [](std::string_view) { return std::optional<std::string>(); });
  std::string notes;
  for (const auto& e : r.errors)
    notes += e.message + "\n";
  if (!r.config) return notes.empty() ? "the server line was refused\n" : notes;
  const conf::Backend* b = r.config->find_backend(t.backend_name);
  if (!b || b->servers.size() != 1) return "the server line was refused\n";
  for (const auto& e : r.warnings)
    if (e.line == kServerLine) notes += e.message + "\n";
  AddServer c{t.backend_name, b->servers[0]};
  c.server.disabled = true;  // HAProxy 2.6: a dynamic server starts in maintenance
  Outcome o = admin.change(c);
  if (!o.ok()) return notes + o.error + "\n";
  return notes + "New server registered.\n";
}

std::string cmd_del_server(const Words& w, Admin& admin) {
  Target t;
  if (auto e = find_target(w, admin.runtime(), true, t); !e.empty()) return e;
  if (auto e = extra_words(w, 3); !e.empty()) return e;
  return answer(admin.change(DelServer{t.backend_name, t.server_name}), "Server deleted.\n");
}

std::string cmd_reload(const Words& w, Admin& admin) {
  if (auto e = extra_words(w, 1); !e.empty()) return e;
  std::vector<std::string> errors = admin.reload("runtime socket");
  // The answer of HAProxy's master CLI `reload` (2.7 and later).
  if (errors.empty()) return "Success=1\n";
  std::string out = "Success=0\n--\n";
  for (const auto& e : errors)
    out += e + "\n";
  return out;
}

// Proxy numbers (HAProxy's iid, be_id): frontends in order from 1, a backend
// named as a frontend (a `listen` section) sharing its number, the other
// backends after them.
struct ProxyIds {
  std::vector<unsigned> frontend, backend;
};

ProxyIds proxy_ids(const Runtime& rt) {
  ProxyIds ids;
  unsigned next = 1;
  for (size_t i = 0; i < rt.frontends.size(); ++i)
    ids.frontend.push_back(next++);
  for (const auto& b : rt.backends) {
    unsigned id = 0;
    for (size_t i = 0; i < rt.frontends.size(); ++i)
      if (rt.frontends[i]->conf.name == b->conf.name) id = ids.frontend[i];
    ids.backend.push_back(id ? id : next++);
  }
  return ids;
}

std::string address_text(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, buf, sizeof buf);
  } else if (a.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, buf, sizeof buf);
  } else {
    return "-";
  }
  return buf;
}

uint16_t address_port(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return 0;
}

int64_t seconds_since(int64_t since_unix_ms, int64_t now_unix_ms) {
  if (since_unix_ms <= 0 || now_unix_ms < since_unix_ms) return 0;
  return (now_unix_ms - since_unix_ms) / 1000;
}

// HAProxy 2.6 include/haproxy/check-t.h enum healthcheck_status.
int haproxy_check_status(health::Status s, bool enabled) {
  using health::Status;
  switch (s) {
    case Status::Unknown:
      return enabled ? 1 : 0;  // HCHK_STATUS_INI, or UNKNOWN with no check
    case Status::Hana:
      return 4;
    case Status::SockErr:
      return 5;
    case Status::L4Ok:
      return 6;
    case Status::L4Tout:
      return 7;
    case Status::L4Con:
      return 8;
    case Status::L6Ok:
      return 9;
    case Status::L6Tout:
      return 10;
    case Status::L6Rsp:
      return 11;
    case Status::L7Tout:
      return 12;
    case Status::L7Rsp:
      return 13;
    case Status::L7Ok:
      return 15;  // HCHK_STATUS_L7OKD
    case Status::L7Sts:
      return 17;
  }
  return 0;
}

// HAProxy's check->health: rise + fall - 1 when fully up, one less per
// failure while up; the successes so far while down.
uint32_t check_health(const ServerState& st, const conf::ServerCheck& c,
                      const health::ServerHealthView& v) {
  const uint32_t rise = std::max(c.rise, 1u), fall = std::max(c.fall, 1u);
  if (st.health() == Health::Down) return std::min(v.consecutive_successes, rise - 1);
  return rise + fall - 1 - std::min(v.consecutive_failures, fall - 1);
}

std::string cmd_servers_state(const Words& w, const Runtime& rt, int64_t now_unix_ms) {
  const Backend* only = nullptr;
  if (w.size() > 3) {
    only = find_backend(rt, w[3]);
    if (!only) return quoted(command_text(w, 4)) + ": no such backend\n";
    if (auto e = extra_words(w, 4); !e.empty()) return e;
  }
  // HAProxy 2.6 include/haproxy/server-t.h SRV_STATE_FILE_VERSION and
  // SRV_STATE_FILE_FIELD_NAMES; src/proxy.c dump_servers_state.
  std::string out =
      "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
      "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
      "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
      "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
      "srv_agent_port\n";
  const ProxyIds ids = proxy_ids(rt);
  for (size_t bi = 0; bi < rt.backends.size(); ++bi) {
    const Backend& b = *rt.backends[bi];
    if (only && only != &b) continue;
    for (size_t si = 0; si < b.servers.size(); ++si) {
      const Server& s = *b.servers[si];
      const ServerState& st = *s.state;
      const health::ServerHealthView v = st.check_view();
      const conf::ServerCheck& chk = s.conf.check;
      // SRV_ST_STOPPED (0) when down or in maintenance, else SRV_ST_RUNNING (2).
      const int op = st.admin() == AdminState::Maint || st.health() == Health::Down ? 0 : 2;
      // SRV_ADMF_*: FMAINT 0x01, CMAINT 0x04 (the file's `disabled`),
      // FDRAIN 0x08, RMAINT 0x20 (no address: the maintenance it started
      // in is that one alone, unless the file disables it too).
      int adm = s.unresolved ? 0x20 : 0;
      if (st.admin() == AdminState::Maint && (!s.unresolved || s.conf.disabled))
        adm |= s.conf.disabled ? 0x05 : 0x01;
      if (st.admin() == AdminState::Drain) adm |= 0x08;
      // CHK_RES_UNKNOWN 0, FAILED 2, PASSED 3.
      const int result = v.last_check.status == health::Status::Unknown ? 0
                         : v.last_check.ok()                            ? 3
                                                                        : 2;
      // CHK_ST_CONFIGURED | CHK_ST_ENABLED, and CHK_ST_PAUSED in maintenance.
      const int chk_state = chk.enabled ? 0x06 | (st.admin() == AdminState::Maint ? 0x08 : 0) : 0;
      out += std::to_string(ids.backend[bi]) + " " + b.conf.name + " " + std::to_string(si + 1) +
             " " + s.conf.name + " " + (s.unresolved ? "-" : address_text(s.addr)) + " " +
             std::to_string(op) + " " + std::to_string(adm) + " " + std::to_string(st.weight()) +
             " " + std::to_string(s.conf.weight) + " " +
             std::to_string(seconds_since(v.since_unix_ms, now_unix_ms)) + " " +
             std::to_string(haproxy_check_status(v.last_check.status, chk.enabled)) + " " +
             std::to_string(result) + " " +
             std::to_string(chk.enabled ? check_health(st, chk, v) : 0) + " " +
             std::to_string(chk_state) + " 0 0 0 " +
             (conf::is_ip_literal(s.conf.address) ? "-" : s.conf.address) + " " +
             std::to_string(s.conf.port) + " - " + (s.conf.tls.enabled ? "1" : "0") + " " +
             std::to_string(chk.port) + " " + (chk.addr.empty() ? "-" : chk.addr) + " - 0\n";
    }
  }
  return out;
}

// HAProxy's "%ud %uh%02um%02us".
std::string uptime_text(int64_t seconds) {
  char buf[64];
  snprintf(buf, sizeof buf, "%lldd %lldh%02lldm%02llds", static_cast<long long>(seconds / 86400),
           static_cast<long long>(seconds % 86400 / 3600),
           static_cast<long long>(seconds % 3600 / 60), static_cast<long long>(seconds % 60));
  return buf;
}

// HAProxy 2.6's `show info` fields, in its order (include/haproxy/stats-t.h
// enum info_field), those mqlb has.
std::string cmd_show_info(const Words& w, Admin& admin, int64_t now_unix_ms) {
  if (w.size() > 2)
    return quoted(command_text(w, 3)) +
           ": mqlb's show info has no options (HAProxy's desc, json, typed and float are not "
           "supported)\n";
  const Runtime& rt = admin.runtime();
  const Info info = admin.info();
  const int64_t up = seconds_since(info.started_unix_ms, now_unix_ms);
  size_t listeners = 0;
  for (const auto& f : rt.frontends)
    listeners += f->binds.size();
  const ProcessState& p = *rt.process;
  std::string out;
  auto field = [&](std::string_view name, const std::string& value) {
    out.append(name).append(": ").append(value).append("\n");
  };
  field("Name", "mqlb");
  field("Version", info.version);
  field("Nbthread", std::to_string(info.workers));
  field("Nbproc", "1");
  field("Process_num", "1");
  field("Pid", std::to_string(info.pid));
  field("Uptime", uptime_text(up));
  field("Uptime_sec", std::to_string(up));
  field("Maxconn", std::to_string(rt.maxconn));
  field("CurrConns", std::to_string(p.active.get()));
  const FrontendSums sums = frontend_sums(rt);
  field("CumConns", std::to_string(sums.connections));
  field("Stopping", "0");
  field("Listeners", std::to_string(listeners));
  field("TotalBytesOut", std::to_string(sums.bytes_out));
  field("Start_time_sec", std::to_string(info.started_unix_ms / 1000));
  return out;
}

std::string cmd_show_sess(const Words& w, const Runtime& rt) {
  if (w.size() > 2)
    return quoted(command_text(w, 3)) +
           ": mqlb keeps no list of sessions, so 'show sess' takes no argument\n";
  std::string out = "# live sessions: a summary, mqlb keeps no list of sessions\n";
  for (const auto& f : rt.frontends)
    out += "frontend " + f->conf.name + ": " + std::to_string(f->state->active.get()) + "\n";
  for (const auto& b : rt.backends) {
    out += "backend " + b->conf.name + ": " + std::to_string(b->state->active.get()) + " (queued " +
           std::to_string(b->state->queued()) + ")\n";
    for (const auto& s : b->servers)
      out += "server " + s->id + ": " + std::to_string(s->state->active.get()) + "\n";
  }
  return out;
}

// HAProxy 2.6 src/stats.c stat_fields, in order (enum stat_field).
constexpr std::array<std::string_view, 101> kStatColumns = {
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_check_status",
};

// One CSV row, its columns set by name.
class StatRow {
 public:
  void set(std::string_view column, const std::string& value) {
    for (size_t i = 0; i < kStatColumns.size(); ++i)
      if (kStatColumns[i] == column) {
        v_[i] = value;
        return;
      }
  }
  void set(std::string_view column, uint64_t value) { set(column, std::to_string(value)); }
  // HAProxy's stats_dump_fields_csv: each field and ',', then "-," after
  // the static fields; a field with a comma, a quote or a line end quoted
  // (csv_enc).
  std::string text() const {
    std::string out;
    for (const auto& f : v_) {
      if (f.find_first_of(",\"\r\n") == std::string::npos) {
        out += f;
      } else {
        out += '"';
        for (char c : f)
          out += c == '"' ? std::string("\"\"") : std::string(1, c);
        out += '"';
      }
      out += ',';
    }
    return out + "-,\n";
  }

 private:
  std::array<std::string, kStatColumns.size()> v_;
};

void set_traffic(StatRow& r, const PerWorker<Totals>& t) {
  r.set("stot", t.sum(&Totals::sessions));
  r.set("bin", t.sum(&Totals::bytes_in));
  r.set("bout", t.sum(&Totals::bytes_out));
}

void set_backend_traffic(StatRow& r, const PerWorker<Totals>& t) {
  set_traffic(r, t);
  r.set("econ", t.sum(&Totals::connect_errors));
  r.set("wretr", t.sum(&Totals::retries));
  r.set("wredis", t.sum(&Totals::redispatches));
  r.set("lbtot", t.sum(&Totals::sessions));
}

// HAProxy's srv_hlt_st: "UP 2/3" while failing checks, "DOWN 1/2" while
// passing them, "no check" for an UP server without checks; "MAINT
// (resolution)" for one without an address.
std::string server_status(const Server& s) {
  const ServerState& st = *s.state;
  const std::string_view base = status_name(s);
  if (base == "MAINT" && s.unresolved) return "MAINT (resolution)";
  const conf::ServerCheck& c = s.conf.check;
  if (!c.enabled) return base == "UP" ? "no check" : std::string(base);
  const health::ServerHealthView v = st.check_view();
  const uint32_t h = check_health(st, c, v);
  const uint32_t rise = std::max(c.rise, 1u), fall = std::max(c.fall, 1u);
  if ((base == "UP" || base == "NOLB" || base == "DRAIN") && h < rise + fall - 1)
    return std::string(base) + " " + std::to_string(h - rise + 1) + "/" + std::to_string(fall);
  if (base == "DOWN" && h > 0)
    return std::string(base) + " " + std::to_string(h) + "/" + std::to_string(rise);
  return std::string(base);
}

StatRow server_row(const Backend& b, const Server& s, unsigned iid, size_t sid, pid_t pid,
                   int64_t now_unix_ms) {
  const ServerState& st = *s.state;
  StatRow r;
  r.set("pxname", b.conf.name);
  r.set("svname", s.conf.name);
  r.set("qcur", st.queue.size());
  r.set("scur", st.active.get());
  if (s.conf.maxconn) r.set("slim", s.conf.maxconn);
  set_backend_traffic(r, st.totals);
  r.set("status", server_status(s));
  r.set("weight", st.weight());
  r.set("act", s.conf.backup ? 0 : 1);
  r.set("bck", s.conf.backup ? 1 : 0);
  r.set("pid", static_cast<uint64_t>(pid));
  r.set("iid", iid);
  r.set("sid", sid);
  r.set("type", 2);
  const health::ServerHealthView v = st.check_view();
  if (v.since_unix_ms > 0) r.set("lastchg", seconds_since(v.since_unix_ms, now_unix_ms));
  const conf::ServerCheck& c = s.conf.check;
  if (c.enabled) {
    r.set("chkdown", v.down_transitions);
    r.set("check_status", std::string(health::name(v.last_check.status)));
    if (health::reports_code(v.last_check.status) && v.last_check.code >= 0)
      r.set("check_code", static_cast<uint64_t>(v.last_check.code));
    if (v.last_check.status != health::Status::Unknown && v.last_check.duration.count() >= 0)
      r.set("check_duration", static_cast<uint64_t>(v.last_check.duration.count()));
    r.set("last_chk", v.last_check.info);
    r.set("check_desc", std::string(health::description(v.last_check.status)));
    r.set("check_rise", c.rise);
    r.set("check_fall", c.fall);
    r.set("check_health", check_health(st, c, v));
  }
  if (!s.unresolved) {
    const std::string a = address_text(s.addr);
    const bool v6 = s.addr.ss_family == AF_INET6;
    r.set("addr", (v6 ? "[" + a + "]" : a) + ":" + std::to_string(address_port(s.addr)));
  }
  r.set("mode", "tcp");
  r.set("uweight", s.conf.weight);
  return r;
}

StatRow backend_row(const Backend& b, unsigned iid, pid_t pid) {
  StatRow r;
  r.set("pxname", b.conf.name);
  r.set("svname", "BACKEND");
  r.set("qcur", b.state->queue.size());
  r.set("scur", b.state->active.get());
  set_backend_traffic(r, b.state->totals);
  // HAProxy's tot_wact (or tot_wbck when no active server is usable).
  uint64_t active_weight = 0, backup_weight = 0, active = 0, backup = 0;
  for (const auto& s : b.servers) {
    if (!s->state->usable()) continue;
    (s->conf.backup ? backup : active) += 1;
    (s->conf.backup ? backup_weight : active_weight) += s->state->weight();
  }
  r.set("status", active + backup > 0 ? "UP" : "DOWN");
  r.set("weight", active ? active_weight : backup_weight);
  r.set("act", active);
  r.set("bck", backup);
  r.set("pid", static_cast<uint64_t>(pid));
  r.set("iid", iid);
  r.set("sid", 0);
  r.set("type", 1);
  r.set("mode", "tcp");
  r.set("algo", std::string(conf::to_string(b.conf.balance)));
  return r;
}

StatRow frontend_row(const Frontend& f, unsigned iid, pid_t pid) {
  StatRow r;
  r.set("pxname", f.conf.name);
  r.set("svname", "FRONTEND");
  r.set("scur", f.state->active.get());
  r.set("slim", f.conf.maxconn);
  set_traffic(r, f.state->totals);
  r.set("status", "OPEN");
  r.set("pid", static_cast<uint64_t>(pid));
  r.set("iid", iid);
  r.set("sid", 0);
  r.set("type", 0);
  r.set("mode", "tcp");
  const uint64_t denied = f.state->totals.sum(&Totals::denied);
  r.set("conn_tot", f.state->totals.sum(&Totals::sessions) + denied);
  r.set("dcon", denied);
  return r;
}

// HAProxy's stats_dump_proxy_to_buffer: which servers `f` leaves out.
bool hidden(const Server& s, size_t sid, const StatFilter& f) {
  const ServerState& st = *s.state;
  if (f.sid != -1 && sid != size_t(f.sid)) return true;
  if (f.hide_maint && st.admin() == AdminState::Maint) return true;
  if (!f.hide_down) return false;
  if (st.admin() == AdminState::Maint) return true;
  // Down, and no check is bringing it back.
  return st.health() == Health::Down &&
         (!s.conf.check.enabled || check_health(st, s.conf.check, st.check_view()) == 0);
}

void append_backend(std::string& out, const Backend& b, unsigned iid, pid_t pid,
                    int64_t now_unix_ms, const StatFilter& f) {
  if (f.iid != -1 && iid != unsigned(f.iid)) return;
  if (f.types & 4)
    for (size_t si = 0; si < b.servers.size(); ++si)
      if (!hidden(*b.servers[si], si + 1, f))
        out += server_row(b, *b.servers[si], iid, si + 1, pid, now_unix_ms).text();
  if (f.types & 2) out += backend_row(b, iid, pid).text();
}

bool parse_int(std::string_view text, int& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// HAProxy 2.6 src/stats.c cli_parse_show_stat: [domain proxy], then three
// words are <iid> <type> <sid> (iid a proxy's number or name), then flags.
// HAProxy ignores a word it does not know; mqlb refuses it.
std::string cmd_show_stat(const Words& w, Admin& admin, int64_t now_unix_ms) {
  const Runtime& rt = admin.runtime();
  size_t i = 2;
  if (i < w.size() && w[i] == "domain") {
    if (i + 1 >= w.size() || w[i + 1] != "proxy")
      return quoted(command_text(w, i + 2)) + ": mqlb has only the proxy domain\n";
    i += 2;
  }
  auto is_flag = [](const std::string& word) {
    return word == "no-maint" || word == "up" || word == "typed" || word == "json" ||
           word == "desc";
  };
  StatFilter f;
  if (w.size() - i >= 3 && !is_flag(w[i])) {
    const ProxyIds ids = proxy_ids(rt);
    int iid = 0;
    for (size_t k = 0; k < rt.frontends.size(); ++k)
      if (rt.frontends[k]->conf.name == w[i]) iid = int(ids.frontend[k]);
    for (size_t k = 0; k < rt.backends.size(); ++k)
      if (rt.backends[k]->conf.name == w[i]) iid = int(ids.backend[k]);
    if (iid == 0 && (!parse_int(w[i], iid) || iid == 0 || iid < -1))
      return quoted(command_text(w, i + 1)) + ": no such proxy\n";
    int types = 0;
    if (!parse_int(w[i + 1], types) || types < -1)
      return "type must be -1 or a sum of 1 (frontends), 2 (backends) and 4 (servers), got " +
             quoted(w[i + 1]) + "\n";
    int sid = 0;
    if (!parse_int(w[i + 2], sid) || sid < -1)
      return "server id must be -1 or a number, got " + quoted(w[i + 2]) + "\n";
    f.iid = iid;
    f.types = static_cast<unsigned>(types);
    f.sid = sid;
    i += 3;
  }
  for (; i < w.size(); ++i) {
    if (w[i] == "no-maint") {
      f.hide_maint = true;
    } else if (w[i] == "up") {
      f.hide_down = true;
    } else if (is_flag(w[i])) {
      return quoted(command_text(w, i + 1)) +
             ": mqlb has only the CSV format (not HAProxy's desc, json or typed)\n";
    } else {
      return quoted(command_text(w, i)) + ": unknown option " + quoted(w[i]) + "\n";
    }
  }
  return stat_csv(rt, admin.info().pid, now_unix_ms, f);
}

std::string run_command(const Words& w, Admin& admin, Level level, CommandSession& session,
                        int64_t now_unix_ms) {
  auto is = [&](std::initializer_list<std::string_view> words) {
    if (w.size() < words.size()) return false;
    size_t i = 0;
    for (auto word : words)
      if (w[i++] != word) return false;
    return true;
  };
  if (is({"help"}))
    return usage(Words(w.begin() + 1, w.end()),
                 "The following commands are valid at this level:\n");
  if (is({"prompt"})) {
    session.prompt = !session.prompt;
    return {};
  }
  if (is({"quit"})) {
    session.quit = true;
    return {};
  }
  if (is({"show", "info"})) return cmd_show_info(w, admin, now_unix_ms);
  if (is({"show", "stat"})) return cmd_show_stat(w, admin, now_unix_ms);
  if (is({"show", "servers", "state"})) return cmd_servers_state(w, admin.runtime(), now_unix_ms);
  if (is({"show", "sess"})) return cmd_show_sess(w, admin.runtime());
  if (is({"show", "backend"})) {
    if (auto e = extra_words(w, 2); !e.empty()) return e;
    std::string out = "# name\n";
    for (const auto& b : admin.runtime().backends)
      out += b->conf.name + "\n";
    return out;
  }
  if (is({"show", "version"})) {
    if (auto e = extra_words(w, 2); !e.empty()) return e;
    return admin.info().version + "\n";
  }
  if (is({"get", "weight"})) return cmd_get_weight(w, admin.runtime());

  const bool set_server = is({"set", "server"}), set_weight = is({"set", "weight"});
  const bool enable = is({"enable", "server"}), disable = is({"disable", "server"});
  const bool add = is({"add", "server"}), del = is({"del", "server"}), reload = is({"reload"});
  if (!(set_server || set_weight || enable || disable || add || del || reload))
    return unknown_command(w);
  if (level != Level::Admin) return std::string(kPermissionDenied);
  if (set_server) return cmd_set_server(w, admin);
  if (set_weight) return cmd_set_weight(w, admin);
  if (enable) return cmd_enable_disable(w, admin, AdminState::Ready);
  if (disable) return cmd_enable_disable(w, admin, AdminState::Maint);
  if (add) return cmd_add_server(w, admin);
  if (del) return cmd_del_server(w, admin);
  return cmd_reload(w, admin);
}

}  // namespace

std::optional<Level> parse_level(std::string_view text) {
  if (text == "user") return Level::User;
  if (text == "operator") return Level::Operator;
  if (text == "admin") return Level::Admin;
  return std::nullopt;
}

std::string run_line(std::string_view line, Admin& admin, Level level, CommandSession& session,
                     int64_t now_unix_ms) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string out;
  for (std::string_view cmd : split_commands(line)) {
    out += run_command(split_words(cmd), admin, level, session, now_unix_ms);
    // HAProxy's cli_io_handler: "quit" ends the connection with no prompt;
    // otherwise "\n" after each answer, "\n> " in interactive mode.
    if (session.quit) break;
    out += session.prompt ? "\n> " : "\n";
  }
  return out;
}

std::string stat_csv(const Runtime& rt, pid_t pid, int64_t now_unix_ms, const StatFilter& filter) {
  // HAProxy's stats_dump_csv_header.
  std::string out = "# ";
  for (auto c : kStatColumns)
    out.append(c).append(",");
  out += "-,\n";
  const ProxyIds ids = proxy_ids(rt);
  std::vector<bool> done(rt.backends.size(), false);
  // A proxy's rows together: a `listen` section's backend follows its frontend.
  for (size_t fi = 0; fi < rt.frontends.size(); ++fi) {
    const Frontend& f = *rt.frontends[fi];
    const unsigned iid = ids.frontend[fi];
    if ((filter.iid == -1 || iid == unsigned(filter.iid)) && (filter.types & 1))
      out += frontend_row(f, iid, pid).text();
    for (size_t bi = 0; bi < rt.backends.size(); ++bi)
      if (!done[bi] && rt.backends[bi]->conf.name == f.conf.name) {
        append_backend(out, *rt.backends[bi], ids.backend[bi], pid, now_unix_ms, filter);
        done[bi] = true;
      }
  }
  for (size_t bi = 0; bi < rt.backends.size(); ++bi)
    if (!done[bi]) append_backend(out, *rt.backends[bi], ids.backend[bi], pid, now_unix_ms, filter);
  return out;
}

}  // namespace mqlb::lb::admin
