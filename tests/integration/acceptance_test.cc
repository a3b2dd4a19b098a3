// The operators' acceptance test (DESIGN.md §1): two brokers behind mqlb with
// round-robin, 1000 numbered messages, one connection each; one broker must
// get exactly the odd numbers and the other exactly the even ones.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/odd_even.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;
using namespace mqlb::test::odd_even;

namespace {}  // namespace

TEST_CASE("roundrobin sends odd messages to one broker and even ones to the other",
          "[integration][acceptance]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  Subscriber on_b1(dir, b1.port(), "prova");
  Subscriber on_b2(dir, b2.port(), "prova");
  Mqlb lb(dir, basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}}));

  constexpr int kMessages = 1000;
  for (int n = 1; n <= kMessages; ++n) {
    const RunResult pub = mosquitto_pub(dir, lb.port(), "prova", std::to_string(n));
    INFO("message " << n << ": " << pub.stderr_text);
    REQUIRE(pub.exit_code == 0);
  }

  CHECK(wait_until(
      [&] { return numbers_received(on_b1).size() + numbers_received(on_b2).size() >= kMessages; },
      Millis(30000)));
  // An end marker published straight to each broker after everything else:
  // once it is in, nothing sent through mqlb is still on its way, so no late
  // duplicate can go unnoticed.
  REQUIRE(mosquitto_pub(dir, b1.port(), "prova", kEnd).exit_code == 0);
  REQUIRE(mosquitto_pub(dir, b2.port(), "prova", kEnd).exit_code == 0);
  REQUIRE(wait_until([&] { return received_end(on_b1) && received_end(on_b2); }, Millis(10000)));

  const std::multiset<int> got_b1 = numbers_received(on_b1);
  const std::multiset<int> got_b2 = numbers_received(on_b2);
  CHECK(got_b1.size() + got_b2.size() == kMessages);
  const std::multiset<int> odd = every_other(1, kMessages);
  const std::multiset<int> even = every_other(2, kMessages);
  const bool odd_even_split =
      (got_b1 == odd && got_b2 == even) || (got_b1 == even && got_b2 == odd);
  CHECK(odd_even_split);

  const auto lines = lb.wait_for_access_lines(kMessages);
  CHECK(lines.size() == kMessages);
  std::string abnormal;
  for (const auto& line : lines) {
    if (line.termination != "--") abnormal += line.raw + "\n";
  }
  CHECK(abnormal == "");
}
