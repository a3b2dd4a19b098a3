#include "support/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <utility>

namespace mqlb::test {
namespace {

std::runtime_error sys_error(const std::string& what, int error = errno) {
  return std::runtime_error(what + ": " + std::strerror(error));
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

int ms(Millis timeout) {
  return static_cast<int>(timeout.count());
}

// True when `port` can be bound for both TCP and UDP right now.
bool bindable(uint16_t port) {
  for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
    const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const sockaddr_in addr = loopback(port);
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (!ok) return false;
  }
  return true;
}

int ephemeral_low() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  in >> low;
  return low;
}

// The fields of each connection line of a /proc/net/tcp table: local
// address, remote address, state, "tx_queue:rx_queue" (hex).
template <typename Visit>
void for_each_connection(const char* table, Visit&& visit) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    // "  0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 ..."
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    fields >> slot >> local >> remote >> state >> queues;
    if (visit(local, remote, state, queues)) return;
  }
}

uint16_t port_of(const std::string& address) {
  const auto colon = address.rfind(':');
  return colon == std::string::npos
             ? 0
             : static_cast<uint16_t>(std::stoul(address.substr(colon + 1), nullptr, 16));
}

bool listening_in(const char* table, uint16_t port) {
  bool found = false;
  for_each_connection(table, [&](const std::string& local, const std::string&,
                                 const std::string& state, const std::string&) {
    found = state == "0A" && port_of(local) == port;  // 0A: LISTEN
    return found;
  });
  return found;
}

}  // namespace

uint16_t free_port() {
  static std::mutex mutex;
  static std::set<uint16_t> handed_out;
  static std::mt19937 random{std::random_device{}()};
  std::lock_guard lock(mutex);
  const int high = ephemeral_low() - 1;
  const int low = high > 12000 ? 10000 : 1024;
  std::uniform_int_distribution<int> pick(low, high);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<uint16_t>(pick(random));
    if (handed_out.count(port) == 0 && bindable(port)) {
      handed_out.insert(port);
      return port;
    }
  }
  throw std::runtime_error("no free loopback port found");
}

bool is_listening(uint16_t port) {
  return listening_in("/proc/net/tcp", port) || listening_in("/proc/net/tcp6", port);
}

long unread_bytes(uint16_t local_port, uint16_t remote_port) {
  long unread = -1;
  for_each_connection("/proc/net/tcp", [&](const std::string& local, const std::string& remote,
                                           const std::string& state, const std::string& queues) {
    if (state != "01" || port_of(local) != local_port || port_of(remote) != remote_port) {
      return false;  // 01: ESTABLISHED
    }
    unread = std::stol(queues.substr(queues.find(':') + 1), nullptr, 16);
    return true;
  });
  return unread;
}

Socket::~Socket() {
  close();
}

Socket::Socket(Socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), cancel_fd_(other.cancel_fd_) {}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    cancel_fd_ = other.cancel_fd_;
  }
  return *this;
}

void Socket::finish_connect(uint16_t port, Millis timeout, int& error) {
  const sockaddr_in addr = loopback(port);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    error = 0;
    return;
  }
  if (errno != EINPROGRESS) {
    error = errno;
  } else if (!wait_for(POLLOUT, timeout)) {
    error = ETIMEDOUT;
  } else {
    socklen_t len = sizeof error;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
  }
  if (error != 0) close();
}

Socket Socket::try_connect(uint16_t port, Millis timeout, int& error) {
  Socket socket(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket.valid()) throw sys_error("socket");
  socket.finish_connect(port, timeout, error);
  return socket;
}

Socket Socket::connect(uint16_t port, Millis timeout) {
  int error = 0;
  Socket socket = try_connect(port, timeout, error);
  if (error != 0) throw sys_error("connect to 127.0.0.1:" + std::to_string(port), error);
  return socket;
}

Socket Socket::connect_from(const std::string& source_ip, uint16_t port, Millis timeout) {
  Socket socket(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket.valid()) throw sys_error("socket");
  sockaddr_in source{};
  source.sin_family = AF_INET;
  if (::inet_pton(AF_INET, source_ip.c_str(), &source.sin_addr) != 1 ||
      (ntohl(source.sin_addr.s_addr) >> 24) != 127) {
    throw std::runtime_error("not a loopback address: '" + source_ip + "'");
  }
  if (::bind(socket.fd_, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0) {
    throw sys_error("bind " + source_ip);
  }
  int error = 0;
  socket.finish_connect(port, timeout, error);
  if (error != 0) {
    throw sys_error("connect from " + source_ip + " to 127.0.0.1:" + std::to_string(port), error);
  }
  return socket;
}

uint16_t Socket::local_port() const {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw sys_error("getsockname");
  }
  return ntohs(addr.sin_port);
}

std::string Socket::local_address() const {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw sys_error("getsockname");
  }
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr.sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(ntohs(addr.sin_port));
}

