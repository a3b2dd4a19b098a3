// load_haproxy: a haproxy.cfg into the Config the JSON loader produces, or
// every error with its line.
#include "conf/haproxy_loader.h"

#include <catch2/catch.hpp>

#include <functional>
#include <sstream>
#include "conf/json_dump.h"
#include "conf/json_loader.h"
#include "tests/data/operators_cfg.h"

namespace mqlb::conf {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

constexpr const char* kFile = "haproxy.cfg";

constexpr const char* kProduction = mqlb::test::kOperatorsProduction;

constexpr const char* kLab = mqlb::test::kOperatorsLab;

// Lines 1-10; a line appended lands in backend b at line 11.
constexpr const char* kBase =
    "defaults\n"
    "  mode tcp\n"
    "  timeout connect 5s\n"
    "  timeout client 50s\n"
    "  timeout server 50s\n"
    "frontend f\n"
    "  bind 127.0.0.1:1883\n"
    "  default_backend b\n"
    "backend b\n"
    "  server s1 127.0.0.1:1884\n";

// `lines` in frontend f, from line 9.
std::string in_frontend(const std::string& lines) {
  return "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 50s\n  timeout server 50s\n"
         "frontend f\n  bind 127.0.0.1:1883\n  default_backend b\n" +
         lines + "backend b\n  server s1 127.0.0.1:1884\n";
}

// `lines` in the global section, from line 2.
std::string in_global(const std::string& lines) {
  return "global\n" + lines + kBase;
}

std::optional<std::string> no_env(std::string_view) {
  return std::nullopt;
}

LoadResult load(const std::string& text) {
  return load_haproxy(text, kFile, no_env);
}

std::string listing(const LoadResult& r) {
  std::ostringstream out;
  for (const auto& e : r.errors)
    out << "\n  error: " << e.to_string();
  for (const auto& w : r.warnings)
    out << "\n  warning: " << w.to_string();
  return out.str();
}

Config loads(const std::string& text) {
  LoadResult r = load(text);
  INFO(text << listing(r));
  REQUIRE(r.errors.empty());
  REQUIRE(r.config);
  return *r.config;
}

// Refused, among others with `message` at `line`.
void refused_with(const std::string& text, int line, const std::string& message) {
  LoadResult r = load(text);
  INFO(text << listing(r));
  CHECK_FALSE(r.config);
  bool found = std::any_of(r.errors.begin(), r.errors.end(), [&](const Error& e) {
    return e.file == kFile && e.line == line && e.message == message;
  });
  INFO("wanted: " << kFile << ":" << line << ": " << message);
  CHECK(found);
}

bool warns(const LoadResult& r, int line, const std::string& start) {
  return std::any_of(r.warnings.begin(), r.warnings.end(), [&](const Error& w) {
    return w.line == line && w.message.compare(0, start.size(), start) == 0;
  });
}

TEST_CASE("haproxy loader reads the production file as HAProxy runs it", "[haproxy]") {
  LoadResult r = load(kProduction);
  INFO(listing(r));
  REQUIRE(r.config);
  CHECK(r.warnings.empty());
  const Config& c = *r.config;
  CHECK(c.file == kFile);
  REQUIRE(c.frontends.size() == 1);
  const Frontend& f = c.frontends[0];
  CHECK(f.name == "mqtt");
  REQUIRE(f.binds.size() == 1);
  CHECK(f.binds[0].host == "192.168.34.239");
  CHECK(f.binds[0].port == 8883);
  CHECK(f.binds[0].name == "1");
  CHECK(f.binds[0].tls.enabled);
  CHECK(f.binds[0].tls.crt == std::vector<std::string>{"/etc/haproxy/haproxy.pem"});
  CHECK(f.binds[0].tls.verify == Verify::None);
  CHECK(f.default_backend == "mqtt");
  CHECK(f.maxconn == 5000);
  CHECK(c.global.maxconn >= 5000);  // not cut by a global maxconn the file does not write
  CHECK(f.timeouts.client == 50s);
  REQUIRE(f.log.size() == 1);
  CHECK(f.log[0].kind == LogTarget::Kind::Syslog);
  CHECK(f.log[0].host == "127.0.0.1");
  CHECK(f.log[0].port == 514);
  CHECK(f.log[0].facility == 16);
  REQUIRE(c.backends.size() == 1);
  const Backend& b = c.backends[0];
  CHECK(b.name == "mqtt");
  CHECK(b.balance == Balance::RoundRobin);
  CHECK(b.timeouts.connect == 5s);
  CHECK(b.timeouts.server == 50s);
  CHECK(b.timeouts.queue == 5s);  // HAProxy: the connect timeout when unset
  REQUIRE(b.servers.size() == 2);
  CHECK(b.servers[0].name == "192.168.34.240");
  CHECK(b.servers[0].address == "192.168.34.240");
  CHECK(b.servers[0].port == 1883);
  CHECK(b.servers[0].check.enabled);
  CHECK(b.servers[1].address == "192.168.34.241");
}

TEST_CASE("haproxy loader reads the lab file with host names kept for the runtime", "[haproxy]") {
  Config c = loads(kLab);
  REQUIRE(c.frontends.size() == 1);
  CHECK(c.frontends[0].binds[0].to_string() == "0.0.0.0:1883");
  CHECK_FALSE(c.frontends[0].binds[0].tls.enabled);
  REQUIRE(c.backends.size() == 1);
  REQUIRE(c.backends[0].servers.size() == 2);
  CHECK(c.backends[0].servers[0].address == "slave01.mydomain");
  CHECK(c.backends[0].servers[1].address == "slave02.mydomain");
  CHECK(c.frontends[0].maxconn == c.global.maxconn);
}

struct Row {
  std::string text;
  std::function<bool(const Config&)> holds;
};

const Backend& backend(const Config& c) {
  return c.backends.at(0);
}
const Server& added(const Config& c) {
  return c.backends.at(0).servers.at(1);
}
const Frontend& frontend(const Config& c) {
  return c.frontends.at(0);
}
const BindTls& bind_tls(const Config& c) {
  return c.frontends.at(0).binds.at(1).tls;
}

std::string server(const std::string& options) {
  return std::string(kBase) + "  server s2 10.0.0.6:1885 " + options + "\n";
}
std::string ssl_bind(const std::string& options) {
  return in_frontend("  bind 127.0.0.1:8883 ssl crt /etc/mqlb/a.pem " + options + "\n");
}

TEST_CASE("haproxy loader maps each keyword onto its model field", "[haproxy]") {
  const std::vector<Row> rows = {
      // global
      {in_global("  maxconn 20000\n"), [](auto& c) { return c.global.maxconn == 20000; }},
      {in_global("  nbthread 4\n"), [](auto& c) { return c.global.workers == 4; }},
      {in_global("  hard-stop-after 2m\n"),
       [](auto& c) { return c.global.hard_stop_after == 2min; }},
      {in_global("  tune.bufsize 32768\n"), [](auto& c) { return c.global.tune.bufsize == 32768; }},
      {in_global("  log 10.0.0.9:1514 local3 notice\n"),
       [](auto& c) {
         return c.global.log.size() == 1 && c.global.log[0].host == "10.0.0.9" &&
                c.global.log[0].port == 1514 && c.global.log[0].facility == 19 &&
                c.global.log[0].level == 5;
       }},
      {in_global("  log stdout local0\n  log stderr local1 err\n"),
       [](auto& c) {
         return c.global.log.size() == 2 && c.global.log[0].kind == LogTarget::Kind::Stdout &&
                c.global.log[1].kind == LogTarget::Kind::Stderr && c.global.log[1].level == 3;
       }},
      {in_global("  log stdout format raw local0\n  log 127.0.0.1 format rfc5424 local1\n"),
       [](auto& c) {
         return c.global.log[0].format == LogTarget::Format::Raw &&
                c.global.log[1].format == LogTarget::Format::Rfc5424;
       }},
      // No format: HAProxy's "local" header, on a stream too.
      {in_global("  log stdout local0\n"),
       [](auto& c) { return c.global.log[0].format == LogTarget::Format::Local; }},
      // ... or rfc3164 once a host name is sent, wherever the line is.
      {in_global("  log 127.0.0.1 local0\n  log-send-hostname\n"),
       [](auto& c) {
         return c.global.log_send_hostname == "" &&
                c.global.log[0].format == LogTarget::Format::Rfc3164 && frontend(c).log.empty();
       }},
      {in_global("  log 127.0.0.1 len 65535 format raw local0\n"),
       [](auto& c) {
         return c.global.log[0].len == 65535 && c.global.log[0].format == LogTarget::Format::Raw;
       }},
      {in_global("  log 127.0.0.1 local0\n"), [](auto& c) { return c.global.log[0].len == 1024; }},
      {in_global("  log-send-hostname edge-1\n"),
       [](auto& c) { return c.global.log_send_hostname == "edge-1"; }},
      {in_global("  log-tag mqtt-lb\n"), [](auto& c) { return c.global.log_tag == "mqtt-lb"; }},
      // frontend
      {in_frontend("  log-tag front\n"), [](auto& c) { return frontend(c).log_tag == "front"; }},
      {in_frontend("  maxconn 100\n"), [](auto& c) { return frontend(c).maxconn == 100; }},
      {in_frontend("  timeout client 1m\n"),
       [](auto& c) { return frontend(c).timeouts.client == 1min; }},
      {in_frontend("  timeout client-fin 1s\n"),
       [](auto& c) { return frontend(c).timeouts.client_fin == 1s; }},
      {in_frontend("  timeout client-hs 3s\n"),
       [](auto& c) { return frontend(c).timeouts.client_hs == 3s; }},
      {in_frontend("  timeout client 0\n"),
       [](auto& c) { return !frontend(c).timeouts.client; }},  // 0: no timeout
      {in_frontend("  bind 127.0.0.1:1884 name second\n"),
       [](auto& c) {
         return frontend(c).binds.size() == 2 && frontend(c).binds[0].name == "1" &&
                frontend(c).binds[1].name == "second";
       }},
      {in_frontend("  bind [::1]:1884,127.0.0.2:1884\n"),
       [](auto& c) {
         return frontend(c).binds.size() == 3 && frontend(c).binds[1].host == "::1" &&
                frontend(c).binds[2].host == "127.0.0.2";
       }},
      {in_frontend("  bind :::1884\n"),
       [](auto& c) { return frontend(c).binds[1].to_string() == "[::]:1884"; }},
      {in_frontend("  bind *:1884\n"),
       [](auto& c) { return frontend(c).binds[1].to_string() == "0.0.0.0:1884"; }},
      {in_frontend("  log 10.0.0.9 daemon\n"),
       [](auto& c) { return frontend(c).log.size() == 1 && frontend(c).log[0].facility == 3; }},
      // bind TLS options
      {ssl_bind("crt /etc/mqlb/b.pem"),
       [](auto& c) {
         return bind_tls(c).enabled &&
                bind_tls(c).crt == std::vector<std::string>{"/etc/mqlb/a.pem", "/etc/mqlb/b.pem"};
       }},
      {ssl_bind("ca-file /etc/ca.pem verify required"),
       [](auto& c) {
         return bind_tls(c).ca_file == "/etc/ca.pem" && bind_tls(c).verify == Verify::Required;
       }},
      {ssl_bind("ca-file /etc/ca.pem verify optional crl-file /etc/crl.pem"),
       [](auto& c) {
         return bind_tls(c).verify == Verify::Optional && bind_tls(c).crl_file == "/etc/crl.pem";
       }},
      {ssl_bind("ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3"),
       [](auto& c) {
         return bind_tls(c).min_ver == "TLSv1.3" && bind_tls(c).max_ver == "TLSv1.3";
       }},
      {ssl_bind("ciphers ECDHE-RSA-AES128-GCM-SHA256 ciphersuites TLS_AES_128_GCM_SHA256"),
       [](auto& c) {
         return bind_tls(c).ciphers == "ECDHE-RSA-AES128-GCM-SHA256" &&
                bind_tls(c).ciphersuites == "TLS_AES_128_GCM_SHA256";
       }},
      {ssl_bind("curves X25519:P-256"),
       [](auto& c) { return bind_tls(c).curves == "X25519:P-256"; }},
      {ssl_bind("alpn mqtt,x-amzn-mqtt-ca"),
       [](auto& c) {
         return bind_tls(c).alpn == std::vector<std::string>{"mqtt", "x-amzn-mqtt-ca"};
       }},
      {ssl_bind("no-tls-tickets prefer-client-ciphers"),
       [](auto& c) { return bind_tls(c).no_tls_tickets && bind_tls(c).prefer_client_ciphers; }},
      {ssl_bind("tls-ticket-keys /etc/keys"),
       [](auto& c) { return bind_tls(c).tls_ticket_keys == "/etc/keys"; }},
      // backend
      {std::string(kBase) + "  balance leastconn\n",
       [](auto& c) { return backend(c).balance == Balance::LeastConn; }},
      {std::string(kBase) + "  balance static-rr\n",
       [](auto& c) { return backend(c).balance == Balance::StaticRr; }},
      {std::string(kBase) + "  balance source\n",
       [](auto& c) { return backend(c).balance == Balance::Source; }},
      {std::string(kBase) + "  balance source\n  hash-type consistent\n",
       [](auto& c) { return backend(c).hash_type == HashType::Consistent; }},
      {std::string(kBase) + "  hash-type consistent\n  hash-type map-based\n",
       [](auto& c) { return backend(c).hash_type == HashType::MapBased; }},
      {std::string(kBase) + "  balance first\n",
       [](auto& c) { return backend(c).balance == Balance::First; }},
      {std::string(kBase) + "  balance leastconn\n  balance\n",
       [](auto& c) { return backend(c).balance == Balance::RoundRobin; }},
      {std::string(kBase) + "  balance random\n",
       [](auto& c) { return backend(c).balance == Balance::Random; }},
      {std::string(kBase) + "  retries 5\n", [](auto& c) { return backend(c).retries == 5; }},
      {std::string(kBase) + "  option redispatch\n", [](auto& c) { return backend(c).redispatch; }},
      {std::string(kBase) + "  option allbackups\n", [](auto& c) { return backend(c).allbackups; }},
      {std::string(kBase) + "  option log-health-checks\n",
       [](auto& c) { return backend(c).check.log_health_checks; }},
      {std::string(kBase) + "  option tcp-check\n",
       [](auto& c) {
         return backend(c).check.type == BackendCheck::Type::TcpCheck &&
                backend(c).check.tcp_check == std::vector<std::string>{"connect"};
       }},
      {std::string(kBase) + "  option tcp-check\n  tcp-check connect port 1883\n"
                            "  tcp-check send-binary 101000044d5154540402003c0000\n"
                            "  tcp-check expect binary 20020000\n",
       [](auto& c) {
         return backend(c).check.tcp_check ==
                std::vector<std::string>{"connect port 1883",
                                         "send-binary 101000044d5154540402003c0000",
                                         "expect binary 20020000"};
       }},
      {std::string(kBase) + "  timeout connect 2s\n",
       [](auto& c) {
         return backend(c).timeouts.connect == 2s && backend(c).timeouts.queue == 2s;
       }},
      {std::string(kBase) + "  timeout server 1h\n",
       [](auto& c) { return backend(c).timeouts.server == 1h; }},
      {std::string(kBase) + "  timeout server-fin 500ms\n",
       [](auto& c) { return backend(c).timeouts.server_fin == 500ms; }},
      {std::string(kBase) + "  timeout tunnel 1d\n",
       [](auto& c) { return backend(c).timeouts.tunnel == 24h; }},
      {std::string(kBase) + "  timeout queue 10s\n",
       [](auto& c) { return backend(c).timeouts.queue == 10s; }},
      {std::string(kBase) + "  timeout check 1500us\n",
       [](auto& c) { return backend(c).timeouts.check == 2ms; }},  // us round up to ms
      // server options
      {server("weight 7 maxconn 30"),
       [](auto& c) { return added(c).weight == 7 && added(c).maxconn == 30; }},
      {server("backup"), [](auto& c) { return added(c).backup; }},
      {server("disabled"), [](auto& c) { return added(c).disabled; }},
      {server("check inter 3s fastinter 1s downinter 10s rise 4 fall 5"),
       [](auto& c) {
         const ServerCheck& k = added(c).check;
         return k.enabled && k.inter == 3s && k.fastinter == 1s && k.downinter == 10s &&
                k.rise == 4 && k.fall == 5;
       }},
      {server("check port 1999 addr 10.0.0.7"),
       [](auto& c) { return added(c).check.port == 1999 && added(c).check.addr == "10.0.0.7"; }},
      {server("check init-state fully-down"),
       [](auto& c) { return added(c).check.init_state == ServerCheck::InitState::FullyDown; }},
      {server("slowstart 30s"), [](auto& c) { return added(c).check.slowstart == 30s; }},
      {server("check on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions"),
       [](auto& c) {
         return added(c).check.shutdown_sessions_on_down &&
                added(c).check.shutdown_backup_sessions_on_up;
       }},
      {server("check observe layer4 error-limit 3 on-error mark-down"),
       [](auto& c) {
         return added(c).check.observe && added(c).check.error_limit == 3 &&
                added(c).check.on_error == ServerCheck::OnError::MarkDown;
       }},
      {server("check check-ssl verify none"),
       [](auto& c) { return added(c).check.ssl && !added(c).tls.enabled && !added(c).tls.verify; }},
      {server("ssl verify required ca-file /etc/ca.pem sni str(broker.example) crt /etc/c.pem"),
       [](auto& c) {
         const ServerTls& t = added(c).tls;
         return t.enabled && t.verify && t.ca_file == "/etc/ca.pem" && t.sni == "broker.example" &&
                t.crt == "/etc/c.pem";
       }},
      {std::string(kBase) + "  server s2 [::1]:1885\n",
       [](auto& c) { return added(c).address == "::1" && added(c).port == 1885; }},
      {std::string(kBase) + "  server s2 broker.local:1885\n",
       [](auto& c) { return added(c).address == "broker.local"; }},
  };
  for (const Row& row : rows) {
    Config c = loads(row.text);
    INFO(row.text);
    CHECK(row.holds(c));
  }
}

TEST_CASE("haproxy loader resolves default-server from defaults, then the backend, then the line",
          "[haproxy]") {
  Config c = loads(
      "defaults\n"
      "  default-server inter 5s rise 3 weight 2\n"
      "frontend f\n  bind 127.0.0.1:1883\n  default_backend b\n"
      "backend b\n"
      "  default-server rise 4 check\n"
      "  server s1 127.0.0.1:1884\n"
      "  server s2 127.0.0.1:1885 no-check weight 9\n");
  const Backend& b = backend(c);
  CHECK(b.servers[0].check.enabled);
  CHECK(b.servers[0].check.inter == 5s);
  CHECK(b.servers[0].check.rise == 4);
  CHECK(b.servers[0].weight == 2);
  CHECK_FALSE(b.servers[1].check.enabled);
  CHECK(b.servers[1].weight == 9);
}

TEST_CASE("haproxy loader applies each defaults section to the proxies after it", "[haproxy]") {
  Config c = loads(
      "defaults\n"
      "  mode tcp\n  timeout client 10s\n  timeout connect 1s\n  timeout server 10s\n"
      "  maxconn 100\n  retries 1\n  option redispatch\n  balance leastconn\n"
      "  hash-type consistent\n  log 10.0.0.1 local1\n"
      "frontend f1\n  bind 127.0.0.1:1883\n  default_backend b1\n"
      "backend b1\n  server s 127.0.0.1:1\n"
      // A new defaults section starts from HAProxy's values, not the previous one.
      "defaults\n"
      "  timeout client 20s\n  timeout connect 2s\n  timeout server 20s\n"
      "frontend f2\n  bind 127.0.0.1:1884\n  default_backend b2\n"
      "backend b2\n  server s 127.0.0.1:1\n");
  const Frontend& f1 = c.frontends[0];
  const Frontend& f2 = c.frontends[1];
  const Backend& b1 = c.backends[0];
  const Backend& b2 = c.backends[1];
  CHECK(f1.timeouts.client == 10s);
  CHECK(f1.maxconn == 100);
  CHECK(f1.log.size() == 1);
  CHECK(b1.retries == 1);
  CHECK(b1.redispatch);
  CHECK(b1.balance == Balance::LeastConn);
  CHECK(b1.hash_type == HashType::Consistent);
  CHECK(b1.timeouts.connect == 1s);
  CHECK(f2.timeouts.client == 20s);
  CHECK(f2.maxconn == c.global.maxconn);
  CHECK(f2.log.empty());  // HAProxy: no `log` line, no access log
  CHECK(b2.retries == 3);
  CHECK_FALSE(b2.redispatch);
  CHECK(b2.balance == Balance::RoundRobin);
  CHECK(b2.hash_type == HashType::MapBased);
  CHECK(b2.timeouts.connect == 2s);
}

TEST_CASE("haproxy loader reads named defaults and from as HAProxy 2.6 does", "[haproxy]") {
  Config c = loads(
      "defaults base\n"
      "  timeout client 10s\n  timeout connect 1s\n  timeout server 10s\n  retries 1\n"
      "defaults tls from base\n"
      "  timeout client 30s\n"
      "defaults last\n"
      "  timeout client 5s\n  timeout connect 5s\n  timeout server 5s\n"
      "frontend f1 from base\n  bind 127.0.0.1:1883\n  default_backend b1\n"
      "frontend f2 from tls\n  bind 127.0.0.1:1884\n  default_backend b1\n"
      "frontend f3\n  bind 127.0.0.1:1885\n  default_backend b2\n"
      "backend b1 from tls\n  server s 127.0.0.1:1\n"
      "backend b2\n  server s 127.0.0.1:1\n");
  CHECK(c.frontends[0].timeouts.client == 10s);
  CHECK(c.frontends[1].timeouts.client == 30s);  // its own, over base's
  CHECK(c.frontends[2].timeouts.client == 5s);   // the last defaults section
  CHECK(c.backends[0].retries == 1);             // from base, through tls
  CHECK(c.backends[0].timeouts.connect == 1s);
  CHECK(c.backends[1].retries == 3);
}

TEST_CASE("haproxy loader replaces the tcp-check rules of defaults with a backend's own",
          "[haproxy]") {
  Config c = loads(
      "defaults\n  option tcp-check\n  tcp-check connect port 1\n"
      "frontend f\n  bind 127.0.0.1:1883\n  default_backend b\n"
      "backend b\n  tcp-check connect port 2\n  tcp-check expect string ok\n"
      "  server s 127.0.0.1:1 check\n"
      "backend c\n  server s 127.0.0.1:1 check\n");
  CHECK(c.backends[0].check.tcp_check ==
        std::vector<std::string>{"connect port 2", "expect string ok"});
  CHECK(c.backends[1].check.tcp_check == std::vector<std::string>{"connect port 1"});
  CHECK(c.backends[1].check.type == BackendCheck::Type::TcpCheck);
}

TEST_CASE("haproxy loader lets a proxy override or clear what defaults hand down", "[haproxy]") {
  Config c = loads(
      "global\n  log 10.0.0.9 local7\n"
      "defaults\n  log 10.0.0.1 local1\n  timeout client 10s\n  option redispatch\n"
      "frontend f1\n  bind 127.0.0.1:1883\n  default_backend b\n  no log\n"
      "frontend f2\n  bind 127.0.0.1:1884\n  default_backend b\n  log global\n"
      "  timeout client 0\n"
      "backend b\n  no option redispatch\n  server s 127.0.0.1:1\n");
  CHECK(c.frontends[0].log.empty());
  REQUIRE(c.frontends[1].log.size() == 2);  // the defaults' target, then global's
  CHECK(c.frontends[1].log[0].facility == 17);
  CHECK(c.frontends[1].log[1].facility == 23);
  CHECK_FALSE(c.frontends[1].timeouts.client);
  CHECK_FALSE(c.backends[0].redispatch);
}

TEST_CASE("haproxy loader turns a listen section into a frontend and a backend of its name",
          "[haproxy]") {
  Config c = loads(
      "defaults\n  timeout client 5s\n  timeout connect 5s\n  timeout server 5s\n"
      "listen mqtt\n  bind 127.0.0.1:1883\n  balance leastconn\n  server s 127.0.0.1:1\n");
  REQUIRE(c.frontends.size() == 1);
  REQUIRE(c.backends.size() == 1);
  CHECK(c.frontends[0].name == "mqtt");
  CHECK(c.frontends[0].default_backend == "mqtt");
  CHECK(c.backends[0].name == "mqtt");
  CHECK(c.backends[0].balance == Balance::LeastConn);
}

TEST_CASE("haproxy loader accepts a listen address on the section line with a warning",
          "[haproxy]") {
  LoadResult r = load(
      "defaults\n  timeout client 5s\n  timeout connect 5s\n  timeout server 5s\n"
      "listen mqtt 127.0.0.1:1883\n\tmode tcp\n\tserver s 127.0.0.1:1\n");
  INFO(listing(r));
  REQUIRE(r.config);
  CHECK(r.config->frontends[0].binds[0].to_string() == "127.0.0.1:1883");
  CHECK(warns(r, 5, "'listen mqtt 127.0.0.1:1883': an address on the section line is HAProxy 1.x"));
}

TEST_CASE("haproxy loader keeps a stats-only http section as the admin endpoint", "[haproxy]") {
  LoadResult r = load(std::string(kBase) +
                      "listen stats\n"
                      "  mode http\n"
                      "  bind 127.0.0.1:8404\n"
                      "  stats enable\n"
                      "  stats uri /stats\n"
                      "  stats refresh 10s\n"
                      "  stats auth admin:secret\n"
                      "  stats admin if TRUE\n"
                      "  http-request use-service prometheus-exporter if { path /metrics }\n");
  INFO(listing(r));
  REQUIRE(r.config);
  REQUIRE(r.config->admin_http.size() == 1);
  const AdminHttp& a = r.config->admin_http[0];
  CHECK(a.name == "stats");
  CHECK(a.binds.at(0).to_string() == "127.0.0.1:8404");
  CHECK(a.uri == "/stats");
  CHECK(a.user == "admin");
  CHECK(a.password == "secret");
  CHECK(a.admin);
  CHECK(a.metrics_path == "/metrics");
  CHECK(a.refresh == 10s);
  CHECK(r.config->frontends.size() == 1);  // not a traffic frontend
  // Served as it is (API, status page, metrics): nothing to warn about.
  CHECK(r.warnings.empty());
}

TEST_CASE("haproxy loader reads a confd-generated 1.x file with tabs and a stats section",
          "[haproxy]") {
  LoadResult r = load(
      "global\n\tlog 127.0.0.1 local0\n\tlog 127.0.0.1 local1 notice\n\tmaxconn 4096\n"
      "\tdaemon\n"
      "\n"
      "defaults\n\tlog\tglobal\n\tmode\ttcp\n\toption\ttcplog\n\tretries\t3\n"
      "\toption redispatch\n\ttimeout connect\t5000\n\ttimeout client\t50000\n"
      "\ttimeout server\t50000\n"
      "\n"
      "listen stats :1936\n\tmode http\n\tstats enable\n\tstats uri /\n"
      "\tstats auth admin:secret\n\tstats admin if TRUE\n"
      "\n"
      "listen mqtt 0.0.0.0:1883\n\tmode tcp\n\tbalance leastconn\n"
      "\tserver broker-1 10.0.0.11:1883 check\n\tserver broker-2 10.0.0.12:1883 check\n");
  INFO(listing(r));
  REQUIRE(r.config);
  const Config& c = *r.config;
  REQUIRE(c.admin_http.size() == 1);
  CHECK(c.admin_http[0].binds.at(0).to_string() == "0.0.0.0:1936");
  CHECK(c.admin_http[0].uri == "/");
  CHECK(c.admin_http[0].user == "admin");
  CHECK(c.admin_http[0].password == "secret");
  CHECK(c.admin_http[0].admin);
  REQUIRE(c.frontends.size() == 1);
  CHECK(c.frontends[0].name == "mqtt");
  CHECK(c.frontends[0].binds.at(0).to_string() == "0.0.0.0:1883");
  CHECK(c.frontends[0].log.size() == 2);  // `log global` in defaults: both global targets
  CHECK(c.frontends[0].log[1].level == 5);
  REQUIRE(c.backends.size() == 1);
  CHECK(c.backends[0].balance == Balance::LeastConn);
  CHECK(c.backends[0].redispatch);
  CHECK(c.backends[0].servers.size() == 2);
  CHECK(warns(r, 5, "'daemon' is ignored"));
  CHECK(warns(r, 17, "'listen stats :1936': an address on the section line"));
  CHECK(warns(r, 24, "'listen mqtt 0.0.0.0:1883': an address on the section line"));
}

TEST_CASE("haproxy loader takes an empty quoted first word as an unknown keyword", "[haproxy]") {
  refused_with(std::string(kBase) + "  \"\" x\n", 11, "unknown keyword '' in 'backend' section");
}

TEST_CASE("haproxy loader expands environment variables through the injected lookup", "[haproxy]") {
  EnvLookup env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "BROKER") return "10.0.0.5:1883";
    return std::nullopt;
  };
  LoadResult r = load_haproxy(std::string(kBase) + "  server s2 \"${BROKER}\"\n", kFile, env);
  INFO(listing(r));
  REQUIRE(r.config);
  CHECK(added(*r.config).address == "10.0.0.5");
  // Addresses expand $NAME and ${NAME} unquoted too, as HAProxy's
  // str2sa_range does; elsewhere '$' outside quotes is a letter.
  EnvLookup host = [](std::string_view name) -> std::optional<std::string> {
    if (name == "HOST") return "10.0.0.6";
    return std::nullopt;
  };
  LoadResult unquoted = load_haproxy(
      std::string(kBase) + "  server s2 ${HOST}:1884\n  server s3 $HOST:1885\n", kFile, host);
  INFO(listing(unquoted));
  REQUIRE(unquoted.config);
  CHECK(unquoted.config->backends[0].servers[1].address == "10.0.0.6");
  CHECK(unquoted.config->backends[0].servers[2].address == "10.0.0.6");
  // An empty value is no value, not a NUL in the message.
  refused_with(in_frontend("  timeout client \"\"\n"), 9,
               "'timeout client' expects an integer value (in milliseconds)");
}

