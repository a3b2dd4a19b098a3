// Pure (local time conversion aside).
#include "lb/access_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <limits>

namespace mqlb::lb {

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
  tm t = local_time(unix_ms);
  char out[40];
  int ms = static_cast<int>(unix_ms % 1000);
  if (ms < 0) ms += 1000;
  snprintf(out, sizeof out, "%02d/%s/%04d:%02d:%02d:%02d.%03d", t.tm_mday, month_abbrev(t.tm_mon),
           t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec, ms);
  return out;
}

std::string format_tcplog(const AccessRecord& r) {
  std::string line;
  line.reserve(160);
  bool v6 = r.client_addr.find(':') != std::string::npos;
  line += v6 ? "[" + r.client_addr + "]" : r.client_addr;
  line += ":" + std::to_string(r.client_port) + " [" + format_accept_date(r.accept_unix_ms) + "] ";
  line += r.frontend;
  line += ' ';
  line += r.backend;
  line += '/';
  line += r.server.empty() ? std::string_view("<NOSRV>") : r.server;
  line += ' ' + std::to_string(r.queue_ms) + '/' + std::to_string(r.connect_ms) + '/' +
          std::to_string(r.total_ms) + ' ' + std::to_string(r.bytes_to_client) + ' ';
  line += r.termination[0];
  line += r.termination[1];
  line += ' ' + std::to_string(r.actconn) + '/' + std::to_string(r.feconn) + '/' +
          std::to_string(r.beconn) + '/' + std::to_string(r.srvconn) + '/' +
          (r.redispatched ? "+" : "") + std::to_string(r.retries) + ' ' +
          std::to_string(r.srv_queue) + '/' + std::to_string(r.backend_queue);
  return line;
}

}  // namespace mqlb::lb
