// An IPv6 client in the access line: mqlb prints %ci:%cp the way HAProxy 2.6
// does. The real haproxy (installed by scripts/setup) and mqlb each listen on
// [::1], one client connects to each over ::1, and the two access lines must
// agree on the shape of the client part ("::1:40192", no brackets).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";

sockaddr_in6 ipv6_loopback(uint16_t port) {
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(port);
  addr.sin6_addr = in6addr_loopback;
  return addr;
}

// free_port() checks 127.0.0.1; the port must be free on ::1 as well.
uint16_t free_ipv6_port() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint16_t port = free_port();
    const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in6 addr = ipv6_loopback(port);
    const bool ok =
        fd >= 0 && ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0) ::close(fd);
    if (ok) return port;
  }
  throw std::runtime_error("no port free on both 127.0.0.1 and ::1");
}

// A TCP connection from ::1 to [::1]:port (blocking connect: loopback
// answers at once or refuses).
Socket connect_ipv6(uint16_t port) {
  Socket socket(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket.valid()) throw std::runtime_error("socket(AF_INET6) failed");
  const sockaddr_in6 addr = ipv6_loopback(port);
  if (::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("connect to [::1]:" + std::to_string(port) + " failed");
  }
  return socket;
}

uint16_t local_port_ipv6(const Socket& socket) {
  sockaddr_in6 addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("getsockname failed");
  }
  return ntohs(addr.sin6_port);
}

// One echoed exchange over ::1; returns the client's port.
uint16_t echoed_ipv6_session(uint16_t port) {
  Socket client = connect_ipv6(port);
  client.send_all("ping");
  REQUIRE(client.receive_exactly(4) == "ping");
  const uint16_t client_port = local_port_ipv6(client);
  client.close();
  return client_port;
}

std::optional<AccessLine> first_access_line(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (auto access = parse_access_line(line)) return access;
  }
  return std::nullopt;
}

// "::1:40192" → "::1:PORT": the part both must agree on.
std::string client_shape(const AccessLine& line) {
  return line.client.substr(0, line.client.rfind(':') + 1) + "PORT";
}

}  // namespace

TEST_CASE("an IPv6 client is logged as HAProxy 2.6 logs it, without brackets",
          "[integration][log][ipv6]") {
  REQUIRE(std::filesystem::exists(kHaproxy));  // scripts/setup installs it
  TempDir dir;
  ScriptedServer backend(scripts::echo());

  // HAProxy: a `mode tcp` frontend on [::1], tcplog lines on its stdout.
  const uint16_t haproxy_port = free_ipv6_port();
  std::string cfg_text =
      "global\n"
      "  log stdout format raw local0\n"
      "defaults\n"
      "  mode tcp\n"
      "  log global\n"
      "  option tcplog\n"
      "  timeout connect 1s\n"
      "  timeout client 10s\n"
      "  timeout server 10s\n"
      "frontend mqtt\n";
  cfg_text += "  bind [::1]:" + std::to_string(haproxy_port) + "\n";
  cfg_text += "  default_backend mqtt\n";
  cfg_text += "backend mqtt\n";
  cfg_text += "  server b1 127.0.0.1:" + std::to_string(backend.port()) + "\n";
  const auto cfg = dir.write("haproxy.cfg", cfg_text);
  Process haproxy(dir, "haproxy", {kHaproxy, "-db", "-f", cfg.string()});
  const bool listening =
      wait_until([&] { return !haproxy.running() || is_listening(haproxy_port); }, Millis(10000));
  INFO("haproxy stderr:\n" << haproxy.stderr_text());
  REQUIRE(listening);
  REQUIRE(haproxy.running());

  // mqlb: the same frontend, also on [::1].
  const uint16_t mqlb_port = free_ipv6_port();
  nlohmann::json config = basic_config(mqlb_port, {{"b1", backend.port()}});
  config["frontends"][0]["bind"] = {"[::1]:" + std::to_string(mqlb_port)};
  Mqlb lb(dir, config);

  const uint16_t via_haproxy = echoed_ipv6_session(haproxy_port);
  const uint16_t via_mqlb = echoed_ipv6_session(lb.port());

  std::optional<AccessLine> theirs;
  REQUIRE(
      wait_until([&] { return (theirs = first_access_line(haproxy.stdout_text())).has_value(); },
                 Millis(10000)));
  const AccessLine ours = lb.wait_for_access_lines(1).at(0);
  INFO("haproxy: " << theirs->raw << "\nmqlb:    " << ours.raw);

  CHECK(theirs->client == "::1:" + std::to_string(via_haproxy));
  CHECK(ours.client == "::1:" + std::to_string(via_mqlb));
  CHECK(client_shape(ours) == client_shape(*theirs));
  CHECK(ours.raw.rfind(ours.client + " [", 0) == 0);
  CHECK(theirs->raw.rfind(theirs->client + " [", 0) == 0);
  // Both processes are stopped by PID: haproxy by ~Process, mqlb by ~Mqlb.
}
