// Clients that never finish a TLS handshake: silent ones are closed after
// timeout client_hs, garbage and aborted handshakes at once, each with one
// HAProxy 2.6 style line; two thousand stalled handshakes cost nothing to a
// device that publishes over TLS meanwhile.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
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

// The first bytes of a TLS 1.2 ClientHello: a handshake record that
// announces 512 bytes, of which this is the start. A server waits for more.
const std::string kPartialClientHello = std::string("\x16\x03\x01\x02\x00", 5) +
                                        std::string("\x01\x00\x01\xfc\x03\x03", 6) +
                                        std::string(16, '\x5a');

nlohmann::json config_with_client_hs(const TlsFiles& files, uint16_t broker_port,
                                     const std::string& client_hs) {
  nlohmann::json config = basic_tls_config(free_port(), files.server.pem, {{"b1", broker_port}});
  config["frontends"][0]["timeouts"] = {{"client_hs", client_hs}};
  return config;
}

// Waits until mqlb has read everything `client` sent it.
bool read_by_mqlb(const Mqlb& lb, const Socket& client) {
  return wait_until(
      [&] {
        return client.unacknowledged_bytes() == 0 &&
               unread_bytes(lb.port(), client.local_port()) == 0;
      },
      Millis(5000));
}

}  // namespace

TEST_CASE("a client that sends nothing is closed after client_hs and logged as a timeout",
          "[integration][tls][bad_input]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  Mqlb lb(dir, config_with_client_hs(files, broker.port(), "1s"));

  Socket silent = Socket::connect(lb.port());
  const std::string client = silent.local_address();
  const auto start = Clock::now();
  CHECK(silent.wait_closed(Millis(5000)) != Closed::kStillOpen);
  const long closed_after = elapsed_ms(start);
  CHECK(closed_after >= 900);
  CHECK(closed_after < 3000);

  const BindLogLine line = bind_line_for(lb, client, tls_expect::kHandshakeTimeout);
  INFO(line.raw);
  CHECK(line.frontend == "mqtt");
  CHECK(line.bind == "1");
  CHECK(lb.access_lines().empty());
}

TEST_CASE("garbage instead of a ClientHello, and handshakes cut short, end at once",
          "[integration][tls][bad_input]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  Subscriber subscriber(dir, broker.port(), "steady");
  // A long client_hs: whatever ends these sessions, it is not the timeout.
  Mqlb lb(dir, config_with_client_hs(files, broker.port(), "30s"));

  SECTION("garbage") {
    Socket garbage = Socket::connect(lb.port());
    const std::string client = garbage.local_address();
    const auto start = Clock::now();
    garbage.send_all("\xff\xfe this is not TLS, not even close \r\n\r\n");
    CHECK(garbage.wait_closed(Millis(5000)) != Closed::kStillOpen);
    CHECK(elapsed_ms(start) < 5000);
    const BindLogLine line = bind_line_for(lb, client, tls_expect::kHandshakeFailure);
    INFO(line.raw);
    CHECK(line.message.size() > std::string(tls_expect::kHandshakeFailure).size() + 2);
  }
  SECTION("a reset in the middle of the ClientHello") {
    Socket aborted = Socket::connect(lb.port());
    const std::string client = aborted.local_address();
    aborted.send_all(kPartialClientHello);
    REQUIRE(read_by_mqlb(lb, aborted));
    aborted.reset();
    const BindLogLine line =
        bind_line_for(lb, client, tls_expect::kClosedDuringHandshake, Millis(5000));
    INFO(line.raw);
    CHECK(line.bind == "1");
  }
  SECTION("a FIN in the middle of the ClientHello") {
    Socket closed = Socket::connect(lb.port());
    const std::string client = closed.local_address();
    closed.send_all(kPartialClientHello);
    REQUIRE(read_by_mqlb(lb, closed));
    closed.shutdown_write();
    CHECK(closed.wait_closed(Millis(5000)) != Closed::kStillOpen);
    const BindLogLine line =
        bind_line_for(lb, client, tls_expect::kClosedDuringHandshake, Millis(5000));
    INFO(line.raw);
  }

  CHECK(bind_log_lines(lb.stdout_text()).size() == 1);
  CHECK(lb.access_lines().empty());
  const RunResult pub = mosquitto_pub(dir, lb.port(), ClientTls{files.ca}, "steady", "still here");
  INFO(pub.stderr_text);
  CHECK(pub.exit_code == 0);
  CHECK(wait_until([&] { return subscriber.payloads().size() == 1; }, Millis(10000)));
}

TEST_CASE("2000 stalled handshakes are closed after client_hs while a device publishes over TLS",
          "[integration][tls][bad_input]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  Subscriber subscriber(dir, broker.port(), "steady");
  constexpr long kClientHsMs = 3000;
  Mqlb lb(dir, config_with_client_hs(files, broker.port(), "3s"));

  // 2000 sockets here, and as many in mqlb: both under the runner's limit.
  constexpr int kStalled = 2000;
  std::vector<Socket> stalled;
  std::set<std::string> clients;
  const auto first_connect = Clock::now();
  for (int n = 0; n < kStalled; ++n) {
    Socket client = Socket::connect(lb.port());
    client.send_all(kPartialClientHello);
    clients.insert(client.local_address());
    stalled.push_back(std::move(client));
  }
  const auto all_stalled = Clock::now();
  // None is let go before client_hs (when opening them all took less).
  if (elapsed_ms(first_connect) < kClientHsMs - 500) {
    int closed_early = 0;
    for (const auto& client : stalled) {
      closed_early += client.readable_within(Millis(0)) ? 1 : 0;
    }
    CHECK(closed_early == 0);
  }

  const RunResult pub = mosquitto_pub(dir, lb.port(), ClientTls{files.ca}, "steady", "meanwhile");
  INFO(pub.stderr_text);
  CHECK(pub.exit_code == 0);
  CHECK(wait_until([&] { return subscriber.payloads().size() == 1; }, Millis(10000)));
  // The device was served during the stall, not after it.
  CHECK_FALSE(stalled.back().readable_within(Millis(0)));

  // Every one is closed by mqlb, none long after client_hs.
  int still_open = 0;
  for (auto& client : stalled) {
    const long left = kClientHsMs + 10000 - elapsed_ms(all_stalled);
    if (client.wait_closed(Millis(std::max(left, 0L))) == Closed::kStillOpen) ++still_open;
  }
  CHECK(still_open == 0);
  CHECK(elapsed_ms(all_stalled) < kClientHsMs + 10000);

  std::set<std::string> timed_out;
  wait_until(
      [&] {
        for (const auto& line : bind_log_lines(lb.stdout_text(), tls_expect::kHandshakeTimeout)) {
          if (clients.count(line.client) != 0) timed_out.insert(line.client);
        }
        return timed_out.size() == clients.size();
      },
      Millis(10000), Millis(100));
  CHECK(timed_out.size() == kStalled);
  CHECK(lb.process().running());
}
