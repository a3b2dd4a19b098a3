// The admin REST API through the real binary: each change is checked by
// where new connections land (mqlb's access lines), live sessions keep
// relaying, changes survive a file reload and a restart through the state
// file, bad requests are answered with the field at fault, and changes off
// loopback or on a stats section need their credentials.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

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

constexpr const char* kServers = "/api/v1/backends/mqtt/servers";

// basic_config with the admin API on its own port and a state file in `dir`.
Json admin_config(TempDir& dir, uint16_t admin_port, const std::vector<BackendServer>& servers) {
  Json c = basic_config(free_port(), servers);
  c["global"]["admin"] = {{"bind", "127.0.0.1:" + std::to_string(admin_port)}};
  c["global"]["state_file"] = (dir.path() / "mqlb.state").string();
  return c;
}

HttpReply patch(uint16_t port, const std::string& server, const Json& body) {
  return http(port, "PATCH", std::string(kServers) + "/" + server, body.dump());
}

std::map<std::string, std::string> states(uint16_t port) {
  std::map<std::string, std::string> out;
  for (const auto& s : http_get(port, kServers).json())
    out[s["name"]] = s["state"];
  return out;
}

}  // namespace

TEST_CASE("the admin API drains, weighs, adds and deletes servers, and new sessions follow",
          "[integration][admin]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo()), b3(scripts::echo());
  const uint16_t api = free_port();
  Mqlb lb(dir, admin_config(dir, api, {{"b1", b1.port()}, {"b2", b2.port()}}));
  CHECK(states(api) == std::map<std::string, std::string>{{"b1", "UP"}, {"b2", "UP"}});
  Socket on_b1 = echoed_session(lb.port(), "first");  // roundrobin: b1 first
  REQUIRE(lb.access_lines().empty());

  HttpReply r = patch(api, "b1", {{"admin_state", "drain"}});
  REQUIRE(r.status == 200);
  CHECK(r.json()["state"] == "DRAIN");
  CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b2", 4}});
  on_b1.send_all("still");
  CHECK(on_b1.receive_exactly(5) == "still");

  REQUIRE(patch(api, "b1", {{"admin_state", nullptr}, {"weight", 3}}).status == 200);
  CHECK(echoed_sessions_per_server(lb, 8) == std::map<std::string, int>{{"b1", 6}, {"b2", 2}});

  r = http(api, "POST", kServers,
           Json{{"name", "b3"}, {"address", "127.0.0.1"}, {"port", b3.port()}}.dump());
  REQUIRE(r.status == 201);
  CHECK(r.headers["location"] == std::string(kServers) + "/b3");
  CHECK(r.json()["state"] == "UP");
  REQUIRE(patch(api, "b1", {{"weight", nullptr}}).status == 200);
  CHECK(echoed_sessions_per_server(lb, 6) ==
        std::map<std::string, int>{{"b1", 2}, {"b2", 2}, {"b3", 2}});

  Socket on_b2 = echoed_session(lb.port(), "b2?");
  r = http(api, "DELETE", std::string(kServers) + "/b2");
  REQUIRE(r.status == 200);
  CHECK(r.json()["deleted"] == "mqtt/b2");
  CHECK(http_get(api, std::string(kServers) + "/b2").status == 404);
  CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b1", 2}, {"b3", 2}});
  // Every session opened before a change still relays.
  on_b1.send_all("one");
  CHECK(on_b1.receive_exactly(3) == "one");
  on_b2.send_all("two");
  CHECK(on_b2.receive_exactly(3) == "two");

  // A new address is a new server: b1 now leads to b2's echo server.
  const int b2_before = b2.accepted();
  REQUIRE(patch(api, "b1", {{"port", b2.port()}}).status == 200);
  CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b1", 2}, {"b3", 2}});
  CHECK(b2.accepted() == b2_before + 2);
  on_b1.send_all("old");
  CHECK(on_b1.receive_exactly(3) == "old");

  const Json config = http_get(api, "/api/v1/config").json();
  CHECK(config["backends"][0]["servers"].size() == 2);
  const Json info = http_get(api, "/api/v1/info").json();
  CHECK(info["pid"] == lb.pid());
  CHECK(info["reloads"] == 0);
  const std::string err = lb.stderr_text();
  CHECK(err.find("admin: set server mqtt/b1: state drain") != std::string::npos);
  CHECK(err.find("admin: add server mqtt/b3 at 127.0.0.1:") != std::string::npos);
  CHECK(err.find("admin: del server mqtt/b2; backend mqtt: +0 servers, -1 (b2)") !=
        std::string::npos);
}

