#pragma once
// The access line of one session in HAProxy's tcplog format:
//   %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
// or in a frontend's log-format (conf/log_format.h).
// Pure: the caller fills a record; formatting does no I/O and, appending to
// a buffer with room, no allocation.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "conf/log_format.h"

namespace mqlb::lb {

// An address as inet_ntop(3) prints it, held inline so that filling a record
// allocates nothing. Longer text (never from inet_ntop) is cut.
class AddressText {
 public:
  static constexpr size_t kCapacity = 46;  // INET6_ADDRSTRLEN, the NUL included

  AddressText() = default;
  AddressText(std::string_view text) { assign(text); }
  AddressText& operator=(std::string_view text) {
    assign(text);
    return *this;
  }
  AddressText& operator=(const char* text) { return *this = std::string_view(text); }

  std::string_view view() const { return {text_, size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  void assign(std::string_view text);

  char text_[kCapacity - 1] = {};
  unsigned char size_ = 0;
};

struct AccessRecord {
  AddressText client_addr;  // already printed, "127.0.0.1" or "::1"
  uint16_t client_port = 0;
  int64_t accept_unix_ms = 0;                  // wall clock at accept
  std::string_view frontend, backend, server;  // server empty = <NOSRV>
  int64_t queue_ms = -1;                       // %Tw, -1 when it never left the queue
  int64_t connect_ms = -1;                     // %Tc, -1 when never connected
  int64_t handshake_ms = -1;                   // %Th, the TLS handshake; not in tcplog
  int64_t total_ms = 0;                        // %Tt
  uint64_t bytes_to_client = 0;                // %B
  char termination[2] = {'-', '-'};
  uint32_t actconn = 0, feconn = 0, beconn = 0, srvconn = 0;
  uint32_t retries = 0;
  bool redispatched = false;  // %rc gets a '+' as in HAProxy
  uint32_t srv_queue = 0, backend_queue = 0;

  // Only in a log-format.
  std::string_view frontend_name;                  // %f; empty: `frontend` (which is %ft)
  AddressText frontend_addr;                       // %fi, the accepting address; empty: "-"
  uint16_t frontend_port = 0;                      // %fp
  AddressText server_addr;                         // %si; empty: "-" (no server chosen)
  uint16_t server_port = 0;                        // %sp
  uint64_t bytes_to_server = 0;                    // %U
  std::string_view ssl_version;                    // %sslv, "TLSv1.3"; empty on a plain bind
  std::string_view ssl_cipher;                     // %sslc
  uint64_t unique_id = 0;                          // %ID
  int pid = 0;                                     // %pid
  std::string_view mqtt_client_id, mqtt_username;  // %mqttcid, %mqttuser; empty: "-"
  int mqtt_version = 0;                            // %mqttver; 0: "-"
};

// Appends the line (no newline) to `out`. As HAProxy 2.6 does, an IPv6
// client is printed without brackets: "::1:40000".
void append_tcplog(const AccessRecord& r, std::string& out);
std::string format_tcplog(const AccessRecord& r);

// Appends the line in `format` (no newline); the tcplog line when it is
// empty. Strings that are empty print "-", or "" with the Q flag.
void append_access_line(const conf::LogFormat& format, const AccessRecord& r, std::string& out);
std::string format_access_line(const conf::LogFormat& format, const AccessRecord& r);

// "22/Nov/2026:14:26:36.448" in local time, HAProxy's %t.
std::string format_accept_date(int64_t unix_ms);

// Wall-clock time, ms since the Unix epoch.
int64_t unix_now_ms();

// Local broken-down time of a Unix time in ms, and the English month
// abbreviation logs use whatever the locale ("Jan".."Dec").
struct tm local_time(int64_t unix_ms);
const char* month_abbrev(int month);

}  // namespace mqlb::lb
