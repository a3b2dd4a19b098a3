// load_json: docs/config.md into a resolved Config, or every error by path.
#include "conf/json_loader.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "load_checks.h"

namespace mqlb::conf {
namespace {

using Json = nlohmann::json;
using Ptr = Json::json_pointer;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace std::chrono_literals;

// The example of docs/config.md, verbatim.
constexpr const char* kDocsExample = R"({
  "global": {
    "workers": 2,
    "maxconn": 5000,
    "hard_stop_after": "30s",
    "log": ["stdout"]
  },
  "defaults": {
    "maxconn": 2000,
    "retries": 3,
    "redispatch": true,
    "balance": "roundrobin",
    "log": [{"address": "127.0.0.1:514", "facility": "local0", "level": "info"}],
    "timeouts": {"connect": "5s", "client": "50s", "server": "50s"}
  },
  "frontends": [
    {
      "name": "mqtt",
      "bind": [
        "127.0.0.1:1883",
        "[::1]:1883",
        {"address": "127.0.0.1:8883", "ssl": true, "crt": "/etc/mqlb/mqlb.pem"}
      ],
      "default_backend": "mqtt",
      "maxconn": 1000,
      "timeouts": {"client": "50s", "client_fin": "1s", "client_hs": "5s"}
    }
  ],
  "backends": [
    {
      "name": "mqtt",
      "balance": "roundrobin",
      "retries": 3,
      "redispatch": true,
      "timeouts": {"connect": "5s", "server": "50s", "queue": "5s"},
      "servers": [
        {"name": "b1", "address": "127.0.0.1", "port": 1884},
        {"name": "b2", "address": "localhost", "port": 1885, "weight": 2, "maxconn": 100},
        {"name": "spare", "address": "127.0.0.1", "port": 1886, "backup": true},
        {"name": "off", "address": "127.0.0.1", "port": 1887, "disabled": true}
      ]
    }
  ]
})";

// The smallest valid document: one frontend, one backend with two servers.
Json minimal() {
  return Json::parse(R"({
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b"}],
    "backends": [{"name": "b", "servers": [
      {"name": "s0", "address": "127.0.0.1", "port": 1884},
      {"name": "s1", "address": "127.0.0.1", "port": 1885}]}]
  })");
}

// A valid document with every object the schema has, so that a test can
// reach any level by JSON pointer.
Json every_section() {
  Json doc = minimal();
  Json syslog = {{"address", "127.0.0.1:514"}};
  doc["global"] = {{"workers", 1}, {"log", Json::array({syslog})}};
  doc["defaults"] = {{"retries", 2}, {"log", Json::array({syslog})}, {"timeouts", Json::object()}};
  doc["frontends"][0]["timeouts"] = Json::object();
  doc["frontends"][0]["log"] = Json::array({syslog});
  doc["backends"][0]["timeouts"] = Json::object();
  return doc;
}

using checks::kFile;
using checks::listing;
using checks::load;
using checks::loads;
using checks::refused_with;

// The document is refused with exactly one error; returns it.
Error only_error(const Json& doc) {
  LoadResult r = load(doc);
  INFO(listing(r));
  REQUIRE_FALSE(r.config);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].file == kFile);
  CHECK(r.errors[0].line == 0);
  return r.errors[0];
}

// A stream target as the JSON loader reads "stdout" or "stderr": raw lines.
LogTarget stream(LogTarget::Kind kind) {
  LogTarget t;
  t.kind = kind;
  t.format = LogTarget::Format::Raw;
  return t;
}

Json with(Json doc, const std::string& pointer, Json value) {
  doc[Ptr(pointer)] = std::move(value);
  return doc;
}

Json without(Json doc, const std::string& pointer) {
  Ptr p(pointer);
  doc[p.parent_pointer()].erase(p.back());
  return doc;
}

// --- A valid configuration -------------------------------------------------

TEST_CASE("the docs/config.md example loads with every field resolved", "[json_loader]") {
  LoadResult r = load_json(kDocsExample, kFile);
  INFO(listing(r));
  REQUIRE(r.errors.empty());
  CHECK(r.warnings.empty());
  REQUIRE(r.config);
  const Config& c = *r.config;
  CHECK(c.file == kFile);

  CHECK(c.global.workers == 2);
  CHECK(c.global.maxconn == 5000);
  CHECK(c.global.hard_stop_after == 30s);
  REQUIRE(c.global.log.size() == 1);
  CHECK(c.global.log[0].kind == LogTarget::Kind::Stdout);

  const LogTarget syslog{LogTarget::Kind::Syslog, "127.0.0.1", 514, 16, 6,
                         LogTarget::Format::Local};

  REQUIRE(c.frontends.size() == 1);
  const Frontend& f = c.frontends[0];
  CHECK(f.name == "mqtt");
  REQUIRE(f.binds.size() == 3);
  CHECK(f.binds[0].to_string() == "127.0.0.1:1883");
  CHECK(f.binds[1].to_string() == "[::1]:1883");
  CHECK(f.binds[2].to_string() == "127.0.0.1:8883");
  CHECK_FALSE(f.binds[1].tls.enabled);
  CHECK(f.binds[2].tls.enabled);
  CHECK(f.binds[2].tls.crt == std::vector<std::string>{"/etc/mqlb/mqlb.pem"});
  CHECK(f.timeouts.client_hs == 5s);
  CHECK(f.default_backend == "mqtt");
  CHECK(f.maxconn == 1000);
  CHECK(f.timeouts.client == 50s);
  CHECK(f.timeouts.client_fin == 1s);
  CHECK(f.log == std::vector<LogTarget>{syslog});  // from defaults, not global

  REQUIRE(c.backends.size() == 1);
  const Backend& b = c.backends[0];
  CHECK(b.name == "mqtt");
  CHECK(b.balance == Balance::RoundRobin);
  CHECK(b.retries == 3);
  CHECK(b.redispatch);
  CHECK_FALSE(b.allbackups);
  CHECK(b.timeouts.connect == 5s);
  CHECK(b.timeouts.server == 50s);
  CHECK_FALSE(b.timeouts.server_fin);  // falls back where it is used (lb/timeouts)
  CHECK(b.timeouts.queue == 5s);
  CHECK_FALSE(b.timeouts.tunnel);
  CHECK(b.servers == std::vector<Server>{
                         {"b1", "127.0.0.1", 1884, 1, 0, false, false, false, {}, {}, {}},
                         {"b2", "localhost", 1885, 2, 100, false, false, false, {}, {}, {}},
                         {"spare", "127.0.0.1", 1886, 1, 0, true, false, false, {}, {}, {}},
                         {"off", "127.0.0.1", 1887, 1, 0, false, true, false, {}, {}, {}},
                     });
  CHECK(c.find_backend(f.default_backend) == &b);
}

