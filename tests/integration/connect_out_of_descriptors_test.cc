// Out of file descriptors at the worst moment: mqlb has accepted a client but
// has no descriptor left for the connection to its server. That session is
// logged RC (a local resource ran out while connecting), mqlb warns why, and
// once descriptors are back new sessions are served. Needs util-linux prlimit.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// The soft limit under which exactly one descriptor number is free for a
// process that has `open` (sorted) open: the second number not in use.
int limit_leaving_one(const std::vector<int>& open) {
  const std::set<int> used(open.begin(), open.end());
  int free_seen = 0;
  for (int n = 0;; ++n) {
    if (used.count(n) == 0 && ++free_seen == 2) return n;
  }
}

bool has_warning_with(const std::string& log, const std::string& word) {
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("[WARNING]", 0) == 0 && line.find(word) != std::string::npos) return true;
  }
  return false;
}

void set_nofile(TempDir& dir, pid_t pid, const std::string& limits) {
  const RunResult set =
      run(dir, "prlimit", {"prlimit", "--pid", std::to_string(pid), "--nofile=" + limits});
  INFO(set.stderr_text);
  REQUIRE(set.exit_code == 0);
}

}  // namespace

TEST_CASE("a connect that finds no free descriptor is logged RC and mqlb recovers",
          "[integration][descriptors]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, basic_config(free_port(), {{"b1", backend.port()}}),
          {.launcher = {"prlimit", "--nofile=64:64"}});

  // A whole session first. Besides showing the set-up works, it warms
  // UBSan's type cache in the sanitizer build: a cache miss costs a pipe(2),
  // which mqlb will have no descriptor for.
  Socket first = echoed_session(lb.port(), "first");
  const uint16_t first_port = first.local_port();
  first.close();
  REQUIRE(lb.access_line_for(first_port).termination == "--");

  // mqlb is idle, so its descriptors stay as they are: leave it one. The
  // accepted client takes it, and socket(2) for the server fails (EMFILE).
  const int limit = limit_leaving_one(lb.open_fd_numbers());
  set_nofile(dir, lb.pid(), std::to_string(limit) + ":64");

  Socket client = Socket::connect(lb.port());
  const uint16_t client_port = client.local_port();
  CHECK(client.wait_closed(Millis(5000)) != Closed::kStillOpen);
  client.close();

  const AccessLine line = lb.access_line_for(client_port);
  INFO(line.raw);
  CHECK(line.termination == "RC");
  CHECK(line.server == "b1");
  CHECK(line.bytes_read == 0);
  CHECK(backend.accepted() == 1);  // only the first session reached it
  CHECK(wait_until([&] { return has_warning_with(lb.stderr_text(), "EMFILE"); }, Millis(5000)));

  set_nofile(dir, lb.pid(), "64:64");
  Socket after = echoed_session(lb.port(), "descriptors are back");
  CHECK(backend.accepted() == 2);
}
