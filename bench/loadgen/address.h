#pragma once
// Loopback-only address parsing for the load generator: every address it
// connects to or binds is checked here, so a typo can never send traffic off
// the machine. Pure (inet_pton only). Any thread.

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mqlb::bench {

struct Endpoint {
  sockaddr_storage addr{};
  std::string text;  // as given, for reports

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

// "127.0.0.1", "::1" or "localhost" (→ 127.0.0.1) and a port. Anything that
// is not in 127.0.0.0/8 or ::1 is an error.
std::variant<Endpoint, std::string> parse_endpoint(std::string_view host, int port);

// "127.0.0.1:1883" or "[::1]:1883".
std::variant<Endpoint, std::string> parse_host_port(std::string_view text);

// "127.0.0.2-127.0.0.65": every address in the inclusive range, each in
// 127.0.0.0/8, at most 65536 of them.
std::variant<std::vector<sockaddr_in>, std::string> parse_source_range(std::string_view text);

}  // namespace mqlb::bench
