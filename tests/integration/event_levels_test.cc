// State changes, admin changes and reloads on the global syslog target, at
// HAProxy 2.6's levels and in its words. HAProxy itself is the oracle: the
// real haproxy and mqlb run from the same haproxy.cfg text (ports and socket
// paths apart) in front of one mosquitto broker that the test kills and
// restarts, and take the same runtime socket commands; each sends its events
// to its own loopback syslog receiver, and the two sequences of lines about
// the server must agree line by line, priority and text, check durations
// masked. Reloads have no HAProxy counterpart in one process: mqlb's own
// lines are checked at the levels it documents (NOTICE, WARNING, ALERT).
#include <signal.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/syslog.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";
constexpr int kLocal0 = 16 * 8;
constexpr int kEmerg = kLocal0 + 0, kAlert = kLocal0 + 1, kWarning = kLocal0 + 4,
              kNotice = kLocal0 + 5;

std::string cfg_text(uint16_t port, uint16_t syslog_port, const std::filesystem::path& socket,
                     uint16_t broker_port) {
  return "global\n"
         "    log 127.0.0.1:" +
         std::to_string(syslog_port) +
         " local0\n"
         "    stats socket " +
         socket.string() +
         " level admin\n"
         "\n"
         "defaults\n"
         "    mode tcp\n"
         "    log global\n"
         "    option tcplog\n"
         "    timeout connect 1s\n"
         "    timeout client 10s\n"
         "    timeout server 10s\n"
         "\n"
         "frontend mqtt\n"
         "    bind 127.0.0.1:" +
         std::to_string(port) +
         "\n"
         "    default_backend mqtt\n"
         "\n"
         "backend mqtt\n"
         "    server b1 127.0.0.1:" +
         std::to_string(broker_port) + " check inter 100ms fall 1 rise 1\n";
}

// What socat prints for `line` sent to the runtime socket at `path`.
std::string socat(TempDir& dir, const std::filesystem::path& path, const std::string& line) {
  const RunResult r = run(dir, "socat",
                          {"sh", "-c", "printf '%s\\n' \"$0\" | socat -t 5 - \"UNIX-CONNECT:$1\"",
                           line, path.string()});
  INFO(r.stderr_text);
  REQUIRE(r.exit_code == 0);
  return r.stdout_text;
}

// HAProxy's events about the server and its backend (not mqlb's own
// summaries, "admin: set server mqtt/b1: ..."), durations masked:
// "<129> Server mqtt/b1 is DOWN, reason: ..., check duration: Nms. ...".
std::vector<std::string> server_events(SyslogReceiver& syslog) {
  static const std::regex kDuration(R"(check duration: \d+ms)");
  std::vector<std::string> out;
  for (const auto& l : syslog.lines())
    if (l.message.rfind("Server mqtt/b1 ", 0) == 0 || l.message.rfind("backend mqtt ", 0) == 0)
      out.push_back("<" + std::to_string(l.priority) + "> " +
                    std::regex_replace(l.message, kDuration, "check duration: Nms"));
  return out;
}

// Waits until `syslog` holds at least `count` server events and then none
// came for 300 ms (bounded: 5 s in all); returns them.
std::vector<std::string> settled_events(SyslogReceiver& syslog, size_t count) {
  std::vector<std::string> events;
  wait_until([&] { return (events = server_events(syslog)).size() >= count; }, Millis(5000));
  auto last_change = Clock::now();
  size_t seen = events.size();
  wait_until(
      [&] {
        events = server_events(syslog);
        if (events.size() != seen) {
          seen = events.size();
          last_change = Clock::now();
        }
        return Clock::now() - last_change >= Millis(300);
      },
      Millis(2000));
  return events;
}

// The same events on stderr, "[WARNING]  (PID) : Server mqtt/b1 ..." and
// "[ALERT]    (PID) : backend 'mqtt' has no server available!", pid and
// durations masked.
std::vector<std::string> stderr_events(const std::string& text) {
  static const std::regex kEvent(
      R"(^(\[[A-Z]+\] +)\(\d+\) : ((Server mqtt/b1 |backend 'mqtt' ).*)$)");
  static const std::regex kDuration(R"(check duration: \d+ms)");
  std::vector<std::string> out;
  std::istringstream lines(text);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line))
    if (std::regex_match(line, m, kEvent))
      out.push_back(m[1].str() +
                    "(PID) : " + std::regex_replace(m[2].str(), kDuration, "check duration: Nms"));
  return out;
}