bool Socket::wait_for(short events, Millis timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd fds[2] = {{fd_, events, 0}, {cancel_fd_, POLLIN, 0}};
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    const int n = ::poll(fds, cancel_fd_ >= 0 ? 2 : 1, std::max(0, ms(left)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("poll");
    if (cancel_fd_ >= 0 && fds[1].revents != 0) throw Cancelled();
    if (n == 0) return false;
    return true;
  }
}

void Socket::pause(Millis duration) const {
  if (cancel_fd_ < 0) {
    std::this_thread::sleep_for(duration);
    return;
  }
  pollfd fd = {cancel_fd_, POLLIN, 0};
  if (::poll(&fd, 1, ms(duration)) > 0) throw Cancelled();
}

size_t Socket::send_some(const char* data, size_t size, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) return static_cast<size_t>(n);
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw sys_error("send");
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left.count() <= 0 || !wait_for(POLLOUT, left)) {
      throw std::runtime_error("send timed out after " + std::to_string(timeout.count()) + " ms");
    }
  }
}

void Socket::send_all(std::string_view data, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  size_t sent = 0;
  while (sent < data.size()) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left.count() <= 0) {
      throw std::runtime_error("send timed out: " + std::to_string(sent) + " of " +
                               std::to_string(data.size()) + " bytes sent");
    }
    sent += send_some(data.data() + sent, data.size() - sent, left);
  }
}

std::string Socket::receive_some(size_t max, Millis timeout) {
  std::string buffer(max, '\0');
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer.data(), max, MSG_DONTWAIT);
    if (n >= 0) {
      buffer.resize(static_cast<size_t>(n));
      return buffer;
    }
    if (errno == ECONNRESET) throw std::runtime_error("connection reset by peer");
    if (errno != EAGAIN && errno != EINTR) throw sys_error("recv");
    if (!wait_for(POLLIN, timeout)) {
      throw std::runtime_error("nothing received within " + std::to_string(timeout.count()) +
                               " ms");
    }
  }
}

std::string Socket::receive_exactly(size_t size, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string data;
  while (data.size() < size) {
    const auto left =
        std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now()));
    const std::string chunk = receive_some(size - data.size(), left);
    if (chunk.empty()) {
      throw std::runtime_error("EOF after " + std::to_string(data.size()) + " of " +
                               std::to_string(size) + " bytes");
    }
    data += chunk;
  }
  return data;
}

std::string Socket::receive_until_eof(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string data;
  for (;;) {
    const auto left =
        std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now()));
    const std::string chunk = receive_some(65536, left);
    if (chunk.empty()) return data;
    data += chunk;
  }
}

Closed Socket::wait_closed(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0) return Closed::kEof;
    if (n > 0) continue;
    if (errno == ECONNRESET) return Closed::kReset;
    if (errno != EAGAIN && errno != EINTR) throw sys_error("recv");
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left.count() <= 0 || !wait_for(POLLIN, left)) return Closed::kStillOpen;
  }
}

bool Socket::readable_within(Millis timeout) const {
  return wait_for(POLLIN, timeout);
}

size_t Socket::unacknowledged_bytes() const {
  int bytes = 0;
  if (::ioctl(fd_, SIOCOUTQ, &bytes) != 0) throw sys_error("ioctl SIOCOUTQ");
  return static_cast<size_t>(bytes);
}

void Socket::shutdown_write() {
  if (::shutdown(fd_, SHUT_WR) != 0) throw sys_error("shutdown");
}

void Socket::close() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

void Socket::reset() {
  if (fd_ < 0) return;
  const linger hard{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  close();
}

Socket listen_tcp(uint16_t port, int backlog) {
  if (port == 0) port = free_port();
  Socket socket(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket.valid()) throw sys_error("socket");
  const int on = 1;
  ::setsockopt(socket.fd(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  const sockaddr_in addr = loopback(port);
  if (::bind(socket.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw sys_error("bind 127.0.0.1:" + std::to_string(port));
  }
  if (::listen(socket.fd(), backlog) != 0) throw sys_error("listen");
  return socket;
}

BlackHole::BlackHole() : listener_(listen_tcp(0, 0)), port_(listener_.local_port()) {
  // The first connection completes and fills the accept queue; the one
  // after it times out, which proves the port is black-holed.
  for (int n = 0; n < 8; ++n) {
    int error = 0;
    Socket filler = Socket::try_connect(port_, Millis(300), error);
    if (error == ETIMEDOUT) return;
    if (error != 0) throw sys_error("filling the black hole's accept queue", error);
    queued_.push_back(std::move(filler));
  }
  throw std::runtime_error("127.0.0.1:" + std::to_string(port_) +
                           " kept accepting handshakes: cannot make a black hole");
}

UdpReceiver::UdpReceiver()
    : socket_(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
  if (!socket_.valid()) throw sys_error("socket");
  port_ = free_port();
  const sockaddr_in addr = loopback(port_);
  if (::bind(socket_.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw sys_error("bind udp 127.0.0.1:" + std::to_string(port_));
  }
}

std::optional<std::string> UdpReceiver::receive(Millis timeout) {
  pollfd fd = {socket_.fd(), POLLIN, 0};
  if (::poll(&fd, 1, ms(timeout)) <= 0) return std::nullopt;
  std::string datagram(65536, '\0');
  const ssize_t n = ::recv(socket_.fd(), datagram.data(), datagram.size(), 0);
  if (n < 0) return std::nullopt;
  datagram.resize(static_cast<size_t>(n));
  return datagram;
}

}  // namespace mqlb::test