TEST_CASE("admin changes survive a reload of the file and a restart, through the state file",
          "[integration][admin]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo()), b3(scripts::echo());
  const uint16_t api = free_port();
  const Json config = admin_config(dir, api, {{"b1", b1.port()}, {"b2", b2.port()}});
  const auto state_file = dir.path() / "mqlb.state";
  {
    Mqlb lb(dir, config);
    REQUIRE(patch(api, "b1", {{"admin_state", "maint"}}).status == 200);
    REQUIRE(http(api, "POST", kServers,
                 Json{{"name", "b3"}, {"address", "127.0.0.1"}, {"port", b3.port()}}.dump())
                .status == 201);
    REQUIRE(std::filesystem::exists(state_file));
    CHECK_FALSE(std::filesystem::exists(state_file.string() + ".tmp"));

    // The file is read again: the changes stay on top of it.
    lb.process().signal(SIGHUP);
    REQUIRE(wait_until([&] { return count(lb.stderr_text(), "reload: backend mqtt") == 1; },
                       Millis(10000)));
    CHECK(states(api) ==
          std::map<std::string, std::string>{{"b1", "MAINT"}, {"b2", "UP"}, {"b3", "UP"}});
    CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b2", 2}, {"b3", 2}});
    REQUIRE(lb.stop(SIGTERM) == 0);
  }
  Mqlb again(dir, config);
  CHECK(states(api) ==
        std::map<std::string, std::string>{{"b1", "MAINT"}, {"b2", "UP"}, {"b3", "UP"}});
  CHECK(echoed_sessions_per_server(again, 4) == std::map<std::string, int>{{"b2", 2}, {"b3", 2}});

  // Cleared, and the next restart runs the file as written.
  REQUIRE(patch(api, "b1", {{"admin_state", nullptr}}).status == 200);
  REQUIRE(http(api, "DELETE", std::string(kServers) + "/b3").status == 200);
  const Json kept = Json::parse(std::ifstream(state_file));
  CHECK(kept["servers"].empty());
  CHECK(kept["added"].empty());
  CHECK(kept["deleted"].empty());
}

TEST_CASE("bad admin requests get the status and the field at fault, and change nothing",
          "[integration][admin]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  const uint16_t api = free_port();
  Mqlb lb(dir, admin_config(dir, api, {{"b1", b1.port()}, {"b2", b2.port()}}));
  struct Case {
    std::string method, path, body;
    int status;
    std::string field;
  };
  const std::string b1_path = std::string(kServers) + "/b1";
  const std::vector<Case> cases = {
      {"PATCH", b1_path, "{not json", 400, "body"},
      {"PATCH", b1_path, "[]", 400, "body"},
      {"PATCH", b1_path, "{}", 400, "body"},
      {"PATCH", b1_path, R"({"weight": 257})", 400, "weight"},
      {"PATCH", b1_path, R"({"weight": -1})", 400, "weight"},
      {"PATCH", b1_path, R"({"admin_state": "up"})", 400, "admin_state"},
      {"PATCH", b1_path, R"({"port": 0})", 400, "port"},
      {"PATCH", b1_path, R"({"address": "300.1.2.3"})", 400, "address"},
      {"PATCH", b1_path, R"({"colour": "red"})", 400, "colour"},
      {"POST", kServers, R"({"name": "b1", "address": "127.0.0.1", "port": 1})", 409, "name"},
      {"POST", kServers, R"({"name": "b9", "address": "127.0.0.1"})", 400, "port"},
      {"POST", kServers, R"({"name": "b9", "address": "127.0.0.1", "port": 1, "wieght": 2})", 400,
       "wieght"},
      // Valid JSON, but the snapshot cannot be built: the CA file is missing.
      {"POST", kServers,
       R"({"name": "b9", "address": "127.0.0.1", "port": 1, "ssl": true,
           "ca-file": "/nonexistent/ca.pem"})",
       400, ""},
      {"GET", "/api/v1/backends/nope", "", 404, ""},
      {"GET", std::string(kServers) + "/b9", "", 404, ""},
      {"PATCH", std::string(kServers) + "/b9", R"({"weight": 1})", 404, ""},
      {"GET", "/api/v2/info", "", 404, ""},
      {"GET", "/nope", "", 404, ""},  // "/" is the status page
      {"PUT", b1_path, "{}", 405, ""},
      {"DELETE", "/api/v1/info", "", 405, ""},
      {"GET", "/api/v1/reload", "", 405, ""},
  };
  for (const auto& c : cases) {
    INFO(c.method << " " << c.path << " " << c.body);
    HttpReply r = http(api, c.method, c.path, c.body);
    CHECK(r.status == c.status);
    const Json body = r.json();
    CHECK_FALSE(body.value("error", "").empty());
    if (!c.field.empty()) CHECK(body.value("field", "") == c.field);
    if (c.status == 405) CHECK_FALSE(r.headers["allow"].empty());
  }
  CHECK(states(api) == std::map<std::string, std::string>{{"b1", "UP"}, {"b2", "UP"}});
  CHECK(http_get(api, b1_path).json()["weight"] == 1);
  CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b1", 2}, {"b2", 2}});
  CHECK_FALSE(std::filesystem::exists(dir.path() / "mqlb.state"));
}

