// File descriptors (DESIGN.md §4). Under a hard limit of 64 mqlb warns that
// maxconn does not fit and lowers it (two descriptors per session, as
// HAProxy); when accept fails with EMFILE it says so, keeps its live
// sessions, and accepts again once descriptors free up; under the same
// limit it holds as many idle sessions as HAProxy. Needs util-linux prlimit.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

bool has_warning_with(const std::string& log, const std::vector<std::string>& words) {
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("[WARNING]") == std::string::npos) continue;
    for (const auto& word : words) {
      if (line.find(word) != std::string::npos) return true;
    }
  }
  return false;
}

// User plus system CPU time of every thread of `pid`, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses: state is 3,
  // utime 14 and stime 15.
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int n = 3; n <= 15 && rest >> field; ++n)
    if (n >= 14) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

size_t count_lines_with(const std::string& log, const std::string& word) {
  std::istringstream lines(log);
  std::string line;
  size_t n = 0;
  while (std::getline(lines, line))
    if (line.find(word) != std::string::npos) ++n;
  return n;
}

// A fresh connection through mqlb that gets its bytes echoed.
bool new_session_works(uint16_t port) {
  try {
    Socket client = Socket::connect(port, Millis(1000));
    client.send_all("ping", Millis(1000));
    return client.receive_exactly(4, Millis(1000)) == "ping";
  } catch (const std::exception&) {
    return false;
  }
}

// Opens `count` connections to `port` and keeps those that connected.
std::vector<Socket> flood(uint16_t port, int count) {
  std::vector<Socket> clients;
  for (int n = 0; n < count; ++n) {
    int error = 0;
    Socket client = Socket::try_connect(port, Millis(1000), error);
    if (error == 0) clients.push_back(std::move(client));
  }
  return clients;
}

const Mqlb::Options kHardLimit64 = {.launcher = {"prlimit", "--nofile=64:64"}};

nlohmann::json config_wanting_1000(uint16_t backend_port) {
  nlohmann::json config = basic_config(free_port(), {{"b1", backend_port}});
  config["global"]["maxconn"] = 1000;
  return config;
}

}  // namespace

// The maxconn mqlb says it lowered to, from "lowering maxconn to N".
long lowered_maxconn(const std::string& log) {
  const std::string marker = "lowering maxconn to ";
  const auto at = log.find(marker);
  if (at == std::string::npos) return -1;
  return std::stol(log.substr(at + marker.size()));
}

TEST_CASE("under a hard limit of 64 descriptors mqlb lowers maxconn and survives a flood",
          "[integration][descriptors]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, config_wanting_1000(backend.port()), kHardLimit64);
  CHECK(has_warning_with(lb.stderr_text(), {"maxconn"}));
  const long maxconn = lowered_maxconn(lb.stderr_text());
  INFO("lowered maxconn " << maxconn);
  REQUIRE(maxconn > 2);
  REQUIRE(maxconn < 32);  // two descriptors a session under 64

  Socket established = echoed_session(lb.port(), "first");

  // A hundred clients at once, far more than the lowered maxconn: mqlb
  // takes maxconn of them and leaves the rest in the kernel's backlog, so
  // it never runs out of descriptors (the next test takes them away).
  std::vector<Socket> crowd = flood(lb.port(), 100);
  CHECK(crowd.size() == 100);
  CHECK(wait_until([&] { return lb.open_fds() >= 2 * maxconn; }, Millis(5000)));
  CHECK_FALSE(has_warning_with(lb.stderr_text(), {"EMFILE", "ENFILE"}));
  established.send_all("still relaying");
  CHECK(established.receive_exactly(14) == "still relaying");

  crowd.clear();
  // Every one of the hundred is served in turn and logged once.
  lb.wait_for_access_lines(100, Millis(30000));
  CHECK(wait_until([&] { return new_session_works(lb.port()); }, Millis(15000), Millis(100)));
  established.send_all("and still");
  CHECK(established.receive_exactly(9) == "and still");
  CHECK_FALSE(has_warning_with(lb.stderr_text(), {"EMFILE", "ENFILE"}));

  for (const auto& line : lb.access_lines()) {
    INFO(line.raw);
    CHECK(line.actconn <= maxconn);
    CHECK(line.termination == "--");
  }
}

