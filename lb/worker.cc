#include "lb/worker.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>

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
            "accept failed: " + uv_error_text(status) +
                "; new connections are refused until descriptors free up (" +
                std::to_string(refused) + " refused so far). Raise ulimit -n or lower maxconn.",
            rt.event_log);
}

Worker::Worker(std::shared_ptr<const Runtime> runtime, uv_async_t* on_exit)
    : runtime_(std::move(runtime)), on_exit_(on_exit) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &async_, on_async);
  async_.data = this;
}

Worker::~Worker() {
  join();
  uv_loop_close(&loop_);
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
      // libuv 1.44 has no flag for SO_REUSEPORT: create the socket first,
      // set the option on it, then bind. Each worker gets its own accept
      // queue and the kernel spreads connections over them.
      uv_tcp_init_ex(&loop_, &l->handle, v6 ? AF_INET6 : AF_INET);
      l->handle.data = l.get();
      uv_os_fd_t fd;
      uv_fileno(reinterpret_cast<uv_handle_t*>(&l->handle), &fd);
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      rc = uv_tcp_bind(&l->handle, reinterpret_cast<sockaddr*>(&addr), 0);
      int backlog =
          static_cast<int>(std::min<uint32_t>(std::max<uint32_t>(fe->conf.maxconn, 128), 65535));
      if (rc == 0)
        rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->handle), backlog, on_connection);
      if (rc != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(&l->handle), nullptr);
        listeners_.push_back(std::move(l));
        return where + "cannot bind socket (" + uv_error_text(rc) + ") [" + bind.to_string() + "]";
      }
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
    // kill() unlinks each session only in its close callback, so walking
    // the list while killing is safe.
    // A queued session moves to sessions_ as it closes, so the queue goes
    // first; kill() is idempotent.
    for (Session* s = queue_.front(); s;) {
      Session* next = s->link.next;
      s->kill("KQ");
      s = next;
    }
    for (Session* s = sessions_.front(); s; s = s->link.next)
      s->kill("KD");
  }
  if (drain_requested_.exchange(false)) close_listeners();
  if (queue_wake_requested_.exchange(false)) {
    for (Session* s = queue_.front(); s;) {
      Session* next = s->link.next;
      s->retry_admission();
      s = next;
    }
  }
  maybe_exit();
}

void Worker::close_listeners() {
  draining_ = true;
  for (auto& l : listeners_) {
    auto* h = reinterpret_cast<uv_handle_t*>(&l->handle);
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  }
}

void Worker::maybe_exit() {
  if (!draining_ || sessions_.size() + queue_.size() != 0 || exiting_) return;
  exiting_ = true;
  std::lock_guard lock(async_mutex_);
  async_closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

void Worker::on_connection(uv_stream_t* server, int status) noexcept {
  auto* l = static_cast<Listener*>(server->data);
  if (status < 0) {
    // libuv 1.44 has already accepted and closed the waiting connections
    // using its reserve descriptor; what is left is to say so.
    warn_fd_exhaustion(*l->worker->runtime_, status);
    return;
  }
  l->worker->accept_one(*l);
}

void Worker::accept_one(Listener& l) {
  auto* s = new Session(*this, *l.frontend);
  int rc = uv_accept(reinterpret_cast<uv_stream_t*>(&l.handle),
                     reinterpret_cast<uv_stream_t*>(s->client()));
  s->start(rc);
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
  if (runtime_->queued.load(std::memory_order_relaxed) == 0) return;
  for (Worker* w : peers)
    w->request_queue_wake();
}

}  // namespace mqlb::lb
