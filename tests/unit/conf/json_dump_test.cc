// dump_json: a Config back to mqlb JSON with every default resolved, so that
// load_json(dump_json(c)) gives c again.
#include "conf/json_dump.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "conf/json_loader.h"
#include "load_checks.h"

namespace mqlb::conf {
namespace {

using Json = nlohmann::json;
using checks::loads;
using namespace std::chrono_literals;

// Every kind of setting the loader knows: TLS binds, checks of every type,
// default-server inheritance, log targets, timeouts of every kind, backup
// and disabled servers.
constexpr const char* kRich = R"({
  "global": {
    "workers": 3,
    "maxconn": 20000,
    "hard_stop_after": "2m",
    "log": ["stdout", {"address": "127.0.0.1:5514", "facility": "daemon", "level": "notice"},
            {"address": "[::1]", "facility": "local7", "level": "debug", "len": 8192}],
    "tune": {"bufsize": 32768, "relay_high_water": 524288}
  },
  "defaults": {
    "maxconn": 3000,
    "retries": 5,
    "redispatch": true,
    "balance": "leastconn",
    "log": [{"address": "127.0.0.1", "facility": "local0", "level": "info"}],
    "timeouts": {"connect": "4s", "client": "50s", "server": "1m", "tunnel": "1h",
                 "client_fin": "1s", "server_fin": "2s"},
    "default-server": {"inter": "3s", "rise": 4, "fall": 2, "slowstart": "10s"},
    "check": {"type": "mqtt", "client_id": "probe", "username": "u", "password": "p",
              "protocol": "5", "log-health-checks": true}
  },
  "frontends": [
    {
      "name": "mqtt",
      "bind": [
        "127.0.0.1:1883",
        "[::1]:1883",
        {"address": "127.0.0.1:8883", "name": "tls", "ssl": true,
         "crt": ["/etc/mqlb/certs/", "/etc/mqlb/legacy.pem"],
         "ca-file": "/etc/mqlb/ca.pem", "verify": "required", "crl-file": "/etc/mqlb/crl.pem",
         "ssl-min-ver": "TLSv1.3", "ssl-max-ver": "TLSv1.3",
         "ciphers": "ECDHE-ECDSA-AES128-GCM-SHA256",
         "ciphersuites": "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
         "curves": "X25519:P-256", "alpn": "mqtt,x-mqtt", "prefer-client-ciphers": true,
         "tls-ticket-keys": "/etc/mqlb/ticket.keys"}
      ],
      "default_backend": "mqtt",
      "timeouts": {"client": "30s", "client_hs": "3s"}
    },
    {
      "name": "devices",
      "bind": [{"address": "127.0.0.1:8884", "ssl": true, "crt": "/etc/mqlb/mqlb.pem",
                "ca-file": "/etc/mqlb/devices-ca.pem", "verify": "optional",
                "no-tls-tickets": true}],
      "default_backend": "legacy",
      "maxconn": 100,
      "log": ["stderr"],
      "timeouts": {"client": 0}
    }
  ],
  "backends": [
    {
      "name": "mqtt",
      "allbackups": true,
      "timeouts": {"queue": "750ms", "check": "1500ms"},
      "default-server": {"check": true, "fastinter": "500ms", "downinter": "10s",
                         "on-marked-up": "shutdown-backup-sessions"},
      "servers": [
        {"name": "b1", "address": "127.0.0.1", "port": 1884, "weight": 10, "maxconn": 100,
         "observe": "layer4", "error-limit": 5, "on-error": "mark-down",
         "on-marked-down": "shutdown-sessions"},
        {"name": "b2", "address": "localhost", "port": 1885, "check-port": 1995,
         "check-addr": "127.0.0.2", "init-state": "fully-down", "slowstart": 0},
        {"name": "b3", "address": "::1", "port": 8883, "ssl": true, "verify": "required",
         "ca-file": "/etc/mqlb/brokers-ca.pem", "sni": "broker3.example",
         "crt": "/etc/mqlb/client.pem", "weight": 0},
        {"name": "spare", "address": "127.0.0.1", "port": 1886, "backup": true,
         "init-state": "down"},
        {"name": "off", "address": "127.0.0.1", "port": 1887, "disabled": true,
         "check": false}
      ]
    },
    {
      "name": "legacy",
      "balance": "source",
      "retries": 0,
      "redispatch": false,
      "timeouts": {"connect": 0, "server": 0},
      "check": {"type": "tcp-check", "tcp-check": [
        "connect port 1883",
        "send-binary 100c00044d5154540402003c0000",
        "expect binary 20020000"
      ]},
      "servers": [
        {"name": "l1", "address": "127.0.0.1", "port": 1890, "check": true, "inter": "1m",
         "check-ssl": true, "verify": "none", "on-error": "sudden-death", "observe": "layer4"},
        {"name": "l2", "address": "127.0.0.1", "port": 1891}
      ]
    },
    {
      "name": "plain",
      "balance": "first",
      "check": {"type": "tcp"},
      "timeouts": {"connect": "2s"},
      "servers": [{"name": "p1", "address": "127.0.0.1", "port": 1892, "check": true,
                   "rise": 1, "fall": 1, "init-state": "fully-up", "on-error": "fastinter"}]
    }
  ]
})";

