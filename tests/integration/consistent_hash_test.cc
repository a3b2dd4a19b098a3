// `balance source` with `hash-type consistent`, from a haproxy.cfg, in front
// of three real mosquitto brokers: MQTT clients from 40 loopback addresses
// each land on one broker; when a broker dies only its clients move (and
// come back when it does), and a broker added by a reload takes clients
// only for itself. map-based hashing, the default, would reshuffle them.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <set>
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

constexpr int kSources = 40;  // 127.0.0.10 .. 127.0.0.49

std::string haproxy_cfg(uint16_t port, const std::vector<const Broker*>& brokers) {
  std::string cfg =
      "defaults\n"
      "  mode tcp\n  timeout connect 1s\n  timeout client 50s\n  timeout server 50s\n"
      "frontend mqtt\n"
      "  bind 127.0.0.1:" +
      std::to_string(port) +
      "\n"
      "  log stdout format raw local0\n  option tcplog\n"
      "  default_backend brokers\n"
      "backend brokers\n"
      "  balance source\n  hash-type consistent\n"
      "  default-server check inter 100 fall 1 rise 1\n";
  for (size_t i = 0; i < brokers.size(); ++i)
    cfg += "  server b" + std::to_string(i + 1) +
           " 127.0.0.1:" + std::to_string(brokers[i]->port()) + "\n";
  return cfg;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// One MQTT session from each source address (CONNECT accepted by the
// broker, then closed): the server each one went to, from the access log.
std::map<std::string, std::string> placement(Mqlb& lb) {
  std::map<std::string, std::string> out;
  for (int host = 10; host < 10 + kSources; ++host) {
    const std::string source = "127.0.0." + std::to_string(host);
    Socket client = Socket::connect_from(source, lb.port());
    const std::string address = client.local_address();
    client.send_all(mqtt::connect_packet("consistent-" + std::to_string(host)));
    REQUIRE(client.receive_exactly(4) == std::string("\x20\x02\x00\x00", 4));
    client.close();
    out[source] = lb.access_line_for(address).server;
  }
  return out;
}

std::map<std::string, int> per_server(const std::map<std::string, std::string>& placed) {
  std::map<std::string, int> out;
  for (const auto& [source, server] : placed)
    ++out[server];
  return out;
}

}  // namespace

TEST_CASE("hash-type consistent moves only the clients of a broker that goes or comes",
          "[integration][balance][consistent]") {
  TempDir dir;
  auto b1 = std::make_unique<Broker>(dir);
  auto b2 = std::make_unique<Broker>(dir);
  auto b3 = std::make_unique<Broker>(dir);
  const uint16_t b2_port = b2->port();
  const auto cfg = dir.path() / "haproxy.cfg";
  write(cfg, haproxy_cfg(free_port(), {b1.get(), b2.get(), b3.get()}));
  Mqlb lb(dir, HaproxyCfg{cfg});

  const auto first = placement(lb);
  INFO(lb.stdout_text());
  REQUIRE(first.size() == kSources);
  // The same addresses again: every one on the same broker.
  CHECK(placement(lb) == first);
  const auto counts = per_server(first);
  CHECK(counts.size() == 3);  // 40 addresses over three brokers: each gets some

  // b2 dies: its clients go to b1 and b3, nobody else moves.
  b2->kill();
  REQUIRE(wait_until(
      [&] { return lb.stderr_text().find("Server brokers/b2 is DOWN") != std::string::npos; },
      Millis(10000)));
  const auto without_b2 = placement(lb);
  for (const auto& [source, server] : first) {
    INFO(source << " was on " << server);
    if (server == "b2")
      CHECK(without_b2.at(source) != "b2");
    else
      CHECK(without_b2.at(source) == server);
  }

  // b2 comes back on its port: every client is where it first was.
  Broker::Options same_port;
  same_port.port = b2_port;
  b2 = std::make_unique<Broker>(dir, same_port);
  REQUIRE(wait_until(
      [&] { return lb.stderr_text().find("Server brokers/b2 is UP") != std::string::npos; },
      Millis(10000)));
  CHECK(placement(lb) == first);

  // A fourth broker through a reload of the file: clients move only to it.
  Broker b4(dir);
  write(cfg, haproxy_cfg(lb.port(), {b1.get(), b2.get(), b3.get(), &b4}));
  lb.process().signal(SIGHUP);
  REQUIRE(wait_until([&] { return count(lb.stderr_text(), "reload: backend brokers: +1") == 1; },
                     Millis(10000)));
  // The reload line comes as the new snapshot is posted to both workers:
  // until each has it, the two rings give different answers.
  std::map<std::string, std::string> with_b4;
  REQUIRE(wait_until(
      [&] {
        with_b4 = placement(lb);
        return per_server(with_b4).count("b4") && placement(lb) == with_b4;
      },
      Millis(10000), Millis(50)));
  size_t moved = 0;
  for (const auto& [source, server] : first) {
    INFO(source << " was on " << server);
    if (with_b4.at(source) != server) {
      CHECK(with_b4.at(source) == "b4");
      ++moved;
    }
  }
  // About a quarter of 40 should move; some must, and far from all.
  CHECK(moved > 0);
  CHECK(moved < kSources / 2);
  REQUIRE(lb.stop(SIGTERM) == 0);
}
