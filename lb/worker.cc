#include "lb/worker.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "lb/listener.h"
#include "lb/reload_plan.h"
#include "lb/session.h"

namespace mqlb::lb {
namespace {

std::string uv_error_text(int rc) {
  return std::string(uv_err_name(rc)) + ": " + uv_strerror(rc);
}

}  // namespace

void warn_fd_exhaustion(const Runtime& rt, unsigned worker, int status, FdUse use) {
  rt.process->totals.at(worker).refused_fd.add();
  // At most one warning a second, whichever worker sees the failure.
  static std::atomic<int64_t> last_warning_ms{0};
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t last = last_warning_ms.load(std::memory_order_relaxed);
  if (now - last < 1000 || !last_warning_ms.compare_exchange_strong(last, now)) return;
  uint64_t refused = rt.process->totals.sum(&Totals::refused_fd);
  const char* what = use == FdUse::Accept
                         ? "): new connections are refused until descriptors free up ("
                         : "): connections to servers fail (RC) until descriptors free up (";
  log_event(Level::Warning,
            "out of file descriptors (" + uv_error_text(status) + what + std::to_string(refused) +
                " lost so far). Raise ulimit -n or lower maxconn.",
            rt.event_log);
}

Worker::Worker(unsigned index, std::shared_ptr<const Runtime> runtime, uv_async_t* on_exit)
    : index_(index), runtime_(std::move(runtime)), on_exit_(on_exit) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &async_, on_async);
  async_.data = this;
  uv_timer_init(&loop_, &accept_resume_);
  accept_resume_.data = this;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  // The loop's own epoll descriptor joins the worker's set (tag 0): the
  // worker blocks in one epoll_wait for both, and runs the loop only when
  // it has something to do.
  epoll_event loop_event{};
  loop_event.events = EPOLLIN;
  loop_event.data.u64 = kLoopTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, uv_backend_fd(&loop_), &loop_event);
  uv_idle_init(&loop_, &again_idle_);
  again_idle_.data = this;
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

