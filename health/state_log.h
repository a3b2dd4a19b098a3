#pragma once
// HAProxy 2.6's log lines for server state changes (src/server.c
// srv_update_status, srv_append_status), "no server available"
// (src/backend.c set_backend_down) and `option log-health-checks`
// (src/check.c set_server_check_status), formatted from plain inputs. Pure.
// Lines end with HAProxy's final period and no newline.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "health/hysteresis.h"
#include "health/status.h"

namespace mqlb::health {

// syslog(3) levels HAProxy sends these lines at.
inline constexpr int kLogEmerg = 0;    // "has no server available!"
inline constexpr int kLogAlert = 1;    // a server DOWN
inline constexpr int kLogWarning = 4;  // on stderr, where HAProxy ha_warning()s every state line
inline constexpr int kLogNotice = 5;   // UP; DOWN after stopping/drain; health check lines

struct StateChange {
  std::string_view backend, server;
  bool backup = false;
  bool up = false;  // the new state: UP or DOWN
  // Why, from the check that decided it. HAProxy passes no check when
  // `option log-health-checks` is on (its own line said why) or the server
  // tracks another one; then `reason` (", <reason>") or nothing is written.
  const CheckResult* check = nullptr;
  std::string_view reason;
  // After the change: usable active and backup servers of the backend.
  uint32_t active_servers = 0, backup_servers = 0;
  uint32_t sessions_active = 0;  // DOWN only: still on the server
  uint32_t requeued = 0;         // DOWN: moved off its queue; UP: taken from the backend's
  uint32_t queued = 0;           // DOWN: left in its queue; UP: its queue
};

// "Server mqtt/b1 is DOWN, reason: Layer4 connection problem, info: \"Connection
// refused\", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions
// active, 0 requeued, 0 remaining in queue."
std::string format_state_change(const StateChange& c);
// kLogAlert for DOWN unless the server was stopping or draining (kLogNotice); UP: kLogNotice.
int state_change_level(bool up, bool was_stopping_or_draining);

// An admin state set at run time (`set server b/s state maint|drain|ready`,
// `disable|enable server`, the API's admin_state), as HAProxy 2.6's
// srv_update_status words it for its forced (FMAINT, FDRAIN) flags.
enum class AdminLevel { Ready, Drain, Maint };
struct AdminChange {
  std::string_view backend, server;
  bool backup = false;
  AdminLevel from = AdminLevel::Ready, to = AdminLevel::Ready;
  bool up = true;  // the server's health, as its checks (or their absence) say
  // After the change: usable active and backup servers of the backend.
  uint32_t active_servers = 0, backup_servers = 0;
  uint32_t sessions_active = 0;  // still on the server
  uint32_t queued = 0;           // in its queue
};
struct EventLine {
  int level;  // syslog level; stderr always shows HAProxy's [WARNING]
  std::string text;
};
// The lines HAProxy sends for the change, in order, e.g. "Server mqtt/b1 is
// going DOWN for maintenance. 0 active and 0 backup servers left. 0 sessions
// active, 0 requeued, 0 remaining in queue." (kLogAlert; kLogNotice from
// drain), "Server mqtt/b1 is UP/READY (leaving forced maintenance).",
// "Server mqtt/b1 enters drain state. ...", "Server mqtt/b1 is UP (leaving
// forced drain)." (kLogNotice). None when nothing changed. The caller adds
// format_no_server when the change left the backend without a usable server.
std::vector<EventLine> format_admin_change(const AdminChange& c);

// "backend mqtt has no server available!" (kLogEmerg, to syslog). `proxy_type`
// is HAProxy's proxy_type_str: "backend", or "proxy" for a listen section.
// `quoted`: "backend 'mqtt' has no server available!", the ALERT HAProxy
// prints on stderr at the same moment.
// "Server mqtt/b1 remains in forced drain mode.": HAProxy adds it to a
// change of a server that stays in drain.
std::string format_drain_stays(std::string_view backend, std::string_view server, bool backup);

std::string format_no_server(std::string_view backend, std::string_view proxy_type = "backend",
                             bool quoted = false);

// "Health check for server mqtt/b1 succeeded, reason: Layer7 check passed,
// code: 0, check duration: 1ms, status: 3/3 UP." (kLogNotice). HAProxy writes
// it when the status differs from the previous check's or the counter moved.
// `drain`: weight 0, shown as DRAIN instead of UP.
std::string format_health_check(std::string_view backend, std::string_view server, bool backup,
                                const CheckResult& r, const Health& h, bool drain = false);

// srv_append_status's check part: ", reason: ..., code: N, info: \"...\",
// check duration: Nms". Info is written as HAProxy's chunk_asciiencode does:
// '"', '<', '>' and non-printable bytes as <XX>.
void append_check_status(std::string& out, const CheckResult& r);

}  // namespace mqlb::health
