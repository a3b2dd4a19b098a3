// Pure (local time conversion aside).
#include "lb/access_log.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <limits>

namespace mqlb::lb {
namespace {

// Room for any 64-bit number, "-9223372036854775808" or "18446744073709551615".
constexpr size_t kNumberMax = 20;

// `p` must have kNumberMax characters of room.
template <typename T>
char* put_number(char* p, T value) {
  return std::to_chars(p, p + kNumberMax, value).ptr;
}

char* put_digits(char* p, int value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return p + width;
}

// "22/Nov/2026:14:26:36.448", kAcceptDateSize characters.
constexpr size_t kAcceptDateSize = 24;
char* put_accept_date(char* p, int64_t unix_ms) {
  tm t = local_time(unix_ms);
  int ms = static_cast<int>(unix_ms % 1000);
  if (ms < 0) ms += 1000;
  p = put_digits(p, t.tm_mday, 2);
  *p++ = '/';
  std::memcpy(p, month_abbrev(t.tm_mon), 3);
  p += 3;
  *p++ = '/';
  p = put_digits(p, t.tm_year + 1900, 4);
  *p++ = ':';
  p = put_digits(p, t.tm_hour, 2);
  *p++ = ':';
  p = put_digits(p, t.tm_min, 2);
  *p++ = ':';
  p = put_digits(p, t.tm_sec, 2);
  *p++ = '.';
  return put_digits(p, ms, 3);
}

// The longest of the two runs of fixed fields in a line: eleven numbers and
// their separators (the date and port run is shorter).
constexpr size_t kFixedPartsMax = 11 * (kNumberMax + 2) + 8;

}  // namespace

void AddressText::assign(std::string_view text) {
  size_ = static_cast<unsigned char>(std::min(text.size(), sizeof text_));
  // An empty view may have no data at all, which memcpy must not be given.
  if (size_ > 0) std::memcpy(text_, text.data(), size_);
}

int64_t unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct tm local_time(int64_t unix_ms) {
  // localtime_r takes glibc's time zone lock: convert once per second and
  // per thread, not once per access line.
  thread_local time_t cached_secs = std::numeric_limits<time_t>::min();  // none yet
  thread_local tm cached{};
  time_t secs = static_cast<time_t>(unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0));
  if (secs != cached_secs) {
    localtime_r(&secs, &cached);
    cached_secs = secs;
  }
  return cached;
}

const char* month_abbrev(int month) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return kMonths[month % 12];
}

std::string format_accept_date(int64_t unix_ms) {
  char out[kAcceptDateSize];
  return std::string(out, put_accept_date(out, unix_ms));
}

void append_tcplog(const AccessRecord& r, std::string& out) {
  const std::string_view server = r.server.empty() ? std::string_view("<NOSRV>") : r.server;
  out.reserve(out.size() + r.client_addr.size() + r.frontend.size() + r.backend.size() +
              server.size() + kFixedPartsMax);
  char buf[kFixedPartsMax];

  // %ci:%cp [%t]. An IPv6 %ci has no brackets: haproxy 2.6.12 logs a
  // client of a `bind [::1]:PORT` as "::1:40000".
  out += r.client_addr.view();
  char* p = buf;
  *p++ = ':';
  p = put_number(p, r.client_port);
  *p++ = ' ';
  *p++ = '[';
  p = put_accept_date(p, r.accept_unix_ms);
  *p++ = ']';
  *p++ = ' ';
  out.append(buf, p);

  // %ft %b/%s
  out += r.frontend;
  out += ' ';
  out += r.backend;
  out += '/';
  out += server;

  // %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
  p = buf;
  *p++ = ' ';
  p = put_number(p, r.queue_ms);
  *p++ = '/';
  p = put_number(p, r.connect_ms);
  *p++ = '/';
  p = put_number(p, r.total_ms);
  *p++ = ' ';
  p = put_number(p, r.bytes_to_client);
  *p++ = ' ';
  *p++ = r.termination[0];
  *p++ = r.termination[1];
  *p++ = ' ';
  p = put_number(p, r.actconn);
  *p++ = '/';
  p = put_number(p, r.feconn);
  *p++ = '/';
  p = put_number(p, r.beconn);
  *p++ = '/';
  p = put_number(p, r.srvconn);
  *p++ = '/';
  if (r.redispatched) *p++ = '+';
  p = put_number(p, r.retries);
  *p++ = ' ';
  p = put_number(p, r.srv_queue);
  *p++ = '/';
  p = put_number(p, r.backend_queue);
  out.append(buf, p);
}

std::string format_tcplog(const AccessRecord& r) {
  std::string line;
  append_tcplog(r, line);
  return line;
}

