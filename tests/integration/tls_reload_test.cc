// Renewing a certificate without a restart: the operator replaces the bundle
// file and sends SIGHUP. New handshakes get the new certificate, a device
// subscribed before keeps its session and its messages; a broken bundle is
// reported on stderr and the last good certificate goes on serving.
#include <signal.h>

#include <catch2/catch.hpp>

#include <sstream>
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

// A line of `log` that names `file` and is tagged as an error.
bool reports_error_about(const std::string& log, const std::string& file) {
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(file) == std::string::npos) continue;
    for (const char* tag : tls_expect::kReloadErrorTags) {
      if (line.rfind(tag, 0) == 0) return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("SIGHUP loads a replaced certificate for new handshakes and live sessions keep theirs",
          "[integration][tls][reload]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  const auto live_pem = dir.path() / "haproxy.pem";
  install_file(files.server.pem, live_pem);
  Mqlb lb(dir, basic_tls_config(free_port(), live_pem, {{"b1", broker.port()}}));
  const ClientTls tls{files.ca};

  Subscriber subscriber(dir, broker.port(), "news", Subscriber::Through{lb.port(), tls});
  CHECK(s_client(dir, lb.port(), {.ca_file = files.ca}).peer_serial == files.server.serial);

  install_file(files.replacement.pem, live_pem);
  lb.process().signal(SIGHUP);
  SClient renewed;
  CHECK(wait_until(
      [&] {
        renewed = s_client(dir, lb.port(), {.ca_file = files.ca});
        return renewed.peer_serial == files.replacement.serial;
      },
      Millis(10000), Millis(100)));
  INFO(renewed.output);
  CHECK(renewed.admitted());
  CHECK(renewed.verify_code == 0);

  // The subscriber's session, set up with the old certificate, still relays.
  REQUIRE(mosquitto_pub(dir, lb.port(), tls, "news", "after the renewal").exit_code == 0);
  CHECK(wait_until([&] { return subscriber.payloads().size() == 1; }, Millis(10000)));

  // A certificate with another certificate's key: refused, and said so.
  const std::string mismatched =
      read_file(files.replacement.cert) + read_file(files.server.key) + read_file(files.ca);
  install_file(dir.write("mismatched.pem", mismatched), live_pem);
  lb.process().signal(SIGHUP);
  CHECK(wait_until([&] { return reports_error_about(lb.stderr_text(), live_pem.string()); },
                   Millis(10000)));
  const SClient after_broken = s_client(dir, lb.port(), {.ca_file = files.ca});
  INFO(after_broken.output);
  CHECK(after_broken.admitted());
  CHECK(after_broken.peer_serial == files.replacement.serial);
  CHECK(lb.process().running());

  REQUIRE(mosquitto_pub(dir, lb.port(), tls, "news", "after the broken one").exit_code == 0);
  CHECK(wait_until([&] { return subscriber.payloads().size() == 2; }, Millis(10000)));
  CHECK(subscriber.payloads() ==
        std::vector<std::string>{"after the renewal", "after the broken one"});
}
