#pragma once
// HAProxy's `option tcp-check` (2.6 src/tcpcheck.c): rules parsed from their
// text, and a pure executor that tells an I/O adapter what to do next. The
// plain TCP check (connect only) and the MQTT check (CONNECT, CONNACK,
// DISCONNECT) are built-in rule sets run by the same executor, so one adapter
// drives all three. Pure: no sockets, no clock (the adapter fills in the
// duration of the result), no exceptions out of the executor.

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "health/mqtt_check.h"
#include "health/status.h"

namespace mqlb::health {

struct ConnectRule {
  uint16_t port = 0;      // 0: the server's check port
  bool ssl = false;       // "ssl"; the implicit connect uses the server's check-ssl
  bool implicit = false;  // added before a rule set that does not start with connect
};

struct SendRule {
  std::string bytes;  // `send` with its escapes resolved, or `send-binary` decoded
};

struct ExpectRule {
  enum class Type { String, Binary, RString, RBinary };
  Type type = Type::String;
  bool inverse = false;  // "!": the pattern must not be found
  int min_recv = -1;     // "min-recv": -1 waits for a match until the end of data
  std::string pattern;   // String/Binary: the bytes; RString/RBinary: the expression
  std::shared_ptr<const std::regex> regex;  // RString, RBinary (matched on upper-case hex)
};

// The MQTT check's expect: one CONNACK with code 0.
struct ConnackRule {
  int protocol = 4;
};

struct Rule {
  int step = 0;  // HAProxy's step id: position among the rules (comments counted) + 1; 0 = implicit
  std::string comment;
  std::variant<ConnectRule, SendRule, ExpectRule, ConnackRule> what;
};

struct Ruleset {
  // HAProxy words its failures by the kind of check: step details for
  // tcp-check only, "(tcp-check)" as the info of a tcp-check success.
  enum class Kind { Tcp, TcpCheck, Mqtt };
  Kind kind = Kind::Tcp;
  std::vector<Rule> rules;
};

using ParseResult = std::variant<std::vector<Rule>, std::vector<std::string>>;

// One rule per entry, as written after `tcp-check` in haproxy.cfg:
//   connect [port N] [ssl] [comment TEXT]
//   send STRING [comment TEXT]            (HAProxy's quoting and \r \n \t \xNN escapes)
//   send-binary HEX [comment TEXT]
//   expect [!] [min-recv N] string|binary|rstring|rbinary PATTERN [comment TEXT]
//                                         (options in any order, as HAProxy reads them)
//   comment TEXT                          (applies to the following rules, as in HAProxy)
// An implicit connect is put first when the first rule is not a connect.
// Errors name the entry: "tcp-check[2] 'expect bnary 2002': unknown pattern type ...".
ParseResult parse_rules(const std::vector<std::string>& lines);

// HAProxy's word splitting (configuration manual §2.2): blanks separate
// words, "..." quotes weakly (escapes still work), '...' strongly, an unquoted
// # starts a comment. Environment variables are not expanded. On error the
// vector is empty and `error` says why.
std::vector<std::string> split_words(std::string_view line, std::string* error);

Ruleset tcp_rules();
Ruleset tcp_check_rules(std::vector<Rule> rules);
Ruleset mqtt_rules(const ConnectPacket& connect);

// What the adapter does next.
namespace action {
struct Connect {
  uint16_t port = 0;  // 0: the server's check port
  bool ssl = false;   // TLS before on_connected(): `connect ssl`, or check-ssl
};
struct Send {
  std::string bytes;  // write them, then on_sent()
};
struct Expect {};  // nothing to do: wait for the next event (bytes, end of data, timeout)
struct Done {
  CheckResult result;  // close the connection; fill in result.duration
};
}  // namespace action
using Action = std::variant<action::Connect, action::Send, action::Expect, action::Done>;

// One run of a rule set against one server. Thread: the check's loop; the
// rule set must outlive the run (it lives in the snapshot). A Connect while
// connected means: close, then connect again. After Done every event returns
// the same Done.
class TcpCheckRun {
 public:
  // `check_ssl`: the server's check-ssl, which puts the implicit connect
  // (the only one of a tcp or mqtt check) over TLS.
  explicit TcpCheckRun(const Ruleset& rules, bool check_ssl = false)
      : rules_(&rules), check_ssl_(check_ssl) {}

  Action start();
  Action on_connected();                           // TCP (and TLS, if asked) established
  Action on_connect_error(std::string_view what);  // e.g. "Connection refused": L4CON
  Action on_tls_error(std::string_view what);      // handshake failed: L6RSP
  Action on_tls_timeout();                         // handshake timed out: L6TOUT
  Action on_sent();
  Action on_data(std::string_view bytes);
  Action on_closed();                      // the server closed its side (end of data)
  Action on_error(std::string_view what);  // I/O error once connected: SOCKERR
  Action on_timeout();                     // `timeout check` (or connect) expired

 private:
  enum class Phase { Idle, Connecting, Sending, Expecting, Done };
  enum class Verdict { Match, Wait, Fail };

  Action advance();
  Verdict evaluate(const Rule& rule, CheckResult* failed);
  Action finish(CheckResult r);
  Action success();
  Action fail(Status s, std::string info);
  std::string step_suffix() const;  // " at step 3 of tcp-check (expect ...)"

  bool over_tls(const ConnectRule& c) const { return c.ssl || (c.implicit && check_ssl_); }

  const Ruleset* rules_;
  bool check_ssl_;
  size_t pos_ = 0;
  Phase phase_ = Phase::Idle;
  std::string input_;  // HAProxy's check->bi
  size_t read_ = 0;    // bytes an expect has looked at; a send drops them
  bool eof_ = false;
  Action done_;
};

}  // namespace mqlb::health