Worker::~Worker() {
  join();
  // Listeners that never ran their close callback (bind failed) close
  // their socket in their destructor.
  listeners_.clear();
  uv_loop_close(&loop_);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

std::string Worker::bind_all() {
  for (const auto& fe : runtime_->frontends) {
    for (const auto& bind : fe->binds) {
      auto l = std::make_unique<Listener>(*this, runtime_, *fe, bind);
      std::string error = l->open();
      if (!error.empty()) return error;
      listeners_.push_back(std::move(l));
    }
  }
  return {};
}

void Worker::start() {
  thread_ = std::thread([this] {
    // "mqlb-worker-0" in top -H, ps -L and /proc/PID/task/*/comm (15 bytes at most).
    pthread_setname_np(pthread_self(), ("mqlb-worker-" + std::to_string(index_)).c_str());
    run();
    flush_thread_logs();
    finished_.store(true);
    uv_async_send(on_exit_);  // sends coalesce: the control thread checks finished()
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::post(Message m) {
  std::lock_guard lock(inbox_mutex_);
  if (async_closed_) return;  // the loop has ended: nothing is left to tell
  inbox_.push_back(std::move(m));
  uv_async_send(&async_);
}

void Worker::on_granted(Waiter* w) {
  post(Grant{w});
}

void Worker::cancel_grant(Waiter* w) {
  std::lock_guard lock(inbox_mutex_);
  std::erase_if(inbox_, [&](const Message& m) {
    auto* g = std::get_if<Grant>(&m);
    return g && g->waiter == w;
  });
}

void Worker::slots_released(const Runtime& rt) {
  // Pairs with the fence in Listener::wait_for_room.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (rt.process->paused_listeners.load(std::memory_order_relaxed) == 0) return;
  for (Worker* w : peers)
    if (!w->resume_posted_.exchange(true)) w->post(ResumeAccept{});
}

void Worker::on_async(uv_async_t* h) noexcept {
  auto* w = static_cast<Worker*>(h->data);
  std::vector<Message> batch;
  {
    std::lock_guard lock(w->inbox_mutex_);
    batch.swap(w->inbox_);
  }
  // Sessions closed while handling the batch are freed only in their close
  // callbacks, after this returns, so a later Grant in it still points at
  // a live (closing) session.
  for (const Message& m : batch)
    w->handle(m);
  w->maybe_exit();
}

void Worker::handle(const Message& m) {
  if (std::holds_alternative<HardStop>(m)) {
    hard_stop();
  } else if (std::holds_alternative<Drain>(m)) {
    drain();
  } else if (std::holds_alternative<ResumeAccept>(m)) {
    resume_posted_.store(false);
    // Before reading the gauges: a releaser that saw `true` and did not
    // post must have its slot seen here (pairs with slots_released).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    for (auto& l : listeners_)
      l->resume_if_room();
  } else if (auto* g = std::get_if<Grant>(&m)) {
    static_cast<Session*>(g->waiter->owner)->on_granted();
  } else if (auto* swap = std::get_if<SwapSnapshot>(&m)) {
    swap_snapshot(swap->runtime);
  } else if (auto* shut = std::get_if<ShutdownSessions>(&m)) {
    // close() unlinks each session only in its close callback.
    const bool data_only = shut->why == Termination::ActiveUpData;
    for (Session* s = sessions_.front(); s; s = s->link.next)
      s->shutdown_if_on(*shut->server, data_only, shut->why);
  }
}

void Worker::swap_snapshot(std::shared_ptr<const Runtime> runtime) {
  // A listener stays open when its frontend keeps a bind on its address
  // (a reload never refuses a connection there): it moves to that bind, and
  // sessions it accepts from now on start in the new snapshot with its
  // options. Live sessions keep the snapshot they hold. Binds new to this
  // snapshot open; listeners whose address went away take in what waits in
  // their accept queue (it would be reset), then close.
  std::vector<std::unique_ptr<Listener>> kept;
  std::vector<const Bind*> placed;
  for (auto& l : listeners_) {
    if (l->closed()) continue;
    const std::string key = listener_key(l->frontend().conf, l->bind().conf);
    bool moved = false;
    for (const auto& fe : runtime->frontends)
      for (const auto& b : fe->binds)
        if (!moved && listener_key(fe->conf, b.conf) == key) {
          l->adopt(runtime, *fe, b);
          placed.push_back(&b);
          moved = true;
        }
    if (moved) {
      kept.push_back(std::move(l));
    } else {
      while (!l->closed() && l->accept_batch()) {
      }
      l->close();
      retired_listeners_.push_back(std::move(l));
    }
  }
  listeners_ = std::move(kept);
  if (!draining_)
    for (const auto& fe : runtime->frontends)
      for (const auto& b : fe->binds) {
        if (std::find(placed.begin(), placed.end(), &b) != placed.end()) continue;
        auto l = std::make_unique<Listener>(*this, runtime, *fe, b);
        std::string error = l->open();
        if (!error.empty()) {
          log_event(Level::Alert, "reload: " + error, runtime->event_log);
          continue;
        }
        listeners_.push_back(std::move(l));
      }
  // Listeners retired by an earlier swap have closed by now (their close
  // callback ran on an earlier loop turn).
  std::erase_if(retired_listeners_, [](const auto& l) { return l->fully_closed(); });
  runtime_ = std::move(runtime);
}

void Worker::hard_stop() {
  close_listeners();
  // close() unlinks each session only in its close callback, so walking
  // the list while killing is safe.
  for (Session* s = sessions_.front(); s; s = s->link.next)
    s->kill();
}

void Worker::drain() {
  // Connections already in a listener's accept queue would be reset when
  // it closes: take them in first; they drain like every other session.
  for (auto& l : listeners_)
    while (!l->closed() && l->accept_batch()) {
    }
  close_listeners();
}

void Worker::close_listeners() {
  draining_ = true;
  uv_timer_stop(&accept_resume_);
  for (auto& l : listeners_)
    l->close();
}

void Worker::maybe_exit() {
  if (!draining_ || sessions_.size() != 0 || exiting_) return;
  exiting_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&accept_resume_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&again_idle_), nullptr);
  std::lock_guard lock(inbox_mutex_);
  async_closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

bool Worker::shed_one(int listen_fd, int error) {
  warn_fd_exhaustion(*runtime_, index_, uv_translate_sys_error(error), FdUse::Accept);
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) ::close(fd);
    reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && reserve_fd_ >= 0) return true;
  }
  // Another thread took the freed descriptor: pause every listener of this
  // worker briefly rather than spin on EMFILE.
  for (auto& l : listeners_)
    l->pause();
  uv_timer_start(&accept_resume_, on_accept_resume, 100, 0);
  return false;
}