TEST_CASE("a minimal config gets the documented defaults", "[json_loader]") {
  Config c = loads(minimal());
  CHECK(c.global.workers == 0);
  CHECK(c.global.maxconn == 4096);
  CHECK(c.global.hard_stop_after == 30s);
  CHECK(c.global.log == std::vector<LogTarget>{stream(LogTarget::Kind::Stderr)});

  const Frontend& f = c.frontends[0];
  CHECK(f.maxconn == 4096);  // global.maxconn
  CHECK(f.log == c.global.log);
  CHECK_FALSE(f.timeouts.client);
  CHECK_FALSE(f.timeouts.client_fin);

  const Backend& b = c.backends[0];
  CHECK(b.balance == Balance::RoundRobin);
  CHECK(b.retries == 3);
  CHECK_FALSE(b.redispatch);
  CHECK_FALSE(b.allbackups);
  CHECK(b.timeouts.connect == 5s);
  CHECK(b.timeouts.queue == 5s);
  CHECK_FALSE(b.timeouts.server);
  CHECK_FALSE(b.timeouts.server_fin);
  CHECK_FALSE(b.timeouts.tunnel);
  CHECK(b.servers[0] == Server{"s0", "127.0.0.1", 1884, 1, 0, false, false, false, {}, {}, {}});
}

TEST_CASE("frontends and backends inherit what defaults sets", "[json_loader]") {
  Json doc = minimal();
  doc["defaults"] = Json::parse(R"({
    "maxconn": 300, "retries": 5, "redispatch": true, "balance": "leastconn",
    "log": ["stdout"],
    "timeouts": {"client": "7s", "server": "8s", "connect": "2s", "tunnel": "1h"}
  })");
  Config c = loads(doc);
  const Frontend& f = c.frontends[0];
  CHECK(f.maxconn == 300);
  CHECK(f.log == std::vector<LogTarget>{stream(LogTarget::Kind::Stdout)});
  CHECK(f.timeouts.client == 7s);
  CHECK_FALSE(f.timeouts.client_fin);
  const Backend& b = c.backends[0];
  CHECK(b.balance == Balance::LeastConn);
  CHECK(b.retries == 5);
  CHECK(b.redispatch);
  CHECK(b.timeouts.connect == 2s);
  CHECK(b.timeouts.queue == 2s);
  CHECK(b.timeouts.server == 8s);
  CHECK_FALSE(b.timeouts.server_fin);
  CHECK(b.timeouts.tunnel == 1h);
}

TEST_CASE("frontend and backend settings override defaults", "[json_loader]") {
  Json doc = minimal();
  doc["defaults"] = Json::parse(R"({
    "maxconn": 300, "retries": 5, "redispatch": true, "balance": "leastconn",
    "log": ["stdout"],
    "timeouts": {"client": "7s", "client_fin": "3s", "server": "8s", "connect": "2s",
                 "queue": "9s"}
  })");
  doc["frontends"][0].update(Json::parse(R"({
    "maxconn": 40, "log": ["stderr"], "timeouts": {"client": "1m"}
  })"));
  doc["backends"][0].update(Json::parse(R"({
    "balance": "first", "retries": 0, "redispatch": false, "allbackups": true,
    "timeouts": {"connect": "1500ms", "server": 100, "server_fin": "1s"}
  })"));
  Config c = loads(doc);
  const Frontend& f = c.frontends[0];
  CHECK(f.maxconn == 40);
  CHECK(f.log == std::vector<LogTarget>{stream(LogTarget::Kind::Stderr)});
  CHECK(f.timeouts.client == 1min);
  CHECK(f.timeouts.client_fin == 3s);  // defaults' own client_fin wins over client
  const Backend& b = c.backends[0];
  CHECK(b.balance == Balance::First);
  CHECK(b.retries == 0);
  CHECK_FALSE(b.redispatch);
  CHECK(b.allbackups);
  CHECK(b.timeouts.connect == 1500ms);
  CHECK(b.timeouts.server == 100ms);
  CHECK(b.timeouts.server_fin == 1s);
  CHECK(b.timeouts.queue == 9s);  // defaults' queue, not this connect
}

TEST_CASE("queue defaults to the backend's own connect timeout", "[json_loader]") {
  Json doc = with(minimal(), "/defaults", {{"timeouts", {{"connect", "1s"}}}});
  doc["backends"][0]["timeouts"] = {{"connect", "3s"}};
  Config c = loads(doc);
  CHECK(c.backends[0].timeouts.connect == 3s);
  CHECK(c.backends[0].timeouts.queue == 3s);
}

TEST_CASE("client_fin and server_fin stay unset unless configured", "[json_loader]") {
  // HAProxy 2.6 falls back to tunnel, then client/server, where the
  // timeout is used; copying client into client_fin at load would hide a
  // tunnel timeout.
  Json doc = with(minimal(), "/defaults", {{"timeouts", {{"client", "50s"}, {"server", "40s"}}}});
  doc["frontends"][0]["timeouts"] = {{"client", "10s"}};
  Config c = loads(doc);
  CHECK(c.frontends[0].timeouts.client == 10s);
  CHECK_FALSE(c.frontends[0].timeouts.client_fin);
  CHECK_FALSE(c.backends[0].timeouts.server_fin);
  doc["defaults"]["timeouts"]["client_fin"] = "2s";
  doc["defaults"]["timeouts"]["server_fin"] = "3s";
  c = loads(doc);
  CHECK(c.frontends[0].timeouts.client_fin == 2s);
  CHECK(c.backends[0].timeouts.server_fin == 3s);
}

