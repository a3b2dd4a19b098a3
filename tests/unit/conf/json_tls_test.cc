// load_json: TLS bind and server options (HAProxy's names) and the
// handshake timeout.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "conf/json_loader.h"
#include "load_checks.h"

namespace mqlb::conf {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

Json doc_with_binds(Json binds) {
  return {{"frontends", {{{"name", "f"}, {"bind", std::move(binds)}, {"default_backend", "b"}}}},
          {"backends",
           {{{"name", "b"},
             {"servers", {{{"name", "s0"}, {"address", "127.0.0.1"}, {"port", 1884}}}}}}}};
}

using checks::loads;
using checks::refused_with;

TEST_CASE("a plain and a TLS bind side by side, with every TLS option", "[json_loader][tls]") {
  Json tls = {{"address", "127.0.0.1:8883"},
              {"name", "tls"},
              {"ssl", true},
              {"crt", {"/etc/mqlb/a.pem", "/etc/mqlb/certs"}},
              {"ca-file", "/etc/mqlb/ca.pem"},
              {"verify", "optional"},
              {"crl-file", "/etc/mqlb/crl.pem"},
              {"ssl-min-ver", "TLSv1.3"},
              {"ssl-max-ver", "TLSv1.3"},
              {"ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"},
              {"ciphersuites", "TLS_AES_128_GCM_SHA256"},
              {"curves", "X25519:P-256"},
              {"alpn", "mqtt,x-other"},
              {"prefer-client-ciphers", true},
              {"tls-ticket-keys", "/etc/mqlb/tickets"}};
  Config c = loads(doc_with_binds({"127.0.0.1:1883", tls}));
  const auto& binds = c.frontends[0].binds;
  REQUIRE(binds.size() == 2);
  CHECK_FALSE(binds[0].tls.enabled);
  CHECK(binds[0].name == "1");  // HAProxy's name for an unnamed bind: its position
  const Bind& b = binds[1];
  CHECK(b.host == "127.0.0.1");
  CHECK(b.port == 8883);
  CHECK(b.name == "tls");
  CHECK(b.tls.enabled);
  CHECK(b.tls.crt == std::vector<std::string>{"/etc/mqlb/a.pem", "/etc/mqlb/certs"});
  CHECK(b.tls.ca_file == "/etc/mqlb/ca.pem");
  CHECK(b.tls.verify == Verify::Optional);
  CHECK(b.tls.crl_file == "/etc/mqlb/crl.pem");
  CHECK(b.tls.min_ver == "TLSv1.3");
  CHECK(b.tls.max_ver == "TLSv1.3");
  CHECK(b.tls.ciphers == "ECDHE-ECDSA-AES128-GCM-SHA256");
  CHECK(b.tls.ciphersuites == "TLS_AES_128_GCM_SHA256");
  CHECK(b.tls.curves == "X25519:P-256");
  CHECK(b.tls.alpn == std::vector<std::string>{"mqtt", "x-other"});
  CHECK(b.tls.prefer_client_ciphers);
  CHECK_FALSE(b.tls.no_tls_tickets);
  CHECK(b.tls.tls_ticket_keys == "/etc/mqlb/tickets");
}

TEST_CASE("a bind's name may hold spaces, as HAProxy's 'bind ... name' may", "[json_loader][tls]") {
  Config c = loads(doc_with_binds({{{"address", "127.0.0.1:1883"}, {"name", "plain one"}}}));
  CHECK(c.frontends[0].binds[0].name == "plain one");
  checks::refused_with(doc_with_binds({{{"address", "127.0.0.1:1883"}, {"name", ""}}}),
                       "frontends[0].bind[0].name", "must be a non-empty string, got \"\"");
}

TEST_CASE("a TLS bind gets HAProxy's defaults", "[json_loader][tls]") {
  Config c = loads(doc_with_binds(
      {{{"address", "127.0.0.1:8883"}, {"ssl", true}, {"crt", "/etc/haproxy/haproxy.pem"}}}));
  const BindTls& t = c.frontends[0].binds[0].tls;
  CHECK(t.crt == std::vector<std::string>{"/etc/haproxy/haproxy.pem"});
  CHECK(t.verify == Verify::None);
  CHECK(t.min_ver == "TLSv1.2");
  CHECK(t.max_ver.empty());
  CHECK_FALSE(t.prefer_client_ciphers);
  CHECK(t.alpn.empty());
  CHECK_FALSE(c.frontends[0].timeouts.client_hs);  // 5 s where it is used
}

TEST_CASE("client_hs is a frontend timeout inherited from defaults", "[json_loader][tls]") {
  Json doc = doc_with_binds({"127.0.0.1:1883"});
  doc["defaults"] = {{"timeouts", {{"client_hs", "2s"}}}};
  CHECK(loads(doc).frontends[0].timeouts.client_hs == 2s);
  doc["frontends"][0]["timeouts"] = {{"client_hs", 0}};
  CHECK_FALSE(loads(doc).frontends[0].timeouts.client_hs);
}

TEST_CASE("a stdout log target may have a level of its own", "[json_loader]") {
  Json doc = doc_with_binds({"127.0.0.1:1883"});
  doc["frontends"][0]["log"] = {{{"address", "stdout"}, {"level", "debug"}}, "stderr"};
  Config c = loads(doc);
  const auto& log = c.frontends[0].log;
  REQUIRE(log.size() == 2);
  CHECK(log[0].kind == LogTarget::Kind::Stdout);
  CHECK(log[0].level == 7);
  CHECK(log[1].kind == LogTarget::Kind::Stderr);
  CHECK(log[1].level == 6);  // info: access lines, not debug lines
}

TEST_CASE("server TLS options load, verify required by default", "[json_loader][tls]") {
  Json doc = doc_with_binds({"127.0.0.1:1883"});
  Json& s = doc["backends"][0]["servers"][0];
  s["ssl"] = true;
  s["ca-file"] = "/etc/mqlb/brokers-ca.pem";
  s["sni"] = "broker1.example";
  s["crt"] = "/etc/mqlb/client.pem";
  Config c = loads(doc);
  const ServerTls& t = c.backends[0].servers[0].tls;
  CHECK(t.enabled);
  CHECK(t.verify);
  CHECK(t.ca_file == "/etc/mqlb/brokers-ca.pem");
  CHECK(t.sni == "broker1.example");
  CHECK(t.crt == "/etc/mqlb/client.pem");
  s.erase("ca-file");
  s["verify"] = "none";
  CHECK_FALSE(loads(doc).backends[0].servers[0].tls.verify);
}

TEST_CASE("bad TLS options are refused by field", "[json_loader][tls][errors]") {
  auto bind = [](Json extra) {
    Json b = {{"address", "127.0.0.1:8883"}, {"ssl", true}, {"crt", "/x.pem"}};
    b.update(extra);
    return doc_with_binds({b});
  };
  refused_with(bind({{"ssl-min-ver", "TLSv1.4"}}), "frontends[0].bind[0].ssl-min-ver",
               "unknown TLS version 'TLSv1.4' (TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3)");
  refused_with(bind({{"ssl-min-ver", "TLSv1.3"}, {"ssl-max-ver", "TLSv1.2"}}),
               "frontends[0].bind[0].ssl-max-ver", "is below ssl-min-ver (TLSv1.3)");
  refused_with(bind({{"verify", "sometimes"}}), "frontends[0].bind[0].verify",
               "must be \"none\", \"optional\" or \"required\", got 'sometimes'");
  refused_with(bind({{"verify", "required"}}), "frontends[0].bind[0].ca-file",
               "is required to verify client certificates");
  refused_with(bind({{"alpn", "mqtt,,x"}}), "frontends[0].bind[0].alpn",
               "must be a comma-separated list");
  refused_with(bind({{"no-tls-tickets", true}, {"tls-ticket-keys", "/k"}}),
               "frontends[0].bind[0].tls-ticket-keys", "makes no sense");
  refused_with(bind({{"sslv3", true}}), "frontends[0].bind[0].sslv3", "unknown key");
  refused_with(doc_with_binds({{{"address", "127.0.0.1:8883"}, {"ssl", true}}}),
               "frontends[0].bind[0].crt", "is required with \"ssl\": true");
  refused_with(doc_with_binds({{{"address", "127.0.0.1:8883"}, {"crt", "/x.pem"}}}),
               "frontends[0].bind[0].crt", "needs \"ssl\": true");
  refused_with(doc_with_binds({{{"ssl", true}, {"crt", "/x.pem"}}}), "frontends[0].bind[0].address",
               "is required");
  refused_with(doc_with_binds({{{"address", "localhost:8883"}}}), "frontends[0].bind[0].address",
               "must be an IP address");
  refused_with(doc_with_binds({42}), "frontends[0].bind[0]", "must be \"ADDRESS:PORT\" or");

  Json doc = doc_with_binds({"127.0.0.1:1883"});
  Json& s = doc["backends"][0]["servers"][0];
  s["ssl"] = true;
  refused_with(doc, "backends[0].servers[0].ca-file",
               "is required to verify the server's certificate (or set \"verify\": \"none\")");
  s["verify"] = "optional";
  refused_with(doc, "backends[0].servers[0].verify", "must be \"none\" or \"required\"");
  s.erase("ssl");
  s.erase("verify");
  s["sni"] = "x";
  refused_with(doc, "backends[0].servers[0].sni", "needs \"ssl\": true");
}

}  // namespace
}  // namespace mqlb::conf
