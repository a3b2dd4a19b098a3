#pragma once
// The load generator's side of TLS: one client SSL_CTX (TLS 1.3 only) for the
// whole process, made on the main thread before the loops start and only read
// afterwards; each loop owns a TlsLoop with its resumption ticket and counts.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <variant>

#include "options.h"
#include "workload.h"

namespace mqlb::bench {

// One loop's TLS state. Loop thread.
struct TlsLoop {
  TlsLoop() = default;
  TlsLoop(const TlsLoop&) = delete;
  TlsLoop& operator=(const TlsLoop&) = delete;
  ~TlsLoop() { SSL_SESSION_free(session); }

  SSL_SESSION* session = nullptr;  // --tls-resume: the first resumable session, owned
  TlsCounts counts;
};

class TlsClient {
 public:
  // The client for --tls, or an error that names the option at fault.
  static std::variant<std::unique_ptr<TlsClient>, std::string> make(const Options& o);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // A client SSL on two memory BIOs, offering the loop's ticket if it has one;
  // nullptr if OpenSSL could not make one.
  SSL* new_ssl(TlsLoop& loop) const;
  // Counts a finished handshake; the loop's first one is also described.
  void handshake_done(SSL* ssl, TlsLoop& loop) const;

 private:
  TlsClient() = default;
  static int on_new_session(SSL* ssl, SSL_SESSION* session) noexcept;

  SSL_CTX* ctx_ = nullptr;
  std::string servername_;
  bool verify_ = false;
  bool resume_ = false;
};

// The OpenSSL error queue's oldest entry as words, and the queue cleared.
std::string openssl_error();

}  // namespace mqlb::bench
