// The relay over TLS: backpressure from a slow TLS reader, close_notify on
// an orderly close, and TLS from mqlb to a real mosquitto TLS listener
// (server ... ssl verify required ca-file sni).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <random>
#include <string>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sha256.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/tls_client.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

constexpr size_t kChunk = 1u << 20;

// Deterministic pseudo-random bytes: a lost, repeated or reordered block
// changes the digest.
void fill(std::mt19937_64& random, std::string& buffer) {
  for (size_t i = 0; i < buffer.size(); i += sizeof(uint64_t)) {
    const uint64_t word = random();
    std::memcpy(buffer.data() + i, &word, std::min(sizeof word, buffer.size() - i));
  }
}

}  // namespace

TEST_CASE("200 MB from a fast server reach a slow TLS reader intact with bounded memory",
          "[integration][tls][backpressure]") {
  // The server pushes as fast as mqlb takes it; the TLS client reads at
  // 40 MB/s. mqlb encrypts into the client's outbox and must hold the server
  // back at the watermark instead of buffering the difference.
  constexpr size_t kPushed = 200u << 20;
  constexpr size_t kClientRate = 40u << 20;
  std::string pushed_sha;
  std::mutex pushed_mutex;
  ScriptedServer backend([&](Socket& connection) {
    Sha256 hash;
    std::mt19937_64 random(7);
    std::string chunk(kChunk, '\0');
    for (size_t sent = 0; sent < kPushed; sent += kChunk) {
      fill(random, chunk);
      hash.update(chunk);
      connection.send_all(chunk, Millis(60000));
    }
    {
      std::lock_guard lock(pushed_mutex);
      pushed_sha = hash.hex_digest();
    }
    connection.shutdown_write();
    connection.wait_closed(Millis(60000));
  });
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  const uint16_t tls_port = free_port();
  nlohmann::json config =
      basic_tls_config(tls_port, files.server.pem, {{"pusher", backend.port()}});
  config["defaults"]["timeouts"] = {{"connect", "1s"}, {"client", "5s"}, {"server", "5s"}};
  Mqlb lb(dir, config);

  TlsClient client(tls_port, files.ca, Millis(20000));
  const long rss_before = lb.rss_kib();
  long rss_peak = rss_before;
  Sha256 received_hash;
  size_t received = 0;
  const auto start = Clock::now();
  for (;;) {
    const auto due = start + std::chrono::microseconds(received * 1'000'000 / kClientRate);
    if (Clock::now() < due) std::this_thread::sleep_until(due);
    const std::string piece = client.receive_some(64 * 1024);
    if (piece.empty()) break;
    received += piece.size();
    received_hash.update(piece);
    if (received % (8u << 20) < piece.size()) rss_peak = std::max(rss_peak, lb.rss_kib());
  }
  CHECK(received == kPushed);
  {
    std::lock_guard lock(pushed_mutex);
    CHECK(received_hash.hex_digest() == pushed_sha);
  }
  // The server's FIN became a close_notify, then mqlb's FIN.
  CHECK(client.got_close_notify());
  client.close();
  const auto lines = lb.wait_for_access_lines(1);
  INFO(lines[0].raw);
  CHECK(lines[0].frontend == "mqtt~");
  CHECK(lines[0].termination == "--");
  CHECK(lines[0].bytes_read == static_cast<long>(kPushed));  // plaintext, as HAProxy counts
  if (!MQLB_SANITIZED) {
    INFO("VmRSS before " << rss_before << " KiB, peak " << rss_peak << " KiB");
    CHECK(rss_peak - rss_before < 16 * 1024);
  }
}

TEST_CASE("200 MB from a TLS client reach a slow server intact with bounded memory",
          "[integration][tls][backpressure]") {
  constexpr size_t kTotal = 200u << 20;
  auto received = std::make_shared<ReadSummary>();
  ScriptedServer backend(scripts::slow_reader(40u << 20, received));
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  const uint16_t tls_port = free_port();
  Mqlb lb(dir, basic_tls_config(tls_port, files.server.pem, {{"slow", backend.port()}}));

  TlsClient client(tls_port, files.ca, Millis(30000));
  REQUIRE(wait_until([&] { return backend.accepted() == 1; }, Millis(5000)));
  const long rss_before = lb.rss_kib();
  long rss_peak = rss_before;
  Sha256 sent_hash;
  std::mt19937_64 random(11);
  std::string chunk(kChunk, '\0');
  for (size_t sent = 0; sent < kTotal; sent += kChunk) {
    fill(random, chunk);
    sent_hash.update(chunk);
    client.send_all(chunk);
    rss_peak = std::max(rss_peak, lb.rss_kib());
  }
  client.close();
  REQUIRE(wait_until(
      [&] {
        std::lock_guard lock(received->mutex);
        return received->done;
      },
      Millis(120000), Millis(50)));
  {
    std::lock_guard lock(received->mutex);
    CHECK(received->bytes == kTotal);
    CHECK(received->sha256 == sent_hash.hex_digest());
  }
  if (!MQLB_SANITIZED) {
    INFO("VmRSS before " << rss_before << " KiB, peak " << rss_peak << " KiB");
    CHECK(rss_peak - rss_before < 16 * 1024);
  }
}

TEST_CASE("TLS to a mosquitto TLS listener: verified by CA and name, and refused on a wrong name",
          "[integration][tls]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir, {.tls_cert = files.server.cert, .tls_key = files.server.key});
  Subscriber on_broker(dir, broker.port(), "t");
  const uint16_t tls_port = free_port();
  nlohmann::json config = basic_config(free_port(), {{"b1", broker.tls_port()}});
  config["frontends"][0]["bind"].push_back(tls_bind(tls_port, files.server.pem));
  nlohmann::json& server = config["backends"][0]["servers"][0];
  server["ssl"] = true;
  server["ca-file"] = files.ca.string();
  server["sni"] = "mqlb.test";

  SECTION("a plain and a TLS client both reach the broker over TLS") {
    Mqlb lb(dir, config);
    const RunResult plain = mosquitto_pub(dir, lb.port(), "t", "plain in, TLS out");
    INFO(plain.stderr_text);
    CHECK(plain.exit_code == 0);
    const RunResult tls = mosquitto_pub(dir, tls_port, ClientTls{files.ca}, "t", "TLS all the way");
    INFO(tls.stderr_text);
    CHECK(tls.exit_code == 0);
    REQUIRE(wait_until([&] { return on_broker.payloads().size() == 2; }, Millis(10000)));
    CHECK(on_broker.payloads() == std::vector<std::string>{"plain in, TLS out", "TLS all the way"});
    const auto lines = lb.wait_for_access_lines(2);
    for (const auto& line : lines) {
      INFO(line.raw);
      CHECK(line.termination == "--");
      CHECK(line.server == "b1");
    }
  }

  SECTION("a certificate that does not name the sni is refused, and the session fails with SC") {
    server["sni"] = "wrong.example";
    config["backends"][0]["retries"] = 0;
    Mqlb lb(dir, config);
    const RunResult plain = mosquitto_pub(dir, lb.port(), "t", "never");
    CHECK(plain.exit_code != 0);
    const auto lines = lb.wait_for_access_lines(1);
    INFO(lines[0].raw);
    CHECK(lines[0].termination == "SC");
    CHECK(wait_until(
        [&] {
          return lb.stderr_text().find("TLS to server mqtt/b1 failed: certificate verify failed") !=
                 std::string::npos;
        },
        Millis(5000)));
    CHECK(on_broker.payloads().empty());
  }
}
