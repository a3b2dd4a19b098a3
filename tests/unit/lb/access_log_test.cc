// append_tcplog / format_tcplog: HAProxy's `option tcplog` line, byte for byte.
#include "lb/access_log.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>

namespace mqlb::lb {
namespace {

// 2026-11-22 14:26:36.448 UTC.
constexpr int64_t kAccept = 1'795'357'596'448;

void use_timezone(const char* tz) {
  setenv("TZ", tz, 1);
  tzset();
}

AccessRecord served_session() {
  AccessRecord r;
  r.client_addr = "127.0.0.1";
  r.client_port = 51234;
  r.accept_unix_ms = kAccept;
  r.frontend = "mqtt";
  r.backend = "mqtt";
  r.server = "b1";
  r.queue_ms = 0;
  r.connect_ms = 1;
  r.total_ms = 5012;
  r.bytes_to_client = 342;
  r.actconn = 3;
  r.feconn = 2;
  r.beconn = 1;
  r.srvconn = 1;
  return r;
}

TEST_CASE("tcplog line of a served session matches HAProxy's format", "[access_log]") {
  use_timezone("UTC");
  CHECK(format_tcplog(served_session()) ==
        "127.0.0.1:51234 [22/Nov/2026:14:26:36.448] mqtt mqtt/b1 0/1/5012 342 -- 3/2/1/1/0 0/0");
}

TEST_CASE("tcplog line without a server shows NOSRV and -1 timers", "[access_log]") {
  use_timezone("UTC");
  AccessRecord r = served_session();
  r.server = {};
  r.queue_ms = -1;
  r.connect_ms = -1;
  r.total_ms = 5001;
  r.bytes_to_client = 0;
  r.termination[0] = 's';
  r.termination[1] = 'Q';
  r.srvconn = 0;
  r.backend_queue = 4;
  CHECK(format_tcplog(r) ==
        "127.0.0.1:51234 [22/Nov/2026:14:26:36.448] mqtt mqtt/<NOSRV> -1/-1/5001 0 sQ 3/2/1/0/0 "
        "0/4");
}

TEST_CASE("tcplog line prints an IPv6 client without brackets as HAProxy 2.6 does",
          "[access_log]") {
  use_timezone("UTC");
  AccessRecord r = served_session();
  r.client_addr = "2001:db8::7";
  r.client_port = 40000;
  CHECK(format_tcplog(r) ==
        "2001:db8::7:40000 [22/Nov/2026:14:26:36.448] mqtt mqtt/b1 0/1/5012 342 -- 3/2/1/1/0 "
        "0/0");
  r.client_addr = "::1";
  CHECK(format_tcplog(r).rfind("::1:40000 [22/Nov/2026:14:26:36.448] ", 0) == 0);
  r.client_addr = "::ffff:127.0.0.1";  // a v4 client of a dual-stack bind
  CHECK(format_tcplog(r).rfind("::ffff:127.0.0.1:40000 [", 0) == 0);
}

TEST_CASE("tcplog line marks a redispatched session with a plus before the retries",
          "[access_log]") {
  use_timezone("UTC");
  AccessRecord r = served_session();
  r.retries = 2;
  CHECK(format_tcplog(r) ==
        "127.0.0.1:51234 [22/Nov/2026:14:26:36.448] mqtt mqtt/b1 0/1/5012 342 -- 3/2/1/1/2 0/0");
  r.redispatched = true;
  CHECK(format_tcplog(r) ==
        "127.0.0.1:51234 [22/Nov/2026:14:26:36.448] mqtt mqtt/b1 0/1/5012 342 -- 3/2/1/1/+2 0/0");
}

TEST_CASE("tcplog line carries termination state and queue lengths", "[access_log]") {
  use_timezone("UTC");
  AccessRecord r = served_session();
  r.termination[0] = 'S';
  r.termination[1] = 'D';
  r.srv_queue = 7;
  r.backend_queue = 9;
  r.queue_ms = 120;
  r.connect_ms = -1;
  CHECK(format_tcplog(r) ==
        "127.0.0.1:51234 [22/Nov/2026:14:26:36.448] mqtt mqtt/b1 120/-1/5012 342 SD 3/2/1/1/0 "
        "7/9");
}

TEST_CASE("tcplog line appends to what the buffer holds and adds no newline", "[access_log]") {
  use_timezone("UTC");
  std::string out = "earlier line\n";
  append_tcplog(served_session(), out);
  CHECK(out ==
        "earlier line\n"
        "127.0.0.1:51234 [22/Nov/2026:14:26:36.448] mqtt mqtt/b1 0/1/5012 342 -- 3/2/1/1/0 0/0");
  const std::string line = format_tcplog(served_session());
  append_tcplog(served_session(), out);
  CHECK(out == "earlier line\n" + line + line);
}

TEST_CASE("tcplog line fills a buffer with room without moving it", "[access_log]") {
  use_timezone("UTC");
  std::string out;
  out.reserve(4096);
  const char* data = out.data();
  for (int i = 0; i < 10; ++i)
    append_tcplog(served_session(), out);
  CHECK(out.data() == data);
  CHECK(out.size() == 10 * format_tcplog(served_session()).size());
}

TEST_CASE("tcplog line prints the widest numbers in full", "[access_log]") {
  use_timezone("UTC");
  AccessRecord r = served_session();
  r.client_addr = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";  // longest inet_ntop text
  r.client_port = 65535;
  r.queue_ms = INT64_MIN;
  r.connect_ms = INT64_MAX;
  r.total_ms = INT64_MAX;
  r.bytes_to_client = UINT64_MAX;
  r.actconn = r.feconn = r.beconn = r.srvconn = r.retries = UINT32_MAX;
  r.srv_queue = r.backend_queue = UINT32_MAX;
  r.redispatched = true;
  CHECK(format_tcplog(r) ==
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:65535 [22/Nov/2026:14:26:36.448] mqtt "
        "mqtt/b1 -9223372036854775808/9223372036854775807/9223372036854775807 "
        "18446744073709551615 -- 4294967295/4294967295/4294967295/4294967295/+4294967295 "
        "4294967295/4294967295");
}

TEST_CASE("client address takes C strings std::string and string views", "[access_log]") {
  AccessRecord r;
  CHECK(r.client_addr.empty());
  const char text[46] = "10.0.0.5";
  r.client_addr = text;
  CHECK(r.client_addr.view() == "10.0.0.5");
  r.client_addr = std::string("2001:db8::1");
  CHECK(r.client_addr.view() == "2001:db8::1");
  r.client_addr = std::string_view("::1");
  CHECK(r.client_addr.view() == "::1");
  CHECK(r.client_addr.size() == 3);
  r.client_addr = std::string(60, 'x');  // longer than any address: cut, never overrun
  CHECK(r.client_addr.size() == AddressText::kCapacity - 1);
}

TEST_CASE("accept date is zero padded to the millisecond", "[access_log]") {
  use_timezone("UTC");
  // 2026-11-02 09:05:07.005 UTC.
  CHECK(format_accept_date(1'793'610'307'005) == "02/Nov/2026:09:05:07.005");
  CHECK(format_accept_date(0) == "01/Jan/1970:00:00:00.000");
}

TEST_CASE("accept date before the epoch rounds down to the previous second", "[access_log]") {
  use_timezone("UTC");
  CHECK(format_accept_date(-1) == "31/Dec/1969:23:59:59.999");
}

TEST_CASE("accept date is in local time", "[access_log]") {
  use_timezone("CET-1");  // POSIX: one hour east of UTC
  CHECK(format_accept_date(kAccept) == "22/Nov/2026:15:26:36.448");
  use_timezone("UTC");
}

}  // namespace
}  // namespace mqlb::lb
