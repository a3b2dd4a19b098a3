#include "lb/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lb/address.h"
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

namespace {

// A socket bound to `bind` as every worker binds it (SO_REUSEPORT: each
// worker its own), listening when `backlog` > 0; -1 with `error` set.
int bound_socket(const conf::Frontend& frontend, const conf::Bind& bind, int backlog,
                 std::string& error) {
  sockaddr_storage addr{};
  bool v6 = bind.host.find(':') != std::string::npos;
  int rc = v6 ? uv_ip6_addr(bind.host.c_str(), bind.port, reinterpret_cast<sockaddr_in6*>(&addr))
              : uv_ip4_addr(bind.host.c_str(), bind.port, reinterpret_cast<sockaddr_in*>(&addr));
  const std::string where = "Starting frontend " + frontend.name + ": ";
  if (rc != 0) {
    error = where + "invalid address [" + bind.to_string() + "]";
    return -1;
  }
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = where + "cannot create socket (" + std::strerror(errno) + ")";
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  socklen_t len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      (backlog > 0 && ::listen(fd, backlog) != 0)) {
    error = where + "cannot bind socket (" + std::strerror(errno) + ") [" + bind.to_string() + "]";
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::string try_bind(const conf::Frontend& frontend, const conf::Bind& bind) {
  std::string error;
  int fd = bound_socket(frontend, bind, 0, error);
  if (fd >= 0) ::close(fd);
  return error;
}

std::string Listener::open() {
  // The backlog is where connections wait while the frontend is full.
  const int backlog = static_cast<int>(std::clamp<uint32_t>(frontend_->conf.maxconn, 128, 65535));
  std::string error;
  fd_ = bound_socket(frontend_->conf, bind_->conf, backlog, error);
  if (fd_ < 0) return error;
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

bool Listener::take_slots(uint32_t (&counts)[2]) {
  counts[0] = runtime_->process->active.try_reserve(runtime_->maxconn);
  if (counts[0] == 0) return false;
  counts[1] = frontend_->state->active.try_reserve(frontend_->conf.maxconn);
  if (counts[1] != 0) return true;
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

bool Listener::admitted(const sockaddr_storage& peer) const {
  const auto& rules = frontend_->conf.tcp_request_connection;
  if (rules.empty()) return true;
  const IpPort client = ip_port(peer);
  conf::ConnectionFacts facts;
  // As in HAProxy, ssl_fc is already known (the bind is TLS); the SNI is not.
  facts.tls = bind_->tls != nullptr;
  facts.src = client.bytes;
  facts.src_len = client.size;
  facts.dst_port = bind_->conf.port;
  return conf::connection_accepted(rules, facts);
}

bool Listener::accept_batch() {
  // A bounded batch per wake-up keeps one busy listener from starving the
  // sessions of this loop; a level-triggered poll brings us back.
  for (int n = 0; n < 64; ++n) {
    if (worker_.draining() || closed()) return false;
    uint32_t counts[2];
    if (!take_slots(counts)) {
      wait_for_room();
      return false;
    }
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      // HAProxy counts the peaks before its rules run, rejected ones included.
      runtime_->process->active.note_peak(counts[0]);
      frontend_->state->active.note_peak(counts[1]);
      if (!admitted(peer)) {
        // HAProxy's `tcp-request connection reject`: reset before anything
        // is read or sent (no TIME_WAIT kept for it), counted, not logged.
        const linger reset{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        ::close(fd);
        give_slots();
        frontend_->state->totals.at(worker_.index()).denied.add();
        continue;
      }
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
