#pragma once
// Test support for tls/: throwaway certificates made once per test run with
// the openssl command line, and complete handshakes between two SSL objects
// over an in-memory BIO pair (no sockets). Test thread only.

#include <string>

#include <openssl/types.h>

namespace mqlb::tls::test {

// The directory holding the generated files (created on first use, removed
// at exit). Its files:
//   ca.pem                 root CA (ECDSA P-256); inter.pem: an intermediate under it
//   server-bundle.pem      key, intermediate, leaf in that order: CN and SAN
//                          mqtt.example.com, SAN *.devices.example.com, serial 1001
//   other-bundle.pem       broker.example.org and *.broker.example.org, serial 2002
//   legacy-bundle.pem      CN legacy.example.net and no SAN, serial 2003
//   rsa-bundle.pem         RSA 2048, rsa.example.com, serial 4004
//   dual.pem.ecdsa/.rsa    dual.example.com, serials 5005 (ECDSA) and 5006 (RSA)
//   certs/                 other, legacy and rsa bundles, plus junk.key (skipped)
//   client-bundle.pem      CN device-1 (serial 3001); revoked-bundle.pem: device-2,
//                          revoked in crl.pem
//   otherca.pem, otherclient-bundle.pem   a second CA and a client under it
//   mismatch.pem (server cert, other key), nokey.pem, garbage.pem
const std::string& pki_dir();
std::string pki(const std::string& name);  // pki_dir() + "/" + name

// Runs both handshakes to completion or failure, then lets the client read
// the server's session tickets. Reasons come from failure_reason().
struct Outcome {
  bool server_ok = false;
  bool client_ok = false;
  std::string server_reason;
  std::string client_reason;
  bool ok() const { return server_ok && client_ok; }
};
Outcome handshake(SSL* server, SSL* client);

// A HAProxy ticket key line: `size` bytes (48 or 80) made from `seed`, in base64.
std::string ticket_key(char seed, size_t size = 80);

// The peer certificate's serial in hex ("" when none), as SSL sees it.
std::string peer_serial(const SSL* ssl);

}  // namespace mqlb::tls::test
