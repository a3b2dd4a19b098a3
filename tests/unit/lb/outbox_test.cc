// Outbox: chunked bytes waiting for a socket, with bytes in flight kept in
// place while new ones are appended.
#include "lb/outbox.h"

#include <catch2/catch.hpp>
#include <string>

namespace mqlb::lb {
namespace {

std::string gather(const uv_buf_t* bufs, int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s.append(bufs[i].base, bufs[i].len);
  return s;
}

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(seed + i % 23);
  return s;
}

TEST_CASE("an outbox writes what was appended, in order", "[outbox]") {
  Outbox::ChunkList chunks;
  Outbox out;
  CHECK(out.empty());
  out.append(chunks, "hello ", 6);
  out.append(chunks, "world", 5);
  CHECK(out.size() == 11);
  uv_buf_t bufs[Outbox::kMaxBufs];
  int n = out.start_write(bufs);
  CHECK(gather(bufs, n) == "hello world");
  CHECK(out.writing());
  CHECK(out.start_write(bufs) == 0);  // one write at a time
  out.write_done(chunks);
  CHECK(out.empty());
  CHECK_FALSE(out.writing());
}

TEST_CASE("bytes appended during a write go out with the next one", "[outbox]") {
  Outbox::ChunkList chunks;
  Outbox out;
  uv_buf_t bufs[Outbox::kMaxBufs];
  out.append(chunks, "first", 5);
  int n = out.start_write(bufs);
  const char* base = bufs[0].base;
  out.append(chunks, "second", 6);  // same chunk, after the bytes in flight
  CHECK(std::string(base, 5) == "first");
  CHECK(out.size() == 11);
  out.write_done(chunks);
  CHECK(out.size() == 6);
  n = out.start_write(bufs);
  CHECK(gather(bufs, n) == "second");
  out.write_done(chunks);
  CHECK(out.empty());
}

TEST_CASE("a large append spans chunks and is written four chunks at a time", "[outbox]") {
  Outbox::ChunkList chunks;
  Outbox out;
  const std::string data = pattern(5 * Outbox::kChunkSize + 100, 'a');
  out.append(chunks, data.data(), data.size());
  std::string written;
  uv_buf_t bufs[Outbox::kMaxBufs];
  int writes = 0;
  while (!out.empty()) {
    int n = out.start_write(bufs);
    REQUIRE(n > 0);
    REQUIRE(n <= Outbox::kMaxBufs);
    written += gather(bufs, n);
    out.write_done(chunks);
    ++writes;
  }
  CHECK(written == data);
  CHECK(writes == 2);
}

TEST_CASE("interleaved appends and writes keep every byte once", "[outbox]") {
  Outbox::ChunkList chunks;
  Outbox out;
  std::string sent, written;
  uv_buf_t bufs[Outbox::kMaxBufs];
  for (int round = 0; round < 200; ++round) {
    std::string piece =
        pattern(static_cast<size_t>(round * 997 % 20000 + 1), char('A' + round % 26));
    out.append(chunks, piece.data(), piece.size());
    sent += piece;
    if (round % 3 == 0) {
      int n = out.start_write(bufs);
      written += gather(bufs, n);
    }
    if (round % 3 == 2 && out.writing()) out.write_done(chunks);
  }
  if (out.writing()) out.write_done(chunks);
  while (!out.empty()) {
    int n = out.start_write(bufs);
    written += gather(bufs, n);
    out.write_done(chunks);
  }
  CHECK(written == sent);
}

TEST_CASE("clear drops everything and the chunks go back to the list", "[outbox]") {
  Outbox::ChunkList chunks;
  Outbox out;
  const std::string data = pattern(3 * Outbox::kChunkSize, 'x');
  out.append(chunks, data.data(), data.size());
  out.clear(chunks);
  CHECK(out.empty());
  CHECK(out.size() == 0);
}

}  // namespace
}  // namespace mqlb::lb