TEST_CASE("haproxy loader records the lines of binds and tcp-check rules for later errors",
          "[haproxy]") {
  const Config c = loads(std::string(kBase) +
                         "  option tcp-check\n"
                         "  tcp-check connect\n"
                         "  tcp-check send-binary 1000\n");
  CHECK(c.origins.at("f/bind[0]").line == 7);
  CHECK(c.origins.at("b/tcp-check[0]").line == 12);
  CHECK(c.origins.at("b/tcp-check[1]").line == 13);
}

TEST_CASE("haproxy loader joins relative certificate paths to crt-base and ca-base", "[haproxy]") {
  Config c = loads(in_global("  crt-base /etc/certs\n  ca-base /etc/cas\n") +
                   "  server s2 10.0.0.6:1885 ssl ca-file ca.pem crt /abs/c.pem\n");
  CHECK(added(c).tls.ca_file == "/etc/cas/ca.pem");
  CHECK(added(c).tls.crt == "/abs/c.pem");
}

TEST_CASE("haproxy loader and JSON loader give the same model for the same proxy", "[haproxy]") {
  const char* json = R"({
    "global": {"workers": 2, "maxconn": 3000, "hard_stop_after": "10s",
               "log": [{"address": "127.0.0.1:514", "facility": "local1", "level": "notice"}],
               "tune": {"bufsize": 32768}},
    "defaults": {
      "maxconn": 1000, "retries": 2, "redispatch": true, "balance": "leastconn",
      "hash_type": "consistent", "log": [{"address": "10.0.0.1:1514", "facility": "local0"}],
      "timeouts": {"connect": "4s", "client": "40s", "server": "45s", "client_fin": "1s"},
      "default-server": {"inter": "3s", "rise": 3, "fall": 2}
    },
    "frontends": [{
      "name": "mqtt",
      "bind": ["127.0.0.1:1883",
               {"address": "127.0.0.1:8883", "name": "tls", "ssl": true, "crt": "/etc/m.pem",
                "alpn": "mqtt", "ssl-min-ver": "TLSv1.3", "no-tls-tickets": true}],
      "default_backend": "brokers",
      "tcp_request_connection": [{"action": "reject", "unless": "{ src 10.0.0.0/8 }"}],
      "timeouts": {"client": "60s"}
    }],
    "backends": [{
      "name": "brokers",
      "allbackups": true,
      "timeouts": {"queue": "2s", "tunnel": "1h"},
      "default-server": {"check": true, "slowstart": "20s"},
      "check": {"type": "tcp-check", "tcp-check": ["connect", "expect binary 20020000"],
                "log-health-checks": true},
      "servers": [
        {"name": "b1", "address": "10.0.0.5", "port": 1883, "weight": 3},
        {"name": "b2", "address": "broker2.local", "port": 1883, "backup": true,
         "observe": "layer4", "error-limit": 4, "on-error": "mark-down"},
        {"name": "b3", "address": "10.0.0.7", "port": 8883, "check": false, "ssl": true,
         "ca-file": "/etc/ca.pem", "sni": "b3.example"}
      ]
    }]
  })";
  const char* cfg =
      "global\n"
      "  nbthread 2\n  maxconn 3000\n  hard-stop-after 10s\n"
      "  log 127.0.0.1:514 local1 notice\n  tune.bufsize 32768\n"
      "defaults\n"
      "  maxconn 1000\n  retries 2\n  option redispatch\n  balance leastconn\n"
      "  hash-type consistent\n"
      "  log 10.0.0.1:1514 local0\n"
      "  timeout connect 4s\n  timeout client 40s\n  timeout server 45s\n"
      "  timeout client-fin 1s\n"
      "  default-server inter 3s rise 3 fall 2\n"
      "frontend mqtt\n"
      "  bind 127.0.0.1:1883\n"
      "  bind 127.0.0.1:8883 name tls ssl crt /etc/m.pem alpn mqtt ssl-min-ver TLSv1.3 "
      "no-tls-tickets\n"
      "  default_backend brokers\n"
      "  tcp-request connection reject unless { src 10.0.0.0/8 }\n"
      "  timeout client 60s\n"
      "backend brokers\n"
      "  option allbackups\n"
      "  timeout queue 2s\n  timeout tunnel 1h\n"
      "  default-server check slowstart 20s\n"
      "  option tcp-check\n  option log-health-checks\n"
      "  tcp-check connect\n  tcp-check expect binary 20020000\n"
      "  server b1 10.0.0.5:1883 weight 3\n"
      "  server b2 broker2.local:1883 backup observe layer4 error-limit 4 on-error mark-down\n"
      "  server b3 10.0.0.7:8883 no-check ssl ca-file /etc/ca.pem sni str(b3.example)\n";
  LoadResult from_json = load_json(json, "mqlb.json");
  LoadResult from_cfg = load(cfg);
  INFO(listing(from_json) << listing(from_cfg));
  REQUIRE(from_json.config);
  REQUIRE(from_cfg.config);
  const Config& a = *from_json.config;
  const Config& b = *from_cfg.config;
  CHECK(a.global.workers == b.global.workers);
  CHECK(a.global.maxconn == b.global.maxconn);
  CHECK(a.global.hard_stop_after == b.global.hard_stop_after);
  CHECK(a.global.log == b.global.log);
  CHECK(a.global.tune == b.global.tune);
  REQUIRE(a.frontends.size() == b.frontends.size());
  for (size_t i = 0; i < a.frontends.size(); ++i) {
    CHECK(a.frontends[i].name == b.frontends[i].name);
    CHECK(a.frontends[i].binds == b.frontends[i].binds);
    CHECK(a.frontends[i].default_backend == b.frontends[i].default_backend);
    CHECK(a.frontends[i].tcp_request_connection == b.frontends[i].tcp_request_connection);
    CHECK(a.frontends[i].maxconn == b.frontends[i].maxconn);
    CHECK(a.frontends[i].timeouts == b.frontends[i].timeouts);
    CHECK(a.frontends[i].log == b.frontends[i].log);
  }
  REQUIRE(a.backends.size() == b.backends.size());
  for (size_t i = 0; i < a.backends.size(); ++i) {
    CHECK(a.backends[i].name == b.backends[i].name);
    CHECK(a.backends[i].balance == b.backends[i].balance);
    CHECK(a.backends[i].hash_type == b.backends[i].hash_type);
    CHECK(a.backends[i].retries == b.backends[i].retries);
    CHECK(a.backends[i].redispatch == b.backends[i].redispatch);
    CHECK(a.backends[i].allbackups == b.backends[i].allbackups);
    CHECK(a.backends[i].timeouts == b.backends[i].timeouts);
    CHECK(a.backends[i].check == b.backends[i].check);
    CHECK(a.backends[i].servers == b.backends[i].servers);
  }
  // What `mqlb --dump-config` prints for each, byte for byte.
  CHECK(dump_json(a) == dump_json(b));
}

