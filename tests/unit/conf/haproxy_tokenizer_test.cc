// tokenize_line: one haproxy.cfg line split into words as HAProxy 2.6 does.
#include "conf/haproxy_tokenizer.h"

#include <catch2/catch.hpp>
#include <map>

namespace mqlb::conf {
namespace {

using Words = std::vector<std::string>;

const std::map<std::string, std::string, std::less<>> kEnv = {
    {"HOST", "10.0.0.5"}, {"PORT", "1883"}, {"LIST", "a  b c"}, {"EMPTY", ""}};

std::optional<std::string> env(std::string_view name) {
  auto it = kEnv.find(name);
  if (it == kEnv.end()) return std::nullopt;
  return it->second;
}

Words words(std::string_view line) {
  auto r = tokenize_line(line, env);
  if (auto* e = std::get_if<TokenizeError>(&r)) FAIL("'" << line << "' refused: " << e->message);
  return std::get<Words>(r);
}

TokenizeError refused(std::string_view line) {
  auto r = tokenize_line(line, env);
  if (auto* w = std::get_if<Words>(&r))
    FAIL("'" << line << "' accepted as " << w->size() << " words");
  return std::get<TokenizeError>(r);
}

TEST_CASE("haproxy tokenizer splits on spaces and tabs and skips leading ones", "[haproxy]") {
  CHECK(words("  server\tb1   10.0.0.5:1883 check") ==
        Words{"server", "b1", "10.0.0.5:1883", "check"});
  CHECK(words("") == Words{});
  CHECK(words(" \t ") == Words{});
  CHECK(words("bind :1883   ") == Words{"bind", ":1883"});
}

TEST_CASE("haproxy tokenizer ends the line at a # outside quotes, even inside a word",
          "[haproxy]") {
  CHECK(words("# a comment") == Words{});
  CHECK(words("maxconn 100 # per frontend") == Words{"maxconn", "100"});
  CHECK(words("stats auth admin#secret") == Words{"stats", "auth", "admin"});
  CHECK(words("stats auth \"admin#secret\"") == Words{"stats", "auth", "admin#secret"});
  CHECK(words("stats auth 'admin#secret'") == Words{"stats", "auth", "admin#secret"});
  CHECK(words("stats auth admin\\#secret") == Words{"stats", "auth", "admin#secret"});
}

TEST_CASE("haproxy tokenizer reads the escapes of HAProxy 2.6", "[haproxy]") {
  struct Case {
    const char* line;
    Words expected;
  };
  const Case cases[] = {
      {R"(a\ b)", {"a b"}},
      {R"(a\\b)", {"a\\b"}},
      {R"(a\tb)", {"a\tb"}},
      {R"(a\nb)", {"a\nb"}},
      {R"(a\rb)", {"a\rb"}},
      {R"(a\x41b)", {"aAb"}},
      {R"(a\x4a)", {"aJ"}},
      {R"(\"quoted\")", {"\"quoted\""}},
      {R"(it\'s)", {"it's"}},
      {R"(a\1b)", {"a\\1b"}},      // not an escape: kept as written
      {R"(\$HOST)", {"\\$HOST"}},  // \$ only means '$' inside double quotes
      {R"("\$HOST")", {"$HOST"}},
      {R"('a\ b')", {"a\\ b"}},  // nothing is escaped inside single quotes
  };
  for (const auto& c : cases) {
    INFO(c.line);
    CHECK(words(c.line) == c.expected);
  }
}

TEST_CASE("haproxy tokenizer keeps single-quoted text literally", "[haproxy]") {
  CHECK(words("'a b' c") == Words{"a b", "c"});
  CHECK(words("'\"$HOST\"'") == Words{"\"$HOST\""});
  CHECK(words("x'a b'y") == Words{"xa by"});
  CHECK(words("a '' b") == Words{"a", "", "b"});
}

TEST_CASE("haproxy tokenizer expands environment variables inside double quotes only",
          "[haproxy]") {
  CHECK(words("server b1 \"$HOST\":\"$PORT\"") == Words{"server", "b1", "10.0.0.5:1883"});
  CHECK(words("server b1 \"${HOST}:${PORT}\"") == Words{"server", "b1", "10.0.0.5:1883"});
  CHECK(words("server b1 $HOST:$PORT") == Words{"server", "b1", "$HOST:$PORT"});
  CHECK(words("'${HOST}'") == Words{"${HOST}"});
  CHECK(words("\"${LIST}\"") == Words{"a  b c"});
  CHECK(words("\"x${UNSET}y\"") == Words{"xy"});
  CHECK(words("\"${UNSET}\"") == Words{""});
  CHECK(words("\"${UNSET-127.0.0.1}\"") == Words{"127.0.0.1"});
  CHECK(words("\"${HOST-127.0.0.1}\"") == Words{"10.0.0.5"});
  CHECK(words("\"${EMPTY-x}\"") == Words{""});  // set, even if empty
}

TEST_CASE("haproxy tokenizer splits a ${VAR[*]} value into words", "[haproxy]") {
  CHECK(words("bind \"${LIST[*]}\" z") == Words{"bind", "a", "b", "c", "z"});
}

TEST_CASE("haproxy tokenizer asks the lookup for the dot pseudo-variables", "[haproxy]") {
  EnvLookup with_line = [](std::string_view name) -> std::optional<std::string> {
    if (name == ".LINE") return "12";
    return std::nullopt;
  };
  auto r = tokenize_line("description \"line ${.LINE}\"", with_line);
  REQUIRE(std::holds_alternative<Words>(r));
  CHECK(std::get<Words>(r) == Words{"description", "line 12"});
  auto e = tokenize_line("description \"${.NOPE}\"", with_line);
  REQUIRE(std::holds_alternative<TokenizeError>(e));
  CHECK(std::get<TokenizeError>(e).message ==
        "forbidden first char in environment variable name at position 16");
}

TEST_CASE("haproxy tokenizer reports errors with HAProxy's words and 1-based positions",
          "[haproxy]") {
  struct Case {
    const char* line;
    size_t column;
    const char* message;
  };
  const Case cases[] = {
      {"  stats auth \"admin", 14, "unmatched quote at position 14"},
      {"a 'b", 3, "unmatched quote at position 3"},
      {"a \"${HOST\"", 5, "unmatched brace in environment variable name at position 5"},
      {"a \"${HOST-x\"", 5, "unmatched brace in environment variable name at position 5"},
      {"a \"$1\"", 5, "forbidden first char in environment variable name at position 5"},
      {"a \"${}\"", 6, "forbidden first char in environment variable name at position 6"},
      {"a \\x4", 3, "truncated or invalid hexadecimal sequence at position 3"},
      {"a \\xZZ", 3, "truncated or invalid hexadecimal sequence at position 3"},
      {"a \"${LIST[x]}\"", 10, "truncated or invalid word expansion sequence at position 10"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    TokenizeError e = refused(c.line);
    CHECK(e.column == c.column);
    CHECK(e.message == c.message);
  }
}

TEST_CASE("haproxy tokenizer refuses more than 64 words as HAProxy does", "[haproxy]") {
  std::string line;
  for (int i = 0; i < 64; ++i)
    line += "w" + std::to_string(i) + " ";
  line.pop_back();
  CHECK(words(line).size() == 64);
  // HAProxy counts the separator after the 64th word as a 65th argument.
  CHECK_THAT(refused(line + " ").message,
             Catch::Matchers::StartsWith("too many words, truncating after word 64"));
  CHECK_THAT(refused(line + " w64").message, Catch::Matchers::EndsWith(": <w63>."));
}

TEST_CASE("haproxy tokenizer has no line continuation: a final backslash is a word", "[haproxy]") {
  // HAProxy reads one line at a time; "\" before the newline is not an
  // escape of it, so the next line is a line of its own.
  CHECK(words("bind :1883 \\") == Words{"bind", ":1883", "\\"});
  CHECK(words("bind :1883\\") == Words{"bind", ":1883\\"});
}

TEST_CASE("haproxy tokenizer stops at a carriage return", "[haproxy]") {
  CHECK(words("maxconn 100\r") == Words{"maxconn", "100"});
}

}  // namespace
}  // namespace mqlb::conf
