// Many clients at once doing everything wrong, through tight limits: every
// session still ends with exactly one access line, and afterwards no slot or
// queue place is left taken (the counters of a last, lone session read 1/1/0/0).
#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("a storm of aborting clients leaks no slot and logs every session once",
          "[integration][chaos]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo());
  ScriptedServer b2(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  config["global"]["maxconn"] = 40;
  config["backends"][0]["servers"][0]["maxconn"] = 4;
  config["backends"][0]["servers"][1]["maxconn"] = 4;
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"queue", "500ms"}};
  Mqlb lb(dir, config);

  constexpr int kThreads = 8;
  constexpr int kRounds = 40;
  std::vector<std::set<uint16_t>> ports(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int round = 0; round < kRounds; ++round) {
        int error = 0;
        Socket client = Socket::try_connect(lb.port(), Millis(2000), error);
        if (error != 0) continue;
        ports[t].insert(client.local_port());
        try {
          switch (rng() % 4) {
            case 0:  // reset at once, maybe while queued or connecting
              client.reset();
              break;
            case 1:  // half a conversation, then a reset
              client.send_all(std::string(1 + rng() % 5000, 'x'), Millis(2000));
              client.reset();
              break;
            case 2:  // a polite echo, then close
              client.send_all("ping", Millis(2000));
              client.receive_exactly(4, Millis(2000));
              client.close();
              break;
            default:  // half-close and read what comes back
              client.send_all("bye", Millis(2000));
              client.shutdown_write();
              client.wait_closed(Millis(2000));
              break;
          }
        } catch (const std::exception&) {
          // Queued past timeout queue, refused: mqlb closing on us is fine.
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();

  std::set<uint16_t> all;
  size_t attempts = 0;
  for (const auto& p : ports) {
    all.insert(p.begin(), p.end());
    attempts += p.size();
  }
  REQUIRE(attempts > kThreads * kRounds / 2);
  // Exactly one line per session (client ports are not reused this fast).
  CHECK(wait_until([&] { return lb.access_lines().size() >= all.size(); }, Millis(15000)));
  std::set<uint16_t> logged;
  for (const auto& line : lb.access_lines()) {
    INFO(line.raw);
    CHECK(logged.insert(line.client_port).second);
  }
  CHECK(logged == all);

  // A lone session afterwards sees only itself: nothing leaked.
  Socket last = Socket::connect(lb.port());
  const uint16_t last_port = last.local_port();
  last.send_all("last");
  REQUIRE(last.receive_exactly(4) == "last");
  last.close();
  const AccessLine line = lb.access_line_for(last_port);
  INFO(line.raw);
  CHECK(line.actconn == 1);
  CHECK(line.feconn == 1);
  CHECK(line.beconn == 0);
  CHECK(line.srvconn == 0);
  CHECK(line.backend_queue == 0);
  CHECK(lb.process().running());
}
