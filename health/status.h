#pragma once
// HAProxy's health check statuses (src/check.c `check_statuses`, 2.6) and the
// result of one check. Pure: plain values, no I/O.

#include <chrono>
#include <string>
#include <string_view>

namespace mqlb::health {

// The statuses a TCP, tcp-check or MQTT check can end with, in HAProxy's order.
enum class Status {
  Unknown,  // UNK: no check has finished yet
  Hana,     // HANA: live traffic reached error-limit ("observe layer4"); not a check
  SockErr,  // SOCKERR: an I/O error after the connection was established
  L4Ok,
  L4Tout,
  L4Con,
  L6Ok,
  L6Tout,
  L6Rsp,
  L7Tout,
  L7Rsp,
  L7Ok,
  L7Sts,
};

std::string_view name(Status s);         // "L4OK", as in the stats page's check_status
std::string_view description(Status s);  // "Layer4 check passed", as in the logs
bool passed(Status s);                   // L4OK, L6OK, L7OK
// HAProxy prints ", code: N" only for statuses after HCHK_STATUS_L57DATA:
// of ours, L7OK and L7STS (not L7TOUT or L7RSP).
bool reports_code(Status s);

struct CheckResult {
  Status status = Status::Unknown;
  std::string info;                       // HAProxy's check->desc; empty: none printed
  std::chrono::milliseconds duration{0};  // set by the I/O adapter; negative: not printed
  int code = -1;                          // MQTT CONNACK code (L7OK, L7STS); -1: none

  bool ok() const { return passed(status); }
  bool operator==(const CheckResult&) const = default;
};

}  // namespace mqlb::health
