#include "support/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mqlb::test {
namespace {

std::string openssl_errors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    text += (text.empty() ? "" : "; ") + std::string(buf);
  }
  return text.empty() ? std::strerror(errno) : text;
}

}  // namespace

TlsClient::TlsClient(uint16_t port, const std::filesystem::path& ca_file, Millis timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int error = errno;
    ::close(fd_);
    throw std::runtime_error("TlsClient: connect to 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(error));
  }
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_file(ctx_, ca_file.c_str()) != 1) {
    std::string why = openssl_errors();
    SSL_CTX_free(ctx_);
    ::close(fd_);
    throw std::runtime_error("TlsClient: cannot load " + ca_file.string() + ": " + why);
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  SSL_set1_host(ssl_, "localhost");
  SSL_set_fd(ssl_, fd_);
  if (SSL_connect(ssl_) != 1) {
    std::string why = openssl_errors();
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    ::close(fd_);
    throw std::runtime_error("TlsClient: handshake with 127.0.0.1:" + std::to_string(port) +
                             " failed: " + why);
  }
}

TlsClient::~TlsClient() {
  close();
  SSL_CTX_free(ctx_);
}

void TlsClient::close() {
  if (!ssl_) return;
  // An orderly end: close_notify and FIN, then read to the server's end,
  // so that nothing unread (such as TLS 1.3 session tickets) makes close(2)
  // send a reset that would destroy what is still in flight.
  SSL_shutdown(ssl_);
  ::shutdown(fd_, SHUT_WR);
  char sink[4096];
  while (::recv(fd_, sink, sizeof sink, 0) > 0) {
  }
  SSL_free(ssl_);
  ssl_ = nullptr;
  ::close(fd_);
  fd_ = -1;
}

void TlsClient::send_all(std::string_view data) {
  while (!data.empty()) {
    size_t written = 0;
    if (SSL_write_ex(ssl_, data.data(), data.size(), &written) != 1)
      throw std::runtime_error("TlsClient: write failed: " + openssl_errors());
    data.remove_prefix(written);
  }
}

std::string TlsClient::receive_some(size_t max) {
  std::string out(max, '\0');
  size_t got = 0;
  if (SSL_read_ex(ssl_, out.data(), max, &got) == 1) {
    out.resize(got);
    return out;
  }
  int error = SSL_get_error(ssl_, 0);
  if (error == SSL_ERROR_ZERO_RETURN) {
    close_notify_ = true;
    return "";
  }
  // A FIN without close_notify.
  if (error == SSL_ERROR_SSL &&
      ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ERR_clear_error();
    return "";
  }
  throw std::runtime_error("TlsClient: read failed (SSL error " + std::to_string(error) +
                           "): " + openssl_errors());
}

std::string TlsClient::protocol() const {
  return SSL_get_version(ssl_);
}

}  // namespace mqlb::test
