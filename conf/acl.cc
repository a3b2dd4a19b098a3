#include "conf/acl.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace mqlb::conf {
namespace {

constexpr std::pair<std::string_view, AclTest::Fetch> kFetches[] = {
    {"ssl_fc", AclTest::Fetch::SslFc},
    {"ssl_fc_sni", AclTest::Fetch::SslFcSni},
    {"src", AclTest::Fetch::Src},
    {"dst_port", AclTest::Fetch::DstPort}};

constexpr std::pair<std::string_view, AclTest::Match> kMatches[] = {{"str", AclTest::Match::Exact},
                                                                    {"beg", AclTest::Match::Beg},
                                                                    {"end", AclTest::Match::End},
                                                                    {"sub", AclTest::Match::Sub},
                                                                    {"dom", AclTest::Match::Dom}};

std::string_view name_of(AclTest::Fetch f) {
  for (const auto& [name, fetch] : kFetches)
    if (fetch == f) return name;
  return "?";
}

// An address with an optional prefix length: "10.0.0.0/8", "::1", "192.168.1.7".
struct Network {
  uint8_t bytes[16] = {};
  size_t len = 0;  // 4 or 16
  unsigned prefix = 0;
};

std::optional<Network> parse_network(std::string_view text) {
  Network n;
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  if (inet_pton(AF_INET, address.c_str(), n.bytes) == 1)
    n.len = 4;
  else if (inet_pton(AF_INET6, address.c_str(), n.bytes) == 1)
    n.len = 16;
  else
    return std::nullopt;
  n.prefix = static_cast<unsigned>(n.len * 8);
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    unsigned prefix = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || end != p.data() + p.size() || p.empty() || prefix > n.len * 8)
      return std::nullopt;
    n.prefix = prefix;
  }
  return n;
}

bool in_network(const Network& n, const uint8_t* addr, size_t len) {
  uint8_t mapped[4];
  if (n.len == 4 && len == 16) {
    // An IPv4 network matches an IPv4-mapped IPv6 client (::ffff:a.b.c.d).
    static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(addr, kPrefix, 12) != 0) return false;
    std::memcpy(mapped, addr + 12, 4);
    addr = mapped;
    len = 4;
  }
  if (n.len != len) return false;
  const unsigned whole = n.prefix / 8, rest = n.prefix % 8;
  if (std::memcmp(n.bytes, addr, whole) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (n.bytes[whole] & mask) == (addr[whole] & mask);
}

// "1883" or "8000:8080".
std::optional<std::pair<uint16_t, uint16_t>> parse_ports(std::string_view text) {
  auto one = [](std::string_view s) -> std::optional<uint16_t> {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v > 65535)
      return std::nullopt;
    return static_cast<uint16_t>(v);
  };
  const size_t colon = text.find(':');
  auto lo = one(text.substr(0, colon));
  auto hi = colon == std::string_view::npos ? lo : one(text.substr(colon + 1));
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return std::pair{*lo, *hi};
}

bool equal_text(std::string_view a, std::string_view b, bool ignore_case) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x =
        ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(a[i]))) : a[i];
    const char y =
        ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(b[i]))) : b[i];
    if (x != y) return false;
  }
  return true;
}

bool text_matches(const AclTest& t, std::string_view value, std::string_view pattern) {
  using M = AclTest::Match;
  const bool ic = t.ignore_case;
  switch (t.match) {
    case M::Exact:
      return equal_text(value, pattern, ic);
    case M::Beg:
      return value.size() >= pattern.size() &&
             equal_text(value.substr(0, pattern.size()), pattern, ic);
    case M::End:
      return value.size() >= pattern.size() &&
             equal_text(value.substr(value.size() - pattern.size()), pattern, ic);
    case M::Sub:
      for (size_t i = 0; i + pattern.size() <= value.size(); ++i)
        if (equal_text(value.substr(i, pattern.size()), pattern, ic)) return true;
      return false;
    case M::Dom:
      // The pattern as a whole dot-delimited part: "example.com" matches
      // "broker.example.com" and "example.com", not "badexample.com".
      for (size_t i = 0; i + pattern.size() <= value.size(); ++i) {
        if (i > 0 && value[i - 1] != '.') continue;
        const size_t end = i + pattern.size();
        if (end < value.size() && value[end] != '.') continue;
        if (equal_text(value.substr(i, pattern.size()), pattern, ic)) return true;
      }
      return false;
  }
  return false;
}

}  // namespace

