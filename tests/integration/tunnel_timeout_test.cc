// timeout tunnel (a backend setting) replaces timeout client and timeout
// server once the server is connected, in both directions: an idle session
// lives exactly as long as the tunnel timeout, whether that is shorter or
// longer than the other two. HAProxy 2.6 logs such an end cD.
#include <catch2/catch.hpp>

#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// An idle session (the server never sends) under these timeouts; returns
// its access line once mqlb has closed it.
AccessLine idle_session_end(const std::string& client, const std::string& server,
                            const std::string& tunnel) {
  TempDir dir;
  ScriptedServer backend(scripts::silent());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  config["frontends"][0]["timeouts"] = {{"client", client}};
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"server", server}, {"tunnel", tunnel}};
  Mqlb lb(dir, config);

  Socket session = Socket::connect(lb.port());
  const auto start = Clock::now();
  CHECK(session.wait_closed(Millis(10000)) != Closed::kStillOpen);
  CHECK(elapsed_ms(start) < 6000);
  session.close();
  return lb.wait_for_access_lines(1)[0];
}

}  // namespace

TEST_CASE("timeout tunnel ends an idle session long before timeout client and server",
          "[integration][timeouts]") {
  const AccessLine line = idle_session_end("30s", "30s", "1s");
  INFO(line.raw);
  CHECK(line.termination == "cD");
  CHECK(line.server == "b1");
  CHECK(line.total_ms >= 1000);
}

TEST_CASE("timeout tunnel keeps an idle session past shorter timeout client and server",
          "[integration][timeouts]") {
  const AccessLine line = idle_session_end("1s", "1s", "2s");
  INFO(line.raw);
  CHECK(line.termination == "cD");
  CHECK(line.server == "b1");
  CHECK(line.total_ms >= 2000);  // not closed by the 1 s client or server timeout
}
