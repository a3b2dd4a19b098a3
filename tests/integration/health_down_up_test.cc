// Health checks take a dead broker out of rotation and put it back: two
// brokers checked every 200 ms (fall 2, rise 2, timeout check 500 ms). b1 is
// killed; mqlb logs it DOWN in HAProxy's words and sends every new device to
// b2 without trying b1 first. A broker starts again on b1's port; mqlb logs it
// UP and roundrobin alternates again.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

using Counts = std::map<std::string, int>;

nlohmann::json checked_config(uint16_t b1_port, uint16_t b2_port) {
  nlohmann::json config = basic_config(free_port(), {{"b1", b1_port}, {"b2", b2_port}});
  config["backends"][0]["check"] = {{"type", "tcp"}};
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"check", "500ms"}};
  return config;
}

}  // namespace

TEST_CASE("a killed broker is marked DOWN, skipped, and back in rotation once it is UP again",
          "[integration][health]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  nlohmann::json config = checked_config(b1.port(), b2.port());
  // fully-up: `fall` failures take it DOWN from the first check on (plain
  // `up`, HAProxy 2.6's start, goes DOWN on one failure until a check passed).
  enable_checks(config, {{"inter", "200ms"}, {"fall", 2}, {"rise", 2}, {"init-state", "fully-up"}});
  Mqlb lb(dir, config);

  // A checked server starts UP: both take devices at once, and passing
  // checks log nothing.
  CHECK(sessions_per_server(publish_through(dir, lb, 4, 0, "before")) ==
        Counts{{"b1", 2}, {"b2", 2}});
  CHECK(event_lines(lb, health_expect::down("mqtt/b1")).empty());
  CHECK(event_lines(lb, health_expect::down("mqtt/b2")).empty());

  const auto killed = Clock::now();
  b1.kill();
  const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(5000));
  REQUIRE(down);
  const long down_after = elapsed_ms(killed);
  INFO(*down << "\n(" << down_after << " ms after the kill)");
  CHECK(health_expect::is_event(*down));
  CHECK(down->find(health_expect::kL4Refused) != std::string::npos);
  CHECK(down->find(health_expect::kConnectionRefused) != std::string::npos);
  CHECK(down->find("1 active and 0 backup servers left") != std::string::npos);
  // A refused connect fails at once, so a check takes well under timeout check.
  const auto duration = health_expect::check_duration_ms(*down);
  REQUIRE(duration);
  CHECK(*duration < 500);
  // Two failures in a row (fall 2), an inter apart: not the first one alone,
  // and not much more than fall × inter after the kill.
  CHECK(down_after >= 150);
  CHECK(down_after <= 5000);
  CHECK(event_lines(lb, health_expect::down("mqtt/b1")).size() == 1);
  CHECK(event_lines(lb, health_expect::down("mqtt/b2")).empty());

  // Down means not offered: every device goes straight to b2, no retry.
  const auto while_down = publish_through(dir, lb, 20, 4, "while down");
  CHECK(sessions_per_server(while_down) == Counts{{"b2", 20}});
  for (const auto& line : while_down) {
    INFO(line.raw);
    CHECK(line.termination == "--");
    CHECK(line.retries == "0");
  }

  const auto restarted = Clock::now();
  Broker b1_again(dir, Broker::Options{.port = b1.port()});
  const auto up = wait_for_event(lb, health_expect::up("mqtt/b1"), Millis(5000));
  REQUIRE(up);
  INFO(*up << "\n(" << elapsed_ms(restarted) << " ms after the restart)");
  CHECK(health_expect::is_event(*up));
  CHECK(up->find("2 active and 0 backup servers online") != std::string::npos);
  CHECK(elapsed_ms(restarted) >= 150);  // rise 2: two passing checks an inter apart

  // Strict alternation again: twenty sequential devices, ten each.
  CHECK(sessions_per_server(publish_through(dir, lb, 20, 24, "after")) ==
        Counts{{"b1", 10}, {"b2", 10}});
}

TEST_CASE("servers inherit check, inter, fall and rise from the backend's default-server",
          "[integration][health]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  nlohmann::json config = checked_config(b1.port(), b2.port());
  config["backends"][0]["default-server"] = {
      {"check", true}, {"inter", "200ms"}, {"fall", 2}, {"rise", 2}};
  Mqlb lb(dir, config);

  b1.kill();
  const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(5000));
  REQUIRE(down);
  INFO(*down);
  CHECK(down->find(health_expect::kL4Refused) != std::string::npos);
  CHECK(sessions_per_server(publish_through(dir, lb, 6, 0)) == Counts{{"b2", 6}});

  Broker b1_again(dir, Broker::Options{.port = b1.port()});
  CHECK(wait_for_event(lb, health_expect::up("mqtt/b1"), Millis(5000)));
  CHECK(sessions_per_server(publish_through(dir, lb, 6, 6)) == Counts{{"b1", 3}, {"b2", 3}});
}
