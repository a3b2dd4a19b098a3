// balance "source" through the running binary: clients from nineteen
// loopback addresses (127.0.0.2 to 127.0.0.20) connect three times each;
// every address always lands on the same server, and both servers get some.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("balance source keeps each client address on one server and uses both",
          "[integration][balance]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo());
  ScriptedServer b2(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  config["backends"][0]["balance"] = "source";
  Mqlb lb(dir, config);

  std::map<std::string, std::set<std::string>> servers_by_source;
  for (int round = 0; round < 3; ++round) {
    for (int host = 2; host <= 20; ++host) {
      const std::string source = "127.0.0." + std::to_string(host);
      Socket client = Socket::connect_from(source, lb.port());
      const std::string client_address = client.local_address();
      client.send_all("hi");
      REQUIRE(client.receive_exactly(2) == "hi");
      client.close();
      const AccessLine line = lb.access_line_for(client_address);
      INFO(line.raw);
      CHECK(line.termination == "--");
      servers_by_source[source].insert(line.server);
    }
  }

  std::set<std::string> used;
  for (const auto& [source, servers] : servers_by_source) {
    INFO(source);
    CHECK(servers.size() == 1);
    used.insert(servers.begin(), servers.end());
  }
  CHECK(servers_by_source.size() == 19);
  CHECK(used == std::set<std::string>{"b1", "b2"});
}
