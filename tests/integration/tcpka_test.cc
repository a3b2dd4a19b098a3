// HAProxy's clitcpka and srvtcpka: mqlb turns on TCP keepalive on its
// client or server connections, so that the kernel finds a peer that
// vanished. `ss -o` shows a keepalive timer on exactly those sockets.
#include <catch2/catch.hpp>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// ss's line for the established socket from local port `from` to `to`.
std::string socket_line(TempDir& dir, uint16_t from, uint16_t to) {
  const RunResult ss =
      run(dir, "ss",
          {"ss", "-tnoH", "state", "established",
           "( sport = :" + std::to_string(from) + " and dport = :" + std::to_string(to) + " )"});
  return ss.stdout_text;
}

}  // namespace

TEST_CASE("clitcpka and srvtcpka put a keepalive timer on their side's sockets",
          "[integration][config]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});

  SECTION("client side only") {
    config["frontends"][0]["clitcpka"] = true;
    Mqlb lb(dir, config);
    Socket client = echoed_session(lb.port(), "x");
    // mqlb's end of the client connection: from its bind port to the client.
    const std::string to_client = socket_line(dir, lb.port(), client.local_port());
    INFO(to_client);
    CHECK(to_client.find("timer:(keepalive") != std::string::npos);
    // Its connection to the server has none.
    const std::string to_server = run(dir, "ss",
                                      {"ss", "-tnoH", "state", "established",
                                       "( dport = :" + std::to_string(backend.port()) + " )"})
                                      .stdout_text;
    INFO(to_server);
    REQUIRE_FALSE(to_server.empty());
    CHECK(to_server.find("keepalive") == std::string::npos);
  }
  SECTION("server side only") {
    config["backends"][0]["srvtcpka"] = true;
    Mqlb lb(dir, config);
    Socket client = echoed_session(lb.port(), "x");
    const std::string to_server = run(dir, "ss",
                                      {"ss", "-tnoH", "state", "established",
                                       "( dport = :" + std::to_string(backend.port()) + " )"})
                                      .stdout_text;
    INFO(to_server);
    CHECK(to_server.find("timer:(keepalive") != std::string::npos);
    const std::string to_client = socket_line(dir, lb.port(), client.local_port());
    INFO(to_client);
    REQUIRE_FALSE(to_client.empty());
    CHECK(to_client.find("keepalive") == std::string::npos);
  }
}
