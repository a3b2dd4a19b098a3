#pragma once
// One TLS connection as a transform between a socket and the relay: the
// session gives it ciphertext access through a Transport, and reads and
// writes plaintext. The BIO underneath is mqlb's own: it reads with the
// session's recv (straight into OpenSSL's record buffer, where the record
// is decrypted in place) and hands every encrypted record to the session's
// send path (the socket, or what it does not take to the outbox, counted
// against the same watermarks as plain bytes). A pair of memory BIOs would
// copy each record twice more.
// Thread: the session's worker.

#include <openssl/ssl.h>
#include <sys/types.h>

#include <cstddef>
#include <string>

namespace mqlb::tls {

// The session side under a Stream.
class Transport {
 public:
  // As recv(2): bytes read, 0 at the end of the stream, or -1 with errno
  // (EAGAIN when nothing is there now).
  virtual ssize_t tls_recv(char* buf, size_t n) = 0;
  // Takes all `n` bytes (sent, or queued to be sent); false when the
  // connection failed.
  virtual bool tls_send(const char* data, size_t n) = 0;

 protected:
  ~Transport() = default;
};

class Stream {
 public:
  enum class Status : uint8_t {
    Done,    // handshake complete / bytes returned
    WantIo,  // nothing more until the socket is readable
    Eof,     // close_notify, or the FIN (a TCP end without close_notify reads as EOF)
    Failed,  // a TLS error or a transport error; reason() says which
  };

  // Takes `ssl` (server or client mode already set).
  Stream(SSL* ssl, Transport& transport);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  Status handshake();
  bool handshake_done() const { return SSL_is_init_finished(ssl_); }
  // Decrypts up to `n` bytes into `buf`; `got` is set for Done.
  Status read(char* buf, size_t n, size_t& got);
  // True while decrypted or buffered bytes wait inside OpenSSL, so the
  // socket's readiness does not tell it all.
  bool pending() const { return SSL_has_pending(ssl_); }
  // Encrypts all `n` bytes into the transport; false when it failed.
  bool write(const char* data, size_t n);
  // Sends close_notify (once).
  void close_notify();
  bool notified() const { return notify_sent_; }

  // "TLSv1.3 TLS_AES_256_GCM_SHA384 resumed=yes client-cert=verified
  // CN=device-1" (or client-cert=none), for the handshake's debug line.
  std::string describe() const;

  // After Failed: the reason in words ("unsupported protocol",
  // "certificate verify failed: certificate has expired", ...), or "" when
  // the peer just closed or reset.
  const std::string& reason() const { return reason_; }
  // The transport ended (FIN or reset) before the handshake completed.
  bool closed_early() const { return closed_early_; }

  SSL* ssl() const { return ssl_; }

 private:
  Status fail(int ssl_error);

  SSL* ssl_;
  std::string reason_;
  bool notify_sent_ = false;
  bool closed_early_ = false;
};

}  // namespace mqlb::tls
