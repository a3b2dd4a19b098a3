// /metrics through the real binary, read by a real Prometheus (Debian's
// prometheus, started by the test on loopback) and checked by promtool: the
// values Prometheus stores are the connections the test holds and made,
// and a reload in between resets nothing.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <memory>
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
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/tls_client.h"
#include "support/wait.h"

using namespace mqlb::test;
using Json = nlohmann::json;

namespace {

// A CONNECT through a TLS session, answered by the broker's CONNACK.
void mqtt_connect(TlsClient& client, const std::string& id) {
  client.send_all(mqtt::connect_packet(id));
  std::string connack;
  while (connack.size() < 4) {
    const std::string more = client.receive_some(4 - connack.size());
    REQUIRE_FALSE(more.empty());
    connack += more;
  }
  REQUIRE(connack[0] == '\x20');
  REQUIRE(connack[3] == '\x00');
}

}  // namespace

TEST_CASE("Prometheus scrapes mqlb: live and total sessions per server, kept across a reload",
          "[integration][metrics]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  const uint16_t api = free_port();
  Json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  config["global"]["admin"] = {{"bind", "127.0.0.1:" + std::to_string(api)}};
  Mqlb lb(dir, config);
  std::vector<Socket> held;
  for (int i = 0; i < 5; ++i)
    held.push_back(echoed_session(lb.port(), "hi"));  // roundrobin: b1, b2, b1, b2, b1

  // The exposition itself is well formed.
  HttpReply scrape = http_get(api, "/metrics");
  REQUIRE(scrape.status == 200);
  CHECK(scrape.headers["content-type"].rfind("text/plain; version=0.0.4", 0) == 0);
  const RunResult check =
      run(dir, "promtool",
          {"sh", "-c", "promtool check metrics < \"$0\"", dir.write("scrape.txt", scrape.body)});
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 0);
  CHECK(check.stdout_text + check.stderr_text == "");

  Prometheus prometheus(dir, api);
  CHECK(prometheus.eventually(
      "mqlb_server_current_sessions",
      {{R"({"proxy":"mqtt","server":"b1"})", 3}, {R"({"proxy":"mqtt","server":"b2"})", 2}}));
  CHECK(prometheus.eventually("mqlb_frontend_connections_total", {{R"({"proxy":"mqtt"})", 5}}));
  CHECK(prometheus.eventually("mqlb_server_status{state=\"UP\"}",
                              {{R"({"proxy":"mqtt","server":"b1","state":"UP"})", 1},
                               {R"({"proxy":"mqtt","server":"b2","state":"UP"})", 1}}));

  // A reload (the same file) keeps the counters and the live sessions.
  lb.process().signal(SIGHUP);
  REQUIRE(wait_until([&] { return count(lb.stderr_text(), "reload: backend mqtt") == 1; },
                     Millis(10000)));
  held.erase(held.begin());  // one of b1's ends
  held.push_back(echoed_session(lb.port(), "again"));
  CHECK(prometheus.eventually("mqlb_frontend_connections_total", {{R"({"proxy":"mqtt"})", 6}}));
  CHECK(prometheus.eventually(
      "mqlb_server_sessions_total",
      {{R"({"proxy":"mqtt","server":"b1"})", 3}, {R"({"proxy":"mqtt","server":"b2"})", 3}}));
  CHECK(prometheus.eventually(
      "mqlb_server_current_sessions",
      {{R"({"proxy":"mqtt","server":"b1"})", 2}, {R"({"proxy":"mqtt","server":"b2"})", 3}}));
  CHECK(prometheus.eventually("resets(mqlb_frontend_connections_total[1m])",
                              {{R"({"proxy":"mqtt"})", 0}}));
  CHECK(prometheus.eventually("mqlb_process_reloads_total", {{"{}", 1}}));
}

