// Pure. Reads a haproxy.cfg line by line as HAProxy 2.6's cfgparse does:
// a section keyword opens a section, every other line is a keyword of the
// section it is in. Proxies start from a copy of their defaults section
// (src/cfgparse-listen.c: the last one before them, or the one named by
// `from`), so a keyword in a proxy simply overwrites the copied value.
#include "conf/haproxy_loader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <span>

#include "conf/duration.h"
#include "conf/haproxy_keywords.h"
#include "conf/names.h"

namespace mqlb::conf {
namespace {

using namespace haproxy;
using Words = std::vector<std::string>;

constexpr std::string_view kBalanceNames[] = {"roundrobin", "static-rr", "leastconn",
                                              "source",     "first",     "random"};
constexpr std::string_view kTlsVersions[] = {"TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"};

// --- Small parsers ----------------------------------------------------------

std::optional<uint64_t> to_uint(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// A time as HAProxy reads one; on failure, the character it stops at (or
// '\0' when the value overflows).
struct TimeValue {
  std::optional<Duration> value;
  char bad = '\0';
  bool overflow = false;
};

TimeValue read_time(std::string_view text) {
  auto parsed = parse_duration(text);
  if (auto* d = std::get_if<Duration>(&parsed)) return {*d};
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9')
    ++i;
  if (i == text.size() && i > 0) return {std::nullopt, '\0', true};
  std::string_view unit = text.substr(i);
  // The longest unit the text starts with; the character after it is the
  // unexpected one.
  size_t ok = 0;
  for (std::string_view u : {"us", "ms", "s", "m", "h", "d"})
    if (unit.substr(0, u.size()) == u) ok = std::max(ok, u.size());
  if (i > 0 && ok == unit.size()) return {std::nullopt, '\0', true};
  if (i == 0) ok = 0;
  return {std::nullopt, ok < unit.size() ? unit[ok] : text.empty() ? '\0' : text[0]};
}

// HAProxy's invalid_char(): names of proxies and servers.
std::optional<char> invalid_name_char(std::string_view name) {
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != ':')
      return c;
  return std::nullopt;
}

bool contains(std::span<const std::string_view> list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "; did you mean 'X' maybe ?" (HAProxy's phrase) when one known keyword is
// close enough to be the intended one: at most two edits, and fewer than
// half of the word.
std::string suggest(std::string_view word, std::span<const std::string_view> known) {
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view k : known) {
    size_t d = edit_distance(word, k);
    if (d < best_distance && d * 2 <= word.size()) {
      best = k;
      best_distance = d;
    }
  }
  return best.empty() ? "" : "; did you mean '" + std::string(best) + "' maybe ?";
}

// HAProxy ends these messages with a period unless it suggests a keyword.
std::string suggest_or_period(std::string_view word, std::span<const std::string_view> known) {
  std::string s = suggest(word, known);
  return s.empty() ? "." : s;
}

struct Address {
  std::string host;
  std::optional<uint16_t> port;
};

// "HOST:PORT", "[V6]:PORT", "*:PORT", ":PORT", or HOST alone; the last
// colon outside brackets starts the port, as in HAProxy's str2sa_range, so
// "::1883" is every IPv6 address on 1883. `why` gets HAProxy's wording
// after "'bind' : " or "'server X' : ".
// HAProxy's env_expand, which str2sa_range applies to every address, quoted
// or not: "$NAME" and "${NAME}" become the variable's value (nothing when it
// is unset).
std::string env_expand(std::string_view in, const EnvLookup& env) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$') {
      out += in[i];
      continue;
    }
    size_t b = i + 1;
    const bool braced = b < in.size() && in[b] == '{';
    if (braced) ++b;
    size_t e = b;
    while (e < in.size() && (std::isalnum(static_cast<unsigned char>(in[e])) || in[e] == '_'))
      ++e;
    if (auto v = env(in.substr(b, e - b))) out += *v;
    i = (braced && e < in.size() && in[e] == '}') ? e : e - 1;
  }
  return out;
}

std::optional<Address> parse_address(std::string_view text, std::string& why) {
  for (std::string_view prefix : {"ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@", "udp@", "udp4@"})
    if (text.substr(0, prefix.size()) == prefix) text.remove_prefix(prefix.size());
  if (text.empty() || text.front() == '/' || text.find('@') != std::string_view::npos) {
    why = "address '" + std::string(text) +
          "' is not supported yet by mqlb (only IPv4, IPv6 and host names with a TCP port)";
    return std::nullopt;
  }
  Address a;
  std::string_view host = text, port;
  bool has_port = false;
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      why = "invalid address: '" + std::string(text) + "' (missing ']')";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      why = "invalid address: '" + std::string(text) + "'";
      return std::nullopt;
    }
    if (!rest.empty()) {
      has_port = true;
      port = rest.substr(1);
    }
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    has_port = true;
  }
  a.host = (host.empty() || host == "*") ? "0.0.0.0" : std::string(host);
  if (host.empty() && text.front() == '[') a.host = "::";
  if (!has_port) return a;
  if (port.empty()) {
    why = "missing port specification in '" + std::string(text) + "'";
    return std::nullopt;
  }
  if (port.find_first_of("-+,") != std::string_view::npos) {
    why = "port ranges and offsets ('" + std::string(port) + "') are not supported yet by mqlb";
    return std::nullopt;
  }
  if (size_t bad = port.find_first_not_of("0123456789"); bad != std::string_view::npos) {
    why = std::string("invalid character '") + port[bad] + "' in port number '" +
          std::string(port) + "' in '" + std::string(text) + "'";
    return std::nullopt;
  }
  auto n = to_uint(port);
  if (!n || *n < 1 || *n > 65535) {
    why = "invalid port '" + std::string(port) + "'";
    return std::nullopt;
  }
  a.port = static_cast<uint16_t>(*n);
  return a;
}

std::string join_words(const Words& w, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < std::min(to, w.size()); ++i)
    out += (out.empty() ? "" : " ") + w[i];
  return out;
}

// --- The model being built ---------------------------------------------------

enum class Mode { Tcp, Http };
enum class Kind { Defaults, Frontend, Backend, Listen };

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::Defaults:
      return "defaults";
    case Kind::Frontend:
      return "frontend";
    case Kind::Backend:
      return "backend";
    case Kind::Listen:
      return "listen";
  }
  return "?";
}

// What a defaults section holds, and what a proxy starts from.
struct Settings {
  Mode mode = Mode::Tcp;
  int mode_line = 0;  // 0: HAProxy's default (tcp)
  Timeouts timeouts;
  std::optional<uint32_t> maxconn;
  uint32_t retries = 3;
  bool redispatch = false;
  bool allbackups = false;
  bool clitcpka = false, srvtcpka = false;
  Balance balance = Balance::RoundRobin;
  HashType hash_type = HashType::MapBased;
  std::vector<LogTarget> log;  // HAProxy: a proxy without `log` lines logs nothing
  // "log-format", compiled when the frontend ends (as HAProxy does, naming
  // the line it was written on); empty: the tcplog line.
  std::string log_format;
  Origin log_format_at;
  std::string log_format_by;  // "log-format" or "option tcplog": what set it, for a warning
  bool dontlognull = false;
  std::string log_tag;
  Server default_server;
  BackendCheck check;
  std::string default_backend;
  int default_backend_line = 0;
  std::vector<Origin> tcp_check_lines;  // where each rule of check.tcp_check was written
};

struct DefaultsSection {
  std::string name;  // empty: unnamed
  std::string file;
  int line = 0;
  Settings settings;
  bool explicit_ref = false, implicit_ref = false;
};

struct Proxy {
  Kind kind = Kind::Frontend;
  std::string name;
  int line = 0;
  Settings s;
  int defaults_line = 0;  // the defaults section it started from, 0 when none
  std::vector<Bind> binds;
  std::vector<int> bind_lines;
  std::vector<Server> servers;
  std::map<std::string, int> server_lines;
  NamedAcls acls;                  // `acl NAME TEST` lines
  std::vector<BackendRule> rules;  // `use_backend`, in order
  std::vector<int> rule_lines;
  std::vector<ConnectionRule> connection_rules;  // `tcp-request connection`, in order
  int stats_line = 0;                            // first `stats` keyword
  bool own_tcp_check = false;  // its own `tcp-check` rules replace those of the defaults
  size_t errors_before = 0;    // errors found before the section: what follows from an error is
                               // not reported again
  AdminHttp admin;
  bool fe() const { return kind != Kind::Backend && kind != Kind::Defaults; }
  bool be() const { return kind != Kind::Frontend && kind != Kind::Defaults; }
};

// How errors about a server line name it, as HAProxy does.
struct ServerWho {
  std::string label;  // "'server b/s'"; empty for default-server
  std::string name;   // for HAProxy's "... of server s"
};

// --- The parser ----------------------------------------------------------------

class Parser {
 public:
  explicit Parser(const EnvLookup& env) : env_(env) {}

  // One file; the next one continues the configuration (its defaults
  // sections apply to the proxies of later files), as in HAProxy.
  void read(std::string_view text, const std::string& file);
  LoadResult done();

 private:
  void error(int line, std::string message) {
    errors_.push_back({file_, line, "", std::move(message)});
  }
  void warning(int line, std::string message) {
    warnings_.push_back({file_, line, "", std::move(message)});
  }
  void unsupported(const std::string& what) {
    error(line_, what + " is not supported yet by mqlb");
  }

  std::optional<std::string> lookup(std::string_view name) const;
  void parse_line(Words& w);
  void start_section(Words& w);
  void end_section();

  void global_keyword(const Words& w, bool no);
  void proxy_keyword(const Words& w, bool no);
  void defaults_section(const Words& w);
  void proxy_section(Kind kind, const Words& w);

  // Capabilities: true when the keyword applies to the current section.
  bool allowed(const std::string& kw, bool need_fe, bool need_be, bool hard);

  Settings& settings() { return proxy_ ? proxy_->s : defaults_[current_defaults_].settings; }
  Kind kind() const { return proxy_ ? proxy_->kind : Kind::Defaults; }
  std::string who() const {
    return proxy_ ? std::string(kind_name(proxy_->kind)) + " '" + proxy_->name + "'"
                  : "defaults section";
  }

