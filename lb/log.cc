#include "lb/log.h"

#include "lb/access_log.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

namespace mqlb::lb {
namespace {

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) return;  // a closed stdout must not stop the proxy
    s.remove_prefix(static_cast<size_t>(n));
  }
}

// The one thread that writes to stdout and stderr. Producers hold the mutex
// only to append a line (per session, never per byte).
class StreamWriter {
 public:
  static constexpr size_t kMaxLines = 16384;

  static StreamWriter& get() {
    static StreamWriter writer;
    return writer;
  }

  void push(int fd, std::string line) {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    if (queue_.size() >= kMaxLines) {
      ++dropped_;
      return;
    }
    queue_.push_back({fd, std::move(line)});
    ready_.notify_one();
  }

  // Bounded: a stdout nobody reads must not keep mqlb from exiting.
  void flush() {
    std::unique_lock lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    ready_.notify_one();
    bool drained = finished_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return finished_; });
    lock.unlock();
    if (drained)
      thread_.join();
    else
      thread_.detach();  // blocked in write(2); the process is about to exit
    lock.lock();
    thread_ = std::thread();
    stopping_ = finished_ = false;
  }

 private:
  ~StreamWriter() { flush(); }

  void run() {
    std::unique_lock lock(mutex_);
    uint64_t reported = 0;
    for (;;) {
      ready_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) {  // stopping, and everything is written
        finished_ = true;
        finished_cv_.notify_all();
        return;
      }
      std::deque<std::pair<int, std::string>> batch;
      batch.swap(queue_);
      uint64_t dropped = dropped_;
      lock.unlock();
      if (dropped != reported) {
        write_all(2, "[WARNING]  (" + std::to_string(getpid()) +
                         ") : " + std::to_string(dropped - reported) +
                         " log lines dropped: stdout/stderr is read too slowly\n");
        reported = dropped;
      }
      for (auto& [fd, line] : batch)
        write_all(fd, line);
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable finished_cv_;
  bool finished_ = false;
  std::deque<std::pair<int, std::string>> queue_;
  uint64_t dropped_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

std::string syslog_header(int facility, Level level, int64_t unix_ms, int pid) {
  tm t = local_time(unix_ms);
  char out[64];
  // RFC 3164 §4.1.2: the day is space-padded ("Nov  2").
  snprintf(out, sizeof out,
           "<%d>%s %2d %02d:%02d:%02d mqlb[%d]: ", facility * 8 + static_cast<int>(level),
           month_abbrev(t.tm_mon), t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, pid);
  return out;
}

std::unique_ptr<LogSink> LogSink::open(const conf::LogTarget& target, std::string& error) {
  std::unique_ptr<LogSink> sink(new LogSink(target));
  if (target.kind != conf::LogTarget::Kind::Syslog) return sink;
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &res);
  if (rc != 0) {
    error =
        "log target " + target.host + ":" + std::to_string(target.port) + ": " + gai_strerror(rc);
    return nullptr;
  }
  sink->fd_ = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sink->fd_ < 0 || connect(sink->fd_, res->ai_addr, res->ai_addrlen) != 0) {
    error =
        "log target " + target.host + ":" + std::to_string(target.port) + ": cannot open socket";
    freeaddrinfo(res);
    return nullptr;
  }
  freeaddrinfo(res);
  return sink;
}

LogSink::~LogSink() {
  if (fd_ >= 0) ::close(fd_);
}

void LogSink::write(std::string_view line, Level level) const {
  if (static_cast<int>(level) > target_.level && is_syslog()) return;
  switch (target_.kind) {
    case conf::LogTarget::Kind::Stdout:
      StreamWriter::get().push(1, std::string(line) + "\n");
      break;
    case conf::LogTarget::Kind::Stderr:
      StreamWriter::get().push(2, std::string(line) + "\n");
      break;
    case conf::LogTarget::Kind::Syslog: {
      std::string msg = syslog_header(target_.facility, level, unix_now_ms(), getpid());
      msg += line;
      // UDP: a full socket buffer drops the line rather than blocking a worker.
      (void)::send(fd_, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      break;
    }
  }
}

void log_event(Level level, std::string_view text, const LogSinks& sinks) {
  static constexpr const char* kTags[] = {"[EMERG]",   "[ALERT]",  "[CRIT]", "[ERR]",
                                          "[WARNING]", "[NOTICE]", "[INFO]", "[DEBUG]"};
  char prefix[48];
  snprintf(prefix, sizeof prefix, "%-10s (%d) : ", kTags[static_cast<int>(level)], getpid());
  StreamWriter::get().push(2, std::string(prefix) + std::string(text) + "\n");
  for (const auto& s : sinks)
    if (s->is_syslog()) s->write(text, level);
}

void flush_log_writer() {
  StreamWriter::get().flush();
}

}  // namespace mqlb::lb
