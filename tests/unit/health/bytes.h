#pragma once
// Hex text to bytes and back, for the health tests.

#include <string>
#include <string_view>

namespace mqlb::health::test {

inline std::string bytes(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

inline std::string hex(std::string_view b) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : b) {
    out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
    out.push_back(kHex[static_cast<unsigned char>(c) & 0xf]);
  }
  return out;
}

}  // namespace mqlb::health::test
