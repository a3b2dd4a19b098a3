#pragma once
// Which timeout a session is under, and when it expires: HAProxy's rules
// for `timeout client-hs`, `queue`, `connect`, the retry turn-around, `client`/`server`,
// `tunnel` and `client-fin`/`server-fin`, in one place. The session's
// single timer is armed for the result and, when it fires, asks again.
// Pure: times are loop milliseconds given by the caller.

#include <cstdint>
#include <optional>

#include "conf/config.h"

namespace mqlb::lb {

enum class SessionPhase : uint8_t { Handshake, Queued, Connecting, TurnAround, Relaying };

struct SideTimes {
  uint64_t last_activity = 0;  // last byte read from or written to this side
  // Reading from this side is held back because the other side does not
  // take the bytes (backpressure): the side is not idle, its peer is slow.
  bool held = false;
  // This side sent its FIN and nothing waits to be written to it: nothing
  // more is expected of it, so it cannot be idle (HAProxy stops the read
  // timeout of a shut channel). The other side's timeout ends the tail.
  bool done = false;
};

struct TimerView {
  SessionPhase phase = SessionPhase::Queued;
  uint64_t phase_start = 0;  // when the handshake, queue, connect or turn-around began
  SideTimes client, server;
  bool half_closed = false;  // one direction has seen its FIN
};

enum class Expiry : uint8_t { Handshake, Queue, Connect, TurnAround, Client, Server };

struct Deadline {
  uint64_t at = 0;
  Expiry what = Expiry::Queue;
};

// The earliest deadline, or none when no timeout applies.
std::optional<Deadline> next_deadline(const TimerView& v, const conf::Timeouts& frontend,
                                      const conf::Timeouts& backend);

// HAProxy 2.6: `timeout client-fin` unset falls back to `timeout tunnel`,
// then `timeout client`, at the point of use (likewise on the server side);
// `timeout tunnel` replaces `client` and `server` once connected.
std::optional<conf::Duration> client_timeout(const conf::Timeouts& fe, const conf::Timeouts& be,
                                             bool half_closed);
std::optional<conf::Duration> server_timeout(const conf::Timeouts& be, bool half_closed);

// HAProxy's `timeout client-hs`: how long a client may take over the TLS
// handshake; 5 s unless configured.
conf::Duration handshake_timeout(const conf::Timeouts& frontend);

// The pause between two connection attempts: min(timeout connect, 1 s).
conf::Duration turn_around(const conf::Timeouts& backend);

}  // namespace mqlb::lb
