#include "lb/worker.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "lb/session.h"

namespace mqlb::lb {
namespace {

std::string uv_error_text(int rc) {
  return std::string(uv_err_name(rc)) + ": " + uv_strerror(rc);
}

}  // namespace

void warn_fd_exhaustion(const Runtime& rt, int status) {
  uint64_t refused = rt.refused_fd.fetch_add(1, std::memory_order_relaxed) + 1;
  // At most one warning a second, whichever worker sees the failure.
  static std::atomic<int64_t> last_warning_ms{0};
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t last = last_warning_ms.load(std::memory_order_relaxed);
  if (now - last < 1000 || !last_warning_ms.compare_exchange_strong(last, now)) return;
  log_event(Level::Warning,
            "out of file descriptors (" + uv_error_text(status) +
                "): new connections are refused until descriptors free up (" +
                std::to_string(refused) + " refused so far). Raise ulimit -n or lower maxconn.",
            rt.event_log);
}

Worker::Worker(std::shared_ptr<const Runtime> runtime, uv_async_t* on_exit)
    : runtime_(std::move(runtime)), on_exit_(on_exit) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &async_, on_async);
  async_.data = this;
  uv_timer_init(&loop_, &accept_resume_);
  accept_resume_.data = this;
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

Worker::~Worker() {
  join();
  uv_loop_close(&loop_);
  for (auto& l : listeners_)
    if (l->fd >= 0) ::close(l->fd);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

std::string Worker::bind_all() {
  for (const auto& fe : runtime_->frontends) {
    for (const auto& bind : fe->conf.binds) {
      auto l = std::make_unique<Listener>();
      l->worker = this;
      l->frontend = fe.get();
      sockaddr_storage addr{};
      bool v6 = bind.host.find(':') != std::string::npos;
      int rc =
          v6 ? uv_ip6_addr(bind.host.c_str(), bind.port, reinterpret_cast<sockaddr_in6*>(&addr))
             : uv_ip4_addr(bind.host.c_str(), bind.port, reinterpret_cast<sockaddr_in*>(&addr));
      std::string where = "Starting frontend " + fe->conf.name + ": ";
      if (rc != 0) return where + "invalid address [" + bind.to_string() + "]";
      // Our own socket: SO_REUSEPORT gives each worker its own accept
      // queue, and the kernel spreads connections over them.
      l->fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (l->fd < 0) return where + "cannot create socket (" + std::strerror(errno) + ")";
      int one = 1;
      setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      setsockopt(l->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      int backlog = static_cast<int>(std::clamp<uint32_t>(fe->conf.maxconn, 128, 65535));
      socklen_t len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
      if (::bind(l->fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
          ::listen(l->fd, backlog) != 0) {
        std::string why = std::strerror(errno);
        ::close(l->fd);
        return where + "cannot bind socket (" + why + ") [" + bind.to_string() + "]";
      }
      uv_poll_init_socket(&loop_, &l->poll, l->fd);
      l->poll.data = l.get();
      uv_poll_start(&l->poll, UV_READABLE, on_listener_readable);
      listeners_.push_back(std::move(l));
    }
  }
  return {};
}

void Worker::start() {
  thread_ = std::thread([this] {
    uv_run(&loop_, UV_RUN_DEFAULT);
    finished_.store(true);
    uv_async_send(on_exit_);  // sends coalesce: the control thread checks finished()
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::notify(std::atomic<bool>& flag) {
  flag.store(true);
  std::lock_guard lock(async_mutex_);
  if (!async_closed_) uv_async_send(&async_);
}

void Worker::request_drain() {
  notify(drain_requested_);
}
void Worker::request_hard_stop() {
  notify(hard_stop_requested_);
}
void Worker::request_queue_wake() {
  notify(queue_wake_requested_);
}

void Worker::on_async(uv_async_t* h) noexcept {
  static_cast<Worker*>(h->data)->handle_requests();
}

void Worker::handle_requests() {
  if (hard_stop_requested_.exchange(false)) {
    close_listeners();
    // close() unlinks each session only in its close callback, so walking
    // the list while killing is safe.
    // A queued session moves to sessions_ as it closes, so the queue goes
    // first; close() is idempotent.
    for (Session* s = queue_.front(); s;) {
      Session* next = s->link.next;
      s->close("KQ");
      s = next;
    }
    for (Session* s = sessions_.front(); s; s = s->link.next)
      s->close("KD");
  }
  if (drain_requested_.exchange(false)) {
    // Connections already in a listener's accept queue would be reset when
    // it closes: take them in first; they drain like every other session.
    for (auto& l : listeners_)
      while (l->fd >= 0 && accept_all(*l)) {
      }
    close_listeners();
  }
  if (queue_wake_requested_.exchange(false)) {
    // In order, oldest first. Once a session of a frontend finds no slot,
    // later ones of that frontend would not either: skip them rather than
    // touch the shared counters again (a long queue stays cheap to walk).
    std::array<const Frontend*, 8> full{};
    size_t nfull = 0;
    for (Session* s = queue_.front(); s;) {
      Session* next = s->link.next;
      const Frontend* f = &s->frontend();
      if (std::find(full.begin(), full.begin() + nfull, f) == full.begin() + nfull &&
          !s->retry_admission() && nfull < full.size())
        full[nfull++] = f;
      s = next;
    }
  }
  maybe_exit();
}

void Worker::close_listeners() {
  draining_ = true;
  uv_timer_stop(&accept_resume_);
  for (auto& l : listeners_) {
    auto* h = reinterpret_cast<uv_handle_t*>(&l->poll);
    if (l->fd >= 0 && !uv_is_closing(h)) {
      uv_close(h, [](uv_handle_t* h) {
        auto* listener = static_cast<Listener*>(h->data);
        ::close(listener->fd);
        listener->fd = -1;
      });
    }
  }
}

void Worker::maybe_exit() {
  if (!draining_ || sessions_.size() + queue_.size() != 0 || exiting_) return;
  exiting_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&accept_resume_), nullptr);
  std::lock_guard lock(async_mutex_);
  async_closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

void Worker::on_listener_readable(uv_poll_t* poll, int status, int) noexcept {
  auto* l = static_cast<Listener*>(poll->data);
  if (status == 0) l->worker->accept_all(*l);
}

bool Worker::accept_all(Listener& l) {
  // A bounded batch per wake-up keeps one busy listener from starving the
  // sessions of this loop; a level-triggered poll brings us back.
  for (int n = 0; n < 64 && !draining_; ++n) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd =
        ::accept4(l.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      (new Session(*this, *l.frontend))->start(fd, peer);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      if (!shed_one(l, errno)) return false;
      continue;
    }
    return false;  // EAGAIN, or an error the next wake-up will see again
  }
  return !draining_;  // the batch is full: there may be more
}

// Out of descriptors: refuse one waiting connection with the reserve
// descriptor, or, without one, pause this listener for a moment. Returns
// whether accepting may go on.
bool Worker::shed_one(Listener& l, int error) {
  warn_fd_exhaustion(*runtime_, uv_translate_sys_error(error));
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) ::close(fd);
    reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && reserve_fd_ >= 0) return true;
  }
  // Another thread took the freed descriptor: pause every listener of this
  // worker briefly rather than spin on EMFILE.
  for (auto& other : listeners_)
    if (other->fd >= 0) uv_poll_stop(&other->poll);
  uv_timer_start(&accept_resume_, on_accept_resume, 100, 0);
  return false;
}

void Worker::on_accept_resume(uv_timer_t* timer) noexcept {
  auto* w = static_cast<Worker*>(timer->data);
  if (w->draining_) return;
  if (w->reserve_fd_ < 0) w->reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (auto& l : w->listeners_)
    if (l->fd >= 0) uv_poll_start(&l->poll, UV_READABLE, on_listener_readable);
}

void SessionList::push_back(Session* s) {
  s->link = {tail_, nullptr};
  if (tail_)
    tail_->link.next = s;
  else
    head_ = s;
  tail_ = s;
  ++size_;
}

void SessionList::remove(Session* s) {
  if (s->link.prev)
    s->link.prev->link.next = s->link.next;
  else
    head_ = s->link.next;
  if (s->link.next)
    s->link.next->link.prev = s->link.prev;
  else
    tail_ = s->link.prev;
  s->link = {};
  --size_;
}

void Worker::add(Session* s) {
  sessions_.push_back(s);
}

void Worker::remove(Session* s) {
  sessions_.remove(s);
  maybe_exit();
}

void Worker::enqueue(Session* s) {
  sessions_.remove(s);
  queue_.push_back(s);
}

void Worker::dequeue(Session* s) {
  queue_.remove(s);
  sessions_.push_back(s);
}

void Worker::slot_released() {
  if (runtime_->queued.load() == 0) return;  // seq_cst: pairs with take_slot
  for (Worker* w : peers)
    w->request_queue_wake();
}

}  // namespace mqlb::lb
