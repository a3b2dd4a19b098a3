// Pure.
#include "conf/log_format.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <utility>

namespace mqlb::conf {
namespace {

struct VarName {
  std::string_view name;
  LogVar var;
};

constexpr VarName kVars[] = {
    {"ci", LogVar::ClientIp},
    {"cp", LogVar::ClientPort},
    {"t", LogVar::AcceptDate},
    {"f", LogVar::Frontend},
    {"ft", LogVar::FrontendTransport},
    {"fi", LogVar::FrontendIp},
    {"fp", LogVar::FrontendPort},
    {"b", LogVar::Backend},
    {"s", LogVar::Server},
    {"si", LogVar::ServerIp},
    {"sp", LogVar::ServerPort},
    {"Tw", LogVar::QueueTime},
    {"Tc", LogVar::ConnectTime},
    {"Th", LogVar::HandshakeTime},
    {"Tt", LogVar::TotalTime},
    {"B", LogVar::BytesRead},
    {"U", LogVar::BytesUploaded},
    {"ts", LogVar::TerminationState},
    {"ac", LogVar::ActConn},
    {"fc", LogVar::FeConn},
    {"bc", LogVar::BeConn},
    {"sc", LogVar::SrvConn},
    {"rc", LogVar::Retries},
    {"sq", LogVar::SrvQueue},
    {"bq", LogVar::BackendQueue},
    {"ID", LogVar::UniqueId},
    {"pid", LogVar::Pid},
    {"sslv", LogVar::SslVersion},
    {"sslc", LogVar::SslCipher},
    {"mqttcid", LogVar::MqttClientId},
    {"mqttuser", LogVar::MqttUsername},
    {"mqttver", LogVar::MqttVersion},
};

// HAProxy 2.6's variables that only exist in mode http.
constexpr std::string_view kHttpVars[] = {"CC", "CS", "HM", "HP", "HPO", "HQ", "HU",  "HV",  "Ta",
                                          "Ti", "Tq", "TR", "Tr", "r",   "tr", "trg", "trl", "tsc"};

// HAProxy 2.6's other variables, which mqlb does not fill yet.
constexpr std::string_view kUnbuiltVars[] = {"ST", "T",  "Tl",  "Ts", "Tu",  "Td", "bi", "bp",
                                             "lc", "hr", "hrl", "hs", "hsl", "ms", "rt", "H"};

bool contains(const auto& list, std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

bool is_alpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}
bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// Applies "+Q,-Q,..." to `quote`. HAProxy ignores flags it does not know;
// "X" and "E" change the output, so mqlb refuses them until it has them.
bool apply_flags(std::string_view args, bool& quote, std::string& error) {
  while (!args.empty()) {
    size_t comma = args.find(',');
    std::string_view one = args.substr(0, comma);
    args = comma == std::string_view::npos ? std::string_view() : args.substr(comma + 1);
    if (one.size() < 2 || (one[0] != '+' && one[0] != '-')) continue;
    std::string_view flag = one.substr(1);
    if (flag == "Q") {
      quote = one[0] == '+';
    } else if (flag == "X" || flag == "E") {
      error = "the '" + std::string(flag) + "' flag ('%{" + std::string(one) +
              "}') is not supported yet by mqlb";
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view log_var_name(LogVar v) {
  for (const auto& entry : kVars)
    if (entry.var == v) return entry.name;
  return "?";
}

bool LogFormat::uses(LogVar v) const {
  for (const auto& node : nodes)
    if (node.var == v) return true;
  return false;
}

std::optional<std::vector<LogFormatNode>> parse_log_format(std::string_view text,
                                                           std::string& error) {
  std::vector<LogFormatNode> nodes;
  std::string literal;
  auto end_literal = [&] {
    if (!literal.empty()) nodes.push_back({std::nullopt, std::move(literal), false});
    literal.clear();
  };
  bool default_quote = false;  // set by "%o"
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ') {
      // LOG_OPT_MERGE_SPACES: a run of spaces is one separator.
      if (literal.empty() || literal.back() != ' ') literal += ' ';
      ++i;
      continue;
    }
    if (c != '%') {
      literal += c;
      ++i;
      continue;
    }
    // After a '%'.
    ++i;
    if (i >= text.size()) {
      error = "truncated line after '%'";
      return std::nullopt;
    }
    const char next = text[i];
    if (next == '%') {
      literal += '%';
      ++i;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(next)) || next == ' ' || next == '\t') {
      error = "unexpected variable name near '" + std::string(1, next) + "' at position " +
              std::to_string(i) + " line : '" + std::string(text) +
              "'. Maybe you want to write a single '%', use the syntax '%%'";
      return std::nullopt;
    }
    std::string_view args;
    bool has_args = false;
    if (next == '{') {
      size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        error = "truncated line after '" + std::string(text.substr(i + 1)) + "'";
        return std::nullopt;
      }
      args = text.substr(i + 1, close - i - 1);
      has_args = true;
      i = close + 1;
      if (i >= text.size() || (!is_alnum(text[i]) && text[i] != '[')) {
        error = "parse argument modifier without variable name near '%{" + std::string(args) + "}'";
        return std::nullopt;
      }
    } else if (next != '[' && !is_alpha(next)) {
      // HAProxy drops a '%' before any other character, which stays.
      continue;
    }
    if (text[i] == '[') {
      error = "sample expressions ('%[...]') are not supported yet by mqlb";
      return std::nullopt;
    }
    size_t start = i;
    while (i < text.size() && is_alnum(text[i]))
      ++i;
    const std::string_view name = text.substr(start, i - start);
    bool quote = default_quote;
    if (has_args && !apply_flags(args, quote, error)) return std::nullopt;
    if (name == "o") {
      default_quote = quote;  // flags for the variables after it
      continue;
    }
    auto known = std::find_if(std::begin(kVars), std::end(kVars),
                              [&](const VarName& v) { return v.name == name; });
    if (known == std::end(kVars)) {
      if (contains(kHttpVars, name))
        error = "format variable '" + std::string(name) + "' is reserved for HTTP mode";
      else if (contains(kUnbuiltVars, name))
        error = "format variable '" + std::string(name) + "' is not supported yet by mqlb";
      else
        error = "no such format variable '" + std::string(name) +
                "'. If you wanted to emit the '%' character verbatim, you need to use '%%'";
      return std::nullopt;
    }
    end_literal();
    nodes.push_back({known->var, {}, quote});
  }
  end_literal();
  return nodes;
}

}  // namespace mqlb::conf
