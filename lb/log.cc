#include "lb/log.h"

#include "lb/access_log.h"

#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace mqlb::lb {
namespace {

// A stdout/stderr batch goes to the writer once it holds this much.
constexpr size_t kStreamBatchBytes = 16 * 1024;
// Syslog datagrams leave in one sendmmsg(2) once a target has this many.
constexpr size_t kSyslogBatchDatagrams = 32;
// Used batch buffers the writer keeps for producers to fill again.
constexpr size_t kSpareBuffers = 8;
constexpr auto kExitBound = std::chrono::seconds(2);

// getpid(2) once: every stderr and syslog line carries it.
int cached_pid() {
  static const int pid = static_cast<int>(::getpid());
  return pid;
}

int64_t unix_now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

void append_number(std::string& out, long long value) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
}

// Writes all of iov[0, count) to `fd`, resuming after partial writes; false
// when the descriptor fails (a closed stdout must not stop the proxy).
bool write_all(int fd, iovec* iov, int count) {
  while (count > 0) {
    ssize_t n = ::writev(fd, iov, count);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Someone made the descriptor non-blocking; this thread may wait.
      pollfd p{fd, POLLOUT, 0};
      (void)::poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) return false;
    auto left = static_cast<size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

void write_all(int fd, std::string_view text) {
  iovec iov{const_cast<char*>(text.data()), text.size()};
  (void)write_all(fd, &iov, 1);
}

size_t count_lines(std::string_view text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

StreamWriter& stream_writer() {
  static StreamWriter writer;
  return writer;
}

}  // namespace

// The descriptor of a syslog target: a connected, non-blocking UDP socket.
class SyslogSocket {
 public:
  explicit SyslogSocket(int fd) : fd_(fd) {}
  ~SyslogSocket() { ::close(fd_); }
  SyslogSocket(const SyslogSocket&) = delete;
  SyslogSocket& operator=(const SyslogSocket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// ---- the writer thread ------------------------------------------------------

// Shared by the StreamWriter and its thread, so that a thread detached in
// flush() keeps the mutex and the queue it is using alive by itself.
struct StreamWriter::State {
  struct Batch {
    int fd;
    std::string text;
  };

  std::mutex flush_mutex;  // one flush at a time; the thread never takes it
  std::mutex mutex;
  std::condition_variable ready;     // the queue has a batch, or stopping
  std::condition_variable finished;  // the thread is done
  std::deque<Batch> queue;
  std::vector<std::string> spare;  // written batches, cleared, capacity kept
  size_t max_bytes;
  size_t held_bytes = 0;  // queued or being written
  uint64_t dropped = 0;
  uint64_t reported = 0;  // of `dropped`, told on `warning_fd`
  int warning_fd;
  bool stopping = false;
  bool done = false;
  bool abandoned = false;  // detached in flush(): drop everything from now on
  std::thread thread;

  State(size_t max, int warn_fd) : max_bytes(max), warning_fd(warn_fd) {}

  // Under `mutex`. False when no thread could be started.
  bool ensure_thread(const std::shared_ptr<State>& self) {
    if (thread.joinable()) return true;
    try {
      thread = std::thread([self] {
        pthread_setname_np(pthread_self(), "mqlb-log");
        self->run();
      });
    } catch (const std::system_error&) {
      return false;
    }
    return true;
  }

  void run() {
    std::deque<Batch> work;
    std::vector<iovec> iov;
    std::unique_lock lock(mutex);
    for (;;) {
      ready.wait(lock, [&] { return !queue.empty() || stopping; });
      work.swap(queue);
      const uint64_t to_tell = dropped - reported;
      reported = dropped;
      if (work.empty() && to_tell == 0) {  // stopping, all written and told
        done = true;
        finished.notify_all();
        return;
      }
      lock.unlock();

      if (to_tell != 0) {
        std::string warning = "[WARNING]  (";
        append_number(warning, cached_pid());
        warning += ") : ";
        append_number(warning, static_cast<long long>(to_tell));
        warning += " log lines dropped: stdout/stderr is read too slowly\n";
        write_all(warning_fd, warning);
      }
      // One writev(2) for each run of batches to the same descriptor.
      size_t written = 0;
      for (size_t i = 0; i < work.size();) {
        iov.clear();
        const int fd = work[i].fd;
        for (; i < work.size() && work[i].fd == fd && iov.size() < size_t{IOV_MAX}; ++i) {
          iov.push_back({work[i].text.data(), work[i].text.size()});
          written += work[i].text.size();
        }
        (void)write_all(fd, iov.data(), static_cast<int>(iov.size()));
      }

      lock.lock();
      held_bytes -= written;
      for (auto& batch : work) {
        if (spare.size() >= kSpareBuffers) break;
        batch.text.clear();
        spare.push_back(std::move(batch.text));
      }
      work.clear();
    }
  }
};

StreamWriter::StreamWriter(size_t max_bytes, int warning_fd)
    : state_(std::make_shared<State>(max_bytes, warning_fd)) {}

StreamWriter::~StreamWriter() {
  flush(kExitBound);
}

void StreamWriter::push(int fd, std::string& batch) {
  if (batch.empty()) return;
  State& s = *state_;
  bool wake = false;
  {
    std::lock_guard lock(s.mutex);
    if (s.abandoned || !s.ensure_thread(state_)) {
      s.dropped += count_lines(batch);
      batch.clear();
      return;
    }
    const size_t room = s.max_bytes > s.held_bytes ? s.max_bytes - s.held_bytes : 0;
    if (batch.size() > room) {
      // Keep the whole lines that fit, drop and count the others.
      size_t keep = room == 0 ? std::string::npos : batch.rfind('\n', room - 1);
      keep = keep == std::string::npos ? 0 : keep + 1;
      s.dropped += count_lines(std::string_view(batch).substr(keep));
      batch.resize(keep);
      if (batch.empty()) return;
    }
    // The thread sleeps only on an empty queue: only then is a wake-up due.
    wake = s.queue.empty();
    s.held_bytes += batch.size();
    s.queue.push_back({fd, std::move(batch)});
    if (!s.spare.empty()) {
      batch = std::move(s.spare.back());
      s.spare.pop_back();
    } else {
      batch = std::string();
    }
  }
  if (wake) s.ready.notify_one();
}

bool StreamWriter::flush(std::chrono::milliseconds bound) {
  State& s = *state_;
  std::lock_guard one_at_a_time(s.flush_mutex);
  std::unique_lock lock(s.mutex);
  if (s.abandoned) return false;
  if (!s.thread.joinable()) return true;
  s.stopping = true;
  s.ready.notify_one();
  if (!s.finished.wait_for(lock, bound, [&] { return s.done; })) {
    // Stuck in writev(2) on a reader that does not read. The thread holds
    // its own reference to the state; nothing here resets what it uses
    // (it must still see `stopping`), and the process is about to exit.
    s.abandoned = true;
    s.thread.detach();
    return false;
  }
  std::thread stopped = std::move(s.thread);
  s.stopping = s.done = false;
  // A batch pushed between the thread's last look and now gets a new one.
  if (!s.queue.empty() && !s.ensure_thread(state_)) {
    for (const auto& batch : s.queue)
      s.dropped += count_lines(batch.text);
    s.queue.clear();
  }
  lock.unlock();
  stopped.join();
  return true;
}

uint64_t StreamWriter::dropped() const {
  std::lock_guard lock(state_->mutex);
  return state_->dropped;
}

// ---- per-thread batches -----------------------------------------------------

namespace {

// Ends the line that starts at `start` in `out` as HAProxy 2.6 does: header
// and text cut to the target's `len` (a datagram's LF comes after it, a
// stream's counts in it), then a LF.
void end_line(std::string& out, size_t start, uint32_t len, bool datagram) {
  const size_t keep = datagram || len == 0 ? len : len - 1;
  if (keep != 0 && out.size() - start > keep) out.resize(start + keep);
  out += '\n';
}

void send_datagram(const SyslogSocket& socket, std::string_view datagram) {
  // UDP: a full socket buffer drops the line rather than blocking a worker.
  (void)::send(socket.fd(), datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

// The lines one thread wrote since its last flush.
class ThreadLogs {
 public:
  ThreadLogs() = default;
  ~ThreadLogs();
  ThreadLogs(const ThreadLogs&) = delete;
  ThreadLogs& operator=(const ThreadLogs&) = delete;

  // `header`: null for none (raw).
  // `len`: HAProxy's maximum line length (0: none).
  void add_line(int fd, std::string_view line, const LogHeader* header = nullptr,
                Level level = Level::Info, uint32_t len = 0) {
    std::string& batch = stream_[fd == 1 ? 0 : 1];
    const size_t start = batch.size();
    if (header) append_log_header(*header, level, unix_now_us(), cached_pid(), batch);
    batch += line;
    end_line(batch, start, len, false);
    pending_ = true;
    if (!batching_ || batch.size() >= kStreamBatchBytes) stream_writer().push(fd, batch);
  }

  void add_datagram(const std::shared_ptr<const SyslogSocket>& socket, const LogHeader& header,
                    Level level, std::string_view line, uint32_t len) {
    Datagrams& d = datagrams_for(socket);
    const size_t start = d.bytes.size();
    append_log_header(header, level, unix_now_us(), cached_pid(), d.bytes);
    d.bytes += line;
    end_line(d.bytes, start, len, true);
    d.ends.push_back(d.bytes.size());
    pending_ = true;
    if (!batching_ || d.ends.size() >= kSyslogBatchDatagrams) send(d);
  }

  void flush() {
    if (!pending_) return;
    pending_ = false;
    for (int i = 0; i < 2; ++i)
      stream_writer().push(i + 1, stream_[i]);
    for (auto& d : datagrams_)
      if (d.socket) send(d);
  }

  // From a thread's first flush_thread_logs() on, its lines wait for the
  // next one; a thread that never calls it (no loop to call it from) hands
  // each line on at once.
  void start_batching() { batching_ = true; }

  // For formatting a line before it is handed to the sinks.
  std::string scratch;

 private:
  struct Datagrams {
    std::shared_ptr<const SyslogSocket> socket;  // null while empty
    std::string bytes;
    std::vector<size_t> ends;  // where each datagram ends in `bytes`
  };

  Datagrams& datagrams_for(const std::shared_ptr<const SyslogSocket>& socket) {
    Datagrams* unused = nullptr;
    for (auto& d : datagrams_) {
      if (d.socket == socket) return d;
      if (!d.socket && !unused) unused = &d;
    }
    if (!unused) unused = &datagrams_.emplace_back();
    unused->socket = socket;
    return *unused;
  }

  // One sendmmsg(2) for the whole batch, unless the kernel takes only part.
  static void send(Datagrams& d) {
    mmsghdr msgs[kSyslogBatchDatagrams] = {};
    iovec iov[kSyslogBatchDatagrams];
    const unsigned count = static_cast<unsigned>(d.ends.size());
    size_t start = 0;
    for (unsigned i = 0; i < count; ++i) {
      iov[i] = {d.bytes.data() + start, d.ends[i] - start};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      start = d.ends[i];
    }
    for (unsigned sent = 0; sent < count;) {
      int n = ::sendmmsg(d.socket->fd(), msgs + sent, count - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<unsigned>(n);
      } else if (n == 0) {
        break;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        break;  // a full socket buffer drops the rest rather than block
      } else {
        ++sent;  // e.g. ECONNREFUSED left by an earlier datagram: skip this one
      }
    }
    d.bytes.clear();
    d.ends.clear();
    d.socket.reset();  // a closed sink's descriptor is not held past its last line
  }

  std::string stream_[2];  // stdout, stderr
  std::vector<Datagrams> datagrams_;
  bool pending_ = false;
  bool batching_ = false;
};

// Trivially destructible, so it can still be read while the thread's other
// thread_local objects are being destroyed.
thread_local bool t_logs_destroyed = false;

ThreadLogs::~ThreadLogs() {
  flush();
  t_logs_destroyed = true;
}

// This thread's batches; null once they were destroyed (the thread exits),
// when lines go out one by one.
ThreadLogs* thread_logs() {
  if (t_logs_destroyed) return nullptr;
  thread_local ThreadLogs logs;
  return &logs;
}

}  // namespace

// ---- sinks ------------------------------------------------------------------

namespace {

// "2026-11-22T14:26:37.100000+00:00 ": HAProxy's ISO date, local time with
// microseconds and the zone's offset.
char* put_iso_date(char* p, const tm& t, int64_t micros) {
  auto digits = [&p](long v, int n) {
    for (int i = n - 1; i >= 0; --i, v /= 10)
      p[i] = static_cast<char>('0' + v % 10);
    p += n;
  };
  digits(t.tm_year + 1900, 4);
  *p++ = '-';
  digits(t.tm_mon + 1, 2);
  *p++ = '-';
  digits(t.tm_mday, 2);
  *p++ = 'T';
  digits(t.tm_hour, 2);
  *p++ = ':';
  digits(t.tm_min, 2);
  *p++ = ':';
  digits(t.tm_sec, 2);
  *p++ = '.';
  digits(micros, 6);
  long offset = t.tm_gmtoff / 60;
  *p++ = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  digits(offset / 60, 2);
  *p++ = ':';
  digits(offset % 60, 2);
  *p++ = ' ';
  return p;
}

// "Nov 22 14:26:37 ", the day space-padded (RFC 3164 §4.1.2).
char* put_legacy_date(char* p, const tm& t) {
  auto two_digits = [&p](int v) {
    *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
  };
  std::memcpy(p, month_abbrev(t.tm_mon), 3);
  p += 3;
  *p++ = ' ';
  *p++ = t.tm_mday >= 10 ? static_cast<char>('0' + t.tm_mday / 10) : ' ';
  *p++ = static_cast<char>('0' + t.tm_mday % 10);
  *p++ = ' ';
  two_digits(t.tm_hour);
  *p++ = ':';
  two_digits(t.tm_min);
  *p++ = ':';
  two_digits(t.tm_sec);
  *p++ = ' ';
  return p;
}

}  // namespace

void append_log_header(const LogHeader& h, Level level, int64_t unix_us, int pid,
                       std::string& out) {
  using Format = conf::LogTarget::Format;
  if (h.format == Format::Raw) return;
  const int64_t unix_ms = unix_us / 1000 - (unix_us % 1000 < 0 ? 1 : 0);
  const tm t = local_time(unix_ms);
  char buf[96];
  char* const end = buf + sizeof buf;
  char* p = buf;
  const int severity = static_cast<int>(level);
  switch (h.format) {
    case Format::Local:
    case Format::Rfc3164:
    case Format::Rfc5424:
    case Format::Priority:
      *p++ = '<';
      p = std::to_chars(p, end, h.facility * 8 + severity).ptr;
      *p++ = '>';
      break;
    case Format::Short:
    case Format::Timed:
      *p++ = '<';
      p = std::to_chars(p, end, severity).ptr;
      *p++ = '>';
      break;
    case Format::Iso:
    case Format::Raw:
      break;
  }
  const int64_t micros = ((unix_us % 1'000'000) + 1'000'000) % 1'000'000;
  switch (h.format) {
    case Format::Local:
    case Format::Rfc3164:
      p = put_legacy_date(p, t);
      break;
    case Format::Rfc5424:
      *p++ = '1';
      *p++ = ' ';
      p = put_iso_date(p, t, micros);
      break;
    case Format::Timed:
    case Format::Iso:
      p = put_iso_date(p, t, micros);
      break;
    default:
      break;
  }
  out.append(buf, p);
  auto pid_text = [pid](char* q, char* e) { return std::to_chars(q, e, pid).ptr; };
  switch (h.format) {
    case Format::Rfc3164:
      out += h.hostname.empty() ? std::string_view("localhost") : std::string_view(h.hostname);
      out += ' ';
      [[fallthrough]];
    case Format::Local: {
      out += h.tag;
      char n[16];
      out += '[';
      out.append(n, pid_text(n, n + sizeof n));
      out += "]: ";
      break;
    }
    case Format::Rfc5424: {
      out += h.hostname.empty() ? std::string_view("-") : std::string_view(h.hostname);
      out += ' ';
      out += h.tag.empty() ? std::string_view("-") : std::string_view(h.tag);
      out += ' ';
      char n[16];
      out.append(n, pid_text(n, n + sizeof n));
      out += " - - ";  // no MSGID, no STRUCTURED-DATA
      break;
    }
    default:
      break;
  }
}

std::string syslog_header(int facility, Level level, int64_t unix_ms, int pid) {
  std::string out;
  append_log_header({conf::LogTarget::Format::Local, facility, "mqlb", ""}, level, unix_ms * 1000,
                    pid, out);
  return out;
}

std::unique_ptr<LogSink> LogSink::open(const conf::LogTarget& target, std::string_view tag,
                                       const std::optional<std::string>& hostname,
                                       std::string& error) {
  using Format = conf::LogTarget::Format;
  std::unique_ptr<LogSink> sink(new LogSink(target));
  LogHeader& h = sink->header_;
  h.format = target.format.value_or(hostname ? Format::Rfc3164 : Format::Local);
  h.facility = target.facility;
  h.tag = std::string(tag);
  if (hostname && !hostname->empty()) {
    h.hostname = *hostname;
  } else if (hostname) {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0) h.hostname = name;
  }
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
  int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) sink->socket_ = std::make_shared<const SyslogSocket>(fd);
  if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    error =
        "log target " + target.host + ":" + std::to_string(target.port) + ": cannot open socket";
    freeaddrinfo(res);
    return nullptr;
  }
  freeaddrinfo(res);
  return sink;
}

LogSink::~LogSink() = default;

bool wants_level(const LogSinks& sinks, Level level) {
  for (const auto& sink : sinks)
    if (sink->takes(level)) return true;
  return false;
}

void LogSink::write(std::string_view line, Level level) const {
  if (!takes(level)) return;
  ThreadLogs* logs = thread_logs();
  if (is_syslog()) {
    if (logs) {
      logs->add_datagram(socket_, header_, level, line, target_.len);
    } else {
      std::string msg;
      append_log_header(header_, level, unix_now_us(), cached_pid(), msg);
      msg += line;
      end_line(msg, 0, target_.len, true);
      send_datagram(*socket_, msg);
    }
    return;
  }
  const int fd = target_.kind == conf::LogTarget::Kind::Stdout ? 1 : 2;
  const bool raw = header_.format == conf::LogTarget::Format::Raw;
  if (logs) {
    logs->add_line(fd, line, raw ? nullptr : &header_, level, target_.len);
  } else {
    std::string one;
    one.reserve(line.size() + 1);
    if (!raw) append_log_header(header_, level, unix_now_us(), cached_pid(), one);
    one += line;
    end_line(one, 0, target_.len, false);
    stream_writer().push(fd, one);
  }
}

void log_access(const AccessRecord& r, const LogSinks& sinks, const conf::LogFormat& format) {
  if (sinks.empty()) return;
  ThreadLogs* logs = thread_logs();
  std::string own;
  std::string& line = logs ? logs->scratch : own;
  line.clear();
  append_access_line(format, r, line);
  for (const auto& sink : sinks)
    sink->write(line, Level::Info);
}

void flush_thread_logs() {
  if (ThreadLogs* logs = thread_logs()) {
    logs->start_batching();
    logs->flush();
  }
}

void log_event(Level level, std::string_view text, const LogSinks& sinks) {
  log_event(level, text, level, text, sinks);
}

void log_event(Level stderr_level, std::string_view stderr_text, Level syslog_level,
               std::string_view syslog_text, const LogSinks& sinks) {
  static constexpr std::string_view kTags[] = {"[EMERG]",   "[ALERT]",  "[CRIT]", "[ERR]",
                                               "[WARNING]", "[NOTICE]", "[INFO]", "[DEBUG]"};
  const std::string_view tag = kTags[static_cast<int>(stderr_level)];
  ThreadLogs* logs = thread_logs();
  std::string own;
  std::string& line = logs ? logs->scratch : own;
  line.clear();
  // "%-10s (%d) : ", as HAProxy's stderr messages.
  line += tag;
  line.append(10 - std::min<size_t>(tag.size(), 10), ' ');
  line += " (";
  append_number(line, cached_pid());
  line += ") : ";
  line += stderr_text;
  if (logs) {
    logs->add_line(2, line);
  } else {
    line += '\n';
    stream_writer().push(2, line);
  }
  // Events go to every target but stderr, which has just had the line above
  // (HAProxy would write both there).
  for (const auto& s : sinks)
    if (!s->is_stderr()) s->write(syslog_text, syslog_level);
  // Not flush_thread_logs(): logging an event does not make a thread batch.
  if (logs) logs->flush();
}

void flush_log_writer() {
  if (ThreadLogs* logs = thread_logs()) logs->flush();
  stream_writer().flush(kExitBound);
}

}  // namespace mqlb::lb
