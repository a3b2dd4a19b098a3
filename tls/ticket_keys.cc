// TicketKeys: the key ring, HAProxy's key file, and OpenSSL's ticket callback.
#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>

namespace mqlb::tls {
namespace {

// The ex_data slot of an SSL_CTX holding its TicketKeys*.
int keys_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict RFC 4648 base64 with padding, as HAProxy's base64dec expects.
std::optional<std::vector<uint8_t>> decode_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  if (text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      const size_t at = i + j;
      int v = base64_value(text[at]);
      if (at >= text.size() - padding) {
        if (text[at] != '=') return std::nullopt;
        v = 0;
      } else if (v < 0) {
        return std::nullopt;
      }
      group = group << 6 | static_cast<uint32_t>(v);
    }
    out.push_back(static_cast<uint8_t>(group >> 16));
    out.push_back(static_cast<uint8_t>(group >> 8));
    out.push_back(static_cast<uint8_t>(group));
  }
  out.resize(out.size() - padding);
  return out;
}

std::string hex(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

}  // namespace

TicketKeys::TicketKeys(size_t key_size, bool from_file)
    : key_size_(key_size),
      from_file_(from_file),
      cipher_(EVP_CIPHER_fetch(nullptr, key_size == 16 ? "AES-128-CBC" : "AES-256-CBC", nullptr)) {}

TicketKeys::~TicketKeys() {
  EVP_CIPHER_free(cipher_);
}

bool TicketKeys::random_key(Key& key) {
  return RAND_bytes(key.name.data(), key.name.size()) == 1 &&
         RAND_priv_bytes(key.aes.data(), key.aes.size()) == 1 &&
         RAND_priv_bytes(key.hmac.data(), key.hmac.size()) == 1;
}

std::shared_ptr<TicketKeys> TicketKeys::random() {
  std::shared_ptr<TicketKeys> keys(new TicketKeys(kMaxKeySize, false));
  Key key;
  if (keys->cipher_ == nullptr || !random_key(key)) return nullptr;
  keys->keys_.push_back(key);
  return keys;
}

std::shared_ptr<TicketKeys> TicketKeys::load(const std::string& file,
                                             std::vector<conf::Error>& errors) {
  std::ifstream in(file);
  if (!in) {
    errors.push_back({file, 0, "", std::string("cannot read: ") + std::strerror(errno)});
    return nullptr;
  }
  const size_t before = errors.size();
  std::vector<std::vector<uint8_t>> decoded;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto bytes = decode_base64(line);
    if (!bytes) {
      errors.push_back({file, number, "", "not base64"});
      continue;
    }
    if (bytes->size() != 48 && bytes->size() != 80) {
      errors.push_back({file, number, "",
                        "key is " + std::to_string(bytes->size()) + " bytes, expected 48 or 80"});
      continue;
    }
    if (!decoded.empty() && bytes->size() != decoded.front().size()) {
      errors.push_back({file, number, "",
                        "key is " + std::to_string(bytes->size()) + " bytes, expected " +
                            std::to_string(decoded.front().size()) + " like the first key"});
      continue;
    }
    decoded.push_back(std::move(*bytes));
  }
  if (errors.size() != before) return nullptr;
  if (decoded.size() < kRing) {
    errors.push_back(
        {file, 0, "", "needs at least 3 keys, found " + std::to_string(decoded.size())});
    return nullptr;
  }

  const size_t key_size = (decoded.front().size() - kNameSize) / 2;
  std::shared_ptr<TicketKeys> keys(new TicketKeys(key_size, true));
  for (size_t i = decoded.size() - kRing; i < decoded.size(); ++i) {
    const uint8_t* p = decoded[i].data();
    Key key;
    std::memcpy(key.name.data(), p, kNameSize);
    std::memcpy(key.aes.data(), p + kNameSize, key_size);
    std::memcpy(key.hmac.data(), p + kNameSize + key_size, key_size);
    keys->keys_.push_back(key);
  }
  keys->current_ = 1;  // HAProxy: the penultimate key seals
  for (auto& bytes : decoded)
    OPENSSL_cleanse(bytes.data(), bytes.size());
  return keys;
}

bool TicketKeys::rotate() {
  if (from_file_) return true;
  Key key;
  if (!random_key(key)) return false;
  std::unique_lock lock(mutex_);
  keys_.insert(keys_.begin(), key);
  if (keys_.size() > kRing) keys_.pop_back();
  current_ = 0;
  return true;
}

void TicketKeys::install(SSL_CTX* ctx) const {
  SSL_CTX_set_ex_data(ctx, keys_index(), const_cast<TicketKeys*>(this));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeys::on_ticket);
}

size_t TicketKeys::size() const {
  std::shared_lock lock(mutex_);
  return keys_.size();
}

std::string TicketKeys::current_name_hex() const {
  std::shared_lock lock(mutex_);
  return hex(keys_[current_].name.data(), kNameSize);
}

int TicketKeys::on_ticket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                          EVP_MAC_CTX* mac, int enc) noexcept {
  // The SSL may have moved to another bind context on SNI; every context of
  // a bind has the same keys installed.
  auto* keys =
      static_cast<const TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keys_index()));
  if (keys == nullptr) return 0;  // sealing: no ticket; opening: a full handshake
  return keys->seal_or_open(name, iv, cipher, mac, enc == 1);
}

// OpenSSL's contract (SSL_CTX_set_tlsext_ticket_key_evp_cb(3)): when sealing,
// fill in the name and IV and initialise both contexts, return 1 (0 = no
// ticket); when opening, find the key by name (0 = unknown: full handshake),
// return 1, or 2 to have the client given a ticket under the current key.
int TicketKeys::seal_or_open(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                             EVP_MAC_CTX* mac, bool seal) const {
  std::shared_lock lock(mutex_);
  size_t index = current_;
  if (seal) {
    const int iv_size = EVP_CIPHER_get_iv_length(cipher_);
    if (RAND_bytes(iv, iv_size) != 1) return -1;
    std::memcpy(name, keys_[index].name.data(), kNameSize);
  } else {
    index = keys_.size();
    for (size_t i = 0; i < keys_.size(); ++i)
      if (std::memcmp(name, keys_[i].name.data(), kNameSize) == 0) index = i;
    if (index == keys_.size()) return 0;
  }
  const Key& key = keys_[index];

  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(mac, key.hmac.data(), key_size_, params) != 1) return -1;
  const int ok = seal ? EVP_EncryptInit_ex(cipher, cipher_, nullptr, key.aes.data(), iv)
                      : EVP_DecryptInit_ex(cipher, cipher_, nullptr, key.aes.data(), iv);
  if (ok != 1) return -1;
  return seal || index == current_ ? 1 : 2;
}

}  // namespace mqlb::tls
