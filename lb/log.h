#pragma once
// Log targets: stdout, stderr and RFC 3164 syslog over UDP. Access lines go
// to a frontend's targets; events (start, warnings, alerts) go to stderr and
// to the global syslog targets. Thread: any. Syslog lines are one
// non-blocking sendto(2) each; stdout/stderr lines go through one writer
// thread with a bounded queue, so a slow reader of a pipe never blocks a
// worker (lines beyond the bound are dropped and counted).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace mqlb::lb {

enum class Level { Emerg, Alert, Crit, Err, Warning, Notice, Info, Debug };

class LogSink {
 public:
  // Fails with a message when a syslog address does not resolve.
  static std::unique_ptr<LogSink> open(const conf::LogTarget& target, std::string& error);
  ~LogSink();
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  void write(std::string_view line, Level level) const;
  bool is_syslog() const { return target_.kind == conf::LogTarget::Kind::Syslog; }

 private:
  explicit LogSink(conf::LogTarget t) : target_(std::move(t)) {}
  conf::LogTarget target_;
  int fd_ = -1;  // connected UDP socket, syslog only
};

using LogSinks = std::vector<std::shared_ptr<LogSink>>;

// "<134>Nov 22 14:26:37 mqlb[6781]: " — RFC 3164 header. Pure.
std::string syslog_header(int facility, Level level, int64_t unix_ms, int pid);

// Events: "[WARNING]  (6781) : text" on stderr, and the text to `sinks` that are syslog.
void log_event(Level level, std::string_view text, const LogSinks& syslog_sinks = {});

// Flushes what the writer thread still holds and stops it; call before exit.
// Writing again afterwards starts it anew.
void flush_log_writer();

}  // namespace mqlb::lb