  void keyword_mode(const Words& w);
  void keyword_bind(const Words& w);
  void keyword_balance(const Words& w);
  void keyword_server(const Words& w, bool is_default);
  bool server_options(const Words& w, size_t first, const ServerWho& who, Server& s,
                      std::set<std::string>& own);
  void keyword_timeout(const Words& w);
  void keyword_option(const Words& w, bool no);
  void keyword_tcp_check(const Words& w);
  void keyword_stats(const Words& w);
  void keyword_http_request(const Words& w);
  void keyword_tcp_request(const Words& w);
  // The condition after w[at] ("if" or "unless"); an error `prefix` + the
  // reason when it does not parse or is empty.
  std::optional<Condition> rule_condition(const Words& w, size_t at, const std::string& prefix);
  std::optional<std::vector<LogTarget>> read_log(const Words& w, bool in_global);
  void log_keyword(const Words& w, bool no, std::vector<LogTarget>& list, bool in_global);
  void keyword_log_format(const Words& w);
  // `log-format TEXT` or `option tcplog` ("" for it) in the current section.
  void set_log_format(const std::string& text, const std::string& by);

  std::string with_base(const std::string& base, const std::string& path) const {
    if (base.empty() || path.empty() || path.front() == '/') return path;
    return base + "/" + path;
  }

  void close_proxy();
  void finish();

  std::string file_;
  const EnvLookup& env_;
  int line_ = 0;
  std::string section_label_;  // HAProxy's .SECTION

  enum class Section { None, Global, Defaults, Proxy, Skipped };
  Section section_ = Section::None;
  bool global_maxconn_set_ = false;
  bool global_log_set_ = false;  // the first `log` line replaces the default stderr target
  std::string ca_base_, crt_base_;
  std::vector<DefaultsSection> defaults_;
  size_t current_defaults_ = 0;          // while in a defaults section
  std::optional<size_t> last_defaults_;  // what the next proxy starts from
  std::optional<Proxy> proxy_;
  // Where each name was declared: "file:line".
  std::map<std::string, std::string> frontend_names_, backend_names_;
  // Per frontend of cfg_, the file and line that name its default_backend.
  std::vector<std::pair<std::string, int>> frontend_lines_;
  std::vector<std::vector<int>> rule_lines_;  // per frontend, its use_backend lines

  Config cfg_;
  std::vector<Error> errors_, warnings_;
};

std::optional<std::string> Parser::lookup(std::string_view name) const {
  if (name == ".LINE") return std::to_string(line_);
  if (name == ".FILE") return file_;
  if (name == ".SECTION") return section_label_;
  if (name.empty() || name.front() == '.') return std::nullopt;
  return env_ ? env_(name) : std::nullopt;
}

void Parser::read(std::string_view text, const std::string& file) {
  file_ = file;
  line_ = 0;
  if (cfg_.file.empty()) cfg_.file = file;
  size_t start = 0;
  EnvLookup env = [this](std::string_view name) { return lookup(name); };
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    bool has_lf = end != std::string_view::npos;
    std::string_view line = text.substr(start, (has_lf ? end : text.size()) - start);
    ++line_;
    start = has_lf ? end + 1 : text.size();
    if (size_t nul = line.find('\0'); nul != std::string_view::npos) {
      error(line_, "Stray NUL character at position " + std::to_string(nul + 1) + ".");
      break;
    }
    if (!has_lf) {
      // HAProxy 2.6 takes a last line without LF for a truncated file.
      error(line_, "Missing LF on last line, file might have been truncated at position " +
                       std::to_string(line.size() + 1) + ".");
    }
    size_t first = line.find_first_not_of(" \t\r\f\v");
    if (first != std::string_view::npos && line[first] == '[') {
      unsupported("a scope line ('[...]')");
      continue;
    }
    auto words = tokenize_line(line, env);
    if (auto* e = std::get_if<TokenizeError>(&words)) {
      error(line_, e->message);
      continue;
    }
    Words& w = std::get<Words>(words);
    if (w.empty()) continue;
    parse_line(w);
  }
  // A file ends its last section; the next file starts out of any.
  end_section();
}

LoadResult Parser::done() {
  finish();
  LoadResult result;
  result.errors = std::move(errors_);
  result.warnings = std::move(warnings_);
  resolve_log_formats(cfg_);
  if (result.errors.empty()) result.config = std::move(cfg_);
  return result;
}

void Parser::parse_line(Words& w) {
  if (!w[0].empty() && w[0].front() == '.') {
    // Conditional blocks and messages of HAProxy 2.6.
    if ((w[0] == ".warning" || w[0] == ".alert") && w.size() > 2) {
      error(line_, "Unexpected argument '" + w[2] + "' for '" + w[0] +
                       "'. Use quotes if the message should contain spaces.");
    } else if (w[0] == ".warning") {
      warning(line_, "'" + (w.size() > 1 ? w[1] : "") + "'.");
    } else if (w[0] == ".alert") {
      error(line_, "'" + (w.size() > 1 ? w[1] : "") + "'.");
    } else if (w[0] == ".if" || w[0] == ".elif" || w[0] == ".else" || w[0] == ".endif" ||
               w[0] == ".notice" || w[0] == ".diag") {
      unsupported("'" + w[0] + "'");
    } else {
      error(line_, "unknown directive '" + w[0] + "'.");
    }
    return;
  }
  bool no = false;
  if (w[0] == "no" || w[0] == "default") {
    if (w.size() < 2 || (w[1] != "option" && w[1] != "log")) {
      error(line_,
            "negation/default currently supported only for options, log, busy-polling, "
            "set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.");
      return;
    }
    if (w[0] == "default") {
      unsupported("'default " + w[1] + "'");
      return;
    }
    no = true;
    w.erase(w.begin());
  }
  const std::string& kw = w[0];
  if (kw == "global" || kw == "defaults" || kw == "frontend" || kw == "backend" || kw == "listen" ||
      contains(kUnsupportedSections, kw)) {
    start_section(w);
    return;
  }
  switch (section_) {
    case Section::None:
      error(line_, "unknown keyword '" + kw + "' out of section.");
      return;
    case Section::Skipped:
      return;  // the section line was reported
    case Section::Global:
      global_keyword(w, no);
      return;
    case Section::Defaults:
    case Section::Proxy:
      proxy_keyword(w, no);
      return;
  }
}

void Parser::start_section(Words& w) {
  end_section();
  const std::string& kw = w[0];
  section_label_ = w.size() > 1 ? w[1] : kw;
  if (kw == "global") {
    section_ = Section::Global;
    if (w.size() > 1) error(line_, "'global' cannot handle unexpected argument '" + w[1] + "'.");
  } else if (kw == "defaults") {
    defaults_section(w);
  } else if (kw == "frontend") {
    proxy_section(Kind::Frontend, w);
  } else if (kw == "backend") {
    proxy_section(Kind::Backend, w);
  } else if (kw == "listen") {
    proxy_section(Kind::Listen, w);
  } else {
    section_ = Section::Skipped;
    unsupported("section '" + kw + "'");
  }
}

void Parser::end_section() {
  if (proxy_) close_proxy();
  proxy_.reset();
  section_ = Section::None;
}

// `defaults [NAME] [from NAME]`: without `from`, a defaults section starts
// from HAProxy's built-in values, not from the previous one.
void Parser::defaults_section(const Words& w) {
  DefaultsSection d;
  d.file = file_;
  d.line = line_;
  size_t arg = 1;
  if (w.size() > 1 && w[1] != "from") {
    d.name = w[1];
    arg = 2;
  }
  if (w.size() > arg) {
    if (w[arg] != "from" || w.size() != arg + 2) {
      error(line_,
            "'defaults' expects [NAME] [from NAME], got '" + join_words(w, 1, w.size()) + "'");
    } else {
      const DefaultsSection* from = nullptr;
      for (auto& other : defaults_)
        if (other.name == w[arg + 1]) from = &other;  // the last of that name
      if (!from)
        error(line_,
              "defaults section '" + w[arg + 1] + "' not found for defaults '" + d.name + "'.");
      else
        d.settings = from->settings;
    }
  }
  if (auto c = invalid_name_char(d.name))
    error(line_, std::string("character '") + *c + "' is not permitted in 'defaults' name '" +
                     d.name + "'.");
  defaults_.push_back(std::move(d));
  current_defaults_ = defaults_.size() - 1;
  last_defaults_ = current_defaults_;
  section_ = Section::Defaults;
}

