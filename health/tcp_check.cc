#include "health/tcp_check.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace mqlb::health {

namespace {

constexpr size_t kBufferSize = 16384;  // HAProxy's tune.bufsize: a full buffer ends the reading

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// HAProxy's parse_binary (src/tools.c), with its messages.
std::optional<std::string> decode_hex(std::string_view hex, std::string* error) {
  if (hex.size() % 2 != 0) {
    *error = "an even number of hex digits is expected";
    return std::nullopt;
  }
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      *error = std::string("a hex digit is expected (found '") + hex[hi < 0 ? i : i + 1] + "')";
      return std::nullopt;
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// HAProxy's dump_binary: upper-case hex, what rbinary patterns are matched on.
std::string hex_dump(std::string_view bytes) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string join(const std::vector<std::string>& words, size_t from) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) {
    if (i > from) out += ' ';
    out += words[i];
  }
  return out;
}

bool parse_int(std::string_view text, long min, long max, long* out) {
  long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) return false;
  *out = v;
  return true;
}

// One entry parsed: a rule, a comment rule's text, or an error message.
struct Parsed {
  std::optional<Rule> rule;
  bool is_comment = false;
  std::string comment;
  std::string error;
};

Parsed parse_connect(const std::vector<std::string>& w) {
  Parsed p;
  ConnectRule c;
  Rule r;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i] == "port") {
      long port = 0;
      if (i + 1 >= w.size() || !parse_int(w[i + 1], 1, 65535, &port)) {
        p.error = "'port' expects a port number from 1 to 65535";
        if (i + 1 < w.size()) p.error += ", got '" + w[i + 1] + "'";
        return p;
      }
      c.port = static_cast<uint16_t>(port);
      ++i;
    } else if (w[i] == "ssl") {
      c.ssl = true;
    } else if (w[i] == "comment") {
      if (i + 1 >= w.size()) {
        p.error = "'comment' expects a text";
        return p;
      }
      r.comment = w[++i];
    } else {
      p.error = "unknown connect option '" + w[i] + "' (port, ssl, comment)";
      return p;
    }
  }
  r.what = c;
  p.rule = std::move(r);
  return p;
}

Parsed parse_send(const std::vector<std::string>& w, bool binary) {
  Parsed p;
  if (w.size() < 2) {
    p.error = "'" + w[0] + "' expects " + (binary ? "hex digits" : "a string");
    return p;
  }
  Rule r;
  if (w.size() > 2) {
    if (w[2] != "comment" || w.size() != 4) {
      p.error = "unexpected '" + join(w, 2) + "' after the data (only 'comment TEXT' may follow)";
      return p;
    }
    r.comment = w[3];
  }
  SendRule s;
  if (binary) {
    std::string error;
    auto bytes = decode_hex(w[1], &error);
    if (!bytes) {
      p.error = "'send-binary' expects hex digits: " + error;
      return p;
    }
    s.bytes = std::move(*bytes);
  } else {
    s.bytes = w[1];
  }
  r.what = std::move(s);
  p.rule = std::move(r);
  return p;
}

