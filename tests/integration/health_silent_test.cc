// A server that accepts and then says nothing is as dead as one that
// refuses, and only an application check can tell: the MQTT check waits
// `timeout check` for the CONNACK and logs "Layer7 timeout". A broker frozen
// with SIGSTOP is the real case: the kernel still completes handshakes into
// its backlog, so a TCP connect succeeds, but no CONNACK comes; after
// SIGCONT it answers again and is UP.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

using Counts = std::map<std::string, int>;

nlohmann::json mqtt_check_config(uint16_t b1_port, uint16_t b2_port) {
  nlohmann::json config = basic_config(free_port(), {{"b1", b1_port}, {"b2", b2_port}});
  config["backends"][0]["check"] = {{"type", "mqtt"}};
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"check", "500ms"}};
  enable_checks(config, {{"inter", "200ms"}, {"fall", 2}, {"rise", 2}});
  return config;
}

}  // namespace

TEST_CASE("an MQTT check against a server that accepts and never answers ends in Layer7 timeout",
          "[integration][health][mqtt]") {
  TempDir dir;
  ScriptedServer silent(scripts::silent());
  Broker b2(dir);
  Mqlb lb(dir, mqtt_check_config(silent.port(), b2.port()));

  const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(5000));
  REQUIRE(down);
  INFO(*down);
  CHECK(health_expect::is_event(*down));
  CHECK(down->find(health_expect::kL7Timeout) != std::string::npos);
  const auto duration = health_expect::check_duration_ms(*down);
  REQUIRE(duration);
  CHECK(*duration >= 450);  // it waited timeout check (500 ms) for the CONNACK
  CHECK(*duration < 2000);
  // The connects themselves succeeded. One check may be all it took: a
  // server that never passed one starts with HAProxy's health at `rise`.
  CHECK(silent.accepted() >= 1);
  CHECK(event_lines(lb, health_expect::down("mqtt/b2")).empty());
}

TEST_CASE("a broker frozen with SIGSTOP is marked DOWN by the MQTT check and UP after SIGCONT",
          "[integration][health][mqtt]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  Mqlb lb(dir, mqtt_check_config(b1.port(), b2.port()));
  CHECK(sessions_per_server(publish_through(dir, lb, 4, 0, "before")) ==
        Counts{{"b1", 2}, {"b2", 2}});

  Frozen frozen(b1.pid());
  const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(8000));
  REQUIRE(down);
  INFO(*down);
  CHECK(down->find(health_expect::kL7Timeout) != std::string::npos);
  CHECK(down->find("1 active and 0 backup servers left") != std::string::npos);
  CHECK(sessions_per_server(publish_through(dir, lb, 6, 4, "frozen")) == Counts{{"b2", 6}});

  frozen.resume();
  const auto up = wait_for_event(lb, health_expect::up("mqtt/b1"), Millis(8000));
  REQUIRE(up);
  INFO(*up);
  CHECK(up->find(health_expect::kL7Passed) != std::string::npos);
  CHECK(sessions_per_server(publish_through(dir, lb, 6, 10, "thawed")) ==
        Counts{{"b1", 3}, {"b2", 3}});
}