std::variant<AclTest, std::string> parse_acl_test(const std::vector<std::string>& words) {
  if (words.empty()) return std::string("missing fetch method in ACL expression.");
  AclTest t;
  const auto fetch = std::find_if(std::begin(kFetches), std::end(kFetches),
                                  [&](const auto& f) { return f.first == words[0]; });
  if (fetch == std::end(kFetches))
    return "unknown fetch method '" + words[0] + "' in ACL expression '" + words[0] +
           "' (mqlb knows ssl_fc, ssl_fc_sni, src, dst_port).";
  t.fetch = fetch->second;
  size_t i = 1;
  for (; i < words.size() && words[i].size() > 1 && words[i][0] == '-'; ++i) {
    const std::string& flag = words[i];
    if (flag == "--") {
      ++i;
      break;
    }
    if (flag == "-i") {
      t.ignore_case = true;
    } else if (flag == "-m") {
      if (i + 1 >= words.size()) return std::string("missing matching method after '-m'.");
      const std::string& m = words[++i];
      const auto match = std::find_if(std::begin(kMatches), std::end(kMatches),
                                      [&](const auto& x) { return x.first == m; });
      if (match == std::end(kMatches))
        return "unknown matching method '" + m + "' when parsing ACL expression.";
      t.match = match->second;
    } else {
      return "'" + flag + "' is not supported yet by mqlb in an ACL (only -i, -m and --).";
    }
  }
  t.patterns.assign(words.begin() + static_cast<long>(i), words.end());
  const bool text = t.fetch == AclTest::Fetch::SslFcSni;
  if ((t.ignore_case || t.match != AclTest::Match::Exact) && !text)
    return std::string("-i and -m apply to ssl_fc_sni only.");
  switch (t.fetch) {
    case AclTest::Fetch::SslFc:
      if (!t.patterns.empty()) return "'ssl_fc' takes no value (got '" + t.patterns[0] + "').";
      break;
    case AclTest::Fetch::SslFcSni:
      if (t.patterns.empty()) return std::string("'ssl_fc_sni' needs at least one name.");
      break;
    case AclTest::Fetch::Src:
      if (t.patterns.empty()) return std::string("'src' needs at least one address or network.");
      for (const auto& p : t.patterns)
        if (!parse_network(p)) return "'" + p + "' is not a valid IPv4 or IPv6 address.";
      break;
    case AclTest::Fetch::DstPort:
      if (t.patterns.empty()) return std::string("'dst_port' needs at least one port.");
      for (const auto& p : t.patterns)
        if (!parse_ports(p))
          return "'" + p + "' is not a port or a range of ports such as 8000:8080.";
      break;
  }
  return t;
}

std::variant<Condition, std::string> parse_condition(const std::vector<std::string>& words,
                                                     const NamedAcls& named) {
  Condition c;
  std::vector<AclTerm> group;
  bool negate = false;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string w = words[i];
    // HAProxy reads "!name" as "! name".
    while (w.size() > 1 && w[0] == '!') {
      negate = !negate;
      w.erase(0, 1);
    }
    if (w == "||" || w == "or") {
      if (group.empty() || negate) return "missing ACL before '" + w + "'.";
      c.any_of.push_back(std::move(group));
      group.clear();
      continue;
    }
    if (w == "!") {
      negate = !negate;
      continue;
    }
    AclTerm term;
    term.negate = negate;
    negate = false;
    if (w == "{") {
      const auto close = std::find(words.begin() + static_cast<long>(i), words.end(), "}");
      if (close == words.end()) return std::string("missing closing '}' in condition.");
      const std::vector<std::string> inner(words.begin() + static_cast<long>(i) + 1, close);
      auto test = parse_acl_test(inner);
      if (auto* e = std::get_if<std::string>(&test)) return *e;
      term.any_of.push_back(std::get<AclTest>(std::move(test)));
      i = static_cast<size_t>(close - words.begin());
    } else {
      auto it = named.find(w);
      if (it == named.end()) return "no such ACL : '" + w + "'.";
      term.any_of = it->second;
    }
    group.push_back(std::move(term));
  }
  if (negate) return std::string("missing ACL after '!'.");
  if (!group.empty())
    c.any_of.push_back(std::move(group));
  else if (!c.any_of.empty())
    return std::string("missing ACL after '||'.");
  return c;
}