Parsed parse_expect(const std::vector<std::string>& w) {
  Parsed p;
  Rule r;
  ExpectRule e;
  bool have_pattern = false;
  for (size_t i = 1; i < w.size(); ++i) {
    const std::string& word = w[i];
    if (word == "!") {
      e.inverse = true;
    } else if (word == "min-recv") {
      long n = 0;
      if (i + 1 >= w.size() || !parse_int(w[i + 1], -1, 1 << 30, &n)) {
        p.error = "'min-recv' expects -1 or a number of bytes";
        return p;
      }
      e.min_recv = static_cast<int>(n);
      ++i;
    } else if (word == "comment") {
      if (i + 1 >= w.size()) {
        p.error = "'comment' expects a text";
        return p;
      }
      r.comment = w[++i];
    } else if (have_pattern) {
      p.error = "unexpected '" + word + "' after the pattern";
      return p;
    } else if (word == "string" || word == "binary" || word == "rstring" || word == "rbinary") {
      if (i + 1 >= w.size()) {
        p.error = "'" + word + "' expects a pattern";
        return p;
      }
      const std::string& pattern = w[++i];
      e.type = word == "string"    ? ExpectRule::Type::String
               : word == "binary"  ? ExpectRule::Type::Binary
               : word == "rstring" ? ExpectRule::Type::RString
                                   : ExpectRule::Type::RBinary;
      if (e.type == ExpectRule::Type::Binary) {
        std::string error;
        auto bytes = decode_hex(pattern, &error);
        if (!bytes) {
          p.error = "'binary' expects hex digits: " + error;
          return p;
        }
        e.pattern = std::move(*bytes);
      } else {
        e.pattern = pattern;
      }
      if (e.type == ExpectRule::Type::RString || e.type == ExpectRule::Type::RBinary) {
        try {
          e.regex = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
        } catch (const std::regex_error& ex) {
          p.error = "invalid regular expression '" + pattern + "': " + ex.what();
          return p;
        }
      }
      if (e.type == ExpectRule::Type::String && e.pattern.empty()) {
        p.error = "'string' expects a non-empty pattern";
        return p;
      }
      have_pattern = true;
    } else {
      p.error = "unknown pattern type '" + word + "' (string, binary, rstring, rbinary)";
      return p;
    }
  }
  if (!have_pattern) {
    p.error = "expects a pattern: string, binary, rstring or rbinary";
    return p;
  }
  r.what = std::move(e);
  p.rule = std::move(r);
  return p;
}

Parsed parse_one(const std::vector<std::string>& w) {
  const std::string& keyword = w[0];
  if (keyword == "connect") return parse_connect(w);
  if (keyword == "send") return parse_send(w, false);
  if (keyword == "send-binary") return parse_send(w, true);
  if (keyword == "expect") return parse_expect(w);
  if (keyword == "comment") {
    Parsed p;
    if (w.size() != 2) {
      p.error = "'comment' expects one text (quote it if it has blanks)";
    } else {
      p.is_comment = true;
      p.comment = w[1];
    }
    return p;
  }
  Parsed p;
  p.error = "unknown rule '" + keyword + "' (comment, connect, send, send-binary, expect)";
  return p;
}

// Which kind of rule carries a comment onward (HAProxy's check_proxy_tcpcheck:
// a comment applies to the following rules until the kind changes, and a
// connect takes it for itself alone).
enum class Kind { Comment, Connect, Send, Expect };

Kind kind_of(const Rule& r) {
  if (std::holds_alternative<ConnectRule>(r.what)) return Kind::Connect;
  if (std::holds_alternative<SendRule>(r.what)) return Kind::Send;
  return Kind::Expect;
}

}  // namespace

