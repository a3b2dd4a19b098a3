// A syslog server on a free loopback UDP port, where a haproxy.cfg's
// `log 127.0.0.1:PORT local0` line sends mqlb's access lines, and what it
// received. Main thread.
#pragma once

#include <cstdint>
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

 private:
  UdpReceiver receiver_;
  std::vector<SyslogLine> lines_;
};

}  // namespace mqlb::test
