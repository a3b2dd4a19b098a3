// ServerContext and ClientContext: bundles, SNI, versions, ciphers, ALPN,
// client verification and tickets, each shown by a complete in-memory handshake.
#include "tls/context.h"

#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>

#include "tests/unit/tls/pki.h"

namespace mqlb::tls {
namespace {

using Catch::Matchers::Contains;
using test::pki;

const std::string kWhere = "frontends[0].bind[0]";

struct SslFree {
  void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
struct SessionFree {
  void operator()(SSL_SESSION* s) const noexcept { SSL_SESSION_free(s); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

conf::BindTls bind_tls(std::vector<std::string> files) {
  conf::BindTls tls;
  tls.enabled = true;
  for (const auto& file : files)
    tls.crt.push_back(pki(file));
  return tls;
}

std::string describe(const std::vector<conf::Error>& errors) {
  std::string out;
  for (const auto& e : errors)
    out += e.to_string() + "\n";
  return out;
}

std::shared_ptr<const ServerContext> server(const conf::BindTls& tls,
                                            std::shared_ptr<TicketKeys> keys = nullptr) {
  if (!keys) keys = TicketKeys::random();
  std::vector<conf::Error> errors;
  auto ctx = ServerContext::build(tls, kWhere, keys, errors);
  INFO(describe(errors));
  REQUIRE(errors.empty());
  REQUIRE(ctx);
  return ctx;
}

std::vector<conf::Error> server_errors(const conf::BindTls& tls) {
  std::vector<conf::Error> errors;
  CHECK_FALSE(ServerContext::build(tls, kWhere, TicketKeys::random(), errors));
  return errors;
}

// A client that checks nothing unless asked to.
std::shared_ptr<const ClientContext> client(std::string sni = "", std::string crt = "",
                                            std::string ca = "") {
  conf::ServerTls tls;
  tls.enabled = true;
  tls.verify = !ca.empty();
  tls.ca_file = ca.empty() ? "" : pki(ca);
  tls.sni = std::move(sni);
  tls.crt = crt.empty() ? "" : pki(crt);
  std::vector<conf::Error> errors;
  auto ctx = ClientContext::build(tls, "backends[0].servers[0]", errors);
  INFO(describe(errors));
  REQUIRE(ctx);
  return ctx;
}

struct Connection {
  SslPtr server;
  SslPtr client;
  test::Outcome outcome;

  SessionPtr session() const { return SessionPtr(SSL_get1_session(client.get())); }
  bool reused() const { return SSL_session_reused(client.get()) == 1; }
};

Connection connect(const ServerContext& s, const ClientContext& c,
                   const std::function<void(SSL*)>& tweak = {}, SSL_SESSION* resume = nullptr) {
  Connection conn{SslPtr(s.new_ssl()), SslPtr(c.new_ssl()), {}};
  REQUIRE(conn.server);
  REQUIRE(conn.client);
  if (tweak) tweak(conn.client.get());
  if (resume != nullptr) SSL_set_session(conn.client.get(), resume);
  conn.outcome = test::handshake(conn.server.get(), conn.client.get());
  return conn;
}

TEST_CASE("a bundle with the key first and the leaf last serves the leaf and its chain", "[tls]") {
  auto s = server(bind_tls({"server-bundle.pem"}));
  CHECK(s->default_serial() == "1001");
  CHECK(s->default_subject() == "CN=mqtt.example.com");
  CHECK(s->bundle_count() == 1);
  // The client knows only the root: the intermediate must come from the bundle.
  auto conn = connect(*s, *client("mqtt.example.com", "", "ca.pem"));
  INFO(conn.outcome.client_reason << " / " << conn.outcome.server_reason);
  CHECK(conn.outcome.ok());
  CHECK(test::peer_serial(conn.client.get()) == "1001");
}

TEST_CASE("bundle problems name the file and say what is wrong", "[tls]") {
  const std::pair<const char*, const char*> cases[] = {
      {"mismatch.pem", "private key does not match the certificate"},
      {"nokey.pem", "no private key in the file"},
      {"missing.pem", "cannot read: No such file or directory"},
      {"garbage.pem", "no PEM certificate or private key in the file"},
  };
  for (const auto& [file, message] : cases) {
    INFO(file);
    auto errors = server_errors(bind_tls({file}));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].file == pki(file));
    CHECK(errors[0].field == kWhere + ".crt[0]");
    CHECK(errors[0].message == message);
  }
}

TEST_CASE("every bad bundle of a bind is reported at once", "[tls]") {
  auto errors = server_errors(bind_tls({"server-bundle.pem", "missing.pem", "nokey.pem"}));
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].file == pki("missing.pem"));
  CHECK(errors[0].field == kWhere + ".crt[1]");
  CHECK(errors[1].file == pki("nokey.pem"));
  CHECK(errors[1].field == kWhere + ".crt[2]");
}

TEST_CASE("SNI picks the bundle naming the host and unknown names get the default", "[tls]") {
  auto s = server(bind_tls({"server-bundle.pem", "certs"}));
  CHECK(s->bundle_count() == 4);  // junk.key in certs/ is skipped
  const std::pair<std::string, std::string> cases[] = {
      {"mqtt.example.com", "1001"},
      {"MQTT.Example.COM", "1001"},
      {"a.devices.example.com", "1001"},
      {"broker.example.org", "2002"},
      {"eu.broker.example.org", "2002"},    // *.broker.example.org
      {"a.eu.broker.example.org", "1001"},  // a wildcard covers one label only
      {"legacy.example.net", "2003"},       // no SAN: the CN
      {"rsa.example.com", "4004"},
      {"nobody.example.com", "1001"},
      {"", "1001"},  // no SNI at all
  };
  for (const auto& [name, serial] : cases) {
    INFO("SNI '" << name << "'");
    auto conn = connect(*s, *client(name));
    CHECK(conn.outcome.ok());
    CHECK(test::peer_serial(conn.client.get()) == serial);
  }
}

TEST_CASE("a missing bundle's .ecdsa and .rsa variants share a context, ECDSA preferred", "[tls]") {
  auto s = server(bind_tls({"dual.pem"}));
  CHECK(s->bundle_count() == 1);
  auto ecdsa = connect(*s, *client("dual.example.com"));
  CHECK(ecdsa.outcome.ok());
  CHECK(test::peer_serial(ecdsa.client.get()) == "5005");
  auto rsa = connect(*s, *client("dual.example.com"), [](SSL* c) {
    SSL_set1_sigalgs_list(c, "rsa_pss_rsae_sha256:rsa_pkcs1_sha256");
  });
  CHECK(rsa.outcome.ok());
  CHECK(test::peer_serial(rsa.client.get()) == "5006");
}

TEST_CASE("ssl-min-ver TLSv1.3 refuses a client that stops at TLS 1.2", "[tls]") {
  auto tls = bind_tls({"server-bundle.pem"});
  tls.min_ver = "TLSv1.3";
  auto conn = connect(*server(tls), *client(),
                      [](SSL* c) { SSL_set_max_proto_version(c, TLS1_2_VERSION); });
  CHECK_FALSE(conn.outcome.server_ok);
  CHECK_FALSE(conn.outcome.client_ok);
  CHECK(conn.outcome.server_reason == "unsupported protocol");
  CHECK(conn.outcome.client_reason == "tlsv1 alert protocol version");
}

void tls11_only(SSL* c) {
  SSL_set_security_level(c, 0);
  SSL_set_min_proto_version(c, TLS1_1_VERSION);
  SSL_set_max_proto_version(c, TLS1_1_VERSION);
}

TEST_CASE("TLS 1.1 is refused by default and admitted when ssl-min-ver says so", "[tls]") {
  auto refused = connect(*server(bind_tls({"server-bundle.pem"})), *client(), tls11_only);
  CHECK_FALSE(refused.outcome.server_ok);
  CHECK(refused.outcome.server_reason == "unsupported protocol");

  auto tls = bind_tls({"server-bundle.pem"});
  tls.min_ver = "TLSv1.0";
  auto admitted = connect(*server(tls), *client(), tls11_only);
  INFO(admitted.outcome.server_reason << " / " << admitted.outcome.client_reason);
  CHECK(admitted.outcome.ok());
  CHECK(SSL_version(admitted.server.get()) == TLS1_1_VERSION);
}

TEST_CASE("bad version, cipher, ciphersuite and curve names are errors naming the field", "[tls]") {
  auto tls = bind_tls({"server-bundle.pem"});
  tls.min_ver = "TLSv1.4";
  tls.max_ver = "SSLv3";
  tls.ciphers = "NOPE-CIPHER";
  tls.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_NOPE";
  tls.curves = "P-999";
  auto errors = server_errors(tls);
  INFO(describe(errors));
  REQUIRE(errors.size() == 5);
  CHECK(errors[0].field == kWhere + ".ssl-min-ver");
  CHECK(errors[0].message ==
        "unknown version 'TLSv1.4', expected TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3");
  CHECK(errors[1].field == kWhere + ".ssl-max-ver");
  CHECK_THAT(errors[1].message, Contains("'SSLv3'"));
  CHECK(errors[2].field == kWhere + ".ciphers");
  CHECK_THAT(errors[2].message, Contains("'NOPE-CIPHER'"));
  CHECK(errors[3].field == kWhere + ".ciphersuites");
  CHECK_THAT(errors[3].message, Contains("unknown TLS 1.3 ciphersuite 'TLS_NOPE'"));
  CHECK(errors[4].field == kWhere + ".curves");
  CHECK_THAT(errors[4].message, Contains("'P-999'"));
}

TEST_CASE("a max version below the min version is an error", "[tls]") {
  auto tls = bind_tls({"server-bundle.pem"});
  tls.min_ver = "TLSv1.3";
  tls.max_ver = "TLSv1.2";
  auto errors = server_errors(tls);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == kWhere + ".ssl-max-ver");
  CHECK(errors[0].message == "TLSv1.2 is below ssl-min-ver TLSv1.3");
}