TEST_CASE("haproxy loader reads acl lines and use_backend rules in order", "[haproxy]") {
  const Config c =
      loads(in_frontend("  acl tls ssl_fc\n"
                        "  acl lan src 10.0.0.0/8\n"
                        "  acl lan src 192.168.0.0/16\n"
                        "  use_backend b if tls { ssl_fc_sni -i -m end .example } || lan\n"
                        "  use_backend b unless { dst_port 1883 8000:8080 }\n"
                        "  use_backend b\n"));
  const auto& rules = c.frontends[0].use_backend;
  REQUIRE(rules.size() == 3);
  const AclTest tls{AclTest::Fetch::SslFc, AclTest::Match::Exact, false, {}};
  const AclTest sni{AclTest::Fetch::SslFcSni, AclTest::Match::End, true, {".example"}};
  const AclTest lan1{AclTest::Fetch::Src, AclTest::Match::Exact, false, {"10.0.0.0/8"}};
  const AclTest lan2{AclTest::Fetch::Src, AclTest::Match::Exact, false, {"192.168.0.0/16"}};
  CHECK(rules[0].backend == "b");
  CHECK_FALSE(rules[0].unless);
  CHECK(rules[0].condition == Condition{{{AclTerm{false, {tls}}, AclTerm{false, {sni}}},
                                         {AclTerm{false, {lan1, lan2}}}}});
  CHECK(rules[1].unless);
  CHECK(rules[1].condition.any_of[0][0].any_of[0].patterns ==
        std::vector<std::string>{"1883", "8000:8080"});
  CHECK(rules[2].condition.any_of.empty());  // always
}

