// testssl (Debian's testssl.sh) against a TLS bind with mqlb's defaults: the
// operator's view of protocols, ciphers, forward secrecy, server preference
// and known vulnerabilities. About a minute; nothing leaves 127.0.0.1.

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace mqlb::test {
namespace {

constexpr int kTestsslSeconds = 300;

// A throwaway ECDSA P-256 certificate and its key, as one PEM bundle.
std::string make_bundle(TempDir& dir) {
  const std::string key = dir.unique("key.pem").string();
  const std::string cert = dir.unique("cert.pem").string();
  const RunResult made =
      run(dir, "openssl-req",
          {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=mqtt.example.com",
           "-addext", "subjectAltName=DNS:mqtt.example.com"});
  INFO(made.stderr_text);
  REQUIRE(made.exit_code == 0);
  return dir.write("bundle.pem", read_file(cert) + read_file(key)).string();
}

struct Finding {
  std::string id;
  std::string severity;
  std::string text;
};

// testssl's --jsonfile: a flat array of {id, ip, port, severity, finding}.
std::vector<Finding> read_findings(const std::string& path) {
  const std::string text = read_file(path);
  INFO("testssl's JSON file " << path << ":\n" << text.substr(0, 2000));
  REQUIRE(!text.empty());
  const auto json = nlohmann::json::parse(text, nullptr, false);
  REQUIRE(json.is_array());
  std::vector<Finding> findings;
  for (const auto& entry : json)
    findings.push_back(
        {entry.value("id", ""), entry.value("severity", ""), entry.value("finding", "")});
  return findings;
}

}  // namespace

TEST_CASE("testssl finds nothing HIGH or CRITICAL on a TLS bind with the defaults", "[slow]") {
  TempDir dir;
  const std::string bundle = make_bundle(dir);
  Broker broker(dir);

  // The plain bind stays first: the Mqlb fixture waits for the first bind's port.
  nlohmann::json config = basic_config(free_port(), {{"b1", broker.port()}});
  const uint16_t tls_port = free_port();
  config["frontends"][0]["bind"].push_back(
      {{"address", "127.0.0.1:" + std::to_string(tls_port)}, {"ssl", true}, {"crt", bundle}});
  Mqlb lb(dir, config);
  REQUIRE(wait_until([&] { return is_listening(tls_port); }, Millis(5000)));

  // Loopback only: an IP literal as the target, --nodns none (no lookups of
  // it), no --phone-out (CRL and OCSP fetches; PHONE_OUT=false so that the
  // environment cannot turn it on), and NXCONNECT=127.0.0.1:0 for the probes
  // of openssl's options, which otherwise resolve "invalid." through the
  // system's resolver (and wait for it). `timeout` ends testssl's whole
  // process group.
  const std::string json = dir.unique("testssl.json").string();
  const std::string seconds = std::to_string(kTestsslSeconds);
  std::vector<std::string> argv = {
      "env", "PHONE_OUT=false", "NXCONNECT=127.0.0.1:0", "timeout", "-k", "10", seconds};
  argv.insert(argv.end(), {"testssl", "--jsonfile", json, "--nodns", "none", "--warnings", "off",
                           "--color", "0", "-p", "-s", "-f", "-P", "-U"});
  argv.push_back("127.0.0.1:" + std::to_string(tls_port));
  Process testssl(dir, "testssl", argv);
  const int status = testssl.wait_exit(Millis((kTestsslSeconds + 30) * 1000));
  INFO("testssl's output, tail:\n"
       << [&] {
            const std::string out = testssl.stdout_text() + testssl.stderr_text();
            return out.size() <= 6000 ? out : "..." + out.substr(out.size() - 6000);
          }());
  REQUIRE(status != Process::kStillRunning);
  REQUIRE(status != 124);  // timeout's status: testssl ran out of time

  const std::vector<Finding> findings = read_findings(json);
  std::map<std::string, int> per_severity;
  std::vector<std::string> serious, problems;
  bool saw_tls13 = false;
  for (const auto& f : findings) {
    ++per_severity[f.severity];
    if (f.id == "TLS1_3") saw_tls13 = f.text.find("offered") == 0;
    if (f.severity == "FATAL" || f.id == "scanProblem") problems.push_back(f.id + ": " + f.text);
    // A throwaway certificate is never trusted: cert_* findings are expected.
    if ((f.severity == "HIGH" || f.severity == "CRITICAL") && f.id.rfind("cert_", 0) != 0)
      serious.push_back(f.severity + " " + f.id + ": " + f.text);
  }
  std::cout << "testssl on 127.0.0.1:" << tls_port << ", " << findings.size()
            << " findings by severity:";
  for (const auto& [severity, count] : per_severity)
    std::cout << " " << severity << "=" << count;
  std::cout << "\n";

  std::string listed;
  for (const auto& line : serious)
    listed += "\n  " + line;
  for (const auto& line : problems)
    listed += "\n  scan problem: " + line;
  INFO("findings:" << listed);
  CHECK(problems.empty());
  CHECK(saw_tls13);  // testssl really spoke TLS to mqlb
  CHECK(serious.empty());
}

}  // namespace mqlb::test
