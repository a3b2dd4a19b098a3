// Logging never blocks the relay (DESIGN.md §1: workers never block): with
// stdout on a pipe that nobody reads, sessions keep being served, and the
// access lines all arrive once the reader catches up.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("a stalled stdout reader does not stall sessions", "[integration][log]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  const std::string fifo = dir.unique("stdout.fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Our end of the pipe exists (so mqlb's open does not wait) but is not
  // read until the end: a pipe buffer holds about 700 access lines.
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);

  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  const Mqlb::Options on_fifo = {.launcher = {"sh", "-c", "exec \"$@\" >" + fifo, "sh"}};
  Mqlb lb(dir, config, on_fifo);

  constexpr int kSessions = 2000;
  for (int n = 0; n < kSessions; ++n) {
    Socket client = echoed_session(lb.port(), "ping");
  }

  // Now read: every line is there, none was lost while the pipe was full.
  std::string out;
  int lines = 0;
  CHECK(wait_until(
      [&] {
        char buf[65536];
        ssize_t n;
        while ((n = ::read(reader, buf, sizeof buf)) > 0)
          out.append(buf, static_cast<size_t>(n));
        lines = 0;
        for (char c : out)
          lines += c == '\n';
        return lines >= kSessions;
      },
      Millis(20000)));
  CHECK(lines == kSessions);
  ::close(reader);
}