TEST_CASE("haproxy loader reads tcpka options, stats sockets and mqlb's tune settings",
          "[haproxy]") {
  const Config c = loads(
      "global\n"
      "  stats socket /run/haproxy/admin.sock mode 660 level admin\n"
      "  server-state-file /var/lib/haproxy/state\n"
      "  tune.mqlb.relay-high-water 524288\n"
      "  tune.mqlb.relay-low-water 65536\n" +
      std::string(kBase) + "  option srvtcpka\n" + "frontend g\n  bind 127.0.0.1:1999\n" +
      "  default_backend b\n  option tcpka\n");
  CHECK_FALSE(c.frontends[0].clitcpka);
  CHECK(c.frontends[1].clitcpka);
  CHECK(c.backends[0].srvtcpka);
  REQUIRE(c.global.stats_sockets.size() == 1);
  CHECK(c.global.stats_sockets[0] == StatsSocket{"/run/haproxy/admin.sock", "660", "admin"});
  CHECK(c.global.server_state_file == "/var/lib/haproxy/state");
  CHECK(c.global.tune.relay_high_water == 524288);
  CHECK(c.global.tune.relay_low_water == 65536);
  // In defaults, tcpka reaches both sides; clitcpka only frontends.
  const Config d = loads(
      "defaults\n  mode tcp\n  option tcpka\n  timeout connect 5s\n  timeout client 5s\n"
      "  timeout server 5s\nfrontend f\n  bind 127.0.0.1:1883\n  default_backend b\n"
      "backend b\n  no option srvtcpka\n  server s1 127.0.0.1:1884\n");
  CHECK(d.frontends[0].clitcpka);
  CHECK_FALSE(d.backends[0].srvtcpka);
}

