// The MQTT check logs in: CONNECT, a CONNACK with code 0, DISCONNECT. A
// broker that wants a password (mosquitto with allow_anonymous false)
// refuses a check without one, and mqlb marks it DOWN with the CONNACK's
// code, where a plain TCP check would only see an open port. With the right
// user name and password the same broker is UP.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <string_view>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

const Broker::Options kSecured{.username = "device", .password = "secret"};

}  // namespace

TEST_CASE("an MQTT check without credentials is refused by a broker that wants a password",
          "[integration][health][mqtt]") {
  TempDir dir;
  Broker secured(dir, kSecured);
  Broker open(dir);

  // mosquitto 2.0.11 answers CONNACK 5 in MQTT 3.1.1 and reason code 0x87
  // in MQTT 5, both "not authorized".
  std::string protocol, code;
  SECTION("MQTT 3.1.1") {
    protocol = "3.1.1";
    code = health_expect::kNotAuthorized311;
  }
  SECTION("MQTT 5") {
    protocol = "5";
    code = health_expect::kNotAuthorized5;
  }
  Mqlb lb(dir, two_checked_servers(secured.port(), open.port(),
                                   {{"type", "mqtt"}, {"protocol", protocol}}));

  const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(5000));
  REQUIRE(down);
  INFO(*down << "\nbroker log:\n" << secured.log());
  CHECK(health_expect::is_event(*down));
  CHECK(down->find(health_expect::kL7WrongStatus) != std::string::npos);
  CHECK(down->find(code) != std::string::npos);
  // The check did reach the broker and was turned away there.
  CHECK(broker_logged(secured, "not authorised"));
  // The anonymous broker passes the same check.
  CHECK_FALSE(wait_for_event(lb, health_expect::down("mqtt/b2"), Millis(1000)));
  CHECK(sessions_per_server(publish_through(dir, lb, 4, 0)) ==
        std::map<std::string, int>{{"b2", 4}});
}

TEST_CASE("a TCP check only sees the port open, so a broker that wants a password stays UP",
          "[integration][health][mqtt]") {
  TempDir dir;
  Broker secured(dir, kSecured);
  Broker open(dir);
  Mqlb lb(dir, two_checked_servers(secured.port(), open.port(), {{"type", "tcp"}}));

  // Five inters and more: no failure, so no DOWN line.
  CHECK_FALSE(wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(1500)));
  INFO("broker log:\n" << secured.log());
  // The checks did run: each one is a connection the broker accepted.
  CHECK(count(secured.log(), "New connection from") >= 3);
  CHECK(secured.log().find("not authorised") == std::string::npos);
}

TEST_CASE("an MQTT check with the right user name and password brings the broker UP",
          "[integration][health][mqtt]") {
  TempDir dir;
  Broker open(dir);
  // Nothing listens on b1's port yet: its checks are refused, and it goes
  // DOWN first, so that UP can only come from checks that logged in.
  const uint16_t b1_port = free_port();
  Mqlb lb(dir, two_checked_servers(b1_port, open.port(),
                                   {{"type", "mqtt"},
                                    {"username", kSecured.username},
                                    {"password", kSecured.password}}));
  const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(5000));
  REQUIRE(down);
  INFO(*down);
  CHECK(down->find(health_expect::kL4Refused) != std::string::npos);

  Broker secured(
      dir, Broker::Options{
               .port = b1_port, .username = kSecured.username, .password = kSecured.password});
  const auto up = wait_for_event(lb, health_expect::up("mqtt/b1"), Millis(5000));
  REQUIRE(up);
  INFO(*up << "\nbroker log:\n" << secured.log());
  CHECK(health_expect::is_event(*up));
  CHECK(up->find(health_expect::kL7Passed) != std::string::npos);
  CHECK(up->find("code: 0") != std::string::npos);
  // mosquitto logs each login with its user name: "(p2, c1, k.., u'device')".
  CHECK(broker_logged(secured, "u'device'"));
  CHECK(secured.log().find("not authorised") == std::string::npos);
  // Logged in, the broker now passes: no second DOWN.
  CHECK_FALSE(
      wait_for_event(lb, health_expect::down("mqtt/b1") + ", reason: Layer7", Millis(1000)));
}
