#pragma once
// One line of a haproxy.cfg split into words the way HAProxy 2.6 reads it
// (src/tools.c parse_line with ENV, DQUOTE, SQUOTE, BKSLASH, SHARP and
// WORD_EXPAND). Pure: the environment comes in as a lookup function.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mqlb::conf {

// The value of an environment variable, or nullopt when it is not set.
// Names that start with '.' (.LINE, .FILE, .SECTION) are HAProxy's
// pseudo-variables: the loader answers them, and nullopt for one of them is
// an error, as in HAProxy.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

struct TokenizeError {
  size_t column = 0;    // 1-based, counted in bytes from the start of the line
  std::string message;  // HAProxy's wording, e.g. "unmatched quote at position 12"
};

// HAProxy's MAX_LINE_ARGS.
inline constexpr size_t kMaxWords = 64;

// Splits `line` (without its newline) into words. A word written as "" or
// '' is kept as an empty word; whitespace alone never makes one.
std::variant<std::vector<std::string>, TokenizeError> tokenize_line(std::string_view line,
                                                                    const EnvLookup& env);

}  // namespace mqlb::conf
