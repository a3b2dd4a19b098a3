// "observe layer4": failed connections of live traffic count against a
// server even while its checks pass. b1's checks go to a live broker
// (check-port) but its traffic port refuses: with error-limit 3 and
// on-error mark-down, three refused devices take it DOWN with HAProxy's
// "Health analyze" reason; its passing checks bring it back. Without
// observe, the same refusals change nothing.
#include <catch2/catch.hpp>

#include <string>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// b1: traffic to a port nobody listens on, checks to `check_port`; b2: a
// broker. No retries, so each device sent to b1 is one failed connection.
nlohmann::json refusing_b1(uint16_t check_port, uint16_t b2_port) {
  nlohmann::json config = two_checked_servers(free_port(), b2_port, {{"type", "tcp"}});
  config["backends"][0]["retries"] = 0;
  config["backends"][0]["servers"][0]["check-port"] = check_port;
  return config;
}

// Sends `n` devices through mqlb one after the other; returns how many of
// them were refused.
int publish_devices(TempDir& dir, const Mqlb& lb, int n) {
  int refused = 0;
  for (int i = 0; i < n; ++i)
    if (mosquitto_pub(dir, lb.port(), "t", "device " + std::to_string(i)).exit_code != 0) ++refused;
  return refused;
}

}  // namespace

TEST_CASE("observe layer4 takes a server DOWN after error-limit refused connections",
          "[integration][health]") {
  TempDir dir;
  Broker checked(dir);  // answers b1's checks
  Broker b2(dir);
  nlohmann::json config = refusing_b1(checked.port(), b2.port());

  SECTION("with observe and on-error mark-down") {
    auto& b1 = config["backends"][0]["servers"][0];
    b1["observe"] = "layer4";
    b1["error-limit"] = 3;
    b1["on-error"] = "mark-down";
    Mqlb lb(dir, config);

    // Roundrobin: b1 gets every other device, and refuses each.
    CHECK(publish_devices(dir, lb, 6) == 3);
    const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(3000));
    REQUIRE(down);
    INFO(*down);
    CHECK(down->find("reason: Health analyze, info: \"Detected 3 consecutive errors, last one "
                     "was: L4 unsuccessful connection\". 1 active and 0 backup servers left.") !=
          std::string::npos);
    CHECK(down->find(health_expect::kCheckDuration) == std::string::npos);  // not a check
    CHECK(event_lines(lb, health_expect::down("mqtt/b1")).size() == 1);

    // DOWN, b1 gets no device: every one goes to b2 and arrives.
    const size_t before = lb.access_lines().size();
    for (const auto& line : publish_through(dir, lb, 4, before, "while down"))
      CHECK(line.server == "b2");

    // Its checks still pass: rise 2 brings it back.
    CHECK(wait_for_event(lb, health_expect::up("mqtt/b1"), Millis(5000)));
  }

  SECTION("without observe the same refusals leave it UP") {
    Mqlb lb(dir, config);
    CHECK(publish_devices(dir, lb, 6) == 3);
    CHECK_FALSE(wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(1500)));
    // Still in rotation: the next device sent to b1 is refused again.
    CHECK(publish_devices(dir, lb, 2) == 1);
  }
}
