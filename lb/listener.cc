#include "lb/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lb/runtime.h"
#include "lb/session.h"
#include "lb/worker.h"

namespace mqlb::lb {

Listener::Listener(Worker& worker, std::shared_ptr<const Runtime> runtime, const Frontend& frontend,
                   const Bind& bind)
    : worker_(worker), runtime_(std::move(runtime)), frontend_(&frontend), bind_(&bind) {}

void Listener::adopt(std::shared_ptr<const Runtime> runtime, const Frontend& frontend,
                     const Bind& bind) {
  runtime_ = std::move(runtime);
  frontend_ = &frontend;
  bind_ = &bind;
}

Listener::~Listener() {
  if (fd_ >= 0) ::close(fd_);
}

std::string Listener::open() {
  sockaddr_storage addr{};
  bool v6 = bind_->conf.host.find(':') != std::string::npos;
  int rc = v6 ? uv_ip6_addr(bind_->conf.host.c_str(), bind_->conf.port,
                            reinterpret_cast<sockaddr_in6*>(&addr))
              : uv_ip4_addr(bind_->conf.host.c_str(), bind_->conf.port,
                            reinterpret_cast<sockaddr_in*>(&addr));
  std::string where = "Starting frontend " + frontend_->conf.name + ": ";
  if (rc != 0) return where + "invalid address [" + bind_->conf.to_string() + "]";
  fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return where + "cannot create socket (" + std::strerror(errno) + ")";
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  // The backlog is where connections wait while the frontend is full.
  int backlog = static_cast<int>(std::clamp<uint32_t>(frontend_->conf.maxconn, 128, 65535));
  socklen_t len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, backlog) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return where + "cannot bind socket (" + why + ") [" + bind_->conf.to_string() + "]";
  }
  uv_poll_init_socket(worker_.loop(), &poll_, fd_);
  poll_.data = this;
  resume();
  return {};
}

void Listener::close() {
  if (fd_ < 0 || closing_) return;
  closing_ = true;
  if (limited_) {
    limited_ = false;
    runtime_->process->paused_listeners.fetch_sub(1);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) {
    auto* l = static_cast<Listener*>(h->data);
    ::close(l->fd_);
    l->fd_ = -1;
  });
}

void Listener::pause() {
  if (!polling_) return;
  uv_poll_stop(&poll_);
  polling_ = false;
}

void Listener::resume() {
  if (closed() || limited_ || polling_) return;
  uv_poll_start(&poll_, UV_READABLE, on_readable);
  polling_ = true;
}

void Listener::on_readable(uv_poll_t* poll, int status, int) noexcept {
  auto* l = static_cast<Listener*>(poll->data);
  if (status == 0) l->accept_batch();
}

bool Listener::has_room() const {
  return runtime_->process->active.get() < runtime_->maxconn &&
         frontend_->state->active.get() < frontend_->conf.maxconn;
}

bool Listener::take_slots() {
  if (!runtime_->process->active.try_take(runtime_->maxconn)) return false;
  if (frontend_->state->active.try_take(frontend_->conf.maxconn)) return true;
  runtime_->process->active.give();
  worker_.slots_released(*runtime_);
  return false;
}

void Listener::give_slots() {
  frontend_->state->active.give();
  runtime_->process->active.give();
  worker_.slots_released(*runtime_);
}

void Listener::wait_for_room() {
  if (limited_) return;  // counted once (drain accepts on a limited listener)
  pause();
  limited_ = true;
  runtime_->process->paused_listeners.fetch_add(1);
  // Pairs with the fence in Worker::slots_released: either this check sees
  // the slot released meanwhile, or the releaser sees this listener.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  resume_if_room();
}

bool Listener::resume_if_room() {
  if (!limited_ || closing_ || !has_room()) return false;
  limited_ = false;
  runtime_->process->paused_listeners.fetch_sub(1);
  resume();
  return true;
}

bool Listener::accept_batch() {
  // A bounded batch per wake-up keeps one busy listener from starving the
  // sessions of this loop; a level-triggered poll brings us back.
  for (int n = 0; n < 64; ++n) {
    if (worker_.draining() || closed()) return false;
    if (!take_slots()) {
      wait_for_room();
      return false;
    }
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      // The session owns the two slots from here on.
      (new Session(worker_, runtime_, *frontend_, *bind_))->start(fd, peer);
      continue;
    }
    int error = errno;
    give_slots();
    if (error == EINTR || error == ECONNABORTED) continue;
    if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
      if (!worker_.shed_one(fd_, error)) return false;
      continue;
    }
    return false;  // EAGAIN, or an error the next wake-up will see again
  }
  return true;  // the batch is full: there may be more
}

}  // namespace mqlb::lb
