// SIGHUP reloads the configuration in place: with the file unchanged mqlb
// logs the reload as a NOTICE, and everything goes on: live sessions keep
// relaying and new ones are accepted.
#include <signal.h>

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

bool has_notice_about_sighup(const std::string& log) {
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("[NOTICE]", 0) == 0 && line.find("SIGHUP") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("SIGHUP with the same file reloads it as a NOTICE: sessions carry on",
          "[integration][signals]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, basic_config(free_port(), {{"b1", backend.port()}}));

  Socket live = echoed_session(lb.port(), "before");
  const uint16_t live_port = live.local_port();

  lb.process().signal(SIGHUP);
  CHECK(wait_until([&] { return has_notice_about_sighup(lb.stderr_text()); }, Millis(5000)));
  CHECK(wait_until(
      [&] {
        return lb.stderr_text().find(
                   "reload: backend mqtt: +0 servers, -0, 1 unchanged; 0 "
                   "listeners changed") != std::string::npos;
      },
      Millis(5000)));

  live.send_all("after");
  CHECK(live.receive_exactly(5) == "after");
  Socket fresh = echoed_session(lb.port(), "new one");
  CHECK(lb.process().running());

  live.close();
  const AccessLine line = lb.access_line_for(live_port);
  INFO(line.raw);
  CHECK(line.termination == "--");
  CHECK(line.bytes_read == 6 + 5);
}
