// When the checks leave a backend without a usable server, HAProxy says so
// once ("backend mqtt has no server available!") and turns every new client
// away at once (SC, <NOSRV>) instead of trying dead servers. A session that
// waits in a server's queue when that server goes DOWN is not left to wait
// for `timeout queue`: with redispatch another server serves it; without, it
// is closed at once (SQ).
#include <catch2/catch.hpp>

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

constexpr char kConnackAccepted[] = "\x20\x02\x00\x00";

nlohmann::json checked_config(uint16_t b1_port, uint16_t b2_port) {
  nlohmann::json config = basic_config(free_port(), {{"b1", b1_port}, {"b2", b2_port}});
  config["backends"][0]["check"] = {{"type", "mqtt"}};
  config["backends"][0]["retries"] = 3;
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"queue", "30s"}, {"check", "500ms"}};
  enable_checks(config, {{"inter", "200ms"}, {"fall", 2}, {"rise", 2}});
  return config;
}

// An MQTT session from `source` (an address of 127.0.0.0/8) that a broker
// accepted through mqlb.
Socket mqtt_session_from(const std::string& source, uint16_t port, const std::string& client_id) {
  Socket client = Socket::connect_from(source, port);
  client.send_all(mqtt::connect_packet(client_id));
  REQUIRE(client.receive_exactly(4) == std::string(kConnackAccepted, 4));
  return client;
}

// The first of 127.0.0.2, 127.0.0.3 ... that balance source sends to
// `server`: one short session from each until one lands there.
std::string source_for(const Mqlb& lb, const std::string& server) {
  for (int host = 2; host < 60; ++host) {
    const std::string source = "127.0.0." + std::to_string(host);
    Socket probe = mqtt_session_from(source, lb.port(), "probe-" + std::to_string(host));
    const std::string address = probe.local_address();
    probe.close();
    if (lb.access_line_for(address).server == server) return source;
  }
  FAIL("no source address of 127.0.0.2-59 hashes to " << server);
  return "";
}

}  // namespace

TEST_CASE("with every server DOWN a client is turned away at once with SC and <NOSRV>",
          "[integration][health][termination]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  UdpReceiver syslog;
  nlohmann::json config = checked_config(b1.port(), b2.port());
  config["global"]["log"] = {{{"address", "127.0.0.1:" + std::to_string(syslog.port())},
                              {"facility", "local0"},
                              {"level", "debug"}}};
  Mqlb lb(dir, config);

  b1.kill();
  b2.kill();
  REQUIRE(wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(5000)));
  REQUIRE(wait_for_event(lb, health_expect::down("mqtt/b2"), Millis(5000)));
  const auto none = wait_for_event(lb, health_expect::no_server("mqtt"), Millis(2000));
  REQUIRE(none);
  INFO(*none);
  CHECK(health_expect::is_event(*none));
  CHECK(none->rfind("[ALERT]", 0) == 0);  // HAProxy's ha_alert on stderr
  // ... and its send_log at LOG_EMERG: PRI = local0 (16) * 8 + emerg (0).
  std::string seen;
  std::optional<std::string> emerg;
  const auto deadline = Clock::now() + Millis(5000);
  while (!emerg && Clock::now() < deadline)
    if (auto d = syslog.receive(Millis(200)); d) {
      seen += *d + "\n";
      if (d->find("has no server available!") != std::string::npos) emerg = d;
    }
  INFO("syslog:\n" << seen);
  REQUIRE(emerg);
  CHECK(emerg->rfind("<128>", 0) == 0);
  CHECK(emerg->find("]: backend mqtt has no server available!") != std::string::npos);
  CHECK(event_lines(lb, "0 active and 0 backup servers left").size() == 1);

  for (int n = 0; n < 2; ++n) {
    Socket client = Socket::connect(lb.port());
    const uint16_t client_port = client.local_port();
    client.send_all(mqtt::connect_packet("device-" + std::to_string(n)));
    CHECK(client.wait_closed(Millis(5000)) != Closed::kStillOpen);
    client.close();

    const AccessLine line = lb.access_line_for(client_port);
    INFO(line.raw);
    CHECK(line.termination == "SC");
    CHECK(line.server == "<NOSRV>");
    CHECK(line.connect_ms == -1);
    CHECK(line.retries == "0");   // nothing was tried: the checks said DOWN
    CHECK(line.total_ms < 1000);  // no turn-around (1 s), no queue (30 s)
  }
  // Said once, when the last server went DOWN, not once per client.
  CHECK(event_lines(lb, health_expect::no_server("mqtt")).size() == 1);
}

TEST_CASE("a session queued for a server that goes DOWN is served elsewhere with redispatch",
          "[integration][health][queue]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  nlohmann::json config = checked_config(b1.port(), b2.port());
  // balance source keeps a client on its server even when that one is
  // full: the second session waits in b1's own queue.
  config["backends"][0]["balance"] = "source";
  config["backends"][0]["servers"][0]["maxconn"] = 1;
  const bool redispatch = GENERATE(true, false);
  config["backends"][0]["redispatch"] = redispatch;
  INFO("redispatch: " << redispatch);
  Mqlb lb(dir, config);

  const std::string source = source_for(lb, "b1");
  Socket holder = mqtt_session_from(source, lb.port(), "holder");
  Socket waiter = Socket::connect_from(source, lb.port());
  const std::string waiter_address = waiter.local_address();
  waiter.send_all(mqtt::connect_packet("waiter"));
  REQUIRE_FALSE(waiter.readable_within(Millis(300)));  // queued behind the holder

  // Frozen, b1 keeps the holder's connection but answers no check.
  Frozen frozen(b1.pid());
  const auto queued_at = Clock::now();
  const auto down = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(8000));
  REQUIRE(down);
  INFO(*down);
  CHECK(down->find("1 sessions active") != std::string::npos);  // the holder

  if (redispatch) {
    // HAProxy's DOWN line counts the waiters it moved: "1 requeued".
    CHECK(down->find("1 requeued") != std::string::npos);
    CHECK(waiter.receive_exactly(4, Millis(5000)) == std::string(kConnackAccepted, 4));
    CHECK(broker_logged(b2, "as waiter"));
    waiter.close();
    const AccessLine line = lb.access_line_for(waiter_address);
    INFO(line.raw);
    CHECK(line.server == "b2");
    CHECK(line.termination == "--");
    CHECK(line.queue_ms >= 300);
  } else {
    CHECK(waiter.wait_closed(Millis(5000)) != Closed::kStillOpen);
    const long closed_after = elapsed_ms(queued_at);
    const AccessLine line = lb.access_line_for(waiter_address);
    INFO(line.raw);
    CHECK(line.termination == "SQ");
    CHECK(line.total_ms < 10000);  // far below timeout queue (30 s)
    CHECK(closed_after < 8000);
    CHECK(b2.log().find("as waiter") == std::string::npos);
  }
  frozen.resume();
}