Config load_text(const std::string& text) {
  LoadResult r = load_json(text, checks::kFile);
  INFO(checks::listing(r) << "\nin:\n" << text);
  REQUIRE(r.errors.empty());
  REQUIRE(r.config);
  return *r.config;
}

// Field by field where the model has no operator==.
void check_same(const Config& a, const Config& b) {
  CHECK(a.file == b.file);
  CHECK(a.global.workers == b.global.workers);
  CHECK(a.global.maxconn == b.global.maxconn);
  CHECK(a.global.hard_stop_after == b.global.hard_stop_after);
  CHECK(a.global.log == b.global.log);
  CHECK(a.global.tune == b.global.tune);
  REQUIRE(a.frontends.size() == b.frontends.size());
  for (size_t i = 0; i < a.frontends.size(); ++i) {
    const Frontend &x = a.frontends[i], &y = b.frontends[i];
    INFO("frontend " << x.name);
    CHECK(x.name == y.name);
    CHECK(x.binds == y.binds);
    CHECK(x.default_backend == y.default_backend);
    CHECK(x.maxconn == y.maxconn);
    CHECK(x.timeouts == y.timeouts);
    CHECK(x.log == y.log);
  }
  REQUIRE(a.backends.size() == b.backends.size());
  for (size_t i = 0; i < a.backends.size(); ++i) {
    const Backend &x = a.backends[i], &y = b.backends[i];
    INFO("backend " << x.name);
    CHECK(x.name == y.name);
    CHECK(x.balance == y.balance);
    CHECK(x.retries == y.retries);
    CHECK(x.redispatch == y.redispatch);
    CHECK(x.allbackups == y.allbackups);
    CHECK(x.timeouts == y.timeouts);
    CHECK(x.check == y.check);
    REQUIRE(x.servers.size() == y.servers.size());
    for (size_t k = 0; k < x.servers.size(); ++k) {
      INFO("server " << x.servers[k].name);
      CHECK(x.servers[k] == y.servers[k]);
    }
  }
}

// load(dump(c)) is c, field by field and by a second dump.
void check_round_trip(const Config& c) {
  const std::string text = dump_json(c);
  Config again = load_text(text);
  check_same(c, again);
  CHECK(dump_json(again) == text);
}

TEST_CASE("a rich config survives a dump and a load unchanged", "[json_dump]") {
  Config c = load_text(kRich);
  check_round_trip(c);
}

