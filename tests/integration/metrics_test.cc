// /metrics through the real binary, read by a real Prometheus (Debian's
// prometheus, started by the test on loopback) and checked by promtool: the
// values Prometheus stores are the connections the test holds and made,
// and a reload in between resets nothing.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support/health.h"
#include "support/http.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/prometheus.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;
using Json = nlohmann::json;

TEST_CASE("Prometheus scrapes mqlb: live and total sessions per server, kept across a reload",
          "[integration][metrics]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  const uint16_t api = free_port();
  Json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  config["global"]["admin"] = {{"bind", "127.0.0.1:" + std::to_string(api)}};
  Mqlb lb(dir, config);
  std::vector<Socket> held;
  for (int i = 0; i < 5; ++i)
    held.push_back(echoed_session(lb.port(), "hi"));  // roundrobin: b1, b2, b1, b2, b1

  // The exposition itself is well formed.
  HttpReply scrape = http_get(api, "/metrics");
  REQUIRE(scrape.status == 200);
  CHECK(scrape.headers["content-type"].rfind("text/plain; version=0.0.4", 0) == 0);
  const RunResult check =
      run(dir, "promtool",
          {"sh", "-c", "promtool check metrics < \"$0\"", dir.write("scrape.txt", scrape.body)});
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 0);
  CHECK(check.stdout_text + check.stderr_text == "");

  Prometheus prometheus(dir, api);
  CHECK(prometheus.eventually(
      "mqlb_server_current_sessions",
      {{R"({"proxy":"mqtt","server":"b1"})", 3}, {R"({"proxy":"mqtt","server":"b2"})", 2}}));
  CHECK(prometheus.eventually("mqlb_frontend_connections_total", {{R"({"proxy":"mqtt"})", 5}}));
  CHECK(prometheus.eventually("mqlb_server_status{state=\"UP\"}",
                              {{R"({"proxy":"mqtt","server":"b1","state":"UP"})", 1},
                               {R"({"proxy":"mqtt","server":"b2","state":"UP"})", 1}}));

  // A reload (the same file) keeps the counters and the live sessions.
  lb.process().signal(SIGHUP);
  REQUIRE(wait_until([&] { return count(lb.stderr_text(), "reload: backend mqtt") == 1; },
                     Millis(10000)));
  held.erase(held.begin());  // one of b1's ends
  held.push_back(echoed_session(lb.port(), "again"));
  CHECK(prometheus.eventually("mqlb_frontend_connections_total", {{R"({"proxy":"mqtt"})", 6}}));
  CHECK(prometheus.eventually(
      "mqlb_server_sessions_total",
      {{R"({"proxy":"mqtt","server":"b1"})", 3}, {R"({"proxy":"mqtt","server":"b2"})", 3}}));
  CHECK(prometheus.eventually(
      "mqlb_server_current_sessions",
      {{R"({"proxy":"mqtt","server":"b1"})", 2}, {R"({"proxy":"mqtt","server":"b2"})", 3}}));
  CHECK(prometheus.eventually("resets(mqlb_frontend_connections_total[1m])",
                              {{R"({"proxy":"mqtt"})", 0}}));
  CHECK(prometheus.eventually("mqlb_process_reloads_total", {{"{}", 1}}));
}
