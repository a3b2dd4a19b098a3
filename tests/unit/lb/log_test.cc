// syslog_header: the RFC 3164 header of every syslog line. StreamWriter:
// the bounded thread behind stdout/stderr, checked on pipes.
#include "lb/log.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>

namespace mqlb::lb {
namespace {

using Millis = std::chrono::milliseconds;

void use_utc() {
  setenv("TZ", "UTC", 1);
  tzset();
}

constexpr int kLocal0 = 16;

TEST_CASE("syslog header has the priority the date the tag and the pid", "[log]") {
  use_utc();
  // 2026-11-22 14:26:37.100 UTC; local0.info = 16 * 8 + 6.
  CHECK(syslog_header(kLocal0, Level::Info, 1'795'357'597'100, 6781) ==
        "<134>Nov 22 14:26:37 mqlb[6781]: ");
}

TEST_CASE("syslog header pads a single digit day with a space", "[log]") {
  use_utc();
  // 2026-11-02 09:05:07 UTC. RFC 3164 §4.1.2.
  CHECK(syslog_header(kLocal0, Level::Info, 1'793'610'307'000, 42) ==
        "<134>Nov  2 09:05:07 mqlb[42]: ");
}

TEST_CASE("syslog header priority is facility times eight plus level", "[log]") {
  use_utc();
  CHECK(syslog_header(0, Level::Emerg, 0, 1) == "<0>Jan  1 00:00:00 mqlb[1]: ");
  CHECK(syslog_header(23, Level::Debug, 0, 1) == "<191>Jan  1 00:00:00 mqlb[1]: ");
  CHECK(syslog_header(3, Level::Warning, 0, 1) == "<28>Jan  1 00:00:00 mqlb[1]: ");
}

TEST_CASE("syslog header uses local time", "[log]") {
  setenv("TZ", "CET-1", 1);
  tzset();
  CHECK(syslog_header(kLocal0, Level::Info, 1'795'357'597'100, 1) ==
        "<134>Nov 22 15:26:37 mqlb[1]: ");
  use_utc();
}

// ---- StreamWriter on pipes ---------------------------------------------------

struct Pipe {
  int read_end = -1, write_end = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read_end = fds[0];
    write_end = fds[1];
    ::fcntl(read_end, F_SETFL, O_NONBLOCK);
  }
  ~Pipe() {
    ::close(read_end);
    if (write_end >= 0) ::close(write_end);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  // Whatever is in the pipe now.
  std::string available() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(read_end, buf, sizeof buf)) > 0)
      out.append(buf, static_cast<size_t>(n));
    return out;
  }
  // Reads until `size` bytes came, or `timeout` passed.
  std::string read(size_t size, Millis timeout = Millis(5000)) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < size && std::chrono::steady_clock::now() < deadline) {
      pollfd p{read_end, POLLIN, 0};
      ::poll(&p, 1, 10);
      out += available();
    }
    return out;
  }
  // Fills the pipe so that the next blocking write waits for a reader.
  size_t fill() {
    ::fcntl(write_end, F_SETFL, O_NONBLOCK);
    std::string chunk(4096, 'f');
    size_t total = 0;
    ssize_t n;
    while ((n = ::write(write_end, chunk.data(), chunk.size())) > 0)
      total += static_cast<size_t>(n);
    ::fcntl(write_end, F_SETFL, 0);
    return total;
  }
};

TEST_CASE("stream writer writes each descriptor's batches in the order pushed", "[log]") {
  Pipe out, err;
  StreamWriter writer;
  std::string batch = "o1\no2\n";
  writer.push(out.write_end, batch);
  CHECK(batch.empty());
  batch = "e1\n";
  writer.push(err.write_end, batch);
  batch = "o3\n";
  writer.push(out.write_end, batch);
  REQUIRE(writer.flush(Millis(5000)));
  CHECK(out.available() == "o1\no2\no3\n");
  CHECK(err.available() == "e1\n");
  CHECK(writer.dropped() == 0);
}

TEST_CASE("stream writer hands a written batch's buffer back for the next batch", "[log]") {
  Pipe out;
  StreamWriter writer;
  std::string batch(1000, 'x');
  batch += '\n';
  writer.push(out.write_end, batch);
  REQUIRE(writer.flush(Millis(5000)));
  batch = "y\n";
  writer.push(out.write_end, batch);
  CHECK(batch.empty());
  CHECK(batch.capacity() >= 1001);
  REQUIRE(writer.flush(Millis(5000)));
  CHECK(out.available().size() == 1001 + 2);
}

TEST_CASE("stream writer can be written to again after a flush", "[log]") {
  Pipe out;
  StreamWriter writer;
  CHECK(writer.flush(Millis(10)));  // nothing started yet
  std::string batch = "before\n";
  writer.push(out.write_end, batch);
  REQUIRE(writer.flush(Millis(5000)));
  batch = "after\n";
  writer.push(out.write_end, batch);
  REQUIRE(writer.flush(Millis(5000)));
  CHECK(out.available() == "before\nafter\n");
}

