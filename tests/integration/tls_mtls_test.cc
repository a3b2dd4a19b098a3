// Client certificates on a TLS bind (HAProxy's verify, ca-file, crl-file):
// "required" admits only a device whose certificate chains to ca-file and
// is not in the CRL, and that device publishes end to end; "optional" also
// admits a client without one, and the debug log says which was which.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

nlohmann::json mtls_config(uint16_t port, const TlsFiles& files, uint16_t broker_port,
                           const std::string& verify) {
  nlohmann::json config = basic_tls_config(port, files.server.pem, {{"b1", broker_port}});
  auto& bind = config["frontends"][0]["bind"][0];
  bind["verify"] = verify;
  bind["ca-file"] = files.ca.string();
  bind["crl-file"] = files.crl.string();
  return config;
}

SClientOptions with_certificate(const TlsBundle& bundle) {
  return {.cert = bundle.cert, .key = bundle.key};
}

}  // namespace

TEST_CASE("verify required refuses a client without a certificate, from another CA or revoked",
          "[integration][tls][mtls]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  Subscriber subscriber(dir, broker.port(), "devices/#");
  Mqlb lb(dir, mtls_config(free_port(), files, broker.port(), "required"));

  struct Refusal {
    std::string what;
    SClientOptions options;
  };
  const std::vector<Refusal> refusals = {
      {"no client certificate", {}},
      {"a certificate from an unrelated CA", with_certificate(files.other_ca_client)},
      {"a revoked certificate", with_certificate(files.revoked_client)},
  };
  size_t failures = 0;
  for (const auto& refusal : refusals) {
    for (const TlsVersion version : {TlsVersion::V1_3, TlsVersion::V1_2}) {
      SClientOptions options = refusal.options;
      options.version = version;
      const SClient client = s_client(dir, lb.port(), options);
      INFO(refusal.what << ", TLS " << (version == TlsVersion::V1_3 ? "1.3" : "1.2") << ":\n"
                        << client.output);
      CHECK_FALSE(client.admitted());
      const auto lines = wait_for_bind_lines(lb, tls_expect::kHandshakeFailure, ++failures);
      INFO(lines.back().raw);
      CHECK(lines.size() == failures);
      CHECK_THAT(lines.back().message, Catch::Contains(tls_expect::kReasonCertificate));
    }
  }
  CHECK(lb.access_lines().empty());

  const SClient good = s_client(dir, lb.port(), with_certificate(files.client));
  INFO(good.output);
  CHECK(good.admitted());

  // The device with its certificate publishes through mqlb to the broker.
  const RunResult pub =
      mosquitto_pub(dir, lb.port(), ClientTls{files.ca, files.client.cert, files.client.key},
                    "devices/1", "hello with a certificate");
  INFO(pub.stderr_text);
  CHECK(pub.exit_code == 0);
  CHECK(wait_until([&] { return subscriber.payloads().size() == 1; }, Millis(10000)));
  CHECK(subscriber.payloads() == std::vector<std::string>{"hello with a certificate"});
  // Without one it cannot.
  const RunResult refused =
      mosquitto_pub(dir, lb.port(), ClientTls{files.ca}, "devices/2", "no certificate");
  CHECK(refused.exit_code != 0);
  CHECK(subscriber.payloads().size() == 1);
}

TEST_CASE("verify optional admits clients with and without a certificate and logs which",
          "[integration][tls][mtls]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  DebugLog debug;
  nlohmann::json config = mtls_config(free_port(), files, broker.port(), "optional");
  config["frontends"][0]["log"] = {"stdout", debug.target()};
  Mqlb lb(dir, config);

  const SClient anonymous = s_client(dir, lb.port(), {});
  INFO(anonymous.output);
  CHECK(anonymous.admitted());
  const auto first = debug.wait_for_handshakes(1);
  INFO(first[0].line.raw);
  CHECK(first[0].client_cert == "none");

  const SClient device = s_client(dir, lb.port(), with_certificate(files.client));
  INFO(device.output);
  CHECK(device.admitted());
  const auto second = debug.wait_for_handshakes(2);
  INFO(second[1].line.raw);
  CHECK(second[1].client_cert == "verified CN=device-1");
  CHECK(second.size() == 2);

  const RunResult pub = mosquitto_pub(dir, lb.port(), ClientTls{files.ca}, "t", "anonymous");
  INFO(pub.stderr_text);
  CHECK(pub.exit_code == 0);
}
