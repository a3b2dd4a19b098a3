// HAProxy itself as the oracle: every file of tests/data/haproxy/{valid,
// error,warning} is checked by `haproxy -c -f FILE` (Debian's HAProxy 2.6)
// and by `mqlb -c -f FILE`, and the two must agree. A valid file is valid for
// both, a file with a mistake is refused by both at the same line, a file of
// warning/ passes both with mqlb naming the line it warns about. Where mqlb
// differs on purpose (docs/haproxy.md) the difference is a row of a table
// below, with its reason; any other disagreement fails, and so does a row
// that no longer describes what the two do.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/mqlb.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/tls.h"

using namespace mqlb::test;
namespace fs = std::filesystem;

namespace {

constexpr char kHaproxy[] = "/usr/sbin/haproxy";
const fs::path kCorpus = fs::path(MQLB_SOURCE_DIR) / "tests/data/haproxy";
// One -c run: both load certificates and resolve names, nothing more.
constexpr Millis kCheckTimeout{30000};

enum class Verdict { Valid, Warned, Refused, Other };

// What a `-c` run said about a file: exit 0 without a warning, exit 0 with
// warnings (the line of the first that names one), or exit 1 (the line of
// the first alert that names one). Any other exit status is Other.
struct Outcome {
  Verdict verdict = Verdict::Other;
  std::optional<int> line;
  bool operator==(const Outcome&) const = default;
};

Outcome valid() {
  return {Verdict::Valid, std::nullopt};
}
Outcome warned_at(int line) {
  return {Verdict::Warned, line};
}
Outcome refused_at(int line) {
  return {Verdict::Refused, line};
}
Outcome refused_without_line() {
  return {Verdict::Refused, std::nullopt};
}

std::string describe(const Outcome& outcome) {
  const std::string at = outcome.line ? " at line " + std::to_string(*outcome.line) : "";
  switch (outcome.verdict) {
    case Verdict::Valid:
      return "valid";
    case Verdict::Warned:
      return "valid with warnings" + (outcome.line ? at : " naming no line");
    case Verdict::Refused:
      return "refused" + (outcome.line ? at : " without a line");
    case Verdict::Other:
      break;
  }
  return "neither exit 0 nor exit 1";
}

// A difference between the two, as it is today, and why.
struct Difference {
  const char* file;  // from tests/data/haproxy, e.g. "error/nbproc.cfg"
  Outcome haproxy;
  Outcome mqlb;
  const char* reason;
};

// Where mqlb differs from HAProxy 2.6 on purpose (docs/haproxy.md, "Where
// mqlb and haproxy -c (2.6) disagree", "Warned about" and "Refused").
const std::vector<Difference> kDeliberate = {
    {"error/listen-address.cfg", refused_at(8), warned_at(8),
     "listen NAME ADDR:PORT is HAProxy 1.x syntax: mqlb takes the address as a bind and warns, "
     "so that confd-generated files load"},
    {"error/nbproc.cfg", refused_at(3), warned_at(3),
     "nbproc was removed in HAProxy 2.5: mqlb warns, so that 1.x files load"},
    {"error/init-state.cfg", refused_at(13), valid(),
     "init-state is a later HAProxy's server option, in mqlb's model"},
    {"error/timeout-client-hs.cfg", refused_at(7), valid(),
     "timeout client-hs is a later HAProxy's timeout, in mqlb's model"},
    {"warning/maxconn-not-a-number.cfg", valid(), refused_at(10),
     "HAProxy reads 'maxconn abc' with atol, as 0: mqlb refuses a value that is not a number"},
    {"warning/retries-not-a-number.cfg", valid(), refused_at(13),
     "HAProxy reads 'retries abc' with atol, as 0: mqlb refuses a value that is not a number"},
    {"error/missing-default-backend.cfg", refused_without_line(), refused_at(10),
     "HAProxy finds a missing default_backend after parsing and names the proxy: mqlb names "
     "the default_backend line"},
    {"error/unknown-use-backend.cfg", refused_without_line(), refused_at(10),
     "HAProxy finds a use_backend without its backend after parsing and names the proxy: mqlb "
     "names the use_backend line"},
    {"valid/global.cfg", valid(), warned_at(24), "fullconn has no effect without minconn"},
};

// Where mqlb is wrong today: each is a loader bug to fix, after which its
// row goes (the test fails until it does, as for a stale row above).
const std::vector<Difference> kOpenBugs = {};

const Difference* difference_for(const std::string& file) {
  for (const auto* table : {&kDeliberate, &kOpenBugs}) {
    for (const auto& difference : *table) {
      if (file == difference.file) return &difference;
    }
  }
  return nullptr;
}

// The line of the first output line tagged `tag` that contains `place`
// followed by "LINE]".
std::optional<int> first_line(const std::string& output, const std::string& tag,
                              const std::string& place) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(tag, 0) != 0) continue;
    const size_t at = line.find(place);
    if (at == std::string::npos) continue;
    const size_t digits = at + place.size();
    const size_t end = line.find_first_not_of("0123456789", digits);
    if (end == digits || end == std::string::npos || line[end] != ']') continue;
    return std::stoi(line.substr(digits, end - digits));
  }
  return std::nullopt;
}

