// Half-close (DESIGN.md §4): a FIN from one side is passed on as a shutdown
// of the write side towards the other, which can still answer.
#include <catch2/catch.hpp>

#include <memory>
#include <mutex>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// What a backend script saw, read by the test once the script finished.
struct Seen {
  std::mutex mutex;
  std::string data;
};

}  // namespace

TEST_CASE("a client that shuts down its write side still receives the server's reply",
          "[integration][half-close]") {
  TempDir dir;
  auto seen = std::make_shared<Seen>();
  // Answers only once the request is complete, i.e. at EOF.
  ScriptedServer backend([seen](Socket& connection) {
    const std::string request = connection.receive_until_eof(Millis(10000));
    {
      std::lock_guard lock(seen->mutex);
      seen->data = request;
    }
    connection.send_all("reply to " + request);
  });
  Mqlb lb(dir, basic_config(free_port(), {{"b1", backend.port()}}));

  Socket client = Socket::connect(lb.port());
  client.send_all("hello");
  client.shutdown_write();
  CHECK(client.receive_until_eof(Millis(10000)) == "reply to hello");
  client.close();

  REQUIRE(wait_until([&] { return backend.finished() == 1; }, Millis(5000)));
  CHECK(backend.errors().empty());
  {
    std::lock_guard lock(seen->mutex);
    CHECK(seen->data == "hello");
  }
  const auto lines = lb.wait_for_access_lines(1);
  INFO(lines[0].raw);
  CHECK(lines[0].termination == "--");
  CHECK(lines[0].bytes_read == static_cast<long>(std::string("reply to hello").size()));
}

TEST_CASE("a server that shuts down its write side still receives what the client sends",
          "[integration][half-close]") {
  TempDir dir;
  auto seen = std::make_shared<Seen>();
  // Greets, says it has nothing more to send, then listens until EOF.
  ScriptedServer backend([seen](Socket& connection) {
    connection.send_all("welcome");
    connection.shutdown_write();
    const std::string rest = connection.receive_until_eof(Millis(10000));
    std::lock_guard lock(seen->mutex);
    seen->data = rest;
  });
  Mqlb lb(dir, basic_config(free_port(), {{"b1", backend.port()}}));

  Socket client = Socket::connect(lb.port());
  CHECK(client.receive_until_eof(Millis(10000)) == "welcome");
  client.send_all("goodbye");
  client.shutdown_write();

  REQUIRE(wait_until([&] { return backend.finished() == 1; }, Millis(10000)));
  CHECK(backend.errors().empty());
  {
    std::lock_guard lock(seen->mutex);
    CHECK(seen->data == "goodbye");
  }
  // Both directions are shut: the session is over.
  const auto lines = lb.wait_for_access_lines(1);
  INFO(lines[0].raw);
  CHECK(lines[0].termination == "--");
  CHECK(lines[0].bytes_read == static_cast<long>(std::string("welcome").size()));
}
