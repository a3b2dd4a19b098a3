// SIGTERM is a graceful stop: mqlb stops accepting at once, lets live
// sessions finish (bounded by global.hard_stop_after) and exits 0. A hard
// stop (hard_stop_after reached, or SIGINT) closes what is left and logs it:
// KD for a session that was relaying, KQ for one still queued, KC for one
// still connecting.
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

// One echo server with a single slot, so that a second session queues
// behind the first; the queue waits far longer than any of these tests.
nlohmann::json queueing_config(uint16_t server_port, const std::string& hard_stop_after) {
  nlohmann::json config = one_slot_config(server_port, "60s");
  config["global"]["hard_stop_after"] = hard_stop_after;
  return config;
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

TEST_CASE("after SIGTERM a queued session is still served once the slot frees",
          "[integration][drain]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, queueing_config(backend.port(), "60s"));

  Socket first = echoed_session(lb.port(), "one");
  Socket queued = waiting_session(lb.port(), "two");
  const uint16_t queued_port = queued.local_port();

  lb.process().signal(SIGTERM);
  CHECK(wait_until([&] { return refuses_connections(lb.port()); }, Millis(5000)));
  first.close();
  CHECK(queued.receive_exactly(3) == "two");
  queued.close();

  CHECK(lb.process().wait_exit(Millis(10000)) == 0);
  const AccessLine line = lb.access_line_for(queued_port, Millis(0));
  INFO(line.raw);
  CHECK(line.termination == "--");
  CHECK(line.server == "b1");
}

TEST_CASE("after SIGTERM hard_stop_after closes relaying sessions with KD and queued ones with KQ",
          "[integration][drain]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, queueing_config(backend.port(), "1s"));

  Socket relaying = echoed_session(lb.port(), "hello");
  Socket queued = waiting_session(lb.port(), "waiting");
  const uint16_t relaying_port = relaying.local_port();
  const uint16_t queued_port = queued.local_port();

  lb.process().signal(SIGTERM);
  const auto start = Clock::now();
  CHECK(relaying.wait_closed(Millis(10000)) != Closed::kStillOpen);
  const long after = elapsed_ms(start);
  CHECK(after >= 800);
  CHECK(after < 6000);
  CHECK(queued.wait_closed(Millis(5000)) != Closed::kStillOpen);
  CHECK(lb.process().wait_exit(Millis(10000)) == 0);

  const AccessLine relaying_line = lb.access_line_for(relaying_port, Millis(0));
  INFO(relaying_line.raw);
  CHECK(relaying_line.termination == "KD");
  CHECK(relaying_line.server == "b1");
  CHECK(relaying_line.total_ms >= 1000);
  const AccessLine queued_line = lb.access_line_for(queued_port, Millis(0));
  INFO(queued_line.raw);
  CHECK(queued_line.termination == "KQ");
  CHECK(queued_line.server == "<NOSRV>");
  CHECK(queued_line.total_ms >= 1000);
}

TEST_CASE("SIGINT stops mqlb at once, relaying sessions logged KD and queued ones KQ",
          "[integration][drain]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, queueing_config(backend.port(), "60s"));

  Socket relaying = echoed_session(lb.port(), "hello");
  Socket queued = waiting_session(lb.port(), "waiting");
  const uint16_t relaying_port = relaying.local_port();
  const uint16_t queued_port = queued.local_port();

  CHECK(lb.stop(SIGINT, Millis(5000)) == 0);
  CHECK(relaying.wait_closed(Millis(5000)) != Closed::kStillOpen);
  CHECK(queued.wait_closed(Millis(5000)) != Closed::kStillOpen);

  const AccessLine relaying_line = lb.access_line_for(relaying_port, Millis(0));
  INFO(relaying_line.raw);
  CHECK(relaying_line.termination == "KD");
  CHECK(relaying_line.server == "b1");
  const AccessLine queued_line = lb.access_line_for(queued_port, Millis(0));
  INFO(queued_line.raw);
  CHECK(queued_line.termination == "KQ");
  CHECK(queued_line.server == "<NOSRV>");
}

TEST_CASE("a hard stop logs a session still connecting to its server KC", "[integration][drain]") {
  TempDir dir;
  BlackHole server;  // the connect neither succeeds nor fails
  nlohmann::json config = basic_config(free_port(), {{"b1", server.port()}});
  config["backends"][0]["timeouts"] = {{"connect", "30s"}};
  Mqlb lb(dir, config);

  Socket connecting = waiting_session(lb.port(), "hello");
  const uint16_t connecting_port = connecting.local_port();

  CHECK(lb.stop(SIGINT, Millis(5000)) == 0);
  CHECK(connecting.wait_closed(Millis(5000)) != Closed::kStillOpen);
  const AccessLine line = lb.access_line_for(connecting_port, Millis(0));
  INFO(line.raw);
  CHECK(line.termination == "KC");
  CHECK(line.server == "b1");
}