std::string listing(const std::vector<std::string>& lines, size_t from) {
  std::string out;
  for (size_t i = from; i < lines.size(); ++i)
    out += "  " + lines[i] + "\n";
  return out.empty() ? "  (none)\n" : out;
}

}  // namespace

TEST_CASE("health, drain and maintenance changes are logged at HAProxy 2.6's levels in its words",
          "[integration][log][health][haproxy]") {
  REQUIRE(std::filesystem::exists(kHaproxy));  // scripts/setup installs it
  TempDir dir;
  const uint16_t broker_port = free_port();
  std::optional<Broker> broker;
  broker.emplace(dir, Broker::Options{.port = broker_port});
  SyslogReceiver haproxy_syslog, mqlb_syslog;
  const auto haproxy_sock = dir.unique("haproxy.sock"), mqlb_sock = dir.unique("mqlb.sock");
  const uint16_t haproxy_port = free_port(), mqlb_port = free_port();
  const auto haproxy_cfg = dir.write(
      "haproxy.cfg", cfg_text(haproxy_port, haproxy_syslog.port(), haproxy_sock, broker_port));
  const auto mqlb_cfg =
      dir.write("haproxy.cfg", cfg_text(mqlb_port, mqlb_syslog.port(), mqlb_sock, broker_port));

  Process haproxy(dir, "haproxy", {kHaproxy, "-db", "-f", haproxy_cfg.string()});
  const bool listening =
      wait_until([&] { return !haproxy.running() || is_listening(haproxy_port); }, Millis(10000));
  INFO("haproxy stderr:\n" << haproxy.stderr_text());
  REQUIRE(listening);
  REQUIRE(haproxy.running());
  Mqlb lb(dir, HaproxyCfg{mqlb_cfg});

  // Each step: what it does to both, and how many lines HAProxy writes for
  // it at least (then both are given time to say more).
  struct Step {
    const char* what;
    std::function<void()> run;
    size_t lines;
  };
  auto both = [&](const std::string& command) {
    return [&, command] {
      CHECK(socat(dir, haproxy_sock, command) == "\n");
      CHECK(socat(dir, mqlb_sock, command) == "\n");
    };
  };
  auto kill_broker = [&] { broker.reset(); };
  auto restart_broker = [&] { broker.emplace(dir, Broker::Options{.port = broker_port}); };
  const std::vector<Step> steps = {
      {"the broker dies: DOWN (ALERT), no server (EMERG)", kill_broker, 2},
      {"the broker is back: UP (NOTICE)", restart_broker, 1},
      {"set server mqtt/b1 state maint", both("set server mqtt/b1 state maint"), 2},
      {"set server mqtt/b1 state ready", both("set server mqtt/b1 state ready"), 1},
      {"set server mqtt/b1 state drain", both("set server mqtt/b1 state drain"), 2},
      {"set server mqtt/b1 state ready (from drain)", both("set server mqtt/b1 state ready"), 1},
      {"disable server mqtt/b1", both("disable server mqtt/b1"), 2},
      {"enable server mqtt/b1", both("enable server mqtt/b1"), 1},
      {"set server mqtt/b1 state drain, again", both("set server mqtt/b1 state drain"), 2},
      {"the broker dies while draining: DOWN at NOTICE, the drain stays", kill_broker, 2},
      {"the broker is back while draining: UP, the drain stays", restart_broker, 2},
      {"set server mqtt/b1 state maint (from drain)", both("set server mqtt/b1 state maint"), 1},
      {"set server mqtt/b1 state drain (from maint)", both("set server mqtt/b1 state drain"), 2},
      {"set server mqtt/b1 state ready (from drain), last", both("set server mqtt/b1 state ready"),
       1},
  };

  size_t done = 0;  // lines compared so far
  for (const auto& step : steps) {
    step.run();
    const std::vector<std::string> theirs = settled_events(haproxy_syslog, done + step.lines);
    const std::vector<std::string> ours = settled_events(mqlb_syslog, theirs.size());
    INFO("step: " << step.what << "\nhaproxy:\n"
                  << listing(theirs, done) << "mqlb:\n"
                  << listing(ours, done));
    CHECK(theirs.size() >= done + step.lines);
    CHECK(listing(ours, done) == listing(theirs, done));
    done = std::max(theirs.size(), ours.size());
    // Out of step: compare the next step from where each of them is.
    if (theirs.size() != ours.size()) break;
  }
  // On stderr, HAProxy's ha_warning and ha_alert tags for the same lines.
  CHECK(listing(stderr_events(lb.stderr_text()), 0) ==
        listing(stderr_events(haproxy.stderr_text()), 0));
}

