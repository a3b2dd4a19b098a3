#include "lb/session.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "lb/access_log.h"

namespace mqlb::lb {
namespace {

// Takes one slot of `limit` in `count`, or none.
// Sequentially consistent: a waiter counts itself in `queued` then looks at
// the slots, a releaser frees a slot then looks at `queued`; one of the two
// always sees the other (see Worker::slot_released).
bool take_slot(std::atomic<uint32_t>& count, uint32_t limit) {
  if (count.fetch_add(1) < limit) return true;
  count.fetch_sub(1);
  return false;
}

bool is_resource_error(int rc) {
  return rc == UV_EMFILE || rc == UV_ENFILE || rc == UV_ENOBUFS;
}

}  // namespace

Session::Session(Worker& worker, const Frontend& frontend) : worker_(worker), frontend_(frontend) {
  uv_tcp_init(worker.loop(), &client_);
  uv_timer_init(worker.loop(), &timer_);
  client_.data = this;
  timer_.data = this;
  accept_unix_ms_ = unix_now_ms();
  accept_ms_ = uv_now(worker.loop());
}

Session::~Session() {
  // In-flight writes were cancelled and freed before the close callbacks;
  // only bytes never handed to uv_write remain.
  delete client_side_.out.next;
  delete server_side_.out.next;
}

void Session::start(int fd, const sockaddr_storage& peer) {
  worker_.add(this);
  if (peer.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&peer);
    std::memcpy(client_addr_, &a->sin6_addr, 16);
    client_port_ = ntohs(a->sin6_port);
    client_v6_ = true;
  } else {
    auto* a = reinterpret_cast<const sockaddr_in*>(&peer);
    std::memcpy(client_addr_, &a->sin_addr, 4);
    client_port_ = ntohs(a->sin_port);
  }
  if (uv_tcp_open(&client_, fd) != 0) {
    ::close(fd);
    close("CC");
    return;
  }
  uv_tcp_nodelay(&client_, 1);
  // The client is watched from the start: what it sends before the server
  // is connected waits in the server's outbox (up to the high-water mark),
  // and a client that resets while queued or connecting is let go at once.
  set_reading(client_side_, true);
  const Runtime& rt = worker_.runtime();
  // While others wait, a newcomer queues behind them instead of taking the
  // next freed slot first.
  const bool others_wait = rt.queued.load() > 0;
  if (!others_wait && admit()) {
    queue_ms_ = 0;
    connect();
    return;
  }
  if (holds_slots_ && !frontend_.backend->has_usable_server()) {
    close("SC");  // HAProxy: no server available, logged as <NOSRV>
    return;
  }
  if (!take_slot(rt.queued, rt.maxconn)) {
    close("PQ");
    return;
  }
  frontend_.backend->queued.fetch_add(1, std::memory_order_relaxed);
  phase_ = Phase::Queued;
  phase_start_ = uv_now(worker_.loop());
  worker_.enqueue(this);
  arm_timer();
  if (others_wait) {
    // A slot may be free already (its wake-up went out before this session
    // was counted): let the worker walk its queue in order.
    worker_.request_queue_wake();
  } else {
    // A slot released between admit() and the count above saw no waiter
    // and woke nobody: now that this session is counted, look once more.
    retry_admission();
  }
}

uint32_t Session::client_hash() const {
  return balancer::hash_address({client_addr_, client_v6_ ? 16u : 4u});
}

bool Session::admit() {
  const Runtime& rt = worker_.runtime();
  if (!holds_slots_) {
    if (!take_slot(rt.active, rt.maxconn)) return false;
    if (!take_slot(frontend_.active, frontend_.conf.maxconn)) {
      rt.active.fetch_sub(1, std::memory_order_acq_rel);
      return false;
    }
    holds_slots_ = true;
  }
  server_ = frontend_.backend->acquire(client_hash(), nullptr);
  return server_ != nullptr;
}

void Session::leave_queue() {
  worker_.dequeue(this);
  worker_.runtime().queued.fetch_sub(1, std::memory_order_relaxed);
  frontend_.backend->queued.fetch_sub(1, std::memory_order_relaxed);
}

bool Session::retry_admission() {
  if (!admit()) {
    if (!holds_slots_ || frontend_.backend->has_usable_server()) return false;
    close("SC");
    return true;
  }
  leave_queue();
  queue_ms_ = static_cast<int32_t>(uv_now(worker_.loop()) - phase_start_);
  connect();
  return true;
}

