// load_json: the health check options (HAProxy's server check keys and
// default-server, the backend's check, timeout check).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "conf/json_loader.h"
#include "load_checks.h"

namespace mqlb::conf {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// One frontend, one backend "mqtt" with two servers b1 and b2.
Json two_servers() {
  return Json::parse(R"({
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "mqtt"}],
    "backends": [{"name": "mqtt", "servers": [
      {"name": "b1", "address": "127.0.0.1", "port": 1884},
      {"name": "b2", "address": "127.0.0.1", "port": 1885}]}]
  })");
}

using checks::listing;
using checks::load;
using checks::loads;

// Refused with exactly this error (and maybe others).
void refused_with(const Json& doc, const std::string& field, const std::string& message) {
  checks::refused_with(doc, field, message, checks::Match::Exact);
}

// The document with `extra` merged into server `i` of the first backend.
Json server_with(Json extra, size_t i = 0) {
  Json doc = two_servers();
  doc["backends"][0]["servers"][i].update(extra);
  return doc;
}

Json backend_check(Json check) {
  Json doc = two_servers();
  doc["backends"][0]["check"] = std::move(check);
  return doc;
}

// The example of docs/config.md's "Health checks", verbatim.
constexpr const char* kDocsExample = R"({
  "frontends": [
    {"name": "mqtt", "bind": ["0.0.0.0:1883"], "default_backend": "mqtt"},
    {"name": "legacy", "bind": ["0.0.0.0:1884"], "default_backend": "legacy"}
  ],
  "backends": [
    {
      "name": "mqtt",
      "check": {"type": "mqtt", "username": "probe", "password": "probe-secret",
                "log-health-checks": true},
      "timeouts": {"check": "3s"},
      "default-server": {"check": true, "inter": "2s", "rise": 2, "fall": 3,
                         "on-marked-up": "shutdown-backup-sessions"},
      "servers": [
        {"name": "b1", "address": "10.0.0.5", "port": 1883},
        {"name": "b2", "address": "10.0.0.6", "port": 1883, "slowstart": "30s"},
        {"name": "spare", "address": "10.0.0.7", "port": 1883, "backup": true}
      ]
    },
    {
      "name": "legacy",
      "check": {"type": "tcp-check", "tcp-check": [
        "connect",
        "send-binary 100c00044d5154540402003c0000",
        "expect binary 20020000"
      ]},
      "servers": [
        {"name": "l1", "address": "10.0.1.5", "port": 1883, "check": true, "fall": 2},
        {"name": "l2", "address": "10.0.1.6", "port": 1883, "check": true, "check-port": 1884}
      ]
    }
  ]
})";

// --- Loading ---------------------------------------------------------------

TEST_CASE("the docs/config.md health check example loads", "[json_loader][health]") {
  LoadResult r = load_json(kDocsExample, "mqlb.json");
  INFO(listing(r));
  REQUIRE(r.errors.empty());
  CHECK(r.warnings.empty());
  const Config& c = *r.config;
  REQUIRE(c.backends.size() == 2);
  const Backend& mqtt = c.backends[0];
  CHECK(mqtt.check.type == BackendCheck::Type::Mqtt);
  CHECK(mqtt.check.client_id == "mqlb-check");
  CHECK(mqtt.check.username == "probe");
  CHECK(mqtt.check.password == "probe-secret");
  CHECK(mqtt.check.protocol == 4);
  CHECK(mqtt.check.log_health_checks);
  CHECK(mqtt.timeouts.check == 3s);
  REQUIRE(mqtt.servers.size() == 3);
  for (const Server& s : mqtt.servers) {
    INFO(s.name);
    CHECK(s.check.enabled);
    CHECK(s.check.inter == 2s);
    CHECK(s.check.rise == 2);
    CHECK(s.check.fall == 3);
    CHECK(s.check.shutdown_backup_sessions_on_up);
    CHECK(s.check.init_state == ServerCheck::InitState::Up);
  }
  CHECK_FALSE(mqtt.servers[0].check.slowstart);
  CHECK(mqtt.servers[1].check.slowstart == 30s);
  CHECK(mqtt.servers[2].backup);

  const Backend& legacy = c.backends[1];
  CHECK(legacy.check.type == BackendCheck::Type::TcpCheck);
  CHECK(legacy.check.tcp_check ==
        std::vector<std::string>{"connect", "send-binary 100c00044d5154540402003c0000",
                                 "expect binary 20020000"});
  CHECK_FALSE(legacy.timeouts.check);
  CHECK(legacy.servers[0].check.enabled);
  CHECK(legacy.servers[0].check.fall == 2);
  CHECK(legacy.servers[0].check.port == 0);
  CHECK(legacy.servers[1].check.port == 1884);
  CHECK(legacy.servers[1].check.inter == 2s);
}

