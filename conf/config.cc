// Pure helpers of the config model.
#include "conf/config.h"

#include "conf/names.h"

#include <arpa/inet.h>

#include <array>
#include <sstream>
#include <utility>

namespace mqlb::conf {
namespace {

constexpr std::array<std::pair<Balance, std::string_view>, 6> kBalanceNames{{
    {Balance::RoundRobin, "roundrobin"},
    {Balance::StaticRr, "static-rr"},
    {Balance::LeastConn, "leastconn"},
    {Balance::Source, "source"},
    {Balance::First, "first"},
    {Balance::Random, "random"},
}};

}  // namespace

std::string Error::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  if (!field.empty()) out += (out.empty() ? "" : ": ") + field;
  return out + (out.empty() ? "" : ": ") + message;
}

namespace {
constexpr std::string_view kLogTargetFormats[] = {"local", "rfc3164", "rfc5424", "priority",
                                                  "short", "timed",   "iso",     "raw"};
}  // namespace

std::string_view to_string(LogTarget::Format f) {
  return kLogTargetFormats[static_cast<size_t>(f)];
}

std::optional<LogTarget::Format> parse_log_target_format(std::string_view name) {
  for (size_t i = 0; i < std::size(kLogTargetFormats); ++i)
    if (kLogTargetFormats[i] == name) return static_cast<LogTarget::Format>(i);
  return std::nullopt;
}

std::string_view to_string(Balance b) {
  for (const auto& [value, name] : kBalanceNames)
    if (value == b) return name;
  return "?";
}

std::optional<Balance> parse_balance(std::string_view name) {
  for (const auto& [value, known] : kBalanceNames)
    if (known == name) return value;
  return std::nullopt;
}

std::string_view to_string(HashType h) {
  return h == HashType::Consistent ? "consistent" : "map-based";
}

std::optional<HashType> parse_hash_type(std::string_view name) {
  if (name == "map-based") return HashType::MapBased;
  if (name == "consistent") return HashType::Consistent;
  return std::nullopt;
}

std::optional<std::vector<ServerResolve::Step>> parse_init_addr(std::string_view text,
                                                                std::string& error) {
  using Method = ServerResolve::Method;
  std::vector<ServerResolve::Step> steps;
  bool have_ip = false;
  while (true) {
    const size_t comma = text.find(',');
    const std::string word(text.substr(0, comma));
    if (word == "libc") {
      steps.push_back({Method::Libc, {}});
    } else if (word == "last") {
      steps.push_back({Method::Last, {}});
    } else if (word == "none") {
      steps.push_back({Method::None, {}});
    } else if (is_ip_literal(word)) {
      if (have_ip) {
        error = "initial address already specified, cannot add '" + word + "'.";
        return std::nullopt;
      }
      have_ip = true;
      steps.push_back({Method::Ip, word});
    } else {
      error =
          "unknown init-addr method '" + word + "', supported methods are 'libc', 'last', 'none'.";
      return std::nullopt;
    }
    if (comma == std::string_view::npos) return steps;
    text.remove_prefix(comma + 1);
  }
}

std::string to_string(const std::vector<ServerResolve::Step>& init_addr) {
  std::string out;
  for (const auto& step : init_addr) {
    if (!out.empty()) out += ',';
    switch (step.method) {
      case ServerResolve::Method::Last:
        out += "last";
        break;
      case ServerResolve::Method::Libc:
        out += "libc";
        break;
      case ServerResolve::Method::None:
        out += "none";
        break;
      case ServerResolve::Method::Ip:
        out += step.ip;
        break;
    }
  }
  return out;
}

bool is_valid_name(std::string_view name) {
  return !name.empty() && name.find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789-_.:") == std::string_view::npos;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(host.find(':') != std::string::npos ? AF_INET6 : AF_INET, host.c_str(), buf) ==
         1;
}

bool looks_like_ip(const std::string& host) {
  return host.find(':') != std::string::npos ||
         (!host.empty() && host.find_first_not_of("0123456789.") == std::string::npos);
}

bool tcp_check_over_tls(const BackendCheck& c) {
  if (c.type != BackendCheck::Type::TcpCheck) return false;
  for (const auto& line : c.tcp_check) {
    std::istringstream words(line);
    std::string w;
    if (!(words >> w) || w != "connect") continue;
    while (words >> w && w != "comment")
      if (w == "ssl") return true;
  }
  return false;
}

bool uses_tls(const Server& s, const BackendCheck& checks) {
  return s.tls.enabled || (s.check.enabled && (s.check.ssl || tcp_check_over_tls(checks)));
}

std::string Bind::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

const Backend* Config::find_backend(std::string_view name) const {
  for (const auto& b : backends)
    if (b.name == name) return &b;
  return nullptr;
}

void resolve_log_formats(Config& c) {
  const auto fallback =
      c.global.log_send_hostname ? LogTarget::Format::Rfc3164 : LogTarget::Format::Local;
  auto resolve = [&](std::vector<LogTarget>& targets) {
    for (LogTarget& t : targets)
      if (!t.format) t.format = fallback;
  };
  resolve(c.global.log);
  for (Frontend& f : c.frontends)
    resolve(f.log);
}

}  // namespace mqlb::conf
