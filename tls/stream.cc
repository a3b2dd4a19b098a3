#include "tls/stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <cerrno>

#include "tls/context.h"

namespace mqlb::tls {
namespace {

// What the BIO learned from the transport on its last read.
struct BioState {
  Transport* transport;
  bool eof = false;
  bool failed = false;
};

int bio_write(BIO* b, const char* data, size_t n, size_t* written) {
  auto* s = static_cast<BioState*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (!s->transport->tls_send(data, n)) {
    s->failed = true;
    return 0;
  }
  *written = n;
  return 1;
}

int bio_read(BIO* b, char* buf, size_t n, size_t* got) {
  auto* s = static_cast<BioState*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  ssize_t r = s->transport->tls_recv(buf, n);
  if (r > 0) {
    *got = static_cast<size_t>(r);
    return 1;
  }
  if (r == 0)
    s->eof = true;
  else if (errno == EAGAIN || errno == EWOULDBLOCK)
    BIO_set_retry_read(b);
  else
    s->failed = true;
  return 0;
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // every record went to the transport already
    case BIO_CTRL_EOF:
      // OpenSSL asks this after a read of 0 to tell an orderly end (read
      // as close_notify, SSL_OP_IGNORE_UNEXPECTED_EOF) from an error.
      return static_cast<BioState*>(BIO_get_data(b))->eof ? 1 : 0;
    default:
      return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO* b) {
  delete static_cast<BioState*>(BIO_get_data(b));
  BIO_set_data(b, nullptr);
  return 1;
}

const BIO_METHOD* bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mqlb session");
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    BIO_meth_set_destroy(m, bio_destroy);
    return m;
  }();
  return method;
}

BioState& state_of(SSL* ssl) {
  return *static_cast<BioState*>(BIO_get_data(SSL_get_rbio(ssl)));
}

}  // namespace

Stream::Stream(SSL* ssl, Transport& transport) : ssl_(ssl) {
  BIO* bio = BIO_new(bio_method());
  BIO_set_data(bio, new BioState{&transport});
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; SSL_free frees it
  // Read more than the record asked for when the socket has it: fewer
  // recv calls (the buffer is still released when it runs empty).
  SSL_set_read_ahead(ssl_, 1);
}

Stream::~Stream() {
  SSL_free(ssl_);
}

Stream::Status Stream::handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) return Status::Done;
  return fail(SSL_get_error(ssl_, r));
}

Stream::Status Stream::read(char* buf, size_t n, size_t& got) {
  ERR_clear_error();
  if (SSL_read_ex(ssl_, buf, n, &got) == 1) return Status::Done;
  return fail(SSL_get_error(ssl_, 0));
}

bool Stream::write(const char* data, size_t n) {
  ERR_clear_error();
  size_t written = 0;
  // The BIO takes every record whole, so a write is never partial.
  if (SSL_write_ex(ssl_, data, n, &written) == 1) return true;
  fail(SSL_get_error(ssl_, 0));
  return false;
}

void Stream::close_notify() {
  if (notify_sent_) return;
  notify_sent_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // writes the alert; the peer's is not waited for
  ERR_clear_error();
}

std::string Stream::describe() const {
  std::string out = std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_) +
                    " resumed=" + (SSL_session_reused(ssl_) ? "yes" : "no") + " client-cert=";
  X509* peer = SSL_get0_peer_certificate(ssl_);
  if (!peer) return out + "none";
  out += SSL_get_verify_result(ssl_) == X509_V_OK ? "verified" : "unverified";
  char cn[256];
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn) > 0)
    out += std::string(" CN=") + cn;
  return out;
}

Stream::Status Stream::fail(int ssl_error) {
  const BioState& io = state_of(ssl_);
  switch (ssl_error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:  // not from this BIO, which never refuses a write
      return Status::WantIo;
    case SSL_ERROR_ZERO_RETURN:
      if (!SSL_is_init_finished(ssl_)) {
        closed_early_ = true;
        return Status::Failed;
      }
      return Status::Eof;
    default:
      break;
  }
  if (io.eof || io.failed) {
    // The peer closed or reset: no TLS reason to give.
    ERR_clear_error();
    if (!SSL_is_init_finished(ssl_)) {
      closed_early_ = true;
      return Status::Failed;
    }
    return io.eof ? Status::Eof : Status::Failed;
  }
  reason_ = failure_reason(ssl_, ssl_error);
  return Status::Failed;
}

}  // namespace mqlb::tls
