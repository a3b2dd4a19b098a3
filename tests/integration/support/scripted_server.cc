#include "support/scripted_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <exception>
#include <utility>

#include "support/sha256.h"

namespace mqlb::test {

ScriptedServer::ScriptedServer(Script script)
    : script_(std::move(script)), listener_(listen_tcp()), port_(listener_.local_port()) {
  if (::pipe2(cancel_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  listener_.set_cancel_fd(cancel_pipe_[0]);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedServer::~ScriptedServer() {
  // One byte makes the pipe readable for every poll that watches it.
  const char byte = 1;
  (void)::write(cancel_pipe_[1], &byte, 1);
  acceptor_.join();
  for (auto& thread : threads_) {
    thread.join();  // no new threads once the acceptor ended
  }
  ::close(cancel_pipe_[0]);
  ::close(cancel_pipe_[1]);
}

std::vector<std::string> ScriptedServer::errors() const {
  std::lock_guard lock(mutex_);
  return errors_;
}

void ScriptedServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listener_.fd(), POLLIN, 0}, {cancel_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    const int fd = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    Socket connection(fd);
    connection.set_cancel_fd(cancel_pipe_[0]);
    std::lock_guard lock(mutex_);
    threads_.emplace_back([this, c = std::move(connection)]() mutable { serve(std::move(c)); });
  }
}

void ScriptedServer::serve(Socket connection) {
  try {
    script_(connection);
  } catch (const Cancelled&) {
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex_);
    errors_.push_back(e.what());
  }
  ++finished_;
}

namespace scripts {

ScriptedServer::Script echo() {
  return [](Socket& connection) {
    for (;;) {
      const std::string data = connection.receive_some(65536, Millis(300000));
      if (data.empty()) return;
      connection.send_all(data, Millis(300000));
    }
  };
}

ScriptedServer::Script silent() {
  return [](Socket& connection) {
    while (!connection.receive_some(65536, Millis(300000)).empty()) {
    }
  };
}

ScriptedServer::Script holds_open() {
  return [](Socket& connection) {
    while (!connection.receive_some(65536, Millis(300000)).empty()) {
    }
    connection.pause(Millis(300000));  // until the destructor cancels it
  };
}

ScriptedServer::Script greets_and_shuts(std::string greeting) {
  return [greeting](Socket& connection) {
    connection.send_all(greeting);
    connection.shutdown_write();
    while (!connection.receive_some(65536, Millis(300000)).empty()) {
    }
  };
}

ScriptedServer::Script slow_reader(size_t bytes_per_second, std::shared_ptr<ReadSummary> summary) {
  return [bytes_per_second, summary](Socket& connection) {
    Sha256 hash;
    size_t bytes = 0;
    const auto start = Clock::now();
    for (;;) {
      const std::string chunk = connection.receive_some(64 * 1024, Millis(60000));
      if (chunk.empty()) break;
      hash.update(chunk);
      bytes += chunk.size();
      // Pace by the total so far, so short sleeps do not add up to drift.
      const auto due = start + std::chrono::microseconds(bytes * 1000000 / bytes_per_second);
      if (due > Clock::now()) {
        connection.pause(std::chrono::duration_cast<Millis>(due - Clock::now()));
      }
    }
    std::lock_guard lock(summary->mutex);
    summary->bytes = bytes;
    summary->sha256 = hash.hex_digest();
    summary->done = true;
  };
}

}  // namespace scripts

}  // namespace mqlb::test