void Parser::proxy_section(Kind kind, const Words& w) {
  section_ = Section::Skipped;
  const std::string kw = w[0];
  if (w.size() < 2 || w[1].empty()) {
    error(line_, "'" + kw + "' expects an <id> argument");
    return;
  }
  Proxy p;
  p.kind = kind;
  p.name = w[1];
  p.line = line_;
  if (auto c = invalid_name_char(p.name))
    error(line_, std::string("character '") + *c + "' is not permitted in '" + kw + "' name '" +
                     p.name + "'.");
  auto check_duplicate = [&](std::map<std::string, std::string>& names, std::string_view what) {
    auto [it, fresh] = names.emplace(p.name, file_ + ":" + std::to_string(line_));
    if (!fresh)
      error(line_, "" + kw + " '" + p.name + "' has the same name as " + std::string(what) + " '" +
                       p.name + "' declared at " + it->second + ".");
  };
  if (kind != Kind::Backend) check_duplicate(frontend_names_, "frontend");
  if (kind != Kind::Frontend) check_duplicate(backend_names_, "backend");

  // SIZE_MAX: no defaults section (HAProxy's built-in values).
  size_t from = last_defaults_.value_or(SIZE_MAX);
  auto has = [&] { return from != SIZE_MAX; };
  size_t arg = 2;
  if (w.size() > 2 && w[2] != "from") {
    if (kind == Kind::Backend || w[2].find(':') == std::string::npos) {
      if (kind != Kind::Backend)
        error(line_, "please use the 'bind' keyword for listening addresses.");
      else
        error(line_, "'backend " + p.name + "' cannot handle unexpected argument '" + w[2] +
                         "' (only 'from DEFAULTS' may follow the name).");
      return;
    }
    // HAProxy 1.x: `listen NAME ADDR:PORT`. HAProxy 2.6 refuses it; files
    // generated by old templates still have it.
    warning(line_, "'" + kw + " " + p.name + " " + w[2] +
                       "': an address on the section line is HAProxy 1.x syntax (HAProxy 2.6 "
                       "refuses it), use 'bind " +
                       w[2] + "' in the section.");
    Words bind{"bind", w[2]};
    p.errors_before = errors_.size();
    proxy_ = std::move(p);
    proxy_->s = has() ? defaults_[from].settings : Settings{};
    proxy_->defaults_line = has() ? defaults_[from].line : 0;
    section_ = Section::Proxy;
    keyword_bind(bind);
    if (w.size() > 3) {
      error(line_,
            "'" + kw + " " + proxy_->name + "' cannot handle unexpected argument '" + w[3] + "'.");
    }
    return;
  }
  if (w.size() > arg) {
    if (w.size() != arg + 2) {
      error(line_, "'" + kw + " " + p.name + "' expects 'from DEFAULTS' after the name, got '" +
                       join_words(w, 2, w.size()) + "'.");
      return;
    }
    const std::string& name = w[arg + 1];
    from = SIZE_MAX;
    int count = 0;
    for (size_t i = 0; i < defaults_.size(); ++i)
      if (defaults_[i].name == name) {
        if (!has()) from = i;
        ++count;
      }
    if (!has()) {
      error(line_, "defaults section '" + name + "' not found for " + kw + " '" + p.name + "'.");
      return;
    }
    if (count > 1)
      error(line_, "ambiguous defaults section name '" + name + "' referenced by " + kw + " '" +
                       p.name + "'.");
    defaults_[from].explicit_ref = true;
  } else if (has()) {
    defaults_[from].implicit_ref = true;
  }
  if (has() && defaults_[from].explicit_ref && defaults_[from].implicit_ref)
    warning(line_, "defaults section '" + defaults_[from].name + "' (declared at " +
                       defaults_[from].file + ":" + std::to_string(defaults_[from].line) +
                       ") is explicitly referenced by another proxy and implicitly used here. To "
                       "avoid any ambiguity don't mix both usage. Add a last defaults section not "
                       "explicitly used or always use explicit references.");
  p.s = has() ? defaults_[from].settings : Settings{};
  p.defaults_line = has() ? defaults_[from].line : 0;
  p.errors_before = errors_.size();
  proxy_ = std::move(p);
  section_ = Section::Proxy;
}

// --- global ---------------------------------------------------------------------

void Parser::global_keyword(const Words& w, bool no) {
  const std::string& kw = w[0];
  Global& g = cfg_.global;
  auto arg = [&](size_t i) -> std::string { return i < w.size() ? w[i] : ""; };
  if (no && kw != "log") {
    error(line_, "negation/default is not supported for '" + kw + "'.");
    return;
  }
  if (kw == "maxconn") {
    auto n = to_uint(arg(1));
    if (!n)
      error(line_, "'maxconn' expects an integer argument.");
    else if (*n < 1 || *n > 10'000'000)
      error(line_, "'maxconn' must be 1..10000000, got " + arg(1));
    else {
      g.maxconn = uint32_t(*n);
      global_maxconn_set_ = true;
    }
  } else if (kw == "nbthread") {
    auto n = to_uint(arg(1));
    if (!n)
      error(line_, "'nbthread' passed a missing or unparsable integer value in '" + arg(1) + "'");
    else if (*n < 1 || *n > 256)
      error(line_, "'nbthread' value must be between 1 and 256 (was " + arg(1) + ")");
    else
      g.workers = unsigned(*n);
  } else if (kw == "hard-stop-after") {
    if (arg(1).empty()) {
      error(line_, "'hard-stop-after' expects <time> as argument.");
      return;
    }
    TimeValue t = read_time(arg(1));
    if (t.value)
      g.hard_stop_after = *t.value;
    else if (t.overflow)
      error(line_, "timer overflow in argument '" + arg(1) +
                       "' to 'hard-stop-after' (maximum value is 2147483647 ms or ~24.8 days)");
    else
      error(line_,
            std::string("unexpected character '") + t.bad + "' in argument to <hard-stop-after>.");
  } else if (kw == "tune.bufsize") {
    auto n = to_uint(arg(1));
    if (!n || *n == 0)
      error(line_, "'tune.bufsize' expects a positive integer argument.");
    else if (*n < 1024 || *n > 64 * 1024 * 1024)
      error(line_, "'tune.bufsize' must be 1024..67108864 in mqlb, got " + arg(1));
    else
      g.tune.bufsize = uint32_t(*n);
  } else if (kw == "log-tag") {
    if (w.size() > 2)
      error(line_, "'log-tag' cannot handle unexpected argument '" + w[2] + "'.");
    else if (arg(1).empty())
      error(line_, "'log-tag' expects a tag for use in syslog.");
    else
      g.log_tag = arg(1);
  } else if (kw == "log-send-hostname") {
    if (g.log_send_hostname)  // HAProxy alerts, keeps the first and starts
      warning(line_, "'log-send-hostname' already specified. Continuing.");
    else
      g.log_send_hostname = arg(1);  // "": the machine's, when the logs start
  } else if (kw == "log") {
    std::vector<LogTarget> list = global_log_set_ ? g.log : std::vector<LogTarget>{};
    log_keyword(w, no, list, true);
    g.log = std::move(list);
    global_log_set_ = true;
  } else if (kw == "ca-base" || kw == "crt-base") {
    std::string& base = kw == "ca-base" ? ca_base_ : crt_base_;
    if (arg(1).empty())
      error(line_, "global statement '" + kw + "' expects a directory path as an argument.");
    else if (!base.empty())
      error(line_, "'" + kw + "' already specified. Continuing.");
    else
      base = arg(1);
  } else if (kw == "stats" && arg(1) == "socket") {
    // The runtime socket (lb/admin/commands), HAProxy's text protocol.
    StatsSocket sock;
    sock.path = arg(2);
    if (sock.path.empty()) {
      error(line_, "'stats socket' expects a path.");
      return;
    }
    for (size_t i = 3; i < w.size(); i += 2) {
      const std::string value = i + 1 < w.size() ? w[i + 1] : "";
      if (w[i] == "mode" && !value.empty() && value.size() <= 4 &&
          value.find_first_not_of("01234567") == std::string::npos) {
        sock.mode = value;
      } else if (w[i] == "mode") {
        error(line_, "'stats socket' : 'mode' expects an octal file mode such as 660, got '" +
                         value + "'.");
      } else if (w[i] == "level" && (value == "user" || value == "operator" || value == "admin")) {
        sock.level = value;
      } else if (w[i] == "level") {
        error(line_, "'stats socket' : 'level' only supports 'user', 'operator', and 'admin'.");
      } else {
        // user, group, uid, gid, expose-fd listeners, process...: a Unix
        // socket's other settings, and HAProxy's seamless reload.
        warning(line_, "'stats socket' : '" + w[i] + "' is ignored: it does not apply to mqlb.");
      }
    }
    g.stats_sockets.push_back(sock);
  } else if (kw == "stats") {
    warning(line_, "'" + join_words(w, 0, 2) + "' is ignored: it does not apply to mqlb.");
  } else if (kw == "server-state-file") {
    if (arg(1).empty()) {
      error(line_, "'server-state-file' expects a file path.");
      return;
    }
    // mqlb keeps the admin API's changes there, as its own JSON.
    g.server_state_file = arg(1);
  } else if (kw == "tune.mqlb.relay-high-water" || kw == "tune.mqlb.relay-low-water") {
    // mqlb's own: how much may wait for a slow side before reading stops.
    auto n = to_uint(arg(1));
    if (!n || *n < 1024 || *n > 64 * 1024 * 1024) {
      error(line_, "'" + kw + "' expects a size in bytes, 1024..67108864, got '" + arg(1) + "'");
      return;
    }
    (kw == "tune.mqlb.relay-high-water" ? g.tune.relay_high_water : g.tune.relay_low_water) =
        uint32_t(*n);
  } else if (contains(kGlobalIrrelevant, kw)) {
    warning(line_, "'" + kw + "' is ignored: it does not apply to mqlb.");
  } else if (contains(kGlobalKeywords, kw)) {
    unsupported("'" + kw + "'");
  } else {
    error(line_, "unknown keyword '" + kw + "' in 'global' section" + suggest(kw, kGlobalKeywords));
  }
}

// --- log --------------------------------------------------------------------------

// `log ADDRESS [len N] [format F] FACILITY [LEVEL [MINLEVEL]]`; nullopt after
// an error.
std::optional<std::vector<LogTarget>> Parser::read_log(const Words& w, bool in_global) {
  if (w.size() < 3) {
    error(line_, in_global ? "log : expects <address> and <facility>  as arguments"
                           : "log : expects <address> and <facility> or global as arguments");
    return std::nullopt;
  }
  LogTarget t;
  const std::string& address = w[1];
  if (address == "stdout" || address == "fd@1") {
    t.kind = LogTarget::Kind::Stdout;
  } else if (address == "stderr" || address == "fd@2") {
    t.kind = LogTarget::Kind::Stderr;
  } else {
    t.kind = LogTarget::Kind::Syslog;
    std::string why;
    auto a = parse_address(env_expand(address, env_), why);
    if (!a) {
      error(line_, "log : " + why);
      return std::nullopt;
    }
    t.host = a->host;
    if (a->port) t.port = *a->port;
  }
  // In HAProxy's order: [len N] [format F] [sample ...].
  size_t i = 2;
  if (i < w.size() && w[i] == "len") {
    const std::string n = i + 1 < w.size() ? w[i + 1] : "";
    auto len = to_uint(n);
    if (!len || *len < 80 || *len > 65535) {
      error(line_, "log : invalid log length '" + n + "', must be between 80 and 65535");
      return std::nullopt;
    }
    t.len = uint32_t(*len);
    i += 2;
  }
  if (i < w.size() && w[i] == "format") {
    auto format = parse_log_target_format(i + 1 < w.size() ? w[i + 1] : "");
    if (!format) {
      error(line_,
            "log : unknown log format '" + (i + 1 < w.size() ? w[i + 1] : std::string()) + "'");
      return std::nullopt;
    }
    t.format = format;
    i += 2;
  }
  if (i < w.size() && w[i] == "sample") {
    unsupported("log option 'sample'");
    return std::nullopt;
  }
  if (i >= w.size()) {
    error(line_, in_global ? "log : expects <address> and <facility>  as arguments"
                           : "log : expects <address> and <facility> or global as arguments");
    return std::nullopt;
  }
  auto fac = std::find(std::begin(kSyslogFacilities), std::end(kSyslogFacilities), w[i]);
  if (fac == std::end(kSyslogFacilities)) {
    error(line_, "log : unknown log facility '" + w[i] + "'");
    return std::nullopt;
  }
  t.facility = int(fac - std::begin(kSyslogFacilities));
  if (++i < w.size()) {
    auto lvl = std::find(std::begin(kSyslogLevels), std::end(kSyslogLevels), w[i]);
    if (lvl == std::end(kSyslogLevels)) {
      error(line_, "log : unknown optional log level '" + w[i] + "'");
      return std::nullopt;
    }
    t.level = int(lvl - std::begin(kSyslogLevels));
  }
  if (++i < w.size()) {
    auto min = std::find(std::begin(kSyslogLevels), std::end(kSyslogLevels), w[i]);
    if (min == std::end(kSyslogLevels)) {
      error(line_, "log : unknown optional minimum log level '" + w[i] + "'");
      return std::nullopt;
    }
    unsupported("log : a minimum level ('" + w[i] + "')");
    return std::nullopt;
  }
  return std::vector<LogTarget>{t};
}

