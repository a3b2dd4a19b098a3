// HAProxy 2.6 itself as the oracle for the access line: the real haproxy
// (Debian's, installed by scripts/setup) and mqlb run from the same
// haproxy.cfg text, ports aside, in front of one mosquitto broker, each
// sending `option tcplog` lines to its own loopback syslog receiver. The same
// kinds of session go through each — a whole MQTT session, a client that
// says nothing, a server that refuses, a backend with no server left, a
// client timeout, a TLS session — and the two lines must agree field by
// field, except what differs between any two runs: the times (only whether
// each is -1 is compared), the date, the client port and the pid in the
// syslog header. The syslog priority, tag and header shape must agree too.
#include <catch2/catch.hpp>

#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/mqtt.h"
#include "support/net.h"
#include "support/process.h"
#include "support/syslog.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/tls_client.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";

// One frontend per kind of session, so that each access line is found by
// its %ft.
struct Ports {
  uint16_t normal = free_port(), silent = free_port(), idle = free_port(), refused = free_port(),
           nosrv = free_port(), tls = free_port();
};

// The haproxy.cfg both run: only the ports and the syslog target differ.
// `refused_port` has no listener (backend "refused" without checks, backend
// "down" with checks that mark its server DOWN at once).
std::string cfg_text(const Ports& p, uint16_t syslog_port, uint16_t broker_port,
                     uint16_t refused_port, const std::filesystem::path& pem) {
  auto port = [](uint16_t n) { return std::to_string(n); };
  return "global\n"
         "    log 127.0.0.1:" +
         port(syslog_port) +
         " local0\n"
         "    log-tag mqtt-lb\n"
         "\n"
         "defaults\n"
         "    mode tcp\n"
         "    log global\n"
         "    option tcplog\n"
         "    timeout connect 1s\n"
         "    timeout client 10s\n"
         "    timeout server 10s\n"
         "\n"
         "frontend normal\n"
         "    bind 127.0.0.1:" +
         port(p.normal) +
         "\n"
         "    default_backend mqtt\n"
         "\n"
         "frontend silent\n"
         "    bind 127.0.0.1:" +
         port(p.silent) +
         "\n"
         "    default_backend mqtt\n"
         "\n"
         "frontend idle\n"
         "    bind 127.0.0.1:" +
         port(p.idle) +
         "\n"
         "    timeout client 500ms\n"
         "    default_backend mqtt\n"
         "\n"
         "frontend refused\n"
         "    bind 127.0.0.1:" +
         port(p.refused) +
         "\n"
         "    default_backend refused\n"
         "\n"
         "frontend nosrv\n"
         "    bind 127.0.0.1:" +
         port(p.nosrv) +
         "\n"
         "    default_backend down\n"
         "\n"
         "frontend tls\n"
         "    bind 127.0.0.1:" +
         port(p.tls) + " ssl crt " + pem.string() +
         "\n"
         "    default_backend mqtt\n"
         "\n"
         "backend mqtt\n"
         "    server b1 127.0.0.1:" +
         port(broker_port) +
         "\n"
         "\n"
         "backend refused\n"
         "    retries 1\n"
         "    server r1 127.0.0.1:" +
         port(refused_port) +
         "\n"
         "\n"
         "backend down\n"
         "    server d1 127.0.0.1:" +
         port(refused_port) + " check inter 100ms fall 1 rise 1\n";
}

// haproxy -db on a haproxy.cfg, killed by PID when it goes out of scope.
struct Haproxy {
  Haproxy(TempDir& dir, const std::filesystem::path& cfg, const Ports& p)
      : process(dir, "haproxy", {kHaproxy, "-db", "-f", cfg.string()}) {
    const bool listening = wait_until(
        [&] {
          if (!process.running()) return true;
          for (uint16_t port : {p.normal, p.silent, p.idle, p.refused, p.nosrv, p.tls})
            if (!is_listening(port)) return false;
          return true;
        },
        Millis(10000));
    INFO("haproxy stderr:\n" << process.stderr_text());
    REQUIRE(listening);
    REQUIRE(process.running());
  }
  Process process;
};

// MQTT 3.1.1: CONNECT, CONNACK, PUBLISH at QoS 0, DISCONNECT; the broker
// closes after DISCONNECT. The same bytes each time, so %B agrees.
void whole_session(uint16_t port) {
  Socket client = Socket::connect(port);
  client.send_all(mqtt::connect_packet("tcplog-oracle"));
  REQUIRE(client.receive_exactly(4) == std::string("\x20\x02\x00\x00", 4));
  client.send_all(mqtt::publish_packet("oracle/t", "hello"));
  client.send_all(mqtt::disconnect_packet());
  CHECK(client.wait_closed(Millis(5000)) != Closed::kStillOpen);
  client.close();
}

