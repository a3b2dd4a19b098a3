// A server that black-holes connections (its handshake never completes)
// with redispatch on: the first attempt times out after timeout connect,
// the retry goes to another server at once, and the access line names the
// server that served the session, its retry count marked '+' (redispatched).
#include <catch2/catch.hpp>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("a black-holed server is redispatched to a good one and the line shows +",
          "[integration][failover]") {
  TempDir dir;
  BlackHole stuck;
  ScriptedServer good(scripts::echo());
  nlohmann::json config =
      basic_config(free_port(), {{"stuck", stuck.port()}, {"good", good.port()}});
  config["backends"][0]["balance"] = "first";  // always tries "stuck" first
  config["backends"][0]["retries"] = 1;
  config["backends"][0]["redispatch"] = true;
  config["backends"][0]["timeouts"] = {{"connect", "500ms"}};
  Mqlb lb(dir, config);

  Socket client = Socket::connect(lb.port());
  const uint16_t client_port = client.local_port();
  client.send_all("hello");
  CHECK(client.receive_exactly(5) == "hello");
  client.close();

  const AccessLine line = lb.access_line_for(client_port);
  INFO(line.raw);
  CHECK(line.server == "good");
  CHECK(line.retries == "+1");
  CHECK(line.termination == "--");
  CHECK(line.bytes_read == 5);
  // One connect timeout on "stuck", then straight to "good": the last retry
  // is redispatched without a turn-around (which would add another 500 ms).
  CHECK(line.total_ms >= 500);
  CHECK(line.total_ms < 1000);
  CHECK(good.accepted() == 1);
}
