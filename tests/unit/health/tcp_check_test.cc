// tcp-check: rules parsed from text, HAProxy's word splitting, and the executor
// driven as an I/O adapter would drive it.
#include "health/tcp_check.h"

#include <catch2/catch.hpp>

#include "bytes.h"

namespace mqlb::health {
namespace {

using Catch::Matchers::Contains;
using test::bytes;
using test::hex;

std::vector<Rule> rules(const std::vector<std::string>& lines) {
  auto r = parse_rules(lines);
  if (auto* e = std::get_if<std::vector<std::string>>(&r)) FAIL("unexpected error: " << (*e)[0]);
  return std::get<std::vector<Rule>>(r);
}

std::vector<std::string> errors(const std::vector<std::string>& lines) {
  auto r = parse_rules(lines);
  REQUIRE(std::holds_alternative<std::vector<std::string>>(r));
  return std::get<std::vector<std::string>>(r);
}

std::vector<std::string> words(std::string_view line) {
  std::string error;
  auto w = split_words(line, &error);
  if (!error.empty()) FAIL("unexpected error: " << error);
  return w;
}

CheckResult done(const Action& a) {
  const auto* d = std::get_if<action::Done>(&a);
  REQUIRE(d != nullptr);
  return d->result;
}

bool waiting(const Action& a) {
  return std::holds_alternative<action::Expect>(a);
}

std::string sent(const Action& a) {
  const auto* s = std::get_if<action::Send>(&a);
  REQUIRE(s != nullptr);
  return s->bytes;
}

// The operators' sequence: an MQTT 3.1.1 CONNECT, expect CONNACK code 0.
const std::vector<std::string> kOperators = {"connect", "send-binary 101000044d5154540402003c0000",
                                             "expect binary 20020000"};
constexpr const char* kTheirConnect = "101000044d5154540402003c0000";

// Runs the operators' sequence up to the expect.
struct OperatorsRun {
  Ruleset set = tcp_check_rules(rules(kOperators));
  TcpCheckRun run{set};

