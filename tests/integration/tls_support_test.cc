// The TLS test support checked against OpenSSL's own server and a TLS
// mosquitto broker, so that the TLS tests of mqlb rest on parsing that is
// known to be right: the files make_tls_files makes, what s_client() reports,
// the mosquitto clients over TLS, and the log line parsers.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/broker.h"
#include "support/net.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// `openssl s_server -www` on 127.0.0.1 with `args` added; -www answers on
// its own, so it never waits for its stdin.
class SServer {
 public:
  SServer(TempDir& dir, const std::vector<std::string>& args)
      : port_(free_port()), process_(dir, "s_server", [&] {
          std::vector<std::string> argv{"openssl", "s_server", "-www", "-accept",
                                        "127.0.0.1:" + std::to_string(port_)};
          argv.insert(argv.end(), args.begin(), args.end());
          return argv;
        }()) {
    if (!wait_until([&] { return is_listening(port_) || !process_.running(); }, Millis(10000)) ||
        !process_.running()) {
      throw std::runtime_error("openssl s_server did not listen: " + process_.stderr_text());
    }
  }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_;
  Process process_;
};

}  // namespace

TEST_CASE("make_tls_files makes a CA, HAProxy-style bundles and a CRL",
          "[integration][tls-support]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);

  // The server bundle is certificate, key, CA certificate, in that order.
  const std::string pem = read_file(files.server.pem);
  const auto cert_at = pem.find("-----BEGIN CERTIFICATE-----");
  const auto key_at = pem.find("-----BEGIN PRIVATE KEY-----");
  const auto ca_at = pem.find("-----BEGIN CERTIFICATE-----", key_at);
  CHECK(cert_at == 0);
  CHECK(key_at != std::string::npos);
  CHECK(ca_at != std::string::npos);
  CHECK(pem.substr(ca_at) == read_file(files.ca));

  for (const TlsBundle* bundle :
       {&files.server, &files.server_rsa, &files.replacement, &files.sni_a, &files.sni_b,
        &files.client, &files.revoked_client}) {
    const RunResult verify = run(
        dir, "verify", {"openssl", "verify", "-CAfile", files.ca.string(), bundle->cert.string()});
    INFO(bundle->pem << ": " << verify.stdout_text << verify.stderr_text);
    CHECK(verify.exit_code == 0);
    CHECK_FALSE(bundle->serial.empty());
  }
  const RunResult other =
      run(dir, "verify",
          {"openssl", "verify", "-CAfile", files.ca.string(), files.other_ca_client.cert.string()});
  CHECK(other.exit_code != 0);
  const RunResult revoked =
      run(dir, "verify",
          {"openssl", "verify", "-crl_check", "-CAfile", files.ca.string(), "-CRLfile",
           files.crl.string(), files.revoked_client.cert.string()});
  CHECK(revoked.exit_code != 0);
  CHECK_THAT(revoked.stdout_text + revoked.stderr_text, Catch::Contains("revoked"));
  const RunResult good = run(dir, "verify",
                             {"openssl", "verify", "-crl_check", "-CAfile", files.ca.string(),
                              "-CRLfile", files.crl.string(), files.client.cert.string()});
  CHECK(good.exit_code == 0);

  CHECK(files.server.subject == "CN = mqlb.test");
  CHECK(files.client.subject == "CN = device-1");
  CHECK(files.revoked_client.subject == "CN = device-revoked");
  CHECK(files.replacement.subject == files.server.subject);
  CHECK(files.replacement.serial != files.server.serial);
  const RunResult rsa = run(
      dir, "rsa", {"openssl", "x509", "-in", files.server_rsa.cert.string(), "-noout", "-text"});
  CHECK_THAT(rsa.stdout_text, Catch::Contains("Public-Key: (2048 bit)"));
  const RunResult san = run(
      dir, "san",
      {"openssl", "x509", "-in", files.server.cert.string(), "-noout", "-ext", "subjectAltName"});
  CHECK_THAT(san.stdout_text,
             Catch::Contains("DNS:mqlb.test, DNS:localhost, IP Address:127.0.0.1"));

  std::vector<std::string> in_sni_dir;
  for (const auto& entry : std::filesystem::directory_iterator(files.sni_dir)) {
    in_sni_dir.push_back(entry.path().filename().string());
  }
  std::sort(in_sni_dir.begin(), in_sni_dir.end());
  CHECK(in_sni_dir == std::vector<std::string>{"a.mqlb.test.pem", "b.mqlb.test.pem"});
}

