// The status page in a real headless Chromium: every server shows with its
// state once the page's script has read the API, a broker that dies turns
// its row DOWN, a drained server shows DRAIN; a screenshot is kept. And
// HAProxy's `;csv` at a stats section's uri, behind its `stats auth`.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <regex>
#include <string>

#include "support/broker.h"
#include "support/health.h"
#include "support/http.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;
using Json = nlohmann::json;

namespace {

std::vector<std::string> chromium(TempDir& dir, const std::string& what, const std::string& url) {
  return {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--user-data-dir=" + (dir.path() / "chromium").string(),
          // Long enough for the page's first read of the API.
          "--virtual-time-budget=3000", "--window-size=1200,520", what, url};
}

// Server name -> the state its row shows, from the DOM after the script ran.
std::map<std::string, std::string> rows(TempDir& dir, uint16_t port) {
  const RunResult r = run(
      dir, "chromium",
      chromium(dir, "--dump-dom", "http://127.0.0.1:" + std::to_string(port) + "/"), Millis(60000));
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::string> out;
  const std::regex row(R"re(<tr class="([A-Z]+)" data-server="([^"]+)">)re");
  for (auto it = std::sregex_iterator(r.stdout_text.begin(), r.stdout_text.end(), row);
       it != std::sregex_iterator(); ++it) {
    const std::string state = (*it)[1], server = (*it)[2];
    // The state cell says the same as the row's class.
    CHECK(r.stdout_text.find("<td class=\"state\">" + state + "</td>", it->position()) !=
          std::string::npos);
    out[server] = state;
  }
  return out;
}

}  // namespace

TEST_CASE("the status page in Chromium shows each server's state, and a dead broker as DOWN",
          "[integration][status-page]") {
  TempDir dir;
  Broker broker1(dir), broker2(dir);
  Json config = two_checked_servers(broker1.port(), broker2.port(), {{"type", "mqtt"}});
  const uint16_t api = free_port();
  config["global"]["admin"] = {{"bind", "127.0.0.1:" + std::to_string(api)}};
  Mqlb lb(dir, config);
  REQUIRE(wait_until(
      [&] {
        return rows(dir, api) == std::map<std::string, std::string>{{"b1", "UP"}, {"b2", "UP"}};
      },
      Millis(20000), Millis(200)));

  // The page as an operator sees it, kept beside the test binary
  // (build/*/tests/artefacts/), whatever directory the test runs in.
  const auto artefacts =
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / "artefacts";
  std::filesystem::create_directories(artefacts);
  const auto shot = artefacts / "status-page.png";
  std::filesystem::remove(shot);
  REQUIRE(run(dir, "chromium-shot",
              chromium(dir, "--screenshot=" + shot.string(),
                       "http://127.0.0.1:" + std::to_string(api) + "/"),
              Millis(60000))
              .exit_code == 0);
  CHECK(std::filesystem::file_size(shot) > 10000);

  broker2.kill();
  REQUIRE(wait_for_event(lb, "Server mqtt/b2 is DOWN", Millis(10000)));
  CHECK(rows(dir, api) == std::map<std::string, std::string>{{"b1", "UP"}, {"b2", "DOWN"}});
  REQUIRE(http(api, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"admin_state": "drain"})")
              .status == 200);
  CHECK(rows(dir, api) == std::map<std::string, std::string>{{"b1", "DRAIN"}, {"b2", "DOWN"}});
}

TEST_CASE("a stats section serves the status page at its uri and HAProxy's CSV after it",
          "[integration][status-page][haproxy]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo());
  const uint16_t port = free_port(), stats = free_port();
  const std::string text =
      "global\n    log stdout format raw local0\n\n"
      "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n"
      "    timeout server 10s\n\n"
      "frontend mqtt\n    bind 127.0.0.1:" +
      std::to_string(port) +
      "\n    default_backend mqtt\n\nbackend mqtt\n    server b1 127.0.0.1:" +
      std::to_string(b1.port()) +
      "\n\nlisten stats\n    mode http\n    bind 127.0.0.1:" + std::to_string(stats) +
      "\n    stats enable\n    stats uri /stats\n    stats refresh 2s\n    stats auth ops:pa55\n";
  Mqlb lb(dir, HaproxyCfg{dir.write("haproxy.cfg", text)});
  const std::string creds = "Authorization: Basic b3BzOnBhNTU=\r\n";  // ops:pa55
  CHECK(http(stats, "GET", "/stats").status == 401);
  HttpReply page = http(stats, "GET", "/stats", "", creds);
  CHECK(page.status == 200);
  CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
  CHECK(page.body.find("const REFRESH = 2000;") != std::string::npos);
  // Self-contained: nothing loaded from anywhere else.
  for (const char* load : {"src=", "<link", "@import", "url("})
    CHECK(page.body.find(load) == std::string::npos);
  const HttpReply csv = http(stats, "GET", "/stats;csv", "", creds);
  CHECK(csv.status == 200);
  CHECK(csv.body.rfind("# pxname,svname,qcur,qmax,scur,smax,slim,stot,", 0) == 0);
  CHECK(csv.body.find("\nmqtt,b1,") != std::string::npos);
  CHECK(http(stats, "GET", "/stats;csv").status == 401);
}
