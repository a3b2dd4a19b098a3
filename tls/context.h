#pragma once
// TLS contexts built from the configuration: ServerContext for a bind (one
// SSL_CTX per certificate bundle, chosen by SNI), ClientContext for TLS to a
// server. Built once on the control thread, every file read then; immutable
// afterwards and shared by all workers, which only call new_ssl().

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <openssl/types.h>

#include "conf/config.h"
#include "tls/ticket_keys.h"

namespace mqlb::tls {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const noexcept;
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
struct X509Free {
  void operator()(X509* cert) const noexcept;
};

// One bind's TLS: an SSL_CTX per certificate bundle, built once, shared by all workers.
// Lifetime: the SSL_CTX callbacks point at this object, so whoever holds an
// SSL from new_ssl() holds the shared_ptr too, until SSL_free.
class ServerContext {
 public:
  // Loads every file now. `where` is the config path used as conf::Error::field
  // (e.g. "frontends[0].bind[1]"); every problem is appended to `errors` naming
  // the file and the problem; returns nullptr if there was any.
  // `keys`: the process's rotating ticket keys, used unless tls.tls_ticket_keys
  // names a file (then loaded) or no_tls_tickets.
  static std::shared_ptr<const ServerContext> build(const conf::BindTls& tls,
                                                    const std::string& where,
                                                    std::shared_ptr<TicketKeys> keys,
                                                    std::vector<conf::Error>& errors);

  // A server-mode SSL on the default context, nullptr if out of memory; the caller owns it.
  SSL* new_ssl() const;

  // For tests and logs: the default certificate's serial in hex and subject
  // (OpenSSL's one-line form), and the number of certificate bundles.
  std::string default_serial() const;
  std::string default_subject() const;
  size_t bundle_count() const { return contexts_.size(); }

  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;
  ~ServerContext();

 private:
  ServerContext() = default;
  static int on_servername(SSL* ssl, int* alert, void* arg) noexcept;
  static int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_size,
                     const unsigned char* offer, unsigned int offer_size, void* arg) noexcept;
  const SSL_CTX* pick(std::string name) const;

  std::vector<SslCtxPtr> contexts_;  // [0] is the default
  // Lower-case DNS names, and "*.suffix" wildcards by "suffix", to an index
  // in contexts_; the first bundle naming a host wins.
  std::unordered_map<std::string, size_t> exact_, wildcard_;
  std::vector<unsigned char> alpn_;   // wire format: length-prefixed, server preference order
  std::shared_ptr<TicketKeys> keys_;  // null with no-tls-tickets
  std::unique_ptr<X509, X509Free> default_cert_;
};

class ClientContext {  // TLS to a server
 public:
  static std::shared_ptr<const ClientContext> build(const conf::ServerTls& tls,
                                                    const std::string& where,
                                                    std::vector<conf::Error>& errors);

  // A client-mode SSL sending the configured SNI and, when verifying with an
  // SNI, checking the certificate names it; the caller owns it.
  SSL* new_ssl() const;

  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

 private:
  ClientContext() = default;

  SslCtxPtr ctx_;
  std::string sni_;
  bool sni_is_ip_ = false;  // RFC 6066 §3: no IP literals in SNI
  bool verify_ = true;
};

// The reason a handshake failed, in words, from the error queue (drained) or
// the verify result, e.g. "unsupported protocol", "no shared cipher",
// "certificate verify failed: certificate revoked", "peer did not return a
// certificate". Used for "SSL handshake failure: <reason>".
std::string failure_reason(const SSL* ssl, int ssl_error);

}  // namespace mqlb::tls
