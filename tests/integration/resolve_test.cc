// Server host names resolved at start with HAProxy's init-addr: a name that
// does not resolve falls back to a given IP ("libc,127.0.0.1"), or, with
// "none", leaves its server in maintenance while the others serve. Without
// a fallback mqlb refuses to start and names the server.
#include <catch2/catch.hpp>
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

// An empty label: the resolver refuses the name without asking a name server,
// so no query leaves the machine (a plain .invalid name would be sent to one).
constexpr const char* kUnresolvable = "no-such-broker..invalid";

}  // namespace

TEST_CASE("init-addr: a fallback IP, or maintenance, for a name that does not resolve",
          "[integration][config]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  nlohmann::json& first = config["backends"][0]["servers"][0];
  first["address"] = kUnresolvable;

  SECTION("libc, then a fixed address") {
    first["init-addr"] = "libc,127.0.0.1";
    Mqlb lb(dir, config);
    CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b1", 2}, {"b2", 2}});
  }
  SECTION("libc, then none: the server waits in maintenance") {
    first["init-addr"] = "libc,none";
    Mqlb lb(dir, config);
    const auto warning = wait_for_event(lb, "starting in maintenance (init-addr none)");
    REQUIRE(warning);
    CHECK(warning->rfind("[WARNING]", 0) == 0);
    CHECK(warning->find("could not resolve address 'no-such-broker..invalid'") !=
          std::string::npos);
    CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b2", 4}});
  }
  SECTION("no fallback: mqlb does not start, and says which server") {
    const RefusedStart refused = start_refused(dir, config, {});
    INFO(refused.run.stderr_text);
    CHECK(refused.run.exit_code == 1);
    CHECK(refused.run.stderr_text.find("backend 'mqtt', server 'b1' : could not resolve address "
                                       "'no-such-broker..invalid'") != std::string::npos);
  }
}
