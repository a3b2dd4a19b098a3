#pragma once
// Log targets: stdout, stderr and RFC 3164 syslog over UDP. Access lines go
// to a frontend's targets; events (start, warnings, alerts) go to stderr and
// to the global targets. Thread: any. Lines gather in per-thread
// batches until flush_thread_logs(): stdout/stderr batches go to one writer
// thread with a bounded queue, so a slow reader of a pipe never blocks a
// worker (lines beyond the bound are dropped and counted); syslog datagrams
// leave with one non-blocking sendmmsg(2) per target.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace mqlb::lb {

struct AccessRecord;

enum class Level { Emerg, Alert, Crit, Err, Warning, Notice, Info, Debug };
// A syslog level number (health/'s kLog*) as a Level, which follows its order.
inline Level level_of(int syslog_level) {
  return static_cast<Level>(syslog_level);
}

class SyslogSocket;

// What a target writes before each line: HAProxy's `log ... format F`, with
// `log-tag` and `log-send-hostname`.
struct LogHeader {
  conf::LogTarget::Format format = conf::LogTarget::Format::Local;
  int facility = 16;  // local0
  std::string tag = "mqlb";
  std::string hostname;  // rfc3164 and rfc5424; empty: "localhost" and "-", as HAProxy
};

class LogSink {
 public:
  // Fails with a message when a syslog address does not resolve.
  // `tag` and `hostname` as the configuration gives them (conf::Global's
  // log_send_hostname: "" for this machine's).
  static std::unique_ptr<LogSink> open(const conf::LogTarget& target, std::string_view tag,
                                       const std::optional<std::string>& hostname,
                                       std::string& error);
  ~LogSink();
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // Adds `line` to this thread's batch for the target (see
  // flush_thread_logs() for when it leaves).
  // Lines above the target's level are dropped.
  void write(std::string_view line, Level level) const;
  bool takes(Level level) const { return static_cast<int>(level) <= target_.level; }
  bool is_syslog() const { return target_.kind == conf::LogTarget::Kind::Syslog; }
  bool is_stderr() const { return target_.kind == conf::LogTarget::Kind::Stderr; }

 private:
  explicit LogSink(conf::LogTarget t) : target_(std::move(t)) {}
  conf::LogTarget target_;
  LogHeader header_;
  // Syslog only. Shared with the batches that hold datagrams for it, so its
  // descriptor is not closed (and reused) before they are sent.
  std::shared_ptr<const SyslogSocket> socket_;
};

using LogSinks = std::vector<std::shared_ptr<LogSink>>;

// Whether any of `sinks` takes lines of `level` (worth formatting one).
bool wants_level(const LogSinks& sinks, Level level);

// The session's access line, formatted once (in `format`, the tcplog line
// when it is empty), to each of `sinks` at Info.
void log_access(const AccessRecord& r, const LogSinks& sinks,
                const conf::LogFormat& format = conf::LogFormat());

// Hands this thread's batches on: stdout/stderr to the writer thread (one
// lock each), syslog datagrams to the network (one sendmmsg(2) per target).
// From its first call on, the calling thread's lines wait for the next call
// (or a full batch: 16 KiB, 32 datagrams); a thread that never calls it
// hands each line on at once. Workers call it once per loop iteration,
// before the loop blocks; a thread's batches are also flushed when it
// exits. Cheap when there is nothing to flush.
void flush_thread_logs();

// The header `h` gives a line of `level` written at `unix_us` (microseconds)
// by process `pid`, in HAProxy 2.6's shapes (conf::LogTarget::Format):
//   local    "<134>Nov 22 14:26:37 mqlb[6781]: "
//   rfc3164  "<134>Nov 22 14:26:37 host mqlb[6781]: "
//   rfc5424  "<134>1 2026-11-22T14:26:37.100000+00:00 host mqlb 6781 - - "
//   priority "<134>", short "<6>", timed "<6>2026-11-22T14:26:37.100000+00:00 ",
//   iso "2026-11-22T14:26:37.100000+00:00 ", raw "".
// Dates in the local time zone. Pure.
void append_log_header(const LogHeader& h, Level level, int64_t unix_us, int pid, std::string& out);
// The "local" header with the tag "mqlb", at a time in milliseconds.
std::string syslog_header(int facility, Level level, int64_t unix_ms, int pid);

// Events: "[WARNING]  (6781) : text" on stderr, and the text to `sinks` but
// a stderr one (syslog, or stdout with its header). Flushes the calling thread's logs: events are
// never delayed.
void log_event(Level level, std::string_view text, const LogSinks& sinks = {});
// HAProxy words some events differently on stderr (ha_alert) than in syslog
// (send_log), at another level: "backend 'mqtt' has no server available!" is
// an ALERT there and "backend mqtt has no server available!" an EMERG here.
void log_event(Level stderr_level, std::string_view stderr_text, Level syslog_level,
               std::string_view syslog_text, const LogSinks& sinks);

// Flushes the calling thread's logs and what the writer thread still holds,
// and stops it; call before exit. Bounded (2 s): a stdout nobody reads does
// not keep mqlb from exiting. Writing again afterwards starts it anew,
// unless it had to be abandoned.
void flush_log_writer();

// The thread behind the stdout/stderr sinks (one per process; exposed for
// tests). It writes each run of queued batches for one descriptor with one
// writev(2). Thread: push and flush from any thread; the writer's own.
class StreamWriter {
 public:
  // About 16384 access lines.
  static constexpr size_t kDefaultMaxBytes = size_t{2} << 20;

  // At most `max_bytes` queued or being written; the warning about dropped
  // lines goes to `warning_fd`.
  explicit StreamWriter(size_t max_bytes = kDefaultMaxBytes, int warning_fd = 2);
  // flush() with a 2 s bound.
  ~StreamWriter();
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // Queues `batch` (whole lines, each ending in '\n') for `fd` and leaves it
  // empty, with a used buffer's capacity when one is spare. One lock, at
  // most one wake-up. What does not fit under the bound is dropped, whole
  // lines, and counted.
  void push(int fd, std::string& batch);

  // Writes what is queued, stops the thread and returns true, within
  // `bound`. Otherwise the thread is stuck in writev(2): it is detached,
  // keeps what it shares with this object alive on its own, and is never
  // touched again; lines pushed from then on are dropped. Returns false.
  bool flush(std::chrono::milliseconds bound);

  // Lines dropped so far.
  uint64_t dropped() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace mqlb::lb