// `log ...` appends, `log global` appends the global targets, `no log`
// clears what the defaults section handed down.
void Parser::log_keyword(const Words& w, bool no, std::vector<LogTarget>& list, bool in_global) {
  if (no) {
    if (w.size() > 1)
      error(line_, "log : 'no log' does not expect arguments");
    else
      list.clear();
    return;
  }
  if (!in_global && w.size() == 2 && w[1] == "global") {
    // HAProxy copies the global targets as they are at this line.
    if (global_log_set_) list.insert(list.end(), cfg_.global.log.begin(), cfg_.global.log.end());
    return;
  }
  if (auto targets = read_log(w, in_global))
    list.insert(list.end(), targets->begin(), targets->end());
}

void Parser::set_log_format(const std::string& text, const std::string& by) {
  Settings& s = settings();
  if (!proxy_ && !s.log_format_by.empty())
    warning(line_,
            "'" + by + "' overrides previous '" + s.log_format_by + "' in 'defaults' section.");
  s.log_format = text;
  s.log_format_at = {file_, line_};
  s.log_format_by = by;
}

void Parser::keyword_log_format(const Words& w) {
  if (w.size() < 2 || w[1].empty()) {
    error(line_, "log-format expects an argument.");
    return;
  }
  if (w.size() > 2) {
    error(line_, "log-format expects only one argument, don't forget to escape spaces!");
    return;
  }
  if (proxy_ && !proxy_->fe()) {
    warning(line_, who() + " : 'log-format' directive is ignored in backends.");
    return;
  }
  set_log_format(w[1], "log-format");
}

// --- proxies and defaults ------------------------------------------------------------

bool Parser::allowed(const std::string& kw, bool need_fe, bool need_be, bool hard) {
  if (!proxy_) return true;
  if ((need_fe && !proxy_->fe()) || (need_be && !proxy_->be())) {
    std::string lacking = need_fe && !proxy_->fe() ? "frontend" : "backend";
    if (hard)
      error(line_,
            "'" + kw + "' not allowed because " + who() + " has no " + lacking + " capability.");
    else
      warning(line_,
              "'" + kw + "' ignored because " + who() + " has no " + lacking + " capability.");
    return false;
  }
  return true;
}

void Parser::proxy_keyword(const Words& w, bool no) {
  const std::string& kw = w[0];
  const bool in_defaults = !proxy_;
  auto arg = [&](size_t i) -> std::string { return i < w.size() ? w[i] : ""; };
  if (kw == "option") {
    keyword_option(w, no);
  } else if (kw == "log") {
    log_keyword(w, no, settings().log, false);
  } else if (kw == "log-format") {
    keyword_log_format(w);
  } else if (kw == "log-tag") {
    if (w.size() < 2 || w[1].empty()) {
      error(line_, "'log-tag' expects a tag for use in syslog.");
    } else if (proxy_ && !proxy_->fe()) {
      warning(line_, who() +
                         " : 'log-tag' has no effect in a backend: mqlb logs sessions by "
                         "their frontend.");
    } else {
      settings().log_tag = w[1];
    }
  } else if (kw == "mode") {
    keyword_mode(w);
  } else if (kw == "bind") {
    if (in_defaults) {
      error(line_, "'bind' not allowed in 'defaults' section.");
      return;
    }
    if (allowed(kw, true, false, false)) keyword_bind(w);
  } else if (kw == "default_backend") {
    if (!allowed(kw, true, false, false)) return;
    if (arg(1).empty()) {
      error(line_, "'default_backend' expects a backend name.");
      return;
    }
    settings().default_backend = arg(1);
    settings().default_backend_line = line_;
  } else if (kw == "acl") {
    if (in_defaults) {
      error(line_, "'acl' not allowed in 'defaults' section.");
      return;
    }
    if (arg(1).empty() || w.size() < 3) {
      error(line_, "'acl' expects an ACL name and a fetch method.");
      return;
    }
    auto test = parse_acl_test({w.begin() + 2, w.end()});
    if (auto* e = std::get_if<std::string>(&test)) {
      error(line_, "error detected while parsing ACL '" + w[1] + "' : " + *e);
      return;
    }
    // Only frontends choose a backend; HAProxy's backend ACLs serve rules
    // mqlb does not have.
    if (!proxy_->fe()) {
      warning(line_, "'acl' ignored because " + who() + " has no frontend capability.");
      return;
    }
    proxy_->acls[w[1]].push_back(std::get<AclTest>(std::move(test)));
  } else if (kw == "tcp-request") {
    keyword_tcp_request(w);
  } else if (kw == "use_backend") {
    if (in_defaults) {
      error(line_, "'use_backend' not allowed in 'defaults' section.");
      return;
    }
    if (!allowed(kw, true, false, true)) return;
    if (arg(1).empty()) {
      error(line_, "'use_backend' expects a backend name.");
      return;
    }
    BackendRule rule;
    rule.backend = w[1];
    if (w.size() > 2) {
      if (w[2] != "if" && w[2] != "unless") {
        error(line_, "unexpected keyword '" + w[2] +
                         "' after switching rule, only 'if' and 'unless' are allowed.");
        return;
      }
      rule.unless = w[2] == "unless";
      auto cond = rule_condition(w, 2, "error detected while parsing switching rule : ");
      if (!cond) return;
      rule.condition = std::move(*cond);
    }
    proxy_->rules.push_back(std::move(rule));
    proxy_->rule_lines.push_back(line_);
  } else if (kw == "balance") {
    if (allowed(kw, false, true, false)) keyword_balance(w);
  } else if (kw == "server" || kw == "default-server") {
    if (in_defaults && kw == "server") {
      error(line_, "'server' not allowed in 'defaults' section.");
      return;
    }
    if (allowed(kw, false, true, true)) keyword_server(w, kw == "default-server");
  } else if (kw == "timeout") {
    keyword_timeout(w);
  } else if (kw == "maxconn") {
    if (!proxy_ || proxy_->fe()) {
      auto n = to_uint(arg(1));
      if (!n)
        error(line_, "'maxconn' expects an integer argument.");
      else if (*n < 1 || *n > 10'000'000)
        error(line_, "'maxconn' must be 1..10000000, got " + arg(1));
      else
        settings().maxconn = uint32_t(*n);
    } else {
      warning(line_, "'maxconn' ignored because " + who() +
                         " has no frontend capability. Maybe you want 'fullconn' instead ?");
    }
  } else if (kw == "retries") {
    if (!allowed(kw, false, true, false)) return;
    auto n = to_uint(arg(1));
    if (!n)
      error(line_, "'retries' expects an integer argument (dispatch counts for one).");
    else if (*n > 100)
      error(line_, "'retries' must be 0..100, got " + arg(1));
    else
      settings().retries = uint32_t(*n);
  } else if (kw == "tcp-check") {
    if (allowed(kw, false, true, false)) keyword_tcp_check(w);
  } else if (kw == "fullconn") {
    if (!allowed(kw, false, true, false)) return;
    if (!to_uint(arg(1))) {
      error(line_, "'fullconn' expects an integer argument.");
      return;
    }
    // HAProxy sizes dynamic server maxconn (minconn) by it; mqlb has no minconn.
    warning(line_, "'fullconn' has no effect: mqlb has no 'minconn' for it to scale.");
  } else if (kw == "hash-type") {
    if (!allowed(kw, false, true, false)) return;
    auto type = parse_hash_type(arg(1));
    if (!type) {
      error(line_, "'hash-type' expects 'map-based' or 'consistent' (got '" + arg(1) + "').");
      return;
    }
    static constexpr std::string_view kFunctions[] = {"sdbm", "djb2", "wt6", "crc32"};
    if (w.size() > 2 && !contains(kFunctions, arg(2))) {
      error(line_, "'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.");
      return;
    }
    if (w.size() > 3 && arg(3) != "avalanche") {
      error(line_, "'hash-type' only supports 'avalanche' as a modifier for hash functions.");
      return;
    }
    settings().hash_type = *type;
    if (w.size() > 2)
      warning(line_, "'hash-type " + arg(1) + " " + join_words(w, 2, w.size()) +
                         "': mqlb hashes with its own function.");
  } else if (kw == "stats") {
    keyword_stats(w);
  } else if (kw == "http-request") {
    keyword_http_request(w);
  } else if (kw == "description") {
    warning(line_, "'description' is ignored: mqlb's status page does not show it.");
  } else if (contains(kHttpOnlyKeywords, kw)) {
    warning(line_, "'" + kw + "' ignored for " + who() +
                       " as it requires HTTP mode (mqlb balances TCP/MQTT only).");
  } else if (contains(kProxyKeywords, kw)) {
    unsupported("'" + kw + "'");
  } else {
    std::string section(kind_name(kind()));
    error(line_, "unknown keyword '" + kw + "' in '" + section + "' section" +
                     suggest(kw, kProxyKeywords));
  }
}

