// --watch: mqlb reloads by itself when its configuration file changes, the
// way editors and confd change it (a new file renamed over the old one),
// once the writes have stopped; a broken file changes nothing.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>

#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

size_t reloads(const Mqlb& lb) {
  return count(lb.stderr_text(), "configuration file changed: reloading the configuration.");
}

}  // namespace

TEST_CASE("with --watch, mqlb reloads when the file changes, once the writes stop",
          "[integration][reload]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo()), b3(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", b1.port()}});
  // The state file lives beside the configuration: its writes are no change.
  config["global"]["state_file"] = (dir.path() / "mqlb.state").string();
  Mqlb::Options options;
  options.args = {"--watch"};
  Mqlb lb(dir, config, options);
  CHECK(lb.stderr_text().find("--watch: reloading when " + dir.path().string() + " changes") !=
        std::string::npos);
  dir.write("unrelated.json", "{}");

  // Several quick writes, as an editor or a template tool makes them.
  for (const auto& [name, port] :
       std::vector<BackendServer>{{"b2", b2.port()}, {"b3", b3.port()}}) {
    config["backends"][0]["servers"].push_back(
        {{"name", name}, {"address", "127.0.0.1"}, {"port", port}});
    std::filesystem::rename(dir.write("next.json", config.dump(2)), lb.config_path());
  }
  REQUIRE(wait_until([&] { return count(lb.stderr_text(), "reload: backend mqtt") >= 1; },
                     Millis(10000)));
  CHECK(reloads(lb) == 1);
  CHECK(lb.stderr_text().find("reload: backend mqtt: +2 servers (b2, b3), -0, 1 unchanged") !=
        std::string::npos);
  CHECK(echoed_sessions_per_server(lb, 3) ==
        std::map<std::string, int>{{"b1", 1}, {"b2", 1}, {"b3", 1}});

  std::filesystem::rename(dir.write("broken.json", "{\"frontends\": ["), lb.config_path());
  REQUIRE(wait_until([&] { return count(lb.stderr_text(), "reload failed") == 1; }, Millis(10000)));
  CHECK(reloads(lb) == 2);
  CHECK(echoed_sessions_per_server(lb, 3) ==
        std::map<std::string, int>{{"b1", 1}, {"b2", 1}, {"b3", 1}});
}