TEST_CASE("accept failing with EMFILE is reported and mqlb recovers by itself",
          "[integration][descriptors]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, config_wanting_1000(backend.port()), kHardLimit64);

  Socket established = echoed_session(lb.port(), "first");

  // Something else takes the descriptors mqlb planned on: its soft limit
  // drops to what it has open plus room for two more sessions.
  const int room = lb.open_fds() + 4;
  const RunResult squeeze = run(
      dir, "prlimit",
      {"prlimit", "--pid", std::to_string(lb.pid()), "--nofile=" + std::to_string(room) + ":64"});
  INFO(squeeze.stderr_text);
  REQUIRE(squeeze.exit_code == 0);

  std::vector<Socket> crowd = flood(lb.port(), 100);
  CHECK(wait_until(
      [&] {
        return has_warning_with(lb.stderr_text(), {"EMFILE", "ENFILE"});
      },
      Millis(10000)));

  // While no descriptor is free and new clients keep coming (one every
  // 20 ms, each shed), mqlb neither spins nor floods its log: 2 s of it
  // cost well under a core-second, with at most one warning a second.
  const double cpu_before = cpu_seconds(lb.pid());
  const size_t warnings_before = count_lines_with(lb.stderr_text(), "EMFILE");
  const auto window_start = Clock::now();
  std::vector<Socket> latecomers;
  wait_until(
      [&] {
        int error = 0;
        Socket s = Socket::try_connect(lb.port(), Millis(500), error);
        if (error == 0) latecomers.push_back(std::move(s));
        return false;
      },
      Millis(2000), Millis(20));
  const double window_s = static_cast<double>(elapsed_ms(window_start)) / 1000.0;
  const double cpu_used = cpu_seconds(lb.pid()) - cpu_before;
  const size_t warnings = count_lines_with(lb.stderr_text(), "EMFILE") - warnings_before;
  INFO("CPU " << cpu_used << " s and " << warnings << " warnings in " << window_s << " s");
  CHECK(cpu_used < 0.5 * window_s);
  CHECK(static_cast<double>(warnings) <= window_s + 1);

  established.send_all("still relaying");
  CHECK(established.receive_exactly(14) == "still relaying");

  crowd.clear();
  latecomers.clear();
  CHECK(wait_until([&] { return new_session_works(lb.port()); }, Millis(15000), Millis(100)));
  established.send_all("and still");
  CHECK(established.receive_exactly(9) == "and still");
}

namespace {

// How many of `count` clients get a byte echoed through the proxy on
// `port` and stay connected; the sockets are kept in `held`.
int hold_sessions(uint16_t port, int count, std::vector<Socket>& held) {
  int working = 0;
  for (int n = 0; n < count; ++n) {
    int error = 0;
    Socket client = Socket::try_connect(port, Millis(2000), error);
    if (error != 0) continue;
    try {
      client.send_all("x", Millis(2000));
      if (client.receive_exactly(1, Millis(2000)) == "x") ++working;
    } catch (const std::exception&) {
      continue;
    }
    held.push_back(std::move(client));
  }
  return working;
}

}  // namespace

TEST_CASE("under a limit of 2100 descriptors mqlb holds 1000 sessions as HAProxy does",
          "[integration][descriptors]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  const std::vector<std::string> limit = {"prlimit", "--nofile=2100:2100"};
  constexpr int kSessions = 1000;

  // HAProxy 2.6 with the same maxconn, under the same limit.
  const uint16_t haproxy_port = free_port();
  const std::string haproxy_cfg =
      dir.write("haproxy.cfg",
                "global\n  maxconn 1000\n"
                "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n"
                "  timeout server 60s\n"
                "frontend fe\n  bind 127.0.0.1:" +
                    std::to_string(haproxy_port) +
                    "\n  default_backend be\n"
                    "backend be\n  server b1 127.0.0.1:" +
                    std::to_string(backend.port()) + "\n")
          .string();
  int through_haproxy = 0;
  {
    std::vector<std::string> argv = limit;
    argv.insert(argv.end(), {"haproxy", "-db", "-f", haproxy_cfg});
    Process haproxy(dir, "haproxy", argv);
    REQUIRE(wait_until([&] { return is_listening(haproxy_port); }, Millis(10000)));
    std::vector<Socket> held;
    through_haproxy = hold_sessions(haproxy_port, kSessions, held);
    INFO(haproxy.stderr_text());
    CHECK(through_haproxy == kSessions);
  }

  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  config["global"]["maxconn"] = kSessions;
  config["defaults"]["log"] = nlohmann::json::array();  // no log descriptors either way
  Mqlb lb(dir, config, {.launcher = limit});
  CHECK_FALSE(has_warning_with(lb.stderr_text(), {"maxconn"}));
  std::vector<Socket> held;
  const int through_mqlb = hold_sessions(lb.port(), kSessions, held);
  CHECK(through_mqlb == kSessions);
  CHECK(through_mqlb == through_haproxy);
  CHECK_FALSE(has_warning_with(lb.stderr_text(), {"EMFILE", "ENFILE"}));
}