void Parser::keyword_mode(const Words& w) {
  if (w.size() < 2) {
    error(line_, "unknown proxy mode ''.");
    return;
  }
  if (w[1] == "tcp") {
    settings().mode = Mode::Tcp;
  } else if (w[1] == "http") {
    settings().mode = Mode::Http;
  } else {
    error(line_, "unknown proxy mode '" + w[1] + "'.");
    return;
  }
  settings().mode_line = line_;
}

std::optional<Condition> Parser::rule_condition(const Words& w, size_t at,
                                                const std::string& prefix) {
  auto cond = parse_condition({w.begin() + static_cast<long>(at) + 1, w.end()}, proxy_->acls);
  if (auto* e = std::get_if<std::string>(&cond)) {
    error(line_, prefix + *e);
    return std::nullopt;
  }
  if (std::get<Condition>(cond).any_of.empty()) {
    error(line_, prefix + "no condition after '" + w[at] + "'.");
    return std::nullopt;
  }
  return std::get<Condition>(std::move(cond));
}

// The actions of `tcp-request connection` that HAProxy 2.6 knows besides
// accept and reject: refused as not built rather than unknown.
constexpr std::string_view kConnectionActions[] = {
    "accept",       "reject",     "capture",      "expect-proxy", "expect-netscaler-cip",
    "track-sc0",    "track-sc1",  "track-sc2",    "sc-inc-gpc",   "sc-inc-gpc0",
    "sc-inc-gpc1",  "sc-set-gpt", "sc-set-gpt0",  "set-var-fmt",  "set-var",
    "unset-var",    "set-dst",    "set-dst-port", "set-mark",     "set-src",
    "set-src-port", "set-tos",    "silent-drop"};

void Parser::keyword_tcp_request(const Words& w) {
  auto arg = [&](size_t i) -> std::string { return i < w.size() ? w[i] : ""; };
  const std::string scope = arg(1);
  if (scope == "inspect-delay" || scope == "content" || scope == "session") {
    unsupported("'tcp-request " + scope + "'");
    return;
  }
  if (!proxy_) {
    unsupported("'tcp-request' in a defaults section");
    return;
  }
  const std::string where = std::string(kind_name(proxy_->kind)) + " '" + proxy_->name + "'";
  if (scope != "connection") {
    error(line_, "'tcp-request' expects 'inspect-delay', 'connection', or 'content' in " + where +
                     " (got '" + scope + "').");
    return;
  }
  if (!proxy_->fe()) {
    error(line_, "tcp-request connection is not allowed because " +
                     std::string(kind_name(proxy_->kind)) + " " + proxy_->name +
                     " is not a frontend");
    return;
  }
  const std::string action = arg(2);
  if (action != "accept" && action != "reject") {
    // An action may carry its arguments in parentheses: set-var(sess.x).
    if (contains(kConnectionActions, action.substr(0, action.find('('))))
      unsupported("'tcp-request connection " + action + "'");
    else
      error(line_,
            "'tcp-request connection' expects 'accept', 'reject', 'capture', "
            "'expect-proxy', 'expect-netscaler-cip', 'track-sc0' ... 'track-sc2', "
            "'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', "
            "'sc-set-gpt0(*)', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', 'set-dst', "
            "'set-dst-port', 'set-mark', 'set-src', 'set-src-port', 'set-tos', "
            "'silent-drop' in " +
                where + " (got '" + action + "')" + suggest_or_period(action, kConnectionActions));
    return;
  }
  ConnectionRule rule;
  rule.action =
      action == "accept" ? ConnectionRule::Action::Accept : ConnectionRule::Action::Reject;
  const std::string head = "'tcp-request connection " + action + "'";
  if (w.size() > 3) {
    if (w[3] != "if" && w[3] != "unless") {
      error(line_, head + " only accepts 'if' or 'unless', in " + where + " (got '" + w[3] + "')");
      return;
    }
    rule.unless = w[3] == "unless";
    auto cond = rule_condition(
        w, 3,
        head + " : error detected in " + where + " while parsing '" + w[3] + "' condition : ");
    if (!cond) return;
    rule.condition = std::move(*cond);
    // HAProxy's warning; ssl_fc is known at accept all the same (the bind
    // is TLS or not), the name the client asks for is not.
    if (auto fetch = tls_fetch_in(rule.condition); !fetch.empty())
      warning(line_, "anonymous acl involves keyword '" + std::string(fetch) +
                         "' which is incompatible with 'frontend tcp-request connection rule'");
  }
  if (!proxy_->rules.empty())
    warning(line_,
            "a 'tcp-request' rule placed after a 'use_backend' rule will still be processed "
            "before.");
  proxy_->connection_rules.push_back(std::move(rule));
}

void Parser::keyword_balance(const Words& w) {
  if (w.size() < 2) {
    settings().balance = Balance::RoundRobin;  // HAProxy: `balance` alone is roundrobin
    return;
  }
  const std::string& algo = w[1];
  if (auto b = parse_balance(algo)) {
    if (w.size() > 2) {
      unsupported("'balance " + algo + "' with arguments ('" + w[2] + "')");
      return;
    }
    settings().balance = *b;
  } else if (algo == "uri" || algo == "url_param" || algo.starts_with("hdr(") ||
             algo.starts_with("rdp-cookie")) {
    error(line_, "'balance " + algo + "' needs HTTP or RDP: mqlb balances TCP/MQTT only");
  } else if (algo == "hash" || algo.starts_with("random(")) {
    unsupported("'balance " + algo + "'");
  } else {
    error(line_,
          "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'first' and "
          "'random' in mqlb (got '" +
              algo + "')" + suggest(algo, kBalanceNames));
  }
}

void Parser::keyword_timeout(const Words& w) {
  static constexpr std::string_view kNames[] = {
      "client",       "server", "connect", "check",      "queue",      "http-keep-alive",
      "http-request", "tunnel", "tarpit",  "client-fin", "server-fin", "client-hs"};
  std::string name = w.size() > 1 ? w[1] : "";
  // Compatibility names HAProxy still reads.
  if (name == "clitimeout" || name == "srvtimeout" || name == "contimeout") {
    error(line_, "the '" + name + "' keyword is not supported any more, use 'timeout " +
                     (name == "clitimeout"   ? "client"
                      : name == "srvtimeout" ? "server"
                                             : "connect") +
                     "' instead.");
    return;
  }
  if (!contains(kNames, name)) {
    error(line_,
          "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', "
          "'http-request', 'tunnel', 'tarpit', 'client-fin', 'server-fin' and 'client-hs' (got '" +
              name + "')");
    return;
  }
  const std::string what = "timeout " + name;
  // An empty word (`""`, or a variable that expands to nothing) is no value.
  if (w.size() < 3 || w[2].empty()) {
    error(line_, "'" + what + "' expects an integer value (in milliseconds)");
    return;
  }
  if (w.size() > 3) {
    error(line_,
          "'" + what + "' : unexpected extra argument '" + w[3] + "' after value '" + w[2] + "'.");
    return;
  }
  TimeValue t = read_time(w[2]);
  if (!t.value) {
    if (t.overflow)
      error(line_, "timer overflow in argument '" + w[2] + "' to '" + what +
                       "' (maximum value is 2147483647 ms or ~24.8 days)");
    else
      error(line_, std::string("unexpected character '") + t.bad + "' in '" + what + "'");
    return;
  }
  if (name == "http-keep-alive" || name == "http-request" || name == "tarpit") {
    warning(line_,
            "'" + what + "' is ignored: it requires HTTP mode (mqlb balances TCP/MQTT only).");
    return;
  }
  bool frontend_side = name == "client" || name == "client-fin" || name == "client-hs";
  if (proxy_ && ((frontend_side && !proxy_->fe()) || (!frontend_side && !proxy_->be()))) {
    warning(line_, "'" + what + "' will be ignored because " + who() + " has no " +
                       (frontend_side ? "frontend" : "backend") + " capability");
    return;
  }
  Timeouts& to = settings().timeouts;
  std::optional<Duration>* field = name == "client"       ? &to.client
                                   : name == "client-fin" ? &to.client_fin
                                   : name == "client-hs"  ? &to.client_hs
                                   : name == "server"     ? &to.server
                                   : name == "server-fin" ? &to.server_fin
                                   : name == "connect"    ? &to.connect
                                   : name == "queue"      ? &to.queue
                                   : name == "tunnel"     ? &to.tunnel
                                                          : &to.check;
  // 0 stays a value so that it overrides the defaults; "no timeout" once resolved.
  *field = t.value;
}

void Parser::keyword_option(const Words& w, bool no) {
  if (w.size() < 2) {
    error(line_, "'option' expects an option name.");
    return;
  }
  const std::string& name = w[1];
  const std::string what = "option " + name;
  if (!contains(kOptions, name)) {
    error(line_, "unknown option '" + name + "'" + suggest(name, kOptions));
    return;
  }
  if (w.size() > 2 && name != "forwardfor" && name != "originalto" && name != "httplog" &&
      name != "tcp-check") {
    error(line_, "'" + what + "' cannot handle unexpected argument '" + w[2] + "'.");
    return;
  }
  Settings& s = settings();
  if (contains(kHttpOptions, name)) {
    // HAProxy's warning for these options in a TCP proxy; in a mode http
    // section the section itself is decided when it ends.
    if (s.mode == Mode::Tcp)
      warning(line_, "'" + what + "' ignored for " + who() + " as it requires HTTP mode.");
    return;
  }
  bool negatable = name == "redispatch" || name == "allbackups" || name == "log-health-checks" ||
                   name == "dontlognull" || name == "tcpka" || name == "clitcpka" ||
                   name == "srvtcpka";
  if (no && !negatable) {
    error(line_, "negation/default is not supported for option '" + name + "'.");
    return;
  }
  if (name == "redispatch") {
    if (allowed("redispatch", false, true, false)) s.redispatch = !no;
  } else if (name == "allbackups") {
    if (allowed("allbackups", false, true, false)) s.allbackups = !no;
  } else if (name == "log-health-checks") {
    if (allowed("log-health-checks", false, true, false)) s.check.log_health_checks = !no;
  } else if (name == "tcp-check") {
    if (!allowed("tcp-check", false, true, false)) return;
    if (w.size() > 2) {
      error(line_, "'" + what + "' cannot handle unexpected argument '" + w[2] + "'.");
      return;
    }
    s.check.type = BackendCheck::Type::TcpCheck;
  } else if (name == "tcplog") {
    if (proxy_ && !proxy_->fe()) {
      warning(line_, who() + " : 'option tcplog' directive is ignored in backends.");
      return;
    }
    // The tcplog line again, over a log-format of the defaults.
    set_log_format("", "option tcplog");
  } else if (name == "clitcpka") {
    if (allowed(what, true, false, false)) s.clitcpka = !no;
  } else if (name == "srvtcpka") {
    if (allowed(what, false, true, false)) s.srvtcpka = !no;
  } else if (name == "tcpka") {
    // Both sides, as far as the section has them.
    if (!proxy_ || proxy_->fe()) s.clitcpka = !no;
    if (!proxy_ || proxy_->be()) s.srvtcpka = !no;
  } else if (name == "dontlognull") {
    if (allowed(what, true, false, false)) s.dontlognull = !no;
  } else {
    unsupported("'" + what + "'");
  }
}

