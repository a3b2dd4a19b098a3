// libFuzzer target: arbitrary bytes as the text of a haproxy.cfg, through
// conf::load_haproxy, as `mqlb -f FILE` reads one. The environment is a
// fixed table, so that an input behaves the same on every run and machine.
//
// Besides what the sanitizers catch (crashes, undefined behaviour, leaks),
// each input checks the loader's contract; a violation aborts, and libFuzzer
// keeps the input:
//   - a result holds a config or errors, never both and never neither
//     (Parser::done: the config comes out only when there is no error);
//   - every error and warning names the file and has a message, and its line
//     is one of the text's lines (1..N); an error on line 0 is the one that
//     is about the whole configuration ("... will not start (no listener)"),
//     which the loader adds only when there is no other error, so it is then
//     the only one (an empty text, with no line at all, gets just that one).
//     Warnings may have line 0 too (a frontend's maxconn above the global
//     one is about both places);
//   - a config that came out is written by dump_json (what `mqlb
//     --dump-config` prints) and that text loads with load_json without an
//     error, into a config whose dump is the same text. Dumps are compared,
//     not configs: the JSON format has no place yet for `admin_http` (stats
//     sections) or the file's name, which the dump leaves out, and it
//     replaces bytes that are not UTF-8; everything it writes must come back.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "conf/haproxy_loader.h"
#include "conf/json_dump.h"
#include "conf/json_loader.h"

namespace {

using mqlb::conf::Error;
using mqlb::conf::LoadResult;

constexpr const char* kFile = "haproxy.cfg";

// The variables tests/data/haproxy/check-corpus sets, and one more for
// mutations to find; every other name is unset.
std::optional<std::string> fake_env(std::string_view name) {
  if (name == "MQLB_CORPUS_ADDR") return std::string("127.0.0.1");
  if (name == "MQLB_CORPUS_TIMEOUT") return std::string("50s");
  if (name == "BROKER") return std::string("127.0.0.1:1884");
  return std::nullopt;
}

[[noreturn]] void violated(const std::string& what, const LoadResult& r) {
  std::fprintf(stderr, "haproxy_config_fuzz: %s\n", what.c_str());
  for (const Error& e : r.errors)
    std::fprintf(stderr, "  error: line %d: %s\n", e.line, e.to_string().c_str());
  for (const Error& w : r.warnings)
    std::fprintf(stderr, "  warning: line %d: %s\n", w.line, w.to_string().c_str());
  std::abort();
}

// The lines as the loader counts them: one per LF, and a last one without
// it.
int count_lines(std::string_view text) {
  int n = 0;
  for (char c : text)
    n += c == '\n';
  return n + (!text.empty() && text.back() != '\n');
}

void check_entry(const Error& e, int lines, const char* kind, const LoadResult& r) {
  if (e.file != kFile) violated(std::string(kind) + " without the file's name", r);
  if (e.message.empty()) violated(std::string(kind) + " without a message", r);
  if (e.line < 0 || e.line > lines)
    violated(std::string(kind) + " on line " + std::to_string(e.line) + " of a text of " +
                 std::to_string(lines) + " lines",
             r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const LoadResult r = mqlb::conf::load_haproxy(text, kFile, fake_env);

  if (r.config.has_value() == !r.errors.empty())
    violated(r.config ? "a config together with errors" : "neither a config nor an error", r);
  const int lines = count_lines(text);
  for (const Error& e : r.errors) {
    check_entry(e, lines, "an error", r);
    if (e.line == 0 && r.errors.size() != 1) violated("an error on line 0 beside other errors", r);
  }
  for (const Error& w : r.warnings)
    check_entry(w, lines, "a warning", r);
  if (!r.config) return 0;

  const std::string dump = mqlb::conf::dump_json(*r.config);
  const LoadResult again = mqlb::conf::load_json(dump, "dump.json");
  if (!again.config || !again.errors.empty()) {
    std::fprintf(stderr, "haproxy_config_fuzz: the dump does not load back:\n%s", dump.c_str());
    violated("dump_json of a loaded config is refused by load_json", again);
  }
  if (mqlb::conf::dump_json(*again.config) != dump) {
    std::fprintf(stderr, "haproxy_config_fuzz: first dump:\n%s\nsecond dump:\n%s", dump.c_str(),
                 mqlb::conf::dump_json(*again.config).c_str());
    violated("load_json of a dump gives another config", again);
  }
  return 0;
}
