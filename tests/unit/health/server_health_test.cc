// ServerHealthView bookkeeping and slowstart's ramp.
#include "health/server_health.h"

#include <catch2/catch.hpp>

namespace mqlb::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("slowstart ramps from 1/16 to the full weight", "[health]") {
  const auto ss = std::optional<conf::Duration>(seconds(10));
  CHECK(slowstart_weight(100, milliseconds(0), ss) == 7);       // 100 * 1/16, rounded up
  CHECK(slowstart_weight(100, seconds(5), ss) == 57);           // 100 * 9/16
  CHECK(slowstart_weight(100, milliseconds(9999), ss) == 100);  // 100 * 16/16
  CHECK(slowstart_weight(100, seconds(10), ss) == 100);
  CHECK(slowstart_weight(100, seconds(3), std::nullopt) == 100);
  CHECK(slowstart_weight(1, milliseconds(0), ss) == 1);  // never 0
  CHECK(slowstart_weight(0, milliseconds(0), ss) == 0);
}

TEST_CASE("the ramp is recomputed every twentieth of slowstart, at least every second",
          "[health]") {
  CHECK(slowstart_step(seconds(10)) == seconds(1));
  CHECK(slowstart_step(seconds(60)) == seconds(3));
}

TEST_CASE("record_check counts streaks, failed checks and DOWN transitions", "[health]") {
  ServerHealthView v;
  const CheckResult bad{Status::L4Con, "Connection refused"};
  const CheckResult good{Status::L7Ok, "", milliseconds(2), 0};

  record_check(v, bad, Transition::WentDown, 1000);
  CHECK(v.state == ServerStatus::Down);
  CHECK(v.since_unix_ms == 1000);
  CHECK(v.consecutive_failures == 1);
  CHECK(v.down_transitions == 1);
  CHECK(v.failed_checks == 1);
  CHECK(v.last_check == bad);

  record_check(v, good, Transition::None, 2000);
  record_check(v, good, Transition::WentUp, 3000);
  CHECK(v.state == ServerStatus::Up);
  CHECK(v.since_unix_ms == 3000);
  CHECK(v.consecutive_successes == 2);
  CHECK(v.consecutive_failures == 0);

  v.state = ServerStatus::Maint;
  record_check(v, bad, Transition::WentDown, 4000);
  CHECK(v.state == ServerStatus::Maint);
  CHECK(v.since_unix_ms == 3000);
  CHECK(v.down_transitions == 2);
  CHECK(v.failed_checks == 2);  // counted whatever the admin state, as HAProxy's chkfail
}

}  // namespace
}  // namespace mqlb::health