void Parser::keyword_tcp_check(const Words& w) {
  static constexpr std::string_view kActions[] = {
      "comment", "connect", "send", "send-binary", "send-lf", "send-binary-lf", "expect"};
  std::string action = w.size() > 1 ? w[1] : "";
  bool known = contains(kActions, action) || action.starts_with("set-var") ||
               action.starts_with("unset-var");
  if (!known) {
    error(line_,
          "'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', "
          "'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '" +
              action + "'");
    return;
  }
  if (proxy_ && !proxy_->own_tcp_check) {
    proxy_->own_tcp_check = true;
    settings().check.tcp_check.clear();
    settings().tcp_check_lines.clear();
  }
  // Kept as written, as the JSON loader keeps them: their parser lives in
  // health/, which conf/ cannot depend on.
  settings().check.tcp_check.push_back(join_words(w, 1, w.size()));
  settings().tcp_check_lines.push_back({file_, line_});
}

void Parser::keyword_stats(const Words& w) {
  if (!proxy_) {
    unsupported("'stats' in a defaults section");
    return;
  }
  if (!proxy_->stats_line) proxy_->stats_line = line_;
  AdminHttp& a = proxy_->admin;
  std::string sub = w.size() > 1 ? w[1] : "";
  if (sub == "enable") {
  } else if (sub == "uri" && w.size() == 3) {
    a.uri = w[2];
  } else if (sub == "auth" && w.size() == 3 && w[2].find(':') != std::string::npos) {
    a.user = w[2].substr(0, w[2].find(':'));
    a.password = w[2].substr(w[2].find(':') + 1);
  } else if (sub == "auth") {
    error(line_, "'stats auth' expects <user>:<password> as argument.");
  } else if (sub == "admin") {
    if (w.size() == 4 && w[2] == "if" && w[3] == "TRUE")
      a.admin = true;
    else
      unsupported("'" + join_words(w, 0, w.size()) + "' (only 'stats admin if TRUE')");
  } else if (sub == "refresh" && w.size() == 3) {
    TimeValue t = read_time(w[2]);
    if (t.value)
      a.refresh = t.value;
    else
      error(line_, "'stats refresh' expects a time, got '" + w[2] + "'");
  } else if (sub == "realm" && w.size() >= 3) {
    a.realm = join_words(w, 2, w.size());
  } else if (sub == "hide-version" || sub == "show-legends" || sub == "show-node" ||
             sub == "show-desc" || sub == "show-modules") {
    warning(line_, "'stats " + sub + "' is ignored: mqlb has no stats page yet.");
  } else {
    unsupported("'" + join_words(w, 0, 2) + "'");
  }
}

void Parser::keyword_http_request(const Words& w) {
  if (proxy_ && proxy_->s.mode == Mode::Http && w.size() == 8 && w[1] == "use-service" &&
      w[2] == "prometheus-exporter" && w[3] == "if" && w[4] == "{" && w[5] == "path" &&
      w[7] == "}") {
    proxy_->admin.metrics_path = w[6];
    if (!proxy_->stats_line) proxy_->stats_line = line_;
    return;
  }
  if (settings().mode == Mode::Tcp) {
    warning(line_, "'http-request' rules ignored for " + who() + " as they require HTTP mode.");
    return;
  }
  unsupported("'" + join_words(w, 0, 2) + "'");
}

// --- bind -----------------------------------------------------------------------------

void Parser::keyword_bind(const Words& w) {
  if (w.size() < 2 || w[1].empty()) {
    error(line_,
          "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as "
          "arguments.");
    return;
  }
  const std::string prefix =
      "'bind " + w[1] + "' in section '" + std::string(kind_name(kind())) + "'";
  // Every address of "a:1,b:2" gets the same options.
  std::vector<Bind> binds;
  size_t start = 0;
  const std::string& list = w[1];
  while (start <= list.size()) {
    size_t comma = std::min(list.find(',', start), list.size());
    std::string one = list.substr(start, comma - start);
    start = comma + 1;
    std::string why;
    auto a = parse_address(env_expand(one, env_), why);
    if (!a) {
      error(line_, "'bind' : " + why);
      return;
    }
    if (!a->port) {
      error(line_, "'bind' : missing port specification in '" + one + "'");
      return;
    }
    if (!is_ip_literal(a->host)) {
      error(line_, "'bind' : mqlb binds IP addresses only (or * for all), got '" + a->host + "'");
      return;
    }
    Bind b;
    b.host = a->host;
    b.port = *a->port;
    binds.push_back(b);
  }
  BindTls t;
  std::string name;
  std::vector<std::string> tls_options;  // given, in order: they need `ssl`
  for (size_t i = 2; i < w.size(); ++i) {
    const std::string& kw = w[i];
    if (kw != "ssl" && kw != "name" &&
        std::find(tls_options.begin(), tls_options.end(), kw) == tls_options.end())
      tls_options.push_back(kw);
    auto value = [&](const char* missing) -> std::optional<std::string> {
      if (i + 1 >= w.size() || w[i + 1].empty()) {
        error(line_, prefix + " : '" + kw + "' : " + missing);
        return std::nullopt;
      }
      return w[++i];
    };
    if (kw == "ssl") {
      t.enabled = true;
    } else if (kw == "crt") {
      auto v = value("missing certificate location");
      if (!v) return;
      t.crt.push_back(with_base(crt_base_, *v));
    } else if (kw == "ca-file") {
      auto v = value("missing CAfile path");
      if (!v) return;
      t.ca_file = with_base(ca_base_, *v);
    } else if (kw == "crl-file") {
      auto v = value("missing CRLfile path");
      if (!v) return;
      t.crl_file = with_base(ca_base_, *v);
    } else if (kw == "verify") {
      auto v = value("missing verify method");
      if (!v) return;
      if (*v == "none")
        t.verify = Verify::None;
      else if (*v == "optional")
        t.verify = Verify::Optional;
      else if (*v == "required")
        t.verify = Verify::Required;
      else {
        error(line_, prefix + " : 'verify' : unknown verify method '" + *v +
                         "', only 'none', 'optional', and 'required' are supported");
        return;
      }
    } else if (kw == "ssl-min-ver" || kw == "ssl-max-ver") {
      auto v = value("missing the version");
      if (!v) return;
      if (std::find(std::begin(kTlsVersions), std::end(kTlsVersions), *v) ==
          std::end(kTlsVersions)) {
        error(line_, prefix + " : '" + kw + "' : unknown ssl/tls version string '" + *v +
                         "' (TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3)");
        return;
      }
      (kw == "ssl-min-ver" ? t.min_ver : t.max_ver) = *v;
    } else if (kw == "ciphers" || kw == "ciphersuites") {
      auto v = value("missing cipher suite");
      if (!v) return;
      (kw == "ciphers" ? t.ciphers : t.ciphersuites) = *v;
    } else if (kw == "curves") {
      auto v = value("missing curve suite");
      if (!v) return;
      t.curves = *v;
    } else if (kw == "alpn") {
      auto v = value("missing the comma-delimited ALPN protocol suite");
      if (!v) return;
      t.alpn.clear();
      for (size_t s = 0; s <= v->size();) {
        size_t comma = std::min(v->find(',', s), v->size());
        std::string proto = v->substr(s, comma - s);
        if (proto.empty() || proto.size() > 255) {
          error(line_, prefix + " : 'alpn' : empty or too long protocol name in '" + *v + "'");
          return;
        }
        t.alpn.push_back(proto);
        s = comma + 1;
      }
    } else if (kw == "no-tls-tickets") {
      t.no_tls_tickets = true;
    } else if (kw == "prefer-client-ciphers") {
      t.prefer_client_ciphers = true;
    } else if (kw == "tls-ticket-keys") {
      auto v = value("missing TLS ticket keys file path");
      if (!v) return;
      t.tls_ticket_keys = with_base(crt_base_, *v);
    } else if (kw == "name") {
      auto v = value("missing name");
      if (!v) return;
      name = *v;
    } else if (contains(kBindKeywords, kw)) {
      error(line_, prefix + " : '" + kw + "' is not supported yet by mqlb");
      return;
    } else {
      error(line_,
            prefix + ": unknown keyword '" + kw + "'" + suggest_or_period(kw, kBindKeywords));
      return;
    }
  }
  // The cross checks of the JSON loader, with HAProxy's words where it has them.
  std::string label = "bind '" + w[1] + "' at [" + file_ + ":" + std::to_string(line_) + "]";
  if (t.enabled && t.crt.empty()) {
    error(line_, "Proxy '" + proxy_->name + "': no SSL certificate specified for " + label +
                     " (use 'crt').");
    return;
  }
  if (!t.enabled) {
    // HAProxy loads the certificates and serves plain TCP.
    for (const std::string& kw : tls_options)
      warning(line_, prefix + " : '" + kw +
                         "' has no effect without 'ssl': this bind serves plain "
                         "TCP.");
    t = BindTls{};
  }
  if (t.enabled && t.verify != Verify::None && t.ca_file.empty()) {
    error(line_, "Proxy '" + proxy_->name + "': verify is enabled but no CA file specified for " +
                     label + ".");
    return;
  }
  if (!t.max_ver.empty() && t.max_ver < t.min_ver) {  // the names sort by version
    error(line_,
          "Proxy '" + proxy_->name + "': all SSL/TLS versions are disabled for " + label + ".");
    return;
  }
  if (t.no_tls_tickets && !t.tls_ticket_keys.empty()) {
    error(line_, prefix + " : 'tls-ticket-keys' makes no sense with 'no-tls-tickets'");
    return;
  }
  for (Bind& b : binds) {
    b.tls = t;
    b.name = name;
    proxy_->binds.push_back(b);
    proxy_->bind_lines.push_back(line_);
  }
}