TEST_CASE("the dump of a rich config holds what the loader resolved", "[json_dump]") {
  Json d = Json::parse(dump_json(load_text(kRich)));
  INFO(d.dump(2));
  CHECK_FALSE(d.contains("defaults"));
  CHECK(d["global"]["workers"] == 3);
  CHECK(d["global"]["hard_stop_after"] == "2m");
  CHECK(d["global"]["tune"] == Json::parse(R"({"bufsize": 32768, "relay_high_water": 524288,
                        "relay_low_water": 262144})"));
  CHECK(d["global"]["log"][2] ==
        Json::parse(R"({"address": "[::1]:514", "facility": "local7", "level": "debug",
                        "format": "local", "len": 8192})"));

  const Json& mqtt = d["frontends"][0];
  CHECK(mqtt["maxconn"] == 3000);  // from defaults
  CHECK(mqtt["log"] == Json::parse(R"([{"address": "127.0.0.1:514", "facility": "local0",
                                        "level": "info", "format": "local"}])"));
  CHECK(mqtt["bind"][0] == Json::parse(R"({"address": "127.0.0.1:1883", "name": "1",
                                           "ssl": false})"));
  CHECK(mqtt["bind"][1]["address"] == "[::1]:1883");
  CHECK(mqtt["bind"][2] == Json::parse(R"({
    "address": "127.0.0.1:8883", "name": "tls", "ssl": true,
    "crt": ["/etc/mqlb/certs/", "/etc/mqlb/legacy.pem"],
    "ca-file": "/etc/mqlb/ca.pem", "verify": "required", "crl-file": "/etc/mqlb/crl.pem",
    "ssl-min-ver": "TLSv1.3", "ssl-max-ver": "TLSv1.3",
    "ciphers": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ciphersuites": "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
    "curves": "X25519:P-256", "alpn": "mqtt,x-mqtt", "no-tls-tickets": false,
    "prefer-client-ciphers": true, "tls-ticket-keys": "/etc/mqlb/ticket.keys"})"));
  // The frontend's own and the inherited timeouts, server side included:
  // the loader hands every one of defaults to each proxy.
  CHECK(mqtt["timeouts"] == Json::parse(R"({"client": "30s", "client_fin": "1s",
    "client_hs": "3s", "connect": "4s", "server": "1m", "server_fin": "2s",
    "tunnel": "1h"})"));
  CHECK(d["frontends"][1]["timeouts"]["client"] == 0);

  const Json& b = d["backends"][0];
  CHECK(b["balance"] == "leastconn");
  CHECK(b["retries"] == 5);
  CHECK(b["redispatch"] == true);
  CHECK(b["timeouts"]["queue"] == "750ms");
  CHECK(b["timeouts"]["check"] == "1500ms");
  CHECK(b["check"] == Json::parse(R"({"type": "mqtt", "client_id": "probe", "username": "u",
                                      "password": "p", "protocol": "5",
                                      "log-health-checks": true})"));
  CHECK(b["servers"][0] == Json::parse(R"({
    "name": "b1", "address": "127.0.0.1", "port": 1884, "weight": 10, "maxconn": 100,
    "backup": false, "disabled": false, "check": true, "inter": "3s", "fastinter": "500ms",
    "downinter": "10s", "rise": 4, "fall": 2, "init-state": "up", "observe": "layer4",
    "error-limit": 5, "on-error": "mark-down", "check-ssl": false, "slowstart": "10s",
    "on-marked-down": "shutdown-sessions", "on-marked-up": "shutdown-backup-sessions",
    "resolve-prefer": "ipv4", "init-addr": "last,libc", "ssl": false})"));
  CHECK(b["servers"][1]["check-port"] == 1995);
  CHECK(b["servers"][1]["check-addr"] == "127.0.0.2");
  CHECK(b["servers"][1]["slowstart"] == 0);
  CHECK(b["servers"][2]["address"] == "::1");
  CHECK(b["servers"][2]["sni"] == "broker3.example");
  // "off" is not checked: what it inherited comes through a default-server.
  CHECK(b["servers"][4]["check"] == false);
  CHECK_FALSE(b["servers"][4].contains("inter"));
  CHECK(b["default-server"] ==
        Json::parse(R"({"inter": "3s", "fastinter": "500ms", "downinter": "10s",
                        "rise": 4, "fall": 2})"));

  const Json& legacy = d["backends"][1];
  CHECK(legacy["timeouts"]["connect"] == 0);  // not the loader's 5 s
  CHECK(legacy["timeouts"]["queue"] == 0);    // not the connect time
  CHECK(legacy["check"]["tcp-check"].size() == 3);
  CHECK(legacy["servers"][0]["verify"] == "none");
  CHECK(legacy["servers"][0]["check-ssl"] == true);
}

TEST_CASE("every default of a minimal config is written out", "[json_dump]") {
  Config c = loads(Json::parse(R"({
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b"}],
    "backends": [{"name": "b", "servers": [{"name": "s", "address": "127.0.0.1",
                                            "port": 1884}]}]
  })"));
  Json expected = Json::parse(R"({
    "global": {
      "maxconn": 4096,
      "hard_stop_after": "30s",
      "log": [{"address": "stderr", "facility": "local0", "level": "info", "format": "raw"}],
      "log_tag": "mqlb",
      "tune": {"bufsize": 16384, "relay_high_water": 262144, "relay_low_water": 131072}
    },
    "frontends": [{
      "name": "f",
      "bind": [{"address": "127.0.0.1:1883", "name": "1", "ssl": false}],
      "default_backend": "b",
      "maxconn": 4096,
      "clitcpka": false,
      "timeouts": {"client": 0},
      "log": [{"address": "stderr", "facility": "local0", "level": "info", "format": "raw"}]
    }],
    "backends": [{
      "name": "b",
      "balance": "roundrobin",
      "hash_type": "map-based",
      "retries": 3,
      "redispatch": false,
      "allbackups": false,
      "srvtcpka": false,
      "timeouts": {"connect": "5s", "server": 0, "tunnel": 0, "queue": "5s"},
      "check": {"type": "tcp", "log-health-checks": false},
      "servers": [{
        "name": "s", "address": "127.0.0.1", "port": 1884, "weight": 1, "maxconn": 0,
        "backup": false, "disabled": false, "check": false, "slowstart": 0,
        "resolve-prefer": "ipv4", "init-addr": "last,libc", "ssl": false
      }]
    }]
  })");
  Json d = Json::parse(dump_json(c));
  INFO(d.dump(2));
  CHECK(d == expected);
  check_round_trip(c);
}