TEST_CASE("every server check key loads", "[json_loader][health]") {
  Config c = loads(server_with(Json::parse(R"({
    "check": true, "inter": "5s", "fastinter": 500, "downinter": "30s", "rise": 4, "fall": 5,
    "check-port": 8080, "check-addr": "10.0.0.9", "init-state": "fully-down",
    "slowstart": "1m", "on-marked-down": "shutdown-sessions",
    "on-marked-up": "shutdown-backup-sessions", "on-error": "sudden-death",
    "check-ssl": true, "verify": "none", "observe": "layer4", "error-limit": 4
  })")));
  const ServerCheck& k = c.backends[0].servers[0].check;
  CHECK(k.enabled);
  CHECK(k.inter == 5s);
  CHECK(k.fastinter == 500ms);
  CHECK(k.downinter == 30s);
  CHECK(k.rise == 4);
  CHECK(k.fall == 5);
  CHECK(k.port == 8080);
  CHECK(k.addr == "10.0.0.9");
  CHECK(k.init_state == ServerCheck::InitState::FullyDown);
  CHECK(k.slowstart == 1min);
  CHECK(k.shutdown_sessions_on_down);
  CHECK(k.shutdown_backup_sessions_on_up);
  CHECK(k.on_error == ServerCheck::OnError::SuddenDeath);
  CHECK(k.observe);
  CHECK(k.error_limit == 4);
  CHECK(k.ssl);
  CHECK_FALSE(c.backends[0].servers[0].tls.enabled);  // checks over TLS, traffic plain
  CHECK_FALSE(c.backends[0].servers[0].tls.verify);
  CHECK(c.backends[0].servers[1].check == ServerCheck{});
}

TEST_CASE("every init-state loads", "[json_loader][health]") {
  auto [name, state] = GENERATE(table<const char*, ServerCheck::InitState>(
      {{"up", ServerCheck::InitState::Up},
       {"down", ServerCheck::InitState::Down},
       {"fully-up", ServerCheck::InitState::FullyUp},
       {"fully-down", ServerCheck::InitState::FullyDown}}));
  CHECK(loads(server_with({{"check", true}, {"init-state", name}}))
            .backends[0]
            .servers[0]
            .check.init_state == state);
}

TEST_CASE("every on-error action loads", "[json_loader][health]") {
  auto [action, on_error] = GENERATE(
      table<const char*, ServerCheck::OnError>({{"fastinter", ServerCheck::OnError::Fastinter},
                                                {"fail-check", ServerCheck::OnError::FailCheck},
                                                {"sudden-death", ServerCheck::OnError::SuddenDeath},
                                                {"mark-down", ServerCheck::OnError::MarkDown}}));
  CHECK(loads(server_with({{"check", true}, {"on-error", action}}))
            .backends[0]
            .servers[0]
            .check.on_error == on_error);
}

TEST_CASE("an MQTT check loads with every key, and timeout check", "[json_loader][health]") {
  Json doc = backend_check(Json::parse(R"({
    "type": "mqtt", "client_id": "lb-probe", "username": "probe", "password": "secret",
    "protocol": "5", "log-health-checks": true
  })"));
  doc["backends"][0]["timeouts"] = {{"check", "3s"}};
  Config c = loads(doc);
  const BackendCheck& k = c.backends[0].check;
  CHECK(k.type == BackendCheck::Type::Mqtt);
  CHECK(k.client_id == "lb-probe");
  CHECK(k.username == "probe");
  CHECK(k.password == "secret");
  CHECK(k.protocol == 5);
  CHECK(k.log_health_checks);
  CHECK(k.tcp_check.empty());
  CHECK(c.backends[0].timeouts.check == 3s);
  doc["backends"][0]["check"]["protocol"] = "3.1.1";
  CHECK(loads(doc).backends[0].check.protocol == 4);
}

TEST_CASE("a tcp-check backend keeps its rules as written", "[json_loader][health]") {
  // HAProxy's MQTT 3.1.1 probe: CONNECT with keep-alive 60, expect CONNACK 0.
  const std::vector<std::string> rules = {"connect", "send-binary 101000044d5154540402003c0000",
                                          "expect binary 20020000"};
  Config c = loads(backend_check({{"type", "tcp-check"}, {"tcp-check", rules}}));
  CHECK(c.backends[0].check.type == BackendCheck::Type::TcpCheck);
  CHECK(c.backends[0].check.tcp_check == rules);
  CHECK_FALSE(c.backends[0].check.log_health_checks);
}

TEST_CASE("health checks are off by default, with HAProxy's values", "[json_loader][health]") {
  Config c = loads(two_servers());
  const ServerCheck& k = c.backends[0].servers[0].check;
  CHECK_FALSE(k.enabled);
  CHECK(k.inter == 2s);
  CHECK_FALSE(k.fastinter);  // inter where it is used
  CHECK_FALSE(k.downinter);
  CHECK(k.rise == 2);
  CHECK(k.fall == 3);
  CHECK(k.port == 0);
  CHECK(k.addr.empty());
  CHECK(k.init_state == ServerCheck::InitState::Up);
  CHECK_FALSE(k.slowstart);
  CHECK_FALSE(k.shutdown_sessions_on_down);
  CHECK_FALSE(k.shutdown_backup_sessions_on_up);
  CHECK(k.on_error == ServerCheck::OnError::FailCheck);
  CHECK_FALSE(k.observe);
  CHECK(k.error_limit == 10);
  CHECK_FALSE(k.ssl);
  const BackendCheck& b = c.backends[0].check;
  CHECK(b.type == BackendCheck::Type::Tcp);
  CHECK(b.client_id == "mqlb-check");
  CHECK(b.username.empty());
  CHECK(b.password.empty());
  CHECK(b.protocol == 4);
  CHECK(b.tcp_check.empty());
  CHECK_FALSE(b.log_health_checks);
  CHECK_FALSE(c.backends[0].timeouts.check);  // inter where it is used

  // "check": true alone turns on HAProxy's defaults.
  c = loads(server_with({{"check", true}}));
  ServerCheck on;
  on.enabled = true;
  CHECK(c.backends[0].servers[0].check == on);
}

// --- Inheritance -----------------------------------------------------------

TEST_CASE("servers inherit their backend's default-server and their own values win",
          "[json_loader][health]") {
  Json doc = two_servers();
  doc["backends"][0]["default-server"] = Json::parse(R"({
    "check": true, "inter": "1s", "rise": 3, "fall": 2, "slowstart": "10s",
    "weight": 10, "maxconn": 50, "backup": true, "on-error": "mark-down"
  })");
  doc["backends"][0]["servers"][1].update(
      Json::parse(R"({"inter": "4s", "rise": 1, "weight": 20, "backup": false, "slowstart": 0})"));
  Config c = loads(doc);
  const Server& b1 = c.backends[0].servers[0];
  CHECK(b1.check.enabled);
  CHECK(b1.check.inter == 1s);
  CHECK(b1.check.rise == 3);
  CHECK(b1.check.fall == 2);
  CHECK(b1.check.slowstart == 10s);
  CHECK(b1.check.on_error == ServerCheck::OnError::MarkDown);
  CHECK(b1.weight == 10);
  CHECK(b1.maxconn == 50);
  CHECK(b1.backup);
  const Server& b2 = c.backends[0].servers[1];
  CHECK(b2.check.enabled);
  CHECK(b2.check.inter == 4s);
  CHECK(b2.check.rise == 1);
  CHECK(b2.check.fall == 2);
  CHECK_FALSE(b2.check.slowstart);  // 0 takes the inherited one away
  CHECK(b2.weight == 20);
  CHECK(b2.maxconn == 50);
  CHECK_FALSE(b2.backup);
  CHECK(b2.name == "b2");  // the server's own keys are untouched
  CHECK(b2.port == 1885);
}

