// The admin settings of mqlb JSON: global.admin (the REST API's endpoint),
// global.state_file, global.runtime_sockets, a server's "drain", their
// dump, and load_json_server (one server, as the API receives it).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "conf/haproxy_loader.h"
#include "conf/json_dump.h"
#include "conf/json_loader.h"
#include "load_checks.h"

namespace mqlb::conf {
namespace {

using Json = nlohmann::json;
using checks::loads;
using checks::Match;
using checks::refused_with;

Json minimal() {
  return Json::parse(R"({
    "frontends": [{"name": "mqtt", "bind": ["127.0.0.1:1883"], "default_backend": "mqtt"}],
    "backends": [{"name": "mqtt",
                  "servers": [{"name": "b1", "address": "127.0.0.1", "port": 1884}]}]
  })");
}

Json with_global(const Json& global) {
  Json doc = minimal();
  doc["global"] = global;
  return doc;
}

Json with_admin(const Json& admin) {
  return with_global({{"admin", admin}});
}

Json with_sockets(const Json& sockets) {
  return with_global({{"runtime_sockets", sockets}});
}

// --- global.admin --------------------------------------------------------------

TEST_CASE("without global.admin the API listens on the default loopback port",
          "[conf][json][admin]") {
  const Config c = loads(minimal());
  CHECK(c.global.admin.enabled);
  CHECK(c.global.admin.host == "127.0.0.1");
  CHECK(c.global.admin.port == 8404);
  CHECK_FALSE(c.global.admin.configured);
  CHECK(c.global.admin.token.empty());
  CHECK(c.global.server_state_file.empty());
  CHECK(c.global.stats_sockets.empty());
}

TEST_CASE("global.admin false turns the API off", "[conf][json][admin]") {
  const Config c = loads(with_admin(false));
  CHECK_FALSE(c.global.admin.enabled);
  CHECK_FALSE(c.global.admin.configured);
}

TEST_CASE("global.admin true keeps the default endpoint", "[conf][json][admin]") {
  const Config c = loads(with_admin(true));
  CHECK(c.global.admin == AdminApi{});
}

TEST_CASE("global.admin takes a bind and a token", "[conf][json][admin]") {
  const Config c = loads(with_admin({{"bind", "127.0.0.1:9000"}, {"token", "t"}}));
  CHECK(c.global.admin.enabled);
  CHECK(c.global.admin.host == "127.0.0.1");
  CHECK(c.global.admin.port == 9000);
  CHECK(c.global.admin.configured);
  CHECK(c.global.admin.token == "t");
}

TEST_CASE("global.admin bind takes every address and IPv6 in brackets", "[conf][json][admin]") {
  CHECK(loads(with_admin({{"bind", "*:9000"}})).global.admin.host == "0.0.0.0");
  CHECK(loads(with_admin({{"bind", ":9001"}})).global.admin.host == "0.0.0.0");
  const Config v6 = loads(with_admin({{"bind", "[::1]:9002"}}));
  CHECK(v6.global.admin.host == "::1");
  CHECK(v6.global.admin.port == 9002);
}

TEST_CASE("global.admin with a token only keeps the default bind", "[conf][json][admin]") {
  const Config c = loads(with_admin({{"token", "s3cret"}}));
  CHECK(c.global.admin.host == "127.0.0.1");
  CHECK(c.global.admin.port == 8404);
  CHECK_FALSE(c.global.admin.configured);
  CHECK(c.global.admin.token == "s3cret");
}

TEST_CASE("global.admin refuses a bad bind, an unknown key and a bad token",
          "[conf][json][admin]") {
  refused_with(with_admin({{"bind", "x"}}), "global.admin.bind",
               "expected ADDRESS:PORT such as 127.0.0.1:1883 or [::1]:1883, got 'x'", Match::Exact);
  refused_with(with_admin({{"bind", "127.0.0.1:99999"}}), "global.admin.bind",
               "port must be 1..65535, got '99999'", Match::Exact);
  refused_with(with_admin({{"bind", "host:99999"}}), "global.admin.bind",
               "port must be 1..65535, got '99999'", Match::Exact);
  refused_with(with_admin({{"bind", "127.0.0.1:0"}}), "global.admin.bind",
               "port must be 1..65535, got '0'", Match::Exact);
  refused_with(with_admin({{"bind", "admin.example:9000"}}), "global.admin.bind",
               "must be an IP address (or * for all), got 'admin.example'", Match::Exact);
  refused_with(with_admin({{"bind", "::1:9000"}}), "global.admin.bind",
               "an IPv6 address needs brackets");
  refused_with(with_admin({{"bind", ""}}), "global.admin.bind", "must be a non-empty string");
  refused_with(with_admin({{"bind", 9000}}), "global.admin.bind", "must be a non-empty string");
  refused_with(with_admin({{"port", 9000}}), "global.admin.port",
               "unknown key (expected one of: bind, token)", Match::Exact);
  refused_with(with_admin({{"token", ""}}), "global.admin.token", "must be a non-empty string");
  refused_with(with_admin({{"token", 5}}), "global.admin.token", "must be a non-empty string");
  refused_with(with_admin("yes"), "global.admin", "must be an object");
  refused_with(with_admin(Json::array()), "global.admin", "must be an object");
}

// --- global.state_file -------------------------------------------------------

TEST_CASE("global.state_file names where run-time changes are kept", "[conf][json][admin]") {
  const Config c = loads(with_global({{"state_file", "/var/lib/mqlb/state.json"}}));
  CHECK(c.global.server_state_file == "/var/lib/mqlb/state.json");
}

TEST_CASE("global.state_file must be a non-empty string", "[conf][json][admin]") {
  refused_with(with_global({{"state_file", ""}}), "global.state_file",
               "must be a non-empty string");
  refused_with(with_global({{"state_file", 1}}), "global.state_file", "must be a non-empty string");
  refused_with(with_global({{"state_file", nullptr}}), "global.state_file",
               "must be a non-empty string");
}

// --- global.runtime_sockets --------------------------------------------------

TEST_CASE("global.runtime_sockets reads path mode and level", "[conf][json][admin]") {
  const Config c = loads(with_sockets(Json::parse(R"([
    {"path": "/run/mqlb/admin.sock", "mode": "660", "level": "admin"},
    {"path": "/run/mqlb/ops.sock", "mode": "0600", "level": "operator"},
    {"path": "/run/mqlb/user.sock"}])")));
  REQUIRE(c.global.stats_sockets.size() == 3);
  CHECK(c.global.stats_sockets[0] == StatsSocket{"/run/mqlb/admin.sock", "660", "admin"});
  CHECK(c.global.stats_sockets[1] == StatsSocket{"/run/mqlb/ops.sock", "0600", "operator"});
  // No mode: the umask's; level user, as HAProxy's default.
  CHECK(c.global.stats_sockets[2] == StatsSocket{"/run/mqlb/user.sock", "", "user"});
}

TEST_CASE("global.runtime_sockets may be an empty list", "[conf][json][admin]") {
  CHECK(loads(with_sockets(Json::array())).global.stats_sockets.empty());
}

TEST_CASE("global.runtime_sockets refuses what is not a socket of the model",
          "[conf][json][admin]") {
  refused_with(with_sockets({{"path", "/run/mqlb.sock"}}), "global.runtime_sockets",
               "must be a list");
  refused_with(with_sockets("/run/mqlb.sock"), "global.runtime_sockets", "must be a list");
  refused_with(with_sockets(Json::parse(R"([{"level": "admin"}])")),
               "global.runtime_sockets[0].path", "is required", Match::Exact);
  refused_with(with_sockets(Json::parse(R"([{"path": ""}])")), "global.runtime_sockets[0].path",
               "must be a non-empty string");
  refused_with(with_sockets(Json::parse(R"([{"path": "/a"}, {"path": 5}])")),
               "global.runtime_sockets[1].path", "must be a non-empty string");
  refused_with(with_sockets(Json::parse(R"([{"path": "/a", "mode": "rw"}])")),
               "global.runtime_sockets[0].mode",
               "must be an octal file mode such as \"660\", got 'rw'", Match::Exact);
  refused_with(with_sockets(Json::parse(R"([{"path": "/a", "mode": "0968"}])")),
               "global.runtime_sockets[0].mode", "must be an octal file mode");
  refused_with(with_sockets(Json::parse(R"([{"path": "/a", "mode": "06600"}])")),
               "global.runtime_sockets[0].mode", "must be an octal file mode");
  refused_with(with_sockets(Json::parse(R"([{"path": "/a", "mode": 660}])")),
               "global.runtime_sockets[0].mode", "must be a non-empty string");
  refused_with(with_sockets(Json::parse(R"([{"path": "/a", "level": "root"}])")),
               "global.runtime_sockets[0].level",
               "must be \"user\", \"operator\" or \"admin\", got 'root'", Match::Exact);
  refused_with(with_sockets(Json::parse(R"([{"path": "/a", "level": "Admin"}])")),
               "global.runtime_sockets[0].level", "must be \"user\"");
  refused_with(with_sockets(Json::parse(R"([{"path": "/a", "owner": "mqlb"}])")),
               "global.runtime_sockets[0].owner",
               "unknown key (expected one of: path, mode, level)", Match::Exact);
  refused_with(with_sockets(Json::parse(R"(["/run/mqlb.sock"])")), "global.runtime_sockets[0]",
               "must be an object");
}

TEST_CASE("global refuses an unknown key beside the admin ones", "[conf][json][admin]") {
  refused_with(with_global({{"state-file", "/x"}}), "global.state-file", "unknown key");
}

// --- a server's drain --------------------------------------------------------

TEST_CASE("a server may start draining", "[conf][json][admin]") {
  Json doc = minimal();
  doc["backends"][0]["servers"].push_back(
      {{"name", "b2"}, {"address", "127.0.0.1"}, {"port", 1885}, {"drain", true}});
  const Config c = loads(doc);
  CHECK_FALSE(c.backends[0].servers[0].drain);
  CHECK(c.backends[0].servers[1].drain);
  CHECK_FALSE(c.backends[0].servers[1].disabled);
}

TEST_CASE("drain is a flag and may come from a default-server", "[conf][json][admin]") {
  Json doc = minimal();
  doc["backends"][0]["servers"][0]["drain"] = "yes";
  refused_with(doc, "backends[0].servers[0].drain", "must be true or false");

  Json inherited = minimal();
  inherited["backends"][0]["default-server"] = {{"drain", true}};
  CHECK(loads(inherited).backends[0].servers[0].drain);
}

// --- the dump ----------------------------------------------------------------

// Every admin setting at once.
Json all_admin_settings() {
  Json doc = with_global(Json::parse(R"({
    "admin": {"bind": "127.0.0.1:9000", "token": "t"},
    "state_file": "/var/lib/mqlb/state.json",
    "runtime_sockets": [{"path": "/run/mqlb/admin.sock", "mode": "660", "level": "admin"},
                        {"path": "/run/mqlb/user.sock"}]})"));
  doc["backends"][0]["servers"].push_back(
      {{"name", "b2"}, {"address", "127.0.0.1"}, {"port", 1885}, {"drain", true}});
  return doc;
}

std::string dump_of_load(const std::string& text) {
  const LoadResult r = load_json(text, checks::kFile);
  INFO(checks::listing(r) << "\nin:\n" << text);
  REQUIRE(r.errors.empty());
  REQUIRE(r.config);
  return dump_json(*r.config);
}

TEST_CASE("the admin settings survive a dump and a load unchanged", "[conf][json][admin]") {
  const Config c = loads(all_admin_settings());
  const std::string text = dump_json(c);
  CHECK(dump_of_load(text) == text);
  const Config again = loads(Json::parse(text));
  CHECK(again.global.admin == c.global.admin);
  CHECK(again.global.server_state_file == c.global.server_state_file);
  CHECK(again.global.stats_sockets == c.global.stats_sockets);
  CHECK(again.backends[0].servers == c.backends[0].servers);
}

TEST_CASE("the dump writes the admin settings as they were given", "[conf][json][admin]") {
  const Json d = Json::parse(dump_json(loads(all_admin_settings())));
  INFO(d.dump(2));
  CHECK(d["global"]["admin"] == Json::parse(R"({"bind": "127.0.0.1:9000", "token": "t"})"));
  CHECK(d["global"]["state_file"] == "/var/lib/mqlb/state.json");
  CHECK(d["global"]["runtime_sockets"] == Json::parse(R"([
    {"path": "/run/mqlb/admin.sock", "mode": "660", "level": "admin"},
    {"path": "/run/mqlb/user.sock", "level": "user"}])"));
  const Json& servers = d["backends"][0]["servers"];
  CHECK_FALSE(servers[0].contains("drain"));
  CHECK(servers[1]["drain"] == true);
}

TEST_CASE("the dump leaves out admin settings left at their defaults", "[conf][json][admin]") {
  const Json d = Json::parse(dump_json(loads(minimal())));
  CHECK_FALSE(d["global"].contains("admin"));
  CHECK_FALSE(d["global"].contains("state_file"));
  CHECK_FALSE(d["global"].contains("runtime_sockets"));
}

TEST_CASE("the dump of admin false, a token alone or an IPv6 bind loads back the same",
          "[conf][json][admin]") {
  for (const Json& admin : {Json(false), Json{{"token", "t"}}, Json{{"bind", "[::1]:9000"}},
                            Json{{"bind", "*:9000"}}}) {
    INFO("admin: " << admin.dump());
    const Config c = loads(with_admin(admin));
    const std::string text = dump_json(c);
    CHECK(dump_of_load(text) == text);
    CHECK(loads(Json::parse(text)).global.admin == c.global.admin);
  }
  CHECK(Json::parse(dump_json(loads(with_admin(false))))["global"]["admin"] == false);
  CHECK(Json::parse(dump_json(loads(with_admin({{"bind", "[::1]:9000"}}))))["global"]["admin"] ==
        Json::parse(R"({"bind": "[::1]:9000"})"));
}

// A haproxy.cfg with `lines` in its global section.
LoadResult load_haproxy_global(const std::string& lines) {
  const std::string text = "global\n" + lines +
                           "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 50s\n"
                           "  timeout server 50s\n"
                           "frontend f\n  bind 127.0.0.1:1883\n  default_backend b\n"
                           "backend b\n  server s1 127.0.0.1:1884\n";
  return load_haproxy(text, "haproxy.cfg", [](std::string_view) { return std::nullopt; });
}

Config from_haproxy(const std::string& lines) {
  const LoadResult r = load_haproxy_global(lines);
  INFO(checks::listing(r));
  REQUIRE(r.config);
  return *r.config;
}

TEST_CASE("stats socket and server-state-file of a haproxy.cfg dump to JSON that loads back",
          "[conf][json][admin]") {
  const Config c = from_haproxy(
      "  stats socket /run/mqlb/admin.sock mode 660 level admin\n"
      "  stats socket /run/mqlb/user.sock\n"
      "  server-state-file /var/lib/mqlb/state.json\n");
  REQUIRE(c.global.stats_sockets.size() == 2);
  const std::string text = dump_json(c);
  CHECK(dump_of_load(text) == text);
  const Json d = Json::parse(text);
  CHECK(d["global"]["runtime_sockets"] == Json::parse(R"([
    {"path": "/run/mqlb/admin.sock", "mode": "660", "level": "admin"},
    {"path": "/run/mqlb/user.sock", "level": "user"}])"));
  CHECK(d["global"]["state_file"] == "/var/lib/mqlb/state.json");
}

// The haproxy.cfg loader refuses what load_json would (HAProxy itself
// refuses a level other than those three), so --dump-config always loads.
TEST_CASE("a stats socket the haproxy.cfg loader keeps survives the dump", "[conf][json][admin]") {
  for (const char* line :
       {"  stats socket /run/a.sock level root\n", "  stats socket /run/a.sock mode rw-rw----\n",
        "  stats socket /run/a.sock mode 06600\n"}) {
    INFO(line);
    const LoadResult r = load_haproxy_global(line);
    // Either the haproxy.cfg is refused, or its dump loads.
    if (!r.config) continue;
    const LoadResult again = load_json(dump_json(*r.config), checks::kFile);
    INFO(checks::listing(again));
    CHECK(again.errors.empty());
  }
}

// --- load_json_server --------------------------------------------------------

std::vector<Error> server_errors(const Json& v, const BackendCheck& checks = {}) {
  std::vector<Error> errors;
  const auto s = load_json_server(v, checks, errors);
  CHECK_FALSE(s.has_value());
  return errors;
}

std::vector<std::string> fields(const std::vector<Error>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors)
    out.push_back(e.field);
  return out;
}

TEST_CASE("load_json_server reads a server over the model's defaults", "[conf][json][admin]") {
  std::vector<Error> errors;
  const auto s = load_json_server(Json::parse(R"({"name": "b3", "address": "10.0.0.3",
                                                  "port": 1887, "weight": 4, "drain": true})"),
                                  BackendCheck{}, errors);
  CHECK(errors.empty());
  REQUIRE(s);
  Server want;
  want.name = "b3";
  want.address = "10.0.0.3";
  want.port = 1887;
  want.weight = 4;
  want.drain = true;
  CHECK(*s == want);
}

