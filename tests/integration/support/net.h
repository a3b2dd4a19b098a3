// Loopback networking for tests: free ports, "is anything listening", a TCP
// socket with a timeout on every operation, a port that never completes a
// handshake, and a UDP receiver. All traffic stays on 127.0.0.0/8. A Socket
// is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "support/wait.h"

namespace mqlb::test {

// Default bound for one socket operation: generous, since it only ends a test
// that is failing anyway.
inline constexpr Millis kIoTimeout{5000};

// A loopback TCP port that nothing uses. Picked below the kernel's ephemeral
// range so an outgoing connection cannot take it before the process we hand
// it to binds it, and never handed out twice in one run.
uint16_t free_port();

// True when a socket is in LISTEN state on `port` (read from /proc/net/tcp and
// tcp6). Unlike a probe connection this creates no session in the process
// under test, which would skew round-robin, queues and access-log counts.
bool is_listening(uint16_t port);

// Bytes that have arrived on the loopback TCP socket 127.0.0.1:local_port
// connected to remote_port, but that the process owning it has not read yet
// (rx_queue in /proc/net/tcp); -1 when there is no such connection. Lets a
// test wait until the process under test has read what it was sent.
long unread_bytes(uint16_t local_port, uint16_t remote_port);

// Thrown by Socket operations cancelled through their cancel fd.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

// How a connection ended, as seen by its reader.
enum class Closed { kEof, kReset, kStillOpen };

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Connects to 127.0.0.1:port or throws, naming the error.
  static Socket connect(uint16_t port, Millis timeout = kIoTimeout);
  // Same, but returns the errno (ECONNREFUSED, ETIMEDOUT...) as `error`
  // instead of throwing; the Socket is invalid unless `error` is 0.
  static Socket try_connect(uint16_t port, Millis timeout, int& error);
  // Connects to 127.0.0.1:port from `source_ip` (any address of 127.0.0.0/8,
  // all of which are the loopback interface's), or throws.
  static Socket connect_from(const std::string& source_ip, uint16_t port,
                             Millis timeout = kIoTimeout);

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  uint16_t local_port() const;
  // "127.0.0.5:40192", as %ci:%cp shows it in mqlb's access line.
  std::string local_address() const;

  // A fd that, once readable, makes every blocking operation throw Cancelled.
  void set_cancel_fd(int fd) { cancel_fd_ = fd; }

  // Sends all of `data` or throws (timeout, reset).
  void send_all(std::string_view data, Millis timeout = kIoTimeout);
  // Sends as much of [data, data+size) as the socket takes before `timeout`,
  // at least one byte; throws when none could be sent.
  size_t send_some(const char* data, size_t size, Millis timeout = kIoTimeout);
  // Up to `max` bytes as soon as any arrive; "" at EOF. Throws on timeout or
  // reset.
  std::string receive_some(size_t max = 65536, Millis timeout = kIoTimeout);
  std::string receive_exactly(size_t size, Millis timeout = kIoTimeout);
  // Everything until the peer's FIN (throws on timeout or reset).
  std::string receive_until_eof(Millis timeout = kIoTimeout);
  // Reads and discards until the peer closes (FIN or RST) or `timeout`.
  Closed wait_closed(Millis timeout);
  // True when data or a FIN/RST arrives within `timeout` (nothing is read).
  bool readable_within(Millis timeout) const;
  // Bytes sent but not yet acknowledged by the peer's kernel (SIOCOUTQ).
  size_t unacknowledged_bytes() const;

  void shutdown_write();
  void close();
  // Closes with SO_LINGER 0, so the peer gets a RST instead of a FIN.
  void reset();
  // Sleeps for `duration` unless cancelled (throws Cancelled).
  void pause(Millis duration) const;

 private:
  // Waits for `events` on the socket; false at timeout.
  bool wait_for(short events, Millis timeout) const;
  // Finishes a non-blocking connect to 127.0.0.1:port: `error` is 0 or the
  // errno, and on error the socket is closed.
  void finish_connect(uint16_t port, Millis timeout, int& error);

  int fd_ = -1;
  int cancel_fd_ = -1;
};

// A listening TCP socket on 127.0.0.1 (the port is chosen by free_port unless
// given). `backlog` is passed to listen(2) as is.
Socket listen_tcp(uint16_t port = 0, int backlog = 128);

// A loopback port where a connect neither succeeds nor fails: a listener
// with backlog 0 that never accepts, whose accept queue one connection
// already fills, so the kernel drops every further SYN and the connecting
// side waits until its own timeout. Throws if the queue cannot be filled.
class BlackHole {
 public:
  BlackHole();
  uint16_t port() const { return port_; }

 private:
  Socket listener_;
  uint16_t port_;
  std::vector<Socket> queued_;
};

// A UDP socket bound to 127.0.0.1 on a free port, e.g. a syslog target.
class UdpReceiver {
 public:
  UdpReceiver();
  uint16_t port() const { return port_; }
  // The next datagram, or nullopt after `timeout`.
  std::optional<std::string> receive(Millis timeout);

 private:
  Socket socket_;
  uint16_t port_ = 0;
};

}  // namespace mqlb::test
