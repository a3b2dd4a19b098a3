// `option log-health-checks`: each check result that differs from the one
// before, or moves the rise/fall count, gets HAProxy's line; and a backend
// whose tcp-check rules do not parse is refused at load, by `mqlb -c` and by
// `mqlb -f`, naming the rule.
#include <catch2/catch.hpp>

#include <string>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("log-health-checks logs the failed checks that take a server down, then its recovery",
          "[integration][health]") {
  TempDir dir;
  auto b1 = std::make_unique<Broker>(dir);
  const uint16_t b1_port = b1->port();
  Broker b2(dir);
  nlohmann::json config = basic_config(free_port(), {{"b1", b1_port}, {"b2", b2.port()}});
  config["backends"][0]["check"] = {{"type", "mqtt"}, {"log-health-checks", true}};
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"check", "500ms"}};
  enable_checks(config, {{"inter", "200ms"}, {"fall", 2}, {"rise", 2}, {"init-state", "fully-up"}});
  Mqlb lb(dir, config);
  // Its first check is logged (the status is new) before the broker goes.
  REQUIRE(wait_for_event(lb, "Health check for server mqtt/b1 succeeded", Millis(10000)));

  b1.reset();  // killed: its checks are refused
  // Fully UP with fall 2: one failed check is logged with 1/2 to go, the
  // second takes it DOWN; the DOWN line then gives no reason of its own.
  REQUIRE(wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(10000)));
  const auto failed = event_lines(lb, "Health check for server mqtt/b1 failed");
  INFO(lb.stderr_text());
  REQUIRE(failed.size() >= 2);
  // Refused, or reset when the kill came in the middle of a check.
  CHECK((failed[0].find("reason: Layer4 connection problem") != std::string::npos ||
         failed[0].find("reason: Socket error") != std::string::npos));
  CHECK(failed[0].find("status: 1/2 UP.") != std::string::npos);
  CHECK(failed[1].find("status: 0/2 DOWN.") != std::string::npos);
  // On stderr with HAProxy's ha_warning tag (syslog gets it at NOTICE).
  CHECK(failed[0].rfind("[WARNING]", 0) == 0);
  const auto down = event_lines(lb, health_expect::down("mqtt/b1"));
  REQUIRE(down.size() == 1);
  CHECK(down[0].find("reason:") == std::string::npos);

  Broker again(dir, {.port = b1_port});
  REQUIRE(wait_for_event(lb, health_expect::up("mqtt/b1"), Millis(10000)));
  // Its first check after the start was logged too (the status was new);
  // the recovery is the two after the failures.
  const auto passed = event_lines(lb, "Health check for server mqtt/b1 succeeded");
  REQUIRE(passed.size() == 3);
  CHECK(passed[0].find("status: 2/2 UP.") != std::string::npos);
  CHECK(passed[1].find("reason: Layer7 check passed, code: 0") != std::string::npos);
  CHECK(passed[1].find("status: 1/2 DOWN.") != std::string::npos);
  CHECK(passed[2].find("status: 2/2 UP.") != std::string::npos);
  // b2 never changed: its steady result is logged once, not at every check.
  CHECK(event_lines(lb, "Health check for server mqtt/b2").size() == 1);
}

TEST_CASE("a tcp-check rule that does not parse is refused at load, naming the rule",
          "[integration][health]") {
  TempDir dir;
  const uint16_t port = free_port();
  nlohmann::json config = basic_config(port, {{"b1", free_port()}});
  config["backends"][0]["check"] = {{"type", "tcp-check"},
                                    {"tcp-check", {"connect", "expect bnary 20020000"}}};
  enable_checks(config, {{"inter", "1s"}});
  const auto file = dir.write("bad.json", config.dump(2));

  const RunResult check = run_mqlb(dir, {"-c", "-f", file.string()});
  INFO(check.stderr_text);
  CHECK(check.exit_code == 1);
  CHECK(check.stderr_text.find("backends[0].check.tcp-check[1] 'expect bnary 20020000'") !=
        std::string::npos);
  CHECK(check.stderr_text.find("unknown pattern type 'bnary'") != std::string::npos);

  const RefusedStart start = start_refused(dir, config, {port});
  CHECK(start.run.exit_code == 1);
  CHECK_FALSE(start.listened);
}
