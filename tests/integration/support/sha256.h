// Incremental SHA-256 (OpenSSL EVP) to compare large streams without
// keeping them. One thread at a time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace mqlb::test {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // The digest in lowercase hex; the object is spent afterwards.
  std::string hex_digest();

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace mqlb::test
