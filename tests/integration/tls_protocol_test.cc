// What a TLS bind negotiates: TLS 1.2 and 1.3 by default, never 1.0 or 1.1
// unless asked; ssl-min-ver, ciphers and alpn as HAProxy's bind options of
// the same names. Every refused handshake leaves one "SSL handshake failure"
// line with OpenSSL's reason.
#include <catch2/catch.hpp>

#include <string>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// What follows "SSL handshake failure: ", or "" when there is no reason.
std::string reason(const BindLogLine& line) {
  const std::string prefix = std::string(tls_expect::kHandshakeFailure) + ": ";
  return line.message.rfind(prefix, 0) == 0 ? line.message.substr(prefix.size()) : "";
}

}  // namespace

TEST_CASE("a TLS bind speaks TLS 1.3 and 1.2 and refuses 1.0 and 1.1 by default",
          "[integration][tls]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  Mqlb lb(dir, basic_tls_config(free_port(), files.server.pem, {{"b1", broker.port()}}));

  const SClient tls13 =
      s_client(dir, lb.port(), {.version = TlsVersion::V1_3, .ca_file = files.ca});
  INFO(tls13.output);
  CHECK(tls13.admitted());
  CHECK(tls13.protocol == "TLSv1.3");
  CHECK(tls13.verify_code == 0);
  CHECK(tls13.peer_serial == files.server.serial);

  const SClient tls12 =
      s_client(dir, lb.port(), {.version = TlsVersion::V1_2, .ca_file = files.ca});
  INFO(tls12.output);
  CHECK(tls12.admitted());
  CHECK(tls12.protocol == "TLSv1.2");
  CHECK(tls12.verify_code == 0);

  // Each completed handshake is a session to the broker, logged as mqtt~.
  const auto sessions = lb.wait_for_access_lines(2);
  for (const auto& line : sessions) {
    INFO(line.raw);
    CHECK(line.frontend == "mqtt~");
    CHECK(line.server == "b1");
  }
  CHECK(bind_log_lines(lb.stdout_text(), tls_expect::kHandshakeFailure).empty());

  size_t refused = 0;
  for (const TlsVersion version : {TlsVersion::V1_0, TlsVersion::V1_1}) {
    const SClient old = s_client(dir, lb.port(), {.version = version});
    INFO(old.output);
    CHECK_FALSE(old.handshake);
    const auto failures = wait_for_bind_lines(lb, tls_expect::kHandshakeFailure, ++refused);
    INFO(failures.back().raw);
    CHECK(failures.size() == refused);
    CHECK(failures.back().frontend == "mqtt");
    CHECK(failures.back().bind == "1");
    CHECK_THAT(reason(failures.back()), Catch::Contains(tls_expect::kReasonUnsupportedProtocol));
  }
  // A refused handshake is no session: no access line, no connection to b1.
  CHECK(lb.access_lines().size() == 2);
}

TEST_CASE("ssl-min-ver TLSv1.3 refuses a TLS 1.2 client", "[integration][tls]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  nlohmann::json config = basic_tls_config(free_port(), files.server.pem, {{"b1", broker.port()}});
  config["frontends"][0]["bind"][0]["ssl-min-ver"] = "TLSv1.3";
  Mqlb lb(dir, config);

  const SClient tls12 = s_client(dir, lb.port(), {.version = TlsVersion::V1_2});
  INFO(tls12.output);
  CHECK_FALSE(tls12.handshake);
  const auto failures = wait_for_bind_lines(lb, tls_expect::kHandshakeFailure, 1);
  INFO(failures[0].raw);
  CHECK_THAT(reason(failures[0]), Catch::Contains(tls_expect::kReasonUnsupportedProtocol));

  const SClient tls13 = s_client(dir, lb.port(), {.version = TlsVersion::V1_3});
  CHECK(tls13.admitted());
  CHECK(tls13.protocol == "TLSv1.3");
}

TEST_CASE("a TLS 1.2 cipher outside the bind's ciphers is refused", "[integration][tls]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  nlohmann::json config = basic_tls_config(free_port(), files.server.pem, {{"b1", broker.port()}});
  config["frontends"][0]["bind"][0]["ciphers"] = "ECDHE-ECDSA-AES256-GCM-SHA384";
  Mqlb lb(dir, config);

  const SClient allowed = s_client(
      dir, lb.port(), {.version = TlsVersion::V1_2, .cipher = "ECDHE-ECDSA-AES256-GCM-SHA384"});
  INFO(allowed.output);
  CHECK(allowed.admitted());
  CHECK(allowed.cipher == "ECDHE-ECDSA-AES256-GCM-SHA384");

  // OpenSSL's server would pick this one but for `ciphers`.
  const SClient outside = s_client(
      dir, lb.port(), {.version = TlsVersion::V1_2, .cipher = "ECDHE-ECDSA-AES128-GCM-SHA256"});
  INFO(outside.output);
  CHECK_FALSE(outside.handshake);
  const auto failures = wait_for_bind_lines(lb, tls_expect::kHandshakeFailure, 1);
  INFO(failures[0].raw);
  CHECK_THAT(reason(failures[0]), Catch::Contains(tls_expect::kReasonNoSharedCipher));
}

TEST_CASE("alpn is negotiated when the bind sets it, and only then", "[integration][tls]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  nlohmann::json config = basic_tls_config(free_port(), files.server.pem, {{"b1", broker.port()}});
  const uint16_t without_port = free_port();
  config["frontends"][0]["bind"][0]["alpn"] = "mqtt,other";
  config["frontends"][0]["bind"].push_back(tls_bind(without_port, files.server.pem));
  Mqlb lb(dir, config);

  const SClient mqtt = s_client(dir, lb.port(), {.alpn = "mqtt"});
  INFO(mqtt.output);
  CHECK(mqtt.admitted());
  CHECK(mqtt.alpn == "mqtt");
  const SClient other = s_client(dir, lb.port(), {.alpn = "x-unknown,other"});
  INFO(other.output);
  CHECK(other.alpn == "other");

  const SClient without = s_client(dir, without_port, {.alpn = "mqtt"});
  INFO(without.output);
  CHECK(without.admitted());
  CHECK(without.alpn == "");
}
