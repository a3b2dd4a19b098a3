#pragma once
// HAProxy's ACLs as far as a TCP frontend can decide on them before it picks
// a backend (configuration manual §7): `ssl_fc` (the client speaks TLS),
// `ssl_fc_sni` (the name it asked for), `src` (its address) and `dst_port`
// (the port it connected to), for `use_backend NAME if|unless CONDITION`.
// Parsing and matching are pure: words in, a value or an error out; the
// caller hands in what it knows of the connection.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mqlb::conf {

// One test: "ssl_fc_sni -i broker.example", "src 10.0.0.0/8 192.168.1.7",
// "dst_port 8883", "ssl_fc".
struct AclTest {
  enum class Fetch { SslFc, SslFcSni, Src, DstPort };
  enum class Match { Exact, Beg, End, Sub, Dom };  // -m str|beg|end|sub|dom (names)
  Fetch fetch = Fetch::SslFc;
  Match match = Match::Exact;
  bool ignore_case = false;           // -i
  std::vector<std::string> patterns;  // as written; any one matching is a match

  bool operator==(const AclTest&) const = default;
};

// A term of a condition: a named ACL (every line of that name, any one
// matching) or an inline `{ ... }` one; `!` negates it.
struct AclTerm {
  bool negate = false;
  std::vector<AclTest> any_of;

  bool operator==(const AclTerm&) const = default;
};

// Terms side by side must all match; `||` or `or` separates alternatives.
struct Condition {
  std::vector<std::vector<AclTerm>> any_of;

  bool operator==(const Condition&) const = default;
};

// `use_backend NAME if|unless CONDITION`, in the order written: the first
// rule that applies picks the backend, else default_backend.
struct BackendRule {
  std::string backend;
  bool unless = false;
  Condition condition;

  bool operator==(const BackendRule&) const = default;
};

// `tcp-request connection accept|reject [if|unless CONDITION]`, in the order
// written: the first rule that applies decides, and a connection no rule
// takes is accepted. Decided as the connection is accepted: `src`,
// `dst_port` and `ssl_fc` (whether the bind is TLS) are known, the SNI is not
// (the handshake comes later), so `ssl_fc_sni` does not match, as in HAProxy.
struct ConnectionRule {
  enum class Action { Accept, Reject };
  Action action = Action::Accept;
  bool unless = false;
  Condition condition;  // empty: always applies

  bool operator==(const ConnectionRule&) const = default;
};

// The named ACLs of a frontend: `acl NAME TEST` lines, several per name.
using NamedAcls = std::map<std::string, std::vector<AclTest>>;

// "fetch [-i] [-m METHOD] [--] patterns...", HAProxy's `acl` line after its
// name. An error in HAProxy's words when the fetch, a flag or a pattern is
// not one mqlb knows.
std::variant<AclTest, std::string> parse_acl_test(const std::vector<std::string>& words);

// The words after `if`/`unless`: named ACLs, `{ TEST }`, `!`, `||`/`or`.
std::variant<Condition, std::string> parse_condition(const std::vector<std::string>& words,
                                                     const NamedAcls& named);

// A test as the words parse_acl_test reads back: "ssl_fc_sni -i a.example".
std::string to_text(const AclTest& t);
// The condition as words parse_condition reads back to the same value:
// "{ ssl_fc_sni -i a.example } || ! { src 10.0.0.0/8 }". A term of several
// tests (a named ACL of several lines) needs a name inside a group: it is
// added to `names` ("acl1", ...) for the caller to write out too.
std::string to_text(const Condition& c, NamedAcls& names);

// What is known of a connection when its backend is chosen.
struct ConnectionFacts {
  bool tls = false;
  std::string_view sni;  // empty: none sent (or not TLS)
  // The client's address: 4 bytes (IPv4) or 16 (IPv6), network order.
  const uint8_t* src = nullptr;
  size_t src_len = 0;
  uint16_t dst_port = 0;
};

bool matches(const AclTest& t, const ConnectionFacts& c);
bool matches(const Condition& cond, const ConnectionFacts& c);
// The backend the first applying rule names, or nullopt (default_backend).
std::optional<std::string_view> pick_backend(const std::vector<BackendRule>& rules,
                                             const ConnectionFacts& c);

// Whether the first applying connection rule accepts (true when none applies).
bool connection_accepted(const std::vector<ConnectionRule>& rules, const ConnectionFacts& c);
// The first TLS fetch of `cond` ("ssl_fc", "ssl_fc_sni"), or empty: HAProxy
// warns about them in a `tcp-request connection` rule.
std::string_view tls_fetch_in(const Condition& cond);

}  // namespace mqlb::conf
