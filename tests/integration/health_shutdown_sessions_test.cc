// What happens to live sessions when the checks change a server's state,
// HAProxy's on-marked-down / on-marked-up. A broker frozen with SIGSTOP keeps
// its TCP sessions open but fails its MQTT checks: with `on-marked-down
// shutdown-sessions` mqlb closes the devices relaying through it (DD);
// without, they stay, as in HAProxy. With `on-marked-up
// shutdown-backup-sessions` on an active server, the devices that moved to
// the backup are closed when it is UP again (UD), so they reconnect to it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/mqtt.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// b1 then b2 (balance first: every device goes to b1 while it is usable),
// MQTT checks every 200 ms (fall 2, rise 2, timeout check 500 ms) with
// `options` on every server.
nlohmann::json checked_config(uint16_t b1_port, uint16_t b2_port, const nlohmann::json& options) {
  nlohmann::json config = basic_config(free_port(), {{"b1", b1_port}, {"b2", b2_port}});
  config["backends"][0]["balance"] = "first";
  config["backends"][0]["check"] = {{"type", "mqtt"}};
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"check", "500ms"}};
  nlohmann::json check = {{"inter", "200ms"}, {"fall", 2}, {"rise", 2}};
  check.merge_patch(options);
  enable_checks(config, check);
  return config;
}

}  // namespace

TEST_CASE("on-marked-down shutdown-sessions closes the devices of a server marked DOWN with DD",
          "[integration][health][termination]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  Mqlb lb(dir, checked_config(b1.port(), b2.port(), {{"on-marked-down", "shutdown-sessions"}}));

  Socket device = mqtt::connect(lb.port(), "device-on-b1");
  const uint16_t device_port = device.local_port();
  REQUIRE(broker_logged(b1, "as device-on-b1"));

  Frozen frozen(b1.pid());
  const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(8000));
  REQUIRE(down);
  INFO(*down);
  const auto marked_down = Clock::now();
  CHECK(device.wait_closed(Millis(3000)) != Closed::kStillOpen);
  CHECK(elapsed_ms(marked_down) < 2000);
  const AccessLine line = lb.access_line_for(device_port);
  INFO(line.raw);
  CHECK(line.server == "b1");
  CHECK(line.termination == "DD");
  // The device comes back at once, to b2.
  Socket again = mqtt::connect(lb.port(), "device-again");
  CHECK(broker_logged(b2, "as device-again"));
  frozen.resume();
}

TEST_CASE("without on-marked-down a server marked DOWN keeps its sessions",
          "[integration][health][termination]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  Mqlb lb(dir, checked_config(b1.port(), b2.port(), nlohmann::json::object()));

  Socket device = mqtt::connect(lb.port(), "device-on-b1");
  REQUIRE(broker_logged(b1, "as device-on-b1"));

  Frozen frozen(b1.pid());
  REQUIRE(wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(8000)));
  CHECK_FALSE(device.readable_within(Millis(1500)));
  CHECK(lb.access_lines().empty());  // no line: the session has not ended

  // Thawed, the broker still has the session: a PUBLISH goes through.
  frozen.resume();
  Subscriber on_b1(dir, b1.port(), "prova");
  device.send_all(mqtt::publish_packet("prova", "still here"));
  CHECK(wait_until(
      [&] {
        const auto payloads = on_b1.payloads();
        return std::find(payloads.begin(), payloads.end(), "still here") != payloads.end();
      },
      Millis(5000)));
}

TEST_CASE("on-marked-up shutdown-backup-sessions closes the backup's devices with UD",
          "[integration][health][termination][backup]") {
  TempDir dir;
  Broker b1(dir);
  Broker k1(dir);
  nlohmann::json config =
      checked_config(b1.port(), k1.port(), {{"on-marked-up", "shutdown-backup-sessions"}});
  config["backends"][0]["servers"][1]["name"] = "k1";
  config["backends"][0]["servers"][1]["backup"] = true;
  Mqlb lb(dir, config);

  Frozen frozen(b1.pid());
  REQUIRE(wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(8000)));
  Socket device = mqtt::connect(lb.port(), "device-on-backup");
  const uint16_t device_port = device.local_port();
  REQUIRE(broker_logged(k1, "as device-on-backup"));

  frozen.resume();
  REQUIRE(wait_for_event(lb, health_expect::up("mqtt/b1"), Millis(8000)));
  CHECK(device.wait_closed(Millis(3000)) != Closed::kStillOpen);
  const AccessLine line = lb.access_line_for(device_port);
  INFO(line.raw);
  CHECK(line.server == "k1");
  CHECK(line.termination == "UD");
  // Reconnecting, the device is on the active server again.
  Socket again = mqtt::connect(lb.port(), "device-again");
  CHECK(broker_logged(b1, "as device-again"));
}