TEST_CASE("haproxy loader reads resolve-prefer and init-addr, and where each server was written",
          "[haproxy]") {
  const Config c = loads(std::string(kBase) +
                         "  server s2 broker.local:1885 resolve-prefer ipv6 init-addr "
                         "last,libc,none\n"
                         "  server s3 broker.local:1886 init-addr libc,10.0.0.9\n");
  const auto& servers = c.backends[0].servers;
  using Method = ServerResolve::Method;
  CHECK(servers[0].resolve == ServerResolve{});  // HAProxy's default: ipv4 here, last,libc
  CHECK(servers[1].resolve.prefer == ServerResolve::Family::Ipv6);
  CHECK(servers[1].resolve.init_addr == std::vector<ServerResolve::Step>{{Method::Last, ""},
                                                                         {Method::Libc, ""},
                                                                         {Method::None, ""}});
  CHECK(servers[2].resolve.init_addr ==
        std::vector<ServerResolve::Step>{{Method::Libc, ""}, {Method::Ip, "10.0.0.9"}});
  // Errors found when the runtime resolves names point back at the line.
  CHECK(c.origins.at("b/s1").line == 10);
  CHECK(c.origins.at("b/s3").line == 12);
  CHECK(c.origins.at("b/s3").file == kFile);

  refused_with(std::string(kBase) + "  server s2 h:1 resolve-prefer ipv5\n", 11,
               "'server b/s2' : 'resolve-prefer' expects either ipv4 or ipv6 as argument.");
  refused_with(std::string(kBase) + "  server s2 h:1 init-addr libc,dns\n", 11,
               "'server b/s2' : 'init-addr' : unknown init-addr method 'dns', supported methods "
               "are 'libc', 'last', 'none'.");
  refused_with(std::string(kBase) + "  server s2 h:1 init-addr 10.0.0.1,10.0.0.2\n", 11,
               "'server b/s2' : 'init-addr' : initial address already specified, cannot add "
               "'10.0.0.2'.");
}