TEST_CASE("defaults.default-server reaches every backend, under the backend's own",
          "[json_loader][health]") {
  Json doc = two_servers();
  doc["backends"].push_back(Json::parse(R"({"name": "other", "servers": [
    {"name": "o1", "address": "127.0.0.1", "port": 1886}]})"));
  doc["defaults"] = {{"default-server", {{"check", true}, {"inter", "3s"}, {"fall", 4}}}};
  doc["backends"][0]["default-server"] = {{"inter", "500ms"}};
  Config c = loads(doc);
  for (const Server& s : c.backends[0].servers) {
    CHECK(s.check.enabled);
    CHECK(s.check.inter == 500ms);  // the backend's default-server
    CHECK(s.check.fall == 4);       // the defaults' default-server
  }
  const Server& o1 = c.backends[1].servers[0];
  CHECK(o1.check.enabled);
  CHECK(o1.check.inter == 3s);
  CHECK(o1.check.fall == 4);
}

TEST_CASE("check options from default-server may reach a server that does not check",
          "[json_loader][health]") {
  // HAProxy allows default-server options on servers without `check`.
  Json doc = two_servers();
  doc["defaults"] = {{"default-server", {{"inter", "3s"}, {"rise", 5}, {"check-ssl", true}}}};
  doc["backends"][0]["default-server"] = {{"fall", 1}, {"check-addr", "::1"}};
  Config c = loads(doc);
  const ServerCheck& k = c.backends[0].servers[0].check;
  CHECK_FALSE(k.enabled);
  CHECK(k.inter == 3s);
  CHECK(k.rise == 5);
  CHECK(k.fall == 1);
  CHECK(k.addr == "::1");
  // Not checked, so check-ssl from default-server asks for no TLS settings.
  CHECK_FALSE(c.backends[0].servers[0].tls.enabled);

  // A server turning check off under a default-server that turns it on.
  doc["defaults"]["default-server"].erase("check-ssl");
  doc["backends"][0]["default-server"]["check"] = true;
  doc["backends"][0]["servers"][1]["check"] = false;
  c = loads(doc);
  CHECK(c.backends[0].servers[0].check.enabled);
  CHECK_FALSE(c.backends[0].servers[1].check.enabled);
}