TEST_CASE("global.tune sets the buffer sizes and checks low below high", "[json_loader]") {
  Config c = loads(minimal());
  CHECK(c.global.tune == Tune{});
  CHECK(c.global.tune.bufsize == 16384);
  Json doc =
      with(minimal(), "/global", {{"tune", {{"bufsize", 4096}, {"relay_high_water", 65536}}}});
  c = loads(doc);
  CHECK(c.global.tune.bufsize == 4096);
  CHECK(c.global.tune.relay_high_water == 65536);
  CHECK(c.global.tune.relay_low_water == 32768);  // half of high unless given
  doc["global"]["tune"]["relay_low_water"] = 65536;
  refused_with(doc, "global.tune.relay_low_water", "must be below relay_high_water (65536)");
  doc["global"]["tune"] = {{"bufsize", 10}};
  refused_with(doc, "global.tune.bufsize", "");
  doc["global"]["tune"] = {{"buffsize", 4096}};
  refused_with(doc, "global.tune.buffsize", "");
}

TEST_CASE("bind and server IP literals are checked as addresses", "[json_loader]") {
  Json doc = minimal();
  doc["frontends"][0]["bind"] = {"127.0.0.300:1883"};
  refused_with(doc, "frontends[0].bind[0]", "must be an IP address");
  doc["frontends"][0]["bind"] = {"[::1::2]:1883"};
  refused_with(doc, "frontends[0].bind[0]", "must be an IP address");
  doc = minimal();
  doc["backends"][0]["servers"][0]["address"] = "10.0.0.256";
  refused_with(doc, "backends[0].servers[0].address", "is not a valid IP address: '10.0.0.256'");
  doc["backends"][0]["servers"][0]["address"] = "broker-1.example";  // a host name: resolved later
  CHECK(loads(doc).backends[0].servers[0].address == "broker-1.example");
  doc["backends"][0]["servers"][0]["address"] = "::1";
  CHECK(loads(doc).backends[0].servers[0].address == "::1");
}

TEST_CASE("frontend log falls back to global log when defaults has none", "[json_loader]") {
  Json doc = with(minimal(), "/global", {{"log", {"stdout", "stderr"}}});
  Config c = loads(doc);
  CHECK(c.frontends[0].log == c.global.log);
  CHECK(c.frontends[0].log.size() == 2);
}

TEST_CASE("frontend maxconn falls back to defaults then global", "[json_loader]") {
  Json doc = with(minimal(), "/global", {{"maxconn", 900}});
  CHECK(loads(doc).frontends[0].maxconn == 900);
  doc["defaults"] = {{"maxconn", 800}};
  CHECK(loads(doc).frontends[0].maxconn == 800);
}

TEST_CASE("timeouts take a number of milliseconds or a string with a unit", "[json_loader]") {
  Json doc = minimal();
  doc["backends"][0]["timeouts"] =
      Json::parse(R"({"connect": 1500, "server": "2m", "tunnel": "1h", "server_fin": "500us"})");
  doc["global"] = {{"hard_stop_after", 2500}};
  Config c = loads(doc);
  CHECK(c.backends[0].timeouts.connect == 1500ms);
  CHECK(c.backends[0].timeouts.server == 2min);
  CHECK(c.backends[0].timeouts.tunnel == 1h);
  CHECK(c.backends[0].timeouts.server_fin == 1ms);
  CHECK(c.global.hard_stop_after == 2500ms);
}

TEST_CASE("a zero timeout means no timeout", "[json_loader]") {
  Json doc = minimal();
  doc["backends"][0]["timeouts"] = {{"server", 0}, {"tunnel", "0s"}};
  doc["frontends"][0]["timeouts"] = {{"client", "0ms"}};
  Config c = loads(doc);
  CHECK_FALSE(c.backends[0].timeouts.server);
  CHECK_FALSE(c.backends[0].timeouts.tunnel);
  CHECK_FALSE(c.frontends[0].timeouts.client);
}

TEST_CASE("a zero timeout in a backend overrides the defaults with no timeout", "[json_loader]") {
  Json doc = with(minimal(), "/defaults", {{"timeouts", {{"server", "50s"}, {"client", "50s"}}}});
  doc["backends"][0]["timeouts"] = {{"server", 0}};
  doc["frontends"][0]["timeouts"] = {{"client", 0}};
  Config c = loads(doc);
  CHECK_FALSE(c.backends[0].timeouts.server);
  CHECK_FALSE(c.frontends[0].timeouts.client);
}

TEST_CASE("every balance name loads", "[json_loader]") {
  auto [name, algo] = GENERATE(table<const char*, Balance>({{"roundrobin", Balance::RoundRobin},
                                                            {"static-rr", Balance::StaticRr},
                                                            {"leastconn", Balance::LeastConn},
                                                            {"source", Balance::Source},
                                                            {"first", Balance::First},
                                                            {"random", Balance::Random}}));
  INFO(name);
  CHECK(loads(with(minimal(), "/backends/0/balance", name)).backends[0].balance == algo);
  CHECK(loads(with(minimal(), "/defaults/balance", name)).backends[0].balance == algo);
}

TEST_CASE("bind accepts IPv4 IPv6 and every-address forms", "[json_loader]") {
  auto [text, host, port] = GENERATE(
      table<const char*, const char*, uint16_t>({{"10.1.2.3:1883", "10.1.2.3", 1883},
                                                 {"*:1883", "0.0.0.0", 1883},
                                                 {":1884", "0.0.0.0", 1884},
                                                 {"0.0.0.0:1", "0.0.0.0", 1},
                                                 {"[::]:1883", "::", 1883},
                                                 {"[::1]:65535", "::1", 65535},
                                                 {"[2001:db8::5]:8883", "2001:db8::5", 8883}}));
  INFO(text);
  Config c = loads(with(minimal(), "/frontends/0/bind", {text}));
  REQUIRE(c.frontends[0].binds.size() == 1);
  CHECK(c.frontends[0].binds[0].host == host);
  CHECK(c.frontends[0].binds[0].port == port);
}