TEST_CASE("ciphers curves and versions that exist are applied", "[tls]") {
  auto tls = bind_tls({"server-bundle.pem"});
  tls.max_ver = "TLSv1.2";
  tls.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
  tls.curves = "P-384";
  auto conn = connect(*server(tls), *client());
  REQUIRE(conn.outcome.ok());
  CHECK(SSL_version(conn.client.get()) == TLS1_2_VERSION);
  CHECK(std::string(SSL_get_cipher_name(conn.client.get())) == "ECDHE-ECDSA-AES256-GCM-SHA384");
  CHECK(SSL_get_negotiated_group(conn.client.get()) == NID_secp384r1);
}

std::string alpn_of(const SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(ssl, &data, &size);
  return std::string(reinterpret_cast<const char*>(data), size);
}

TEST_CASE("alpn picks by the server's preference and no overlap means no alpn", "[tls]") {
  auto tls = bind_tls({"server-bundle.pem"});
  tls.alpn = {"mqtt", "x-amzn-mqtt-ca"};
  auto s = server(tls);
  auto both = connect(*s, *client(), [](SSL* c) {
    static const unsigned char offer[] = "\x0ex-amzn-mqtt-ca\x04mqtt";
    SSL_set_alpn_protos(c, offer, sizeof offer - 1);
  });
  CHECK(both.outcome.ok());
  CHECK(alpn_of(both.client.get()) == "mqtt");
  auto second = connect(*s, *client(), [](SSL* c) {
    static const unsigned char offer[] = "\x02h2\x0ex-amzn-mqtt-ca";
    SSL_set_alpn_protos(c, offer, sizeof offer - 1);
  });
  CHECK(second.outcome.ok());
  CHECK(alpn_of(second.client.get()) == "x-amzn-mqtt-ca");
  auto none = connect(*s, *client(), [](SSL* c) {
    static const unsigned char offer[] = "\x02h2";
    SSL_set_alpn_protos(c, offer, sizeof offer - 1);
  });
  CHECK(none.outcome.ok());
  CHECK(alpn_of(none.client.get()).empty());
}

