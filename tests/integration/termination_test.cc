// How sessions end, as the access log tells it (HAProxy's termination
// states): resets from either side (CD, SD), a refused server (SC), and a
// client that gives up while mqlb is still connecting (CC).
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("a client that resets its connection is logged CD", "[integration][termination]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, basic_config(free_port(), {{"b1", backend.port()}}));

  Socket client = Socket::connect(lb.port());
  const uint16_t client_port = client.local_port();
  client.send_all("hello");
  REQUIRE(client.receive_exactly(5) == "hello");
  client.reset();

  const AccessLine line = lb.access_line_for(client_port);
  INFO(line.raw);
  CHECK(line.termination == "CD");
  CHECK(line.bytes_read == 5);
}

TEST_CASE("a client that resets right after sending a burst is logged CD and never --",
          "[integration][termination]") {
  // The reset arrives behind unread bytes: mqlb must read them and then
  // see the reset, not take the end of the data for a FIN.
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, basic_config(free_port(), {{"b1", backend.port()}}));
  const std::string burst(4u << 20, 'b');
  constexpr int kRounds = 20;
  std::vector<uint16_t> ports;
  for (int i = 0; i < kRounds; ++i) {
    Socket client = echoed_session(lb.port(), "relaying");
    ports.push_back(client.local_port());
    // As much as the socket takes at once, then the reset.
    (void)::send(client.fd(), burst.data(), burst.size(), MSG_DONTWAIT);
    client.reset();
  }
  for (uint16_t port : ports) {
    const AccessLine line = lb.access_line_for(port);
    INFO(line.raw);
    CHECK(line.termination == "CD");
  }
}

TEST_CASE("a server that resets the connection is logged SD", "[integration][termination]") {
  TempDir dir;
  // Takes the first bytes, then aborts with a RST.
  ScriptedServer backend([](Socket& connection) {
    connection.receive_some();
    connection.reset();
  });
  Mqlb lb(dir, basic_config(free_port(), {{"b1", backend.port()}}));

  Socket client = Socket::connect(lb.port());
  const uint16_t client_port = client.local_port();
  client.send_all("hello");
  CHECK(client.wait_closed(Millis(10000)) != Closed::kStillOpen);
  client.close();

  const AccessLine line = lb.access_line_for(client_port);
  INFO(line.raw);
  CHECK(line.termination == "SD");
}

TEST_CASE("a server that refuses the connection is logged SC after the retries",
          "[integration][termination]") {
  TempDir dir;
  const uint16_t nothing_listens = free_port();
  nlohmann::json config = basic_config(free_port(), {{"b1", nothing_listens}});
  config["backends"][0]["retries"] = 2;
  // Between attempts mqlb waits min(timeout connect, 1 s): 1 s here.
  config["backends"][0]["timeouts"] = {{"connect", "4s"}};
  Mqlb lb(dir, config);

  Socket client = Socket::connect(lb.port());
  const uint16_t client_port = client.local_port();
  CHECK(client.wait_closed(Millis(15000)) != Closed::kStillOpen);
  client.close();

  const AccessLine line = lb.access_line_for(client_port);
  INFO(line.raw);
  CHECK(line.termination == "SC");
  CHECK(line.server == "b1");
  CHECK(line.retries == "2");
  CHECK(line.bytes_read == 0);
  // Three refused attempts, two turn-arounds of 1 s between them: not the
  // 4 s connect timeout, and no third turn-around.
  CHECK(line.total_ms >= 2000);
  CHECK(line.total_ms < 3000);
}

TEST_CASE("a client that aborts while mqlb is still connecting is logged CC",
          "[integration][termination]") {
  TempDir dir;
  BlackHole server;  // its handshake never completes
  nlohmann::json config = basic_config(free_port(), {{"b1", server.port()}});
  config["backends"][0]["timeouts"] = {{"connect", "10s"}};
  Mqlb lb(dir, config);

  Socket client = Socket::connect(lb.port());
  const uint16_t client_port = client.local_port();
  client.send_all("hello");
  CHECK_FALSE(client.readable_within(Millis(300)));
  client.reset();

  const AccessLine line = lb.access_line_for(client_port, Millis(5000));
  INFO(line.raw);
  CHECK(line.termination == "CC");
  CHECK(line.server == "b1");
}
