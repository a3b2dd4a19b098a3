// config.cc: the small helpers of the config model.
#include "conf/config.h"

#include <catch2/catch.hpp>

namespace mqlb::conf {
namespace {

TEST_CASE("error to_string names the file the line the field and the message", "[config]") {
  CHECK(Error{"mqlb.json", 3, "", "invalid JSON: x"}.to_string() == "mqlb.json:3: invalid JSON: x");
  CHECK(Error{"mqlb.json", 0, "backends[0].servers[1].port", "must be 1..65535, got 70000"}
            .to_string() == "mqlb.json: backends[0].servers[1].port: must be 1..65535, got 70000");
  CHECK(Error{"haproxy.cfg", 14, "server", "needs an address"}.to_string() ==
        "haproxy.cfg:14: server: needs an address");
  CHECK(Error{"", 0, "backends[0].servers[1].port", "must be 1..65535, got 70000"}.to_string() ==
        "backends[0].servers[1].port: must be 1..65535, got 70000");
  CHECK(Error{"", 0, "", "no file"}.to_string() == "no file");
}

TEST_CASE("balance names parse and print both ways", "[config]") {
  const std::pair<const char*, Balance> known[] = {
      {"roundrobin", Balance::RoundRobin}, {"static-rr", Balance::StaticRr},
      {"leastconn", Balance::LeastConn},   {"source", Balance::Source},
      {"first", Balance::First},           {"random", Balance::Random}};
  for (const auto& [name, value] : known) {
    INFO(name);
    CHECK(parse_balance(name) == value);
    CHECK(to_string(value) == name);
  }
  CHECK_FALSE(parse_balance("round-robin"));
  CHECK_FALSE(parse_balance("RoundRobin"));
  CHECK_FALSE(parse_balance(""));
}

TEST_CASE("bind to_string brackets IPv6 hosts", "[config]") {
  auto bind = [](std::string host, uint16_t port) {
    Bind b;
    b.host = std::move(host);
    b.port = port;
    return b;
  };
  CHECK(bind("127.0.0.1", 1883).to_string() == "127.0.0.1:1883");
  CHECK(bind("0.0.0.0", 1883).to_string() == "0.0.0.0:1883");
  CHECK(bind("::1", 8883).to_string() == "[::1]:8883");
  CHECK(bind("::", 1883).to_string() == "[::]:1883");
}

TEST_CASE("find_backend finds a backend by name or returns null", "[config]") {
  Config c;
  c.backends.resize(2);
  c.backends[0].name = "mqtt";
  c.backends[1].name = "mqtts";
  CHECK(c.find_backend("mqtts") == &c.backends[1]);
  CHECK(c.find_backend("mqtt") == &c.backends[0]);
  CHECK(c.find_backend("mqt") == nullptr);
  CHECK(Config{}.find_backend("mqtt") == nullptr);
}

TEST_CASE("defaults at the field match docs/config.md", "[config]") {
  Global g;
  CHECK(g.workers == 0);
  CHECK(g.maxconn == 4096);
  CHECK(g.hard_stop_after == std::chrono::seconds(30));
  REQUIRE(g.log.size() == 1);
  CHECK(g.log[0].kind == LogTarget::Kind::Stderr);
  LogTarget t;
  CHECK(t.port == 514);
  CHECK(t.facility == 16);
  CHECK(t.level == 6);
  Server s;
  CHECK(s.weight == 1);
  CHECK(s.maxconn == 0);
  CHECK_FALSE(s.backup);
  CHECK_FALSE(s.disabled);
  Backend b;
  CHECK(b.balance == Balance::RoundRobin);
  CHECK(b.retries == 3);
  CHECK_FALSE(b.redispatch);
  CHECK_FALSE(b.allbackups);
}

}  // namespace
}  // namespace mqlb::conf
