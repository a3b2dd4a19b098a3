// Access lines sent to a syslog server over UDP: HAProxy's default header
// (RFC 3164 without a host name), facility local0, severity info (<134>),
// tagged mqlb[PID]; and the RFC 5424 header with a log-tag and a host name
// from haproxy.cfg.
#include <catch2/catch.hpp>

#include <signal.h>

#include <regex>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// The first datagram within 10 s that matches `re`, its groups in `m`;
// false (with what came in the test's output) when none did.
bool receive_matching(UdpReceiver& syslog, const std::regex& re, std::smatch& m,
                      std::string& datagram) {
  std::string seen;
  const auto deadline = Clock::now() + Millis(10000);
  while (Clock::now() < deadline) {
    const auto got = syslog.receive(Millis(500));
    if (!got) continue;
    seen += *got + "\n";
    datagram = *got;
    if (std::regex_match(datagram, m, re)) return true;
  }
  UNSCOPED_INFO("datagrams received:\n" << seen);
  return false;
}

}  // namespace

TEST_CASE("a session's access line reaches the syslog server as an RFC 3164 datagram",
          "[integration][syslog]") {
  TempDir dir;
  UdpReceiver syslog;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  config["frontends"][0]["log"] = {{{"address", "127.0.0.1:" + std::to_string(syslog.port())},
                                    {"facility", "local0"},
                                    {"level", "info"}}};
  Mqlb lb(dir, config);

  Socket client = echoed_session(lb.port(), "hi");
  client.close();

  // <PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE, PRI = local0 (16) * 8 + info (6).
  static const std::regex kRfc3164(
      R"(^<134>[A-Z][a-z]{2} [ 1-3]\d \d{2}:\d{2}:\d{2} mqlb\[(\d+)\]: (.*?)\n?$)");
  std::smatch m;
  std::string datagram;
  REQUIRE(receive_matching(syslog, kRfc3164, m, datagram));
  std::optional<AccessLine> access = parse_access_line(m[2].str());
  REQUIRE(access.has_value());
  CHECK(m[1].str() == std::to_string(lb.pid()));
  CHECK(access->frontend == "mqtt");
  CHECK(access->server == "b1");
  CHECK(access->termination == "--");
  CHECK(access->bytes_read == 2);
}

TEST_CASE("haproxy.cfg's format rfc5424, log-tag and log-send-hostname shape the syslog header",
          "[integration][syslog][haproxy]") {
  TempDir dir;
  UdpReceiver syslog;
  ScriptedServer backend(scripts::echo());
  const uint16_t port = free_port();
  const std::string target = "127.0.0.1:" + std::to_string(syslog.port());
  const std::string text =
      "global\n    log-send-hostname gw-1\n    log-tag lb-events\n"
      "    log " +
      target +
      " format rfc5424 local1 notice\n\n"
      "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n"
      "    timeout server 10s\n    option tcplog\n\n"
      "frontend mqtt\n    bind 127.0.0.1:" +
      std::to_string(port) + "\n    log-tag mqtt-access\n    log " + target +
      " format rfc5424 local0\n"
      "    default_backend mqtt\n\n"
      "backend mqtt\n    server b1 127.0.0.1:" +
      std::to_string(backend.port()) + "\n";
  Mqlb lb(dir, HaproxyCfg{dir.write("haproxy.cfg", text)});

  Socket client = echoed_session(port, "hi");
  client.close();

  // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG (RFC 5424 §6),
  // as HAProxy 2.6 writes it: local time with microseconds and the offset.
  static const std::regex kRfc5424(
      R"(^<134>1 \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2} gw-1 mqtt-access (\d+) - - (.*?)\n?$)");
  std::smatch m;
  std::string datagram;
  REQUIRE(receive_matching(syslog, kRfc5424, m, datagram));
  CHECK(m[1].str() == std::to_string(lb.pid()));
  std::optional<AccessLine> access = parse_access_line(m[2].str());
  REQUIRE(access.has_value());
  CHECK(access->server == "b1");
  CHECK(access->bytes_read == 2);

  // An event through the global target: the global tag, and local1.notice
  // (17 * 8 + 5) for the reload's line.
  REQUIRE(::kill(lb.pid(), SIGHUP) == 0);
  static const std::regex kEvent(
      R"(^<141>1 \S+ gw-1 lb-events (\d+) - - SIGHUP received: reloading the configuration\.\n?$)");
  REQUIRE(receive_matching(syslog, kEvent, m, datagram));
  CHECK(m[1].str() == std::to_string(lb.pid()));
}
