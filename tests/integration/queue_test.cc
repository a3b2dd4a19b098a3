// Limits and queues (DESIGN.md §4), as in HAProxy: a full server makes a
// session wait in the queue of its backend up to `timeout queue` (sQ),
// and a freed slot goes to the oldest waiter whichever worker holds it;
// a full frontend or process stops accepting, and the kernel's backlog
// holds the excess until a slot frees.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("a session queued behind a full server gives up after timeout queue with sQ",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, one_slot_config(backend.port(), "2s"));

  Socket first = echoed_session(lb.port(), "one");

  Socket second = Socket::connect(lb.port());
  const uint16_t second_port = second.local_port();
  second.send_all("two");
  CHECK(second.wait_closed(Millis(15000)) != Closed::kStillOpen);
  CHECK(backend.accepted() == 1);

  // The first session never noticed.
  first.send_all("still here");
  CHECK(first.receive_exactly(10) == "still here");

  const AccessLine queued = lb.access_line_for(second_port);
  INFO(queued.raw);
  CHECK(queued.termination == "sQ");
  CHECK(queued.server == "<NOSRV>");
  CHECK(queued.queue_ms >= 2000);  // %Tw: the time it waited, as HAProxy logs it
  CHECK(queued.total_ms >= 2000);  // timeout queue, by mqlb's own clock
  CHECK(queued.total_ms < 4000);
  CHECK(queued.server_queue == 0);
  CHECK(queued.backend_queue == 0);  // nobody was served from the queue meanwhile
}

TEST_CASE("a queued session is served as soon as the server has a free slot",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, one_slot_config(backend.port(), "2s"));

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
  CHECK(queued.server_queue == 0);
  CHECK(queued.backend_queue == 0);
}

TEST_CASE("waiters on two workers are served in arrival order as slots free one at a time",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = one_slot_config(backend.port(), "60s");
  config["global"]["workers"] = 2;  // the kernel spreads the waiters over both
  Mqlb lb(dir, config);

  Socket holder = echoed_session(lb.port(), "hold");
  constexpr int kWaiters = 8;
  std::vector<Socket> waiters;
  for (int i = 0; i < kWaiters; ++i)
    waiters.push_back(waiting_session(lb.port(), "w" + std::to_string(i)));

  // Each release serves the oldest waiter, and only that one.
  holder.close();
  for (int i = 0; i < kWaiters; ++i) {
    INFO("waiter " << i);
    CHECK(waiters[i].receive_exactly(2) == "w" + std::to_string(i));
    if (i + 1 < kWaiters) CHECK_FALSE(waiters[i + 1].readable_within(Millis(200)));
    waiters[i].close();
  }
  const auto lines = lb.wait_for_access_lines(kWaiters + 1);
  int served_from_queue = 0;
  for (const auto& line : lines) {
    INFO(line.raw);
    CHECK(line.termination == "--");  // none timed out, none was refused
    if (line.queue_ms > 0) {
      // %bq: exactly as many were served from the queue before it as came
      // before it, whichever worker each one was on.
      CHECK(line.backend_queue == served_from_queue);
      ++served_from_queue;
    }
  }
  CHECK(served_from_queue == kWaiters);
  CHECK(backend.accepted() == kWaiters + 1);
}

TEST_CASE("one saturated backend does not hold back another frontend's sessions",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer busy(scripts::echo());
  ScriptedServer idle(scripts::echo());
  nlohmann::json config = one_slot_config(busy.port(), "30s");
  const uint16_t other_port = free_port();
  config["frontends"].push_back({{"name", "other"},
                                 {"bind", {"127.0.0.1:" + std::to_string(other_port)}},
                                 {"default_backend", "other"}});
  config["backends"].push_back(
      {{"name", "other"},
       {"servers", {{{"name", "o1"}, {"address", "127.0.0.1"}, {"port", idle.port()}}}}});
  Mqlb lb(dir, config);

  Socket holder = echoed_session(lb.port(), "hold");
  std::vector<Socket> queued;
  for (int i = 0; i < 5; ++i)
    queued.push_back(waiting_session(lb.port(), "q"));

  // The other frontend's sessions connect at once, queue or no queue next door.
  std::vector<uint16_t> ports;
  for (int i = 0; i < 10; ++i) {
    Socket s = echoed_session(other_port, "fast");
    ports.push_back(s.local_port());
  }
  for (uint16_t port : ports) {
    const AccessLine line = lb.access_line_for(port);
    INFO(line.raw);
    CHECK(line.frontend == "other");
    CHECK(line.server == "o1");
    CHECK(line.queue_ms == 0);
    CHECK(line.termination == "--");
  }
  for (auto& q : queued)
    CHECK_FALSE(q.readable_within(Millis(50)));  // still waiting
}

TEST_CASE("frontend maxconn leaves the excess in the backlog and serves it in arrival order",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  config["global"]["workers"] = 1;  // one accept queue: arrival order is the kernel's
  config["frontends"][0]["maxconn"] = 1;
  Mqlb lb(dir, config);

  Socket first = echoed_session(lb.port(), "one");
  // Two more connect (the kernel completes the handshake) but wait unaccepted.
  Socket second = waiting_session(lb.port(), "two");
  Socket third = waiting_session(lb.port(), "three");

  first.close();
  CHECK(second.receive_exactly(3) == "two");
  CHECK_FALSE(third.readable_within(Millis(300)));
  second.close();
  CHECK(third.receive_exactly(5) == "three");
  third.close();
  CHECK(backend.accepted() == 3);

  const auto lines = lb.wait_for_access_lines(3);
  for (const auto& line : lines) {
    INFO(line.raw);
    CHECK(line.termination == "--");
    CHECK(line.feconn == 1);    // never more than maxconn at once
    CHECK(line.queue_ms == 0);  // they waited before mqlb accepted them
    CHECK(line.backend_queue == 0);
  }
}

TEST_CASE("global maxconn stops accepting and a released slot resumes it on any worker",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  config["global"]["maxconn"] = 2;
  Mqlb lb(dir, config);

  Socket a = echoed_session(lb.port(), "a");
  Socket b = echoed_session(lb.port(), "b");
  Socket c = waiting_session(lb.port(), "c");
  Socket d = waiting_session(lb.port(), "d");

  a.close();
  b.close();
  // Both freed slots go to the waiting connections, whichever worker's
  // listener they wait on.
  CHECK(c.receive_exactly(1) == "c");
  CHECK(d.receive_exactly(1) == "d");
  c.close();
  d.close();
  const auto lines = lb.wait_for_access_lines(4);
  for (const auto& line : lines) {
    INFO(line.raw);
    CHECK(line.termination == "--");
    CHECK(line.actconn <= 2);
  }
  CHECK(backend.accepted() == 4);
}
