// Pure helpers of the config model.
#include "conf/config.h"

#include <array>
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

std::string Bind::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

const Backend* Config::find_backend(std::string_view name) const {
  for (const auto& b : backends)
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace mqlb::conf