TEST_CASE("POST /api/v1/reload reads the file again, and answers 400 with the errors of a bad one",
          "[integration][admin][reload]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo()), b3(scripts::echo());
  const uint16_t api = free_port();
  Json config = admin_config(dir, api, {{"b1", b1.port()}, {"b2", b2.port()}});
  Mqlb lb(dir, config);
  config["backends"][0]["servers"].push_back(
      {{"name", "b3"}, {"address", "127.0.0.1"}, {"port", b3.port()}});
  std::filesystem::rename(dir.write("next.json", config.dump(2)), lb.config_path());
  HttpReply r = http(api, "POST", "/api/v1/reload");
  REQUIRE(r.status == 200);
  CHECK(states(api).size() == 3);

  std::filesystem::rename(dir.write("broken.json", "{\"global\": {"), lb.config_path());
  r = http(api, "POST", "/api/v1/reload");
  CHECK(r.status == 400);
  REQUIRE(r.json()["errors"].size() == 1);
  CHECK(r.json()["errors"][0].get<std::string>().find("invalid JSON") != std::string::npos);
  CHECK(echoed_sessions_per_server(lb, 3) ==
        std::map<std::string, int>{{"b1", 1}, {"b2", 1}, {"b3", 1}});
  const Json info = http_get(api, "/api/v1/info").json();
  CHECK(info["reloads"] == 1);
  CHECK(info["reloads_failed"] == 1);
}

TEST_CASE("off loopback, changes need the admin token", "[integration][admin]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo());
  const uint16_t api = free_port();
  Json config = admin_config(dir, api, {{"b1", b1.port()}});
  // Every address: the API is not on loopback, though the test reaches it there.
  config["global"]["admin"] = {{"bind", "0.0.0.0:" + std::to_string(api)}, {"token", "s3cret"}};
  Mqlb lb(dir, config);
  const std::string body = R"({"weight": 2})";
  CHECK(http_get(api, kServers).status == 200);
  HttpReply r = http(api, "PATCH", std::string(kServers) + "/b1", body);
  CHECK(r.status == 401);
  CHECK(r.headers["www-authenticate"].rfind("Bearer", 0) == 0);
  CHECK(http(api, "PATCH", std::string(kServers) + "/b1", body, "Authorization: Bearer wrong\r\n")
            .status == 401);
  CHECK(http_get(api, std::string(kServers) + "/b1").json()["weight"] == 1);
  r = http(api, "PATCH", std::string(kServers) + "/b1", body, "Authorization: Bearer s3cret\r\n");
  CHECK(r.status == 200);
  CHECK(r.json()["weight"] == 2);
}

TEST_CASE("off loopback without a token, the API only reads", "[integration][admin]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo());
  const uint16_t api = free_port();
  Json config = admin_config(dir, api, {{"b1", b1.port()}});
  config["global"]["admin"] = {{"bind", "0.0.0.0:" + std::to_string(api)}};
  Mqlb lb(dir, config);
  CHECK(http_get(api, kServers).status == 200);
  const HttpReply r = http(api, "DELETE", std::string(kServers) + "/b1");
  CHECK(r.status == 403);
  CHECK(r.json()["error"].get<std::string>().find("token") != std::string::npos);
  CHECK(http(api, "POST", "/api/v1/reload").status == 403);
}

