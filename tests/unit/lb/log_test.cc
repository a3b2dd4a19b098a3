// syslog_header: the RFC 3164 header of every syslog line. StreamWriter:
// the bounded thread behind stdout/stderr. The sinks: per-thread batches
// that leave at flush_thread_logs(), checked on a pipe put in place of
// stderr (or stdout) and on a loopback UDP socket.
#include "lb/log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lb/access_log.h"

namespace mqlb::lb {
namespace {

using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
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

TEST_CASE("appending a log header keeps what the buffer holds", "[log]") {
  use_utc();
  std::string out = "x";
  append_log_header({}, Level::Notice, 1'795'357'598'000'000, 77, out);
  CHECK(out == "x<133>Nov 22 14:26:38 mqlb[77]: ");
}

// 2026-11-22 14:26:41.100042 UTC, a second no other test formats (the local
// time of a second is cached per thread, whatever TZ says since).
constexpr int64_t kUnixUs = 1'795'357'601'100'042;

std::string header(conf::LogTarget::Format format, std::string tag = "mqlb", std::string host = "",
                   int64_t unix_us = kUnixUs) {
  std::string out;
  append_log_header({format, kLocal0, std::move(tag), std::move(host)}, Level::Info, unix_us, 6781,
                    out);
  return out;
}

TEST_CASE("every log format writes HAProxy 2.6's header", "[log]") {
  use_utc();
  using F = conf::LogTarget::Format;
  CHECK(header(F::Local) == "<134>Nov 22 14:26:41 mqlb[6781]: ");
  CHECK(header(F::Rfc3164) == "<134>Nov 22 14:26:41 localhost mqlb[6781]: ");
  CHECK(header(F::Rfc3164, "mqtt-lb", "edge1") == "<134>Nov 22 14:26:41 edge1 mqtt-lb[6781]: ");
  CHECK(header(F::Rfc5424) == "<134>1 2026-11-22T14:26:41.100042+00:00 - mqlb 6781 - - ");
  CHECK(header(F::Rfc5424, "lb", "edge1") ==
        "<134>1 2026-11-22T14:26:41.100042+00:00 edge1 lb 6781 - - ");
  CHECK(header(F::Priority) == "<134>");
  CHECK(header(F::Short) == "<6>");
  CHECK(header(F::Timed) == "<6>2026-11-22T14:26:41.100042+00:00 ");
  CHECK(header(F::Iso) == "2026-11-22T14:26:41.100042+00:00 ");
  CHECK(header(F::Raw).empty());
  // The tag and host only where the format has them.
  CHECK(header(F::Local, "x", "edge1") == "<134>Nov 22 14:26:41 x[6781]: ");
  CHECK(header(F::Timed, "x", "edge1") == "<6>2026-11-22T14:26:41.100042+00:00 ");
}

TEST_CASE("ISO dates carry the zone's offset from UTC", "[log]") {
  using F = conf::LogTarget::Format;
  // Each at a second of its own (see kUnixUs).
  setenv("TZ", "CET-1", 1);
  tzset();
  CHECK(header(F::Iso, "", "", kUnixUs + 10'000'000) == "2026-11-22T15:26:51.100042+01:00 ");
  setenv("TZ", "NST+3:30", 1);  // west of UTC, a half hour
  tzset();
  CHECK(header(F::Iso, "", "", kUnixUs + 20'000'000) == "2026-11-22T10:57:01.100042-03:30 ");
  use_utc();
  std::string out;
  LogHeader h;
  h.format = F::Rfc5424;
  append_log_header(h, Level::Err, 0, 1, out);
  CHECK(out == "<131>1 1970-01-01T00:00:00.000000+00:00 - mqlb 1 - - ");
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

// ---- sinks on a captured stderr or stdout ------------------------------------

// Puts a pipe in place of `fd` until destroyed. No Catch2 assertion may run
// while stdout is captured: its report would go into the pipe.
class CapturedFd {
 public:
  explicit CapturedFd(int fd) : fd_(fd), saved_(::dup(fd)) {
    std::cout.flush();
    std::fflush(nullptr);
    ::dup2(pipe_.write_end, fd_);
  }
  ~CapturedFd() { restore(); }
  void restore() {
    if (saved_ < 0) return;
    ::dup2(saved_, fd_);
    ::close(saved_);
    saved_ = -1;
  }
  Pipe& pipe() { return pipe_; }

 private:
  Pipe pipe_;
  int fd_;
  int saved_;
};

// Waits until the writer thread wrote everything it was handed, without
// flushing the calling thread's batches.
void drain_writer() {
  std::thread([] { flush_log_writer(); }).join();
}

std::unique_ptr<LogSink> open_sink(conf::LogTarget target) {
  std::string error;
  auto sink = LogSink::open(target, "mqlb", std::nullopt, error);
  INFO(error);
  REQUIRE(sink);
  return sink;
}

conf::LogTarget stream_target(conf::LogTarget::Kind kind) {
  conf::LogTarget t;
  t.kind = kind;
  t.format = conf::LogTarget::Format::Raw;
  return t;
}

TEST_CASE("a thread that never flushed its logs hands each line on at once", "[log]") {
  CapturedFd err(2);
  auto sink = open_sink(stream_target(conf::LogTarget::Kind::Stderr));
  std::string seen;
  std::thread([&] {
    sink->write("right away", Level::Info);
    seen = err.pipe().read(11);
  }).join();
  err.restore();
  CHECK(seen == "right away\n");
}

TEST_CASE("a stream target with a format writes its header before each line", "[log]") {
  use_utc();
  CapturedFd err(2);
  conf::LogTarget t = stream_target(conf::LogTarget::Kind::Stderr);
  t.format = conf::LogTarget::Format::Short;
  t.level = 7;
  auto sink = open_sink(t);
  std::string seen;
  std::thread([&] {
    sink->write("debug line", Level::Debug);
    seen = err.pipe().read(14);
  }).join();
  err.restore();
  CHECK(seen == "<7>debug line\n");
}

TEST_CASE("once a thread flushed its logs its lines wait for the next flush", "[log]") {
  CapturedFd err(2);
  auto sink = open_sink(stream_target(conf::LogTarget::Kind::Stderr));
  std::string before, after;
  std::thread([&] {
    flush_thread_logs();
    sink->write("first", Level::Info);
    sink->write("second", Level::Info);
    drain_writer();
    before = err.pipe().available();
    flush_thread_logs();
    drain_writer();
    after = err.pipe().available();
  }).join();
  err.restore();
  CHECK(before.empty());
  CHECK(after == "first\nsecond\n");
}

TEST_CASE("a batch of 16 KiB goes to the writer without waiting for the flush", "[log]") {
  CapturedFd err(2);
  auto sink = open_sink(stream_target(conf::LogTarget::Kind::Stderr));
  const std::string line(99, 'a');  // 100 bytes with its newline
  std::string early, rest;
  std::thread([&] {
    flush_thread_logs();
    for (int i = 0; i < 200; ++i)
      sink->write(line, Level::Info);
    drain_writer();
    early = err.pipe().available();
    flush_thread_logs();
    drain_writer();
    rest = err.pipe().available();
  }).join();
  err.restore();
  CHECK(early.size() == 164 * 100);  // the first batch at or over 16384 bytes
  CHECK(early.size() + rest.size() == 200 * 100);
}

TEST_CASE("a thread's batched lines are written when the thread exits", "[log]") {
  CapturedFd err(2);
  auto sink = open_sink(stream_target(conf::LogTarget::Kind::Stderr));
  std::thread([&] {
    flush_thread_logs();
    sink->write("last words", Level::Info);
  }).join();
  drain_writer();
  const std::string seen = err.pipe().available();
  err.restore();
  CHECK(seen == "last words\n");
}

TEST_CASE("an event goes out at once after the lines batched before it", "[log]") {
  CapturedFd err(2);
  auto sink = open_sink(stream_target(conf::LogTarget::Kind::Stderr));
  std::string seen;
  std::thread([&] {
    flush_thread_logs();
    sink->write("access line", Level::Info);
    log_event(Level::Warning, "something happened");
    drain_writer();
    seen = err.pipe().available();
  }).join();
  err.restore();
  CHECK(seen ==
        "access line\n[WARNING]  (" + std::to_string(::getpid()) + ") : something happened\n");
}

TEST_CASE("logging an event does not make a thread batch its lines", "[log]") {
  CapturedFd err(2);
  auto sink = open_sink(stream_target(conf::LogTarget::Kind::Stderr));
  std::string seen;
  std::thread([&] {
    log_event(Level::Notice, "ready");
    sink->write("unbatched", Level::Info);
    drain_writer();
    seen = err.pipe().available();
  }).join();
  err.restore();
  CHECK(seen == "[NOTICE]   (" + std::to_string(::getpid()) + ") : ready\nunbatched\n");
}

TEST_CASE("an access line goes to every sink as one tcplog line", "[log]") {
  setenv("TZ", "UTC", 1);
  tzset();
  AccessRecord r;
  r.client_addr = "127.0.0.1";
  r.client_port = 40000;
  r.frontend = "fe";
  r.backend = "be";
  r.server = "s1";
  r.queue_ms = 0;
  r.connect_ms = 0;
  const std::string expected = format_tcplog(r) + "\n";
  CapturedFd err(2);
  auto sink = open_sink(stream_target(conf::LogTarget::Kind::Stderr));
  std::shared_ptr<LogSink> shared(std::move(sink));
  LogSinks sinks = {shared, shared};
  std::thread([&] {
    flush_thread_logs();
    log_access(r, sinks);
    log_access(r, {});
    flush_thread_logs();
  }).join();
  drain_writer();
  const std::string seen = err.pipe().available();
  err.restore();
  CHECK(seen == expected + expected);
}

TEST_CASE("lines from many threads all arrive, each thread's in its order", "[log]") {
  CapturedFd err(2);
  auto sink = open_sink(stream_target(conf::LogTarget::Kind::Stderr));
  constexpr int kThreads = 4, kLines = 3000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      flush_thread_logs();
      for (int n = 0; n < kLines; ++n) {
        sink->write("t" + std::to_string(t) + " " + std::to_string(n), Level::Info);
        if (n % 100 == 99) flush_thread_logs();
      }
    });
  }
  // More than a pipe holds: read while they write.
  std::string seen;
  int lines = 0;
  const auto deadline = std::chrono::steady_clock::now() + Millis(10000);
  while (lines < kThreads * kLines && std::chrono::steady_clock::now() < deadline) {
    const std::string more = err.pipe().read(1, Millis(50));
    lines += static_cast<int>(std::count(more.begin(), more.end(), '\n'));
    seen += more;
  }
  for (auto& thread : threads)
    thread.join();
  err.restore();
  REQUIRE(lines == kThreads * kLines);
  std::vector<int> next(kThreads, 0);
  bool ordered = true;
  size_t at = 0;
  while (at < seen.size()) {
    const size_t end = seen.find('\n', at);
    const std::string line = seen.substr(at, end - at);
    const int t = line[1] - '0';
    ordered = ordered && line == "t" + std::to_string(t) + " " + std::to_string(next[t]++);
    at = end + 1;
  }
  CHECK(ordered);
  CHECK(next == std::vector<int>(kThreads, kLines));
}

TEST_CASE("the stdout sink writes to descriptor 1", "[log]") {
  auto sink = open_sink(stream_target(conf::LogTarget::Kind::Stdout));
  CapturedFd out(1);
  std::thread([&] {
    flush_thread_logs();
    sink->write("to stdout", Level::Info);
  }).join();
  drain_writer();
  const std::string seen = out.pipe().available();
  out.restore();
  CHECK(seen == "to stdout\n");
}

// ---- syslog on a loopback UDP socket -----------------------------------------

class UdpReceiver {
 public:
  UdpReceiver() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~UdpReceiver() { ::close(fd_); }
  uint16_t port() const { return port_; }