TEST_CASE("log targets read address facility and level", "[json_loader]") {
  Json doc = with(minimal(), "/global/log", Json::parse(R"([
    "stderr",
    {"address": "10.0.0.9:5140", "facility": "daemon", "level": "warning"},
    {"address": "127.0.0.1"},
    {"address": "[::1]", "facility": "local7", "level": "debug"},
    {"address": "logs.example.com:514", "facility": "kern", "level": "emerg"}
  ])"));
  Config c = loads(doc);
  using K = LogTarget::Kind;
  constexpr auto local = LogTarget::Format::Local;  // HAProxy's default header
  CHECK(c.global.log == std::vector<LogTarget>{stream(K::Stderr),
                                               {K::Syslog, "10.0.0.9", 5140, 3, 4, local},
                                               {K::Syslog, "127.0.0.1", 514, 16, 6, local},
                                               {K::Syslog, "::1", 514, 23, 7, local},
                                               {K::Syslog, "logs.example.com", 514, 0, 0, local}});
}

TEST_CASE("log targets read a format and the global tag and host name", "[json_loader]") {
  Json doc = with(minimal(), "/global/log", Json::parse(R"([
    {"address": "127.0.0.1", "format": "rfc5424"},
    {"address": "stdout", "level": "debug"},
    {"address": "stderr", "format": "short"},
    {"address": "127.0.0.1:5140", "len": 4096}
  ])"));
  doc["global"]["log_tag"] = "mqtt-lb";
  doc["global"]["log_send_hostname"] = "edge-1";
  doc["defaults"]["log_tag"] = "from-defaults";
  Config c = loads(doc);
  using F = LogTarget::Format;
  REQUIRE(c.global.log.size() == 4);
  CHECK(c.global.log[0].format == F::Rfc5424);
  CHECK(c.global.log[1].format == F::Raw);  // a stream is raw unless told
  CHECK(c.global.log[2].format == F::Short);
  CHECK(c.global.log[3].format == F::Rfc3164);  // HAProxy's default with a host name
  CHECK(c.global.log[3].len == 4096);
  CHECK(c.global.log[0].len == 1024);  // HAProxy's default
  CHECK(c.global.log_tag == "mqtt-lb");
  CHECK(c.global.log_send_hostname == "edge-1");
  CHECK(c.frontends[0].log_tag == "from-defaults");
  CHECK(c.frontends[0].log[3].format == F::Rfc3164);

  doc["global"]["log_send_hostname"] = true;
  doc["frontends"][0]["log_tag"] = "own";
  c = loads(doc);
  CHECK(c.global.log_send_hostname == "");  // the machine's
  CHECK(c.frontends[0].log_tag == "own");
  doc["global"]["log_send_hostname"] = false;
  CHECK_FALSE(loads(doc).global.log_send_hostname);
  CHECK(loads(minimal()).global.log_tag == "mqlb");
}

TEST_CASE("bad log formats tags and host names are refused with their path",
          "[json_loader][errors]") {
  Error fmt = only_error(with(every_section(), "/global/log/0/format", "json"));
  CHECK(fmt.field == "global.log[0].format");
  CHECK(fmt.message ==
        "unknown format 'json' (one of: local rfc3164 rfc5424 priority short timed iso raw)");
  Error len = only_error(with(every_section(), "/global/log/0/len", 79));
  CHECK(len.field == "global.log[0].len");
  Error tag = only_error(with(minimal(), "/global/log_tag", ""));
  CHECK(tag.field == "global.log_tag");
  CHECK(tag.message == "must be a non-empty string, got \"\"");
  Error host = only_error(with(minimal(), "/global/log_send_hostname", 7));
  CHECK(host.field == "global.log_send_hostname");
  Error ftag = only_error(with(minimal(), "/frontends/0/log_tag", Json::array()));
  CHECK(ftag.field == "frontends[0].log_tag");
}

TEST_CASE("names may hold letters digits and - _ . :", "[json_loader]") {
  Json doc = minimal();
  doc["backends"][0]["name"] = "mqtt-v5_a.b:c";
  doc["frontends"][0]["default_backend"] = "mqtt-v5_a.b:c";
  doc["backends"][0]["servers"][0]["name"] = "B-1";
  Config c = loads(doc);
  CHECK(c.backends[0].name == "mqtt-v5_a.b:c");
}

TEST_CASE("the same server name may appear in two backends", "[json_loader]") {
  Json doc = minimal();
  doc["backends"].push_back(doc["backends"][0]);
  doc["backends"][1]["name"] = "b2";
  CHECK(loads(doc).backends.size() == 2);
}

TEST_CASE("ports 1 and 65535 and weights 0 and 256 are in range", "[json_loader]") {
  Json doc = minimal();
  doc["backends"][0]["servers"][0].update({{"port", 1}, {"weight", 0}});
  doc["backends"][0]["servers"][1].update({{"port", 65535}, {"weight", 256}});
  Config c = loads(doc);
  CHECK(c.backends[0].servers[0].port == 1);
  CHECK(c.backends[0].servers[0].weight == 0);
  CHECK(c.backends[0].servers[1].port == 65535);
  CHECK(c.backends[0].servers[1].weight == 256);
}

TEST_CASE("a frontend maxconn above global maxconn loads with a warning", "[json_loader]") {
  LoadResult r = load(with(minimal(), "/frontends/0/maxconn", 5000));
  INFO(listing(r));
  REQUIRE(r.config);
  REQUIRE(r.warnings.size() == 1);
  CHECK_THAT(r.warnings[0].message, Contains("global.maxconn (4096)"));
  CHECK_THAT(r.warnings[0].field, Contains("maxconn"));
}

// --- Errors ----------------------------------------------------------------

