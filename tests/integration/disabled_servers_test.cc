// A backend whose servers are all disabled ("disabled": true) has nowhere to
// send a client: mqlb turns it away at once, without queueing or retrying,
// and logs SC with <NOSRV>, as HAProxy does.
#include <catch2/catch.hpp>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("with every server disabled a client is turned away at once with SC and <NOSRV>",
          "[integration][termination]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo());
  ScriptedServer b2(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  config["backends"][0]["servers"][0]["disabled"] = true;
  config["backends"][0]["servers"][1]["disabled"] = true;
  config["backends"][0]["retries"] = 3;
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"queue", "30s"}};
  Mqlb lb(dir, config);

  Socket client = Socket::connect(lb.port());
  const uint16_t client_port = client.local_port();
  client.send_all("hello");
  CHECK(client.wait_closed(Millis(5000)) != Closed::kStillOpen);
  client.close();

  const AccessLine line = lb.access_line_for(client_port);
  INFO(line.raw);
  CHECK(line.termination == "SC");
  CHECK(line.server == "<NOSRV>");
  CHECK(line.queue_ms == -1);  // HAProxy: -1/-1/0 for a session no server took
  CHECK(line.connect_ms == -1);
  CHECK(line.retries == "0");
  CHECK(line.bytes_read == 0);
  // Neither a turn-around (1 s) nor the queue (30 s): turned away at once.
  CHECK(line.total_ms < 1000);
  CHECK(b1.accepted() == 0);
  CHECK(b2.accepted() == 0);
}
