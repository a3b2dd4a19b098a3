// Pure. Follows HAProxy 2.6's parse_line (src/tools.c) rule by rule; the
// comments name the rule where it surprises.
#include "conf/haproxy_tokenizer.h"

#include <cctype>

namespace mqlb::conf {
namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return std::toupper(static_cast<unsigned char>(c)) - 'A' + 10;
}

TokenizeError error_at(size_t index, const std::string& what) {
  return {index + 1, what + " at position " + std::to_string(index + 1)};
}

class Splitter {
 public:
  Splitter(std::string_view line, const EnvLookup& env) : line_(line), env_(env) {}

  std::variant<std::vector<std::string>, TokenizeError> run() {
    size_t i = 0;
    // The caller of parse_line skips leading spaces; positions still count
    // from the start of the line.
    while (i < line_.size() && is_space(line_[i]))
      ++i;
    while (true) {
      char c = at(i);
      if (c == '\0' || c == '\n' || c == '\r') break;
      if (c == '#' && !squote_ && !dquote_) break;  // a comment, even inside a word
      if (c == '"' && !squote_) {
        dquote_ = !dquote_;
        quote_ = i;
        started_ = true;
        ++i;
      } else if (c == '\'' && !dquote_) {
        squote_ = !squote_;
        quote_ = i;
        started_ = true;
        ++i;
      } else if (c == '\\' && !squote_) {
        if (auto e = escape(i)) return *e;
      } else if (is_space(c) && !squote_ && !dquote_) {
        while (is_space(at(i)))
          ++i;
        separate();
      } else if (c == '$' && dquote_) {
        // Variables expand inside double quotes only; elsewhere '$' is a letter.
        if (auto e = expand(i)) return *e;
      } else {
        emit(c);
        ++i;
      }
    }
    if (started_) finish();
    if (squote_ || dquote_) return error_at(quote_, "unmatched quote");
    if (too_many_ && words_.size() >= kMaxWords) {
      size_t position = 1;
      for (size_t w = 0; w + 1 < kMaxWords; ++w)
        position += words_[w].size() + 1;
      return TokenizeError{position, "too many words, truncating after word " +
                                         std::to_string(kMaxWords) + ", position " +
                                         std::to_string(position) + ": <" + words_[kMaxWords - 1] +
                                         ">."};
    }
    return std::move(words_);
  }

 private:
  char at(size_t i) const { return i < line_.size() ? line_[i] : '\0'; }

  void emit(char c) {
    current_ += c;
    started_ = true;
  }

  void finish() {
    words_.push_back(std::move(current_));
    current_.clear();
    started_ = false;
  }

  // HAProxy counts a separator as the start of a new argument even when
  // nothing follows it, so 64 words and a trailing space are too many.
  void separate() {
    if (started_) finish();
    if (++separators_ >= kMaxWords) too_many_ = true;
  }

  // A backslash outside single quotes: \\ \<space> \t \n \r \# \' \" \xHH,
  // and \$ inside double quotes. Any other backslash stays as it is, which
  // is why a backslash at the end of a line is a word of its own rather
  // than a line continuation.
  std::optional<TokenizeError> escape(size_t& i) {
    char next = at(i + 1);
    switch (next) {
      case ' ':
      case '\\':
      case '#':
      case '\'':
      case '"':
        emit(next);
        i += 2;
        return std::nullopt;
      case 't':
        emit('\t');
        i += 2;
        return std::nullopt;
      case 'n':
        emit('\n');
        i += 2;
        return std::nullopt;
      case 'r':
        emit('\r');
        i += 2;
        return std::nullopt;
      case '$':
        if (dquote_) {
          emit('$');
          i += 2;
        } else {
          emit('\\');
          i += 1;
        }
        return std::nullopt;
      case 'x':
        if (!is_hex(at(i + 2)) || !is_hex(at(i + 3)))
          return error_at(i, "truncated or invalid hexadecimal sequence");
        emit(static_cast<char>(hex_value(at(i + 2)) * 16 + hex_value(at(i + 3))));
        i += 4;
        return std::nullopt;
      default:
        emit('\\');
        i += 1;
        return std::nullopt;
    }
  }

  // "$NAME", "${NAME}", "${NAME-default}", "${NAME[*]}" (each space of the
  // value starts a new word) and the pseudo-variables "$.LINE" etc.
  std::optional<TokenizeError> expand(size_t& i) {
    ++i;
    std::optional<size_t> brace;
    if (at(i) == '{') brace = i++;
    char first = at(i);
    if (!std::isalpha(static_cast<unsigned char>(first)) && first != '_' && first != '.')
      return error_at(i, "forbidden first char in environment variable name");
    size_t name_start = i;
    if (at(i) == '.') ++i;
    while (std::isalnum(static_cast<unsigned char>(at(i))) || at(i) == '_')
      ++i;
    std::string_view name = line_.substr(name_start, i - name_start);
    std::optional<std::string> value = env_ ? env_(name) : std::nullopt;
    if (name.front() == '.' && !value)
      return error_at(name_start, "forbidden first char in environment variable name");
    bool word_expand = false;
    if (at(i) == '[' && brace) {
      size_t open = i;
      if (at(i + 1) != '*' || at(i + 2) != ']')
        return error_at(open, "truncated or invalid word expansion sequence");
      i += 3;
      word_expand = true;
    }
    if (brace) {
      if (at(i) == '-') {
        size_t close = line_.find('}', i);
        if (close == std::string_view::npos)
          return error_at(*brace, "unmatched brace in environment variable name");
        if (!value) value = std::string(line_.substr(i + 1, close - i - 1));
        i = close;
      } else if (at(i) != '}') {
        return error_at(*brace, "unmatched brace in environment variable name");
      }
      ++i;
    }
    if (!value) return std::nullopt;
    for (size_t k = 0; k < value->size(); ++k) {
      char c = (*value)[k];
      if (word_expand && is_space(c)) {
        finish();
        started_ = true;  // still inside the double quotes
        if (++separators_ >= kMaxWords) too_many_ = true;
        while (k + 1 < value->size() && is_space((*value)[k + 1]))
          ++k;
      } else {
        emit(c);
      }
    }
    return std::nullopt;
  }

  std::string_view line_;
  const EnvLookup& env_;
  std::vector<std::string> words_;
  std::string current_;
  bool started_ = false;
  bool squote_ = false, dquote_ = false;
  size_t quote_ = 0;  // the opening quote still open
  size_t separators_ = 0;
  bool too_many_ = false;
};

}  // namespace

std::variant<std::vector<std::string>, TokenizeError> tokenize_line(std::string_view line,
                                                                    const EnvLookup& env) {
  return Splitter(line, env).run();
}

}  // namespace mqlb::conf
