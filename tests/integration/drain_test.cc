// SIGTERM is a graceful stop: mqlb stops accepting at once, lets live
// sessions finish (bounded by global.hard_stop_after) and exits 0.
#include <signal.h>

#include <catch2/catch.hpp>

#include <cerrno>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// True once a connection to `port` is refused (nothing listens any more).
bool refuses_connections(uint16_t port) {
  int error = 0;
  Socket probe = Socket::try_connect(port, Millis(500), error);
  return error == ECONNREFUSED;
}

}  // namespace

TEST_CASE("after SIGTERM a live session keeps relaying and mqlb exits when it ends",
          "[integration][drain]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  config["global"]["hard_stop_after"] = "60s";
  Mqlb lb(dir, config);

  Socket session = Socket::connect(lb.port());
  const uint16_t session_port = session.local_port();
  session.send_all("before");
  REQUIRE(session.receive_exactly(6) == "before");

  lb.process().signal(SIGTERM);
  CHECK(wait_until([&] { return refuses_connections(lb.port()); }, Millis(5000)));

  session.send_all("after the signal");
  CHECK(session.receive_exactly(16) == "after the signal");
  CHECK(lb.process().running());

  session.close();
  CHECK(lb.process().wait_exit(Millis(10000)) == 0);
  const AccessLine line = lb.access_line_for(session_port, Millis(0));
  INFO(line.raw);
  CHECK(line.termination == "--");
  CHECK(line.bytes_read == 6 + 16);
}

TEST_CASE("after SIGTERM hard_stop_after closes the sessions that are still open",
          "[integration][drain]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  config["global"]["hard_stop_after"] = "1s";
  Mqlb lb(dir, config);

  Socket session = echoed_session(lb.port(), "hello");

  lb.process().signal(SIGTERM);
  const auto start = Clock::now();
  CHECK(session.wait_closed(Millis(10000)) != Closed::kStillOpen);
  const long after = elapsed_ms(start);
  CHECK(after >= 800);
  CHECK(after < 6000);
  CHECK(lb.process().wait_exit(Millis(10000)) == 0);
}

TEST_CASE("SIGINT stops mqlb at once with exit status 0", "[integration][drain]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  config["global"]["hard_stop_after"] = "60s";
  Mqlb lb(dir, config);

  Socket session = echoed_session(lb.port(), "hello");

  lb.process().signal(SIGINT);
  CHECK(lb.process().wait_exit(Millis(5000)) == 0);
  CHECK(session.wait_closed(Millis(5000)) != Closed::kStillOpen);
}
