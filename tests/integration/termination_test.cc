// How sessions end, as the access log tells it (HAProxy's termination
// states): resets from either side (CD, SD), a refused server (SC), and a
// client that gives up while mqlb is still connecting (CC).
#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <vector>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
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
  Mqlb lb(dir, config);

  Socket client = Socket::connect(lb.port());
  const uint16_t client_port = client.local_port();
  CHECK(client.wait_closed(Millis(15000)) != Closed::kStillOpen);
  client.close();

  const AccessLine line = lb.access_line_for(client_port);
  INFO(line.raw);
  CHECK(line.termination == "SC");
  CHECK(line.server == "b1");
  CHECK(line.bytes_read == 0);
}

TEST_CASE("a client that aborts while mqlb is still connecting is logged CC",
          "[integration][termination]") {
  TempDir dir;
  // A server whose handshake never completes (see the sC test).
  Socket black_hole = listen_tcp(0, 0);
  const uint16_t port = black_hole.local_port();
  std::vector<Socket> queued;
  int error = 0;
  for (int n = 0; n < 8 && error == 0; ++n) {
    Socket filler = Socket::try_connect(port, Millis(300), error);
    if (error == 0) queued.push_back(std::move(filler));
  }
  REQUIRE(error == ETIMEDOUT);
  nlohmann::json config = basic_config(free_port(), {{"b1", port}});
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
}