TEST_CASE("s_client reports protocol, cipher, ALPN, peer certificate and resumption",
          "[integration][tls-support]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  SServer server(dir, {"-cert", files.server.pem.string(), "-alpn", "mqtt"});

  const auto session = dir.unique("session.pem");
  const SClient first =
      s_client(dir, server.port(), {.alpn = "mqtt", .ca_file = files.ca, .sess_out = session});
  INFO(first.output);
  CHECK(first.exit_code == 0);
  CHECK(first.handshake);
  CHECK(first.admitted());
  CHECK_FALSE(first.reused);
  CHECK(first.protocol == "TLSv1.3");
  CHECK(first.cipher == "TLS_AES_256_GCM_SHA384");
  CHECK(first.alpn == "mqtt");
  CHECK(first.peer_subject == "CN = mqlb.test");
  CHECK(first.peer_serial == files.server.serial);
  CHECK(first.verify_code == 0);
  CHECK(first.verify_text == "ok");
  CHECK(std::filesystem::file_size(session) > 0);  // the ticket came after the handshake

  const SClient again = s_client(dir, server.port(), {.ca_file = files.ca, .sess_in = session});
  INFO(again.output);
  CHECK(again.handshake);
  CHECK(again.reused);
  CHECK(again.protocol == "TLSv1.3");

  const SClient other_ca = s_client(dir, server.port(), {.ca_file = files.other_ca});
  CHECK(other_ca.handshake);  // s_client goes on after a failed verification
  CHECK(other_ca.verify_code != 0);

  const SClient no_alpn = s_client(dir, server.port(), {});
  CHECK(no_alpn.alpn == "");

  const SClient tls12 = s_client(
      dir, server.port(), {.version = TlsVersion::V1_2, .cipher = "ECDHE-ECDSA-AES128-GCM-SHA256"});
  INFO(tls12.output);
  CHECK(tls12.handshake);
  CHECK(tls12.protocol == "TLSv1.2");
  CHECK(tls12.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256");

  // A cipher the server has no key for: no handshake.
  const SClient rsa_only = s_client(
      dir, server.port(), {.version = TlsVersion::V1_2, .cipher = "ECDHE-RSA-AES128-GCM-SHA256"});
  CHECK_FALSE(rsa_only.handshake);
  CHECK_FALSE(rsa_only.admitted());
}

TEST_CASE("s_client offers TLS 1.0 and 1.1 for real, so a refusal is the server's",
          "[integration][tls-support]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  SServer old(dir, {"-cert", files.server.pem.string(), "-cipher", "DEFAULT:@SECLEVEL=0"});
  SServer modern(dir, {"-cert", files.server.pem.string()});

  for (const TlsVersion version : {TlsVersion::V1_0, TlsVersion::V1_1}) {
    const SClient accepted = s_client(dir, old.port(), {.version = version});
    INFO(accepted.output);
    CHECK(accepted.handshake);
    CHECK(accepted.protocol == (version == TlsVersion::V1_0 ? "TLSv1" : "TLSv1.1"));
    const SClient refused = s_client(dir, modern.port(), {.version = version});
    CHECK_FALSE(refused.handshake);
  }
}

TEST_CASE("s_client sees a refused client certificate as an alert after its handshake",
          "[integration][tls-support]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  SServer server(dir, {"-cert", files.server.pem.string(), "-Verify", "1", "-verify_return_error",
                       "-CAfile", files.ca.string(), "-crl_check", "-CRL", files.crl.string()});

  const SClient none = s_client(dir, server.port(), {});
  INFO(none.output);
  CHECK_FALSE(none.admitted());
  CHECK(none.alert == 116);
  CHECK(none.alert_text == "tlsv13 alert certificate required");

  const SClient good =
      s_client(dir, server.port(), {.cert = files.client.cert, .key = files.client.key});
  INFO(good.output);
  CHECK(good.admitted());

  const SClient revoked = s_client(
      dir, server.port(), {.cert = files.revoked_client.cert, .key = files.revoked_client.key});
  INFO(revoked.output);
  CHECK_FALSE(revoked.admitted());
  CHECK(revoked.alert.has_value());

  const SClient other = s_client(
      dir, server.port(), {.cert = files.other_ca_client.cert, .key = files.other_ca_client.key});
  INFO(other.output);
  CHECK_FALSE(other.admitted());

  // TLS 1.2: the refusal comes within the handshake.
  const SClient none12 = s_client(dir, server.port(), {.version = TlsVersion::V1_2});
  INFO(none12.output);
  CHECK_FALSE(none12.handshake);
}