TEST_CASE("defaults.check goes to backends without their own, which replace it whole",
          "[json_loader][health]") {
  Json doc = two_servers();
  doc["backends"].push_back(Json::parse(R"({"name": "other", "check": {"type": "tcp"},
    "servers": [{"name": "o1", "address": "127.0.0.1", "port": 1886}]})"));
  doc["defaults"] = {
      {"check", {{"type", "mqtt"}, {"client_id", "probe"}, {"log-health-checks", true}}}};
  Config c = loads(doc);
  CHECK(c.backends[0].check.type == BackendCheck::Type::Mqtt);
  CHECK(c.backends[0].check.client_id == "probe");
  CHECK(c.backends[0].check.log_health_checks);
  CHECK(c.backends[1].check == BackendCheck{});  // nothing of the defaults' check is merged
}

TEST_CASE("timeout check is inherited from defaults and 0 means unset", "[json_loader][health]") {
  Json doc = two_servers();
  doc["defaults"] = {{"timeouts", {{"check", "4s"}}}};
  CHECK(loads(doc).backends[0].timeouts.check == 4s);
  doc["backends"][0]["timeouts"] = {{"check", 1500}};
  CHECK(loads(doc).backends[0].timeouts.check == 1500ms);
  doc["backends"][0]["timeouts"] = {{"check", 0}};
  CHECK_FALSE(loads(doc).backends[0].timeouts.check);  // inter where it is used
}

// --- Errors ----------------------------------------------------------------