struct Refusal {
  std::string text;
  int line;
  std::string message;
};

TEST_CASE("haproxy loader refuses mistakes with HAProxy's words and the line", "[haproxy]") {
  const std::vector<Refusal> cases = {
      {"foo bar\n" + std::string(kBase), 1, "unknown keyword 'foo' out of section."},
      {std::string(kBase) + "  balanse roundrobin\n", 11,
       "unknown keyword 'balanse' in 'backend' section; did you mean 'balance' maybe ?"},
      {in_frontend("  default_backnd b\n"), 9,
       "unknown keyword 'default_backnd' in 'frontend' section; did you mean 'default_backend' "
       "maybe ?"},
      {std::string(kBase) + "  xyzzy 1\n", 11, "unknown keyword 'xyzzy' in 'backend' section"},
      {in_global("  maxcon 10\n"), 2,
       "unknown keyword 'maxcon' in 'global' section; did you mean 'maxconn' maybe ?"},
      {in_global("  maxconn x\n"), 2, "'maxconn' expects an integer argument."},
      {in_global("  stats socket /run/a.sock mode rw\n"), 2,
       "'stats socket' : 'mode' expects an octal file mode such as 660, got 'rw'."},
      {in_global("  stats socket /run/a.sock level root\n"), 2,
       "'stats socket' : 'level' only supports 'user', 'operator', and 'admin'."},
      {in_global("  stats socket\n"), 2, "'stats socket' expects a path."},
      {in_global("  nbthread 0\n"), 2, "'nbthread' value must be between 1 and 256 (was 0)"},
      {in_global("  hard-stop-after 5x\n"), 2,
       "unexpected character 'x' in argument to <hard-stop-after>."},
      {in_global("  tune.bufsize abc\n"), 2, "'tune.bufsize' expects a positive integer argument."},
      {in_global("  log\n"), 2, "log : expects <address> and <facility>  as arguments"},
      {in_frontend("  bind\n"), 9,
       "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments."},
      {in_frontend("  bind 127.0.0.1\n"), 9, "'bind' : missing port specification in '127.0.0.1'"},
      {in_frontend("  bind 127.0.0.1:99999\n"), 9, "'bind' : invalid port '99999'"},
      {in_frontend("  bind 127.0.0.1:1884 sl crt a.pem\n"), 9,
       "'bind 127.0.0.1:1884' in section 'frontend': unknown keyword 'sl'; did you mean 'ssl' "
       "maybe ?"},
      {in_frontend("  bind 127.0.0.1:1884 ssl crt\n"), 9,
       "'bind 127.0.0.1:1884' in section 'frontend' : 'crt' : missing certificate location"},
      {in_frontend("  bind 127.0.0.1:1884 ssl\n"), 9,
       "Proxy 'f': no SSL certificate specified for bind '127.0.0.1:1884' at [haproxy.cfg:9] "
       "(use 'crt')."},
      {in_frontend("  bind 127.0.0.1:1884 ssl crt a.pem verify required\n"), 9,
       "Proxy 'f': verify is enabled but no CA file specified for bind '127.0.0.1:1884' at "
       "[haproxy.cfg:9]."},
      {in_frontend("  bind 127.0.0.1:1884 ssl crt a.pem verify bogus\n"), 9,
       "'bind 127.0.0.1:1884' in section 'frontend' : 'verify' : unknown verify method 'bogus', "
       "only 'none', 'optional', and 'required' are supported"},
      {in_frontend("  bind 127.0.0.1:1884 ssl crt a.pem ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2\n"),
       9,
       "Proxy 'f': all SSL/TLS versions are disabled for bind '127.0.0.1:1884' at "
       "[haproxy.cfg:9]."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 check rise 0\n", 11,
       "'server b/s2' : 'rise' has to be > 0."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 check inter 0\n", 11,
       "'server b/s2' : invalid value 0 for argument 'inter' of server s2."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 check addr foo\n", 11,
       "'server b/s2' : 'addr' : invalid address: 'foo' in 'foo'."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 ssl verify maybe\n", 11,
       "'server b/s2' : 'verify' : unknown verify method 'maybe', only 'none' and 'required' are "
       "supported."},
      {std::string(kBase) + "frontend g g2\n", 11,
       "please use the 'bind' keyword for listening addresses."},
      {std::string(kBase) + "  mode\n", 11, "unknown proxy mode ''."},
      {in_frontend("  bind 127.0.0.1:1884 accept-proxy\n"), 9,
       "'bind 127.0.0.1:1884' in section 'frontend' : 'accept-proxy' is not supported yet by "
       "mqlb"},
      {std::string(kBase) + "  server s2\n", 11,
       "'server' expects <name> and <addr>[:<port>] as arguments."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 chek\n", 11,
       "'server b/s2' : unknown keyword 'chek'; did you mean 'check' maybe ?"},
      {std::string(kBase) + "  server s2 10.0.0.6:1 weight 300\n", 11,
       "'server b/s2' : weight of server s2 is not within 0 and 256 (300)."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 check inter\n", 11,
       "'server b/s2' : 'inter' expects a delay as argument."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 check inter 5x\n", 11,
       "'server b/s2' : unexpected character 'x' in 'inter' argument of server s2."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 check rise\n", 11,
       "'server b/s2' : 'rise' expects an integer argument."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 on-error foo\n", 11,
       "'server b/s2' : 'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or "
       "'mark-down' but got 'foo'."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 observe layer7\n", 11,
       "'server b/s2' : 'observe layer7' observes HTTP responses, and mqlb balances TCP: use "
       "'layer4'."},
      {std::string(kBase) + "  server s2 10.0.0.6:1 send-proxy\n", 11,
       "'server b/s2' : 'send-proxy' is not supported yet by mqlb"},
      {std::string(kBase) + "  server s2 10.0.0.6\n", 11,
       "'server b/s2' : mqlb needs a port in '10.0.0.6', e.g. '10.0.0.6:1883'"},
      {std::string(kBase) + "  server s2 10.0.0.6:1 ssl\n", 11,
       "'server b/s2' : verify is enabled by default but no CA file specified. If you're running "
       "on a LAN where you're certain to trust the server's certificate, please set an explicit "
       "'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the "
       "global section to disable server-side verifications by default."},
      {std::string(kBase) + "  server s1 10.0.0.6:1\n", 11,
       "backend 'b', another server named 's1' was already defined at line 10, please use "
       "distinct names."},
      {std::string(kBase) + "  balance foo\n", 11,
       "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'first' and "
       "'random' in mqlb (got 'foo')"},
      {std::string(kBase) + "  balance uri\n", 11,
       "'balance uri' needs HTTP or RDP: mqlb balances TCP/MQTT only"},
      {std::string(kBase) + "  timeout clint 5s\n", 11,
       "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', "
       "'http-request', 'tunnel', 'tarpit', 'client-fin', 'server-fin' and 'client-hs' (got "
       "'clint')"},
      {std::string(kBase) + "  timeout server 5x\n", 11,
       "unexpected character 'x' in 'timeout server'"},
      {std::string(kBase) + "  timeout server\n", 11,
       "'timeout server' expects an integer value (in milliseconds)"},
      {std::string(kBase) + "  timeout server 30d\n", 11,
       "timer overflow in argument '30d' to 'timeout server' (maximum value is 2147483647 ms or "
       "~24.8 days)"},
      {std::string(kBase) + "  retries x\n", 11,
       "'retries' expects an integer argument (dispatch counts for one)."},
      {std::string(kBase) + "  option tcplg\n", 11,
       "unknown option 'tcplg'; did you mean 'tcplog' maybe ?"},
      {in_frontend("  no option tcplog\n"), 9,
       "negation/default is not supported for option 'tcplog'."},
      {in_frontend("  option tcplog foo\n"), 9,
       "'option tcplog' cannot handle unexpected argument 'foo'."},
      {std::string(kBase) + "  hash-type ring\n", 11,
       "'hash-type' expects 'map-based' or 'consistent' (got 'ring')."},
      {std::string(kBase) + "  hash-type consistent sdmb\n", 11,
       "'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions."},
      {std::string(kBase) + "  hash-type consistent djb2 avalance\n", 11,
       "'hash-type' only supports 'avalanche' as a modifier for hash functions."},
      {std::string(kBase) + "  tcp-check foo\n", 11,
       "'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', "
       "'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got 'foo'"},
      {in_frontend("  use_backend b if foo\n"), 9,
       "error detected while parsing switching rule : no such ACL : 'foo'."},
      {in_frontend("  acl x xyz 1\n"), 9,
       "error detected while parsing ACL 'x' : unknown fetch method 'xyz' in ACL expression "
       "'xyz' (mqlb knows ssl_fc, ssl_fc_sni, src, dst_port)."},
      {in_frontend("  use_backend b if { src 10.0.0.300 }\n"), 9,
       "error detected while parsing switching rule : '10.0.0.300' is not a valid IPv4 or IPv6 "
       "address."},
      {in_frontend("  use_backend b when x\n"), 9,
       "unexpected keyword 'when' after switching rule, only 'if' and 'unless' are allowed."},
      {in_frontend("  use_backend b if { ssl_fc_sni -m zz a }\n"), 9,
       "error detected while parsing switching rule : unknown matching method 'zz' when "
       "parsing ACL expression."},
      {in_frontend("  use_backend nob if { ssl_fc }\n"), 9,
       "Proxy 'f': unable to find required use_backend: 'nob'."},
      {in_frontend("  log 127.0.0.1 local9\n"), 9, "log : unknown log facility 'local9'"},
      {in_frontend("  log 127.0.0.1 format json local0\n"), 9, "log : unknown log format 'json'"},
      {in_frontend("  log 127.0.0.1 format\n"), 9, "log : unknown log format ''"},
      {in_frontend("  log-tag\n"), 9, "'log-tag' expects a tag for use in syslog."},
      {in_global("  log-tag a b\n"), 2, "'log-tag' cannot handle unexpected argument 'b'."},
      {in_frontend("  log 127.0.0.1 len 79 local0\n"), 9,
       "log : invalid log length '79', must be between 80 and 65535"},
      {in_frontend("  log 127.0.0.1 len abc local0\n"), 9,
       "log : invalid log length 'abc', must be between 80 and 65535"},
      // HAProxy's order: len before format.
      {in_frontend("  log 127.0.0.1 format raw len 100 local0\n"), 9,
       "log : unknown log facility 'len'"},
      {in_frontend("  log 127.0.0.1 local0 foo\n"), 9, "log : unknown optional log level 'foo'"},
      {in_frontend("  log 127.0.0.1:99999 local0\n"), 9, "log : invalid port '99999'"},
      {in_frontend("  log\n"), 9, "log : expects <address> and <facility> or global as arguments"},
      {in_frontend("  log 127.0.0.1:abc local0\n"), 9,
       "log : invalid character 'a' in port number 'abc' in '127.0.0.1:abc'"},
      {in_frontend("  no log foo\n"), 9, "log : 'no log' does not expect arguments"},
      {std::string(kBase) + "  timeout server 1s 2s\n", 11,
       "'timeout server' : unexpected extra argument '2s' after value '1s'."},
      {std::string(kBase) + "  default-server chek\n", 11,
       "unknown keyword 'chek'; did you mean 'check' maybe ?"},
      {in_global("  ca-base\n"), 2,
       "global statement 'ca-base' expects a directory path as an argument."},
      {in_frontend("  no maxconn\n"), 9,
       "negation/default currently supported only for options, log, busy-polling, set-dumpable, "
       "strict-limits, insecure-fork-wanted and numa-cpu-mapping."},
      {in_frontend("  mode foo\n"), 9, "unknown proxy mode 'foo'."},
      {in_frontend("  mode http\n"), 9,
       "frontend 'f' is in 'mode http': mqlb balances TCP/MQTT only (use 'mode tcp')."},
      {in_frontend("  maxconn abc\n"), 9, "'maxconn' expects an integer argument."},
      {"defaults\n  mode http\n  timeout client 5s\nfrontend f\n  bind 127.0.0.1:1883\n"
       "  default_backend b\nbackend b\n  mode tcp\n  server s1 127.0.0.1:1884\n",
       4,
       "frontend 'f' is in 'mode http' (from 'mode http' at line 2 in its defaults section): "
       "mqlb balances TCP/MQTT only (use 'mode tcp')."},
      {std::string(kBase) + "frontend\n", 11, "'frontend' expects an <id> argument"},
      {std::string(kBase) + "backend b\n  server s 127.0.0.1:1\n", 11,
       "backend 'b' has the same name as backend 'b' declared at haproxy.cfg:9."},
      {std::string(kBase) + "backend c from zz\n", 11,
       "defaults section 'zz' not found for backend 'c'."},
      {std::string(kBase) + "backend b/2\n  server s 127.0.0.1:1\n", 11,
       "character '/' is not permitted in 'backend' name 'b/2'."},
      {std::string(kBase) + "defaults\n  server s 127.0.0.1:1\n", 12,
       "'server' not allowed in 'defaults' section."},
      {std::string(kBase) + "defaults\n  bind :1\n", 12,
       "'bind' not allowed in 'defaults' section."},
      {in_frontend("  server s 127.0.0.1:1\n"), 9,
       "'server' not allowed because frontend 'f' has no backend capability."},
      {std::string(kBase) + "backend c\n", 11,
       "backend 'c' has no 'server': mqlb needs at least one, e.g. 'server b1 10.0.0.5:1883'."},
      {std::string(kBase) + "frontend g\n  bind :1999\n", 11,
       "frontend 'g' has no 'default_backend': mqlb needs one for the connections no "
       "'use_backend' rule takes."},
      {in_frontend("").replace(in_frontend("").find("default_backend b"), 17, "default_backend zz"),
       8, "Proxy 'f': unable to find required default_backend: 'zz'."},
      {in_global("  ssl-default-bind-ciphers HIGH\n"), 2,
       "'ssl-default-bind-ciphers' is not supported yet by mqlb"},
      {std::string(kBase) + "userlist admins\n  user a password x\n", 11,
       "section 'userlist' is not supported yet by mqlb"},
      {std::string(kBase) + "  description \"unterminated\n", 11, "unmatched quote at position 15"},
      {std::string(kBase) + ".if defined(X)\n", 11, "'.if' is not supported yet by mqlb"},
      {std::string(kBase) + ".alert \"stop here\"\n", 11, "'stop here'."},
      {std::string(kBase) + ".foo\n", 11, "unknown directive '.foo'."},
      {std::string(kBase) + "  retries 3", 11,
       "Missing LF on last line, file might have been truncated at position 12."},
  };
  for (const auto& c : cases)
    refused_with(c.text, c.line, c.message);
}

