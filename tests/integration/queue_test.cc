// Server maxconn and the backend queue (DESIGN.md §4): a session that finds
// its server full waits up to `timeout queue`, then is closed with sQ; if a
// slot frees up in time it is served.
#include <catch2/catch.hpp>

#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

nlohmann::json one_slot_config(uint16_t server_port) {
  nlohmann::json config = basic_config(free_port(), {{"b1", server_port}});
  config["backends"][0]["servers"][0]["maxconn"] = 1;
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"queue", "1s"}};
  return config;
}

}  // namespace

TEST_CASE("a session queued behind a full server gives up after timeout queue with sQ",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, one_slot_config(backend.port()));

  Socket first = echoed_session(lb.port(), "one");

  Socket second = Socket::connect(lb.port());
  const uint16_t second_port = second.local_port();
  const auto start = Clock::now();
  second.send_all("two");
  CHECK(second.wait_closed(Millis(10000)) != Closed::kStillOpen);
  const long after = elapsed_ms(start);
  CHECK(after >= 800);
  CHECK(after < 6000);
  CHECK(backend.accepted() == 1);

  // The first session never noticed.
  first.send_all("still here");
  CHECK(first.receive_exactly(10) == "still here");

  const AccessLine queued = lb.access_line_for(second_port);
  INFO(queued.raw);
  CHECK(queued.termination == "sQ");
  CHECK(queued.backend_queue + queued.server_queue <= 1);
}

TEST_CASE("a queued session is served as soon as the server has a free slot",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, one_slot_config(backend.port()));

  Socket first = echoed_session(lb.port(), "one");

  // The second client waits in the queue: its bytes are held, not answered.
  Socket second = waiting_session(lb.port(), "two");

  first.close();
  CHECK(second.receive_exactly(3) == "two");
  second.send_all("more");
  CHECK(second.receive_exactly(4) == "more");
  CHECK(backend.accepted() == 2);
  const uint16_t second_port = second.local_port();
  second.close();

  const AccessLine queued = lb.access_line_for(second_port);
  INFO(queued.raw);
  CHECK(queued.termination == "--");
  CHECK(queued.server == "b1");
  CHECK(queued.queue_ms >= 250);  // it waited at least the 300 ms the first one held on
}

TEST_CASE("frontend maxconn queues the excess and a worker serves it in arrival order",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  // Order is kept within a worker's queue; across workers a released slot
  // goes to whichever woken worker runs first (see the README).
  config["global"]["workers"] = 1;
  config["frontends"][0]["maxconn"] = 1;
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"queue", "10s"}};
  Mqlb lb(dir, config);

  Socket first = echoed_session(lb.port(), "one");

  // Two more wait; neither is served while the first holds the only slot.
  Socket second = waiting_session(lb.port(), "two");
  Socket third = waiting_session(lb.port(), "three");

  // Each release serves the oldest waiter.
  first.close();
  CHECK(second.receive_exactly(3) == "two");
  CHECK_FALSE(third.readable_within(Millis(300)));
  second.close();
  CHECK(third.receive_exactly(5) == "three");
  third.close();
  CHECK(backend.accepted() == 3);
}

TEST_CASE("global maxconn bounds the queue too and turns the excess away with PQ",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  config["global"]["maxconn"] = 1;  // one session, one place in the queue
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"queue", "10s"}};
  Mqlb lb(dir, config);

  Socket first = echoed_session(lb.port(), "one");
  Socket second = waiting_session(lb.port(), "two");

  Socket third = Socket::connect(lb.port());
  const uint16_t third_port = third.local_port();
  CHECK(third.wait_closed(Millis(5000)) != Closed::kStillOpen);
  const AccessLine refused = lb.access_line_for(third_port);
  INFO(refused.raw);
  CHECK(refused.termination == "PQ");
  CHECK(refused.server == "<NOSRV>");

  first.close();
  CHECK(second.receive_exactly(3) == "two");
  CHECK(backend.accepted() == 2);
}
