// Timeouts with HAProxy's meaning: `client` and `server` end a session idle
// on that side (cD, sD); `connect` bounds each attempt to reach a server (sC
// once the retries are spent), with a turn-around of min(connect, 1 s)
// between attempts.
#include <catch2/catch.hpp>

#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

nlohmann::json with_timeouts(nlohmann::json config, const std::string& client,
                             const std::string& server) {
  config["frontends"][0]["timeouts"] = {{"client", client}};
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"server", server}};
  return config;
}

}  // namespace

// An idle session under the given client and server timeouts: how long it
// lived as the client saw it, and its access line.
static AccessLine idle_session_end(const std::string& client, const std::string& server) {
  TempDir dir;
  ScriptedServer backend(scripts::silent());
  Mqlb lb(dir, with_timeouts(basic_config(free_port(), {{"b1", backend.port()}}), client, server));

  Socket session = Socket::connect(lb.port());
  const auto start = Clock::now();
  CHECK(session.wait_closed(Millis(10000)) != Closed::kStillOpen);
  const long after = elapsed_ms(start);
  CHECK(after >= 800);
  CHECK(after < 6000);
  session.close();
  const AccessLine line = lb.wait_for_access_lines(1)[0];
  CHECK(line.total_ms >= 1000);  // mqlb's own clock: not before the 1 s timeout
  return line;
}

TEST_CASE("an idle session is closed by timeout client with cD", "[integration][timeouts]") {
  const AccessLine line = idle_session_end("1s", "30s");
  INFO(line.raw);
  CHECK(line.termination == "cD");
  CHECK(line.server == "b1");
}

TEST_CASE("an idle session is closed by timeout server with sD", "[integration][timeouts]") {
  const AccessLine line = idle_session_end("30s", "1s");
  INFO(line.raw);
  CHECK(line.termination == "sD");
  CHECK(line.server == "b1");
}

TEST_CASE("traffic in either direction keeps a session alive past timeout client",
          "[integration][timeouts]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, with_timeouts(basic_config(free_port(), {{"b1", backend.port()}}), "1s", "30s"));

  // Six exchanges 400 ms apart: 2.4 s in all, never 1 s of silence.
  Socket client = Socket::connect(lb.port());
  for (int n = 0; n < 6; ++n) {
    CHECK_FALSE(client.readable_within(Millis(400)));
    client.send_all("ping");
    CHECK(client.receive_exactly(4) == "ping");
  }
  CHECK(client.wait_closed(Millis(10000)) != Closed::kStillOpen);
  client.close();
  const auto lines = lb.wait_for_access_lines(1);
  INFO(lines[0].raw);
  CHECK(lines[0].termination == "cD");
}

TEST_CASE("a server that never answers the handshake fails the connect with sC",
          "[integration][timeouts]") {
  TempDir dir;
  BlackHole server;
  nlohmann::json config = basic_config(free_port(), {{"b1", server.port()}});
  config["backends"][0]["retries"] = 2;
  config["backends"][0]["timeouts"] = {{"connect", "500ms"}};
  Mqlb lb(dir, config);

  Socket client = Socket::connect(lb.port());
  CHECK(client.wait_closed(Millis(15000)) != Closed::kStillOpen);
  client.close();

  const auto lines = lb.wait_for_access_lines(1);
  INFO(lines[0].raw);
  CHECK(lines[0].termination == "sC");
  CHECK(lines[0].server == "b1");
  CHECK(lines[0].retries == "2");
  // Three attempts of 500 ms and two turn-arounds of min(500 ms, 1 s)
  // between them. A turn-around of 1 s, or one phase more, would reach 3 s.
  CHECK(lines[0].total_ms >= 2500);
  CHECK(lines[0].total_ms < 3000);
}