void Session::connect() {
  phase_ = Phase::Connecting;
  phase_start_ = uv_now(worker_.loop());
  uv_tcp_init(worker_.loop(), &server_tcp_);
  server_tcp_.data = this;
  server_handle_ = ServerHandle::Open;
  uv_tcp_nodelay(&server_tcp_, 1);  // applied when libuv creates the socket
  auto* req = new uv_connect_t;
  req->data = this;
  int rc = uv_tcp_connect(req, &server_tcp_, reinterpret_cast<const sockaddr*>(&server_->addr),
                          on_connect);
  if (rc != 0) {
    delete req;
    if (is_resource_error(rc)) warn_fd_exhaustion(worker_.runtime(), rc);
    connect_failed(is_resource_error(rc) ? "RC" : "SC");
    return;
  }
  // Asking for reads now merges POLLIN into the connect's epoll registration
  // (one epoll_ctl fewer per session); libuv reports the connect first.
  server_side_.reading = false;
  set_reading(server_side_, true);
  arm_timer();
}

void Session::on_connect(uv_connect_t* req, int status) noexcept {
  auto* s = static_cast<Session*>(req->data);
  delete req;
  // Cancelled: the handle was closed for a retry or for the end of the session.
  if (status == UV_ECANCELED || s->phase_ != Phase::Connecting) return;
  if (status < 0) {
    s->connect_failed(is_resource_error(status) ? "RC" : "SC");
    return;
  }
  s->connect_ms_ = static_cast<int32_t>(uv_now(s->worker_.loop()) - s->phase_start_);
  s->relay_start();
}

void Session::connect_failed(const char code[2]) {
  if (retries_ >= frontend_.backend->conf.retries || code[0] == 'R') {
    close(code);
    return;
  }
  ++retries_;
  phase_ = Phase::TurnAround;
  phase_start_ = uv_now(worker_.loop());
  std::memcpy(termination_, code, 2);
  server_handle_ = ServerHandle::ClosingForRetry;
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&server_tcp_), on_server_closed_for_retry);
}

void Session::on_server_closed_for_retry(uv_handle_t* h) noexcept {
  auto* s = static_cast<Session*>(h->data);
  s->server_handle_ = ServerHandle::None;
  if (s->phase_ == Phase::Closing) {
    on_closed(h);
    return;
  }
  // HAProxy `option redispatch`: the last retry goes to another server, at
  // once; earlier retries wait a turn-around of min(timeout connect, 1s) so
  // a restarting server is not hammered.
  if (s->frontend_.backend->conf.redispatch && s->retries_ == s->frontend_.backend->conf.retries) {
    const Server* old = s->server_;
    const Server* other = s->frontend_.backend->acquire(s->client_hash(), old);
    if (other) {
      s->frontend_.backend->release(old);
      s->worker_.slot_released();
      s->server_ = other;
      s->redispatched_ = other != old;
      s->connect();
      return;
    }
  }
  s->arm_timer();
}

void Session::relay_start() {
  phase_ = Phase::Relaying;
  uint64_t now = uv_now(worker_.loop());
  client_side_.last_activity = server_side_.last_activity = now;
  flush(server_side_);  // what the client sent while we were connecting
  maybe_shutdown(server_side_);
  if (server_side_.out.size() < kHighWater) set_reading(client_side_, true);
  arm_timer();  // the server has been read since connect()
}

void Session::set_reading(Side& side, bool on) {
  if (side.reading == on || side.read_eof) return;
  side.reading = on;
  if (on)
    uv_read_start(stream(side), on_alloc, is_client(side) ? on_client_read : on_server_read);
  else
    uv_read_stop(stream(side));
}

void Session::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  // One buffer per loop: libuv calls alloc, read, read_cb in sequence, and
  // every read is written onward or copied out before the callback returns.
  auto* s = static_cast<Session*>(h->data);
  *buf = uv_buf_init(s->worker_.read_buffer(), Worker::kReadBufferSize);
}

void Session::on_client_read(uv_stream_t* h, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* s = static_cast<Session*>(h->data);
  if (nread > 0)
    s->send(s->server_side_, s->client_side_, buf->base, static_cast<size_t>(nread));
  else
    s->on_read(s->client_side_, s->server_side_, nread);
}

void Session::on_server_read(uv_stream_t* h, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* s = static_cast<Session*>(h->data);
  if (nread > 0) {
    s->bytes_to_client_ += static_cast<uint64_t>(nread);
    s->send(s->client_side_, s->server_side_, buf->base, static_cast<size_t>(nread));
  } else {
    s->on_read(s->server_side_, s->client_side_, nread);
  }
}

