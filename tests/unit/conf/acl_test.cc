// ACLs for use_backend: parsing HAProxy's words, matching what a TCP
// frontend knows of a connection, and writing a condition back as words.
#include "conf/acl.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <sstream>

namespace mqlb::conf {
namespace {

AclTest test(const std::vector<std::string>& words) {
  auto t = parse_acl_test(words);
  if (auto* e = std::get_if<std::string>(&t)) FAIL("refused: " << *e);
  return std::get<AclTest>(t);
}

std::string refused(const std::vector<std::string>& words) {
  auto t = parse_acl_test(words);
  if (std::holds_alternative<AclTest>(t)) FAIL("accepted");
  return std::get<std::string>(t);
}

Condition condition(const std::vector<std::string>& words, const NamedAcls& named = {}) {
  auto c = parse_condition(words, named);
  if (auto* e = std::get_if<std::string>(&c)) FAIL("refused: " << *e);
  return std::get<Condition>(c);
}

// A connection from `ip` to `port`, over TLS asking for `sni` when given.
struct Facts {
  uint8_t addr[16] = {};
  ConnectionFacts facts;
  Facts(const char* ip, uint16_t port, bool tls = false, std::string_view sni = {}) {
    const bool v6 = std::string_view(ip).find(':') != std::string_view::npos;
    REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, ip, addr) == 1);
    facts = {tls, sni, addr, v6 ? 16u : 4u, port};
  }
};

TEST_CASE("acl: each fetch matches what it should and nothing else", "[acl]") {
  const AclTest tls = test({"ssl_fc"});
  CHECK(matches(tls, Facts("10.0.0.1", 8883, true).facts));
  CHECK_FALSE(matches(tls, Facts("10.0.0.1", 1883).facts));

  const AclTest sni = test({"ssl_fc_sni", "-i", "Broker.Example", "other.example"});
  CHECK(matches(sni, Facts("10.0.0.1", 8883, true, "broker.example").facts));
  CHECK(matches(sni, Facts("10.0.0.1", 8883, true, "other.example").facts));
  CHECK_FALSE(matches(sni, Facts("10.0.0.1", 8883, true, "broker.example.org").facts));
  CHECK_FALSE(matches(sni, Facts("10.0.0.1", 8883, true).facts));  // no SNI sent
  CHECK_FALSE(matches(test({"ssl_fc_sni", "Broker.Example"}),
                      Facts("10.0.0.1", 8883, true, "broker.example").facts));  // no -i
  const AclTest dom = test({"ssl_fc_sni", "-m", "dom", "example.com"});
  CHECK(matches(dom, Facts("10.0.0.1", 8883, true, "eu.example.com").facts));
  CHECK(matches(dom, Facts("10.0.0.1", 8883, true, "example.com").facts));
  CHECK_FALSE(matches(dom, Facts("10.0.0.1", 8883, true, "badexample.com").facts));
  CHECK(matches(test({"ssl_fc_sni", "-m", "beg", "lamp-"}),
                Facts("10.0.0.1", 8883, true, "lamp-42.city").facts));
  CHECK(matches(test({"ssl_fc_sni", "-m", "end", ".city"}),
                Facts("10.0.0.1", 8883, true, "lamp-42.city").facts));
  CHECK(matches(test({"ssl_fc_sni", "-m", "sub", "42"}),
                Facts("10.0.0.1", 8883, true, "lamp-42.city").facts));

  const AclTest lan = test({"src", "10.0.0.0/8", "192.168.1.7", "fd00::/8"});
  CHECK(matches(lan, Facts("10.200.3.4", 1883).facts));
  CHECK(matches(lan, Facts("192.168.1.7", 1883).facts));
  CHECK_FALSE(matches(lan, Facts("192.168.1.8", 1883).facts));
  CHECK_FALSE(matches(lan, Facts("11.0.0.1", 1883).facts));
  CHECK(matches(lan, Facts("fd12::1", 1883).facts));
  CHECK(matches(lan, Facts("::ffff:10.1.2.3", 1883).facts));  // IPv4-mapped
  CHECK(matches(test({"src", "172.16.0.0/12"}), Facts("172.31.255.255", 1).facts));
  CHECK_FALSE(matches(test({"src", "172.16.0.0/12"}), Facts("172.32.0.0", 1).facts));

  const AclTest ports = test({"dst_port", "8883", "9000:9010"});
  CHECK(matches(ports, Facts("10.0.0.1", 8883).facts));
  CHECK(matches(ports, Facts("10.0.0.1", 9005).facts));
  CHECK_FALSE(matches(ports, Facts("10.0.0.1", 1883).facts));
}

TEST_CASE("acl: bad tests are refused with the reason", "[acl]") {
  CHECK(refused({"xyz", "1"}) ==
        "unknown fetch method 'xyz' in ACL expression 'xyz' (mqlb knows ssl_fc, ssl_fc_sni, "
        "src, dst_port).");
  CHECK(refused({"src", "10.0.0.300"}) == "'10.0.0.300' is not a valid IPv4 or IPv6 address.");
  CHECK(refused({"src", "10.0.0.0/33"}) == "'10.0.0.0/33' is not a valid IPv4 or IPv6 address.");
  CHECK(refused({"dst_port", "9010:9000"}) ==
        "'9010:9000' is not a port or a range of ports such as 8000:8080.");
  CHECK(refused({"ssl_fc", "yes"}) == "'ssl_fc' takes no value (got 'yes').");
  CHECK(refused({"ssl_fc_sni", "-m", "zz", "a"}) ==
        "unknown matching method 'zz' when parsing ACL expression.");
  CHECK(refused({"src", "-i", "10.0.0.1"}) == "-i and -m apply to ssl_fc_sni only.");
  CHECK(refused({"ssl_fc_sni", "-f", "names.lst"}) ==
        "'-f' is not supported yet by mqlb in an ACL (only -i, -m and --).");
  CHECK(refused({"src"}) == "'src' needs at least one address or network.");
}