// HAProxy writes the place as "parsing [FILE:LINE] :", "[FILE:LINE] :",
// "Parsing [FILE:LINE]:" or "... at [FILE:LINE].": any "[FILE:LINE]" counts.
// mqlb always writes "parsing [FILE:LINE] :", and only that counts.
Outcome outcome_of(const RunResult& run, const std::string& place) {
  const std::string output = run.stdout_text + run.stderr_text;
  if (run.exit_code == 1) return {Verdict::Refused, first_line(output, "[ALERT]", place)};
  if (run.exit_code != 0) return {Verdict::Other, std::nullopt};
  if (output.find("[WARNING]") == std::string::npos) return valid();
  return {Verdict::Warned, first_line(output, "[WARNING]", place)};
}

// What the folder promises of HAProxy: check-corpus holds the corpus to it.
bool haproxy_as_the_folder_says(const std::string& folder, const Outcome& haproxy) {
  if (folder == "valid") return haproxy == valid();
  if (folder == "error") return haproxy.verdict == Verdict::Refused;
  return haproxy.verdict == Verdict::Valid || haproxy.verdict == Verdict::Warned;
}

// What mqlb must do with a file of `folder` when no row says otherwise.
bool mqlb_agrees(const std::string& folder, const Outcome& haproxy, const Outcome& mqlb) {
  if (folder == "valid") return mqlb == valid();
  if (folder == "error") return mqlb.verdict == Verdict::Refused && mqlb.line == haproxy.line;
  // warning/: a warning with its line, the same line as HAProxy's when
  // HAProxy warns with one.
  if (mqlb.verdict != Verdict::Warned || !mqlb.line) return false;
  return haproxy.verdict != Verdict::Warned || !haproxy.line || haproxy.line == mqlb.line;
}

// The corpus files, folder by folder, each in lexical order.
std::vector<std::string> corpus_files() {
  std::vector<std::string> files;
  for (const char* folder : {"valid", "error", "warning"}) {
    std::vector<std::string> in_folder;
    for (const auto& entry : fs::directory_iterator(kCorpus / folder)) {
      if (entry.path().extension() == ".cfg") {
        in_folder.push_back(std::string(folder) + "/" + entry.path().filename().string());
      }
    }
    std::sort(in_folder.begin(), in_folder.end());
    files.insert(files.end(), in_folder.begin(), in_folder.end());
  }
  return files;
}

// A copy of corpus file `rel` under `root`, with @PEM@ replaced by `pem`, as
// check-corpus makes it (the corpus itself is never edited).
fs::path materialize(const fs::path& root, const std::string& rel, const fs::path& pem) {
  std::string text = read_file(kCorpus / rel);
  for (size_t at; (at = text.find("@PEM@")) != std::string::npos;) {
    text.replace(at, 5, pem.string());
  }
  const fs::path copy = root / rel;
  fs::create_directories(copy.parent_path());
  std::ofstream(copy) << text;
  return copy;
}