TEST_CASE("unknown keys are refused at every level", "[json_loader][errors]") {
  auto [pointer, field] = GENERATE(table<std::string, std::string>({
      {"", "bogus"},
      {"/global", "global.bogus"},
      {"/global/log/0", "global.log[0].bogus"},
      {"/defaults", "defaults.bogus"},
      {"/defaults/log/0", "defaults.log[0].bogus"},
      {"/defaults/timeouts", "defaults.timeouts.bogus"},
      {"/frontends/0", "frontends[0].bogus"},
      {"/frontends/0/log/0", "frontends[0].log[0].bogus"},
      {"/frontends/0/timeouts", "frontends[0].timeouts.bogus"},
      {"/backends/0", "backends[0].bogus"},
      {"/backends/0/timeouts", "backends[0].timeouts.bogus"},
      {"/backends/0/servers/1", "backends[0].servers[1].bogus"},
  }));
  INFO("at '" << pointer << "'");
  Json doc = every_section();
  loads(doc);
  doc[Ptr(pointer)]["bogus"] = 1;
  Error e = only_error(doc);
  CHECK(e.field == field);
  CHECK_THAT(e.message, StartsWith("unknown key (expected one of: "));
}

TEST_CASE("an unknown key lists the keys that would have been valid", "[json_loader][errors]") {
  Json doc = with(minimal(), "/frontends/0/timeout", {{"client", "5s"}});
  Error e = only_error(doc);
  CHECK(e.field == "frontends[0].timeout");
  CHECK(e.message ==
        "unknown key (expected one of: name, bind, default_backend, acl, use_backend, "
        "tcp_request_connection, maxconn, clitcpka, "
        "timeouts, log, log_format, dontlognull, log_tag)");
  Error top = only_error(with(minimal(), "/default", Json::object()));
  CHECK(top.to_string() ==
        "mqlb.json: default: unknown key (expected one of: global, defaults, frontends, "
        "backends)");
}

TEST_CASE("an unknown key that is not a plain word is named in JSON quotes",
          "[json_loader][errors]") {
  auto [pointer, key, field] = GENERATE(table<std::string, std::string, std::string>({
      {"", "", "[\"\"]"},
      {"", "two words", "[\"two words\"]"},
      {"/global", "a.b", "global[\"a.b\"]"},
      {"/frontends/0", "", "frontends[0][\"\"]"},
      {"/backends/0/servers/1", "\"", "backends[0].servers[1][\"\\\"\"]"},
  }));
  INFO("key '" << key << "' at '" << pointer << "'");
  Json doc = minimal();
  if (pointer == "/backends/0/servers/1") doc = every_section();
  doc[Ptr(pointer)][key] = 1;
  Error e = only_error(doc);
  CHECK(e.field == field);
  CHECK_THAT(e.message, StartsWith("unknown key (expected one of: "));
}

TEST_CASE("a NUL byte is invalid JSON, not the end of the text", "[json_loader][errors]") {
  // nlohmann's parser would stop at the NUL and take the object before it.
  const std::string text = std::string("{\"backends\": []}\n", 17) + '\0' + "\n\"junk\"";
  LoadResult r = load_json(text, kFile);
  CHECK_FALSE(r.config);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() == "mqlb.json:2: invalid JSON: a NUL byte at offset 17");
  CHECK(r.errors[0].field.empty());
}

TEST_CASE("missing required keys are named", "[json_loader][errors]") {
  auto [pointer, field, message] = GENERATE(table<std::string, std::string, std::string>({
      {"/frontends/0/name", "frontends[0].name", "is required"},
      {"/frontends/0/bind", "frontends[0].bind", "is required"},
      {"/frontends/0/default_backend", "frontends[0].default_backend", "is required"},
      {"/backends/0/servers/1/name", "backends[0].servers[1].name", "is required"},
      {"/backends/0/servers/1/address", "backends[0].servers[1].address", "is required"},
      {"/backends/0/servers/1/port", "backends[0].servers[1].port", "is required"},
      {"/global/log/0/address", "global.log[0].address", "is required, e.g. \"127.0.0.1:514\""},
  }));
  INFO(pointer);
  Error e = only_error(without(every_section(), pointer));
  CHECK(e.field == field);
  CHECK(e.message == message);
}

TEST_CASE("a backend without a name or servers is refused", "[json_loader][errors]") {
  refused_with(without(minimal(), "/backends/0/name"), "backends[0].name", "is required");
  refused_with(with(minimal(), "/backends/0/name", "b/1"), "backends[0].name",
               "may hold only letters, digits and - _ . :, got 'b/1'");
  Error servers = only_error(without(minimal(), "/backends/0/servers"));
  CHECK(servers.field == "backends[0].servers");
  CHECK_THAT(servers.message, StartsWith("must be a list of at least one server, e.g. [{"));
  CHECK(only_error(with(minimal(), "/backends/0/servers", Json::array())).field ==
        "backends[0].servers");
  CHECK(only_error(with(minimal(), "/backends/0/servers", Json::object())).field ==
        "backends[0].servers");
}

TEST_CASE("a config without frontends or backends is refused", "[json_loader][errors]") {
  Error f = only_error(without(minimal(), "/frontends"));
  CHECK(f.field == "frontends");
  CHECK(f.message == "must be a list of at least one frontend");
  CHECK(only_error(with(minimal(), "/frontends", Json::array())).field == "frontends");
  refused_with(without(minimal(), "/backends"), "backends",
               "must be a list of at least one backend");
  refused_with(with(minimal(), "/backends", Json::array()), "backends",
               "must be a list of at least one backend");
}

