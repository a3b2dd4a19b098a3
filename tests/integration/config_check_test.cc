// Configuration errors are caught before anything listens: `mqlb -c -f`
// exits 1 and names the JSON path of the mistake, `mqlb -f` refuses to start.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

struct Mistake {
  std::string what;
  std::function<void(nlohmann::json&)> make;
  std::vector<std::string> named;  // each must appear on stderr
};

const std::vector<Mistake>& mistakes() {
  static const std::vector<Mistake> list = {
      {"a server port out of range",
       [](nlohmann::json& c) { c["backends"][0]["servers"][0]["port"] = 70000; },
       {"backends[0].servers[0].port"}},
      {"a misspelt key",
       [](nlohmann::json& c) { c["frontends"][0]["bnid"] = "127.0.0.1:1"; },
       {"frontends[0]", "bnid"}},
      {"a default_backend that does not exist",
       [](nlohmann::json& c) { c["frontends"][0]["default_backend"] = "nope"; },
       {"frontends[0].default_backend"}},
      {"a timeout that is not a duration",
       [](nlohmann::json& c) { c["defaults"]["timeouts"]["connect"] = "soon"; },
       {"defaults.timeouts.connect"}},
  };
  return list;
}

}  // namespace

TEST_CASE("mqlb -c accepts a valid config", "[integration][config]") {
  TempDir dir;
  const auto path = dir.write("mqlb.json", basic_config(free_port(), {{"b1", 1883}}).dump(2));
  const RunResult check = run_mqlb(dir, {"-c", "-f", path.string()});
  INFO(check.stderr_text);
  CHECK(check.exit_code == 0);
}

TEST_CASE("mqlb -c rejects a broken config and names the JSON path", "[integration][config]") {
  TempDir dir;
  for (const auto& mistake : mistakes()) {
    nlohmann::json config = basic_config(free_port(), {{"b1", 1883}});
    mistake.make(config);
    const auto path = dir.write("broken.json", config.dump(2));
    const RunResult check = run_mqlb(dir, {"-c", "-f", path.string()});
    INFO(mistake.what << "; stderr: " << check.stderr_text);
    CHECK(check.exit_code == 1);
    for (const auto& name : mistake.named) {
      CHECK_THAT(check.stderr_text, Catch::Contains(name));
    }
  }
}

TEST_CASE("mqlb -c rejects a file that is not JSON", "[integration][config]") {
  TempDir dir;
  const auto path = dir.write("broken.json", "{\"global\": {\"workers\": 2,,}");
  const RunResult check = run_mqlb(dir, {"-c", "-f", path.string()});
  INFO(check.stderr_text);
  CHECK(check.exit_code == 1);
  CHECK_FALSE(check.stderr_text.empty());
}

TEST_CASE("mqlb -f with a broken config exits 1 without listening", "[integration][config]") {
  TempDir dir;
  const uint16_t port = free_port();
  nlohmann::json config = basic_config(port, {{"b1", 1883}});
  config["backends"][0]["servers"][0]["port"] = 70000;
  const auto path = dir.write("broken.json", config.dump(2));

  Process mqlb(dir, "mqlb", {MQLB_BINARY, "-f", path.string()});
  bool listened = false;
  const bool exited = wait_until(
      [&] {
        listened = listened || is_listening(port);
        return !mqlb.running();
      },
      Millis(10000), Millis(1));
  INFO(mqlb.stderr_text());
  REQUIRE(exited);
  CHECK(mqlb.wait_exit(Millis(0)) == 1);
  CHECK_FALSE(listened);
  CHECK_THAT(mqlb.stderr_text(), Catch::Contains("backends[0].servers[0].port"));
}

TEST_CASE("mqlb -v and --help exit 0", "[integration][config]") {
  TempDir dir;
  for (const char* flag : {"-v", "--help"}) {
    const RunResult run = run_mqlb(dir, {flag});
    INFO(flag << ": " << run.stderr_text);
    CHECK(run.exit_code == 0);
    CHECK_FALSE((run.stdout_text + run.stderr_text).empty());
  }
}