  // The datagrams queued now (loopback UDP is delivered within send(2)).
  std::vector<std::string> available() {
    std::vector<std::string> out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) >= 0)
      out.emplace_back(buf, static_cast<size_t>(n));
    return out;
  }

 private:
  int fd_;
  uint16_t port_ = 0;
};

conf::LogTarget syslog_target(uint16_t port, int level = 6) {
  conf::LogTarget t;
  t.kind = conf::LogTarget::Kind::Syslog;
  t.host = "127.0.0.1";
  t.port = port;
  t.level = level;
  return t;
}

// The message part of an RFC 3164 datagram from this process, facility
// local0, without the LF that ends it as HAProxy's do; "" when the header is
// not ours or the LF is missing.
std::string message_of(const std::string& datagram, Level level = Level::Info) {
  const std::string tag = " mqlb[" + std::to_string(::getpid()) + "]: ";
  const std::string pri = "<" + std::to_string(16 * 8 + static_cast<int>(level)) + ">";
  const auto at = datagram.find(tag);
  if (datagram.rfind(pri, 0) != 0 || at == std::string::npos || datagram.back() != '\n') return "";
  return datagram.substr(at + tag.size(), datagram.size() - 1 - at - tag.size());
}

TEST_CASE("syslog datagrams of a flushing thread leave together at the flush", "[log]") {
  UdpReceiver syslog;
  auto sink = open_sink(syslog_target(syslog.port()));
  std::vector<std::string> before, after;
  std::thread([&] {
    flush_thread_logs();
    for (const char* line : {"one", "two", "three"})
      sink->write(line, Level::Info);
    before = syslog.available();
    flush_thread_logs();
    after = syslog.available();
  }).join();
  CHECK(before.empty());
  REQUIRE(after.size() == 3);
  CHECK(message_of(after[0]) == "one");
  CHECK(message_of(after[1]) == "two");
  CHECK(message_of(after[2]) == "three");
}