void Session::on_read(Side& from, Side& to, ssize_t nread) {
  if (nread == 0) return;  // EAGAIN
  bool relaying = phase_ == Phase::Relaying;
  if (nread != UV_EOF || (phase_ == Phase::Queued)) {
    // A reset, or a client giving up while queued (HAProxy's abortonclose):
    // C = the client, then the phase it left in.
    if (relaying)
      close(is_client(from) ? "CD" : "SD");
    else
      close(phase_ == Phase::Queued ? "CQ" : "CC");
    return;
  }
  // Half-close: pass the FIN on once everything before it is written (and,
  // while still connecting, once the server is there).
  set_reading(from, false);
  from.read_eof = true;
  to.write = HalfClose::ShutdownPending;
  if (!relaying) return;
  maybe_shutdown(to);
  maybe_finish();
  if (phase_ == Phase::Relaying) arm_timer();  // the *-fin timeouts apply now
}

void Session::send(Side& to, Side& from, const char* data, size_t n) {
  from.last_activity = uv_now(worker_.loop());
  if (to.out.empty() && phase_ == Phase::Relaying) {
    uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(n));
    int r = uv_try_write(stream(to), &b, 1);
    if (r > 0) {
      to.last_activity = from.last_activity;
      data += r;
      n -= static_cast<size_t>(r);
      if (n == 0) return;
    } else if (r != UV_EAGAIN) {
      close(is_client(to) ? "CD" : "SD");
      return;
    }
  }
  if (!to.out.next) to.out.next = new WriteReq{{}, this, is_client(to), {}};
  to.out.next->data.insert(to.out.next->data.end(), data, data + n);
  flush(to);
  if (to.out.size() >= kHighWater) set_reading(from, false);
}

void Session::flush(Side& to) {
  if (to.out.inflight || !to.out.next || phase_ != Phase::Relaying) return;
  WriteReq* w = to.out.inflight = std::exchange(to.out.next, nullptr);
  w->req.data = w;
  uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, stream(to), &b, 1, on_write);
  if (rc != 0) {
    to.out.inflight = nullptr;
    delete w;
    close(is_client(to) ? "CD" : "SD");
  }
}

void Session::on_write(uv_write_t* req, int status) noexcept {
  auto* w = static_cast<WriteReq*>(req->data);
  Session* s = w->session;
  Side& to = w->to_client ? s->client_side_ : s->server_side_;
  to.out.inflight = nullptr;
  delete w;
  if (status == UV_ECANCELED) return;  // the session is closing
  s->write_done(to, status);
}

void Session::write_done(Side& to, int status) {
  if (status < 0) {
    close(is_client(to) ? "CD" : "SD");
    return;
  }
  to.last_activity = uv_now(worker_.loop());
  flush(to);
  Side& from = peer(to);
  if (to.out.size() < kLowWater) set_reading(from, true);
  maybe_shutdown(to);
  maybe_finish();
}

void Session::maybe_shutdown(Side& to) {
  if (to.write != HalfClose::ShutdownPending || !to.out.empty()) return;
  to.write = HalfClose::Shut;
  // The outbox is empty, so libuv holds no write for this socket either: a
  // plain shutdown(2) is what uv_shutdown would end up doing, without its
  // request allocation and the epoll round trip.
  // When `to` has already sent its FIN too, the session ends right away and
  // close(2) sends ours: no shutdown needed.
  uv_os_fd_t fd;
  if (!to.read_eof && uv_fileno(reinterpret_cast<uv_handle_t*>(stream(to)), &fd) == 0)
    ::shutdown(fd, SHUT_WR);
}

void Session::maybe_finish() {
  bool done = client_side_.read_eof && server_side_.read_eof &&
              client_side_.write == HalfClose::Shut && server_side_.write == HalfClose::Shut;
  if (done && phase_ == Phase::Relaying) close("--");
}

void Session::arm_timer() {
  const conf::Timeouts& ft = frontend_.conf.timeouts;
  const conf::Timeouts& bt = frontend_.backend->conf.timeouts;
  std::optional<uint64_t> deadline;
  auto earliest = [&](uint64_t since, const std::optional<conf::Duration>& t) {
    if (!t) return;
    uint64_t d = since + static_cast<uint64_t>(t->count());
    if (!deadline || d < *deadline) deadline = d;
  };
  switch (phase_) {
    case Phase::Queued:
      earliest(phase_start_, bt.queue);
      break;
    case Phase::Connecting:
      earliest(phase_start_, bt.connect);
      break;
    case Phase::TurnAround:
      earliest(phase_start_,
               std::min(bt.connect.value_or(conf::Duration(1000)), conf::Duration(1000)));
      break;
    case Phase::Relaying: {
      bool half = client_side_.read_eof || server_side_.read_eof;
      earliest(client_side_.last_activity,
               half ? ft.client_fin : (bt.tunnel ? bt.tunnel : ft.client));
      earliest(server_side_.last_activity,
               half ? bt.server_fin : (bt.tunnel ? bt.tunnel : bt.server));
      break;
    }
    case Phase::Accepted:
    case Phase::Closing:
      return;
  }
  if (!deadline) {
    uv_timer_stop(&timer_);
    return;
  }
  uint64_t now = uv_now(worker_.loop());
  uv_timer_start(&timer_, on_timer, *deadline > now ? *deadline - now : 0, 0);
}

