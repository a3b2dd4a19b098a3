// In-process reload on SIGHUP (DESIGN.md §3): the file is edited, mqlb is
// signalled, and the new configuration runs without a new process. Servers
// that keep their name and address keep their live sessions; a new server
// takes new sessions at once; a removed one drains; a broken file changes
// nothing; a listener whose address stays never refuses a connection, an
// added bind accepts and a removed one refuses.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "support/broker.h"
#include "support/health.h"
#include "support/http.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// Writes `config` over the running file and sends SIGHUP; returns the
// reload's summary line ("reload: backend ...") or its failure line.
std::string reload(TempDir& dir, Mqlb& lb, const nlohmann::json& config) {
  const size_t before =
      count(lb.stderr_text(), "reload: backend") + count(lb.stderr_text(), "reload failed");
  std::filesystem::rename(dir.write("next.json", config.dump(2)), lb.config_path());
  lb.process().signal(SIGHUP);
  std::string line;
  REQUIRE(wait_until(
      [&] {
        const std::string err = lb.stderr_text();
        if (count(err, "reload: backend") + count(err, "reload failed") == before) return false;
        for (const auto& l : event_lines(lb, "reload"))
          if (l.find("reload: backend") != std::string::npos ||
              l.find("reload failed") != std::string::npos)
            line = l;
        return true;
      },
      Millis(10000)));
  return line;
}

nlohmann::json echo_config(const std::vector<BackendServer>& servers) {
  nlohmann::json c = basic_config(free_port(), servers);
  return c;
}

}  // namespace

TEST_CASE("a reload adds a server: new sessions reach it, live ones stay where they are",
          "[integration][reload]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo()), b3(scripts::echo());
  nlohmann::json config = echo_config({{"b1", b1.port()}, {"b2", b2.port()}});
  Mqlb lb(dir, config);
  Socket live1 = echoed_session(lb.port(), "one");
  Socket live2 = echoed_session(lb.port(), "two");

  config["backends"][0]["servers"].push_back(
      {{"name", "b3"}, {"address", "127.0.0.1"}, {"port", b3.port()}});
  const std::string summary = reload(dir, lb, config);
  CHECK(summary.find("[NOTICE]") == 0);
  CHECK(summary.find("reload: backend mqtt: +1 server (b3), -0, 2 unchanged; 0 listeners "
                     "changed") != std::string::npos);

  // The sessions from before relay on, on their servers.
  live1.send_all("still");
  CHECK(live1.receive_exactly(5) == "still");
  live2.send_all("here");
  CHECK(live2.receive_exactly(4) == "here");
  CHECK(echoed_sessions_per_server(lb, 6) ==
        std::map<std::string, int>{{"b1", 2}, {"b2", 2}, {"b3", 2}});
  const uint16_t p1 = live1.local_port(), p2 = live2.local_port();
  live1.close();
  live2.close();
  CHECK(lb.access_line_for(p1).termination == "--");
  CHECK(lb.access_line_for(p2).termination == "--");
}

TEST_CASE("a reload removes a server: its sessions drain, new ones go elsewhere",
          "[integration][reload]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  nlohmann::json config = echo_config({{"b1", b1.port()}, {"b2", b2.port()}});
  Mqlb lb(dir, config);
  Socket first = echoed_session(lb.port(), "a");   // b1
  Socket second = echoed_session(lb.port(), "b");  // b2

  config["backends"][0]["servers"].erase(1);
  CHECK(reload(dir, lb, config).find("+0 servers, -1 (b2), 1 unchanged") != std::string::npos);
  // Drained, not cut: the session on b2 relays until its client ends it.
  second.send_all("draining");
  CHECK(second.receive_exactly(8) == "draining");
  CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b1", 4}});
  const uint16_t port = second.local_port();
  second.close();
  const AccessLine line = lb.access_line_for(port);
  CHECK(line.server == "b2");
  CHECK(line.termination == "--");
}

TEST_CASE("a removed server's sessions end at hard-stop-after, and at once with shutdown-sessions",
          "[integration][reload]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  nlohmann::json config = echo_config({{"b1", b1.port()}, {"b2", b2.port()}});
  config["global"]["hard_stop_after"] = "1s";
  Mqlb lb(dir, config);
  Socket on_b1 = echoed_session(lb.port(), "a");
  Socket on_b2 = echoed_session(lb.port(), "b");

  nlohmann::json next = config;
  next["backends"][0]["servers"].erase(1);
  const auto reloaded = Clock::now();
  reload(dir, lb, next);
  CHECK(on_b2.wait_closed(Millis(5000)) != Closed::kStillOpen);
  const long after = elapsed_ms(reloaded);
  CHECK(after >= 900);
  const AccessLine line = lb.access_line_for(on_b2.local_port());
  CHECK(line.termination == "KD");
  // b1 was not touched.
  on_b1.send_all("alive");
  CHECK(on_b1.receive_exactly(5) == "alive");
}