TEST_CASE("a config with a defaults section dumps the same as the hand-resolved one",
          "[json_dump]") {
  Config with_defaults = loads(Json::parse(R"({
    "defaults": {
      "maxconn": 2000, "retries": 2, "redispatch": true, "balance": "static-rr",
      "log": [{"address": "127.0.0.1:514", "facility": "local1", "level": "warning"}],
      "timeouts": {"connect": "3s", "client": "40s", "server": "40s"},
      "default-server": {"check": true, "inter": "4s", "fall": 5},
      "check": {"type": "mqtt"}
    },
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b"}],
    "backends": [{"name": "b", "servers": [
      {"name": "s1", "address": "127.0.0.1", "port": 1884},
      {"name": "s2", "address": "127.0.0.1", "port": 1885, "fall": 1}]}]
  })"));
  Config by_hand = loads(Json::parse(R"({
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b",
      "maxconn": 2000,
      "log": [{"address": "127.0.0.1:514", "facility": "local1", "level": "warning"}],
      "timeouts": {"connect": "3s", "client": "40s", "server": "40s"}}],
    "backends": [{"name": "b", "retries": 2, "redispatch": true, "balance": "static-rr",
      "timeouts": {"connect": "3s", "client": "40s", "server": "40s"},
      "check": {"type": "mqtt"},
      "servers": [
        {"name": "s1", "address": "127.0.0.1", "port": 1884, "check": true, "inter": "4s",
         "fall": 5},
        {"name": "s2", "address": "127.0.0.1", "port": 1885, "check": true, "inter": "4s",
         "fall": 1}]}]
  })"));
  CHECK(dump_json(with_defaults) == dump_json(by_hand));
  check_same(with_defaults, by_hand);
}

TEST_CASE("a timeout of 0 stays no timeout after a round trip", "[json_dump]") {
  Config c = loads(Json::parse(R"({
    "defaults": {"timeouts": {"connect": "5s", "queue": "2s", "client": "1m"}},
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b",
                   "timeouts": {"client": 0}}],
    "backends": [{"name": "b", "timeouts": {"connect": 0, "queue": 0},
                  "servers": [{"name": "s", "address": "127.0.0.1", "port": 1884}]}]
  })"));
  REQUIRE_FALSE(c.backends[0].timeouts.connect);
  REQUIRE_FALSE(c.backends[0].timeouts.queue);
  REQUIRE_FALSE(c.frontends[0].timeouts.client);
  Config again = load_text(dump_json(c));
  CHECK_FALSE(again.backends[0].timeouts.connect);
  CHECK_FALSE(again.backends[0].timeouts.queue);
  CHECK_FALSE(again.frontends[0].timeouts.client);
  check_round_trip(c);
}

TEST_CASE("the fallback timeouts stay unset when not configured", "[json_dump]") {
  Config c = loads(Json::parse(R"({
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b"}],
    "backends": [{"name": "b", "servers": [{"name": "s", "address": "127.0.0.1",
                                            "port": 1884}]}]
  })"));
  Json d = Json::parse(dump_json(c));
  for (const char* key : {"client_fin", "client_hs", "server_fin", "check"}) {
    INFO(key);
    CHECK_FALSE(d["frontends"][0]["timeouts"].contains(key));
    CHECK_FALSE(d["backends"][0]["timeouts"].contains(key));
  }
}

TEST_CASE("durations are written in the largest exact unit", "[json_dump]") {
  Config c = loads(Json::parse(R"({
    "global": {"hard_stop_after": 86400000},
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b",
                   "timeouts": {"client": 90000, "client_fin": "1500ms",
                                "client_hs": "120s"}}],
    "backends": [{"name": "b", "timeouts": {"connect": "7200s", "server": "1us"},
                  "servers": [{"name": "s", "address": "127.0.0.1", "port": 1884}]}]
  })"));
  Json d = Json::parse(dump_json(c));
  CHECK(d["global"]["hard_stop_after"] == "1d");
  CHECK(d["frontends"][0]["timeouts"]["client"] == "90s");
  CHECK(d["frontends"][0]["timeouts"]["client_fin"] == "1500ms");
  CHECK(d["frontends"][0]["timeouts"]["client_hs"] == "2m");
  CHECK(d["backends"][0]["timeouts"]["connect"] == "2h");
  CHECK(d["backends"][0]["timeouts"]["server"] == "1ms");  // microseconds round up
}

