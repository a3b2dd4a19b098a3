#pragma once
// What the API and metrics read about one server's health: a plain value
// the check loop fills in and publishes, and slowstart's effective weight
// (HAProxy 2.6 src/server.c server_recalc_eweight). Pure.

#include <cstdint>
#include <optional>

#include "conf/config.h"
#include "health/hysteresis.h"
#include "health/status.h"

namespace mqlb::health {

// HAProxy's stats names: UP, DOWN, MAINT, DRAIN, NOLB.
enum class ServerStatus { Up, Down, Maint, Drain, Nolb };

struct ServerHealthView {
  ServerStatus state = ServerStatus::Up;
  CheckResult last_check;
  uint32_t consecutive_successes = 0, consecutive_failures = 0;
  uint64_t down_transitions = 0;  // UP -> DOWN, HAProxy's chkdown
  uint64_t failed_checks = 0;     // checks that failed, HAProxy's chkfail
  int64_t since_unix_ms = 0;      // when `state` began
  uint32_t effective_weight = 1;

  bool operator==(const ServerHealthView&) const = default;
};

// Records one finished check and the transition it caused. A server in
// MAINT or DRAIN keeps that state; only UP and DOWN follow the checks.
void record_check(ServerHealthView& v, const CheckResult& r, Transition t, int64_t now_unix_ms);

// The weight while slowstart ramps up after a server came UP: HAProxy's
// w = (BE_WEIGHT_SCALE * elapsed + slowstart) / slowstart in sixteenths,
// so it starts at 1/16 of `weight` and grows linearly to all of it at
// `slowstart`. HAProxy counts whole seconds; we count milliseconds. The result
// is in `weight`'s units, rounded up, so a weighted server never drops to 0.
// HAProxy ramps only for dynamic algorithms (roundrobin, leastconn, first,
// random); the caller does not call this for static-rr or source.
uint32_t slowstart_weight(uint32_t weight, conf::Duration since_up,
                          std::optional<conf::Duration> slowstart);

// How often the ramp is recomputed: HAProxy's warmup task runs every
// MAX(1000 ms, slowstart / 20).
conf::Duration slowstart_step(conf::Duration slowstart);

}  // namespace mqlb::health