TEST_CASE("haproxy loader reports a NUL byte in a line", "[haproxy]") {
  std::string text = std::string(kBase) + "  retries 3";
  text += '\0';
  text += "\n";
  refused_with(text, 11, "Stray NUL character at position 12.");
}

TEST_CASE("haproxy loader does not join a line ending in a backslash to the next one",
          "[haproxy]") {
  // HAProxy has no line continuation: the backslash is a word of its own
  // and the next line is read as a keyword.
  std::string text = in_frontend("  bind 127.0.0.1:1884 \\\n    name second\n");
  refused_with(text, 9, "'bind 127.0.0.1:1884' in section 'frontend': unknown keyword '\\'.");
  refused_with(text, 10, "unknown keyword 'name' in 'frontend' section");
}

TEST_CASE("haproxy loader reads tcp-request connection accept and reject rules in order",
          "[haproxy][acl]") {
  const Config c =
      loads(in_frontend("  acl office src 192.168.0.0/16\n"
                        "  tcp-request connection accept if office\n"
                        "  tcp-request connection reject if { src 10.0.0.0/8 } !{ dst_port 8883 }\n"
                        "  tcp-request connection reject unless { src 127.0.0.0/8 } || office\n"
                        "  tcp-request connection accept\n"));
  const auto& rules = c.frontends[0].tcp_request_connection;
  using Action = ConnectionRule::Action;
  REQUIRE(rules.size() == 4);
  CHECK(rules[0].action == Action::Accept);
  CHECK(rules[1].action == Action::Reject);
  CHECK(rules[1].condition.any_of[0].size() == 2);
  CHECK(rules[1].condition.any_of[0][1].negate);
  CHECK(rules[2].unless);
  CHECK(rules[2].condition.any_of.size() == 2);
  CHECK(rules[3].condition.any_of.empty());
  NamedAcls names;
  CHECK(to_text(rules[2].condition, names) == "{ src 127.0.0.0/8 } || { src 192.168.0.0/16 }");
}