TEST_CASE("a broken reload changes nothing and says why", "[integration][reload]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  const nlohmann::json config = echo_config({{"b1", b1.port()}, {"b2", b2.port()}});
  Mqlb lb(dir, config);

  SECTION("a JSON error") {
    std::filesystem::rename(dir.write("next.json", R"({"frontends": [)"), lb.config_path());
    lb.process().signal(SIGHUP);
    CHECK(wait_for_event(lb,
                         "SIGHUP received: reload failed; the running configuration keeps "
                         "serving."));
    CHECK(wait_for_event(lb, "reload: ")->find("mqlb.json") != std::string::npos);
  }
  SECTION("a server that does not resolve") {
    nlohmann::json bad = config;
    bad["backends"][0]["servers"][1]["address"] = "no-such-host..invalid";
    CHECK(reload(dir, lb, bad).find("reload failed") != std::string::npos);
    CHECK(!event_lines(lb, "could not resolve address 'no-such-host..invalid'").empty());
  }
  SECTION("a certificate that does not load") {
    nlohmann::json bad = config;
    const auto pem = dir.write("broken.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
    bad["frontends"][0]["bind"].push_back({{"address", "127.0.0.1:" + std::to_string(free_port())},
                                           {"ssl", true},
                                           {"crt", pem.string()}});
    CHECK(reload(dir, lb, bad).find("reload failed") != std::string::npos);
    CHECK(!event_lines(lb, pem.string()).empty());
  }
  SECTION("a bind already taken by another socket") {
    Socket taken = listen_tcp();
    nlohmann::json bad = config;
    bad["frontends"][0]["bind"].push_back("127.0.0.1:" + std::to_string(taken.local_port()));
    CHECK(reload(dir, lb, bad).find("reload failed") != std::string::npos);
    CHECK(!event_lines(lb, "cannot bind socket").empty());
  }
  // Still the old configuration: both servers, alternating.
  CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b1", 2}, {"b2", 2}});
  CHECK(lb.process().running());
}

TEST_CASE(
    "a listener kept across 50 reloads refuses no connection, added binds open, removed ones close",
    "[integration][reload]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo());
  nlohmann::json config = echo_config({{"b1", b1.port()}});
  Mqlb lb(dir, config);

  std::atomic<bool> stop{false};
  std::atomic<int> connected{0}, refused{0};
  std::string failure;
  std::thread client([&] {
    // A few hundred connections a second: enough to hit every reload, few
    // enough that TIME_WAIT does not use up the ephemeral ports.
    try {
      while (!stop) {
        int error = 0;
        Socket s = Socket::try_connect(lb.port(), Millis(2000), error);
        if (!s.valid()) {
          ++refused;
          continue;
        }
        s.send_all("k");
        if (s.receive_exactly(1) == "k") ++connected;
        std::this_thread::sleep_for(Millis(2));
      }
    } catch (const std::exception& e) {
      failure = e.what();
      ++refused;
    }
  });
  const uint16_t extra = free_port();
  for (int i = 0; i < 50; ++i) {
    nlohmann::json next = config;
    if (i % 2 == 0) next["frontends"][0]["bind"].push_back("127.0.0.1:" + std::to_string(extra));
    next["backends"][0]["retries"] = i % 4;  // something changes each time
    const std::string summary = reload(dir, lb, next);
    INFO(summary);
    REQUIRE(summary.find("reload: backend") != std::string::npos);
    if (i % 2 == 0) {
      // The workers open it once the new snapshot reaches them.
      REQUIRE(wait_until([&] { return is_listening(extra); }, Millis(2000)));
      CHECK(echoed_session(extra, "extra").valid());
    } else {
      CHECK(wait_until([&] { return !is_listening(extra); }, Millis(2000)));
    }
  }
  stop = true;
  client.join();
  INFO(connected << " connections made during the reloads; " << failure);
  CHECK(connected > 50);
  CHECK(refused == 0);
}

TEST_CASE(
    "a server removed by a reload keeps its MQTT subscriber until it leaves, and counters go on",
    "[integration][reload][mqtt]") {
  TempDir dir;
  Broker broker1(dir), broker2(dir);
  nlohmann::json config =
      basic_config(free_port(), {{"b1", broker1.port()}, {"b2", broker2.port()}});
  const uint16_t api = free_port();
  config["global"]["admin"] = {{"bind", "127.0.0.1:" + std::to_string(api)}};
  Mqlb lb(dir, config);
  // The first session goes to b1: its probes, published on broker 1, come back.
  Subscriber subscriber(dir, broker1.port(), "lights/#", Subscriber::Through{lb.port(), {}});
  for (int i = 0; i < 4; ++i)
    REQUIRE(mosquitto_pub(dir, lb.port(), "other", "x").exit_code == 0);
  const auto sessions = [&](const std::string& server) {
    return http_get(api, "/api/v1/backends/mqtt/servers/" + server).json()["sessions"]["total"];
  };
  const nlohmann::json b2_before = sessions("b2");
  CHECK(b2_before == 2);

  nlohmann::json next = config;
  next["backends"][0]["servers"].erase(0);
  CHECK(reload(dir, lb, next).find("reload: backend mqtt: +0 servers, -1 (b1), 1 unchanged") !=
        std::string::npos);
  for (int i = 0; i < 5; ++i)
    REQUIRE(mosquitto_pub(dir, broker1.port(), "lights/7", "on " + std::to_string(i)).exit_code ==
            0);
  CHECK(wait_until([&] { return subscriber.payloads().size() == 5; }, Millis(10000)));
  CHECK(subscriber.payloads() == std::vector<std::string>{"on 0", "on 1", "on 2", "on 3", "on 4"});

  const size_t lines = lb.access_lines().size();
  for (int i = 0; i < 3; ++i)
    REQUIRE(mosquitto_pub(dir, lb.port(), "other", "y").exit_code == 0);
  const auto after = lb.wait_for_access_lines(lines + 3);
  for (size_t i = lines; i < after.size(); ++i)
    CHECK(after[i].server == "b2");
  // b2 kept its counters through the reload.
  CHECK(sessions("b2") == b2_before.get<int>() + 3);
  CHECK(http_get(api, "/api/v1/backends/mqtt/servers/b1").status == 404);
}