// Connects and closes without a byte.
void silent_session(uint16_t port) {
  Socket client = Socket::connect(port);
  client.close();
}

// CONNECT, CONNACK, then nothing until `timeout client` (500 ms) ends it.
void idle_session(uint16_t port) {
  Socket client = Socket::connect(port);
  client.send_all(mqtt::connect_packet("tcplog-idle"));
  REQUIRE(client.receive_exactly(4) == std::string("\x20\x02\x00\x00", 4));
  CHECK(client.wait_closed(Millis(5000)) != Closed::kStillOpen);
  client.close();
}

// A session the load balancer must end itself (no server would take it).
void turned_away_session(uint16_t port) {
  Socket client = Socket::connect(port);
  client.send_all(mqtt::connect_packet("tcplog-refused"));
  CHECK(client.wait_closed(Millis(10000)) != Closed::kStillOpen);
  client.close();
}

void tls_session(uint16_t port, const std::filesystem::path& ca) {
  TlsClient client(port, ca);
  client.send_all(mqtt::connect_packet("tcplog-tls"));
  std::string connack;
  while (connack.size() < 4) {
    const std::string got = client.receive_some(4 - connack.size());
    REQUIRE(!got.empty());
    connack += got;
  }
  REQUIRE(connack == std::string("\x20\x02\x00\x00", 4));
  client.send_all(mqtt::publish_packet("oracle/t", "hello"));
  client.send_all(mqtt::disconnect_packet());
  CHECK(client.receive_some(64).empty());
  client.close();
}

// The syslog line carrying the access line of frontend `frontend` (%ft
// "tls~" for a TLS bind), waited for up to 15 s.
struct Logged {
  SyslogLine syslog;
  AccessLine access;
};
Logged logged(SyslogReceiver& receiver, const std::string& frontend, const char* who) {
  std::optional<AccessLine> access;
  const auto line = receiver.wait_for_line(
      [&](const SyslogLine& l) {
        access = parse_access_line(l.message);
        return access && (access->frontend == frontend || access->frontend == frontend + "~");
      },
      Millis(15000));
  INFO(who << ": no access line of frontend " << frontend << "; received:\n" << receiver.tail());
  REQUIRE(line.has_value());
  return {*line, *parse_access_line(line->message)};
}

// A time as compared: its value is masked, whether it is -1 is not.
std::string time_shape(long ms) {
  return ms == -1 ? "-1" : "T";
}

// "127.0.0.1:40192" → "127.0.0.1".
std::string client_ip(const AccessLine& a) {
  return a.client.substr(0, a.client.rfind(':'));
}

// The fields where mqlb's line differs from HAProxy's, one
// "field: haproxy X, mqlb Y" each; empty when they agree.
std::vector<std::string> differences(const Logged& theirs, const Logged& ours) {
  std::vector<std::string> out;
  auto field = [&](const std::string& name, const std::string& h, const std::string& m) {
    if (h != m) out.push_back(name + ": haproxy '" + h + "', mqlb '" + m + "'");
  };
  const AccessLine& h = theirs.access;
  const AccessLine& m = ours.access;
  field("syslog priority", std::to_string(theirs.syslog.priority),
        std::to_string(ours.syslog.priority));
  // The shape of the whole datagram, its trailing LF included.
  field("syslog header", header_shape(theirs.syslog), header_shape(ours.syslog));
  auto tag = [](const SyslogLine& l) { return l.tag.substr(0, l.tag.find('[')); };
  field("syslog tag", tag(theirs.syslog), tag(ours.syslog));
  field("%ci", client_ip(h), client_ip(m));
  field("%ft", h.frontend, m.frontend);
  field("%b", h.backend, m.backend);
  field("%s", h.server, m.server);
  field("%Tw", time_shape(h.queue_ms), time_shape(m.queue_ms));
  field("%Tc", time_shape(h.connect_ms), time_shape(m.connect_ms));
  field("%Tt", time_shape(h.total_ms), time_shape(m.total_ms));
  field("%B", std::to_string(h.bytes_read), std::to_string(m.bytes_read));
  field("%ts", h.termination, m.termination);
  field("%ac", std::to_string(h.actconn), std::to_string(m.actconn));
  field("%fc", std::to_string(h.feconn), std::to_string(m.feconn));
  field("%bc", std::to_string(h.beconn), std::to_string(m.beconn));
  field("%sc", std::to_string(h.srvconn), std::to_string(m.srvconn));
  field("%rc", h.retries, m.retries);
  field("%sq", std::to_string(h.server_queue), std::to_string(m.server_queue));
  field("%bq", std::to_string(h.backend_queue), std::to_string(m.backend_queue));
  // The line's shape: same words between the fields (brackets, spaces).
  static const std::regex kNumbers(R"(\d+)");
  const auto shape = [](const std::string& raw) { return std::regex_replace(raw, kNumbers, "N"); };
  field("line shape (digits masked)", shape(h.raw), shape(m.raw));
  return out;
}