std::vector<std::string> split_words(std::string_view line, std::string* error) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  size_t i = 0;
  auto escape = [&](char c) -> std::optional<std::string> {
    switch (c) {
      case 'n':
        return "\n";
      case 'r':
        return "\r";
      case 't':
        return "\t";
      case ' ':
      case '#':
      case '\\':
      case '\'':
      case '"':
      case '$':
        return std::string(1, c);
      case 'x':
        if (i + 2 < line.size() && hex_value(line[i + 1]) >= 0 && hex_value(line[i + 2]) >= 0) {
          const char byte = static_cast<char>(hex_value(line[i + 1]) * 16 + hex_value(line[i + 2]));
          i += 2;
          return std::string(1, byte);
        }
        return std::nullopt;
      default:
        return std::nullopt;  // not an escape: the backslash stays (regexes such as \d)
    }
  };
  // At a backslash: the escaped character, or the backslash and what follows.
  auto take_escape = [&] {
    ++i;
    if (auto e = escape(line[i])) {
      word += *e;
    } else {
      word += '\\';
      word += line[i];
    }
    ++i;
  };
  while (i < line.size()) {
    const char c = line[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
      continue;
    }
    if (c == '#') break;
    in_word = true;
    if (c == '\\' && i + 1 < line.size()) {
      take_escape();
    } else if (c == '"' || c == '\'') {
      const char quote = c;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        const char q = line[i];
        if (q == quote) {
          closed = true;
          ++i;
          break;
        }
        if (quote == '"' && q == '\\' && i + 1 < line.size()) {
          take_escape();
          continue;
        }
        word += q;
        ++i;
      }
      if (!closed) {
        *error = std::string("unmatched ") + (quote == '"' ? "double" : "single") + " quote";
        return {};
      }
    } else {
      word += c;
      ++i;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

ParseResult parse_rules(const std::vector<std::string>& lines) {
  std::vector<std::string> errors;
  std::vector<Rule> rules;
  std::optional<std::string> pending;  // a comment rule's text
  Kind prev = Kind::Comment;
  auto apply_comment = [&](Rule& r, Kind kind) {
    if (kind != prev && prev != Kind::Comment) pending.reset();
    prev = kind;
    if (r.comment.empty() && pending) r.comment = *pending;
    if (kind == Kind::Connect) pending.reset();
  };

  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = "tcp-check[" + std::to_string(i) + "] '" + lines[i] + "': ";
    std::string split_error;
    const auto words = split_words(lines[i], &split_error);
    if (!split_error.empty()) {
      errors.push_back(where + split_error);
      continue;
    }
    if (words.empty()) {
      errors.push_back(where + "empty rule");
      continue;
    }
    Parsed p = parse_one(words);
    if (!p.error.empty()) {
      errors.push_back(where + p.error);
      continue;
    }
    if (p.is_comment) {
      if (prev != Kind::Comment) pending.reset();
      prev = Kind::Comment;
      pending = p.comment;
      continue;
    }
    Rule r = std::move(*p.rule);
    r.step = static_cast<int>(i) + 1;
    if (rules.empty() && kind_of(r) != Kind::Connect) {
      Rule implicit;
      implicit.what = ConnectRule{0, false, true};
      rules.push_back(implicit);
      // HAProxy inserts it before resolving comments, so it takes a leading one.
      apply_comment(rules.back(), Kind::Connect);
    }
    apply_comment(r, kind_of(r));
    rules.push_back(std::move(r));
  }
  if (!errors.empty()) return errors;
  if (rules.empty()) return std::vector<std::string>{"tcp-check: no rule (at least 'connect')"};
  return rules;
}

Ruleset tcp_rules() {
  Ruleset s;
  s.kind = Ruleset::Kind::Tcp;
  Rule connect;
  connect.what = ConnectRule{0, false, true};
  s.rules.push_back(connect);
  return s;
}

Ruleset tcp_check_rules(std::vector<Rule> rules) {
  return Ruleset{Ruleset::Kind::TcpCheck, std::move(rules)};
}

Ruleset mqtt_rules(const ConnectPacket& connect) {
  Ruleset s;
  s.kind = Ruleset::Kind::Mqtt;
  Rule r;
  r.what = ConnectRule{0, false, true};
  s.rules.push_back(r);
  r.step = 1;
  r.what = SendRule{encode_connect(connect)};
  s.rules.push_back(r);
  r.step = 2;
  r.what = ConnackRule{connect.protocol};
  s.rules.push_back(r);
  r.step = 3;
  r.what = SendRule{encode_disconnect()};
  s.rules.push_back(r);
  return s;
}

Action TcpCheckRun::start() {
  if (phase_ != Phase::Idle) return phase_ == Phase::Done ? done_ : Action{action::Expect{}};
  return advance();
}

Action TcpCheckRun::advance() {
  while (pos_ < rules_->rules.size()) {
    const Rule& rule = rules_->rules[pos_];
    if (const auto* c = std::get_if<ConnectRule>(&rule.what)) {
      phase_ = Phase::Connecting;
      input_.clear();
      read_ = 0;
      eof_ = false;
      return action::Connect{c->port, over_tls(*c)};
    }
    if (const auto* s = std::get_if<SendRule>(&rule.what)) {
      phase_ = Phase::Sending;
      // tcpcheck_eval_send releases the input buffer: what the last expect
      // read is gone, what arrived since is kept.
      input_.erase(0, read_);
      read_ = 0;
      return action::Send{s->bytes};
    }
    phase_ = Phase::Expecting;
    CheckResult failed;
    switch (evaluate(rule, &failed)) {
      case Verdict::Wait:
        return action::Expect{};
      case Verdict::Fail:
        return finish(std::move(failed));
      case Verdict::Match:
        ++pos_;
        break;
    }
  }
  return success();
}

