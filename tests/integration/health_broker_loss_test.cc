// The operators' scalability test, with a broker lost in the middle: ten
// publisher processes send 1000 QoS 1 messages of 100 bytes each (10 000 in
// all) through mqlb to two brokers; once a third of them are acknowledged
// b1 is killed. Publishers on b1 lose their connection, connect again
// through mqlb (which by then sends them to b2, or retries there) and send
// what was not acknowledged. Every publisher finishes, and every message
// b2 acknowledged reached a subscriber on b2. What b1 acknowledged just
// before it died is reported, not asserted: a killed broker loses what it
// had not yet delivered.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/publishers.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

constexpr int kPublishers = 10;
constexpr int kPerPublisher = 1000;

// "acked LOCAL_PORT SEQ" lines of one publisher: SEQ by the port of the
// connection that got its PUBACK.
std::map<uint16_t, std::vector<int>> acks_by_port(const std::string& out) {
  std::map<uint16_t, std::vector<int>> acks;
  std::istringstream lines(out);
  std::string word;
  while (lines >> word) {
    if (word == "acked") {
      unsigned port = 0;
      int seq = 0;
      lines >> port >> seq;
      acks[static_cast<uint16_t>(port)].push_back(seq);
    }
    std::getline(lines, word);
  }
  return acks;
}

}  // namespace

TEST_CASE("a broker killed under QoS 1 load: publishers move to the other and finish",
          "[integration][health][load]") {
  TempDir dir;
  Broker b1(dir, {.unlimited_queues = true});
  Broker b2(dir, {.unlimited_queues = true});
  Subscriber on_b1(dir, b1.port(), "load/#");
  Subscriber on_b2(dir, b2.port(), "load/#");
  nlohmann::json config = two_checked_servers(b1.port(), b2.port(), {{"type", "tcp"}});
  config["backends"][0]["redispatch"] = true;
  Mqlb lb(dir, config);

  Publishers publishers(dir, lb.port(), kPublishers, kPerPublisher, 120);
  REQUIRE(wait_until([&] { return publishers.acked() >= kPublishers * kPerPublisher / 3; },
                     Millis(60000), Millis(5)));
  b1.kill();

  for (const auto& p : publishers) {
    INFO(p->stdout_path() << "\n" << p->stderr_text());
    CHECK(p->wait_exit(Millis(150000)) == 0);
  }
  CHECK(wait_for_event(lb, health_expect::down("mqtt/b1")));

  // Which broker each publisher connection went to, from mqlb's access
  // lines (each is written when its session ends).
  std::map<uint16_t, std::string> server_of;
  auto every_connection_logged = [&] {
    for (const auto& line : lb.access_lines())
      server_of[line.client_port] = line.server;
    for (const auto& p : publishers)
      for (const auto& [port, seqs] : acks_by_port(p->stdout_text()))
        if (!server_of.count(port)) return false;
    return true;
  };
  CHECK(wait_until(every_connection_logged, Millis(10000), Millis(50)));

  std::set<std::string> acked_by_b2, acked_by_b1;
  int lost_connections = 0;
  for (int i = 0; i < kPublishers; ++i) {
    const std::string out = publishers[i].stdout_text();
    lost_connections += static_cast<int>(count(out, "lost "));
    for (const auto& [port, seqs] : acks_by_port(out)) {
      INFO("publisher " << i << " connection from port " << port);
      REQUIRE(server_of.count(port) == 1);
      REQUIRE((server_of[port] == "b1" || server_of[port] == "b2"));
      auto& into = server_of[port] == "b2" ? acked_by_b2 : acked_by_b1;
      for (int seq : seqs)
        into.insert("device-" + std::to_string(i) + " " + std::to_string(seq));
    }
  }
  // Both brokers took publishers before the kill, and some moved.
  CHECK_FALSE(acked_by_b1.empty());
  CHECK(lost_connections >= 1);

  // Every message acknowledged by b2 arrived at b2's subscriber.
  auto key_of = [](const std::string& payload) {  // "device-3 17 ....." -> "device-3 17"
    const auto second = payload.find(' ', payload.find(' ') + 1);
    return payload.substr(0, second);
  };
  REQUIRE(wait_until(
      [&] {
        std::set<std::string> got;
        for (const auto& p : on_b2.payloads())
          got.insert(key_of(p));
        for (const auto& k : acked_by_b2)
          if (!got.count(k)) return false;
        return true;
      },
      Millis(20000), Millis(100)));

  // Every message was acknowledged by one broker or the other.
  std::set<std::string> all = acked_by_b1;
  all.insert(acked_by_b2.begin(), acked_by_b2.end());
  CHECK(all.size() == static_cast<size_t>(kPublishers * kPerPublisher));

  std::set<std::string> reached_b1;
  for (const auto& p : on_b1.payloads())
    reached_b1.insert(key_of(p));
  size_t lost_on_b1 = 0;
  for (const auto& k : acked_by_b1)
    if (!reached_b1.count(k)) ++lost_on_b1;
  WARN("b1 acknowledged " << acked_by_b1.size() << " messages before it was killed; " << lost_on_b1
                          << " of them never reached its subscriber; b2 acknowledged "
                          << acked_by_b2.size() << "; " << lost_connections
                          << " publisher connections were lost");
}