TEST_CASE("bad server check values are refused with what is expected",
          "[json_loader][health][errors]") {
  const std::string s0 = "backends[0].servers[0].";
  auto checked = [](Json extra) {
    extra["check"] = true;
    return server_with(extra);
  };
  refused_with(server_with({{"check", "yes"}}), s0 + "check", "must be true or false, got \"yes\"");
  refused_with(checked({{"inter", 0}}), s0 + "inter",
               "must be above 0, such as 2000 (ms) or \"2s\"");
  refused_with(checked({{"fastinter", "0s"}}), s0 + "fastinter",
               "must be above 0, such as 2000 (ms) or \"2s\"");
  refused_with(checked({{"downinter", "soon"}}), s0 + "downinter",
               "expected a time such as 500ms, 5s, 2m (units us ms s m h d), got 'soon'");
  refused_with(checked({{"inter", true}}), s0 + "inter",
               "must be a time such as 5000 (ms) or \"5s\", got true");
  refused_with(server_with({{"check", true}, {"rise", 0}}, 1), "backends[0].servers[1].rise",
               "must be 1..100, got 0");
  refused_with(checked({{"fall", 101}}), s0 + "fall", "must be 1..100, got 101");
  refused_with(checked({{"check-port", 70000}}), s0 + "check-port", "must be 1..65535, got 70000");
  refused_with(checked({{"check-addr", "broker.example"}}), s0 + "check-addr",
               "must be an IP address such as 10.0.0.5 or ::1, got 'broker.example'");
  refused_with(checked({{"init-state", "sideways"}}), s0 + "init-state",
               "unknown init-state 'sideways' (up, down, fully-up, fully-down)");
  refused_with(checked({{"slowstart", -1}}), s0 + "slowstart",
               "must be a time such as 5000 (ms) or \"5s\", got -1");
  refused_with(checked({{"on-marked-down", "shutdown-backup-sessions"}}), s0 + "on-marked-down",
               "unknown on-marked-down action 'shutdown-backup-sessions' (shutdown-sessions)");
  refused_with(checked({{"on-marked-up", "shutdown-sessions"}}), s0 + "on-marked-up",
               "unknown on-marked-up action 'shutdown-sessions' (shutdown-backup-sessions)");
  refused_with(checked({{"on-error", "retry"}}), s0 + "on-error",
               "unknown on-error action 'retry' (fastinter, fail-check, sudden-death, mark-down)");
  refused_with(checked({{"check-ssl", 1}}), s0 + "check-ssl", "must be true or false, got 1");
  refused_with(checked({{"observe", "layer7"}}), s0 + "observe",
               "'layer7' observes HTTP responses, and mqlb balances TCP: use 'layer4'");
  refused_with(checked({{"observe", "layer3"}}), s0 + "observe",
               "unknown observe mode 'layer3' (layer4, none)");
  refused_with(checked({{"error-limit", 0}}), s0 + "error-limit", "must be 1..1000000, got 0");
  // check-ssl uses the server's TLS settings: verify required needs a CA.
  refused_with(checked({{"check-ssl", true}}), s0 + "ca-file",
               "is required to verify the server's certificate (or set \"verify\": \"none\")");
  refused_with(
      checked({{"check-interval", "2s"}}), s0 + "check-interval",
      "unknown key (expected one of: weight, maxconn, backup, disabled, check, inter, "
      "fastinter, downinter, rise, fall, check-port, check-addr, init-state, slowstart, "
      "on-marked-down, on-marked-up, on-error, check-ssl, observe, error-limit, resolve-prefer, "
      "init-addr, drain, name, address, port, ssl, verify, ca-file, sni, crt)");
}

TEST_CASE("check options on a server that does not check are refused by name",
          "[json_loader][health][errors]") {
  const std::string s0 = "backends[0].servers[0].";
  for (const char* key : {"inter", "fastinter", "downinter"})
    refused_with(server_with({{key, "2s"}}), s0 + key, "needs \"check\": true");
  refused_with(server_with({{"rise", 2}}), s0 + "rise", "needs \"check\": true");
  refused_with(server_with({{"fall", 2}}), s0 + "fall", "needs \"check\": true");
  refused_with(server_with({{"check-port", 8080}}), s0 + "check-port", "needs \"check\": true");
  refused_with(server_with({{"check-addr", "10.0.0.9"}}), s0 + "check-addr",
               "needs \"check\": true");
  refused_with(server_with({{"init-state", "down"}}), s0 + "init-state", "needs \"check\": true");
  refused_with(server_with({{"on-error", "mark-down"}}), s0 + "on-error", "needs \"check\": true");
  refused_with(server_with({{"check-ssl", true}}), s0 + "check-ssl", "needs \"check\": true");
  refused_with(server_with({{"check", false}, {"inter", "2s"}}), s0 + "inter",
               "needs \"check\": true");

  // Options that mean something without checks.
  loads(server_with(Json::parse(R"({"slowstart": "10s", "on-marked-down": "shutdown-sessions",
                                    "on-marked-up": "shutdown-backup-sessions"})")));

  // Only the server's own keys: none for what default-server gives.
  Json doc = server_with({{"rise", 4}}, 1);
  doc["backends"][0]["default-server"] = {{"inter", "1s"}, {"fall", 2}};
  LoadResult r = load(doc);
  INFO(listing(r));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].field == "backends[0].servers[1].rise");
}