TEST_CASE("acl: conditions combine terms with and, or and not", "[acl]") {
  const NamedAcls named{{"tls", {test({"ssl_fc"})}},
                        {"lan", {test({"src", "10.0.0.0/8"}), test({"src", "192.168.0.0/16"})}}};
  // (tls and not lan) or port 1884
  const Condition c = condition({"tls", "!", "lan", "||", "{", "dst_port", "1884", "}"}, named);
  CHECK(matches(c, Facts("8.8.8.8", 8883, true).facts));
  CHECK_FALSE(matches(c, Facts("10.0.0.1", 8883, true).facts));
  CHECK_FALSE(matches(c, Facts("192.168.3.3", 8883, true).facts));
  CHECK_FALSE(matches(c, Facts("8.8.8.8", 1883).facts));
  CHECK(matches(c, Facts("10.0.0.1", 1884).facts));
  CHECK(matches(condition({}), Facts("8.8.8.8", 1).facts));  // no condition: always
  // "!lan" is "! lan", as HAProxy reads it.
  CHECK(condition({"tls", "!lan"}, named) == condition({"tls", "!", "lan"}, named));

  auto e = parse_condition({"nope"}, named);
  CHECK(std::get<std::string>(e) == "no such ACL : 'nope'.");
  CHECK(std::get<std::string>(parse_condition({"{", "ssl_fc"}, named)) ==
        "missing closing '}' in condition.");
  CHECK(std::get<std::string>(parse_condition({"tls", "||"}, named)) == "missing ACL after '||'.");
  CHECK(std::get<std::string>(parse_condition({"!"}, named)) == "missing ACL after '!'.");
}

TEST_CASE("acl: a condition written back as words reads back the same", "[acl]") {
  const NamedAcls named{{"tls", {test({"ssl_fc"})}},
                        {"lan", {test({"src", "10.0.0.0/8"}), test({"src", "192.168.0.0/16"})}}};
  const Condition c = condition(
      {"tls", "!", "lan", "||", "{", "ssl_fc_sni", "-i", "-m", "end", ".example", "}"}, named);
  NamedAcls written;
  const std::string text = to_text(c, written);
  CHECK(text == "{ ssl_fc } ! acl1 || { ssl_fc_sni -i -m end .example }");
  REQUIRE(written.size() == 1);
  CHECK(written.at("acl1") == named.at("lan"));
  std::vector<std::string> words;
  std::string w;
  for (std::istringstream in(text); in >> w;)
    words.push_back(w);
  CHECK(condition(words, written) == c);
}

TEST_CASE("acl: patterns that need quotes are written as a named ACL, quoted", "[acl]") {
  const NamedAcls named{{"odd", {test({"ssl_fc_sni", "a b", "}", "x\"$y"})}}};
  const Condition c = condition({"odd"}, named);
  NamedAcls written;
  CHECK(to_text(c, written) == "acl1");
  CHECK(to_text(written.at("acl1")[0]) == "ssl_fc_sni \"a b\" } \"x\\\"\\$y\"");
}

TEST_CASE("acl: the first rule that applies picks the backend", "[acl]") {
  const std::vector<BackendRule> rules = {
      {"secure", false, condition({"{", "ssl_fc", "}"})},
      {"plain-lan", true, condition({"{", "src", "10.0.0.0/8", "}"})},
  };
  CHECK(pick_backend(rules, Facts("10.0.0.1", 8883, true).facts) == "secure");
  CHECK(pick_backend(rules, Facts("8.8.8.8", 1883).facts) == "plain-lan");  // unless
  CHECK_FALSE(pick_backend(rules, Facts("10.0.0.1", 1883).facts));          // default
}

TEST_CASE("acl: the first connection rule that applies decides, and none accepts", "[acl]") {
  using Action = ConnectionRule::Action;
  const std::vector<ConnectionRule> rules = {
      {Action::Accept, false, condition({"{", "src", "10.0.0.7", "}"})},
      {Action::Reject, false, condition({"{", "src", "10.0.0.0/8", "}"})},
      {Action::Reject, true, condition({"{", "dst_port", "1883", "8883", "}"})},
  };
  CHECK(connection_accepted(rules, Facts("10.0.0.7", 1883).facts));        // first rule
  CHECK_FALSE(connection_accepted(rules, Facts("10.0.0.8", 1883).facts));  // second
  CHECK_FALSE(connection_accepted(rules, Facts("8.8.8.8", 9000).facts));   // unless
  CHECK(connection_accepted(rules, Facts("8.8.8.8", 8883).facts));         // none applies
  CHECK(connection_accepted({}, Facts("10.0.0.8", 1883).facts));
  // A rule without a condition always applies.
  CHECK_FALSE(connection_accepted({{Action::Reject, false, {}}}, Facts("::1", 1883).facts));
}

TEST_CASE("acl: the TLS fetches of a condition are found for tcp-request warnings", "[acl]") {
  CHECK(tls_fetch_in(condition({"{", "src", "10.0.0.0/8", "}"})).empty());
  CHECK(tls_fetch_in(condition({"{", "dst_port", "1", "}", "||", "{", "ssl_fc", "}"})) == "ssl_fc");
  NamedAcls named{{"sni", {test({"ssl_fc_sni", "a.example"})}}};
  CHECK(tls_fetch_in(condition({"!", "sni"}, named)) == "ssl_fc_sni");
}

}  // namespace
}  // namespace mqlb::conf