TEST_CASE("a haproxy.cfg stats section serves the API with its stats auth and stats admin",
          "[integration][admin][haproxy]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  const uint16_t port = free_port(), admin_port = free_port(), read_port = free_port();
  const std::string text =
      "global\n    log stdout format raw local0\n\n"
      "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n"
      "    timeout server 10s\n    option tcplog\n    log global\n\n"
      "frontend mqtt\n    bind 127.0.0.1:" +
      std::to_string(port) +
      "\n    default_backend mqtt\n\n"
      "backend mqtt\n    server b1 127.0.0.1:" +
      std::to_string(b1.port()) + "\n    server b2 127.0.0.1:" + std::to_string(b2.port()) +
      "\n\n"
      "listen stats\n    mode http\n    bind 127.0.0.1:" +
      std::to_string(admin_port) +
      "\n    stats enable\n    stats uri /stats\n    stats auth ops:pa55\n"
      "    stats admin if TRUE\n\n"
      "listen readonly\n    mode http\n    bind 127.0.0.1:" +
      std::to_string(read_port) + "\n    stats enable\n    stats uri /stats\n";
  Mqlb lb(dir, HaproxyCfg{dir.write("haproxy.cfg", text)});
  const std::string creds = "Authorization: Basic b3BzOnBhNTU=\r\n";  // ops:pa55
  const std::string wrong = "Authorization: Basic b3BzOm5vcGU=\r\n";  // ops:nope
  const std::string drain = R"({"admin_state": "drain"})";
  const std::string b1_path = std::string(kServers) + "/b1";

  HttpReply r = http_get(admin_port, kServers);
  CHECK(r.status == 401);
  CHECK(r.headers["www-authenticate"].rfind("Basic realm=", 0) == 0);
  CHECK(http(admin_port, "GET", kServers, "", wrong).status == 401);
  CHECK(http(admin_port, "GET", kServers, "", creds).status == 200);
  CHECK(http(admin_port, "PATCH", b1_path, drain).status == 401);
  r = http(admin_port, "PATCH", b1_path, drain, creds);
  CHECK(r.status == 200);
  CHECK(r.json()["state"] == "DRAIN");
  CHECK(echoed_sessions_per_server(lb, 2) == std::map<std::string, int>{{"b2", 2}});

  // No stats auth there: reads are open, changes refused.
  CHECK(http_get(read_port, b1_path).json()["state"] == "DRAIN");
  r = http(read_port, "PATCH", b1_path, R"({"admin_state": "ready"})");
  CHECK(r.status == 403);
  CHECK(http_get(read_port, b1_path).json()["state"] == "DRAIN");
}

TEST_CASE("a busy default admin port is given up with a warning, a configured one fails the start",
          "[integration][admin]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo());
  {
    // 8404 held (by this test, or by whatever else has it): mqlb runs without the API.
    int error = 0;
    Socket held = Socket::try_connect(8404, Millis(500), error);
    Socket listener;
    if (!held.valid()) listener = listen_tcp(8404);
    Json defaults = basic_config(free_port(), {{"b1", b1.port()}});
    defaults["global"].erase("admin");  // the default endpoint, 127.0.0.1:8404
    Mqlb lb(dir, defaults);
    CHECK(lb.stderr_text().find("admin API on 127.0.0.1:8404: ") != std::string::npos);
    CHECK(lb.stderr_text().find("running without the admin API") != std::string::npos);
    CHECK(echoed_sessions_per_server(lb, 1) == std::map<std::string, int>{{"b1", 1}});
  }
  Socket busy = listen_tcp();
  const uint16_t busy_port = static_cast<uint16_t>(busy.local_port());
  Json config = basic_config(free_port(), {{"b1", b1.port()}});
  config["global"]["admin"] = {{"bind", "127.0.0.1:" + std::to_string(busy_port)}};
  const RefusedStart refused =
      start_refused(dir, config, {bind_port(config["frontends"][0]["bind"][0])});
  CHECK(refused.run.exit_code == 1);
  CHECK_FALSE(refused.listened);
  CHECK(refused.run.stderr_text.find("[ALERT]") != std::string::npos);
  CHECK(refused.run.stderr_text.find("admin API on 127.0.0.1:" + std::to_string(busy_port)) !=
        std::string::npos);
}