TEST_CASE("load_json_server round-trips through the dump of one server", "[conf][json][admin]") {
  const Config c = loads(all_admin_settings());
  const Server& b2 = c.backends[0].servers[1];
  std::vector<Error> errors;
  const auto s = load_json_server(Json::parse(to_json(b2, c.backends[0].check).dump()),
                                  c.backends[0].check, errors);
  CHECK(errors.empty());
  REQUIRE(s);
  CHECK(*s == b2);
}

TEST_CASE("load_json_server errors name the key without a leading dot", "[conf][json][admin]") {
  struct Case {
    const char* body;
    std::vector<std::string> fields;
    std::string first_message;
  };
  const std::vector<Case> cases = {
      {R"({"name": "b3", "address": "127.0.0.1", "port": 0})", {"port"}, "must be 1..65535, got 0"},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 65536})",
       {"port"},
       "must be 1..65535, got 65536"},
      {R"({"name": "b3", "address": "127.0.0.1", "port": "1"})",
       {"port"},
       "must be 1..65535, got \"1\""},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 1, "weight": 257})",
       {"weight"},
       "must be 0..256, got 257"},
      {R"({"name": "b3", "address": "10.0.0.300", "port": 1})",
       {"address"},
       "is not a valid IP address: '10.0.0.300'"},
      {R"({"name": "a/b", "address": "127.0.0.1", "port": 1})",
       {"name"},
       "may hold only letters, digits and - _ . :, got 'a/b'"},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 1, "bogus": 1})",
       {"bogus"},
       "unknown key (expected one of: "},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 1, "inter": "2s"})",
       {"inter"},
       "needs \"check\": true"},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 1, "sni": "x"})",
       {"sni"},
       "needs \"ssl\": true"},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 1, "drain": 1})",
       {"drain"},
       "must be true or false, got 1"},
      {R"({})", {"name", "address", "port"}, "is required"},
      {R"({"port": 1})", {"name", "address"}, "is required"},
  };
  for (const Case& c : cases) {
    INFO("server: " << c.body);
    const std::vector<Error> errors = server_errors(Json::parse(c.body));
    CHECK(fields(errors) == c.fields);
    REQUIRE_FALSE(errors.empty());
    CHECK(errors[0].message.compare(0, c.first_message.size(), c.first_message) == 0);
    for (const Error& e : errors) {
      INFO(e.field << ": " << e.message);
      CHECK(e.line == 0);
      CHECK((e.field.empty() || e.field.front() != '.'));
    }
  }
}

TEST_CASE("load_json_server refuses what is not an object at the root", "[conf][json][admin]") {
  for (const char* body : {"[1]", "5", "\"b3\"", "null"}) {
    INFO("server: " << body);
    const std::vector<Error> errors = server_errors(Json::parse(body));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].field.empty());
    CHECK(errors[0].message.compare(0, 20, "must be an object, g") == 0);
  }
}

TEST_CASE("load_json_server gives a checked server the model's check defaults",
          "[conf][json][admin]") {
  std::vector<Error> errors;
  const auto s = load_json_server(Json::parse(R"({"name": "b3", "address": "127.0.0.1",
                                                  "port": 1, "check": true})"),
                                  BackendCheck{}, errors);
  REQUIRE(s);
  ServerCheck checked;
  checked.enabled = true;
  CHECK(s->check == checked);
  CHECK(s->weight == 1);
}

}  // namespace
}  // namespace mqlb::conf
