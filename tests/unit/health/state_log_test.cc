// HAProxy 2.6's state-change, no-server and log-health-checks lines, byte for byte.
#include "health/state_log.h"

#include <catch2/catch.hpp>

namespace mqlb::health {
namespace {

using std::chrono::milliseconds;

StateChange change(std::string_view server, bool up, const CheckResult* check,
                   bool backup = false) {
  StateChange c;
  c.backend = "mqtt";
  c.server = server;
  c.up = up;
  c.check = check;
  c.backup = backup;
  return c;
}

TEST_CASE("a server DOWN after a refused connect", "[health]") {
  const CheckResult r{Status::L4Con, "Connection refused", milliseconds(0)};
  StateChange c = change("b1", false, &r);
  c.active_servers = 1;
  CHECK(format_state_change(c) ==
        "Server mqtt/b1 is DOWN, reason: Layer4 connection problem, info: \"Connection "
        "refused\", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions "
        "active, 0 requeued, 0 remaining in queue.");
  CHECK(state_change_level(false, false) == kLogAlert);
  CHECK(state_change_level(false, true) == kLogNotice);
}

TEST_CASE("a server DOWN after live traffic reached error-limit", "[health]") {
  // HAProxy's health_adjust: status HANA, no code, no duration (-1).
  const CheckResult r{Status::Hana,
                      "Detected 10 consecutive errors, last one was: L4 unsuccessful connection",
                      milliseconds(-1)};
  StateChange c = change("b1", false, &r);
  c.active_servers = 1;
  c.sessions_active = 4;
  CHECK(format_state_change(c) ==
        "Server mqtt/b1 is DOWN, reason: Health analyze, info: \"Detected 10 consecutive errors, "
        "last one was: L4 unsuccessful connection\". 1 active and 0 backup servers left. 4 "
        "sessions active, 0 requeued, 0 remaining in queue.");
}

TEST_CASE("a server UP after an MQTT check", "[health]") {
  const CheckResult r{Status::L7Ok, "", milliseconds(1), 0};
  StateChange c = change("b1", true, &r);
  c.active_servers = 2;
  CHECK(format_state_change(c) ==
        "Server mqtt/b1 is UP, reason: Layer7 check passed, code: 0, check duration: 1ms. 2 "
        "active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
  CHECK(state_change_level(true, false) == kLogNotice);
}

TEST_CASE("a refused CONNACK prints its code and words", "[health]") {
  const CheckResult r{Status::L7Sts, "Not authorized", milliseconds(3), 5};
  StateChange c = change("b2", false, &r);
  c.active_servers = 1;
  c.sessions_active = 4;
  c.requeued = 2;
  c.queued = 1;
  CHECK(format_state_change(c) ==
        "Server mqtt/b2 is DOWN, reason: Layer7 wrong status, code: 5, info: \"Not "
        "authorized\", check duration: 3ms. 1 active and 0 backup servers left. 4 sessions "
        "active, 2 requeued, 1 remaining in queue.");
}

TEST_CASE("a backup server, and a backend running on backup", "[health]") {
  const CheckResult r{Status::L4Tout, "", milliseconds(2001)};
  StateChange c = change("b1", false, &r);
  c.backup_servers = 1;
  CHECK(format_state_change(c) ==
        "Server mqtt/b1 is DOWN, reason: Layer4 timeout, check duration: 2001ms. 0 active and 1 "
        "backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in "
        "queue.");

  const CheckResult ok{Status::L4Ok, "", milliseconds(0)};
  StateChange up = change("spare", true, &ok, true);
  up.backup_servers = 1;
  up.requeued = 3;
  CHECK(format_state_change(up) ==
        "Backup Server mqtt/spare is UP, reason: Layer4 check passed, check duration: 0ms. 0 "
        "active and 1 backup servers online. Running on backup. 3 sessions requeued, 0 total "
        "in queue.");
}

TEST_CASE("without a check the line has no reason, or the reason given", "[health]") {
  StateChange c = change("b1", false, nullptr);
  c.active_servers = 1;
  CHECK(format_state_change(c) ==
        "Server mqtt/b1 is DOWN. 1 active and 0 backup servers left. 0 sessions active, 0 "
        "requeued, 0 remaining in queue.");
  c.reason = "changed from CLI";
  CHECK(format_state_change(c) ==
        "Server mqtt/b1 is DOWN, changed from CLI. 1 active and 0 backup servers left. 0 "
        "sessions active, 0 requeued, 0 remaining in queue.");
}

TEST_CASE("info is ascii-encoded as HAProxy does", "[health]") {
  std::string out;
  append_check_status(out, {Status::L7Rsp, "got \"<x>\"\r\n", milliseconds(-1)});
  CHECK(out == ", reason: Layer7 invalid response, info: \"got <22><3C>x<3E><22><0D><0A>\"");
}

TEST_CASE("the backend has no server available", "[health]") {
  CHECK(format_no_server("mqtt") == "backend mqtt has no server available!");
  CHECK(format_no_server("mqtt", "proxy") == "proxy mqtt has no server available!");
  CHECK(format_no_server("mqtt", "backend", true) == "backend 'mqtt' has no server available!");
}

TEST_CASE("option log-health-checks lines", "[health]") {
  using InitState = conf::ServerCheck::InitState;
  Health h(2, 3, InitState::FullyUp);
  const CheckResult ok{Status::L7Ok, "", milliseconds(1), 0};
  CHECK(format_health_check("mqtt", "b1", false, ok, h) ==
        "Health check for server mqtt/b1 succeeded, reason: Layer7 check passed, code: 0, check "
        "duration: 1ms, status: 3/3 UP.");

  const CheckResult refused{Status::L4Con, "Connection refused", milliseconds(0)};
  h.observe(false);
  CHECK(format_health_check("mqtt", "b1", false, refused, h) ==
        "Health check for server mqtt/b1 failed, reason: Layer4 connection problem, info: "
        "\"Connection refused\", check duration: 0ms, status: 2/3 UP.");

  Health down(2, 3, InitState::FullyDown);
  down.observe(true);
  CHECK(format_health_check("mqtt", "spare", true, ok, down) ==
        "Health check for backup server mqtt/spare succeeded, reason: Layer7 check passed, "
        "code: 0, check duration: 1ms, status: 1/2 DOWN.");

  CHECK(format_health_check("mqtt", "b1", false, ok, Health(2, 3, InitState::FullyUp), true) ==
        "Health check for server mqtt/b1 succeeded, reason: Layer7 check passed, code: 0, check "
        "duration: 1ms, status: 3/3 DRAIN.");
}

// The lines haproxy 2.6.12 sent for `set server mqtt/b1 state ...` on its
// runtime socket, one server in the backend, recorded from its syslog.
TEST_CASE("admin changes are worded as HAProxy's srv_update_status words them", "[health]") {
  AdminChange c;
  c.backend = "mqtt";
  c.server = "b1";
  auto lines = [&](AdminLevel from, AdminLevel to) {
    c.from = from;
    c.to = to;
    std::string out;
    for (const auto& l : format_admin_change(c))
      out += "<" + std::to_string(l.level) + "> " + l.text + "\n";
    return out;
  };
  CHECK(lines(AdminLevel::Ready, AdminLevel::Maint) ==
        "<1> Server mqtt/b1 is going DOWN for maintenance. 0 active and 0 backup servers left. 0 "
        "sessions active, 0 requeued, 0 remaining in queue.\n");
  CHECK(lines(AdminLevel::Drain, AdminLevel::Maint) ==
        "<5> Server mqtt/b1 is going DOWN for maintenance. 0 active and 0 backup servers left. 0 "
        "sessions active, 0 requeued, 0 remaining in queue.\n");
  CHECK(lines(AdminLevel::Maint, AdminLevel::Ready) ==
        "<5> Server mqtt/b1 is UP/READY (leaving forced maintenance).\n");
  CHECK(lines(AdminLevel::Maint, AdminLevel::Drain) ==
        "<5> Server mqtt/b1 is UP/DRAIN (leaving forced maintenance).\n"
        "<5> Server mqtt/b1 remains in forced drain mode.\n");
  CHECK(lines(AdminLevel::Ready, AdminLevel::Drain) ==
        "<5> Server mqtt/b1 enters drain state. 0 active and 0 backup servers online. 0 sessions "
        "requeued, 0 total in queue.\n");
  CHECK(lines(AdminLevel::Drain, AdminLevel::Ready) ==
        "<5> Server mqtt/b1 is UP (leaving forced drain).\n");
  CHECK(lines(AdminLevel::Ready, AdminLevel::Ready).empty());

  c.up = false;
  CHECK(lines(AdminLevel::Ready, AdminLevel::Maint) ==
        "<5> Server mqtt/b1 was DOWN and now enters maintenance.\n");
  CHECK(lines(AdminLevel::Ready, AdminLevel::Drain) ==
        "<5> Server mqtt/b1 enters drain state. 0 active and 0 backup servers left. 0 sessions "
        "active, 0 requeued, 0 remaining in queue.\n");
  CHECK(lines(AdminLevel::Maint, AdminLevel::Ready) ==
        "<5> Server mqtt/b1 is DOWN/READY (leaving forced maintenance).\n");

  c.up = true;
  c.backup = true;
  c.backup_servers = 1;
  CHECK(lines(AdminLevel::Ready, AdminLevel::Drain) ==
        "<5> Backup Server mqtt/b1 enters drain state. 0 active and 1 backup servers online. "
        "Running on backup. 0 sessions requeued, 0 total in queue.\n");
}

}  // namespace
}  // namespace mqlb::health
