// A client waiting in the queue (its server's maxconn is taken) that shuts
// its write side has given up: mqlb lets it go at once with CQ instead of
// holding it until timeout queue, and never connects it. The session that
// holds the slot is not disturbed.
#include <catch2/catch.hpp>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("a queued client that shuts its write side is let go at once with CQ",
          "[integration][queue]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, one_slot_config(backend.port(), "30s"));

  Socket first = echoed_session(lb.port(), "one");
  Socket queued = waiting_session(lb.port(), "waiting");
  const uint16_t queued_port = queued.local_port();

  const auto start = Clock::now();
  queued.shutdown_write();
  CHECK(queued.wait_closed(Millis(5000)) != Closed::kStillOpen);
  const long after = elapsed_ms(start);
  CHECK(after < 5000);  // long before timeout queue (30 s)
  queued.close();

  const AccessLine line = lb.access_line_for(queued_port);
  INFO(line.raw);
  CHECK(line.termination == "CQ");
  CHECK(line.server == "<NOSRV>");
  CHECK(line.bytes_read == 0);
  CHECK(line.total_ms >= 250);  // it waited the 300 ms waiting_session watched it

  first.send_all("still served");
  CHECK(first.receive_exactly(12) == "still served");
  CHECK(backend.accepted() == 1);
}