void Session::on_timer(uv_timer_t* t) noexcept {
  static_cast<Session*>(t->data)->timer_fired();
}

void Session::timer_fired() {
  const conf::Timeouts& ft = frontend_.conf.timeouts;
  const conf::Timeouts& bt = frontend_.backend->conf.timeouts;
  uint64_t now = uv_now(worker_.loop());
  switch (phase_) {
    case Phase::Queued:
      close("sQ");
      return;
    case Phase::Connecting:
      connect_failed("sC");
      return;
    case Phase::TurnAround:
      connect();
      return;
    case Phase::Relaying: {
      // The timer is armed lazily: activity since it was set pushes the
      // deadline back instead of re-arming on every read.
      bool half = client_side_.read_eof || server_side_.read_eof;
      auto expired = [&](const Side& side, const std::optional<conf::Duration>& t) {
        return t && now >= side.last_activity + static_cast<uint64_t>(t->count());
      };
      if (expired(client_side_, half ? ft.client_fin : (bt.tunnel ? bt.tunnel : ft.client))) {
        close("cD");
      } else if (expired(server_side_,
                         half ? bt.server_fin : (bt.tunnel ? bt.tunnel : bt.server))) {
        close("sD");
      } else {
        arm_timer();
      }
      return;
    }
    case Phase::Accepted:
    case Phase::Closing:
      return;
  }
}

void Session::close(const char code[2]) {
  if (phase_ == Phase::Closing) return;
  if (phase_ == Phase::Queued) leave_queue();
  phase_ = Phase::Closing;
  std::memcpy(termination_, code, 2);
  auto close_handle = [&](void* h, uv_close_cb cb) {
    ++pending_closes_;
    uv_close(static_cast<uv_handle_t*>(h), cb);
  };
  close_handle(&client_, on_closed);
  close_handle(&timer_, on_closed);
  if (server_handle_ == ServerHandle::Open)
    close_handle(&server_tcp_, on_closed);
  else if (server_handle_ == ServerHandle::ClosingForRetry)
    ++pending_closes_;
  server_handle_ = ServerHandle::None;
}

void Session::on_closed(uv_handle_t* h) noexcept {
  auto* s = static_cast<Session*>(h->data);
  if (--s->pending_closes_ == 0) s->finish();
}

void Session::finish() {
  const Runtime& rt = worker_.runtime();
  uint64_t now = uv_now(worker_.loop());
  // As in HAProxy, the counts logged include this session on the frontend
  // side but not on the backend side, which it has already left.
  if (server_) frontend_.backend->release(server_);
  if (!frontend_.log.empty()) {
    AccessRecord r;
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(client_v6_ ? AF_INET6 : AF_INET, client_addr_, text, sizeof text);
    r.client_addr = text;
    r.client_port = client_port_;
    r.accept_unix_ms = accept_unix_ms_;
    r.frontend = frontend_.conf.name;
    r.backend = frontend_.backend->conf.name;
    if (server_) r.server = server_->conf.name;
    r.queue_ms = queue_ms_;
    r.connect_ms = connect_ms_;
    r.total_ms = static_cast<int64_t>(now - accept_ms_);
    r.bytes_to_client = bytes_to_client_;
    std::memcpy(r.termination, termination_, 2);
    r.actconn = rt.active.load(std::memory_order_relaxed);
    r.feconn = frontend_.active.load(std::memory_order_relaxed);
    r.beconn = frontend_.backend->active.load(std::memory_order_relaxed);
    r.srvconn = server_ ? server_->active.load(std::memory_order_relaxed) : 0;
    r.retries = retries_;
    r.redispatched = redispatched_;
    r.backend_queue = frontend_.backend->queued.load(std::memory_order_relaxed);
    std::string line = format_tcplog(r);
    for (const auto& sink : frontend_.log)
      sink->write(line, Level::Info);
  }
  if (holds_slots_) {
    frontend_.active.fetch_sub(1, std::memory_order_acq_rel);
    rt.active.fetch_sub(1, std::memory_order_acq_rel);
  }
  bool released = holds_slots_ || server_;
  Worker& worker = worker_;
  worker.remove(this);
  delete this;
  if (released) worker.slot_released();
}

}  // namespace mqlb::lb