TEST_CASE("a server DOWN is an ALERT, back UP a NOTICE, and no server left an EMERG, on syslog",
          "[integration][log][health]") {
  TempDir dir;
  const uint16_t broker_port = free_port();
  std::optional<Broker> broker;
  broker.emplace(dir, Broker::Options{.port = broker_port});
  SyslogReceiver syslog;
  const uint16_t port = free_port();
  Mqlb lb(dir,
          HaproxyCfg{dir.write(
              "haproxy.cfg", cfg_text(port, syslog.port(), dir.unique("mqlb.sock"), broker_port))});
  auto line = [&](const std::string& start) {
    auto found =
        syslog.wait_for_line([&](const SyslogLine& l) { return l.message.rfind(start, 0) == 0; });
    if (!found) FAIL("no line starting with '" << start << "'; received:\n" << syslog.tail());
    return *found;
  };
  broker.reset();
  const SyslogLine down = line("Server mqtt/b1 is DOWN, reason: Layer4 connection problem");
  CHECK(down.priority == kAlert);
  CHECK(down.tag.rfind("mqlb[", 0) == 0);
  const SyslogLine none = line("backend mqtt has no server available!");
  CHECK(none.priority == kEmerg);
  broker.emplace(dir, Broker::Options{.port = broker_port});
  const SyslogLine up = line("Server mqtt/b1 is UP, reason: Layer4 check passed");
  CHECK(up.priority == kNotice);
  // On stderr HAProxy's ha_warning and ha_alert: [WARNING] for both state
  // lines, [ALERT] with quotes for the backend.
  const std::string err = lb.stderr_text();
  CHECK(err.find("[WARNING]  (" + std::to_string(lb.pid()) + ") : Server mqtt/b1 is DOWN") !=
        std::string::npos);
  CHECK(err.find("[WARNING]  (" + std::to_string(lb.pid()) + ") : Server mqtt/b1 is UP") !=
        std::string::npos);
  CHECK(err.find("[ALERT]    (" + std::to_string(lb.pid()) +
                 ") : backend 'mqtt' has no server available!") != std::string::npos);
}

TEST_CASE("reload lines reach syslog at NOTICE, a warning at WARNING and a failed reload at ALERT",
          "[integration][log][reload]") {
  TempDir dir;
  Broker broker(dir);
  SyslogReceiver syslog;
  const uint16_t port = free_port();
  const std::string text = cfg_text(port, syslog.port(), dir.unique("mqlb.sock"), broker.port());
  Mqlb lb(dir, HaproxyCfg{dir.write("haproxy.cfg", text)});
  auto line = [&](const std::string& start, size_t after) {
    std::optional<SyslogLine> found;
    wait_until(
        [&] {
          const auto& all = syslog.lines();
          for (size_t i = after; i < all.size(); ++i)
            if (all[i].message.rfind(start, 0) == 0) {
              found = all[i];
              return true;
            }
          return false;
        },
        Millis(10000));
    if (!found) FAIL("no line starting with '" << start << "'; received:\n" << syslog.tail());
    return *found;
  };

  size_t seen = syslog.lines().size();
  REQUIRE(::kill(lb.pid(), SIGHUP) == 0);
  CHECK(line("SIGHUP received: reloading the configuration.", seen).priority == kNotice);
  CHECK(line("reload: ", seen).priority == kNotice);  // what changed

  // A keyword mqlb ignores with a warning (HAProxy's 'daemon').
  seen = syslog.lines().size();
  std::filesystem::path cfg = lb.config_path();
  {
    std::string warned = text;
    warned.replace(warned.find("global\n"), 7, "global\n    daemon\n");
    std::ofstream(cfg) << warned;
  }
  REQUIRE(::kill(lb.pid(), SIGHUP) == 0);
  const SyslogLine warning = line("reload: ", seen);
  CHECK(warning.priority == kWarning);
  CHECK(warning.message.find("daemon") != std::string::npos);

  // A file that does not load: every error, then the verdict, at ALERT.
  seen = syslog.lines().size();
  std::ofstream(cfg) << text << "backend broken\n    server\n";
  REQUIRE(::kill(lb.pid(), SIGHUP) == 0);
  const SyslogLine failed =
      line("SIGHUP received: reload failed; the running configuration keeps serving.", seen);
  CHECK(failed.priority == kAlert);
  CHECK(line("reload: ", seen).priority == kAlert);
}
