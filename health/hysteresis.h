#pragma once
// HAProxy's rise/fall health counter (`check->health`, src/check.c
// set_server_check_status) as a pure state machine, the check interval it
// selects (src/server.c srv_getinter) and the spreading of first checks.
// Pure: the caller owns the clock and any randomness.
//
//   0 .. rise-1            DOWN; each success +1, each failure drops to 0
//   rise .. rise+fall-1    UP; each failure -1, each success jumps to rise+fall-1
//
//        fully-down       down          up        fully-up
//   [0] --ok--> ... --ok--> [rise-1] --ok--> [rise] ... [rise+fall-1]
//    ^                          |              |               |
//    +-------- any failure -----+--- failure --+    <-- fall failures
//
// Initial state (`init-state`): HAProxy 2.6 has no such keyword and starts
// every checked server at health = rise (UP, one failure takes it DOWN), which
// is what InitState::Up does. The keyword came in HAProxy 3.1; its four values
// follow 3.1's srv_set_init_state: fully-up = rise+fall-1, up = rise,
// down = rise-1, fully-down = 0.

#include <cstddef>
#include <cstdint>

#include "conf/config.h"

namespace mqlb::health {

enum class Transition { None, WentUp, WentDown };

class Health {
 public:
  // Precondition: rise >= 1, fall >= 1 (the loader rejects 0).
  Health(uint32_t rise, uint32_t fall,
         conf::ServerCheck::InitState init = conf::ServerCheck::InitState::Up);
  explicit Health(const conf::ServerCheck& check)
      : Health(check.rise, check.fall, check.init_state) {}

  // One check's outcome. The counter does not move past its ends, so a caller
  // that logs every counted result (`option log-health-checks`) compares
  // value() before and after.
  Transition observe(bool ok);

  // HAProxy's `on-error`, applied once the caller has counted enough
  // consecutive errors in live traffic (HAProxy's `error-limit`, default 10).
  // Every mode also asks for the next check at fastinter: the caller
  // reschedules at next_interval() if that is sooner.
  //   fastinter:    no change to the counter
  //   fail-check:   one failed check
  //   sudden-death: one failed check away from DOWN (health = rise + 1, then a failure)
  //   mark-down:    DOWN at once (health = rise, then a failure)
  Transition on_traffic_errors(conf::ServerCheck::OnError mode);

  bool up() const { return value_ >= rise_; }
  bool fully_up() const { return value_ == rise_ + fall_ - 1; }
  bool fully_down() const { return value_ == 0; }
  uint32_t value() const { return value_; }
  uint32_t rise() const { return rise_; }
  uint32_t fall() const { return fall_; }

  // The "status: 2/3 UP" of HAProxy's health check log line: while UP, the
  // failures still to go before DOWN (out of fall); while DOWN, the successes
  // so far (out of rise).
  uint32_t progress() const { return up() ? value_ - rise_ + 1 : value_; }
  uint32_t progress_of() const { return up() ? fall_ : rise_; }

 private:
  uint32_t rise_, fall_, value_;
};

// The delay before the next check (HAProxy's srv_getinter): inter while fully
// up, downinter while fully down, fastinter in between (both fall back to
// inter). A server with init-state up (the default) is not fully up, so its
// first checks run at fastinter, as in HAProxy.
conf::Duration next_interval(const Health& h, const conf::ServerCheck& check);

// Offset of the first check of server `i` of `n` (HAProxy's start_check_task:
// inter * i / n), so that n servers do not check in one burst.
// Precondition: i < n.
conf::Duration spread(size_t i, size_t n, conf::Duration inter);

// HAProxy's `spread-checks <percent>`: each interval moved by up to
// ±percent%, `random01` uniform in [0, 1] (0 gives +percent%, 1 gives -percent%).
conf::Duration jitter(conf::Duration interval, uint32_t percent, double random01);

}  // namespace mqlb::health