TEST_CASE("bad default-server values are reported once, at the default-server",
          "[json_loader][health][errors]") {
  Json doc = two_servers();
  doc["backends"][0]["default-server"] = {{"rise", 0}};
  LoadResult r = load(doc);
  INFO(listing(r));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() ==
        "mqlb.json: backends[0].default-server.rise: must be 1..100, "
        "got 0");

  doc = two_servers();
  doc["defaults"] = {{"default-server", {{"check", true}, {"address", "10.0.0.1"}}}};
  refused_with(doc, "defaults.default-server.address",
               "unknown key (expected one of: weight, maxconn, backup, disabled, check, inter, "
               "fastinter, downinter, rise, fall, check-port, check-addr, init-state, slowstart, "
               "on-marked-down, on-marked-up, on-error, check-ssl, observe, error-limit, "
               "resolve-prefer, init-addr, drain)");
  doc["defaults"] = {{"default-server", {{"on-error", "explode"}}}};
  refused_with(doc, "defaults.default-server.on-error",
               "unknown on-error action 'explode' (fastinter, fail-check, sudden-death, "
               "mark-down)");
  doc["defaults"] = {{"default-server", true}};
  refused_with(doc, "defaults.default-server", "must be an object, got true");
}

TEST_CASE("bad backend check values are refused with what is expected",
          "[json_loader][health][errors]") {
  const std::string c = "backends[0].check";
  refused_with(backend_check({{"type", "http"}}), c + ".type",
               "unknown check type 'http' (tcp, mqtt, tcp-check)");
  refused_with(backend_check("mqtt"), c, "must be an object, got \"mqtt\"");
  refused_with(backend_check({{"type", "mqtt"}, {"protocol", "3.1"}}), c + ".protocol",
               "must be \"3.1.1\" or \"5\", got \"3.1\"");
  refused_with(backend_check({{"type", "mqtt"}, {"protocol", 5}}), c + ".protocol",
               "must be \"3.1.1\" or \"5\", got 5");
  refused_with(backend_check({{"type", "mqtt"}, {"client_id", ""}}), c + ".client_id",
               "must be a non-empty string, got \"\"");
  refused_with(backend_check({{"type", "mqtt"}, {"password", "secret"}}), c + ".password",
               "needs a \"username\" with MQTT 3.1.1 (§3.1.2.9)");
  loads(backend_check({{"type", "mqtt"}, {"password", "secret"}, {"protocol", "5"}}));
  refused_with(backend_check({{"log-health-checks", "on"}}), c + ".log-health-checks",
               "must be true or false, got \"on\"");
  refused_with(backend_check({{"interval", "2s"}}), c + ".interval",
               "unknown key (expected one of: type, client_id, username, password, protocol, "
               "tcp-check, log-health-checks)");

  // The MQTT keys need the MQTT check; tcp is the default type.
  for (const char* key : {"client_id", "username", "password", "protocol"}) {
    refused_with(backend_check({{key, "x"}}), c + "." + key, "needs \"type\": \"mqtt\"");
    refused_with(backend_check({{"type", "tcp-check"}, {"tcp-check", {"connect"}}, {key, "x"}}),
                 c + "." + key, "needs \"type\": \"mqtt\"");
  }

  // The rules: required with tcp-check, refused without it.
  const std::string example =
      "[\"connect\", \"send-binary 101000044d5154540402003c0000\", \"expect binary 20020000\"]";
  refused_with(backend_check({{"type", "tcp-check"}}), c + ".tcp-check",
               "is required with \"type\": \"tcp-check\": a list of rules such as " + example);
  refused_with(backend_check({{"type", "tcp-check"}, {"tcp-check", Json::array()}}),
               c + ".tcp-check",
               "must be a non-empty list of rules such as " + example + ", got []");
  refused_with(backend_check({{"type", "tcp-check"}, {"tcp-check", "connect"}}), c + ".tcp-check",
               "must be a non-empty list of rules such as " + example + ", got \"connect\"");
  refused_with(backend_check({{"type", "tcp-check"}, {"tcp-check", {"connect", ""}}}),
               c + ".tcp-check[1]", "must be a non-empty string, got \"\"");
  refused_with(backend_check({{"type", "tcp-check"}, {"tcp-check", {"connect", 42}}}),
               c + ".tcp-check[1]", "must be a non-empty string, got 42");
  refused_with(backend_check({{"type", "mqtt"}, {"tcp-check", {"connect"}}}), c + ".tcp-check",
               "needs \"type\": \"tcp-check\"");
  refused_with(backend_check({{"tcp-check", {"connect"}}}), c + ".tcp-check",
               "needs \"type\": \"tcp-check\"");

  // An unknown type: one error, not one more per key that depends on it.
  LoadResult r = load(backend_check({{"type", "htp"}, {"client_id", "x"}, {"tcp-check", {"x"}}}));
  INFO(listing(r));
  CHECK(r.errors.size() == 1);

  Json doc = two_servers();
  doc["defaults"] = {{"check", {{"type", "smtp"}}}};
  refused_with(doc, "defaults.check.type", "unknown check type 'smtp' (tcp, mqtt, tcp-check)");
  doc["defaults"] = {{"timeouts", {{"check", "-2s"}}}};
  refused_with(doc, "defaults.timeouts.check",
               "expected a time such as 500ms, 5s, 2m (units us ms s m h d), got '-2s'");
}