TEST_CASE("a syslog sink sends its tag and the host name it was given", "[log]") {
  UdpReceiver syslog;
  conf::LogTarget t = syslog_target(syslog.port());
  std::string error;
  // No format: HAProxy's default with a host name, rfc3164.
  auto named = LogSink::open(t, "edge", std::string("gw1"), error);
  REQUIRE(named);
  t.format = conf::LogTarget::Format::Rfc5424;
  // "": this machine's name.
  auto machine = LogSink::open(t, "edge", std::string(), error);
  REQUIRE(machine);
  std::thread([&] {
    named->write("one", Level::Info);
    machine->write("two", Level::Warning);
  }).join();
  std::vector<std::string> got = syslog.available();
  REQUIRE(got.size() == 2);
  const std::string pid = std::to_string(::getpid());
  CHECK_THAT(got[0], StartsWith("<134>"));
  CHECK_THAT(got[0], EndsWith(" gw1 edge[" + pid + "]: one\n"));
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  CHECK_THAT(got[1], StartsWith("<132>1 "));
  CHECK_THAT(got[1], EndsWith(" " + std::string(host) + " edge " + pid + " - - two\n"));
}

TEST_CASE("a line longer than the target's len is cut there, and the LF kept", "[log]") {
  UdpReceiver syslog;
  conf::LogTarget t = syslog_target(syslog.port());
  t.format = conf::LogTarget::Format::Priority;  // "<134>": 5 bytes
  t.len = 80;
  auto sink = open_sink(t);
  conf::LogTarget s = stream_target(conf::LogTarget::Kind::Stderr);
  s.len = 80;
  auto stream = open_sink(s);
  CapturedFd err(2);
  const std::string text(100, 'x');
  std::string streamed;
  std::thread([&] {
    sink->write(text, Level::Info);
    sink->write("short", Level::Info);
    stream->write(text, Level::Info);
    streamed = err.pipe().read(80);
  }).join();
  err.restore();
  // A datagram: header and text cut to 80 bytes, then the LF (HAProxy's
  // __do_send_log); a stream's 80 bytes hold its LF (fd_write_frag_line).
  std::vector<std::string> got = syslog.available();
  REQUIRE(got.size() == 2);
  CHECK(got[0] == "<134>" + std::string(75, 'x') + "\n");
  CHECK(got[1] == "<134>short\n");
  CHECK(streamed == std::string(79, 'x') + "\n");
}

