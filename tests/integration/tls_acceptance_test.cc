// The operators' acceptance test (DESIGN.md §1) with TLS termination: the
// devices publish with mosquitto_pub over TLS to mqlb, which speaks plain
// MQTT to two real brokers. 1000 numbered messages, one connection each,
// roundrobin: one broker gets exactly the odd numbers, the other the even
// ones. A plain bind of the same frontend keeps working beside the TLS one.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/odd_even.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/wait.h"

using namespace mqlb::test;
using namespace mqlb::test::odd_even;

namespace {}  // namespace

TEST_CASE("over TLS, roundrobin sends odd messages to one broker and even ones to the other",
          "[integration][tls][acceptance]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker b1(dir);
  Broker b2(dir);
  Subscriber on_b1(dir, b1.port(), "prova");
  Subscriber on_b2(dir, b2.port(), "prova");
  const uint16_t tls_port = free_port();
  nlohmann::json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  nlohmann::json bind = tls_bind(tls_port, files.server.pem);
  bind["name"] = "tls";
  config["frontends"][0]["bind"].push_back(bind);
  Mqlb lb(dir, config);
  const ClientTls device{files.ca};

  constexpr int kMessages = 1000;
  for (int n = 1; n <= kMessages; ++n) {
    const RunResult pub = mosquitto_pub(dir, tls_port, device, "prova", std::to_string(n));
    INFO("message " << n << ": " << pub.stderr_text);
    REQUIRE(pub.exit_code == 0);
  }

  CHECK(wait_until(
      [&] {
        return numbers_received(on_b1, "plain").size() + numbers_received(on_b2, "plain").size() >=
               kMessages;
      },
      Millis(30000)));
  // An end marker straight to each broker: once it is in, nothing sent
  // through mqlb is still on its way, so no late duplicate goes unnoticed.
  REQUIRE(mosquitto_pub(dir, b1.port(), "prova", kEnd).exit_code == 0);
  REQUIRE(mosquitto_pub(dir, b2.port(), "prova", kEnd).exit_code == 0);
  REQUIRE(
      wait_until([&] { return count_payload(on_b1, kEnd) == 1 && count_payload(on_b2, kEnd) == 1; },
                 Millis(10000)));

  const std::multiset<int> got_b1 = numbers_received(on_b1, "plain");
  const std::multiset<int> got_b2 = numbers_received(on_b2, "plain");
  CHECK(got_b1.size() + got_b2.size() == kMessages);
  const std::multiset<int> odd = every_other(1, kMessages);
  const std::multiset<int> even = every_other(2, kMessages);
  const bool odd_even_split =
      (got_b1 == odd && got_b2 == even) || (got_b1 == even && got_b2 == odd);
  CHECK(odd_even_split);

  // HAProxy marks a TLS frontend with '~' in %ft.
  const auto lines = lb.wait_for_access_lines(kMessages);
  CHECK(lines.size() == kMessages);
  std::string abnormal;
  for (const auto& line : lines) {
    if (line.termination != "--" || line.frontend != "mqtt~") abnormal += line.raw + "\n";
  }
  CHECK(abnormal == "");

  // The plain bind of the same frontend, in the same mqlb: the next two go
  // on alternating, one to each broker.
  REQUIRE(mosquitto_pub(dir, lb.port(), "prova", "plain 1").exit_code == 0);
  REQUIRE(mosquitto_pub(dir, lb.port(), "prova", "plain 2").exit_code == 0);
  CHECK(wait_until(
      [&] {
        return count_payload(on_b1, "plain 1") + count_payload(on_b2, "plain 1") == 1 &&
               count_payload(on_b1, "plain 2") + count_payload(on_b2, "plain 2") == 1;
      },
      Millis(10000)));
  CHECK(count_payload(on_b1, "plain 1") + count_payload(on_b1, "plain 2") == 1);
  // Lines are written as sessions end, so a plain one may come just before
  // the last TLS one: count them by frontend.
  size_t tls_lines = 0, plain_lines = 0;
  std::string other;
  for (const auto& line : lb.wait_for_access_lines(kMessages + 2)) {
    if (line.termination == "--" && line.frontend == "mqtt~") {
      ++tls_lines;
    } else if (line.termination == "--" && line.frontend == "mqtt") {
      ++plain_lines;
    } else {
      other += line.raw + "\n";
    }
  }
  CHECK(tls_lines == kMessages);
  CHECK(plain_lines == 2);
  CHECK(other == "");
}
