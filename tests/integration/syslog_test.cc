// Access lines sent to a syslog server: RFC 3164 over UDP, facility local0,
// severity info (<134>), tagged mqlb[PID].
#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

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
  std::optional<AccessLine> access;
  std::string pid;
  std::string seen;
  const auto deadline = Clock::now() + Millis(10000);
  while (!access && Clock::now() < deadline) {
    const auto datagram = syslog.receive(Millis(500));
    if (!datagram) continue;
    seen += *datagram + "\n";
    std::smatch m;
    if (std::regex_match(*datagram, m, kRfc3164)) {
      access = parse_access_line(m[2].str());
      pid = m[1];
    }
  }
  INFO("datagrams received:\n" << seen);
  REQUIRE(access.has_value());
  CHECK(pid == std::to_string(lb.pid()));
  CHECK(access->frontend == "mqtt");
  CHECK(access->server == "b1");
  CHECK(access->termination == "--");
  CHECK(access->bytes_read == 2);
}
