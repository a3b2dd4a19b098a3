// TicketKeys: HAProxy's tls-ticket-keys file and the random ring's rotation.
#include "tls/ticket_keys.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/unit/tls/pki.h"

namespace mqlb::tls {
namespace {

std::string write_keys(const std::string& name, const std::string& text) {
  const std::string file = test::pki_dir() + "/" + name;
  std::ofstream(file) << text;
  return file;
}

// The key name test::ticket_key(seed) starts with, in hex.
std::string name_hex(char seed) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < TicketKeys::kNameSize; ++i) {
    const auto byte = static_cast<unsigned char>(seed + i % 7);
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xf];
  }
  return out;
}

TEST_CASE("a keys file keeps its last three keys and seals with the penultimate", "[tls]") {
  using test::ticket_key;
  const auto file =
      write_keys("keys-80", "# rotated weekly\n" + ticket_key('A') + "\n" + ticket_key('B') +
                                "\n\n" + ticket_key('C') + "\r\n" + ticket_key('D') + "\n");
  std::vector<conf::Error> errors;
  auto keys = TicketKeys::load(file, errors);
  CHECK(errors.empty());
  REQUIRE(keys);
  CHECK(keys->size() == 3);
  CHECK(keys->current_name_hex() == name_hex('C'));
  // Loaded keys change only when the file does.
  CHECK(keys->rotate());
  CHECK(keys->current_name_hex() == name_hex('C'));
}

TEST_CASE("a keys file of 48-byte AES-128 keys loads", "[tls]") {
  using test::ticket_key;
  const auto file = write_keys("keys-48", ticket_key('A', 48) + "\n" + ticket_key('B', 48) + "\n" +
                                              ticket_key('C', 48) + "\n");
  std::vector<conf::Error> errors;
  auto keys = TicketKeys::load(file, errors);
  CHECK(errors.empty());
  REQUIRE(keys);
  CHECK(keys->current_name_hex() == name_hex('B'));
}

TEST_CASE("keys file errors name the file and the line", "[tls]") {
  using test::ticket_key;
  struct Case {
    const char* name;
    std::string text;
    int line;
    std::string message;
  };
  const Case cases[] = {
      {"keys-length", ticket_key('A') + "\n" + ticket_key('B', 33) + "\n" + ticket_key('C') + "\n",
       2, "key is 33 bytes, expected 48 or 80"},
      {"keys-mixed", ticket_key('A') + "\n" + ticket_key('B') + "\n" + ticket_key('C', 48) + "\n",
       3, "key is 48 bytes, expected 80 like the first key"},
      {"keys-few", ticket_key('A') + "\n", 0, "needs at least 3 keys, found 1"},
      {"keys-base64", ticket_key('A') + "\nnot*base64!\n" + ticket_key('C') + "\n", 2,
       "not base64"},
      {"keys-truncated", ticket_key('A') + "\n" + ticket_key('B').substr(1) + "\n", 2,
       "not base64"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto file = write_keys(c.name, c.text);
    std::vector<conf::Error> errors;
    CHECK_FALSE(TicketKeys::load(file, errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].file == file);
    CHECK(errors[0].line == c.line);
    CHECK(errors[0].field.empty());
    CHECK(errors[0].message == c.message);
  }
}

TEST_CASE("a missing keys file says why", "[tls]") {
  std::vector<conf::Error> errors;
  const std::string file = test::pki_dir() + "/no-such-keys";
  CHECK_FALSE(TicketKeys::load(file, errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].to_string() == file + ": cannot read: No such file or directory");
}

TEST_CASE("random keys rotate to a new sealing key and keep three", "[tls]") {
  auto keys = TicketKeys::random();
  REQUIRE(keys);
  CHECK(keys->size() == 1);
  const std::string first = keys->current_name_hex();
  REQUIRE(keys->rotate());
  CHECK(keys->size() == 2);
  CHECK(keys->current_name_hex() != first);
  REQUIRE(keys->rotate());
  REQUIRE(keys->rotate());
  CHECK(keys->size() == 3);
  CHECK(TicketKeys::random()->current_name_hex() != keys->current_name_hex());
}

}  // namespace
}  // namespace mqlb::tls