namespace {

// A word as haproxy.cfg's tokenizer reads it back: plain when it can be,
// else in double quotes with \\, \" and \$ escaped.
std::string quoted(const std::string& w) {
  const bool plain = !w.empty() && w.find_first_of(" \t\"'#\\$") == std::string::npos;
  if (plain) return w;
  std::string out = "\"";
  for (char ch : w) {
    if (ch == '\\' || ch == '"' || ch == '$') out += '\\';
    out += ch;
  }
  return out + "\"";
}

// Whether `t` reads back the same inside `{ ... }` of a condition: no
// pattern that the condition's own words would take ("}") or that needs
// quoting.
bool inline_safe(const AclTest& t) {
  for (const auto& p : t.patterns)
    if (p == "}" || quoted(p) != p) return false;
  return true;
}

}  // namespace

std::string to_text(const AclTest& t) {
  std::string out(name_of(t.fetch));
  if (t.ignore_case) out += " -i";
  if (t.match != AclTest::Match::Exact)
    for (const auto& [name, m] : kMatches)
      if (m == t.match) out += " -m " + std::string(name);
  if (!t.patterns.empty() && t.patterns[0].size() > 1 && t.patterns[0][0] == '-') out += " --";
  for (const auto& p : t.patterns)
    out += ' ' + quoted(p);
  return out;
}

std::string to_text(const Condition& c, NamedAcls& names) {
  std::string out;
  for (size_t g = 0; g < c.any_of.size(); ++g) {
    if (g) out += " ||";
    for (const AclTerm& term : c.any_of[g]) {
      if (!out.empty()) out += ' ';
      if (term.negate) out += "! ";
      if (term.any_of.size() == 1 && inline_safe(term.any_of[0])) {
        out += "{ " + to_text(term.any_of[0]) + " }";
        continue;
      }
      // Several tests, any one matching (only a named ACL says that inside
      // a group), or patterns that need quoting.
      std::string name = "acl" + std::to_string(names.size() + 1);
      while (names.count(name))
        name += "_";
      names[name] = term.any_of;
      out += name;
    }
  }
  return out;
}

bool matches(const AclTest& t, const ConnectionFacts& c) {
  switch (t.fetch) {
    case AclTest::Fetch::SslFc:
      return c.tls;
    case AclTest::Fetch::SslFcSni:
      if (!c.tls || c.sni.empty()) return false;
      for (const auto& p : t.patterns)
        if (text_matches(t, c.sni, p)) return true;
      return false;
    case AclTest::Fetch::Src:
      if (!c.src) return false;
      for (const auto& p : t.patterns)
        if (auto n = parse_network(p); n && in_network(*n, c.src, c.src_len)) return true;
      return false;
    case AclTest::Fetch::DstPort:
      for (const auto& p : t.patterns)
        if (auto r = parse_ports(p); r && c.dst_port >= r->first && c.dst_port <= r->second)
          return true;
      return false;
  }
  return false;
}

bool matches(const Condition& cond, const ConnectionFacts& c) {
  if (cond.any_of.empty()) return true;  // `use_backend b` alone always applies
  for (const auto& group : cond.any_of) {
    bool all = true;
    for (const AclTerm& term : group) {
      bool any = false;
      for (const AclTest& t : term.any_of)
        if (matches(t, c)) {
          any = true;
          break;
        }
      if (any == term.negate) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

std::optional<std::string_view> pick_backend(const std::vector<BackendRule>& rules,
                                             const ConnectionFacts& c) {
  for (const auto& r : rules)
    if (matches(r.condition, c) != r.unless) return r.backend;
  return std::nullopt;
}

bool connection_accepted(const std::vector<ConnectionRule>& rules, const ConnectionFacts& c) {
  for (const auto& r : rules)
    if (matches(r.condition, c) != r.unless) return r.action == ConnectionRule::Action::Accept;
  return true;
}

std::string_view tls_fetch_in(const Condition& cond) {
  for (const auto& group : cond.any_of)
    for (const AclTerm& term : group)
      for (const AclTest& t : term.any_of)
        if (t.fetch == AclTest::Fetch::SslFc || t.fetch == AclTest::Fetch::SslFcSni)
          return name_of(t.fetch);
  return {};
}

}  // namespace mqlb::conf