conf::BindTls verifying(conf::Verify verify, bool crl) {
  auto tls = bind_tls({"server-bundle.pem"});
  tls.verify = verify;
  tls.ca_file = pki("ca.pem");
  if (crl) tls.crl_file = pki("crl.pem");
  return tls;
}

TEST_CASE("verify required wants a client certificate from the CA, not revoked", "[tls]") {
  auto s = server(verifying(conf::Verify::Required, true));

  auto none = connect(*s, *client());
  CHECK_FALSE(none.outcome.server_ok);
  CHECK(none.outcome.server_reason == "peer did not return a certificate");

  auto good = connect(*s, *client("", "client-bundle.pem"));
  CHECK(good.outcome.ok());
  CHECK(test::peer_serial(good.server.get()) == "3001");

  auto revoked = connect(*s, *client("", "revoked-bundle.pem"));
  CHECK_FALSE(revoked.outcome.server_ok);
  CHECK(revoked.outcome.server_reason == "certificate verify failed: certificate revoked");

  auto stranger = connect(*s, *client("", "otherclient-bundle.pem"));
  CHECK_FALSE(stranger.outcome.server_ok);
  CHECK(stranger.outcome.server_reason ==
        "certificate verify failed: unable to get local issuer certificate");
}

TEST_CASE("verify optional admits a client without a certificate but checks one given", "[tls]") {
  auto s = server(verifying(conf::Verify::Optional, false));
  auto none = connect(*s, *client());
  CHECK(none.outcome.ok());
  CHECK(test::peer_serial(none.server.get()).empty());
  auto good = connect(*s, *client("", "client-bundle.pem"));
  CHECK(good.outcome.ok());
  auto stranger = connect(*s, *client("", "otherclient-bundle.pem"));
  CHECK_FALSE(stranger.outcome.server_ok);
}

