// File descriptors (DESIGN.md §4). Under a hard limit of 64 mqlb warns that
// maxconn does not fit and lowers it; when accept fails with EMFILE it says
// so, keeps its live sessions, and accepts again once descriptors free up.
// Needs util-linux prlimit.
#include <catch2/catch.hpp>

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

TEST_CASE("under a hard limit of 64 descriptors mqlb lowers maxconn and survives a flood",
          "[integration][descriptors]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, config_wanting_1000(backend.port()), kHardLimit64);
  CHECK(has_warning_with(lb.stderr_text(), {"maxconn"}));

  Socket established = echoed_session(lb.port(), "first");

  // A hundred clients at once, far more than the lowered maxconn: the excess
  // waits in the queue or, once the queue is full too, is turned away (PQ).
  // The lowered maxconn budgets the queue's descriptors as well, so mqlb
  // does not run out of them here (the next test takes them away).
  std::vector<Socket> crowd = flood(lb.port(), 100);
  CHECK(wait_until(
      [&] {
        for (const auto& line : lb.access_lines())
          if (line.termination == "PQ") return true;
        return false;
      },
      Millis(10000)));
  CHECK_FALSE(has_warning_with(lb.stderr_text(), {"EMFILE", "ENFILE"}));
  established.send_all("still relaying");
  CHECK(established.receive_exactly(14) == "still relaying");

  crowd.clear();
  CHECK(wait_until([&] { return new_session_works(lb.port()); }, Millis(15000), Millis(100)));
  established.send_all("and still");
  CHECK(established.receive_exactly(9) == "and still");

  // The queue counters in the access log stay plausible (none wrapped).
  for (const auto& line : lb.access_lines()) {
    INFO(line.raw);
    CHECK(line.server_queue <= 100);
    CHECK(line.backend_queue <= 100);
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

  established.send_all("still relaying");
  CHECK(established.receive_exactly(14) == "still relaying");

  crowd.clear();
  CHECK(wait_until([&] { return new_session_works(lb.port()); }, Millis(15000), Millis(100)));
  established.send_all("and still");
  CHECK(established.receive_exactly(9) == "and still");
}