TEST_CASE("stream writer drops whole lines beyond its bound and says how many", "[log]") {
  Pipe out, warnings;
  const size_t filled = out.fill();
  StreamWriter writer(100, warnings.write_end);
  // The pipe is full: the first batch stays held (being written) at 60 of
  // the 100 bytes, the second keeps its two lines that fit, the third none.
  std::string batch = "line-one-of-twenty1\nline-two-of-twenty1\nline-three-of-twent\n";
  REQUIRE(batch.size() == 60);
  writer.push(out.write_end, batch);
  batch = "line-one-of-twenty2\nline-two-of-twenty2\nline-three-of-twent\n";
  writer.push(out.write_end, batch);
  batch = "dropped-line-number\n";
  writer.push(out.write_end, batch);
  CHECK(writer.dropped() == 2);

  const std::string written = out.read(filled + 100);
  REQUIRE(written.size() == filled + 100);
  CHECK(written.substr(filled) ==
        "line-one-of-twenty1\nline-two-of-twenty1\nline-three-of-twent\n"
        "line-one-of-twenty2\nline-two-of-twenty2\n");
  REQUIRE(writer.flush(Millis(5000)));
  // One warning, or two should the thread have looked between the drops.
  const std::string prefix = "[WARNING]  (" + std::to_string(::getpid()) + ") : ";
  const std::string suffix = " log lines dropped: stdout/stderr is read too slowly";
  const std::string told = warnings.available();
  INFO(told);
  CHECK((told == prefix + "2" + suffix + "\n" ||
         told == prefix + "1" + suffix + "\n" + prefix + "1" + suffix + "\n"));
}

TEST_CASE("stream writer tells about dropped lines once across restarts", "[log]") {
  Pipe out, warnings;
  StreamWriter writer(10, warnings.write_end);
  std::string batch = "more than ten bytes\n";
  writer.push(out.write_end, batch);
  REQUIRE(writer.flush(Millis(5000)));
  batch = "fits\n";
  writer.push(out.write_end, batch);  // a new thread
  REQUIRE(writer.flush(Millis(5000)));
  CHECK(out.available() == "fits\n");
  CHECK(warnings.available() == "[WARNING]  (" + std::to_string(::getpid()) +
                                    ") : 1 log lines dropped: stdout/stderr is read too slowly\n");
}

TEST_CASE("stream writer tells about lines dropped last before it stops", "[log]") {
  Pipe out, warnings;
  StreamWriter writer(10, warnings.write_end);
  std::string batch = "fits\n";
  writer.push(out.write_end, batch);
  batch = "does not fit\n";
  writer.push(out.write_end, batch);
  REQUIRE(writer.flush(Millis(5000)));
  CHECK(out.available() == "fits\n");
  CHECK(warnings.available() == "[WARNING]  (" + std::to_string(::getpid()) +
                                    ") : 1 log lines dropped: stdout/stderr is read too slowly\n");
}

TEST_CASE("stream writer resumes a partial write where it stopped", "[log]") {
  Pipe out;
  StreamWriter writer;
  // Larger than the pipe: writev(2) takes part, the rest follows as the
  // reader reads.
  std::string big;
  for (int i = 0; big.size() < 300'000; ++i)
    big += "line " + std::to_string(i) + "\n";
  const std::string expected = big;
  std::string small = "tail\n";
  writer.push(out.write_end, big);
  writer.push(out.write_end, small);
  CHECK(out.read(expected.size() + 5) == expected + "tail\n");
  CHECK(writer.flush(Millis(5000)));
}

TEST_CASE("stream writer stuck on a reader that does not read is abandoned by flush", "[log]") {
  Pipe out, warnings;
  const size_t filled = out.fill();
  auto writer = std::make_unique<StreamWriter>(StreamWriter::kDefaultMaxBytes, warnings.write_end);
  std::string batch = "stuck\n";
  writer->push(out.write_end, batch);
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(writer->flush(Millis(100)));
  // From now on nothing reaches the thread, and flush gives up at once.
  batch = "late\n";
  writer->push(out.write_end, batch);
  CHECK(writer->dropped() == 1);
  CHECK_FALSE(writer->flush(Millis(5000)));
  CHECK(std::chrono::steady_clock::now() - start < Millis(4000));
  // The writer goes away while its detached thread is still in writev(2);
  // the thread owns what it uses (AddressSanitizer checks the rest).
  writer.reset();
  const std::string written = out.read(filled + 6);
  CHECK(written.size() == filled + 6);
  CHECK(written.substr(filled) == "stuck\n");
  // Its last act: telling about the line it never got.
  const std::string told = "[WARNING]  (" + std::to_string(::getpid()) +
                           ") : 1 log lines dropped: stdout/stderr is read too slowly\n";
  CHECK(warnings.read(told.size()) == told);
}

}  // namespace
}  // namespace mqlb::lb