bool Worker::watch(int fd, uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = tag;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Worker::run() {
  // Session sockets are handled as their events come; the libuv loop
  // (timers, inbox, listeners, close callbacks, the again list) runs once
  // per iteration in which it has work: its descriptor is readable, its
  // next timer is due, or it has handles to close or idle callbacks to run
  // (then uv_backend_timeout is 0).
  epoll_event events[256];
  bool alive = uv_run(&loop_, UV_RUN_NOWAIT) != 0;
  while (alive) {
    const int timeout = uv_backend_timeout(&loop_);
    const uint64_t due = uv_now(&loop_) + static_cast<uint64_t>(std::max(timeout, 0));
    // After TLS handshakes (tens of KiB of short-lived allocations each),
    // the first quiet moment gives the allocator's free pages back, so
    // that a burst of reconnects does not leave its peak resident.
    int wait = timeout;
    const bool trim = handshakes_since_trim_ > 0 && (wait < 0 || wait > kTrimQuietMs);
    if (trim) wait = kTrimQuietMs;
    int n = epoll_wait(epoll_fd_, events, 256, wait);
    if (n == 0 && trim) {
      malloc_trim(0);
      handshakes_since_trim_ = 0;
    }
    uv_update_time(&loop_);
    bool loop_has_work = timeout == 0 || (timeout > 0 && uv_now(&loop_) >= due);
    // Sessions closed while handling these are freed only in their timer's
    // close callback, in the loop's run below: their events stay safe.
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kLoopTag)
        loop_has_work = true;
      else
        Session::on_events(events[i].data.u64, events[i].events);
    }
    if (loop_has_work) alive = uv_run(&loop_, UV_RUN_NOWAIT) != 0;
    flush_thread_logs();
  }
}

void Worker::again(bool* flag, Session* s) {
  if (*flag) return;
  *flag = true;
  if (again_.empty()) uv_idle_start(&again_idle_, on_again);
  again_.emplace_back(s, flag);
}

void Worker::forget_again(bool* flag, Session* s) {
  if (!*flag) return;
  *flag = false;
  // Rare (a session closing with data left to read): a linear erase.
  std::erase(again_, std::pair{s, flag});
}

void Worker::on_again(uv_idle_t* h) noexcept {
  auto* w = static_cast<Worker*>(h->data);
  std::vector<std::pair<Session*, bool*>> batch;
  batch.swap(w->again_);
  uv_idle_stop(h);
  // A session that closed while in the batch has its flags cleared and is
  // not freed before the loop's close phase.
  for (auto [s, flag] : batch)
    if (*flag) s->read_again();
}

void Worker::on_accept_resume(uv_timer_t* timer) noexcept {
  auto* w = static_cast<Worker*>(timer->data);
  if (w->draining_) return;
  if (w->reserve_fd_ < 0) w->reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (auto& l : w->listeners_)
    l->resume();
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

}  // namespace mqlb::lb