TEST_CASE("verify without ca-file and unreadable ca and crl files are errors", "[tls]") {
  auto tls = bind_tls({"server-bundle.pem"});
  tls.verify = conf::Verify::Required;
  auto errors = server_errors(tls);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == kWhere + ".verify");
  CHECK(errors[0].message == "verify required needs a ca-file");

  tls.ca_file = pki("missing-ca.pem");
  tls.crl_file = pki("garbage.pem");
  errors = server_errors(tls);
  INFO(describe(errors));
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].file == pki("missing-ca.pem"));
  CHECK(errors[0].field == kWhere + ".ca-file");
  CHECK(errors[0].message == "cannot read: No such file or directory");
  CHECK(errors[1].file == pki("garbage.pem"));
  CHECK(errors[1].field == kWhere + ".crl-file");
  CHECK(errors[1].message == "no PEM CRL in the file");
}

TEST_CASE("a ticket resumes on the context that issued it", "[tls]") {
  auto s = server(bind_tls({"server-bundle.pem"}));
  auto c = client();
  auto first = connect(*s, *c);
  REQUIRE(first.outcome.ok());
  CHECK_FALSE(first.reused());
  auto session = first.session();
  REQUIRE(SSL_SESSION_is_resumable(session.get()));
  auto second = connect(*s, *c, {}, session.get());
  CHECK(second.outcome.ok());
  CHECK(second.reused());
}

TEST_CASE("a ticket resumes on another worker's context built with the same keys", "[tls]") {
  auto keys = TicketKeys::random();
  auto worker1 = server(bind_tls({"server-bundle.pem"}), keys);
  auto worker2 = server(bind_tls({"server-bundle.pem"}), keys);
  auto stranger = server(bind_tls({"server-bundle.pem"}), TicketKeys::random());
  auto c = client();
  auto first = connect(*worker1, *c);
  REQUIRE(first.outcome.ok());
  auto session = first.session();
  auto second = connect(*worker2, *c, {}, session.get());
  CHECK(second.outcome.ok());
  CHECK(second.reused());
  auto third = connect(*stranger, *c, {}, session.get());
  CHECK(third.outcome.ok());
  CHECK_FALSE(third.reused());
}

TEST_CASE("a ticket sealed before a rotation still resumes after it", "[tls]") {
  auto keys = TicketKeys::random();
  auto s = server(bind_tls({"server-bundle.pem"}), keys);
  auto c = client();
  auto first = connect(*s, *c);
  REQUIRE(first.outcome.ok());
  auto session = first.session();
  REQUIRE(keys->rotate());
  auto second = connect(*s, *c, {}, session.get());
  CHECK(second.outcome.ok());
  CHECK(second.reused());
  // Two more rotations push the key out of the ring.
  REQUIRE(keys->rotate());
  REQUIRE(keys->rotate());
  auto third = connect(*s, *c, {}, session.get());
  CHECK(third.outcome.ok());
  CHECK_FALSE(third.reused());
}