TEST_CASE("values of the wrong type are refused with what was expected", "[json_loader][errors]") {
  auto [pointer, value, field,
        message] = GENERATE(table<std::string, std::string, std::string, std::string>({
      {"/global", R"("x")", "global", R"(must be an object, got "x")"},
      {"/global/workers", R"("2")", "global.workers", R"(must be 1..256, got "2")"},
      {"/global/workers", "0", "global.workers", "must be 1..256, got 0"},
      {"/global/maxconn", "-1", "global.maxconn", "must be 1..10000000, got -1"},
      {"/global/hard_stop_after", "true", "global.hard_stop_after",
       R"(must be a time such as 5000 (ms) or "5s", got true)"},
      {"/global/log", R"("stdout")", "global.log",
       R"(must be a list of log targets ("stdout", "stderr" or {"address": ...}), got "stdout")"},
      {"/global/log/0", "5", "global.log[0]",
       R"(must be "stdout", "stderr" or {"address": "HOST:PORT", ...}, got 5)"},
      {"/global/log/0", R"("syslog")", "global.log[0]",
       R"(must be "stdout", "stderr" or {"address": "HOST:PORT", ...}, got "syslog")"},
      {"/defaults", "[]", "defaults", "must be an object, got []"},
      {"/defaults/retries", "101", "defaults.retries", "must be 0..100, got 101"},
      {"/defaults/redispatch", R"("yes")", "defaults.redispatch",
       R"(must be true or false, got "yes")"},
      {"/defaults/balance", "3", "defaults.balance", "must be a non-empty string, got 3"},
      {"/defaults/hash_type", "\"ring\"", "defaults.hash_type",
       "unknown hash type 'ring' (map-based, consistent)"},
      {"/backends/0/hash_type", "\"chash\"", "backends[0].hash_type",
       "unknown hash type 'chash' (map-based, consistent)"},
      {"/defaults/timeouts", R"("5s")", "defaults.timeouts", R"(must be an object, got "5s")"},
      {"/defaults/maxconn", "0", "defaults.maxconn", "must be 1..10000000, got 0"},
      {"/frontends/0", R"("f")", "frontends[0]", R"(must be an object, got "f")"},
      {"/frontends/0/name", "5", "frontends[0].name", "must be a non-empty string, got 5"},
      {"/frontends/0/name", R"("")", "frontends[0].name", R"(must be a non-empty string, got "")"},
      {"/frontends/0/name", R"("my frontend")", "frontends[0].name",
       "may hold only letters, digits and - _ . :, got 'my frontend'"},
      {"/frontends/0/bind", R"("127.0.0.1:1883")", "frontends[0].bind",
       R"(must be a list of at least one ADDRESS:PORT or bind object, e.g. ["0.0.0.0:1883", )"
       R"({"address": "0.0.0.0:8883", "ssl": true, "crt": "/etc/mqlb/mqlb.pem"}])"},
      {"/frontends/0/bind", "[]", "frontends[0].bind",
       R"(must be a list of at least one ADDRESS:PORT or bind object, e.g. ["0.0.0.0:1883", )"
       R"({"address": "0.0.0.0:8883", "ssl": true, "crt": "/etc/mqlb/mqlb.pem"}])"},
      {"/frontends/0/bind/0", "1883", "frontends[0].bind[0]",
       R"(must be "ADDRESS:PORT" or {"address": "ADDRESS:PORT", "ssl": true, ...}, got 1883)"},
      {"/frontends/0/default_backend", "false", "frontends[0].default_backend",
       "must be a non-empty string, got false"},
      {"/frontends/0/maxconn", "1.5", "frontends[0].maxconn", "must be 1..10000000, got 1.5"},
      {"/frontends/0/maxconn", "10000001", "frontends[0].maxconn",
       "must be 1..10000000, got 10000001"},
      {"/frontends/0/log", "{}", "frontends[0].log",
       R"(must be a list of log targets ("stdout", "stderr" or {"address": ...}), got {})"},
      {"/frontends/0/timeouts", "5", "frontends[0].timeouts", "must be an object, got 5"},
      {"/backends/0/retries", R"("3")", "backends[0].retries", R"(must be 0..100, got "3")"},
      {"/backends/0/redispatch", "1", "backends[0].redispatch", "must be true or false, got 1"},
      {"/backends/0/allbackups", "null", "backends[0].allbackups",
       "must be true or false, got null"},
      {"/backends/0/balance", "[]", "backends[0].balance", "must be a non-empty string, got []"},
      {"/backends/0/servers/1", R"("s1")", "backends[0].servers[1]",
       R"(must be an object, got "s1")"},
      {"/backends/0/servers/1/name", "1", "backends[0].servers[1].name",
       "must be a non-empty string, got 1"},
      {"/backends/0/servers/1/name", R"("s 1")", "backends[0].servers[1].name",
       "may hold only letters, digits and - _ . :, got 's 1'"},
      {"/backends/0/servers/1/address", R"("")", "backends[0].servers[1].address",
       R"(must be a non-empty string, got "")"},
      {"/backends/0/servers/1/port", R"("1885")", "backends[0].servers[1].port",
       R"(must be 1..65535, got "1885")"},
      {"/backends/0/servers/1/port", "-1", "backends[0].servers[1].port",
       "must be 1..65535, got -1"},
      {"/backends/0/servers/1/port", "1885.0", "backends[0].servers[1].port",
       "must be 1..65535, got 1885.0"},
      {"/backends/0/servers/1/weight", "-1", "backends[0].servers[1].weight",
       "must be 0..256, got -1"},
      {"/backends/0/servers/1/maxconn", R"("many")", "backends[0].servers[1].maxconn",
       R"(must be 0..10000000, got "many")"},
      {"/backends/0/servers/1/backup", R"("no")", "backends[0].servers[1].backup",
       R"(must be true or false, got "no")"},
      {"/backends/0/servers/1/disabled", "0", "backends[0].servers[1].disabled",
       "must be true or false, got 0"},
  }));
  INFO(pointer << " = " << value);
  Error e = only_error(with(minimal(), pointer, Json::parse(value)));
  CHECK(e.field == field);
  CHECK(e.message == message);
}

TEST_CASE("a long wrong value is shortened in the message", "[json_loader][errors]") {
  Error e = only_error(with(minimal(), "/backends/0/servers/0/port", std::string(100, 'x')));
  CHECK(e.message == "must be 1..65535, got \"" + std::string(36, 'x') + "...");
}

TEST_CASE("a port out of range names the server and the value", "[json_loader][errors]") {
  Error high = only_error(with(minimal(), "/backends/0/servers/1/port", 70000));
  CHECK(high.to_string() == "mqlb.json: backends[0].servers[1].port: must be 1..65535, got 70000");
  Error zero = only_error(with(minimal(), "/backends/0/servers/0/port", 0));
  CHECK(zero.to_string() == "mqlb.json: backends[0].servers[0].port: must be 1..65535, got 0");
}

