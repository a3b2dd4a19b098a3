// conf::parse_log_format and lb::append_access_line: HAProxy's log-format,
// compiled once, formatted per session.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

#include "conf/haproxy_loader.h"
#include "conf/json_dump.h"
#include "conf/json_loader.h"
#include "conf/log_format.h"
#include "lb/access_log.h"
#include "tests/unit/conf/load_checks.h"

namespace mqlb::lb {
namespace {

using conf::LogFormat;
using conf::LogVar;

// 2026-11-22 14:26:43.448 UTC: a second no other test formats, as local
// time is cached per second (and other tests set other time zones).
constexpr int64_t kAccept = 1'795'357'603'448;

LogFormat compile(std::string_view text) {
  std::string error;
  auto nodes = conf::parse_log_format(text, error);
  INFO(error);
  REQUIRE(nodes);
  return {std::string(text), *nodes};
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto nodes = conf::parse_log_format(text, error);
  CHECK_FALSE(nodes);
  return error;
}

AccessRecord tls_session() {
  setenv("TZ", "UTC", 1);
  tzset();
  AccessRecord r;
  r.client_addr = "127.0.0.1";
  r.client_port = 51234;
  r.accept_unix_ms = kAccept;
  r.frontend = "mqtt~";
  r.frontend_name = "mqtt";
  r.frontend_addr = "127.0.0.2";
  r.frontend_port = 8883;
  r.backend = "brokers";
  r.server = "b1";
  r.server_addr = "10.0.0.5";
  r.server_port = 1883;
  r.queue_ms = 0;
  r.connect_ms = 1;
  r.handshake_ms = 7;
  r.total_ms = 5012;
  r.bytes_to_client = 342;
  r.bytes_to_server = 99;
  r.termination[0] = 'C';
  r.termination[1] = 'D';
  r.actconn = 3;
  r.feconn = 2;
  r.beconn = 1;
  r.srvconn = 4;
  r.retries = 2;
  r.srv_queue = 5;
  r.backend_queue = 6;
  r.unique_id = 42;
  r.pid = 6781;
  r.ssl_version = "TLSv1.3";
  r.ssl_cipher = "TLS_AES_256_GCM_SHA384";
  return r;
}

TEST_CASE("the tcplog log-format gives the tcplog line byte for byte", "[log]") {
  AccessRecord r = tls_session();
  CHECK(format_access_line(compile(conf::kTcplogFormat), r) == format_tcplog(r));
  r.server = {};
  r.redispatched = true;
  CHECK(format_access_line(compile(conf::kTcplogFormat), r) == format_tcplog(r));
  CHECK(format_access_line(LogFormat(), r) == format_tcplog(r));
}

TEST_CASE("every variable of a TCP session is formatted", "[log]") {
  const AccessRecord r = tls_session();
  struct Case {
    std::string_view format, expected;
  };
  const Case cases[] = {
      {"%ci", "127.0.0.1"},
      {"%cp", "51234"},
      {"%t", "22/Nov/2026:14:26:43.448"},
      {"%f", "mqtt"},
      {"%ft", "mqtt~"},
      {"%fi", "127.0.0.2"},
      {"%fp", "8883"},
      {"%b", "brokers"},
      {"%s", "b1"},
      {"%si", "10.0.0.5"},
      {"%sp", "1883"},
      {"%Tw", "0"},
      {"%Tc", "1"},
      {"%Th", "7"},
      {"%Tt", "5012"},
      {"%B", "342"},
      {"%U", "99"},
      {"%ts", "CD"},
      {"%ac", "3"},
      {"%fc", "2"},
      {"%bc", "1"},
      {"%sc", "4"},
      {"%rc", "2"},
      {"%sq", "5"},
      {"%bq", "6"},
      {"%ID", "42"},
      {"%pid", "6781"},
      {"%sslv", "TLSv1.3"},
      {"%sslc", "TLS_AES_256_GCM_SHA384"},
      {"%mqttcid", "-"},
      {"%mqttuser", "-"},
      {"%mqttver", "-"},
  };
  for (const auto& c : cases) {
    INFO(c.format);
    CHECK(format_access_line(compile(c.format), r) == c.expected);
  }
}

TEST_CASE("a plain session without a server prints dashes where HAProxy does", "[log]") {
  AccessRecord r = tls_session();
  r.server = {};
  r.server_addr = std::string_view();
  r.ssl_version = {};
  r.ssl_cipher = {};
  r.handshake_ms = -1;
  r.redispatched = true;
  r.mqtt_client_id = "dev-1";
  r.mqtt_username = "alice";
  r.mqtt_version = 5;
  CHECK(format_access_line(compile("%s %si:%sp %sslv %sslc %Th %rc %mqttcid %mqttuser %mqttver"),
                           r) == "<NOSRV> -:- - - 0 +2 dev-1 alice 5");
}

TEST_CASE("log-format literals: text between variables, %% and merged spaces", "[log]") {
  const AccessRecord r = tls_session();
  CHECK(format_access_line(compile("from=%ci:%cp  to   %b/%s 100%% done"), r) ==
        "from=127.0.0.1:51234 to brokers/b1 100% done");
  CHECK(format_access_line(compile("[%ts]"), r) == "[CD]");
  // HAProxy drops a '%' before a character that starts no variable.
  CHECK(format_access_line(compile("a%-b"), r) == "a-b");
}

TEST_CASE("the Q flag quotes strings, and %o applies it to what follows", "[log]") {
  AccessRecord r = tls_session();
  r.ssl_version = {};
  CHECK(format_access_line(compile("%{+Q}ci %cp %{+Q}sslv %{+Q}B"), r) ==
        "\"127.0.0.1\" 51234 \"\" 342");
  CHECK(format_access_line(compile("%{+Q}o %ft %b %{-Q}s %Tt"), r) ==
        " \"mqtt~\" \"brokers\" b1 5012");
}

TEST_CASE("log-format errors are HAProxy's", "[log]") {
  CHECK(parse_error("%ci %foo") ==
        "no such format variable 'foo'. If you wanted to emit the '%' character verbatim, "
        "you need to use '%%'");
  CHECK(parse_error("%r") == "format variable 'r' is reserved for HTTP mode");
  CHECK(parse_error("%ms") == "format variable 'ms' is not supported yet by mqlb");
  CHECK(parse_error("100%") == "truncated line after '%'");
  CHECK(parse_error("%{+Q") == "truncated line after '+Q'");
  CHECK(parse_error("%{+Q} x") == "parse argument modifier without variable name near '%{+Q}'");
  CHECK(parse_error("%[src]") == "sample expressions ('%[...]') are not supported yet by mqlb");
  CHECK(parse_error("%{+E}ci") == "the 'E' flag ('%{+E}') is not supported yet by mqlb");
  CHECK(parse_error("50%1").starts_with("unexpected variable name near '1' at position 3"));
}

TEST_CASE("a compiled format knows which variables it uses", "[log]") {
  LogFormat f = compile("%ci %fi");
  CHECK(f.uses(LogVar::FrontendIp));
  CHECK_FALSE(f.uses(LogVar::UniqueId));
  CHECK(conf::log_var_name(LogVar::MqttClientId) == "mqttcid");
}

// ---- loaders ------------------------------------------------------------------

std::optional<std::string> no_env(std::string_view) {
  return std::nullopt;
}

using conf::checks::listing;

conf::LoadResult load_cfg(const std::string& text) {
  return conf::load_haproxy(text, "haproxy.cfg", no_env);
}

conf::Config cfg_loads(const std::string& text) {
  conf::LoadResult r = load_cfg(text);
  INFO(text << listing(r));
  REQUIRE(r.errors.empty());
  REQUIRE(r.config);
  return *r.config;
}

bool has_error(const conf::LoadResult& r, const std::string& file, int line,
               const std::string& message) {
  return std::any_of(r.errors.begin(), r.errors.end(), [&](const conf::Error& e) {
    return e.file == file && e.line == line && e.message == message;
  });
}

// `defaults` (lines 1-6, with `extra` from line 6), frontend f from line
// 6 + its lines, backend b after it.
std::string cfg(const std::string& defaults_extra, const std::string& frontend_extra) {
  return "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 50s\n"
         "  timeout server 50s\n" +
         defaults_extra + "frontend f\n  bind 127.0.0.1:1883\n  default_backend b\n" +
         frontend_extra + "backend b\n  server s1 127.0.0.1:1884\n";
}

TEST_CASE("haproxy.cfg log-format in a frontend is compiled at load", "[log]") {
  conf::Config c = cfg_loads(cfg("", "  log-format \"%ci %b/%s %mqttcid\"\n"));
  REQUIRE(c.frontends.size() == 1);
  const LogFormat& f = c.frontends[0].log_format;
  CHECK(f.text == "%ci %b/%s %mqttcid");
  CHECK(f.uses(LogVar::MqttClientId));
  // Escaped spaces, as HAProxy's own examples write it.
  CHECK(cfg_loads(cfg("", "  log-format %ci\\ %cp\n")).frontends[0].log_format.text == "%ci %cp");
}

TEST_CASE("haproxy.cfg log-format comes from defaults and option tcplog sets tcplog back",
          "[log]") {
  conf::Config c = cfg_loads(cfg("  log-format %ci\n", ""));
  CHECK(c.frontends[0].log_format.text == "%ci");
  c = cfg_loads(cfg("  log-format %ci\n", "  option tcplog\n"));
  CHECK(c.frontends[0].log_format.empty());
  c = cfg_loads(cfg("", ""));
  CHECK(c.frontends[0].log_format.empty());
  // A listen section too.
  c = cfg_loads(
      "defaults\n  timeout connect 5s\n  timeout client 5s\n  timeout server 5s\n"
      "listen l\n  bind 127.0.0.1:1883\n  log-format \"%ci %s\"\n  server s 127.0.0.1:1\n");
  CHECK(c.frontends[0].log_format.text == "%ci %s");
}

TEST_CASE("haproxy.cfg log-format errors name the line the format was written on", "[log]") {
  // Line 9: the frontend's log-format.
  conf::LoadResult r = load_cfg(cfg("", "  log-format \"%ci %nope\"\n"));
  INFO(listing(r));
  CHECK_FALSE(r.config);
  CHECK(has_error(r, "haproxy.cfg", 9,
                  "failed to parse log-format : no such format variable 'nope'. If you wanted "
                  "to emit the '%' character verbatim, you need to use '%%'."));
  // Line 6: in defaults, reported for the frontend that uses it.
  r = load_cfg(cfg("  log-format %HM\n", ""));
  CHECK(has_error(r, "haproxy.cfg", 6,
                  "failed to parse log-format : format variable 'HM' is reserved for HTTP "
                  "mode."));
  r = load_cfg(cfg("", "  log-format %ci %cp\n"));
  CHECK(has_error(r, "haproxy.cfg", 9,
                  "log-format expects only one argument, don't forget to escape spaces!"));
  r = load_cfg(cfg("", "  log-format\n"));
  CHECK(has_error(r, "haproxy.cfg", 9, "log-format expects an argument."));
}

TEST_CASE("haproxy.cfg log-format warnings: backends, and overriding in defaults", "[log]") {
  conf::LoadResult r = load_cfg(cfg("  option tcplog\n  log-format %ci\n", ""));
  INFO(listing(r));
  REQUIRE(r.config);
  CHECK(std::any_of(r.warnings.begin(), r.warnings.end(), [](const conf::Error& w) {
    return w.line == 7 &&
           w.message == "'log-format' overrides previous 'option tcplog' in 'defaults' section.";
  }));
  r = load_cfg(cfg("", "") + "  log-format %ci\n");
  REQUIRE(r.config);
  CHECK(std::any_of(r.warnings.begin(), r.warnings.end(), [](const conf::Error& w) {
    return w.message == "backend 'b' : 'log-format' directive is ignored in backends.";
  }));
}

nlohmann::json json_doc() {
  return nlohmann::json::parse(R"({
    "defaults": {"log_format": "%ci %b"},
    "frontends": [
      {"name": "a", "bind": ["127.0.0.1:1883"], "default_backend": "b"},
      {"name": "c", "bind": ["127.0.0.1:1884"], "default_backend": "b",
       "log_format": "%ci:%cp %{+Q}mqttuser %%"}
    ],
    "backends": [{"name": "b", "servers": [{"name": "s", "address": "127.0.0.1", "port": 1885}]}]
  })");
}

TEST_CASE("JSON log_format in defaults and frontends, and its errors with their paths", "[log]") {
  conf::LoadResult r = conf::load_json(json_doc().dump(), "mqlb.json");
  INFO(listing(r));
  REQUIRE(r.config);
  CHECK(r.config->frontends[0].log_format.text == "%ci %b");
  CHECK(r.config->frontends[1].log_format.text == "%ci:%cp %{+Q}mqttuser %%");

  nlohmann::json bad = json_doc();
  bad["frontends"][1]["log_format"] = "%ci %zz";
  r = conf::load_json(bad.dump(), "mqlb.json");
  CHECK_FALSE(r.config);
  CHECK(std::any_of(r.errors.begin(), r.errors.end(), [](const conf::Error& e) {
    return e.field == "frontends[1].log_format" &&
           e.message.starts_with("failed to parse log-format : no such format variable 'zz'");
  }));
  bad = json_doc();
  bad["defaults"]["log_format"] = 7;
  r = conf::load_json(bad.dump(), "mqlb.json");
  CHECK_FALSE(r.config);
  CHECK(std::any_of(r.errors.begin(), r.errors.end(),
                    [](const conf::Error& e) { return e.field == "defaults.log_format"; }));
}

TEST_CASE("a dumped config keeps log_format and loads back to the same dump", "[log]") {
  conf::Config from_cfg = cfg_loads(cfg("", "  log-format \"%ci %{+Q}b\"\n"));
  const std::string dump = conf::dump_json(from_cfg);
  CHECK(dump.find("\"log_format\": \"%ci %{+Q}b\"") != std::string::npos);
  conf::LoadResult again = conf::load_json(dump, "dump.json");
  INFO(listing(again));
  REQUIRE(again.config);
  CHECK(conf::dump_json(*again.config) == dump);
  CHECK(again.config->frontends[0].log_format == from_cfg.frontends[0].log_format);
  // The default format stays out of the dump, as before.
  CHECK(conf::dump_json(cfg_loads(cfg("", ""))).find("log_format") == std::string::npos);
}

TEST_CASE("option dontlognull in haproxy.cfg and JSON, and through --dump-config", "[log]") {
  CHECK(cfg_loads(cfg("  option dontlognull\n", "")).frontends[0].dontlognull);
  CHECK_FALSE(cfg_loads(cfg("  option dontlognull\n", "  no option dontlognull\n"))
                  .frontends[0]
                  .dontlognull);
  CHECK_FALSE(cfg_loads(cfg("", "")).frontends[0].dontlognull);
  conf::LoadResult r = load_cfg(cfg("", "") + "  option dontlognull\n");
  REQUIRE(r.config);
  CHECK(std::any_of(r.warnings.begin(), r.warnings.end(), [](const conf::Error& w) {
    return w.message ==
           "'option dontlognull' ignored because backend 'b' has no frontend capability.";
  }));

  nlohmann::json doc = json_doc();
  doc["defaults"]["dontlognull"] = true;
  doc["frontends"][1]["dontlognull"] = false;
  r = conf::load_json(doc.dump(), "mqlb.json");
  INFO(listing(r));
  REQUIRE(r.config);
  CHECK(r.config->frontends[0].dontlognull);
  CHECK_FALSE(r.config->frontends[1].dontlognull);
  const std::string dump = conf::dump_json(*r.config);
  conf::LoadResult again = conf::load_json(dump, "dump.json");
  REQUIRE(again.config);
  CHECK(again.config->frontends[0].dontlognull);
  CHECK(conf::dump_json(*again.config) == dump);

  doc["frontends"][0]["dontlognull"] = "yes";
  r = conf::load_json(doc.dump(), "mqlb.json");
  CHECK(std::any_of(r.errors.begin(), r.errors.end(),
                    [](const conf::Error& e) { return e.field == "frontends[0].dontlognull"; }));
}

}  // namespace
}  // namespace mqlb::lb
