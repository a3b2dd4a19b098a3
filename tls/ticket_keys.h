#pragma once
// TLS session ticket keys (RFC 5077 style: key name, AES-CBC key, HMAC-SHA256
// key), shared by every SSL_CTX of the process so that a ticket issued by one
// worker resumes on any other. Used from every worker during handshakes,
// rotated from the control thread; the key ring is guarded by a shared_mutex
// taken only when a ticket is issued or opened, never on the byte path.

#include <array>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include <openssl/types.h>

#include "conf/config.h"

namespace mqlb::tls {

class TicketKeys {
 public:
  // Bytes of a key name, and of an AES-256 or HMAC key.
  static constexpr size_t kNameSize = 16;
  static constexpr size_t kMaxKeySize = 32;
  // Keys kept: the encryption key and two more that still open tickets.
  static constexpr size_t kRing = 3;

  // One random AES-256 + HMAC-SHA256 key; nullptr if the random generator failed.
  static std::shared_ptr<TicketKeys> random();

  // HAProxy's `tls-ticket-keys` file: one base64 key per line, 48 bytes
  // (16 name, 16 AES-128, 16 HMAC) or 80 bytes (16 name, 32 AES-256, 32 HMAC),
  // all as long as the first, at least 3. The last three open tickets, the
  // penultimate one seals them, so operators rotate by appending a line and
  // reloading. Empty lines and lines starting with '#' are skipped. Problems
  // are appended to `errors` as {file, line, "", message}; nullptr then.
  static std::shared_ptr<TicketKeys> load(const std::string& file,
                                          std::vector<conf::Error>& errors);

  ~TicketKeys();
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // Random keys only (loaded keys change by editing the file): a new key
  // seals tickets from now on; the last two still open theirs and ask for a
  // renewal. Returns false, keys unchanged, if the random generator failed.
  bool rotate();

  // Sets the ticket callback of `ctx` to these keys. The SSL_CTX keeps a raw
  // pointer: its owner (ServerContext) keeps this object alive as long.
  void install(SSL_CTX* ctx) const;

  // For tests and logs: keys kept, and the sealing key's name in hex.
  size_t size() const;
  std::string current_name_hex() const;

 private:
  struct Key {
    std::array<uint8_t, kNameSize> name{};
    std::array<uint8_t, kMaxKeySize> aes{};
    std::array<uint8_t, kMaxKeySize> hmac{};
  };

  TicketKeys(size_t key_size, bool from_file);
  static bool random_key(Key& key);
  static int on_ticket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                       EVP_MAC_CTX* mac, int enc) noexcept;
  int seal_or_open(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                   bool seal) const;

  const size_t key_size_;  // 16 (AES-128, 48-byte file keys) or 32
  const bool from_file_;
  EVP_CIPHER* cipher_ = nullptr;  // fetched once: an implicit fetch per ticket is slow in OpenSSL 3
  mutable std::shared_mutex mutex_;
  std::vector<Key> keys_;  // guarded by mutex_
  size_t current_ = 0;     // guarded by mutex_: the index in keys_ that seals tickets
};

}  // namespace mqlb::tls