// The environment check-corpus gives the files (valid/env.cfg,
// error/env-*.cfg), for as long as the test runs.
class CorpusEnvironment {
 public:
  CorpusEnvironment() {
    save("MQLB_CORPUS_ADDR");
    save("MQLB_CORPUS_TIMEOUT");
    save("MQLB_CORPUS_UNSET");
    ::setenv("MQLB_CORPUS_ADDR", "127.0.0.1", 1);
    ::setenv("MQLB_CORPUS_TIMEOUT", "50s", 1);
    ::unsetenv("MQLB_CORPUS_UNSET");
  }
  ~CorpusEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  CorpusEnvironment(const CorpusEnvironment&) = delete;
  CorpusEnvironment& operator=(const CorpusEnvironment&) = delete;

 private:
  void save(const std::string& name) {
    const char* value = ::getenv(name.c_str());
    saved_[name] = value ? std::optional<std::string>(value) : std::nullopt;
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace

namespace Catch {
template <>
struct StringMaker<Outcome> {
  static std::string convert(const Outcome& outcome) { return describe(outcome); }
};
}  // namespace Catch

TEST_CASE("haproxy -c and mqlb -c agree on every file of the corpus but the listed differences",
          "[integration][haproxy]") {
  if (!fs::exists(kHaproxy)) FAIL(kHaproxy << " is missing (Debian: apt-get install haproxy)");
  TempDir dir;
  const CorpusEnvironment environment;
  const fs::path pem = make_tls_files(dir).server.pem;
  const fs::path root = dir.path() / "corpus";

  std::set<std::string> seen;
  for (const auto& rel : corpus_files()) {
    const std::string folder = rel.substr(0, rel.find('/'));
    const fs::path file = materialize(root, rel, pem);
    const RunResult by_haproxy =
        run(dir, "haproxy", {kHaproxy, "-c", "-f", file.string()}, kCheckTimeout);
    const RunResult by_mqlb = run_mqlb(dir, {"-c", "-f", file.string()}, kCheckTimeout);
    const Outcome haproxy = outcome_of(by_haproxy, "[" + file.string() + ":");
    const Outcome mqlb = outcome_of(by_mqlb, "parsing [" + file.string() + ":");
    seen.insert(rel);

    INFO(rel << ": haproxy -c: " << describe(haproxy) << ", mqlb -c: " << describe(mqlb)
             << "\n---- haproxy -c\n"
             << by_haproxy.stderr_text << by_haproxy.stdout_text << "---- mqlb -c\n"
             << by_mqlb.stderr_text << by_mqlb.stdout_text);
    CHECK(haproxy_as_the_folder_says(folder, haproxy));
    if (const Difference* difference = difference_for(rel)) {
      INFO("listed difference: HAProxy " << describe(difference->haproxy) << ", mqlb "
                                         << describe(difference->mqlb) << ": "
                                         << difference->reason);
      CHECK(haproxy == difference->haproxy);
      CHECK(mqlb == difference->mqlb);
    } else {
      CHECK(mqlb_agrees(folder, haproxy, mqlb));
    }
  }

  CHECK(seen.size() >= 40);
  for (const auto* table : {&kDeliberate, &kOpenBugs}) {
    for (const auto& difference : *table) {
      INFO("a listed difference names a file that is not in the corpus: " << difference.file);
      CHECK(seen.count(difference.file) == 1);
    }
  }
}

TEST_CASE("the README's migration section lists every corpus file mqlb warns about",
          "[integration][haproxy]") {
  const std::string readme = read_file(fs::path(MQLB_SOURCE_DIR) / "README.md");
  const size_t start = readme.find("## Migrating from HAProxy");
  REQUIRE(start != std::string::npos);
  const std::string section = readme.substr(start, readme.find("\n## ", start) - start);

  TempDir dir;
  const CorpusEnvironment environment;
  const fs::path pem = make_tls_files(dir).server.pem;
  const fs::path root = dir.path() / "corpus";
  for (const auto& rel : corpus_files()) {
    const fs::path file = materialize(root, rel, pem);
    const RunResult by_mqlb = run_mqlb(dir, {"-c", "-f", file.string()}, kCheckTimeout);
    const Outcome mqlb = outcome_of(by_mqlb, "parsing [" + file.string() + ":");
    if (rel.rfind("warning/", 0) != 0 && mqlb.verdict != Verdict::Warned) continue;
    INFO(rel << ": mqlb -c: " << describe(mqlb) << "; the README does not name it");
    CHECK_THAT(section, Catch::Contains("`" + rel + "`"));
  }
}
