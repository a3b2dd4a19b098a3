// A TCP backend on a free loopback port whose behaviour is a script: each
// accepted connection runs the script in its own thread. The destructor
// cancels every blocking operation (through a shared cancel pipe), joins the
// threads and closes the sockets. Scripts must not use Catch2 assertions
// (they run off the main thread): they record what they saw and the test
// checks it; an exception a script throws is kept in errors().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/net.h"

namespace mqlb::test {

class ScriptedServer {
 public:
  using Script = std::function<void(Socket&)>;

  explicit ScriptedServer(Script script);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  // Connections whose script has returned (or failed).
  int finished() const { return finished_.load(); }
  std::vector<std::string> errors() const;

 private:
  void accept_loop();
  void serve(Socket connection);

  Script script_;
  Socket listener_;
  uint16_t port_;
  int cancel_pipe_[2] = {-1, -1};
  std::atomic<int> accepted_{0};
  std::atomic<int> finished_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> errors_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// What a slow_reader received, filled in by its thread once it saw EOF.
struct ReadSummary {
  std::mutex mutex;
  bool done = false;
  size_t bytes = 0;
  std::string sha256;  // hex
};

// Scripts for the common backends.
namespace scripts {

// Sends back everything it reads; at EOF it closes.
ScriptedServer::Script echo();
// Reads and discards until EOF, never sends: an idle, silent server.
ScriptedServer::Script silent();
// Like silent(), but after the client's FIN it keeps its own side open,
// idle, until the test ends: a server that never closes.
ScriptedServer::Script holds_open();
// Sends `greeting` and shuts its write side (a FIN), then reads and
// discards until EOF without closing first: a server that half-closes.
ScriptedServer::Script greets_and_shuts(std::string greeting);
// Reads at most `bytes_per_second` until EOF, hashing everything, then
// fills in `summary` and closes.
ScriptedServer::Script slow_reader(size_t bytes_per_second, std::shared_ptr<ReadSummary> summary);

}  // namespace scripts

}  // namespace mqlb::test