TEST_CASE("a weight above 256 is refused", "[json_loader][errors]") {
  Error e = only_error(with(minimal(), "/backends/0/servers/1/weight", 257));
  CHECK(e.field == "backends[0].servers[1].weight");
  CHECK(e.message == "must be 0..256, got 257");
}

TEST_CASE("an unknown balance name lists the known ones", "[json_loader][errors]") {
  Error b = only_error(with(minimal(), "/backends/0/balance", "round-robin"));
  CHECK(b.field == "backends[0].balance");
  CHECK(b.message ==
        "unknown algorithm 'round-robin' (roundrobin, static-rr, leastconn, source, first, "
        "random)");
  Error d = only_error(with(minimal(), "/defaults/balance", "rr"));
  CHECK(d.field == "defaults.balance");
  CHECK(d.message ==
        "unknown algorithm 'rr' (roundrobin, static-rr, leastconn, source, first, random)");
}

TEST_CASE("bad timeout strings are refused with the duration message", "[json_loader][errors]") {
  auto text = GENERATE(as<std::string>{}, "5x", "", "-1s", "1.5s", "5 s", "s", "5S");
  INFO("'" << text << "'");
  for (const char* side : {"/defaults/timeouts/server", "/backends/0/timeouts/connect",
                           "/frontends/0/timeouts/client_fin"}) {
    Error e = only_error(with(minimal(), side, text));
    CHECK(e.message ==
          "expected a time such as 500ms, 5s, 2m (units us ms s m h d), got '" + text + "'");
  }
  CHECK(only_error(with(minimal(), "/backends/0/timeouts/queue", text)).field ==
        "backends[0].timeouts.queue");
}

TEST_CASE("a timeout above 24 days is refused", "[json_loader][errors]") {
  Error e = only_error(with(minimal(), "/backends/0/timeouts/tunnel", "25d"));
  CHECK(e.field == "backends[0].timeouts.tunnel");
  CHECK(e.message == "time too large: '25d' (at most 24d)");
  CHECK(only_error(with(minimal(), "/global/hard_stop_after", 2147483648ull)).message ==
        "time too large: '2147483648' (at most 24d)");
}

TEST_CASE("a timeout of the wrong type is refused", "[json_loader][errors]") {
  auto value = GENERATE(as<std::string>{}, "true", "-5", "1.5", "[]", "null");
  INFO(value);
  Error e = only_error(with(minimal(), "/backends/0/timeouts/server", Json::parse(value)));
  CHECK(e.field == "backends[0].timeouts.server");
  CHECK(e.message == "must be a time such as 5000 (ms) or \"5s\", got " + value);
}

TEST_CASE("bad bind addresses say what form is expected", "[json_loader][errors]") {
  auto [text, message] = GENERATE(table<std::string, std::string>({
      {"127.0.0.1", "expected ADDRESS:PORT such as 127.0.0.1:1883 or [::1]:1883, got '127.0.0.1'"},
      {"::1:1883", "an IPv6 address needs brackets, as in [::1]:1883, got '::1:1883'"},
      {"fe80::1:1883", "an IPv6 address needs brackets, as in [::1]:1883, got 'fe80::1:1883'"},
      {"localhost:1883", "must be an IP address (or * for all), got 'localhost'"},
      {"mqtt.example.com:1883", "must be an IP address (or * for all), got 'mqtt.example.com'"},
      {"10.0.0:1883", "must be an IP address (or * for all), got '10.0.0'"},
      {"127.0.0.1:0", "port must be 1..65535, got '0'"},
      {"127.0.0.1:70000", "port must be 1..65535, got '70000'"},
      {"127.0.0.1:", "port must be 1..65535, got ''"},
      {"127.0.0.1:18x3", "port must be 1..65535, got '18x3'"},
      {"[::1]:-1", "port must be 1..65535, got '-1'"},
  }));
  INFO(text);
  Error e = only_error(with(minimal(), "/frontends/0/bind", {"127.0.0.1:1999", text}));
  CHECK(e.field == "frontends[0].bind[1]");
  CHECK(e.message == message);
}

TEST_CASE("a bracketed IPv6 bind without a port is told the port is missing",
          "[json_loader][errors]") {
  Error e = only_error(with(minimal(), "/frontends/0/bind", {"[::1]"}));
  CHECK(e.field == "frontends[0].bind[0]");
  CHECK_THAT(e.message, !Contains("needs brackets"));
  CHECK_THAT(e.message, StartsWith("expected ADDRESS:PORT"));
}

TEST_CASE("an empty bracketed bind address is refused", "[json_loader][errors]") {
  Error e = only_error(with(minimal(), "/frontends/0/bind", {"[]:1883"}));
  CHECK(e.field == "frontends[0].bind[0]");
}

TEST_CASE("duplicate frontend backend and server names are refused", "[json_loader][errors]") {
  Json frontends = minimal();
  frontends["frontends"].push_back(
      {{"name", "f"}, {"bind", {"127.0.0.1:1999"}}, {"default_backend", "b"}});
  Error f = only_error(frontends);
  CHECK(f.field == "frontends[1].name");
  CHECK(f.message == "duplicate frontend name 'f'");

  Json backends = minimal();
  backends["backends"].push_back(backends["backends"][0]);
  Error b = only_error(backends);
  CHECK(b.field == "backends[1].name");
  CHECK(b.message == "duplicate backend name 'b'");

  Error s = only_error(with(minimal(), "/backends/0/servers/1/name", "s0"));
  CHECK(s.field == "backends[0].servers[1].name");
  CHECK(s.message == "duplicate server name 's0' in backend 'b'");
}

