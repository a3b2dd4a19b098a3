// `tcp-request connection accept|reject` with HAProxy 2.6 as the oracle:
// the same haproxy.cfg (ports aside) runs under the real haproxy and under
// mqlb in front of one mosquitto broker; MQTT clients from four loopback
// addresses connect three times each. The rejected ones are reset before
// any byte, the others get their CONNACK, nobody's refusal is logged, and
// both exporters count the same connections, sessions and denied
// connections.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include "support/broker.h"
#include "support/health.h"
#include "support/http.h"
#include "support/mqlb.h"
#include "support/mqtt.h"
#include "support/net.h"
#include "support/process.h"
#include "support/prometheus.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/tls_client.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";
constexpr int kRounds = 3;
constexpr const char* kDefaults =
    "defaults\n"
    "  mode tcp\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\n";

// 127.0.0.2: accepted by the first rule; .3: rejected by the second; .4: no
// rule applies (accepted); .10: rejected by the third.
struct Source {
  std::string address;
  bool accepted;
};
const std::vector<Source> kSources = {
    {"127.0.0.2", true}, {"127.0.0.3", false}, {"127.0.0.4", true}, {"127.0.0.10", false}};

std::string cfg_text(uint16_t port, uint16_t metrics_port, uint16_t broker_port) {
  return std::string(kDefaults) +
         "frontend mqtt\n"
         "  bind 127.0.0.1:" +
         std::to_string(port) +
         "\n"
         "  log stdout format raw local0\n  option tcplog\n"
         "  acl trusted src 127.0.0.2\n"
         "  tcp-request connection accept if trusted\n"
         "  tcp-request connection reject if { src 127.0.0.2/31 }\n"
         "  tcp-request connection reject unless { src 127.0.0.0/29 }\n"
         "  default_backend brokers\n"
         "backend brokers\n"
         "  server b1 127.0.0.1:" +
         std::to_string(broker_port) +
         "\n"
         "frontend stats\n"
         "  mode http\n"
         "  bind 127.0.0.1:" +
         std::to_string(metrics_port) +
         "\n"
         "  http-request use-service prometheus-exporter if { path /metrics }\n";
}

// A connection from `source` that the proxy resets before any byte: the
// reset may even beat the end of connect() on loopback.
bool reset_at_accept(const std::string& source, uint16_t port) {
  try {
    Socket client = Socket::connect_from(source, port);
    return client.wait_closed(Millis(5000)) == Closed::kReset;
  } catch (const std::exception& e) {
    UNSCOPED_INFO(e.what());
    return std::string(e.what()).find("reset by peer") != std::string::npos;
  }
}

// A session from `source` that the broker's CONNACK accepts.
bool connacked(const std::string& source, uint16_t port) {
  try {
    Socket client = Socket::connect_from(source, port);
    client.send_all(mqtt::connect_packet("probe"));
    return client.receive_exactly(4) == std::string("\x20\x02\x00\x00", 4);
  } catch (const std::exception& e) {
    UNSCOPED_INFO(e.what());
    return false;
  }
}

// Every source kRounds times, each as its rule says.
void connect_all(uint16_t port, const std::string& who) {
  for (int round = 0; round < kRounds; ++round)
    for (const Source& s : kSources) {
      INFO(who << ": " << s.address << ", round " << round);
      if (!s.accepted) {
        CHECK(reset_at_accept(s.address, port));
        continue;
      }
      Socket client = Socket::connect_from(s.address, port);
      client.send_all(mqtt::connect_packet("tcp-request-" + std::to_string(round)));
      CHECK(client.receive_exactly(4) == std::string("\x20\x02\x00\x00", 4));
      client.send_all(mqtt::disconnect_packet());
      CHECK(client.receive_until_eof().empty());
    }
}

}  // namespace

TEST_CASE("tcp-request connection rules admit and deny as HAProxy's do, and count the same",
          "[integration][acl][metrics][haproxy]") {
  TempDir dir;
  Broker broker(dir);
  const uint16_t haproxy_port = free_port(), haproxy_metrics = free_port();
  const auto haproxy_cfg =
      dir.write("haproxy-real.cfg", cfg_text(haproxy_port, haproxy_metrics, broker.port()));
  Process haproxy(dir, "haproxy", {kHaproxy, "-db", "-f", haproxy_cfg.string()});
  REQUIRE(wait_until(
      [&] {
        return !haproxy.running() || (is_listening(haproxy_port) && is_listening(haproxy_metrics));
      },
      Millis(10000)));
  INFO("haproxy stderr:\n" << haproxy.stderr_text());
  REQUIRE(haproxy.running());
  const uint16_t mqlb_metrics = free_port();
  Mqlb lb(dir,
          HaproxyCfg{dir.write("haproxy.cfg", cfg_text(free_port(), mqlb_metrics, broker.port()))});

  connect_all(haproxy_port, "haproxy");
  connect_all(lb.port(), "mqlb");

  const int accepted = kRounds * 2, denied = kRounds * 2;
  // Only the sessions are logged, by both (access lines once each closed).
  REQUIRE(wait_until([&] { return lb.access_lines().size() >= size_t(accepted); }, Millis(5000)));
  REQUIRE(
      wait_until([&] { return count(haproxy.stdout_text(), " brokers/b1 ") >= size_t(accepted); },
                 Millis(5000)));
  CHECK(lb.access_lines().size() == size_t(accepted));
  CHECK(count(haproxy.stdout_text(), " brokers/b1 ") == size_t(accepted));
  for (const auto& line : lb.access_lines()) {
    INFO(line.raw);
    CHECK((line.client.rfind("127.0.0.2:", 0) == 0 || line.client.rfind("127.0.0.4:", 0) == 0));
  }

  const std::string theirs = http_get(haproxy_metrics, "/metrics").body;
  const std::string ours = http_get(mqlb_metrics, "/metrics").body;
  for (const std::string family : {"frontend_denied_connections_total",
                                   "frontend_connections_total", "frontend_sessions_total"}) {
    const std::string labels = "{proxy=\"mqtt\"}";
    INFO(family);
    CHECK(sample_value(ours, "mqlb_" + family + labels) ==
          sample_value(theirs, "haproxy_" + family + labels));
  }
  CHECK(sample_value(ours, "mqlb_frontend_denied_connections_total{proxy=\"mqtt\"}") == denied);
  CHECK(sample_value(ours, "mqlb_frontend_connections_total{proxy=\"mqtt\"}") == accepted + denied);
  CHECK(sample_value(ours, "mqlb_frontend_sessions_total{proxy=\"mqtt\"}") == accepted);
  REQUIRE(lb.stop(SIGTERM) == 0);
}