// --- server and default-server ------------------------------------------------------

void Parser::keyword_server(const Words& w, bool is_default) {
  Server& base = settings().default_server;
  std::set<std::string> own;
  if (is_default) {
    Server s = base;
    if (server_options(w, 1, {"", ""}, s, own)) base = s;
    return;
  }
  if (w.size() < 3 || w[1].empty() || w[2].empty()) {
    error(line_, "'server' expects <name> and <addr>[:<port>] as arguments.");
    return;
  }
  Server s = base;
  s.name = w[1];
  ServerWho who{"'server " + proxy_->name + "/" + s.name + "'", s.name};
  if (auto c = invalid_name_char(s.name)) {
    error(line_,
          std::string("character '") + *c + "' is not permitted in server name '" + s.name + "'.");
    return;
  }
  std::string why;
  auto a = parse_address(env_expand(w[2], env_), why);
  if (!a) {
    error(line_, who.label + " : " + why);
    return;
  }
  if (!a->port) {
    // HAProxy would connect to the port the client connected to.
    error(line_, who.label + " : mqlb needs a port in '" + w[2] + "', e.g. '" + a->host + ":1883'");
    return;
  }
  if (looks_like_ip(a->host) && !is_ip_literal(a->host)) {
    error(line_, who.label + " : invalid address: '" + a->host + "'");
    return;
  }
  s.address = a->host;
  s.port = *a->port;
  if (!server_options(w, 3, who, s, own)) return;
  // The check options only mean something on a checked server. HAProxy
  // accepts them silently; a warning tells the operator they do nothing.
  if (!s.check.enabled)
    for (const char* key : {"inter", "fastinter", "downinter", "rise", "fall", "port", "addr",
                            "init-state", "on-error", "check-ssl", "observe", "error-limit"})
      if (own.count(key))
        warning(line_, who.label + " : '" + key + "' has no effect without 'check'.");
  bool tls_used = s.tls.enabled || (s.check.enabled && s.check.ssl);
  if (!tls_used)
    for (const char* key : {"verify", "ca-file", "sni", "crt"})
      if (own.count(key))
        warning(line_, who.label + " : '" + key + "' has no effect without 'ssl' or 'check-ssl'.");
  if (tls_used && s.tls.verify && s.tls.ca_file.empty()) {
    error(line_, who.label +
                     " : verify is enabled by default but no CA file specified. If you're running "
                     "on a LAN where you're certain to trust the server's certificate, please set "
                     "an explicit 'verify none' statement on the 'server' line, or use "
                     "'ssl-server-verify none' in the global section to disable server-side "
                     "verifications by default.");
    return;
  }
  auto [it, fresh] = proxy_->server_lines.emplace(s.name, line_);
  if (!fresh) {
    error(line_, "backend '" + proxy_->name + "', another server named '" + s.name +
                     "' was already defined at line " + std::to_string(it->second) +
                     ", please use distinct names.");
    return;
  }
  proxy_->servers.push_back(std::move(s));
}

// The options of `server` and `default-server` from w[first]; each one
// overwrites `s`, so a server that starts as a copy of its default-server
// resolves HAProxy's inheritance. False after an error: like HAProxy, the
// rest of the line is not read.
bool Parser::server_options(const Words& w, size_t first, const ServerWho& who, Server& s,
                            std::set<std::string>& own) {
  ServerCheck& c = s.check;
  for (size_t i = first; i < w.size(); ++i) {
    const std::string& kw = w[i];
    own.insert(kw);
    auto fail = [&](const std::string& message) {
      error(line_, who.label.empty() ? message : who.label + " : " + message);
      return false;
    };
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= w.size() || w[i + 1].empty()) return std::nullopt;
      return w[++i];
    };
    auto integer = [&](uint64_t lo, uint64_t hi, uint64_t& out) {
      auto v = value();
      auto n = v ? to_uint(*v) : std::nullopt;
      if (!n) return fail("'" + kw + "' expects an integer argument.");
      if (*n < lo)
        return fail("'" + kw + "' has to be " +
                    (lo == 1 ? std::string("> 0") : ">= " + std::to_string(lo)) + ".");
      if (*n > hi) return fail("'" + kw + "' has to be <= " + std::to_string(hi) + ".");
      out = *n;
      return true;
    };
    auto delay = [&](bool positive, std::optional<Duration>& out) {
      auto v = value();
      if (!v) return fail("'" + kw + "' expects a delay as argument.");
      TimeValue t = read_time(*v);
      if (t.overflow)
        return fail("timer overflow in argument <" + *v + "> to <" + kw + "> of server " +
                    who.name + ", maximum value is 2147483647 ms (~24.8 days).");
      if (!t.value)
        return fail(std::string("unexpected character '") + t.bad + "' in '" + kw +
                    "' argument of server " + who.name + ".");
      if (positive && t.value->count() == 0)
        return fail("invalid value 0 for argument '" + kw + "' of server " + who.name + ".");
      out = t.value;
      return true;
    };
    auto choice = [&](std::initializer_list<std::string_view> names,
                      const std::string& expected) -> std::optional<std::string> {
      auto v = value();
      if (v && std::find(names.begin(), names.end(), *v) != names.end()) return v;
      fail("'" + kw + "' expects " + expected + " but got '" + (v ? *v : "") + "'.");
      return std::nullopt;
    };
    uint64_t n = 0;
    std::optional<Duration> d;
    if (kw == "weight") {
      auto v = value();
      auto x = v ? to_uint(*v) : std::nullopt;
      if (!x || *x > 256)
        return fail("weight of server " + who.name + " is not within 0 and 256 (" + (v ? *v : "") +
                    ").");
      s.weight = uint32_t(*x);
    } else if (kw == "maxconn") {
      if (!integer(0, 10'000'000, n)) return false;
      s.maxconn = uint32_t(n);
    } else if (kw == "backup" || kw == "no-backup") {
      s.backup = kw == "backup";
    } else if (kw == "disabled" || kw == "enabled") {
      s.disabled = kw == "disabled";
    } else if (kw == "check" || kw == "no-check") {
      c.enabled = kw == "check";
    } else if (kw == "inter") {
      if (!delay(true, d)) return false;
      c.inter = *d;
    } else if (kw == "fastinter") {
      if (!delay(true, d)) return false;
      c.fastinter = d;
    } else if (kw == "downinter") {
      if (!delay(true, d)) return false;
      c.downinter = d;
    } else if (kw == "slowstart") {
      if (!delay(false, d)) return false;
      c.slowstart = d->count() > 0 ? d : std::nullopt;  // 0: none, over an inherited one
    } else if (kw == "rise" || kw == "fall") {
      if (!integer(1, 100, n)) return false;
      (kw == "rise" ? c.rise : c.fall) = uint32_t(n);
    } else if (kw == "error-limit") {
      if (!integer(1, 1'000'000, n)) return false;
      c.error_limit = uint32_t(n);
    } else if (kw == "port") {
      if (!integer(1, 65535, n)) return false;
      c.port = uint16_t(n);
    } else if (kw == "addr") {
      auto v = value();
      if (!v || !is_ip_literal(*v))
        return fail("'addr' : invalid address: '" + (v ? *v : "") + "' in '" + (v ? *v : "") +
                    "'.");
      c.addr = *v;
    } else if (kw == "init-state") {
      auto v = choice({"up", "down", "fully-up", "fully-down"},
                      "one of 'up', 'down', 'fully-up' or 'fully-down'");
      if (!v) return false;
      c.init_state = *v == "up"         ? ServerCheck::InitState::Up
                     : *v == "down"     ? ServerCheck::InitState::Down
                     : *v == "fully-up" ? ServerCheck::InitState::FullyUp
                                        : ServerCheck::InitState::FullyDown;
    } else if (kw == "on-error") {
      auto v = choice({"fastinter", "fail-check", "sudden-death", "mark-down"},
                      "one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down'");
      if (!v) return false;
      c.on_error = *v == "fastinter"      ? ServerCheck::OnError::Fastinter
                   : *v == "fail-check"   ? ServerCheck::OnError::FailCheck
                   : *v == "sudden-death" ? ServerCheck::OnError::SuddenDeath
                                          : ServerCheck::OnError::MarkDown;
    } else if (kw == "observe") {
      auto v = choice({"none", "layer4", "layer7"}, "one of 'none', 'layer4', 'layer7'");
      if (!v) return false;
      if (*v == "layer7")
        return fail(
            "'observe layer7' observes HTTP responses, and mqlb balances TCP: use "
            "'layer4'.");
      c.observe = *v == "layer4";
    } else if (kw == "on-marked-down") {
      if (!choice({"shutdown-sessions"}, "'shutdown-sessions'")) return false;
      c.shutdown_sessions_on_down = true;
    } else if (kw == "on-marked-up") {
      if (!choice({"shutdown-backup-sessions"}, "'shutdown-backup-sessions'")) return false;
      c.shutdown_backup_sessions_on_up = true;
    } else if (kw == "check-ssl" || kw == "no-check-ssl") {
      c.ssl = kw == "check-ssl";
    } else if (kw == "ssl" || kw == "no-ssl") {
      s.tls.enabled = kw == "ssl";
    } else if (kw == "verify") {
      auto v = value();
      if (!v || (*v != "none" && *v != "required"))
        return fail("'verify' : unknown verify method '" + (v ? *v : "") +
                    "', only 'none' and 'required' are supported.");
      s.tls.verify = *v == "required";
    } else if (kw == "ca-file") {
      auto v = value();
      if (!v) return fail("'ca-file' : missing CAfile path.");
      s.tls.ca_file = with_base(ca_base_, *v);
    } else if (kw == "crt") {
      auto v = value();
      if (!v) return fail("'crt' : missing certificate file path.");
      s.tls.crt = with_base(crt_base_, *v);
    } else if (kw == "sni") {
      // HAProxy takes a sample expression; mqlb sends a fixed name.
      auto v = value();
      if (!v) return fail("'sni' expects a sample expression such as str(broker.example).");
      if (v->starts_with("str(") && v->back() == ')' && v->size() > 5)
        s.tls.sni = v->substr(4, v->size() - 5);
      else
        return fail("'sni " + *v +
                    "' is not supported yet by mqlb (only a fixed name, as str(NAME))");
    } else if (kw == "resolve-prefer") {
      auto v = value();
      if (!v || (*v != "ipv4" && *v != "ipv6"))
        return fail("'resolve-prefer' expects either ipv4 or ipv6 as argument.");
      s.resolve.prefer = *v == "ipv6" ? ServerResolve::Family::Ipv6 : ServerResolve::Family::Ipv4;
    } else if (kw == "init-addr") {
      auto v = value();
      std::string why = "expects a list of methods such as last,libc,none.";
      auto steps = v ? parse_init_addr(*v, why) : std::nullopt;
      if (!steps) return fail("'init-addr' : " + why);
      s.resolve.init_addr = std::move(*steps);
    } else if (contains(kServerKeywords, kw)) {
      return fail("'" + kw + "' is not supported yet by mqlb");
    } else {
      return fail("unknown keyword '" + kw + "'" + suggest_or_period(kw, kServerKeywords));
    }
  }
  return true;
}