// Both ends of the comparison: one broker, and haproxy and mqlb each with
// its own ports and syslog receiver from the same text.
struct Oracle {
  TempDir dir;
  TlsFiles tls = make_tls_files(dir);
  Broker broker{dir};
  uint16_t refused_port = free_port();
  Ports haproxy_ports, mqlb_ports;
  SyslogReceiver haproxy_syslog, mqlb_syslog;
  std::optional<Haproxy> haproxy;
  std::optional<Mqlb> mqlb;

  Oracle() {
    const auto haproxy_cfg =
        dir.write("haproxy.cfg", cfg_text(haproxy_ports, haproxy_syslog.port(), broker.port(),
                                          refused_port, tls.server.pem));
    const auto mqlb_cfg = dir.write(
        "haproxy.cfg",
        cfg_text(mqlb_ports, mqlb_syslog.port(), broker.port(), refused_port, tls.server.pem));
    haproxy.emplace(dir, haproxy_cfg, haproxy_ports);
    mqlb.emplace(dir, HaproxyCfg{mqlb_cfg});
  }

  // Runs `session` through each (haproxy first) and compares the lines.
  template <typename Session>
  void compare(const std::string& frontend, uint16_t Ports::*port, Session session) {
    session(haproxy_ports.*port);
    const Logged theirs = logged(haproxy_syslog, frontend, "haproxy");
    session(mqlb_ports.*port);
    const Logged ours = logged(mqlb_syslog, frontend, "mqlb");
    INFO("haproxy: " << theirs.syslog.raw << "mqlb:    " << ours.syslog.raw);
    std::string listed;
    for (const auto& d : differences(theirs, ours))
      listed += "  " + d + "\n";
    INFO("differences:\n" << listed);
    CHECK(listed.empty());
  }
};

}  // namespace

TEST_CASE("a whole MQTT session is logged by mqlb as HAProxy 2.6 logs it, field by field",
          "[integration][log][haproxy]") {
  REQUIRE(std::filesystem::exists(kHaproxy));  // scripts/setup installs it
  Oracle oracle;
  oracle.compare("normal", &Ports::normal, whole_session);
}

TEST_CASE("a client that closes before sending anything is logged as HAProxy 2.6 logs it",
          "[integration][log][haproxy]") {
  REQUIRE(std::filesystem::exists(kHaproxy));
  Oracle oracle;
  oracle.compare("silent", &Ports::silent, silent_session);
}

TEST_CASE("a server that refuses the connection is logged as HAProxy 2.6 logs it",
          "[integration][log][haproxy]") {
  REQUIRE(std::filesystem::exists(kHaproxy));
  Oracle oracle;
  oracle.compare("refused", &Ports::refused, turned_away_session);
}

TEST_CASE("a backend whose only server is DOWN is logged as HAProxy 2.6 logs it (NOSRV)",
          "[integration][log][haproxy]") {
  REQUIRE(std::filesystem::exists(kHaproxy));
  Oracle oracle;
  // Both have marked d1 DOWN before the session (the event reaches the same
  // syslog targets: `log global`).
  auto down = [](const SyslogLine& l) { return l.message.rfind("Server down/d1 is DOWN", 0) == 0; };
  if (!oracle.haproxy_syslog.wait_for_line(down))
    FAIL("haproxy did not log d1 DOWN; received:\n" << oracle.haproxy_syslog.tail());
  if (!oracle.mqlb_syslog.wait_for_line(down))
    FAIL("mqlb did not log d1 DOWN; received:\n" << oracle.mqlb_syslog.tail());
  oracle.compare("nosrv", &Ports::nosrv, turned_away_session);
}

TEST_CASE("a client timeout is logged as HAProxy 2.6 logs it", "[integration][log][haproxy]") {
  REQUIRE(std::filesystem::exists(kHaproxy));
  Oracle oracle;
  oracle.compare("idle", &Ports::idle, idle_session);
}

TEST_CASE("a TLS session is logged as HAProxy 2.6 logs it, frontend~ included",
          "[integration][log][haproxy][tls]") {
  REQUIRE(std::filesystem::exists(kHaproxy));
  Oracle oracle;
  oracle.compare("tls", &Ports::tls, [&](uint16_t port) { tls_session(port, oracle.tls.ca); });
}
