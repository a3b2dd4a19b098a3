// A TLS client inside the test process (OpenSSL over a blocking loopback
// socket), for tests that pace, count or hash what crosses a TLS session,
// which the command line clients cannot. Main thread.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "support/wait.h"

namespace mqlb::test {

class TlsClient {
 public:
  // Connects to 127.0.0.1:`port` and completes a handshake, checking the
  // server's certificate against `ca_file` and the name "localhost"; each
  // read or write fails after `timeout` without progress. Throws on error.
  TlsClient(uint16_t port, const std::filesystem::path& ca_file, Millis timeout = Millis(10000));
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  void send_all(std::string_view data);
  // Up to `max` bytes; "" once the server has closed (close_notify or a
  // FIN). Throws on a timeout or an error.
  std::string receive_some(size_t max);
  // Whether the server ended with a close_notify (after receive_some gave "").
  bool got_close_notify() const { return close_notify_; }
  std::string protocol() const;
  // Sends close_notify and a FIN, reads (and drops) whatever comes until
  // the server's end or the timeout, and closes the socket.
  void close();

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool close_notify_ = false;
};

}  // namespace mqlb::test
