// A TLS bind that cannot work is a configuration error: `mqlb -c -f` exits 1
// naming the file or the field, and `mqlb -f` refuses to start with nothing
// listening. A valid TLS bind passes the check, so each refusal is about its
// one mistake.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

struct Mistake {
  std::string what;
  std::function<void(nlohmann::json& bind)> make;
  std::vector<std::string> named;  // each must appear on stderr
};

std::vector<Mistake> mistakes(TempDir& dir, const TlsFiles& files) {
  const std::string missing = (dir.path() / "no-such-dir" / "haproxy.pem").string();
  const std::string mismatched =
      dir.write("mismatched.pem", read_file(files.server.cert) + read_file(files.replacement.key) +
                                      read_file(files.ca))
          .string();
  return {
      {"a crt file that does not exist", [=](nlohmann::json& b) { b["crt"] = missing; }, {missing}},
      {"a key that belongs to another certificate",
       [=](nlohmann::json& b) { b["crt"] = mismatched; },
       {mismatched, tls_expect::kKeyMismatch}},
      {"an ssl-min-ver that is no TLS version",
       [](nlohmann::json& b) { b["ssl-min-ver"] = "TLSv1.9"; },
       {"frontends[0].bind[0]", "ssl-min-ver", "TLSv1.9"}},
      {"a cipher list OpenSSL takes nothing from",
       [](nlohmann::json& b) { b["ciphers"] = "NOT-A-CIPHER:ALSO-NOT"; },
       {"frontends[0].bind[0]", "ciphers"}},
  };
}

}  // namespace

TEST_CASE("mqlb -c accepts a valid TLS bind", "[integration][tls][config]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  nlohmann::json config = basic_tls_config(free_port(), files.server.pem, {{"b1", 1883}});
  auto& bind = config["frontends"][0]["bind"][0];
  bind["ssl-min-ver"] = "TLSv1.2";
  bind["ssl-max-ver"] = "TLSv1.3";
  bind["ciphers"] = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
  bind["ciphersuites"] = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
  bind["curves"] = "X25519:P-256";
  bind["alpn"] = "mqtt";
  bind["ca-file"] = files.ca.string();
  bind["verify"] = "optional";
  bind["crl-file"] = files.crl.string();
  bind["prefer-client-ciphers"] = true;
  config["frontends"][0]["timeouts"] = {{"client_hs", "2s"}};
  const auto path = dir.write("mqlb.json", config.dump(2));
  const RunResult check = run_mqlb(dir, {"-c", "-f", path.string()});
  INFO(check.stderr_text);
  CHECK(check.exit_code == 0);
}

TEST_CASE("mqlb -c rejects a broken TLS bind and names the file or the field",
          "[integration][tls][config]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  for (const auto& mistake : mistakes(dir, files)) {
    nlohmann::json config = basic_tls_config(free_port(), files.server.pem, {{"b1", 1883}});
    mistake.make(config["frontends"][0]["bind"][0]);
    const auto path = dir.write("broken.json", config.dump(2));
    const RunResult check = run_mqlb(dir, {"-c", "-f", path.string()});
    INFO(mistake.what << "; stderr: " << check.stderr_text);
    CHECK(check.exit_code == 1);
    for (const auto& name : mistake.named) {
      CHECK_THAT(check.stderr_text, Catch::Contains(name));
    }
  }
}

TEST_CASE("mqlb -f with a broken TLS bind exits 1 without listening",
          "[integration][tls][config]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  for (const auto& mistake : mistakes(dir, files)) {
    const uint16_t plain_port = free_port();
    const uint16_t tls_port = free_port();
    // A plain bind beside it: nothing of the frontend may listen either.
    nlohmann::json config = basic_config(plain_port, {{"b1", 1883}});
    config["frontends"][0]["bind"].push_back(tls_bind(tls_port, files.server.pem));
    mistake.make(config["frontends"][0]["bind"][1]);
    const RefusedStart start = start_refused(dir, config, {plain_port, tls_port});
    INFO(mistake.what << "; stderr: " << start.run.stderr_text);
    CHECK(start.run.exit_code == 1);
    CHECK_FALSE(start.listened);
    CHECK(start.run.stderr_text.find(" : ready") == std::string::npos);
  }
}