TcpCheckRun::Verdict TcpCheckRun::evaluate(const Rule& rule, CheckResult* failed) {
  read_ = input_.size();
  const bool last_read = eof_ || input_.size() >= kBufferSize;
  const bool tcp_check = rules_->kind == Ruleset::Kind::TcpCheck;

  if (const auto* c = std::get_if<ConnackRule>(&rule.what)) {
    ConnackDecoder decoder(c->protocol);
    const auto result = decoder.feed(input_);
    if (std::holds_alternative<ConnackDecoder::NeedMore>(result)) {
      if (!last_read) return Verdict::Wait;
      *failed = {Status::L7Rsp,
                 input_.empty() ? "connection closed before the CONNACK"
                                : "connection closed within the CONNACK",
                 {},
                 -1};
      return Verdict::Fail;
    }
    if (const auto* r = std::get_if<ConnackDecoder::Refused>(&result)) {
      *failed = {Status::L7Sts, r->reason, {}, r->code};
      return Verdict::Fail;
    }
    if (const auto* r = std::get_if<ConnackDecoder::Invalid>(&result)) {
      *failed = {Status::L7Rsp, r->what, {}, -1};
      return Verdict::Fail;
    }
    return Verdict::Match;
  }

  // tcpcheck_eval_expect: wait while a fixed pattern cannot fit yet, or
  // below min-recv; on a mismatch, wait for more unless min-recv is set.
  const auto& e = std::get<ExpectRule>(rule.what);
  const bool fixed = e.type == ExpectRule::Type::String || e.type == ExpectRule::Type::Binary;
  if (!last_read) {
    if (fixed && input_.size() < e.pattern.size()) return Verdict::Wait;
    if (e.min_recv > 0 && input_.size() < static_cast<size_t>(e.min_recv)) return Verdict::Wait;
  }
  bool match = false;
  switch (e.type) {
    case ExpectRule::Type::String:
    case ExpectRule::Type::Binary:
      match = input_.find(e.pattern) != std::string::npos;
      break;
    case ExpectRule::Type::RString:
      match = std::regex_search(input_, *e.regex);
      break;
    case ExpectRule::Type::RBinary:
      match = std::regex_search(hex_dump(input_), *e.regex);
      break;
  }
  if (!match && !last_read && e.min_recv == -1) return Verdict::Wait;
  if (match != e.inverse) {
    return Verdict::Match;
  }

  // tcpcheck_expect_onerror_message
  std::string info;
  if (tcp_check) {
    const std::string step = " at step " + std::to_string(rule.step);
    info = match ? "TCPCHK matched unwanted content" : "TCPCHK did not match content";
    switch (e.type) {
      case ExpectRule::Type::String:
        info += " '" + e.pattern + "'" + step;
        break;
      case ExpectRule::Type::Binary:
        info += " (binary)" + step;
        break;
      case ExpectRule::Type::RString:
        info += " (regex)" + step;
        break;
      case ExpectRule::Type::RBinary:
        info += " (binary regex)" + step;
        break;
    }
  }
  if (!rule.comment.empty()) info += " comment: " + rule.comment;
  *failed = {Status::L7Rsp, std::move(info), {}, -1};
  return Verdict::Fail;
}

Action TcpCheckRun::success() {
  // The end of tcpcheck_main: the last rule decides the status.
  const bool tcp_check = rules_->kind == Ruleset::Kind::TcpCheck;
  const std::string info = tcp_check ? "(tcp-check)" : "";
  if (rules_->rules.empty()) return finish({Status::L7Ok, info, {}, 0});
  const Rule& last = rules_->rules.back();
  if (const auto* c = std::get_if<ConnectRule>(&last.what)) {
    return finish({over_tls(*c) ? Status::L6Ok : Status::L4Ok, c->implicit ? "" : info, {}, -1});
  }
  return finish({Status::L7Ok, info, {}, 0});
}

