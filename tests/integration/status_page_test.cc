// The status page in a real headless Chromium, driven through the DevTools
// protocol: a page loaded once shows every server's state once its script
// has read the API, and turns a killed broker's row DOWN at its next refresh
// (the same document, not a reload); a user's click on a drain button drains
// that server, as the API and where new sessions land show. A screenshot is
// kept. And HAProxy's `;csv` at a stats section's uri, behind its `stats auth`.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include "support/broker.h"
#include "support/cdp.h"
#include "support/health.h"
#include "support/http.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;
using Json = nlohmann::json;

namespace {

// The page's own period when no `stats refresh` is set (a JSON admin bind).
constexpr long kRefreshMs = 5000;
// Safety bound on anything the page is waited for: generous, since only a
// failing test waits for all of it.
constexpr Millis kPageBound{30000};

std::string page_url(uint16_t api) {
  return "http://127.0.0.1:" + std::to_string(api) + "/";
}

// What the live page shows: server name -> the state its row shows (its
// class, which colours it, and its state cell must agree, else the row
// reads "class X, cell Y"), when its last refresh started (the page's
// Date.now()), and its error line.
struct Shown {
  std::map<std::string, std::string> rows;
  long long refreshed = 0;
  std::string error;
};

Shown shown(Chromium& page) {
  const Json j = page.evaluate(R"js(({
    rows: Object.fromEntries([...document.querySelectorAll(
        '[data-backend="mqtt"] tr[data-server]')].map(tr => {
      const cell = tr.querySelector("td.state").textContent;
      return [tr.dataset.server,
              cell === tr.className ? cell : "class " + tr.className + ", cell " + cell];
    })),
    refreshed: Number(document.body.dataset.refreshed || 0),
    error: document.getElementById("error").textContent,
  }))js");
  return {j.at("rows").get<std::map<std::string, std::string>>(), j.at("refreshed"), j.at("error")};
}

std::map<std::string, std::string> rows(Chromium& page) {
  return shown(page).rows;
}

long long wall_ms() {
  return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Json server(uint16_t api, const std::string& name) {
  return http_get(api, "/api/v1/backends/mqtt/servers/" + name).json();
}

// The page as an operator sees it, kept beside the test binary
// (build/*/tests/artefacts/), whatever directory the test runs in.
std::filesystem::path artefact(const std::string& name) {
  const auto artefacts =
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / "artefacts";
  std::filesystem::create_directories(artefacts);
  const auto path = artefacts / name;
  std::filesystem::remove(path);
  return path;
}

}  // namespace

TEST_CASE("a status page loaded once turns a killed broker's row DOWN at its next refresh",
          "[integration][status-page]") {
  TempDir dir;
  Broker broker1(dir), broker2(dir);
  Json config = two_checked_servers(broker1.port(), broker2.port(), {{"type", "mqtt"}});
  const uint16_t api = free_port();
  config["global"]["admin"] = {{"bind", "127.0.0.1:" + std::to_string(api)}};
  Mqlb lb(dir, config);
  Chromium page(dir);
  page.navigate(page_url(api));
  // A mark on this document: a reload, or another page, would not have it.
  page.evaluate("window.loadedOnce = true");
  REQUIRE(wait_until(
      [&] {
        return rows(page) == std::map<std::string, std::string>{{"b1", "UP"}, {"b2", "UP"}};
      },
      kPageBound, Millis(100)));
  CHECK(shown(page).error.empty());

  const auto shot = artefact("status-page.png");
  page.screenshot(shot);
  CHECK(std::filesystem::file_size(shot) > 10000);

  broker2.kill();
  REQUIRE(wait_for_event(lb, health_expect::down("mqtt/b2"), Millis(10000)));
  REQUIRE(wait_until([&] { return server(api, "b2")["state"] == "DOWN"; }, Millis(5000)));
  // From here every read of the API says DOWN, so a refresh that starts
  // later must show it: the first one does, within one period.
  const long long api_down = wall_ms();
  const auto since = Clock::now();
  long long stale_refresh = 0;  // a refresh started after api_down that still showed b2 UP
  Shown last;
  const bool turned = wait_until(
      [&] {
        last = shown(page);
        if (last.rows["b2"] != "DOWN" && last.refreshed > api_down) stale_refresh = last.refreshed;
        return last.rows["b2"] == "DOWN";
      },
      kPageBound, Millis(50));
  const long shown_after = elapsed_ms(since);
  REQUIRE(turned);
  CHECK(stale_refresh == 0);
  CHECK(last.rows == std::map<std::string, std::string>{{"b1", "UP"}, {"b2", "DOWN"}});
  // One period, and as much again for a slow refresh on a loaded machine.
  CHECK(shown_after < 2 * kRefreshMs);
  CHECK(page.evaluate("window.loadedOnce === true") == true);
  CHECK(last.error.empty());
}

TEST_CASE(
    "clicking a server's drain button on the status page drains it and new sessions go to "
    "the others",
    "[integration][status-page]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  const uint16_t api = free_port();
  Json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  // On loopback with no token: the API takes changes from the page.
  config["global"]["admin"] = {{"bind", "127.0.0.1:" + std::to_string(api)}};
  Mqlb lb(dir, config);
  CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b1", 2}, {"b2", 2}});

  Chromium page(dir);
  page.navigate(page_url(api));
  REQUIRE(wait_until(
      [&] {
        return rows(page) == std::map<std::string, std::string>{{"b1", "UP"}, {"b2", "UP"}};
      },
      kPageBound, Millis(100)));
  // Every click the page receives, as its handlers see it.
  page.evaluate(R"js(window.clicks = [];
    document.addEventListener("click", e => clicks.push({
      trusted: e.isTrusted, server: e.target.closest("tr")?.dataset.server || "",
      state: e.target.dataset.state || ""}), true))js");

  // Each refresh rebuilds the rows: the click goes in just after one, so that
  // the button pressed is the button released.
  const long long before = shown(page).refreshed;
  REQUIRE(wait_until([&] { return shown(page).refreshed != before; }, kPageBound, Millis(20)));
  const Json at = page.evaluate(R"js((() => {
    const button = document.querySelector(
        '[data-backend="mqtt"] tr[data-server="b1"] button[data-state="drain"]');
    button.scrollIntoView({block: "center", inline: "center"});
    const box = button.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    // What a user's pointer would hit there: the button, not something over it.
    return {x, y, hit: document.elementFromPoint(x, y) === button};
  })())js");
  REQUIRE(at.at("hit") == true);
  page.click_at(at.at("x"), at.at("y"));
  REQUIRE(wait_until([&] { return page.evaluate("clicks.length") != 0; }, kPageBound, Millis(20)));
  CHECK(page.evaluate("clicks") ==
        Json::parse(R"([{"trusted": true, "server": "b1", "state": "drain"}])"));

  // The page's PATCH reached the API...
  REQUIRE(wait_until([&] { return server(api, "b1")["admin_state"] == "drain"; }, kPageBound,
                     Millis(50)));
  CHECK(server(api, "b1")["state"] == "DRAIN");
  CHECK(server(api, "b2")["admin_state"] == "ready");
  CHECK(lb.stderr_text().find("admin: set server mqtt/b1: state drain") != std::string::npos);
  // ...the page shows it at the refresh it starts after the change...
  CHECK(wait_until(
      [&] {
        return rows(page) == std::map<std::string, std::string>{{"b1", "DRAIN"}, {"b2", "UP"}};
      },
      kPageBound, Millis(50)));
  CHECK(shown(page).error.empty());
  // ...and new sessions no longer land on b1.
  CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b2", 4}});
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