TEST_CASE("an unchecked server keeps its inherited check options through a default-server",
          "[json_dump]") {
  Config c = loads(Json::parse(R"({
    "defaults": {"default-server": {"inter": "5s", "check-port": 1999,
                                    "observe": "layer4"}},
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b"}],
    "backends": [{"name": "b", "servers": [
      {"name": "s1", "address": "127.0.0.1", "port": 1884},
      {"name": "s2", "address": "127.0.0.1", "port": 1885, "check": true, "inter": "1s"}]}]
  })"));
  REQUIRE(c.backends[0].servers[0].check.inter == 5s);
  Json d = Json::parse(dump_json(c));
  CHECK(d["backends"][0]["default-server"] ==
        Json::parse(R"({"inter": "5s", "check-port": 1999, "observe": "layer4"})"));
  check_round_trip(c);
}

TEST_CASE("a backend whose servers are all checked gets no default-server", "[json_dump]") {
  Config c = loads(Json::parse(R"({
    "defaults": {"default-server": {"check": true, "inter": "5s"}},
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b"}],
    "backends": [{"name": "b", "servers": [
      {"name": "s1", "address": "127.0.0.1", "port": 1884}]}]
  })"));
  Json d = Json::parse(dump_json(c));
  CHECK_FALSE(d["backends"][0].contains("default-server"));
  CHECK(d["backends"][0]["servers"][0]["inter"] == "5s");
  check_round_trip(c);
}

TEST_CASE("empty log lists and an MQTT 3.1.1 check round trip", "[json_dump]") {
  Config c = loads(Json::parse(R"({
    "global": {"log": [], "hard_stop_after": 0},
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b",
                   "log": []}],
    "backends": [{"name": "b", "check": {"type": "mqtt", "username": "u"},
                  "servers": [{"name": "s", "address": "127.0.0.1", "port": 1884,
                               "check": true}]}]
  })"));
  Json d = Json::parse(dump_json(c));
  CHECK(d["global"]["log"] == Json::array());
  CHECK(d["global"]["hard_stop_after"] == 0);
  CHECK(d["frontends"][0]["log"] == Json::array());
  CHECK(d["backends"][0]["check"] ==
        Json::parse(R"({"type": "mqtt", "client_id": "mqlb-check", "username": "u",
                        "protocol": "3.1.1", "log-health-checks": false})"));
  check_round_trip(c);
}

TEST_CASE("a server's TLS keys for a tcp-check that connects with ssl round trip", "[json_dump]") {
  Config c = loads(Json::parse(R"({
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b"}],
    "backends": [{"name": "b",
                  "check": {"type": "tcp-check", "tcp-check": ["connect port 8883 ssl"]},
                  "servers": [{"name": "s", "address": "127.0.0.1", "port": 1884,
                               "check": true, "ca-file": "/etc/mqlb/ca.pem"}]}]
  })"));
  CHECK(Json::parse(dump_json(c))["backends"][0]["servers"][0]["ca-file"] == "/etc/mqlb/ca.pem");
  check_round_trip(c);
}

TEST_CASE("a bind named with a space, as a haproxy.cfg may name one, round trips", "[json_dump]") {
  Config c = load_text(kRich);
  c.frontends[0].binds[0].name = "plain one";
  check_round_trip(c);
}

TEST_CASE("the text is indented by two spaces and ends with a newline", "[json_dump]") {
  std::string text = dump_json(load_text(kRich));
  CHECK(text.rfind("{\n  \"global\": {\n    \"workers\": 3,\n", 0) == 0);
  CHECK(text.substr(text.size() - 2) == "}\n");
}

TEST_CASE("bytes that are not UTF-8 are replaced instead of thrown over", "[json_dump]") {
  Config c = load_text(kRich);
  c.backends[0].servers[0].address = "bro\xffker";
  std::string text;
  REQUIRE_NOTHROW(text = dump_json(c));
  CHECK(text.find("bro\xef\xbf\xbdker") != std::string::npos);
}

}  // namespace
}  // namespace mqlb::conf
