// Health checks over TLS: `check-ssl` puts a server's checks (tcp, mqtt)
// over TLS with the server's TLS settings, while its traffic may stay plain;
// `tcp-check connect ssl` does it for one step of a tcp-check. Against a
// real mosquitto with a TLS listener.
#include <catch2/catch.hpp>

#include <string>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// b1 and b2 on one broker: traffic to its plain port, checks to its TLS
// port with check-ssl, verified against the test CA under the name
// mqlb.test.
nlohmann::json checked_over_tls(const Broker& broker, const TlsFiles& files,
                                const nlohmann::json& check) {
  nlohmann::json config = two_checked_servers(broker.port(), broker.port(), check);
  for (auto& server : config["backends"][0]["servers"]) {
    server["check-ssl"] = true;
    server["check-port"] = broker.tls_port();
    server["ca-file"] = files.ca.string();
    server["sni"] = "mqlb.test";
  }
  return config;
}

}  // namespace

TEST_CASE("an MQTT check over TLS logs in to a mosquitto TLS listener and keeps it UP",
          "[integration][health][tls]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir, {.tls_cert = files.server.cert, .tls_key = files.server.key});
  Mqlb lb(dir, checked_over_tls(broker, files, {{"type", "mqtt"}}));

  // Every CONNECT the broker names went over TLS: the check port is its
  // TLS listener, where a plaintext CONNECT gets nowhere.
  CHECK(wait_until([&] { return count(broker.log(), "as mqlb-check-") >= 4; }, Millis(10000)));
  CHECK(event_lines(lb, health_expect::down("mqtt/b1")).empty());
  CHECK(event_lines(lb, health_expect::down("mqtt/b2")).empty());
  // The traffic itself stays plain.
  CHECK(publish_through(dir, lb, 2, 0).size() == 2);
}

TEST_CASE("a TCP check over TLS passes a TLS listener with L6OK", "[integration][health][tls]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir, {.tls_cert = files.server.cert, .tls_key = files.server.key});
  nlohmann::json config =
      checked_over_tls(broker, files, {{"type", "tcp"}, {"log-health-checks", true}});
  // Down first, so that the first good checks log "succeeded" lines.
  for (auto& server : config["backends"][0]["servers"])
    server["init-state"] = "down";
  Mqlb lb(dir, config);

  const auto up = wait_for_event(lb, health_expect::up("mqtt/b1"), Millis(5000));
  REQUIRE(up);
  INFO(lb.stderr_text());
  const auto passed = wait_for_event(lb, "Health check for server mqtt/b1 succeeded");
  REQUIRE(passed);
  CHECK(passed->find("reason: Layer6 check passed") != std::string::npos);
}

TEST_CASE("checks over TLS fail with a Layer6 reason: a wrong name, a plaintext port",
          "[integration][health][tls]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir, {.tls_cert = files.server.cert, .tls_key = files.server.key});
  nlohmann::json config = checked_over_tls(broker, files, {{"type", "mqtt"}});
  nlohmann::json& b1 = config["backends"][0]["servers"][0];
  nlohmann::json& b2 = config["backends"][0]["servers"][1];
  b1["sni"] = "wrong.example";       // the certificate does not name it
  b2["check-port"] = broker.port();  // TLS to a port that speaks plain MQTT
  Mqlb lb(dir, config);

  const auto wrong_name = wait_for_event(lb, health_expect::down("mqtt/b1"), Millis(5000));
  REQUIRE(wrong_name);
  INFO(*wrong_name);
  CHECK(wrong_name->find("reason: Layer6 invalid response") != std::string::npos);
  CHECK(wrong_name->find("certificate verify failed") != std::string::npos);

  const auto plaintext = wait_for_event(lb, health_expect::down("mqtt/b2"), Millis(5000));
  REQUIRE(plaintext);
  INFO(*plaintext);
  // mosquitto reads the ClientHello as a bad MQTT packet and closes, or it
  // waits for more: either way the handshake does not finish.
  const bool layer6 = plaintext->find("reason: Layer6") != std::string::npos;
  CHECK(layer6);
  CHECK(wait_for_event(lb, health_expect::no_server("mqtt")));
}

TEST_CASE("a tcp-check with connect ssl sends its CONNECT bytes over TLS",
          "[integration][health][tls][tcp-check]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir, {.tls_cert = files.server.cert, .tls_key = files.server.key});
  // No check-ssl: the explicit connect asks for TLS itself, and uses the
  // server's TLS settings (ca-file, sni).
  nlohmann::json config =
      two_checked_servers(broker.port(), broker.port(),
                          {{"type", "tcp-check"},
                           {"tcp-check",
                            {"connect port " + std::to_string(broker.tls_port()) + " ssl",
                             "send-binary " + std::string(kConnectHex),
                             "expect binary " + std::string(kConnackAcceptedHex)}}});
  for (auto& server : config["backends"][0]["servers"]) {
    server["ca-file"] = files.ca.string();
    server["sni"] = "mqlb.test";
  }
  Mqlb lb(dir, config);

  // HAProxy's CONNECT has an empty client id: mosquitto names it by a
  // generated one, and says so for each check.
  CHECK(
      wait_until([&] { return count(broker.log(), "New client connected") >= 4; }, Millis(10000)));
  INFO(broker.log());
  CHECK(event_lines(lb, health_expect::down("mqtt/b1")).empty());
  CHECK(event_lines(lb, health_expect::down("mqtt/b2")).empty());
}