TEST_CASE("sessions held then closed leave their peaks, durations, connect and handshake times",
          "[integration][metrics]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  const uint16_t api = free_port(), tls_port = free_port(), plain_port = free_port();
  Json config = basic_tls_config(tls_port, files.server.pem, {{"b1", broker.port()}});
  config["frontends"][0]["bind"].push_back("127.0.0.1:" + std::to_string(plain_port));
  config["global"]["admin"] = {{"bind", "127.0.0.1:" + std::to_string(api)}};
  Mqlb lb(dir, config);
  const auto metrics = [&] {
    HttpReply r = http_get(api, "/metrics");
    REQUIRE(r.status == 200);
    return r.body;
  };
  const std::string fe = "{proxy=\"mqtt\"}", srv = "{proxy=\"mqtt\",server=\"b1\"}";

  // Three MQTT clients in plain TCP and two over TLS, all held open.
  constexpr int kPlain = 3, kTls = 2, kAll = kPlain + kTls;
  std::vector<Socket> plain;
  for (int i = 0; i < kPlain; ++i)
    plain.push_back(mqtt::connect(plain_port, "plain-" + std::to_string(i)));
  std::vector<std::unique_ptr<TlsClient>> tls;
  for (int i = 0; i < kTls; ++i) {
    tls.push_back(std::make_unique<TlsClient>(tls_port, files.ca));
    mqtt_connect(*tls.back(), "tls-" + std::to_string(i));
  }
  std::string text = metrics();
  CHECK(sample_value(text, "mqlb_process_current_ssl_connections") == kTls);
  CHECK(sample_value(text, "mqlb_frontend_current_sessions" + fe) == kAll);
  CHECK(sample_value(text, "mqlb_frontend_max_sessions" + fe) == kAll);
  CHECK(sample_value(text, "mqlb_backend_max_sessions" + fe) == kAll);
  CHECK(sample_value(text, "mqlb_server_max_sessions" + srv) == kAll);
  CHECK(sample_value(text, "mqlb_backend_connect_time_seconds_count" + fe) == kAll);
  CHECK(sample_value(text, "mqlb_frontend_ssl_handshake_duration_seconds_count" + fe) == kTls);
  CHECK(sample_value(text, "mqlb_frontend_session_duration_seconds_count" + fe) == 0);

  // All of them end.
  plain.clear();
  for (auto& client : tls)
    client->close();
  tls.clear();
  REQUIRE(wait_until(
      [&] {
        return sample_value(metrics(), "mqlb_frontend_session_duration_seconds_count" + fe) == kAll;
      },
      Millis(10000)));
  text = metrics();
  CHECK(sample_value(text, "mqlb_process_current_ssl_connections") == 0);
  CHECK(sample_value(text, "mqlb_frontend_current_sessions" + fe) == 0);
  CHECK(sample_value(text, "mqlb_frontend_max_sessions" + fe) == kAll);
  CHECK(sample_value(text, "mqlb_backend_max_sessions" + fe) == kAll);
  CHECK(sample_value(text, "mqlb_server_max_sessions" + srv) == kAll);
  CHECK(sample_value(text, "mqlb_backend_max_queue" + fe) == 0);
  CHECK(sample_value(text, "mqlb_server_max_queue" + srv) == 0);
  CHECK(sample_value(text, "mqlb_backend_connect_time_seconds_count" + fe) == kAll);
  CHECK(sample_value(
            text, "mqlb_backend_connect_time_seconds_bucket{proxy=\"mqtt\",le=\"+Inf\"}") == kAll);
  CHECK(sample_value(text, "mqlb_frontend_ssl_handshake_duration_seconds_count" + fe) == kTls);
  // Sessions held for a few seconds at most: all within the 1 min bucket.
  CHECK(sample_value(text,
                     "mqlb_frontend_session_duration_seconds_bucket{proxy=\"mqtt\",le=\"60\"}") ==
        kAll);
  CHECK(sample_value(text, "mqlb_frontend_session_duration_seconds_sum" + fe) < 60 * kAll);

  // The new families, histograms included, pass promtool's checks.
  const RunResult check =
      run(dir, "promtool",
          {"sh", "-c", "promtool check metrics < \"$0\"", dir.write("scrape.txt", text)});
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 0);
  CHECK(check.stdout_text + check.stderr_text == "");
}
