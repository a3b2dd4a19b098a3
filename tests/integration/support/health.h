// What the health-check tests look for in mqlb's events (HAProxy 2.6's
// wording, kept here so aligning it with mqlb is one edit), how they turn
// checks on, and a broker frozen with SIGSTOP. Main thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace mqlb::test {

namespace health_expect {

// "Server mqtt/b1 is DOWN, reason: Layer4 connection problem, info:
// \"Connection refused\", check duration: 0ms. 1 active and 0 backup servers
// left. 0 sessions active, 0 requeued, 0 remaining in queue."
inline std::string down(std::string_view backend_server) {
  return "Server " + std::string(backend_server) + " is DOWN";
}
// "Server mqtt/b1 is UP, reason: Layer7 check passed, code: 0, check
// duration: 1ms. 2 active and 0 backup servers online. 0 sessions
// requeued, 0 total in queue."
inline std::string up(std::string_view backend_server) {
  return "Server " + std::string(backend_server) + " is UP";
}
// HAProxy's "backend 'mqtt' has no server available!", an ALERT on stderr
// (syslog gets it as an EMERG, without the quotes).
inline std::string no_server(std::string_view backend) {
  return "backend '" + std::string(backend) + "' has no server available!";
}

// The reasons (HAProxy's check_reason_str and the info it adds).
inline constexpr std::string_view kL4Refused = "reason: Layer4 connection problem";
inline constexpr std::string_view kConnectionRefused = "info: \"Connection refused\"";
inline constexpr std::string_view kL7WrongStatus = "reason: Layer7 wrong status";
inline constexpr std::string_view kL7InvalidResponse = "reason: Layer7 invalid response";
inline constexpr std::string_view kL7Timeout = "reason: Layer7 timeout";
inline constexpr std::string_view kL7Passed = "reason: Layer7 check passed";
// mosquitto 2.0.11 with allow_anonymous false answers a CONNECT without
// credentials, or with a wrong password, with CONNACK code 5 in MQTT 3.1.1
// (§3.2.2.3 "not authorized") and reason code 0x87 = 135 in MQTT 5.
inline constexpr std::string_view kNotAuthorized311 = "code: 5";
inline constexpr std::string_view kNotAuthorized5 = "code: 135";

// "check duration: 12ms": how long the last check took.
inline constexpr std::string_view kCheckDuration = "check duration: ";

// A state line is an event like the others: "[ALERT]    (6781) : Server ...".
bool is_event(const std::string& line);
// The "check duration: Nms" of a state line, if it has one.
std::optional<long> check_duration_ms(const std::string& line);

}  // namespace health_expect

// HAProxy's MQTT 3.1.1 CONNECT with an empty client id and clean session
// (remaining length 12 = 0x0c), and the CONNACK "accepted" it expects.
inline constexpr char kConnectHex[] = "100c00044d5154540402003c0000";
inline constexpr char kConnackAcceptedHex[] = "20020000";

// Sets "check": true and `options` (HAProxy's server keys: inter, rise,
// fall...) on every server of backend `backend`.
void enable_checks(nlohmann::json& config, const nlohmann::json& options, size_t backend = 0);

// basic_config with b1 and b2, both checked with `check` (a backend "check"
// object) every 200 ms, fall 2, rise 2, timeout check 500 ms.
nlohmann::json two_checked_servers(uint16_t b1_port, uint16_t b2_port, const nlohmann::json& check);

// How many times `needle` stands in `text`.
size_t count(const std::string& text, std::string_view needle);

// mqlb's stderr lines that contain `needle`, in order.
std::vector<std::string> event_lines(const Mqlb& lb, std::string_view needle);
// The first stderr line containing `needle`, polled until `timeout`.
std::optional<std::string> wait_for_event(const Mqlb& lb, std::string_view needle,
                                          Millis timeout = Millis(5000));

// Runs `count` mosquitto_pub sessions through mqlb one after the other
// (payloads "<prefix> 1" ...) and returns the access lines they wrote, in
// order; earlier lines (there were `before` of them) are left out. Requires
// every publish to succeed.
std::vector<AccessLine> publish_through(TempDir& dir, const Mqlb& lb, int count, size_t before,
                                        const std::string& prefix = "message");

// How many of `lines` each server took ("<NOSRV>" included).
std::map<std::string, int> sessions_per_server(const std::vector<AccessLine>& lines);

// Whether `broker`'s log has `text` ("as device-1": mosquitto accepted that
// client id), polled until `timeout`.
bool broker_logged(const Broker& broker, std::string_view text, Millis timeout = Millis(3000));

// A process frozen with SIGSTOP: its sockets stay open and the kernel still
// completes handshakes into its backlog, but it answers nothing. SIGCONT on
// resume() or at the end, so it can always be killed.
class Frozen {
 public:
  explicit Frozen(pid_t pid);
  ~Frozen();
  Frozen(const Frozen&) = delete;
  Frozen& operator=(const Frozen&) = delete;

  void resume();

 private:
  pid_t pid_;
  bool frozen_ = true;
};

}  // namespace mqlb::test
