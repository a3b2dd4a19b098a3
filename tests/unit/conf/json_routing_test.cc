// load_json: a frontend's "acl" and "use_backend", their errors by JSON
// path, and --dump-config writing them back.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "conf/json_dump.h"
#include "conf/json_loader.h"
#include "load_checks.h"

namespace mqlb::conf {
namespace {

using Json = nlohmann::json;

Json routed(Json acl, Json rules) {
  Json doc = Json::parse(R"({
    "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "plain"}],
    "backends": [
      {"name": "plain", "servers": [{"name": "b1", "address": "127.0.0.1", "port": 1884}]},
      {"name": "tls", "servers": [{"name": "b2", "address": "127.0.0.1", "port": 1885}]}]
  })");
  if (!acl.is_null()) doc["frontends"][0]["acl"] = std::move(acl);
  doc["frontends"][0]["use_backend"] = std::move(rules);
  return doc;
}

TEST_CASE("use_backend rules and named ACLs load from JSON in order", "[json_loader][acl]") {
  const Config c =
      checks::loads(routed({{"lan", {"src 10.0.0.0/8", "src 192.168.0.0/16"}}, {"tls", "ssl_fc"}},
                           {{{"backend", "tls"}, {"if", "tls !lan"}},
                            {{"backend", "plain"}, {"unless", "{ dst_port 1883 }"}},
                            {{"backend", "tls"}}}));
  const auto& rules = c.frontends[0].use_backend;
  REQUIRE(rules.size() == 3);
  CHECK(rules[0].backend == "tls");
  REQUIRE(rules[0].condition.any_of.size() == 1);
  CHECK(rules[0].condition.any_of[0][1].negate);
  CHECK(rules[0].condition.any_of[0][1].any_of.size() == 2);  // both lan lines
  CHECK(rules[1].unless);
  CHECK(rules[2].condition.any_of.empty());

  // --dump-config writes them so that they load back the same.
  const LoadResult again = load_json(dump_json(c), "dump.json");
  REQUIRE(again.config);
  CHECK(again.config->frontends[0].use_backend == rules);
}

TEST_CASE("bad use_backend rules and ACLs are refused by JSON path", "[json_loader][acl][errors]") {
  checks::refused_with(routed(nullptr, {{{"backend", "nope"}}}),
                       "frontends[0].use_backend[0].backend", "no backend named 'nope'",
                       checks::Match::Exact);
  checks::refused_with(routed(nullptr, {{{"backend", "tls"}, {"if", "lan"}}}),
                       "frontends[0].use_backend[0].if", "no such ACL : 'lan'.",
                       checks::Match::Exact);
  checks::refused_with(routed({{"lan", "src 10.0.0.300"}}, {{{"backend", "tls"}}}),
                       "frontends[0].acl.lan", "'10.0.0.300' is not a valid IPv4 or IPv6 address.",
                       checks::Match::Exact);
  checks::refused_with(routed(nullptr, {{{"backend", "tls"}, {"if", "x"}, {"unless", "y"}}}),
                       "frontends[0].use_backend[0]", "has both \"if\" and \"unless\": give one",
                       checks::Match::Exact);
  checks::refused_with(
      routed(nullptr, {{{"backend", "tls"}, {"if", "   "}}}), "frontends[0].use_backend[0].if",
      "is empty: leave it out for a rule that always applies", checks::Match::Exact);
}

Json guarded(Json acl, Json rules) {
  Json doc = routed(std::move(acl), Json::array());
  doc["frontends"][0].erase("use_backend");
  doc["frontends"][0]["tcp_request_connection"] = std::move(rules);
  return doc;
}

TEST_CASE("tcp_request_connection rules load from JSON in order and dump back",
          "[json_loader][acl]") {
  const Config c = checks::loads(
      guarded({{"office", "src 192.168.0.0/16"}},
              {{{"action", "accept"}, {"if", "office"}},
               {{"action", "reject"}, {"unless", "{ src 10.0.0.0/8 } || { dst_port 8883 }"}},
               {{"action", "reject"}}}));
  const auto& rules = c.frontends[0].tcp_request_connection;
  REQUIRE(rules.size() == 3);
  CHECK(rules[0].action == ConnectionRule::Action::Accept);
  CHECK_FALSE(rules[0].unless);
  CHECK(rules[1].action == ConnectionRule::Action::Reject);
  CHECK(rules[1].unless);
  CHECK(rules[1].condition.any_of.size() == 2);
  CHECK(rules[2].condition.any_of.empty());
  const LoadResult again = load_json(dump_json(c), "dump.json");
  REQUIRE(again.config);
  CHECK(again.config->frontends[0].tcp_request_connection == rules);
}

TEST_CASE("tcp_request_connection takes the TLS fetches, as haproxy.cfg does",
          "[json_loader][acl]") {
  // ssl_fc is known at accept (the bind is TLS or not); ssl_fc_sni is not,
  // and does not match there, as in HAProxy: a haproxy.cfg with either dumps
  // to JSON that loads.
  const Config c = checks::loads(
      guarded(nullptr, {{{"action", "reject"}, {"unless", "{ ssl_fc }"}},
                        {{"action", "reject"}, {"if", "{ ssl_fc_sni -i a.example }"}}}));
  CHECK(c.frontends[0].tcp_request_connection.size() == 2);
}

TEST_CASE("bad tcp_request_connection rules are refused by JSON path",
          "[json_loader][acl][errors]") {
  using checks::Match;
  const std::string at = "frontends[0].tcp_request_connection";
  checks::refused_with(guarded(nullptr, Json::array({"reject"})), at + "[0]", "must be an object",
                       Match::Prefix);
  checks::refused_with(guarded(nullptr, Json::object()), at,
                       R"(must be a list of rules, e.g. [{"action": "reject", "unless": )",
                       Match::Prefix);
  checks::refused_with(guarded(nullptr, {{{"if", "{ src 10.0.0.1 }"}}}), at + "[0].action",
                       R"(is required ("accept" or "reject"))", Match::Exact);
  checks::refused_with(guarded(nullptr, {{{"action", "drop"}}}), at + "[0].action",
                       R"(must be "accept" or "reject", got "drop")", Match::Exact);
  checks::refused_with(guarded(nullptr, {{{"action", "reject"}, {"if", "lan"}}}), at + "[0].if",
                       "no such ACL : 'lan'.", Match::Exact);
  checks::refused_with(guarded(nullptr, {{{"action", "reject"}, {"bogus", 1}}}), at + "[0].bogus",
                       "unknown key (expected one of: ", Match::Prefix);
}

}  // namespace
}  // namespace mqlb::conf