TEST_CASE("a reload changes the tcp-request rules of the live listeners and keeps sessions",
          "[integration][acl][reload]") {
  TempDir dir;
  Broker broker(dir);
  const uint16_t port = free_port();
  auto cfg = [&](const std::string& rejected) {
    return std::string(kDefaults) +
           "frontend mqtt\n"
           "  bind 127.0.0.1:" +
           std::to_string(port) +
           "\n"
           "  tcp-request connection reject if { src " +
           rejected +
           " }\n"
           "  default_backend brokers\n"
           "backend brokers\n"
           "  server b1 127.0.0.1:" +
           std::to_string(broker.port()) + "\n";
  };
  const auto path = dir.write("haproxy.cfg", cfg("127.0.0.3"));
  Mqlb lb(dir, HaproxyCfg{path});
  CHECK(reset_at_accept("127.0.0.3", port));
  // A device from .4 connects while it is allowed, and stays.
  Socket device = Socket::connect_from("127.0.0.4", port);
  device.send_all(mqtt::connect_packet("stays"));
  REQUIRE(device.receive_exactly(4) == std::string("\x20\x02\x00\x00", 4));

  std::ofstream(path) << cfg("127.0.0.4");  // the same file, read again
  lb.process().signal(SIGHUP);
  // The reload line comes as the new snapshot is posted to the workers, and
  // the kernel hands each connection to either worker's listener: wait until
  // ten in a row from each address meet the new rules.
  auto new_rules = [&] {
    for (int i = 0; i < 10; ++i)
      if (!reset_at_accept("127.0.0.4", port) || !connacked("127.0.0.3", port)) return false;
    return true;
  };
  CHECK(wait_until(new_rules, Millis(10000), Millis(50)));
  Socket now_allowed = Socket::connect_from("127.0.0.3", port);
  now_allowed.send_all(mqtt::connect_packet("now-allowed"));
  CHECK(now_allowed.receive_exactly(4) == std::string("\x20\x02\x00\x00", 4));
  // The session from before the reload is untouched: PINGREQ, PINGRESP.
  device.send_all(std::string("\xc0\x00", 2));
  CHECK(device.receive_exactly(2) == std::string("\xd0\x00", 2));
  device.close();
  now_allowed.close();
  REQUIRE(lb.stop(SIGTERM) == 0);
}

TEST_CASE("ssl_fc is known when a connection is accepted: a TLS-only rule per bind",
          "[integration][acl][tls]") {
  TempDir dir;
  Broker broker(dir);
  const TlsFiles tls = make_tls_files(dir);
  const uint16_t plain = free_port(), secure = free_port();
  const std::string cfg =
      std::string(kDefaults) + "frontend mqtt\n  bind 127.0.0.1:" + std::to_string(plain) +
      "\n  bind 127.0.0.1:" + std::to_string(secure) + " ssl crt " + tls.server.pem.string() +
      "\n  tcp-request connection reject unless { ssl_fc }\n"
      "  default_backend brokers\n"
      "backend brokers\n  server b1 127.0.0.1:" +
      std::to_string(broker.port()) + "\n";
  Mqlb lb(dir, HaproxyCfg{dir.write("haproxy.cfg", cfg)});
  CHECK(lb.stderr_text().find("anonymous acl involves keyword 'ssl_fc'") != std::string::npos);
  for (int i = 0; i < 4; ++i) {
    CHECK(reset_at_accept("127.0.0.1", plain));
    TlsClient client(secure, tls.ca);
    client.send_all(mqtt::connect_packet("tls-only"));
    std::string connack;
    while (connack.size() < 4) {
      const std::string more = client.receive_some(4 - connack.size());
      REQUIRE_FALSE(more.empty());
      connack += more;
    }
    CHECK(connack == std::string("\x20\x02\x00\x00", 4));
    client.close();
  }
  REQUIRE(lb.stop(SIGTERM) == 0);
}
