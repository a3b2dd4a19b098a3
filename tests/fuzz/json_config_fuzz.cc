// libFuzzer target: arbitrary bytes as the text of an mqlb JSON
// configuration (docs/config.md), through conf::load_json, as `mqlb -f FILE`
// reads one.
//
// Besides what the sanitizers catch (crashes, undefined behaviour, leaks,
// an exception out of the loader), each input checks the loader's contract;
// a violation aborts, and libFuzzer keeps the input:
//   - a result holds a config or errors, never both and never neither;
//   - every error names the file and has a message and a JSON path (Error's
//     field), except one: a text that is not JSON has no path to name, so
//     it gives a single error "invalid JSON: ..." with no field and the line
//     of the text where the parser stopped: 1 to one past the last LF, since
//     a text that ends early ("{\n") ends on the line after its last LF, as
//     nlohmann's own message says ("at line 2, column 0");
//   - every warning names the file, a path and a message;
//   - a config that came out is written by dump_json and that text loads
//     again without an error, into a config whose dump is the same text.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "conf/json_dump.h"
#include "conf/json_loader.h"

namespace {

using mqlb::conf::Error;
using mqlb::conf::LoadResult;

constexpr const char* kFile = "mqlb.json";

[[noreturn]] void violated(const std::string& what, const LoadResult& r) {
  std::fprintf(stderr, "json_config_fuzz: %s\n", what.c_str());
  for (const Error& e : r.errors)
    std::fprintf(stderr, "  error: line %d: %s\n", e.line, e.to_string().c_str());
  for (const Error& w : r.warnings)
    std::fprintf(stderr, "  warning: line %d: %s\n", w.line, w.to_string().c_str());
  std::abort();
}

// The line after the last LF: where a text that ends early ends.
int last_line(std::string_view text) {
  int n = 1;
  for (char c : text)
    n += c == '\n';
  return n;
}

bool is_syntax_error(const Error& e) {
  return e.field.empty() && e.message.starts_with("invalid JSON: ");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const LoadResult r = mqlb::conf::load_json(text, kFile);

  if (r.config.has_value() == !r.errors.empty())
    violated(r.config ? "a config together with errors" : "neither a config nor an error", r);
  const int last = last_line(text);
  for (const Error& e : r.errors) {
    if (e.file != kFile) violated("an error without the file's name", r);
    if (e.message.empty()) violated("an error without a message", r);
    if (is_syntax_error(e)) {
      if (r.errors.size() != 1) violated("a syntax error beside other errors", r);
      if (e.line < 1 || e.line > last)
        violated("a syntax error on line " + std::to_string(e.line) +
                     " of a text whose last "
                     "line is " +
                     std::to_string(last),
                 r);
    } else if (e.field.empty()) {
      violated("an error without a JSON path", r);
    }
  }
  for (const Error& w : r.warnings)
    if (w.file != kFile || w.field.empty() || w.message.empty())
      violated("a warning without its file, path or message", r);
  if (!r.config) return 0;

  const std::string dump = mqlb::conf::dump_json(*r.config);
  const LoadResult again = mqlb::conf::load_json(dump, "dump.json");
  if (!again.config || !again.errors.empty()) {
    std::fprintf(stderr, "json_config_fuzz: the dump does not load back:\n%s", dump.c_str());
    violated("dump_json of a loaded config is refused by load_json", again);
  }
  if (mqlb::conf::dump_json(*again.config) != dump) {
    std::fprintf(stderr, "json_config_fuzz: first dump:\n%s\nsecond dump:\n%s", dump.c_str(),
                 mqlb::conf::dump_json(*again.config).c_str());
    violated("load_json of a dump gives another config", again);
  }
  return 0;
}
