// mqlb-test-publisher: one device that must deliver every message. Sends
// --count QoS 1 PUBLISHes of --payload bytes to 127.0.0.1:--port, at most
// --window unacknowledged; when the connection is lost it connects again
// (clean session) and sends every unacknowledged message again, until all
// are acknowledged or --deadline seconds have passed.
//
// Prints, one line each:
//   connected LOCAL_PORT       a CONNACK accepted a new connection
//   acked LOCAL_PORT SEQ       the PUBACK of message SEQ came on that connection
//   lost LOCAL_PORT REASON     the connection ended before the last PUBACK
//   done ACKED                 all acknowledged (exit 0), or the deadline (exit 1)
// A message's payload is "ID SEQ " padded with '.' to --payload bytes, on
// topic TOPIC/ID. Blocking sockets and poll(2): one process is one device.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "bench/loadgen/mqtt_codec.h"

namespace {

namespace mqtt = mqlb::bench::mqtt;
using Clock = std::chrono::steady_clock;

struct Args {
  uint16_t port = 0;
  std::string id = "publisher";
  std::string topic = "load";
  int count = 1000;
  int payload = 100;
  int window = 10;
  double deadline_s = 60;
};

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      a.port = static_cast<uint16_t>(std::atoi(v.c_str()));
    else if (k == "--id")
      a.id = v;
    else if (k == "--topic")
      a.topic = v;
    else if (k == "--count")
      a.count = std::atoi(v.c_str());
    else if (k == "--payload")
      a.payload = std::atoi(v.c_str());
    else if (k == "--window")
      a.window = std::atoi(v.c_str());
    else if (k == "--deadline")
      a.deadline_s = std::atof(v.c_str());
    else
      return false;
  }
  return argc % 2 == 1 && a.port != 0 && a.count > 0 && a.window > 0 && a.window < 60000;
}

std::string payload_of(const Args& a, int seq) {
  std::string p = a.id + " " + std::to_string(seq) + " ";
  if (static_cast<int>(p.size()) < a.payload) p.resize(static_cast<size_t>(a.payload), '.');
  return p;
}

// One connection's life: connect, CONNACK, then publish and read PUBACKs.
class Connection {
 public:
  Connection(const Args& a, Clock::time_point deadline) : a_(a), deadline_(deadline) {}
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }

  // True once a CONNACK accepted the session.
  bool open() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(a_.port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return false;
    sockaddr_in local{};
    socklen_t len = sizeof local;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
    local_port_ = ntohs(local.sin_port);
    std::string out;
    mqtt::append_connect(out, a_.id, 30);
    if (!send_all(out)) return false;
    bool accepted = false, replied = false;
    while (!replied) {
      if (!read_some([&](const mqtt::Packet& p) {
            if (p.type != mqtt::Type::Connack) return true;
            replied = true;
            const auto code = mqtt::parse_connack(p);
            accepted = code && *code == 0;
            return false;
          }))
        return false;
    }
    if (accepted) std::printf("connected %u\n", local_port_);
    return accepted;
  }

  // Publishes from `next` on, keeping `window` in flight; returns when all
  // `count` are acknowledged (true) or the connection is lost (false).
  // `acked` holds every sequence number acknowledged so far.
  bool run(std::map<int, bool>& acked, std::string& why) {
    std::map<uint16_t, int> in_flight;  // packet id -> seq
    int next = first_unacked(acked, 0);
    for (;;) {
      std::string out;
      while (next < a_.count && static_cast<int>(in_flight.size()) < a_.window) {
        const uint16_t id = static_cast<uint16_t>(next % 60000 + 1);
        mqtt::append_publish(out, a_.topic + "/" + a_.id, 1, id, payload_of(a_, next));
        in_flight[id] = next;
        next = first_unacked(acked, next + 1);
      }
      if (!out.empty() && !send_all(out)) {
        why = std::strerror(errno);
        return false;
      }
      if (in_flight.empty()) return true;
      const bool alive = read_some([&](const mqtt::Packet& p) {
        if (p.type != mqtt::Type::Puback) return true;
        const auto id = mqtt::parse_puback(p);
        if (!id) return true;
        auto it = in_flight.find(*id);
        if (it == in_flight.end()) return true;
        if (!acked[it->second]) std::printf("acked %u %d\n", local_port_, it->second);
        acked[it->second] = true;
        in_flight.erase(it);
        return true;
      });
      if (!alive) {
        why = error_.empty() ? "closed" : error_;
        return false;
      }
    }
  }

  void disconnect() {
    std::string out;
    mqtt::append_disconnect(out);
    send_all(out);
  }

  uint16_t local_port() const { return local_port_; }

 private:
  int first_unacked(const std::map<int, bool>& acked, int from) const {
    while (from < a_.count) {
      auto it = acked.find(from);
      if (it == acked.end() || !it->second) break;
      ++from;
    }
    return from;
  }

  bool send_all(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Waits for bytes (until the deadline) and feeds them to `on_packet`.
  template <typename F>
  bool read_some(F&& on_packet) {
    pollfd p{fd_, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) {
      error_ = "deadline";
      return false;
    }
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
    if (ready == 0) return true;  // nothing yet: the caller looks again
    if (ready < 0) return errno == EINTR;
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) {
      error_ = "closed by the peer";
      return false;
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return true;
      error_ = std::strerror(errno);
      return false;
    }
    if (!reader_.feed({buf, static_cast<size_t>(n)}, on_packet)) {
      error_ = "malformed packet";
      return false;
    }
    return true;
  }

  const Args& a_;
  Clock::time_point deadline_;
  int fd_ = -1;
  uint16_t local_port_ = 0;
  mqtt::Reader reader_;
  std::string error_;
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr,
                 "usage: mqlb-test-publisher --port N [--id ID] [--topic T] [--count N] "
                 "[--payload BYTES] [--window N] [--deadline SECONDS]\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<long>(a.deadline_s * 1000));
  std::map<int, bool> acked;
  int done = 0;
  while (Clock::now() < deadline) {
    Connection c(a, deadline);
    if (c.open()) {
      std::string why;
      if (c.run(acked, why)) {
        c.disconnect();
        done = a.count;
        break;
      }
      std::printf("lost %u %s\n", c.local_port(), why.c_str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int n = 0;
  for (const auto& [seq, ok] : acked)
    n += ok ? 1 : 0;
  std::printf("done %d\n", n);
  return done == a.count ? 0 : 1;
}