TEST_CASE("SNI and client verification keep resumption working", "[tls]") {
  auto tls = verifying(conf::Verify::Required, true);
  tls.crt.push_back(pki("certs"));
  auto s = server(tls);
  auto c = client("broker.example.org", "client-bundle.pem", "ca.pem");
  auto first = connect(*s, *c);
  REQUIRE(first.outcome.ok());
  CHECK(test::peer_serial(first.client.get()) == "2002");
  auto session = first.session();
  auto second = connect(*s, *c, {}, session.get());
  CHECK(second.outcome.ok());
  CHECK(second.reused());
}

TEST_CASE("no-tls-tickets resumes from the session cache of the same context", "[tls]") {
  auto tls = bind_tls({"server-bundle.pem"});
  tls.no_tls_tickets = true;
  auto s = server(tls);
  auto c = client();
  auto first = connect(*s, *c);
  REQUIRE(first.outcome.ok());
  auto session = first.session();
  auto second = connect(*s, *c, {}, session.get());
  CHECK(second.outcome.ok());
  CHECK(second.reused());
}

TEST_CASE("a bind's tls-ticket-keys file is rotated by appending a key", "[tls]") {
  const std::string keys[] = {test::ticket_key('A'), test::ticket_key('B'), test::ticket_key('C'),
                              test::ticket_key('D')};
  const std::string before = test::pki_dir() + "/tickets-before";
  const std::string after = test::pki_dir() + "/tickets-after";
  std::ofstream(before) << keys[0] << "\n" << keys[1] << "\n" << keys[2] << "\n";
  std::ofstream(after) << keys[0] << "\n" << keys[1] << "\n" << keys[2] << "\n" << keys[3] << "\n";

  auto tls = bind_tls({"server-bundle.pem"});
  tls.tls_ticket_keys = before;
  auto old_process = server(tls);
  tls.tls_ticket_keys = after;
  auto new_process = server(tls);
  auto c = client();
  auto first = connect(*old_process, *c);
  REQUIRE(first.outcome.ok());
  auto session = first.session();
  auto second = connect(*new_process, *c, {}, session.get());
  CHECK(second.outcome.ok());
  CHECK(second.reused());

  tls.tls_ticket_keys = test::pki_dir() + "/no-such-keys";
  auto errors = server_errors(tls);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == tls.tls_ticket_keys);
}

TEST_CASE("a client checks the server's name against its sni", "[tls]") {
  auto s = server(bind_tls({"server-bundle.pem"}));
  auto right = connect(*s, *client("mqtt.example.com", "", "ca.pem"));
  CHECK(right.outcome.ok());
  auto wrong = connect(*s, *client("wrong.example.com", "", "ca.pem"));
  CHECK_FALSE(wrong.outcome.client_ok);
  CHECK(wrong.outcome.client_reason == "certificate verify failed: hostname mismatch");
  auto untrusted = connect(*s, *client("mqtt.example.com", "", "otherca.pem"));
  CHECK_FALSE(untrusted.outcome.client_ok);
  CHECK(untrusted.outcome.client_reason ==
        "certificate verify failed: unable to get local issuer certificate");
}

TEST_CASE("client context errors name the field and the file", "[tls]") {
  conf::ServerTls tls;
  tls.enabled = true;
  std::vector<conf::Error> errors;
  CHECK_FALSE(ClientContext::build(tls, "backends[0].servers[1]", errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == "backends[0].servers[1].verify");
  CHECK(errors[0].message == "verify required needs ca-file (or verify none)");

  errors.clear();
  tls.ca_file = pki("ca.pem");
  tls.crt = pki("mismatch.pem");
  CHECK_FALSE(ClientContext::build(tls, "backends[0].servers[1]", errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == pki("mismatch.pem"));
  CHECK(errors[0].field == "backends[0].servers[1].crt");
  CHECK(errors[0].message == "private key does not match the certificate");
}

}  // namespace
}  // namespace mqlb::tls
