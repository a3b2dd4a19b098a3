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
