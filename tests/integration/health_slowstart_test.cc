// slowstart: a server that comes back UP does not get its full share at
// once; its effective weight ramps up over `slowstart` (HAProxy). Brokers b1
// and b2, weight 100 each so the ramp has steps to take; b1 is killed, goes
// DOWN, comes back and is UP; over the next 4 s 300 devices connect at an
// even pace, and b1's share grows from well below half to about half.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/mqtt.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

constexpr int kDevices = 300;
constexpr Millis kSlowstart{4000};

double share_of_b1(const std::vector<AccessLine>& lines, size_t from, size_t to) {
  int on_b1 = 0;
  for (size_t i = from; i < to; ++i) {
    on_b1 += lines[i].server == "b1" ? 1 : 0;
  }
  return static_cast<double>(on_b1) / static_cast<double>(to - from);
}

}  // namespace

TEST_CASE("with slowstart a server back UP takes a growing share of new devices",
          "[integration][health][slowstart]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  nlohmann::json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  config["backends"][0]["check"] = {{"type", "tcp"}};
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"check", "500ms"}};
  enable_checks(
      config, {{"inter", "200ms"}, {"fall", 2}, {"rise", 2}, {"slowstart", "4s"}, {"weight", 100}});
  Mqlb lb(dir, config);

  b1.kill();
  REQUIRE(wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(5000)));
  Broker b1_again(dir, Broker::Options{.port = b1.port()});
  const auto up = wait_for_event(lb, health_expect::up("mqtt/b1"), Millis(5000));
  REQUIRE(up);
  INFO(*up);

  // An even pace, not a wait for an event: device n connects n × 4 s / 300
  // after b1 was seen UP. Each one logs in and leaves.
  const auto ramp_start = Clock::now();
  for (int n = 0; n < kDevices; ++n) {
    std::this_thread::sleep_until(ramp_start + kSlowstart * n / kDevices);
    Socket device = mqtt::connect(lb.port(), "device-" + std::to_string(n));
    device.send_all(mqtt::disconnect_packet());
  }
  const long ramp_ms = elapsed_ms(ramp_start);
  INFO("the " << kDevices << " devices took " << ramp_ms << " ms");
  REQUIRE(ramp_ms < 6000);  // the pace held: the quarters below are about time

  const auto lines = lb.wait_for_access_lines(kDevices);
  REQUIRE(lines.size() == kDevices);
  const size_t quarter = kDevices / 4;
  const double first = share_of_b1(lines, 0, quarter);
  const double last = share_of_b1(lines, kDevices - quarter, kDevices);
  INFO("b1's share: first quarter " << first << ", last quarter " << last);
  // Weight ramps from 0 to 100 of 200: b1's share averages about 0.11 in
  // the first second and about 0.46 in the last.
  CHECK(first < 0.3);
  CHECK(last > 0.35);
  CHECK(last < 0.6);
  CHECK(first < last);
  // Once slowstart is over (HAProxy steps the weight up to once a second,
  // hence the extra second) b1 has its full weight: strict alternation.
  std::this_thread::sleep_until(ramp_start + kSlowstart + Millis(1000));
  const auto after = publish_through(dir, lb, 10, kDevices);
  CHECK(sessions_per_server(after) == std::map<std::string, int>{{"b1", 5}, {"b2", 5}});
}