TEST_CASE("s_client -servername picks the server's certificate by SNI",
          "[integration][tls-support]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  SServer server(dir, {"-cert", files.sni_a.pem.string(), "-servername", "b.mqlb.test", "-cert2",
                       files.sni_b.pem.string()});

  CHECK(s_client(dir, server.port(), {.servername = "b.mqlb.test"}).peer_subject ==
        "CN = b.mqlb.test");
  CHECK(s_client(dir, server.port(), {.servername = "a.mqlb.test"}).peer_subject ==
        "CN = a.mqlb.test");
  CHECK(s_client(dir, server.port(), {}).peer_serial == files.sni_a.serial);
}

TEST_CASE("mosquitto clients speak TLS to localhost with the test CA",
          "[integration][tls-support]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  // One broker with a plain listener, where the subscriber's probes go, and
  // a TLS one that wants a client certificate; mosquitto takes the key and
  // the certificate in files of their own, the bundle's parts.
  Broker broker(
      dir, {.tls_cert = files.server.cert, .tls_key = files.server.key, .tls_client_ca = files.ca});
  const uint16_t plain_port = broker.port();
  const uint16_t tls_port = broker.tls_port();

  const ClientTls device{files.ca, files.client.cert, files.client.key};
  Subscriber tls_subscriber(dir, plain_port, "t", Subscriber::Through{tls_port, device});
  const RunResult pub = mosquitto_pub(dir, tls_port, device, "t", "over tls");
  INFO(pub.stderr_text);
  CHECK(pub.exit_code == 0);
  CHECK(wait_until([&] { return tls_subscriber.payloads().size() == 1; }, Millis(5000)));
  CHECK(tls_subscriber.payloads() == std::vector<std::string>{"over tls"});

  // Without a client certificate the broker refuses it: the run can fail.
  const RunResult refused = mosquitto_pub(dir, tls_port, ClientTls{files.ca}, "t", "refused");
  CHECK(refused.exit_code != 0);
  // Against a CA that did not sign the server, the client refuses.
  const RunResult untrusted = mosquitto_pub(
      dir, tls_port, ClientTls{files.other_ca, files.client.cert, files.client.key}, "t", "no");
  CHECK(untrusted.exit_code != 0);
}

TEST_CASE("TLS log lines are parsed as HAProxy 2.6 writes them", "[integration][tls-support]") {
  const auto failure = parse_bind_log_line(
      "127.0.0.1:37792 [01/Dec/2026:12:07:29.223] mqtt/1: SSL handshake failure: "
      "no shared cipher");
  REQUIRE(failure);
  CHECK(failure->client == "127.0.0.1:37792");
  CHECK(failure->client_port == 37792);
  CHECK(failure->frontend == "mqtt");
  CHECK(failure->bind == "1");
  CHECK(failure->message == "SSL handshake failure: no shared cipher");

  const std::string text =
      "127.0.0.1:1 [01/Dec/2026:12:07:29.223] mqtt/tls: Timeout during SSL handshake\n"
      "127.0.0.1:40192 [22/Nov/2026:14:26:36.448] mqtt~ mqtt/b1 0/0/1002 9 -- 1/1/0/0/0 0/0\n"
      "127.0.0.1:2 [01/Dec/2026:12:07:29.224] mqtt/tls: Connection closed during SSL handshake\n";
  CHECK(bind_log_lines(text).size() == 2);
  const auto timeouts = bind_log_lines(text, tls_expect::kHandshakeTimeout);
  REQUIRE(timeouts.size() == 1);
  CHECK(timeouts[0].bind == "tls");
  CHECK(timeouts[0].client_port == 1);

  const auto done = parse_handshake_done(
      "127.0.0.1:37792 [01/Dec/2026:12:07:29.223] mqtt/1: TLS handshake done: worker=2 TLSv1.3 "
      "TLS_AES_256_GCM_SHA384 resumed=yes client-cert=verified CN=device-1");
  REQUIRE(done);
  CHECK(done->worker == 2);
  CHECK(done->protocol == "TLSv1.3");
  CHECK(done->cipher == "TLS_AES_256_GCM_SHA384");
  CHECK(done->resumed);
  CHECK(done->client_cert == "verified CN=device-1");
  CHECK(done->line.client_port == 37792);
  CHECK_FALSE(parse_handshake_done("127.0.0.1:1 [x] mqtt/1: Timeout during SSL handshake"));
}