namespace {

// A string variable: "-" when empty, in double quotes with the Q flag.
void put_text(std::string& out, std::string_view text, bool quote) {
  if (quote) out += '"';
  if (!text.empty())
    out += text;
  else if (!quote)
    out += '-';
  if (quote) out += '"';
}

template <typename T>
void put_value(std::string& out, T value) {
  char buf[kNumberMax];
  out.append(buf, put_number(buf, value));
}

// The most one variable of `r` takes (strings aside, which are added).
size_t worst_case(const conf::LogFormat& format, const AccessRecord& r) {
  size_t n = 0;
  for (const auto& node : format.nodes)
    n += node.var ? kNumberMax + 2 : node.text.size();
  return n + r.client_addr.size() + r.frontend.size() + r.frontend_name.size() +
         r.frontend_addr.size() + r.backend.size() + r.server.size() + r.server_addr.size() +
         r.ssl_version.size() + r.ssl_cipher.size() + r.mqtt_client_id.size() +
         r.mqtt_username.size() + kAcceptDateSize + 8;
}

void put_var(std::string& out, conf::LogVar var, bool quote, const AccessRecord& r) {
  using conf::LogVar;
  switch (var) {
    case LogVar::ClientIp:
      return put_text(out, r.client_addr.view(), quote);
    case LogVar::ClientPort:
      return put_value(out, r.client_port);
    case LogVar::AcceptDate: {
      char buf[kAcceptDateSize];
      out.append(buf, put_accept_date(buf, r.accept_unix_ms));
      return;
    }
    case LogVar::Frontend:
      return put_text(out, r.frontend_name.empty() ? r.frontend : r.frontend_name, quote);
    case LogVar::FrontendTransport:
      return put_text(out, r.frontend, quote);
    case LogVar::FrontendIp:
      return put_text(out, r.frontend_addr.view(), quote);
    case LogVar::FrontendPort:
      if (r.frontend_addr.empty()) return put_text(out, {}, quote);
      return put_value(out, r.frontend_port);
    case LogVar::Backend:
      return put_text(out, r.backend, quote);
    case LogVar::Server:
      return put_text(out, r.server.empty() ? std::string_view("<NOSRV>") : r.server, quote);
    case LogVar::ServerIp:
      return put_text(out, r.server_addr.view(), quote);
    case LogVar::ServerPort:
      if (r.server_addr.empty()) return put_text(out, {}, quote);
      return put_value(out, r.server_port);
    case LogVar::QueueTime:
      return put_value(out, r.queue_ms);
    case LogVar::ConnectTime:
      return put_value(out, r.connect_ms);
    case LogVar::HandshakeTime:
      // HAProxy's %Th is 0 for a connection with no handshake to wait for.
      return put_value(out, r.handshake_ms < 0 ? int64_t{0} : r.handshake_ms);
    case LogVar::TotalTime:
      return put_value(out, r.total_ms);
    case LogVar::BytesRead:
      return put_value(out, r.bytes_to_client);
    case LogVar::BytesUploaded:
      return put_value(out, r.bytes_to_server);
    case LogVar::TerminationState:
      out.append(r.termination, 2);
      return;
    case LogVar::ActConn:
      return put_value(out, r.actconn);
    case LogVar::FeConn:
      return put_value(out, r.feconn);
    case LogVar::BeConn:
      return put_value(out, r.beconn);
    case LogVar::SrvConn:
      return put_value(out, r.srvconn);
    case LogVar::Retries:
      if (r.redispatched) out += '+';
      return put_value(out, r.retries);
    case LogVar::SrvQueue:
      return put_value(out, r.srv_queue);
    case LogVar::BackendQueue:
      return put_value(out, r.backend_queue);
    case LogVar::UniqueId:
      if (quote) out += '"';
      put_value(out, r.unique_id);
      if (quote) out += '"';
      return;
    case LogVar::Pid:
      return put_value(out, r.pid);
    case LogVar::SslVersion:
      return put_text(out, r.ssl_version, quote);
    case LogVar::SslCipher:
      return put_text(out, r.ssl_cipher, quote);
    case LogVar::MqttClientId:
      return put_text(out, r.mqtt_client_id, quote);
    case LogVar::MqttUsername:
      return put_text(out, r.mqtt_username, quote);
    case LogVar::MqttVersion:
      if (r.mqtt_version == 0) return put_text(out, {}, quote);
      return put_value(out, r.mqtt_version);
  }
}

}  // namespace

void append_access_line(const conf::LogFormat& format, const AccessRecord& r, std::string& out) {
  if (format.empty()) return append_tcplog(r, out);
  out.reserve(out.size() + worst_case(format, r));
  for (const auto& node : format.nodes) {
    if (node.var)
      put_var(out, *node.var, node.quote, r);
    else
      out += node.text;
  }
}

std::string format_access_line(const conf::LogFormat& format, const AccessRecord& r) {
  std::string line;
  append_access_line(format, r, line);
  return line;
}

}  // namespace mqlb::lb