TEST_CASE("an address bound twice is refused", "[json_loader][errors]") {
  Error same =
      only_error(with(minimal(), "/frontends/0/bind", {"127.0.0.1:1883", "127.0.0.1:1883"}));
  CHECK(same.field == "frontends[0].bind");
  CHECK(same.message == "address 127.0.0.1:1883 is bound twice");

  Error spelled = only_error(with(minimal(), "/frontends/0/bind", {"*:1883", "0.0.0.0:1883"}));
  CHECK(spelled.message == "address 0.0.0.0:1883 is bound twice");

  Error v6 = only_error(with(minimal(), "/frontends/0/bind", {"[::1]:1883", "[::1]:1883"}));
  CHECK(v6.message == "address [::1]:1883 is bound twice");

  Json across = minimal();
  across["frontends"].push_back(
      {{"name", "g"}, {"bind", {"127.0.0.1:1883"}}, {"default_backend", "b"}});
  Error other = only_error(across);
  CHECK(other.field == "frontends[1].bind");
  CHECK(other.message == "address 127.0.0.1:1883 is bound twice");
}

TEST_CASE("the same port on different addresses is not a duplicate", "[json_loader]") {
  Config c = loads(with(minimal(), "/frontends/0/bind", {"127.0.0.1:1883", "[::1]:1883"}));
  CHECK(c.frontends[0].binds.size() == 2);
}

TEST_CASE("a default_backend that names no backend is refused", "[json_loader][errors]") {
  Error e = only_error(with(minimal(), "/frontends/0/default_backend", "nope"));
  CHECK(e.to_string() == "mqlb.json: frontends[0].default_backend: no backend named 'nope'");
}

TEST_CASE("bad log targets name the facility or level and list the valid ones",
          "[json_loader][errors]") {
  Error fac = only_error(with(every_section(), "/global/log/0/facility", "local9"));
  CHECK(fac.field == "global.log[0].facility");
  CHECK(fac.message ==
        "unknown facility 'local9' (one of: kern user mail daemon auth syslog lpr news uucp cron "
        "auth2 ftp ntp audit alert cron2 local0 local1 local2 local3 local4 local5 local6 "
        "local7)");
  Error lvl = only_error(with(every_section(), "/frontends/0/log/0/level", "verbose"));
  CHECK(lvl.field == "frontends[0].log[0].level");
  CHECK(lvl.message ==
        "unknown level 'verbose' (one of: emerg alert crit err warning notice info debug)");
  Error type = only_error(with(every_section(), "/defaults/log/0/level", 6));
  CHECK(type.field == "defaults.log[0].level");
  CHECK(type.message == "must be a non-empty string, got 6");
}

TEST_CASE("bad log addresses are refused", "[json_loader][errors]") {
  auto [address, message] = GENERATE(table<std::string, std::string>({
      {"127.0.0.1:0", "port must be 1..65535, got '0'"},
      {"127.0.0.1:syslog", "port must be 1..65535, got 'syslog'"},
      {"::1", "an IPv6 address needs brackets, as in [::1]:1883, got '::1'"},
  }));
  INFO(address);
  Error e = only_error(with(every_section(), "/global/log/0/address", address));
  CHECK(e.field == "global.log[0].address");
  CHECK(e.message == message);
}

TEST_CASE("invalid JSON reports the line of the mistake", "[json_loader][errors]") {
  const char* text =
      "{\n"
      "  \"frontends\": [],\n"
      "  \"backends\": [\n"
      "    {\"name\": \"b\",},\n"
      "  ]\n"
      "}\n";
  LoadResult r = load_json(text, kFile);
  INFO(listing(r));
  CHECK_FALSE(r.config);
  REQUIRE(r.errors.size() == 1);
  const Error& e = r.errors[0];
  CHECK(e.file == kFile);
  CHECK(e.line == 4);
  CHECK(e.field.empty());
  CHECK_THAT(e.message, StartsWith("invalid JSON: "));
  CHECK_THAT(e.message, !Contains("json.exception"));
  CHECK_THAT(e.to_string(), StartsWith("mqlb.json:4: invalid JSON: "));
}

TEST_CASE("invalid JSON at the end of the file reports the last line", "[json_loader][errors]") {
  LoadResult r = load_json("{\n  \"global\": {}\n", kFile);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line >= 2);
  CHECK_THAT(r.errors[0].message, Contains("end of input"));

  LoadResult empty = load_json("", kFile);
  REQUIRE(empty.errors.size() == 1);
  CHECK(empty.errors[0].line == 1);
}

TEST_CASE("a number too large for a double is invalid JSON with its line, not an exception",
          "[json_loader][errors]") {
  LoadResult r;
  REQUIRE_NOTHROW(r = load_json("{\n  \"global\": {\"maxconn\": 1e400}\n}\n", kFile));
  INFO(listing(r));
  CHECK_FALSE(r.config);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() == "mqlb.json:2: invalid JSON: number 1e400 is out of range");

  const std::string digits(400, '9');
  REQUIRE_NOTHROW(r = load_json("{\"global\": {\"maxconn\": " + digits + "}}", kFile));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 1);
  CHECK(r.errors[0].message ==
        "invalid JSON: number " + digits.substr(0, 37) + "... is out of range");
}

TEST_CASE("a document that is not an object is refused", "[json_loader][errors]") {
  LoadResult r = load_json("[1, 2]", kFile);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() == "mqlb.json: (top level): must be an object, got [1,2]");
  CHECK_FALSE(r.config);
}

TEST_CASE("several errors are reported at once", "[json_loader][errors]") {
  Json doc = every_section();
  doc["backends"][0]["servers"][1]["port"] = 70000;
  doc["backends"][0]["balance"] = "fastest";
  doc["frontends"][0]["bind"] = {"localhost:1883"};
  doc["global"]["bogus"] = true;
  doc["defaults"]["timeouts"]["client"] = "5 s";
  LoadResult r = load(doc);
  INFO(listing(r));
  CHECK_FALSE(r.config);
  CHECK(r.errors.size() == 5);
  refused_with(doc, "backends[0].servers[1].port", "must be 1..65535, got 70000");
  refused_with(doc, "backends[0].balance", "unknown algorithm 'fastest'");
  refused_with(doc, "frontends[0].bind[0]", "must be an IP address");
  refused_with(doc, "global.bogus", "unknown key");
  refused_with(doc, "defaults.timeouts.client", "expected a time");
}

}  // namespace
}  // namespace mqlb::conf