TEST_CASE("haproxy loader refuses tcp-request rules it cannot run, naming the line",
          "[haproxy][acl][errors]") {
  // HAProxy 2.6's words, list and all.
  const std::string expects =
      "'tcp-request connection' expects 'accept', 'reject', 'capture', 'expect-proxy', "
      "'expect-netscaler-cip', 'track-sc0' ... 'track-sc2', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', "
      "'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'set-var-fmt(*)', 'set-var(*)', "
      "'unset-var(*)', 'set-dst', 'set-dst-port', 'set-mark', 'set-src', 'set-src-port', "
      "'set-tos', 'silent-drop' in frontend 'f' ";
  refused_with(in_frontend("  tcp-request connection drop\n"), 9, expects + "(got 'drop').");
  refused_with(in_frontend("  tcp-request connection rejet\n"), 9,
               expects + "(got 'rejet'); did you mean 'reject' maybe ?");
  refused_with(in_frontend("  tcp-request connection set-var(sess.x) int(1)\n"), 9,
               "'tcp-request connection set-var(sess.x)' is not supported yet by mqlb");
  refused_with(in_frontend("  tcp-request connection reject when { src 10.0.0.1 }\n"), 9,
               "'tcp-request connection reject' only accepts 'if' or 'unless', in frontend 'f' "
               "(got 'when')");
  refused_with(in_frontend("  tcp-request connection reject if lan\n"), 9,
               "'tcp-request connection reject' : error detected in frontend 'f' while parsing "
               "'if' condition : no such ACL : 'lan'.");
  refused_with(in_frontend("  tcp-request connection reject if\n"), 9,
               "'tcp-request connection reject' : error detected in frontend 'f' while parsing "
               "'if' condition : no condition after 'if'.");
  refused_with(in_frontend("  tcp-request connect reject\n"), 9,
               "'tcp-request' expects 'inspect-delay', 'connection', or 'content' in frontend "
               "'f' (got 'connect').");
  refused_with(std::string(kBase) + "  tcp-request connection reject\n", 11,
               "tcp-request connection is not allowed because backend b is not a frontend");
  refused_with(in_frontend("  tcp-request connection expect-proxy layer4\n"), 9,
               "'tcp-request connection expect-proxy' is not supported yet by mqlb");
  refused_with(in_frontend("  tcp-request content reject\n"), 9,
               "'tcp-request content' is not supported yet by mqlb");
  refused_with(in_frontend("  tcp-request inspect-delay 5s\n"), 9,
               "'tcp-request inspect-delay' is not supported yet by mqlb");
  refused_with("defaults\n  tcp-request connection reject\n" + std::string(kBase), 2,
               "'tcp-request' in a defaults section is not supported yet by mqlb");
}

TEST_CASE("haproxy loader warns about tcp-request rules that cannot do what they say",
          "[haproxy][acl]") {
  // HAProxy warns about TLS fetches in a connection rule (mqlb knows ssl_fc
  // there all the same; ssl_fc_sni does not match there).
  LoadResult tls = load(in_frontend("  tcp-request connection reject if { ssl_fc }\n"));
  INFO(listing(tls));
  REQUIRE(tls.config);
  CHECK(warns(tls, 9,
              "anonymous acl involves keyword 'ssl_fc' which is incompatible with 'frontend "
              "tcp-request connection rule'"));
  // Written after a use_backend, still run before it.
  LoadResult late =
      load(in_frontend("  use_backend b if { src 10.0.0.1 }\n  tcp-request connection reject if { "
                       "src 10.0.0.2 }\n"));
  INFO(listing(late));
  REQUIRE(late.config);
  CHECK(warns(late, 10,
              "a 'tcp-request' rule placed after a 'use_backend' rule will still be processed "
              "before."));
}

TEST_CASE("haproxy loader warns about keywords that do not matter to a TCP balancer", "[haproxy]") {
  struct Warned {
    std::string text;
    int line;
    std::string start;
  };
  const std::vector<Warned> cases = {
      {in_global("  daemon\n"), 2, "'daemon' is ignored: it does not apply to mqlb."},
      {in_global("  user haproxy\n"), 2, "'user' is ignored"},
      {in_global("  group haproxy\n"), 2, "'group' is ignored"},
      {in_global("  chroot /var/lib/haproxy\n"), 2, "'chroot' is ignored"},
      {in_global("  pidfile /run/haproxy.pid\n"), 2, "'pidfile' is ignored"},
      {in_global("  nbproc 1\n"), 2, "'nbproc' is ignored"},
      {in_global("  stats socket /run/haproxy.sock mode 660 level admin expose-fd listeners\n"), 2,
       "'stats socket' : 'expose-fd' is ignored: it does not apply to mqlb."},
      {std::string(kBase) + "  fullconn 1000\n", 11, "'fullconn' has no effect"},
      {std::string(kBase) + "  hash-type map-based sdbm\n", 11,
       "'hash-type map-based sdbm': mqlb hashes with its own function."},
      {std::string(kBase) + "  hash-type consistent wt6 avalanche\n", 11,
       "'hash-type consistent wt6 avalanche': mqlb hashes with its own function."},
      {in_frontend("  option httplog\n"), 9,
       "'option httplog' ignored for frontend 'f' as it requires HTTP mode."},
      // HAProxy alerts, keeps the first and starts.
      {in_global("  log-send-hostname a\n  log-send-hostname b\n"), 3,
       "'log-send-hostname' already specified. Continuing."},
      {std::string(kBase) + "  log-tag b\n", 11,
       "backend 'b' : 'log-tag' has no effect in a backend"},
      {in_frontend("  option forwardfor\n"), 9,
       "'option forwardfor' ignored for frontend 'f' as it requires HTTP mode."},
      {in_frontend("  http-request deny\n"), 9,
       "'http-request' rules ignored for frontend 'f' as they require HTTP mode."},
      {in_frontend("  timeout server 1s\n"), 9,
       "'timeout server' will be ignored because frontend 'f' has no backend capability"},
      {in_frontend("  balance leastconn\n"), 9,
       "'balance' ignored because frontend 'f' has no backend capability."},
      {std::string(kBase) + "  option tcplog\n", 11,
       "backend 'b' : 'option tcplog' directive is ignored in backends."},
      {std::string(kBase) + "  maxconn 10\n", 11,
       "'maxconn' ignored because backend 'b' has no frontend capability. Maybe you want "
       "'fullconn' instead ?"},
      {std::string(kBase) + "  server s2 10.0.0.6:1 inter 3s\n", 11,
       "'server b/s2' : 'inter' has no effect without 'check'."},
      {in_frontend("  bind 127.0.0.1:1884 crt a.pem\n"), 9,
       "'bind 127.0.0.1:1884' in section 'frontend' : 'crt' has no effect without 'ssl'"},
      {in_frontend("  bind 127.0.0.1:1884 alpn mqtt\n"), 9,
       "'bind 127.0.0.1:1884' in section 'frontend' : 'alpn' has no effect without 'ssl'"},
      {std::string(kBase) + ".warning \"look here\"\n", 11, "'look here'."},
      {std::string(kBase) + "  tcp-check connect\n", 9,
       "backend 'b' uses tcp-check rules without 'option tcp-check', so the rules are ignored."},
      {"defaults\n  mode tcp\nfrontend f\n  bind :1883\n  default_backend b\nbackend b\n"
       "  server s 127.0.0.1:1\n",
       3, "missing timeouts for frontend 'f'."},
  };
  for (const auto& c : cases) {
    LoadResult r = load(c.text);
    INFO(c.text << listing(r));
    CHECK(r.config);
    CHECK(warns(r, c.line, c.start));
  }
}

TEST_CASE("haproxy loader does not report what follows from an error already reported",
          "[haproxy]") {
  LoadResult r = load(std::string(kBase) + "backend c\n  server s2 10.0.0.6:1 chek\n");
  INFO(listing(r));
  CHECK(r.errors.size() == 1);
}

}  // namespace
}  // namespace mqlb::conf
