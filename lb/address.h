#pragma once
// An IPv4 or IPv6 socket address as the ACLs, the source hash and the log
// take it: its address bytes (4 or 16, network order) and its port. Pure.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace mqlb::lb {

struct IpPort {
  const uint8_t* bytes;  // into the sockaddr_storage it came from
  size_t size;           // 4 (IPv4) or 16 (IPv6)
  uint16_t port;         // host order
};

inline IpPort ip_port(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
    return {in6.sin6_addr.s6_addr, 16, ntohs(in6.sin6_port)};
  }
  const auto& in = reinterpret_cast<const sockaddr_in&>(a);
  return {reinterpret_cast<const uint8_t*>(&in.sin_addr), 4, ntohs(in.sin_port)};
}

}  // namespace mqlb::lb