TEST_CASE("thirty-two syslog datagrams leave without waiting for the flush", "[log]") {
  UdpReceiver syslog;
  auto sink = open_sink(syslog_target(syslog.port()));
  std::vector<std::string> early, rest;
  std::thread([&] {
    flush_thread_logs();
    for (int i = 0; i < 33; ++i)
      sink->write("line " + std::to_string(i), Level::Info);
    early = syslog.available();
    flush_thread_logs();
    rest = syslog.available();
  }).join();
  REQUIRE(early.size() == 32);
  CHECK(message_of(early[0]) == "line 0");
  CHECK(message_of(early[31]) == "line 31");
  REQUIRE(rest.size() == 1);
  CHECK(message_of(rest[0]) == "line 32");
}

TEST_CASE("a syslog line from a thread that never flushed is sent at once", "[log]") {
  UdpReceiver syslog;
  auto sink = open_sink(syslog_target(syslog.port()));
  std::vector<std::string> seen;
  std::thread([&] {
    sink->write("now", Level::Info);
    seen = syslog.available();
  }).join();
  REQUIRE(seen.size() == 1);
  CHECK(message_of(seen[0]) == "now");
}

TEST_CASE("syslog drops lines less severe than the target's level", "[log]") {
  UdpReceiver syslog;
  auto sink = open_sink(syslog_target(syslog.port(), static_cast<int>(Level::Warning)));
  std::vector<std::string> seen;
  std::thread([&] {
    flush_thread_logs();
    sink->write("chatter", Level::Info);
    sink->write("trouble", Level::Err);
    flush_thread_logs();
    seen = syslog.available();
  }).join();
  REQUIRE(seen.size() == 1);
  CHECK(message_of(seen[0], Level::Err) == "trouble");
}

