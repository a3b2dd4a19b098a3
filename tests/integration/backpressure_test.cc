// Backpressure (DESIGN.md §4): a client pushes 200 MB through mqlb to a
// backend that reads at 20 MB/s. Every byte must arrive intact, and mqlb must
// hold the client back instead of buffering the difference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sha256.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

constexpr size_t kTotalBytes = 200u << 20;
constexpr size_t kReadRate = 20u << 20;  // bytes per second
constexpr size_t kChunk = 1u << 20;

// Deterministic pseudo-random bytes, so that a lost, repeated or reordered
// block changes the digest.
class Noise {
 public:
  void fill(std::string& buffer) {
    for (size_t i = 0; i < buffer.size(); i += sizeof(uint64_t)) {
      const uint64_t word = random_();
      std::memcpy(buffer.data() + i, &word, std::min(sizeof word, buffer.size() - i));
    }
  }

 private:
  std::mt19937_64 random_{42};
};

}  // namespace

TEST_CASE("a fast client and a slow server relay 200 MB intact with bounded memory",
          "[integration][backpressure]") {
  TempDir dir;
  auto received = std::make_shared<ReadSummary>();
  ScriptedServer backend(scripts::slow_reader(kReadRate, received));
  Mqlb lb(dir, basic_config(free_port(), {{"slow", backend.port()}}));

  Socket client = Socket::connect(lb.port());
  REQUIRE(wait_until([&] { return backend.accepted() == 1; }, Millis(5000)));
  const long rss_before = lb.rss_kib();
  long rss_peak = rss_before;

  Sha256 sent_hash;
  Noise noise;
  std::string chunk(kChunk, '\0');
  for (size_t sent = 0; sent < kTotalBytes; sent += kChunk) {
    noise.fill(chunk);
    sent_hash.update(chunk);
    client.send_all(chunk, Millis(30000));
    rss_peak = std::max(rss_peak, lb.rss_kib());
  }
  client.shutdown_write();
  const std::string sent_sha256 = sent_hash.hex_digest();

  REQUIRE(wait_until(
      [&] {
        rss_peak = std::max(rss_peak, lb.rss_kib());
        std::lock_guard lock(received->mutex);
        return received->done;
      },
      Millis(120000), Millis(50)));
  {
    std::lock_guard lock(received->mutex);
    CHECK(received->bytes == kTotalBytes);
    CHECK(received->sha256 == sent_sha256);
  }
  CHECK(backend.errors().empty());

  // The backend closes after EOF; the client then sees mqlb close too.
  CHECK(client.wait_closed(Millis(10000)) == Closed::kEof);
  const auto lines = lb.wait_for_access_lines(1);
  CHECK(lines[0].termination == "--");

  if (!MQLB_SANITIZED) {
    INFO("VmRSS before " << rss_before << " KiB, peak " << rss_peak << " KiB");
    CHECK(rss_peak - rss_before < 16 * 1024);
  }
}

TEST_CASE("a slow subscriber behind a fast server is never timed out while data moves",
          "[integration][backpressure]") {
  // The server pushes 24 MB as fast as it can; the client takes 4 MB/s, so
  // the relay spends about 6 s holding the server back, three times
  // `timeout server`. Held back is not idle: the session must survive.
  constexpr size_t kPushed = 24u << 20;
  constexpr size_t kClientRate = 4u << 20;
  auto pushed_sha = std::make_shared<std::string>();
  std::mutex pushed_mutex;
  ScriptedServer backend([&, pushed_sha](Socket& connection) {
    Sha256 hash;
    Noise noise;
    std::string chunk(kChunk, '\0');
    for (size_t sent = 0; sent < kPushed; sent += kChunk) {
      noise.fill(chunk);
      hash.update(chunk);
      connection.send_all(chunk, Millis(60000));
    }
    {
      std::lock_guard lock(pushed_mutex);
      *pushed_sha = hash.hex_digest();
    }
    connection.shutdown_write();
    connection.wait_closed(Millis(60000));
  });
  TempDir dir;
  nlohmann::json config = basic_config(free_port(), {{"pusher", backend.port()}});
  config["defaults"]["timeouts"] = {{"connect", "1s"}, {"client", "2s"}, {"server", "2s"}};
  Mqlb lb(dir, config);

  Socket client = Socket::connect(lb.port());
  Sha256 received_hash;
  size_t received = 0;
  const auto start = Clock::now();
  for (;;) {
    // Pace the reads: never ahead of kClientRate.
    const auto due = start + std::chrono::microseconds(received * 1'000'000 / kClientRate);
    if (Clock::now() < due) client.pause(std::chrono::duration_cast<Millis>(due - Clock::now()));
    const std::string piece = client.receive_some(64 * 1024, Millis(10000));
    if (piece.empty()) break;
    received += piece.size();
    received_hash.update(piece);
  }
  CHECK(received == kPushed);
  {
    std::lock_guard lock(pushed_mutex);
    CHECK(received_hash.hex_digest() == *pushed_sha);
  }
  client.close();
  const auto lines = lb.wait_for_access_lines(1);
  INFO(lines[0].raw);
  CHECK(lines[0].termination == "--");
  CHECK(lines[0].total_ms >= 4000);  // it did outlast timeout server twice over
  CHECK(lines[0].bytes_read == static_cast<long>(kPushed));
}

TEST_CASE("a thousand queued clients pushing data cost at most tune.bufsize each",
          "[integration][backpressure]") {
  // Until its server is connected a session reads at most tune.bufsize
  // (16 KiB) from its client; the rest waits in the kernel.
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = one_slot_config(backend.port(), "60s");
  config["global"]["maxconn"] = 2000;
  Mqlb lb(dir, config);

  Socket holder = Socket::connect(lb.port());
  holder.send_all("hold");
  REQUIRE(holder.receive_exactly(4) == "hold");
  const long rss_before = lb.rss_kib();

  constexpr int kClients = 1000;
  const std::string megabyte(1u << 20, 'q');
  std::vector<Socket> queued;
  size_t pushed = 0;
  for (int i = 0; i < kClients; ++i) {
    queued.push_back(Socket::connect(lb.port()));
    // As much as the kernel takes at once, without waiting.
    ssize_t n = ::send(queued.back().fd(), megabyte.data(), megabyte.size(), MSG_DONTWAIT);
    if (n > 0) pushed += static_cast<size_t>(n);
  }
  INFO("pushed " << pushed / 1024 << " KiB in all");
  REQUIRE(pushed > size_t(kClients) * 64 * 1024);  // far more than 16 KiB each
  long rss_peak = rss_before;
  // A bounded window to let mqlb read what it will; the peak is what counts.
  wait_until(
      [&] {
        rss_peak = std::max(rss_peak, lb.rss_kib());
        return false;
      },
      Millis(2000), Millis(50));
  // None of them was served, none was refused: they all wait.
  CHECK(backend.accepted() == 1);
  CHECK(lb.access_lines().empty());
  if (!MQLB_SANITIZED) {
    INFO("VmRSS before " << rss_before << " KiB, peak " << rss_peak << " KiB");
    CHECK(rss_peak - rss_before < kClients * 16 + 16 * 1024);
  }
}