  OperatorsRun() {
    const Action first = run.start();
    const auto* c = std::get_if<action::Connect>(&first);
    REQUIRE(c != nullptr);
    CHECK(c->port == 0);
    CHECK_FALSE(c->ssl);
    CHECK(hex(sent(run.on_connected())) == kTheirConnect);
    REQUIRE(waiting(run.on_sent()));
  }
};

TEST_CASE("HAProxy's word splitting: quotes, escapes, comments", "[health]") {
  CHECK(words("send PING\\r\\n") == std::vector<std::string>{"send", "PING\r\n"});
  CHECK(words("send \"info replication\\r\\n\"") ==
        std::vector<std::string>{"send", "info replication\r\n"});
  CHECK(words("send 'a\\nb'") == std::vector<std::string>{"send", "a\\nb"});
  CHECK(words("send hello\\ world") == std::vector<std::string>{"send", "hello world"});
  CHECK(words("send \\x41\\x42  # the rest is a comment") ==
        std::vector<std::string>{"send", "AB"});
  CHECK(words("expect rstring ^\\+OK\\d") ==
        std::vector<std::string>{"expect", "rstring", "^\\+OK\\d"});
  CHECK(words("send \"\"") == std::vector<std::string>{"send", ""});
  CHECK(words("send \"say \\\"hi\\\"\"") == std::vector<std::string>{"send", "say \"hi\""});

  std::string error;
  CHECK(split_words("send \"open", &error).empty());
  CHECK(error == "unmatched double quote");
}

TEST_CASE("rules are parsed with their options and step ids", "[health]") {
  const auto r = rules({"connect port 1883 ssl comment 'mqtt port'", "send \"PING\\r\\n\"",
                        "send-binary 0a0B", "expect ! min-recv 4 string +PONG comment pong"});
  REQUIRE(r.size() == 4);
  const auto& c = std::get<ConnectRule>(r[0].what);
  CHECK(c.port == 1883);
  CHECK(c.ssl);
  CHECK_FALSE(c.implicit);
  CHECK(r[0].step == 1);
  CHECK(r[0].comment == "mqtt port");
  CHECK(std::get<SendRule>(r[1].what).bytes == "PING\r\n");
  CHECK(std::get<SendRule>(r[2].what).bytes == "\n\x0b");
  const auto& e = std::get<ExpectRule>(r[3].what);
  CHECK(e.inverse);
  CHECK(e.min_recv == 4);
  CHECK(e.type == ExpectRule::Type::String);
  CHECK(e.pattern == "+PONG");
  CHECK(r[3].comment == "pong");
  CHECK(r[3].step == 4);
}

TEST_CASE("an implicit connect goes first when the rules do not start with one", "[health]") {
  const auto r = rules({"send-binary 00", "expect binary 01"});
  REQUIRE(r.size() == 3);
  CHECK(std::get<ConnectRule>(r[0].what).implicit);
  CHECK(r[0].step == 0);
  CHECK(r[1].step == 1);
}

TEST_CASE("a comment rule names the following rules of one kind", "[health]") {
  const auto r = rules(
      {"connect", "comment \"ping redis\"", "send PING\\r\\n", "send x", "expect string +PONG"});
  REQUIRE(r.size() == 4);
  CHECK(r[0].comment.empty());
  CHECK(r[1].comment == "ping redis");
  CHECK(r[1].step == 3);  // the comment rule keeps its place in the numbering
  CHECK(r[2].comment == "ping redis");
  CHECK(r[3].comment.empty());

  const auto c = rules({"comment hello", "connect", "send x"});
  CHECK(c[0].comment == "hello");
  CHECK(c[1].comment.empty());  // a connect keeps it for itself
}

TEST_CASE("parse errors name the rule, its text and what to write", "[health]") {
  CHECK(errors({"connect", "send-binary 1010", "expect bnary 2002"}) ==
        std::vector<std::string>{"tcp-check[2] 'expect bnary 2002': unknown pattern type 'bnary' "
                                 "(string, binary, rstring, rbinary)"});
  const auto e = errors({"conect", "connect port 0", "connect sni x", "send-binary 123",
                         "send-binary 12zz", "expect rstring (", "send \"x", "expect", "send",
                         "expect string a b", "comment", ""});
  REQUIRE(e.size() == 12);
  CHECK(e[0] ==
        "tcp-check[0] 'conect': unknown rule 'conect' (comment, connect, send, "
        "send-binary, expect)");
  CHECK(e[1] ==
        "tcp-check[1] 'connect port 0': 'port' expects a port number from 1 to 65535, "
        "got '0'");
  CHECK(e[2] == "tcp-check[2] 'connect sni x': unknown connect option 'sni' (port, ssl, comment)");
  CHECK(e[3] ==
        "tcp-check[3] 'send-binary 123': 'send-binary' expects hex digits: an even "
        "number of hex digits is expected");
  CHECK(e[4] ==
        "tcp-check[4] 'send-binary 12zz': 'send-binary' expects hex digits: a hex digit "
        "is expected (found 'z')");
  CHECK_THAT(e[5], Contains("tcp-check[5] 'expect rstring (': invalid regular expression '('"));
  CHECK(e[6] == "tcp-check[6] 'send \"x': unmatched double quote");
  CHECK(e[7] == "tcp-check[7] 'expect': expects a pattern: string, binary, rstring or rbinary");
  CHECK(e[8] == "tcp-check[8] 'send': 'send' expects a string");
  CHECK(e[9] == "tcp-check[9] 'expect string a b': unexpected 'b' after the pattern");
  CHECK(e[10] == "tcp-check[10] 'comment': 'comment' expects one text (quote it if it has blanks)");
  CHECK(e[11] == "tcp-check[11] '': empty rule");
  CHECK(errors({}) == std::vector<std::string>{"tcp-check: no rule (at least 'connect')"});
}

TEST_CASE("operators' sequence: a CONNACK with code 0 passes with L7OK", "[health]") {
  OperatorsRun o;
  CHECK(waiting(o.run.on_data(bytes("2002"))));
  const auto r = done(o.run.on_data(bytes("0000")));
  CHECK(r.status == Status::L7Ok);
  CHECK(r.code == 0);
  CHECK(r.info == "(tcp-check)");
  CHECK(done(o.run.on_timeout()) == r);  // Done stays
}

TEST_CASE("operators' sequence: a CONNACK with code 5 fails with L7RSP when the broker closes",
          "[health]") {
  OperatorsRun o;
  // HAProxy waits for more data after a mismatch (no min-recv); MQTT 3.1.1
  // §3.2.2.3 has the broker close after a refusal, which ends the wait.
  CHECK(waiting(o.run.on_data(bytes("20020005"))));
  const auto r = done(o.run.on_closed());
  CHECK(r.status == Status::L7Rsp);
  CHECK(r.info == "TCPCHK did not match content (binary) at step 3");
}

TEST_CASE("operators' sequence: an echo server fails the expect", "[health]") {
  SECTION("L7RSP once it closes") {
    OperatorsRun o;
    CHECK(waiting(o.run.on_data(bytes(kTheirConnect))));
    CHECK(done(o.run.on_closed()).status == Status::L7Rsp);
  }
  SECTION("L7TOUT while it keeps the connection open, as HAProxy") {
    OperatorsRun o;
    CHECK(waiting(o.run.on_data(bytes(kTheirConnect))));
    const auto r = done(o.run.on_timeout());
    CHECK(r.status == Status::L7Tout);
    CHECK(r.info == " at step 3 of tcp-check (expect binary '20020000')");
  }
  SECTION("L7RSP at once with min-recv") {
    Ruleset set = tcp_check_rules(
        rules({"connect", "send-binary 00", "expect min-recv 4 binary 20020000 comment connack"}));
    TcpCheckRun run(set);
    run.start();
    run.on_connected();
    run.on_sent();
    CHECK(waiting(run.on_data(bytes("000000"))));
    const auto r = done(run.on_data(bytes("00")));
    CHECK(r.status == Status::L7Rsp);
    CHECK(r.info == "TCPCHK did not match content (binary) at step 3 comment: connack");
  }
}

TEST_CASE("operators' sequence: silence times out with L7TOUT", "[health]") {
  OperatorsRun o;
  const auto r = done(o.run.on_timeout());
  CHECK(r.status == Status::L7Tout);
  CHECK(r.code == -1);
}

TEST_CASE("operators' sequence: a refused connect is L4CON, a connect timeout L4TOUT", "[health]") {
  Ruleset set = tcp_check_rules(rules(kOperators));
  {
    TcpCheckRun run(set);
    run.start();
    const auto r = done(run.on_connect_error("Connection refused"));
    CHECK(r.status == Status::L4Con);
    CHECK(r.info == "Connection refused at step 1 of tcp-check (connect)");
  }
  {
    TcpCheckRun run(set);
    run.start();
    const auto r = done(run.on_timeout());
    CHECK(r.status == Status::L4Tout);
    CHECK(r.info == " at step 1 of tcp-check (connect)");
  }
}

TEST_CASE("tcp-check failure texts name the step, its port and its comment", "[health]") {
  Ruleset set = tcp_check_rules(rules({"send-binary 00", "expect string +OK"}));
  TcpCheckRun run(set);
  run.start();
  CHECK(done(run.on_connect_error("Connection refused")).info ==
        "Connection refused at initial connection step of tcp-check");

  Ruleset named = tcp_check_rules(
      rules({"connect port 1884 comment \"second listener\"", "expect string +OK"}));
  TcpCheckRun second(named);
  second.start();
  CHECK(done(second.on_connect_error("Connection refused")).info ==
        "Connection refused at step 1 of tcp-check (connect port 1884) comment: 'second "
        "listener'");

  TcpCheckRun third(named);
  third.start();
  CHECK(waiting(third.on_connected()));
  CHECK(done(third.on_timeout()).info == " at step 2 of tcp-check (expect string '+OK')");
}

TEST_CASE("an expect keeps the bytes until they match and a send drops what was read", "[health]") {
  Ruleset set = tcp_check_rules(rules({"connect", "expect string +OK", "expect string ready",
                                       "send QUIT\\r\\n", "expect string +BYE"}));
  TcpCheckRun run(set);
  run.start();
  CHECK(waiting(run.on_connected()));
  CHECK(waiting(run.on_data("+O")));
  // One read satisfies both expects: HAProxy matches the second on the same buffer.
  CHECK(sent(run.on_data("K ready")) == "QUIT\r\n");
  CHECK(waiting(run.on_sent()));
  CHECK(waiting(run.on_data("+OK")));  // the old "+OK ready" is gone
  CHECK(done(run.on_data(" +BYE")).status == Status::L7Ok);
}

TEST_CASE("negated, regex and binary-regex expects", "[health]") {
  Ruleset set = tcp_check_rules(rules({"connect", "expect rstring ^role:(master|slave)",
                                       "expect ! string error", "expect rbinary 726F6C65"}));
  TcpCheckRun run(set);
  run.start();
  run.on_connected();
  CHECK(waiting(run.on_data("role:")));
  // A negated expect is only sure at the end of data (or with min-recv), as in HAProxy.
  CHECK(waiting(run.on_data("master\r\n")));
  CHECK(done(run.on_closed()).status == Status::L7Ok);

  Ruleset unwanted = tcp_check_rules(rules({"connect", "expect ! string error"}));
  TcpCheckRun bad(unwanted);
  bad.start();
  bad.on_connected();
  const auto f = done(bad.on_data("-error"));
  CHECK(f.status == Status::L7Rsp);
  CHECK(f.info == "TCPCHK matched unwanted content 'error' at step 2");
}

TEST_CASE("a sequence of connect only passes with L4OK, or L6OK over TLS", "[health]") {
  Ruleset set = tcp_check_rules(rules({"connect port 1883"}));
  TcpCheckRun run(set);
  run.start();
  const auto r = done(run.on_connected());
  CHECK(r.status == Status::L4Ok);
  CHECK(r.info == "(tcp-check)");

  Ruleset tls = tcp_check_rules(rules({"connect ssl"}));
  TcpCheckRun secure(tls);
  const auto c = secure.start();
  CHECK(std::get<action::Connect>(c).ssl);
  CHECK(done(secure.on_connected()).status == Status::L6Ok);

  TcpCheckRun handshake(tls);
  handshake.start();
  CHECK(done(handshake.on_tls_error("certificate verify failed")).status == Status::L6Rsp);
  TcpCheckRun slow(tls);
  slow.start();
  CHECK(done(slow.on_tls_timeout()).status == Status::L6Tout);
}

TEST_CASE("an I/O error once connected is a socket error", "[health]") {
  OperatorsRun o;
  const auto r = done(o.run.on_error("Connection reset by peer"));
  CHECK(r.status == Status::SockErr);
  CHECK(r.info == "Connection reset by peer at step 3 of tcp-check (expect binary '20020000')");
}

TEST_CASE("check-ssl puts the implicit connect over TLS: L6OK, or L6RSP and L6TOUT", "[health]") {
  const Ruleset set = tcp_rules();
  TcpCheckRun ok(set, true);
  CHECK(std::get<action::Connect>(ok.start()).ssl);
  const auto r = done(ok.on_connected());
  CHECK(r.status == Status::L6Ok);
  CHECK(r.info.empty());

  TcpCheckRun refused(set, true);
  refused.start();
  const auto f = done(refused.on_tls_error("unsupported protocol"));
  CHECK(f.status == Status::L6Rsp);
  CHECK(f.info == "unsupported protocol");

  TcpCheckRun slow(set, true);
  slow.start();
  CHECK(done(slow.on_tls_timeout()).status == Status::L6Tout);

  // An explicit connect without "ssl" stays plain under check-ssl, as in
  // HAProxy (only the implicit connect and "connect default" take it).
  const Ruleset explicit_plain = tcp_check_rules(rules({"connect port 1883"}));
  TcpCheckRun plain(explicit_plain, true);
  CHECK_FALSE(std::get<action::Connect>(plain.start()).ssl);
  const Ruleset explicit_tls = tcp_check_rules(rules({"connect port 8883 ssl"}));
  TcpCheckRun tls(explicit_tls);
  CHECK(std::get<action::Connect>(tls.start()).ssl);
  CHECK(done(tls.on_connected()).status == Status::L6Ok);
}

TEST_CASE("the plain TCP check is a connect: L4OK, or the error alone", "[health]") {
  const Ruleset set = tcp_rules();
  TcpCheckRun ok(set);
  const auto c = ok.start();
  CHECK_FALSE(std::get<action::Connect>(c).ssl);
  const auto r = done(ok.on_connected());
  CHECK(r.status == Status::L4Ok);
  CHECK(r.info.empty());

  TcpCheckRun refused(set);
  refused.start();
  const auto f = done(refused.on_connect_error("Connection refused"));
  CHECK(f.status == Status::L4Con);
  CHECK(f.info == "Connection refused");

  TcpCheckRun slow(set);
  slow.start();
  const auto t = done(slow.on_timeout());
  CHECK(t.status == Status::L4Tout);
  CHECK(t.info.empty());
}

TEST_CASE("the MQTT check: CONNECT, CONNACK, DISCONNECT", "[health]") {
  ConnectPacket p;
  p.client_id = "mqlb-check-1";
  const Ruleset set = mqtt_rules(p);

  SECTION("accepted") {
    TcpCheckRun run(set);
    run.start();
    CHECK(sent(run.on_connected()) == encode_connect(p));
    CHECK(waiting(run.on_sent()));
    CHECK(waiting(run.on_data(bytes("20"))));
    CHECK(hex(sent(run.on_data(bytes("020000")))) == "e000");
    const auto r = done(run.on_sent());
    CHECK(r.status == Status::L7Ok);
    CHECK(r.code == 0);
    CHECK(r.info.empty());
  }
  SECTION("refused: L7STS with the code and its words") {
    TcpCheckRun run(set);
    run.start();
    run.on_connected();
    run.on_sent();
    const auto r = done(run.on_data(bytes("20020005")));
    CHECK(r.status == Status::L7Sts);
    CHECK(r.code == 5);
    CHECK(r.info == "Not authorized");
  }
  SECTION("not MQTT: L7RSP") {
    TcpCheckRun run(set);
    run.start();
    run.on_connected();
    run.on_sent();
    const auto r = done(run.on_data("HTTP/1.1 400 Bad Request\r\n"));
    CHECK(r.status == Status::L7Rsp);
    CHECK(r.info == "not a CONNACK (first byte 0x48)");
  }
  SECTION("closed before the CONNACK: L7RSP; silence: L7TOUT") {
    TcpCheckRun run(set);
    run.start();
    run.on_connected();
    run.on_sent();
    const auto r = done(run.on_closed());
    CHECK(r.status == Status::L7Rsp);
    CHECK(r.info == "connection closed before the CONNACK");

    TcpCheckRun quiet(set);
    quiet.start();
    quiet.on_connected();
    quiet.on_sent();
    const auto t = done(quiet.on_timeout());
    CHECK(t.status == Status::L7Tout);
    CHECK(t.info.empty());
  }
}

}  // namespace
}  // namespace mqlb::health
