// HAProxy's `option tcp-check` rules, written the way operators write them
// for MQTT: connect, send a CONNECT as hex, expect a CONNACK "accepted". A
// real broker answers it and stays UP; a server that sends the CONNECT back
// and closes gave the wrong answer (HAProxy's L7RSP, "Layer7 invalid
// response"); a
// CONNECT whose length promises more bytes than it carries gets no answer
// at all (L7TOUT).
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <string_view>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

nlohmann::json tcp_check_config(uint16_t b1_port, uint16_t b2_port,
                                const std::string& connect_hex) {
  return two_checked_servers(b1_port, b2_port,
                             {{"type", "tcp-check"},
                              {"tcp-check",
                               {"connect", "send-binary " + connect_hex,
                                "expect binary " + std::string(kConnackAcceptedHex)}}});
}

}  // namespace

TEST_CASE("a tcp-check that sends CONNECT and expects CONNACK keeps a real broker UP",
          "[integration][health][tcp-check]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  Mqlb lb(dir, tcp_check_config(b1.port(), b2.port(), kConnectHex));

  CHECK_FALSE(wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(1500)));
  CHECK(event_lines(lb, health_expect::down("mqtt/b2")).empty());
  INFO("broker log:\n" << b1.log());
  // The CONNECT did log in: mosquitto names each client it accepted.
  CHECK(count(b1.log(), "New client connected") >= 3);
  CHECK(sessions_per_server(publish_through(dir, lb, 4, 0)) ==
        std::map<std::string, int>{{"b1", 2}, {"b2", 2}});
}

TEST_CASE("a tcp-check whose expect does not match what came back marks the server DOWN",
          "[integration][health][tcp-check]") {
  TempDir dir;
  // Sends the CONNECT back, not a CONNACK, and closes: with nothing more to
  // come the mismatch is final (HAProxy waits for more data while the
  // connection is open, and would report a timeout instead).
  ScriptedServer echo([](Socket& connection) {
    const std::string connect = connection.receive_some();
    connection.send_all(connect);
  });
  Broker b2(dir);
  Mqlb lb(dir, tcp_check_config(echo.port(), b2.port(), kConnectHex));

  const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(5000));
  REQUIRE(down);
  INFO(*down);
  CHECK(health_expect::is_event(*down));
  CHECK(down->find(health_expect::kL7InvalidResponse) != std::string::npos);
  // The check got the wrong bytes (once may do: init-state up, HAProxy's
  // start, goes DOWN on the first failure).
  CHECK(echo.accepted() >= 1);
  CHECK_FALSE(wait_for_event(lb, health_expect::down("mqtt/b2"), Millis(500)));
}

TEST_CASE("a tcp-check CONNECT with a remaining length too long gets no CONNACK and times out",
          "[integration][health][tcp-check]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  // Remaining length 0x10 = 16, but only 12 bytes follow (MQTT 3.1.1
  // §2.2.3): mosquitto waits for the other four and never answers.
  Mqlb lb(dir, tcp_check_config(b1.port(), b2.port(), "101000044d5154540402003c0000"));

  const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(5000));
  REQUIRE(down);
  INFO(*down);
  CHECK(down->find(health_expect::kL7Timeout) != std::string::npos);
  const auto duration = health_expect::check_duration_ms(*down);
  REQUIRE(duration);
  CHECK(*duration >= 450);  // timeout check 500 ms
  CHECK(*duration < 2000);
}
