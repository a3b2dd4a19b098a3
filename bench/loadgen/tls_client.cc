#include "tls_client.h"

#include <openssl/err.h>
#include <openssl/x509.h>

namespace mqlb::bench {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no OpenSSL error";
  if (const char* reason = ERR_reason_error_string(e)) return reason;
  // System errors (a missing file) have no reason string of their own.
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

std::variant<std::unique_ptr<TlsClient>, std::string> TlsClient::make(const Options& o) {
  std::unique_ptr<TlsClient> c(new TlsClient);
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (c->ctx_ == nullptr) return "--tls: cannot create an SSL context: " + openssl_error();
  // Both proxies are compared on TLS 1.3; anything older fails the handshake.
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_3_VERSION);
  c->servername_ = o.servername;
  c->verify_ = !o.cafile.empty();
  c->resume_ = o.tls_resume;
  if (c->verify_) {
    if (SSL_CTX_load_verify_locations(c->ctx_, o.cafile.c_str(), nullptr) != 1)
      return "--cafile: cannot load '" + o.cafile + "': " + openssl_error();
    SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER, nullptr);
  } else {
    // Checking the chain costs the client CPU, not the proxy; the
    // CertificateVerify signature is still checked, as TLS 1.3 requires.
    SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_NONE, nullptr);
  }
  if (c->resume_) {
    // Tickets come to on_new_session only; no cache of our own to search.
    SSL_CTX_set_session_cache_mode(c->ctx_,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c->ctx_, on_new_session);
  } else {
    SSL_CTX_set_session_cache_mode(c->ctx_, SSL_SESS_CACHE_OFF);
  }
  return c;
}

TlsClient::~TlsClient() {
  SSL_CTX_free(ctx_);
}

SSL* TlsClient::new_ssl(TlsLoop& loop) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  if (rbio == nullptr || wbio == nullptr) {
    BIO_free(rbio);
    BIO_free(wbio);
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_bio(ssl, rbio, wbio);  // the SSL owns both from here
  SSL_set_connect_state(ssl);
  SSL_set_app_data(ssl, &loop);
  bool ok = true;
  if (!servername_.empty()) {
    ok = SSL_set_tlsext_host_name(ssl, servername_.c_str()) == 1;
    if (ok && verify_) ok = SSL_set1_host(ssl, servername_.c_str()) == 1;
  }
  if (ok && resume_ && loop.session != nullptr) {
    // Each connection gets a copy: OpenSSL may mark the session a connection
    // used as not resumable (SSL_CTX_remove_session when it ends), and the
    // kept one must stay usable for all that follow.
    SSL_SESSION* copy = SSL_SESSION_dup(loop.session);
    ok = copy != nullptr && SSL_set_session(ssl, copy) == 1;
    SSL_SESSION_free(copy);
  }
  if (!ok) {
    SSL_free(ssl);
    return nullptr;
  }
  return ssl;
}

void TlsClient::handshake_done(SSL* ssl, TlsLoop& loop) const {
  ++loop.counts.handshakes;
  if (SSL_session_reused(ssl)) ++loop.counts.resumed;
  if (!loop.counts.negotiated.empty()) return;
  // e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384 x25519, server key EC 256": the
  // same on both proxies, or the comparison is not like for like.
  std::string d = std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
  if (const char* group = SSL_group_to_name(ssl, SSL_get_negotiated_group(ssl)))
    d += std::string(" ") + group;
  if (X509* cert = SSL_get1_peer_certificate(ssl)) {
    if (EVP_PKEY* key = X509_get0_pubkey(cert)) {
      d += std::string(", server key ") + EVP_PKEY_get0_type_name(key) + " " +
           std::to_string(EVP_PKEY_get_bits(key));
    }
    X509_free(cert);
  }
  loop.counts.negotiated.insert(d);
}

// TLS 1.3 tickets arrive after the handshake (RFC 8446 §4.6.1); the first
// resumable one is kept for the loop, the others are left to OpenSSL.
int TlsClient::on_new_session(SSL* ssl, SSL_SESSION* session) noexcept {
  auto* loop = static_cast<TlsLoop*>(SSL_get_app_data(ssl));
  if (loop == nullptr || loop->session != nullptr || !SSL_SESSION_is_resumable(session)) return 0;
  loop->session = session;  // returning 1 hands us the reference
  return 1;
}

}  // namespace mqlb::bench
