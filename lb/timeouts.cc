// Pure.
#include "lb/timeouts.h"

#include <algorithm>

namespace mqlb::lb {

std::optional<conf::Duration> client_timeout(const conf::Timeouts& fe, const conf::Timeouts& be,
                                             bool half_closed) {
  if (half_closed && fe.client_fin) return fe.client_fin;
  return be.tunnel ? be.tunnel : fe.client;
}

std::optional<conf::Duration> server_timeout(const conf::Timeouts& be, bool half_closed) {
  if (half_closed && be.server_fin) return be.server_fin;
  return be.tunnel ? be.tunnel : be.server;
}

conf::Duration handshake_timeout(const conf::Timeouts& frontend) {
  return frontend.client_hs.value_or(conf::Duration(5000));
}

conf::Duration turn_around(const conf::Timeouts& backend) {
  return std::min(backend.connect.value_or(conf::Duration(1000)), conf::Duration(1000));
}

std::optional<Deadline> next_deadline(const TimerView& v, const conf::Timeouts& fe,
                                      const conf::Timeouts& be) {
  std::optional<Deadline> best;
  auto consider = [&](uint64_t since, const std::optional<conf::Duration>& t, Expiry what) {
    if (!t) return;
    uint64_t at = since + static_cast<uint64_t>(t->count());
    if (!best || at < best->at) best = Deadline{at, what};
  };
  switch (v.phase) {
    case SessionPhase::Handshake:
      consider(v.phase_start, handshake_timeout(fe), Expiry::Handshake);
      break;
    case SessionPhase::Queued:
      consider(v.phase_start, be.queue, Expiry::Queue);
      break;
    case SessionPhase::Connecting:
      consider(v.phase_start, be.connect, Expiry::Connect);
      break;
    case SessionPhase::TurnAround:
      consider(v.phase_start, turn_around(be), Expiry::TurnAround);
      break;
    case SessionPhase::Relaying: {
      // A side held by backpressure moves data as fast as its peer takes
      // it; its inactivity clock does not run (HAProxy sets the read
      // timeout to eternity while the channel is full) and the peer's does.
      // Both held means neither takes anything: both clocks run, and each
      // side's clock is reset by every byte written to it.
      const bool both_held = v.client.held && v.server.held;
      if ((!v.client.held || both_held) && !v.client.done)
        consider(v.client.last_activity, client_timeout(fe, be, v.half_closed), Expiry::Client);
      if ((!v.server.held || both_held) && !v.server.done)
        consider(v.server.last_activity, server_timeout(be, v.half_closed), Expiry::Server);
      break;
    }
  }
  return best;
}

}  // namespace mqlb::lb
