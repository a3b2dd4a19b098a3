// A broker dies without warning (SIGKILL): with retries and redispatch, every
// new client still gets through, to the surviving broker, and the sessions
// that were on the dead broker end the way HAProxy logs them.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/mqtt.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("new connections reach the surviving broker after the other one is killed",
          "[integration][failover]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  Subscriber on_b2(dir, b2.port(), "prova");
  nlohmann::json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  config["backends"][0]["retries"] = 3;
  config["backends"][0]["redispatch"] = true;
  config["backends"][0]["timeouts"] = {{"connect", "500ms"}};
  Mqlb lb(dir, config);

  b1.kill();
  REQUIRE_FALSE(is_listening(b1.port()));

  std::set<std::string> sent;
  for (int n = 1; n <= 20; ++n) {
    const RunResult pub = mosquitto_pub(dir, lb.port(), "prova", std::to_string(n));
    INFO("message " << n << ": " << pub.stderr_text);
    CHECK(pub.exit_code == 0);
    sent.insert(std::to_string(n));
  }

  std::set<std::string> received;
  CHECK(wait_until(
      [&] {
        const auto payloads = on_b2.payloads();
        received = std::set<std::string>(payloads.begin(), payloads.end());
        return received == sent;
      },
      Millis(10000)));
  CHECK(received == sent);

  // A session that picked b1 was refused there, waited two turn-arounds of
  // min(500 ms, 1 s), and its last retry went to b2: "+3", the '+' marking
  // the redispatch. One that picked b2 first logs no retry at all.
  int redispatched = 0;
  for (const auto& line : lb.wait_for_access_lines(20)) {
    INFO(line.raw);
    CHECK(line.server == "b2");
    CHECK(line.termination == "--");
    if (line.retries == "+3") {
      ++redispatched;
      CHECK(line.total_ms >= 1000);
    } else {
      CHECK(line.retries == "0");
    }
  }
  CHECK(redispatched > 0);  // roundrobin keeps offering b1, which has no health check
}

TEST_CASE("a device that keeps publishing to a broker that is killed is logged SD",
          "[integration][failover]") {
  TempDir dir;
  Broker broker(dir);
  Mqlb lb(dir, basic_config(free_port(), {{"b1", broker.port()}}));

  Socket publishing = mqtt::connect(lb.port(), "publishing-device");
  Socket idle = mqtt::connect(lb.port(), "idle-device");
  const uint16_t publishing_port = publishing.local_port();
  const uint16_t idle_port = idle.local_port();

  broker.kill();

  // The kernel closes a killed broker's sockets with a FIN, which mqlb
  // passes on. The next PUBLISH that reaches the dead socket is answered
  // with a reset: the server aborted during the data phase. As in HAProxy,
  // the device that keeps writing sees the session torn down.
  CHECK(wait_until(
      [&] {
        try {
          publishing.send_all(mqtt::publish_packet("prova", "are you there?"), Millis(1000));
          return false;
        } catch (const std::exception&) {
          return true;  // EPIPE or a reset: mqlb closed the session
        }
      },
      Millis(10000), Millis(50)));
  const AccessLine line = lb.access_line_for(publishing_port);
  INFO(line.raw);
  CHECK(line.termination == "SD");
  CHECK(line.server == "b1");

  // The idle device only gets the broker's FIN; when it hangs up too, both
  // directions closed normally (HAProxy 2.6 logs the same "--").
  CHECK(idle.receive_until_eof(Millis(5000)).empty());
  idle.close();
  const AccessLine idle_line = lb.access_line_for(idle_port);
  INFO(idle_line.raw);
  CHECK(idle_line.termination == "--");
  CHECK(idle_line.server == "b1");
}
