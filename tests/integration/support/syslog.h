// A syslog server on a free loopback UDP port, where a haproxy.cfg's
// `log 127.0.0.1:PORT local0` line sends mqlb's access lines, and what it
// received. Main thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/wait.h"

namespace mqlb::test {

// One RFC 3164 datagram: "<PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE".
struct SyslogLine {
  int priority = -1;    // facility * 8 + severity: local0 info is 134
  std::string tag;      // "mqlb[4242]"
  std::string message;  // without a trailing newline
  std::string raw;
};

// The datagram with what may change from one run to the next masked:
// "<134>DATE mqlb[PID]: MSG\n" (the newline only if it had one), to compare
// the header shapes of two senders. The raw datagram when it is not RFC 3164.
std::string header_shape(const SyslogLine& line);

class SyslogReceiver {
 public:
  SyslogReceiver() = default;
  uint16_t port() const { return receiver_.port(); }
  // "127.0.0.1:PORT", as a `log` line names it.
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

  // Reads every datagram that has arrived. A test that sends many sessions
  // calls it as it goes: a datagram the socket has no room for is lost.
  const std::vector<SyslogLine>& lines();
  // The access lines among them (tcplog format, see mqlb.h).
  std::vector<AccessLine> access_lines();
  // Waits until at least `count` access lines arrived; throws after
  // `timeout` showing what there is.
  std::vector<AccessLine> wait_for_access_lines(size_t count, Millis timeout = Millis(10000));
  // The first line received so far or within `timeout` for which `pred`
  // holds; nullopt when none came.
  std::optional<SyslogLine> wait_for_line(const std::function<bool(const SyslogLine&)>& pred,
                                          Millis timeout = Millis(10000));
  // The last lines received, one per line, for a failure message.
  std::string tail(size_t count = 20);

 private:
  UdpReceiver receiver_;
  std::vector<SyslogLine> lines_;
};

}  // namespace mqlb::test