TEST_CASE("a syslog sink closed with lines batched still sends them on its own socket", "[log]") {
  UdpReceiver syslog;
  auto sink = open_sink(syslog_target(syslog.port()));
  std::vector<std::string> seen;
  std::thread([&] {
    flush_thread_logs();
    sink->write("after a reload", Level::Info);
    sink.reset();  // a reload drops the old runtime's sinks
    flush_thread_logs();
    seen = syslog.available();
  }).join();
  REQUIRE(seen.size() == 1);
  CHECK(message_of(seen[0]) == "after a reload");
}

TEST_CASE("events go to the syslog sinks with their level", "[log]") {
  UdpReceiver syslog;
  std::shared_ptr<LogSink> sink = open_sink(syslog_target(syslog.port()));
  CapturedFd err(2);
  std::thread([&] { log_event(Level::Alert, "broken", {sink}); }).join();
  drain_writer();
  err.restore();
  const auto seen = syslog.available();
  REQUIRE(seen.size() == 1);
  CHECK(message_of(seen[0], Level::Alert) == "broken");
}

TEST_CASE("events go to a stdout target with its header, and not twice to stderr", "[log]") {
  use_utc();
  conf::LogTarget out = stream_target(conf::LogTarget::Kind::Stdout);
  out.format = conf::LogTarget::Format::Short;
  std::shared_ptr<LogSink> stdout_sink = open_sink(out);
  std::shared_ptr<LogSink> stderr_sink = open_sink(stream_target(conf::LogTarget::Kind::Stderr));
  CapturedFd o(1);
  CapturedFd e(2);
  std::thread([&] { log_event(Level::Warning, "careful", {stdout_sink, stderr_sink}); }).join();
  drain_writer();
  const std::string on_stdout = o.pipe().available();
  const std::string on_stderr = e.pipe().available();
  e.restore();
  o.restore();
  CHECK(on_stdout == "<4>careful\n");
  CHECK(on_stderr == "[WARNING]  (" + std::to_string(::getpid()) + ") : careful\n");
}

}  // namespace
}  // namespace mqlb::lb