TEST_CASE("a tcp-check that connects with ssl lets servers give their TLS keys",
          "[json_loader][health]") {
  Json doc = backend_check(
      {{"type", "tcp-check"}, {"tcp-check", {"connect port 8883 ssl", "expect binary 2002"}}});
  doc["backends"][0]["servers"][0].update(
      {{"check", true}, {"ca-file", "/etc/mqlb/ca.pem"}, {"sni", "broker.test"}});
  const Config c = loads(doc);
  const Server& s = c.backends[0].servers[0];
  CHECK_FALSE(s.tls.enabled);  // the traffic stays plain
  CHECK(s.tls.ca_file == "/etc/mqlb/ca.pem");
  CHECK(s.tls.sni == "broker.test");

  // Verifying needs the CA then too.
  doc["backends"][0]["servers"][0].erase("ca-file");
  refused_with(doc, "backends[0].servers[0].ca-file",
               "is required to verify the server's certificate (or set \"verify\": \"none\")");
  // "ssl" in a comment is not the option.
  Json plain =
      backend_check({{"type", "tcp-check"}, {"tcp-check", {"connect port 8883 comment ssl soon"}}});
  plain["backends"][0]["servers"][0].update({{"check", true}, {"sni", "broker.test"}});
  refused_with(plain, "backends[0].servers[0].sni", "needs \"ssl\": true");
}

TEST_CASE("resolve-prefer and init-addr load on a server and from default-server",
          "[json_loader]") {
  Json doc = server_with({{"address", "broker.local"}, {"init-addr", "libc,none"}});
  doc["backends"][0]["default-server"] = {{"resolve-prefer", "ipv6"}};
  const Config c = loads(doc);
  using Method = ServerResolve::Method;
  CHECK(c.backends[0].servers[0].resolve.prefer == ServerResolve::Family::Ipv6);
  CHECK(c.backends[0].servers[0].resolve.init_addr ==
        std::vector<ServerResolve::Step>{{Method::Libc, ""}, {Method::None, ""}});
  CHECK(c.backends[0].servers[1].resolve.init_addr == ServerResolve{}.init_addr);
  CHECK(c.origins.empty());  // JSON errors name paths, not lines

  refused_with(server_with({{"resolve-prefer", "ipv5"}}), "backends[0].servers[0].resolve-prefer",
               "unknown address family 'ipv5' (ipv4, ipv6)");
  refused_with(server_with({{"init-addr", "libc,,none"}}), "backends[0].servers[0].init-addr",
               "unknown init-addr method '', supported methods are 'libc', 'last', 'none'.");
}

}  // namespace
}  // namespace mqlb::conf