Action TcpCheckRun::finish(CheckResult r) {
  phase_ = Phase::Done;
  done_ = action::Done{std::move(r)};
  return done_;
}

Action TcpCheckRun::fail(Status s, std::string info) {
  return finish({s, std::move(info) + step_suffix(), {}, -1});
}

// chk_report_conn_err: for tcp-check only, where the failure happened.
std::string TcpCheckRun::step_suffix() const {
  if (rules_->kind != Ruleset::Kind::TcpCheck || pos_ >= rules_->rules.size()) return {};
  const Rule& rule = rules_->rules[pos_];
  if (rule.step == 0) return " at initial connection step of tcp-check";
  std::string out = " at step " + std::to_string(rule.step) + " of tcp-check";
  if (const auto* c = std::get_if<ConnectRule>(&rule.what)) {
    out += c->port ? " (connect port " + std::to_string(c->port) + ")" : " (connect)";
  } else if (const auto* e = std::get_if<ExpectRule>(&rule.what)) {
    switch (e->type) {
      case ExpectRule::Type::String:
        out += " (expect string '" + e->pattern + "')";
        break;
      case ExpectRule::Type::Binary:
        // 2.6 prints the raw bytes here; later versions (and we) print hex.
        out += " (expect binary '" + hex_dump(e->pattern) + "')";
        break;
      case ExpectRule::Type::RString:
        out += " (expect regex)";
        break;
      case ExpectRule::Type::RBinary:
        out += " (expect binary regex)";
        break;
    }
  } else if (std::holds_alternative<SendRule>(rule.what)) {
    out += " (send)";
  }
  if (!rule.comment.empty()) out += " comment: '" + rule.comment + "'";
  return out;
}

Action TcpCheckRun::on_connected() {
  if (phase_ != Phase::Connecting) return phase_ == Phase::Done ? done_ : Action{action::Expect{}};
  ++pos_;
  return advance();
}

Action TcpCheckRun::on_connect_error(std::string_view what) {
  if (phase_ == Phase::Done) return done_;
  return fail(Status::L4Con, std::string(what));
}

Action TcpCheckRun::on_tls_error(std::string_view what) {
  if (phase_ == Phase::Done) return done_;
  return fail(Status::L6Rsp, std::string(what));
}

Action TcpCheckRun::on_tls_timeout() {
  if (phase_ == Phase::Done) return done_;
  return fail(Status::L6Tout, "");
}

Action TcpCheckRun::on_sent() {
  if (phase_ != Phase::Sending) return phase_ == Phase::Done ? done_ : Action{action::Expect{}};
  ++pos_;
  return advance();
}

Action TcpCheckRun::on_data(std::string_view bytes) {
  if (phase_ == Phase::Done) return done_;
  input_.append(bytes.substr(0, kBufferSize - std::min(kBufferSize, input_.size())));
  if (phase_ != Phase::Expecting) return action::Expect{};
  return advance();
}

Action TcpCheckRun::on_closed() {
  if (phase_ == Phase::Done) return done_;
  eof_ = true;
  if (phase_ == Phase::Connecting) return fail(Status::L4Con, "Connection closed");
  if (phase_ != Phase::Expecting) return action::Expect{};
  return advance();
}

Action TcpCheckRun::on_error(std::string_view what) {
  if (phase_ == Phase::Done) return done_;
  if (phase_ == Phase::Connecting) return fail(Status::L4Con, std::string(what));
  return fail(Status::SockErr, std::string(what));
}

Action TcpCheckRun::on_timeout() {
  if (phase_ == Phase::Done) return done_;
  if (phase_ == Phase::Connecting) return fail(Status::L4Tout, "");
  return fail(Status::L7Tout, "");
}

}  // namespace mqlb::health
