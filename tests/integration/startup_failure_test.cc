// mqlb refuses to start, exits 1 and says why when what the configuration
// asks for cannot be had: a bind address another process holds, or a server
// address that does not resolve. Nothing is left listening.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// The [ALERT] lines of `log`.
std::vector<std::string> alerts(const std::string& log) {
  std::vector<std::string> found;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("[ALERT]", 0) == 0) found.push_back(line);
  }
  return found;
}

bool any_names_all(const std::vector<std::string>& lines, const std::vector<std::string>& words) {
  for (const auto& line : lines) {
    bool all = true;
    for (const auto& word : words) {
      all = all && line.find(word) != std::string::npos;
    }
    if (all) return true;
  }
  return false;
}

// Whether mqlb announced that it serves (its "ready: ..." NOTICE).
bool announced_ready(const std::string& log) {
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("[NOTICE]", 0) == 0 && line.find(" : ready") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a bind address already in use stops mqlb with exit 1 and an ALERT naming it",
          "[integration][config]") {
  TempDir dir;
  Socket occupant = listen_tcp();  // another process's listener, as far as mqlb can tell
  const uint16_t taken = occupant.local_port();
  const uint16_t free = free_port();
  nlohmann::json config = basic_config(taken, {{"b1", free_port()}});
  config["frontends"][0]["bind"] = {"127.0.0.1:" + std::to_string(taken),
                                    "127.0.0.1:" + std::to_string(free)};

  const RefusedStart start = start_refused(dir, config, {free});
  INFO(start.run.stderr_text);
  CHECK(start.run.exit_code == 1);
  CHECK(any_names_all(alerts(start.run.stderr_text),
                      {"mqtt", "127.0.0.1:" + std::to_string(taken), "Address already in use"}));
  CHECK_FALSE(announced_ready(start.run.stderr_text));
  CHECK_FALSE(start.listened);
  CHECK_FALSE(is_listening(free));
}

TEST_CASE("a server address that does not resolve stops mqlb with exit 1 naming the server",
          "[integration][config]") {
  TempDir dir;
  const uint16_t port = free_port();
  nlohmann::json config = basic_config(port, {{"b1", free_port()}});
  config["frontends"][0]["default_backend"] = "brokers";
  config["backends"][0]["name"] = "brokers";
  config["backends"][0]["servers"][0]["name"] = "typo";
  // Unresolvable without asking anyone: glibc refuses a host name with a
  // space before it would send a DNS query, so the test stays on loopback.
  config["backends"][0]["servers"][0]["address"] = "broker one.invalid";

  const RefusedStart start = start_refused(dir, config, {port});
  INFO(start.run.stderr_text);
  CHECK(start.run.exit_code == 1);
  CHECK(any_names_all(alerts(start.run.stderr_text), {"brokers", "typo", "broker one.invalid"}));
  CHECK_FALSE(announced_ready(start.run.stderr_text));
  CHECK_FALSE(start.listened);
}
