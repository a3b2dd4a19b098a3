// The two states most integration tests put a client in before the part
// they are about: a session that relays (its bytes came back from an echo
// server), and one that waits (its bytes got no answer). Main thread.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "support/mqlb.h"
#include "support/net.h"

namespace mqlb::test {

// Connects, sends `text` and requires it echoed back.
inline Socket echoed_session(uint16_t port, std::string_view text) {
  Socket client = Socket::connect(port);
  client.send_all(text);
  REQUIRE(client.receive_exactly(text.size()) == text);
  return client;
}

// Connects, sends `text` and checks that no answer comes (queued).
inline Socket waiting_session(uint16_t port, std::string_view text) {
  Socket client = Socket::connect(port);
  client.send_all(text);
  CHECK_FALSE(client.readable_within(Millis(300)));
  return client;
}

// Which server each of `n` sessions through `lb` (one after the other, each
// with one echoed byte) lands on, from mqlb's access lines.
inline std::map<std::string, int> echoed_sessions_per_server(const Mqlb& lb, int n) {
  std::map<std::string, int> servers;
  for (int i = 0; i < n; ++i) {
    Socket s = echoed_session(lb.port(), "x");
    const uint16_t port = s.local_port();
    s.close();
    ++servers[lb.access_line_for(port).server];
  }
  return servers;
}

}  // namespace mqlb::test
