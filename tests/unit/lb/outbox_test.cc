// Outbox: chunked bytes waiting for a socket, consumed as far as each
// (possibly partial) write went.
#include "lb/outbox.h"

#include <catch2/catch.hpp>
#include <string>

namespace mqlb::lb {
namespace {

std::string gathered(const Outbox& out) {
  iovec bufs[Outbox::kMaxBufs];
  int n = out.gather(bufs);
  std::string s;
  for (int i = 0; i < n; ++i)
    s.append(static_cast<const char*>(bufs[i].iov_base), bufs[i].iov_len);
  return s;
}

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(seed + i % 23);
  return s;
}

TEST_CASE("an outbox gives back what was appended, in order", "[outbox]") {
  Outbox::ChunkList chunks;
  Outbox out;
  CHECK(out.empty());
  out.append(chunks, "hello ", 6);
  out.append(chunks, "world", 5);
  CHECK(out.size() == 11);
  CHECK(gathered(out) == "hello world");
  out.consume(chunks, 11);
  CHECK(out.empty());
  CHECK(gathered(out).empty());
}

TEST_CASE("a partial write leaves the rest in place", "[outbox]") {
  Outbox::ChunkList chunks;
  Outbox out;
  out.append(chunks, "first", 5);
  out.consume(chunks, 2);
  CHECK(gathered(out) == "rst");
  out.append(chunks, "second", 6);
  CHECK(out.size() == 9);
  CHECK(gathered(out) == "rstsecond");
  out.consume(chunks, 9);
  CHECK(out.empty());
  out.append(chunks, "again", 5);  // an emptied outbox starts over cleanly
  CHECK(gathered(out) == "again");
  out.clear(chunks);  // an outbox's chunks belong to the list: its owner clears it
}

TEST_CASE("a large append spans chunks and one gather covers up to kMaxBufs of them", "[outbox]") {
  Outbox::ChunkList chunks;
  Outbox out;
  const std::string data = pattern(10 * Outbox::kChunkSize + 100, 'a');
  out.append(chunks, data.data(), data.size());
  std::string written;
  int writes = 0;
  while (!out.empty()) {
    std::string g = gathered(out);
    REQUIRE(!g.empty());
    REQUIRE(g.size() <= Outbox::kMaxBufs * Outbox::kChunkSize);
    written += g;
    out.consume(chunks, g.size());
    ++writes;
  }
  CHECK(written == data);
  CHECK(writes == 2);
}

TEST_CASE("interleaved appends and partial writes keep every byte once", "[outbox]") {
  Outbox::ChunkList chunks;
  Outbox out;
  std::string sent, written;
  for (int round = 0; round < 300; ++round) {
    std::string piece =
        pattern(static_cast<size_t>(round * 997 % 20000 + 1), char('A' + round % 26));
    out.append(chunks, piece.data(), piece.size());
    sent += piece;
    if (round % 3 == 0) {
      std::string g = gathered(out);
      size_t took = g.size() / 3 + 1;  // the socket took a part
      written += g.substr(0, took);
      out.consume(chunks, took);
    }
  }
  while (!out.empty()) {
    std::string g = gathered(out);
    written += g;
    out.consume(chunks, g.size());
  }
  CHECK(written == sent);
}

TEST_CASE("clear drops everything and the chunks go back to the lists", "[outbox]") {
  Outbox::ChunkList chunks;
  Outbox out;
  const std::string data = pattern(3 * Outbox::kChunkSize, 'x');
  out.append(chunks, "small", 5);
  out.append(chunks, data.data(), data.size());
  CHECK(gathered(out).substr(0, 5) == "small");
  out.clear(chunks);
  CHECK(out.empty());
  CHECK(out.size() == 0);
}

}  // namespace
}  // namespace mqlb::lb
