// Pure: inet_pton only, no sockets are opened here.
#include "address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace mqlb::bench {
namespace {

bool is_loopback_v4(const in_addr& a) {
  return (ntohl(a.s_addr) >> 24) == 127;
}

}  // namespace

std::variant<Endpoint, std::string> parse_endpoint(std::string_view host, int port) {
  if (port < 1 || port > 65535) return "port must be 1..65535, got " + std::to_string(port);
  std::string h(host == "localhost" ? "127.0.0.1" : host);
  Endpoint e;
  e.text = h.find(':') == std::string::npos ? h + ":" + std::to_string(port)
                                            : "[" + h + "]:" + std::to_string(port);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    if (!is_loopback_v4(v4->sin_addr)) return "'" + h + "' is not a loopback address (127.0.0.0/8)";
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    return e;
  }
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) return "'" + h + "' is not a loopback address (::1)";
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    return e;
  }
  return "'" + h + "' is not an IP address; use 127.x.y.z, ::1 or localhost";
}

std::variant<Endpoint, std::string> parse_host_port(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    size_t close = text.find("]:");
    if (close == std::string_view::npos)
      return "expected [ADDR]:PORT, got '" + std::string(text) + "'";
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return "expected ADDR:PORT, got '" + std::string(text) + "'";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || port.empty()) {
    return "bad port in '" + std::string(text) + "'";
  }
  return parse_endpoint(host, p);
}

std::variant<std::vector<sockaddr_in>, std::string> parse_source_range(std::string_view text) {
  size_t dash = text.find('-');
  std::string first(text.substr(0, dash));
  std::string last(dash == std::string_view::npos ? text : text.substr(dash + 1));
  in_addr a{};
  in_addr b{};
  if (inet_pton(AF_INET, first.c_str(), &a) != 1 || inet_pton(AF_INET, last.c_str(), &b) != 1) {
    return "expected FIRST-LAST IPv4 addresses, e.g. 127.0.0.2-127.0.0.65, got '" +
           std::string(text) + "'";
  }
  if (!is_loopback_v4(a) || !is_loopback_v4(b)) return "source addresses must be in 127.0.0.0/8";
  uint32_t lo = ntohl(a.s_addr);
  uint32_t hi = ntohl(b.s_addr);
  if (hi < lo) return "the range '" + std::string(text) + "' is empty (last < first)";
  if (hi - lo >= 65536) return "the range '" + std::string(text) + "' is too large";
  std::vector<sockaddr_in> out;
  for (uint32_t v = lo; v <= hi; ++v) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(v);
    out.push_back(s);
  }
  return out;
}

}  // namespace mqlb::bench
