// syslog_header: the RFC 3164 header of every syslog line.
#include "lb/log.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>

namespace mqlb::lb {
namespace {

void use_utc() {
  setenv("TZ", "UTC", 1);
  tzset();
}

constexpr int kLocal0 = 16;

TEST_CASE("syslog header has the priority the date the tag and the pid", "[log]") {
  use_utc();
  // 2026-11-22 14:26:37.100 UTC; local0.info = 16 * 8 + 6.
  CHECK(syslog_header(kLocal0, Level::Info, 1'795'357'597'100, 6781) ==
        "<134>Nov 22 14:26:37 mqlb[6781]: ");
}

TEST_CASE("syslog header pads a single digit day with a space", "[log]") {
  use_utc();
  // 2026-11-02 09:05:07 UTC. RFC 3164 §4.1.2.
  CHECK(syslog_header(kLocal0, Level::Info, 1'793'610'307'000, 42) ==
        "<134>Nov  2 09:05:07 mqlb[42]: ");
}

TEST_CASE("syslog header priority is facility times eight plus level", "[log]") {
  use_utc();
  CHECK(syslog_header(0, Level::Emerg, 0, 1) == "<0>Jan  1 00:00:00 mqlb[1]: ");
  CHECK(syslog_header(23, Level::Debug, 0, 1) == "<191>Jan  1 00:00:00 mqlb[1]: ");
  CHECK(syslog_header(3, Level::Warning, 0, 1) == "<28>Jan  1 00:00:00 mqlb[1]: ");
}

TEST_CASE("syslog header uses local time", "[log]") {
  setenv("TZ", "CET-1", 1);
  tzset();
  CHECK(syslog_header(kLocal0, Level::Info, 1'795'357'597'100, 1) ==
        "<134>Nov 22 15:26:37 mqlb[1]: ");
  use_utc();
}

}  // namespace
}  // namespace mqlb::lb