// --- end of a proxy section, end of the file ----------------------------------------------

// As in HAProxy, a timeout of 0 means "no timeout".
Timeouts without_zeros(Timeouts t) {
  for (auto* f : {&t.client, &t.client_fin, &t.client_hs, &t.connect, &t.server, &t.server_fin,
                  &t.tunnel, &t.queue, &t.check})
    if (*f && (*f)->count() == 0) f->reset();
  return t;
}

void Parser::close_proxy() {
  Proxy& p = *proxy_;
  const std::string label = std::string(kind_name(p.kind)) + " '" + p.name + "'";
  const bool clean = errors_.size() == p.errors_before;
  if (p.s.mode == Mode::Http) {
    bool traffic = !p.servers.empty() || !p.s.default_backend.empty();
    if (p.stats_line && !traffic && p.fe()) {
      // A statistics page: the admin endpoint, served by the admin API.
      p.admin.name = p.name;
      p.admin.binds = p.binds;
      for (size_t i = 0; i < p.admin.binds.size(); ++i)
        if (p.admin.binds[i].name.empty()) p.admin.binds[i].name = std::to_string(i + 1);
      cfg_.admin_http.push_back(p.admin);
      return;
    }
    // Its own `mode http`, or the section line when the mode comes from defaults.
    bool inherited = p.s.mode_line < p.line;
    int line = inherited ? p.line : p.s.mode_line;
    error(line, label + " is in 'mode http'" +
                    (inherited ? " (from 'mode http' at line " + std::to_string(p.s.mode_line) +
                                     " in its defaults section)"
                               : "") +
                    ": mqlb balances TCP/MQTT only (use 'mode tcp').");
    return;
  }
  if (p.stats_line)
    warning(p.stats_line, "'stats' ignored for " + label + " as it requires HTTP mode.");
  const Settings& s = p.s;
  if (p.fe()) {
    Frontend f;
    f.name = p.name;
    f.binds = p.binds;
    // HAProxy names an unnamed bind by its position in log lines.
    for (size_t i = 0; i < f.binds.size(); ++i)
      if (f.binds[i].name.empty()) f.binds[i].name = std::to_string(i + 1);
    f.default_backend = p.s.default_backend;
    f.use_backend = p.rules;
    f.tcp_request_connection = p.connection_rules;
    for (size_t k = 0; k < f.binds.size() && k < p.bind_lines.size(); ++k)
      cfg_.origins[f.name + "/bind[" + std::to_string(k) + "]"] = {file_, p.bind_lines[k]};
    f.clitcpka = s.clitcpka;
    if (f.default_backend.empty() && p.kind == Kind::Listen && !p.servers.empty())
      f.default_backend = p.name;
    f.maxconn = s.maxconn.value_or(0);
    f.timeouts = without_zeros(s.timeouts);
    f.log = s.log;
    f.dontlognull = s.dontlognull;
    f.log_tag = s.log_tag;
    if (!s.log_format.empty()) {
      std::string why;
      if (auto nodes = parse_log_format(s.log_format, why))
        f.log_format = {s.log_format, std::move(*nodes)};
      else
        errors_.push_back({s.log_format_at.file, s.log_format_at.line, "",
                           "failed to parse log-format : " + why + "."});
    }
    if (f.binds.empty() && clean)
      warning(p.line, label +
                          " has no 'bind' directive. Please declare it as a backend if this was "
                          "intended.");
    if (f.default_backend.empty() && clean)
      error(p.line, label +
                        " has no 'default_backend': mqlb needs one for the connections no "
                        "'use_backend' rule takes.");
    if (!s.timeouts.client || s.timeouts.client->count() == 0)
      warning(p.line, "missing timeouts for " + label +
                          ". While not properly invalid, you will certainly encounter various "
                          "problems with such a configuration. To fix this, please ensure that "
                          "all following timeouts are set to a non-zero value: 'client', "
                          "'connect', 'server'.");
    cfg_.frontends.push_back(std::move(f));
    rule_lines_.push_back(p.rule_lines);
    frontend_lines_.push_back(
        {file_, p.s.default_backend_line ? p.s.default_backend_line : p.line});
  }
  if (p.be() && !(p.kind == Kind::Listen && p.servers.empty() && !p.s.default_backend.empty())) {
    Backend b;
    b.name = p.name;
    b.balance = s.balance;
    b.hash_type = s.hash_type;
    b.retries = s.retries;
    b.redispatch = s.redispatch;
    b.allbackups = s.allbackups;
    b.srvtcpka = s.srvtcpka;
    b.check = s.check;
    if (b.check.type != BackendCheck::Type::TcpCheck && !b.check.tcp_check.empty()) {
      warning(p.line, label +
                          " uses tcp-check rules without 'option tcp-check', so the rules "
                          "are ignored.");
      b.check.tcp_check.clear();
    }
    if (b.check.type == BackendCheck::Type::TcpCheck && b.check.tcp_check.empty())
      b.check.tcp_check.push_back("connect");  // HAProxy's `option tcp-check` alone
    else if (b.check.type == BackendCheck::Type::TcpCheck)
      for (size_t k = 0; k < b.check.tcp_check.size() && k < s.tcp_check_lines.size(); ++k)
        cfg_.origins[b.name + "/tcp-check[" + std::to_string(k) + "]"] = s.tcp_check_lines[k];
    b.servers = p.servers;
    for (const auto& [server, line] : p.server_lines)
      cfg_.origins[b.name + "/" + server] = {file_, line};
    b.timeouts = s.timeouts;
    bool missing = !b.timeouts.connect || b.timeouts.connect->count() == 0 || !b.timeouts.server ||
                   b.timeouts.server->count() == 0;
    if (!b.timeouts.connect) b.timeouts.connect = std::chrono::seconds(5);
    if (!b.timeouts.queue) b.timeouts.queue = b.timeouts.connect;
    b.timeouts = without_zeros(b.timeouts);
    if (b.servers.empty() && clean)
      error(p.line, label +
                        " has no 'server': mqlb needs at least one, e.g. 'server b1 "
                        "10.0.0.5:1883'.");
    if (missing && p.kind == Kind::Backend)
      warning(p.line, "missing timeouts for " + label +
                          ". While not properly invalid, you will certainly encounter various "
                          "problems with such a configuration. To fix this, please ensure that "
                          "all following timeouts are set to a non-zero value: 'client', "
                          "'connect', 'server'.");
    cfg_.backends.push_back(std::move(b));
  }
}

void Parser::finish() {
  size_t listeners = 0;
  std::map<std::pair<std::string, uint16_t>, std::string> bound;
  if (!global_maxconn_set_) {
    // HAProxy sizes its global maxconn from the descriptor limit, so a
    // frontend's maxconn is never cut by an unwritten global one: here the
    // sum of the frontends' at least (the descriptor limit still lowers it
    // at start, with a warning).
    uint64_t sum = 0;
    for (const Frontend& f : cfg_.frontends)
      sum += f.maxconn;
    cfg_.global.maxconn =
        uint32_t(std::min<uint64_t>(std::max<uint64_t>(cfg_.global.maxconn, sum), 10'000'000));
  }
  for (size_t i = 0; i < cfg_.frontends.size(); ++i) {
    Frontend& f = cfg_.frontends[i];
    if (f.maxconn == 0) f.maxconn = cfg_.global.maxconn;
    if (!f.default_backend.empty() && !cfg_.find_backend(f.default_backend))
      errors_.push_back({frontend_lines_[i].first, frontend_lines_[i].second, "",
                         "Proxy '" + f.name + "': unable to find required default_backend: '" +
                             f.default_backend + "'."});
    for (size_t k = 0; k < f.use_backend.size(); ++k)
      if (!cfg_.find_backend(f.use_backend[k].backend))
        errors_.push_back({frontend_lines_[i].first, rule_lines_[i][k], "",
                           "Proxy '" + f.name + "': unable to find required use_backend: '" +
                               f.use_backend[k].backend + "'."});
    listeners += f.binds.size();
    for (const Bind& b : f.binds) {
      auto [it, fresh] = bound.emplace(std::make_pair(b.host, b.port), f.name);
      if (!fresh)
        errors_.push_back({frontend_lines_[i].first, frontend_lines_[i].second, "",
                           "address " + b.to_string() + " of frontend '" + f.name +
                               "' is already bound by frontend '" + it->second + "'."});
    }
    if (f.maxconn > cfg_.global.maxconn)
      warnings_.push_back({frontend_lines_[i].first, 0, "",
                           "Proxy '" + f.name + "': maxconn " + std::to_string(f.maxconn) +
                               " is above the global maxconn (" +
                               std::to_string(cfg_.global.maxconn) + "), which limits it."});
  }
  if (listeners == 0 && errors_.empty())
    error(0, "Configuration file has no error but will not start (no listener).");
}

}  // namespace

LoadResult load_haproxy(std::string_view text, const std::string& file, const EnvLookup& env) {
  Parser p(env);
  p.read(text, file);
  return p.done();
}

LoadResult load_haproxy(const std::vector<SourceText>& files, const EnvLookup& env) {
  Parser p(env);
  for (const SourceText& f : files)
    p.read(f.text, f.file);
  return p.done();
}

}  // namespace mqlb::conf
