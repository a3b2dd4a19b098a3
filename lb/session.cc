#include "lb/session.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "lb/access_log.h"
#include "lb/free_list.h"
#include "lb/worker.h"

namespace mqlb::lb {
namespace {

bool is_resource_error(int rc) {
  return rc == UV_EMFILE || rc == UV_ENFILE || rc == UV_ENOBUFS;
}

// Sessions are created and freed on the thread of their worker.
thread_local FreeList<sizeof(Session), 1024> session_blocks;

}  // namespace

void* Session::operator new(size_t size) {
  return session_blocks.get();
}

void Session::operator delete(void* p) {
  session_blocks.put(p);
}

Session::Session(Worker& worker, std::shared_ptr<const Runtime> runtime, const Frontend& frontend)
    : worker_(worker),
      runtime_(std::move(runtime)),
      frontend_(frontend),
      frontend_totals_(&frontend.state->totals.at(worker.index())) {
  uv_tcp_init(worker.loop(), &client_);
  uv_timer_init(worker.loop(), &timer_);
  client_.data = this;
  timer_.data = this;
  accept_ms_ = uv_now(worker.loop());
}

Session::~Session() {
  // In-flight writes were cancelled before the close callbacks.
  client_side_.out.clear(worker_.chunks());
  server_side_.out.clear(worker_.chunks());
}

void Session::start(int fd, const sockaddr_storage& peer) {
  worker_.add(this);
  frontend_totals_->sessions.add();
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
    close(Termination::ClientAbortConnect);
    return;
  }
  uv_tcp_nodelay(&client_, 1);
  // The client is watched from the start: what it sends before the server
  // is connected waits in the server's outbox (up to tune.bufsize), and a
  // client that resets while queued or connecting is let go at once.
  set_reading(client_side_, true);
  if (!backend().has_usable_server()) {
    close(Termination::ServerRefused);  // HAProxy: no server available, logged as <NOSRV>
    return;
  }
  // Newcomers wait behind the sessions already waiting for this backend,
  // except a source pick for a server nobody waits for.
  const bool others_wait = backend().state->queued() > 0;
  if (others_wait && backend().conf.balance != conf::Balance::Source) {
    enqueue(nullptr);
    return;
  }
  Backend::Pick pick = backend().acquire(worker_.index(), client_hash(), nullptr);
  if (pick.server && others_wait && pick.server->state->queue.size() > 0) {
    backend().release(pick.server);
    pick = {nullptr, pick.server};
  }
  if (!pick.server) {
    enqueue(pick.pinned);
    return;
  }
  assign(pick.server);
  queue_ms_ = 0;
  connect();
}

uint32_t Session::client_hash() const {
  return balancer::hash_address({client_addr_, client_v6_ ? 16u : 4u});
}

void Session::enqueue(const Server* pinned) {
  phase_ = Phase::Queued;
  phase_start_ = uv_now(worker_.loop());
  // Only a waiting session pays for a Waiter; it is freed when the grant
  // has been handled or, after a close, when the session ends (a grant in
  // the batch the worker is handling may still point at it until then).
  waiter_ = new (worker_.waiters().get()) Waiter;
  waiter_->sink = &worker_;
  waiter_->owner = this;
  waiter_->server = pinned ? pinned->state.get() : nullptr;
  backend().state->enqueue(waiter_);
  // Pairs with the fence in ServerState::release: a slot released before
  // this waiter was visible woke nobody, so hand out free slots now. The
  // grant, even to this session, comes through the worker's inbox.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (const auto& s : backend().servers)
    if (s->state->usable()) backend().state->dispatch(*s->state);
  arm_timer();
}

void Session::on_granted() {
  if (phase_ != Phase::Queued) return;  // closed meanwhile; close() released the slot
  const Server* s = backend().find(waiter_->granted);
  note_queue_position();
  worker_.waiters().put(waiter_);  // its grant is the message being handled
  waiter_ = nullptr;
  backend().state->active.take();
  assign(s);
  queue_ms_ = static_cast<int32_t>(uv_now(worker_.loop()) - phase_start_);
  connect();
}

void Session::note_queue_position() {
  queue_position_ = waiter_->processed_before;
  in_server_queue_ = waiter_->server != nullptr;
}

void Session::assign(const Server* s) {
  server_ = s;
  server_totals_ = &s->state->totals.at(worker_.index());
  server_totals_->sessions.add();
  backend().state->totals.at(worker_.index()).sessions.add();
}

void Session::connect() {
  phase_ = Phase::Connecting;
  phase_start_ = uv_now(worker_.loop());
  uv_tcp_init(worker_.loop(), &server_tcp_);
  server_tcp_.data = this;
  server_handle_ = ServerHandle::Open;
  uv_tcp_nodelay(&server_tcp_, 1);  // applied when libuv creates the socket
  auto* req = static_cast<uv_connect_t*>(worker_.connect_reqs().get());
  req->data = this;
  int rc = uv_tcp_connect(req, &server_tcp_, reinterpret_cast<const sockaddr*>(&server_->addr),
                          on_connect);
  if (rc != 0) {
    worker_.connect_reqs().put(req);
    if (is_resource_error(rc)) warn_fd_exhaustion(*runtime_, worker_.index(), rc);
    connect_failed(is_resource_error(rc) ? Termination::ResourceConnect
                                         : Termination::ServerRefused);
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
  s->worker_.connect_reqs().put(req);
  // Cancelled: the handle was closed for a retry or for the end of the session.
  if (status == UV_ECANCELED || s->phase_ != Phase::Connecting) return;
  if (status < 0) {
    s->connect_failed(is_resource_error(status) ? Termination::ResourceConnect
                                                : Termination::ServerRefused);
    return;
  }
  s->connect_ms_ = static_cast<int32_t>(uv_now(s->worker_.loop()) - s->phase_start_);
  s->relay_start();
}

void Session::connect_failed(Termination t) {
  server_totals_->connect_errors.add();
  backend().state->totals.at(worker_.index()).connect_errors.add();
  if (retries_ >= backend().conf.retries || t == Termination::ResourceConnect) {
    close(t);
    return;
  }
  ++retries_;
  server_totals_->retries.add();
  backend().state->totals.at(worker_.index()).retries.add();
  phase_ = Phase::TurnAround;
  phase_start_ = uv_now(worker_.loop());
  termination_ = t;
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
  s->redispatch_or_wait();
}

void Session::redispatch_or_wait() {
  // HAProxy `option redispatch`: the last retry goes to another server, at
  // once; earlier retries wait a turn-around of min(timeout connect, 1s) so
  // a restarting server is not hammered.
  if (backend().conf.redispatch && retries_ == backend().conf.retries) {
    const Server* old = server_;
    Backend::Pick other = backend().acquire(worker_.index(), client_hash(), old);
    if (other.server) {
      backend().release(old);
      redispatched_ = other.server != old;
      if (redispatched_) {
        assign(other.server);
        server_totals_->redispatches.add();
        backend().state->totals.at(worker_.index()).redispatches.add();
      }
      server_ = other.server;
      connect();
      return;
    }
  }
  arm_timer();
}

void Session::relay_start() {
  phase_ = Phase::Relaying;
  uint64_t now = uv_now(worker_.loop());
  client_side_.last_activity = server_side_.last_activity = since_accept(now);
  flush(server_side_);  // what the client sent while we were connecting
  maybe_shutdown(server_side_);
  if (server_side_.out.size() < runtime_->config.global.tune.relay_high_water)
    set_reading(client_side_, true);
  else
    hold(client_side_, true);
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

void Session::hold(Side& from, bool held) {
  from.held = held && !from.read_eof;
  set_reading(from, !held);
}

void Session::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  // One buffer per loop: libuv calls alloc, read, read_cb in sequence, and
  // every read is written onward or copied out before the callback returns.
  auto* s = static_cast<Session*>(h->data);
  size_t size = Worker::kReadBufferSize;
  if (h == reinterpret_cast<uv_handle_t*>(&s->client_) && s->phase_ != Phase::Relaying) {
    // Not connected yet: read no more than tune.bufsize in all (the rest
    // waits in the kernel), so a queued client costs a bounded buffer.
    size_t limit = s->runtime_->config.global.tune.bufsize;
    size = limit - std::min(limit, s->server_side_.out.size());
  }
  *buf = uv_buf_init(s->worker_.read_buffer(), static_cast<unsigned>(size));
}

void Session::on_client_read(uv_stream_t* h, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* s = static_cast<Session*>(h->data);
  if (nread > 0) {
    s->count_bytes(false, static_cast<size_t>(nread));
    s->send(s->server_side_, s->client_side_, buf->base, static_cast<size_t>(nread));
  } else {
    s->on_read(s->client_side_, s->server_side_, nread);
  }
}

void Session::on_server_read(uv_stream_t* h, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* s = static_cast<Session*>(h->data);
  if (nread > 0) {
    s->count_bytes(true, static_cast<size_t>(nread));
    s->send(s->client_side_, s->server_side_, buf->base, static_cast<size_t>(nread));
  } else {
    s->on_read(s->server_side_, s->client_side_, nread);
  }
}

void Session::count_bytes(bool to_client, size_t n) {
  Counter Totals::*field = to_client ? &Totals::bytes_out : &Totals::bytes_in;
  (frontend_totals_->*field).add(n);
  if (server_totals_) (server_totals_->*field).add(n);
  if (to_client) bytes_to_client_ += n;
}

void Session::on_read(Side& from, Side& to, ssize_t nread) {
  if (nread == 0 || nread == UV_ENOBUFS) return;  // EAGAIN, or a zero-sized buffer
  bool relaying = phase_ == Phase::Relaying;
  if (nread != UV_EOF || (phase_ == Phase::Queued)) {
    // A reset, or a client giving up while queued (HAProxy's abortonclose):
    // C = the client, then the phase it left in.
    if (relaying)
      close(is_client(from) ? Termination::ClientAbort : Termination::ServerAbort);
    else
      close(phase_ == Phase::Queued ? Termination::ClientAbortQueue
                                    : Termination::ClientAbortConnect);
    return;
  }
  // Half-close: pass the FIN on once everything before it is written (and,
  // while still connecting, once the server is there).
  set_reading(from, false);
  from.read_eof = true;
  from.held = false;
  to.write_state = HalfClose::ShutdownPending;
  if (!relaying) return;
  maybe_shutdown(to);
  maybe_finish();
  if (phase_ == Phase::Relaying) arm_timer();  // the *-fin timeouts apply now
}

void Session::send(Side& to, Side& from, const char* data, size_t n) {
  from.last_activity = since_accept(uv_now(worker_.loop()));
  if (to.out.empty() && phase_ == Phase::Relaying) {
    uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(n));
    int r = uv_try_write(stream(to), &b, 1);
    if (r > 0) {
      to.last_activity = from.last_activity;
      data += r;
      n -= static_cast<size_t>(r);
      if (n == 0) return;
    } else if (r != UV_EAGAIN) {
      close(is_client(to) ? Termination::ClientAbort : Termination::ServerAbort);
      return;
    }
  }
  to.out.append(worker_.chunks(), data, n);
  flush(to);
  const conf::Tune& tune = runtime_->config.global.tune;
  if (phase_ != Phase::Relaying) {
    if (to.out.size() >= tune.bufsize) set_reading(from, false);
  } else if (to.out.size() >= tune.relay_high_water) {
    hold(from, true);
  }
}

void Session::flush(Side& to) {
  if (to.write || phase_ != Phase::Relaying) return;
  uv_buf_t bufs[Outbox::kMaxBufs];
  int n = to.out.start_write(bufs);
  if (n == 0) return;
  to.write = static_cast<uv_write_t*>(worker_.write_reqs().get());
  to.write->data = this;
  int rc = uv_write(to.write, stream(to), bufs, static_cast<unsigned>(n), on_write);
  if (rc != 0) {
    worker_.write_reqs().put(to.write);
    to.write = nullptr;
    close(is_client(to) ? Termination::ClientAbort : Termination::ServerAbort);
    return;
  }
  to.write_mark = static_cast<uint32_t>(stream(to)->write_queue_size);
}

void Session::on_write(uv_write_t* req, int status) noexcept {
  auto* s = static_cast<Session*>(req->data);
  Side& to = req->handle == reinterpret_cast<uv_stream_t*>(&s->client_) ? s->client_side_
                                                                        : s->server_side_;
  s->worker_.write_reqs().put(req);
  to.write = nullptr;
  if (status == UV_ECANCELED) return;  // the session is closing
  to.out.write_done(s->worker_.chunks());
  s->write_done(to, status);
}

void Session::write_done(Side& to, int status) {
  if (status < 0) {
    close(is_client(to) ? Termination::ClientAbort : Termination::ServerAbort);
    return;
  }
  to.last_activity = since_accept(uv_now(worker_.loop()));
  flush(to);
  Side& from = peer(to);
  if (from.held && to.out.size() < runtime_->config.global.tune.relay_low_water) {
    hold(from, false);
    from.last_activity = to.last_activity;  // its clock starts again now
  }
  maybe_shutdown(to);
  maybe_finish();
}

void Session::maybe_shutdown(Side& to) {
  if (to.write_state != HalfClose::ShutdownPending || !to.out.empty()) return;
  to.write_state = HalfClose::Shut;
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
              client_side_.write_state == HalfClose::Shut &&
              server_side_.write_state == HalfClose::Shut;
  if (done && phase_ == Phase::Relaying) close(Termination::Normal);
}

TimerView Session::timer_view() const {
  TimerView v;
  switch (phase_) {
    case Phase::Queued:
      v.phase = SessionPhase::Queued;
      break;
    case Phase::Connecting:
      v.phase = SessionPhase::Connecting;
      break;
    case Phase::TurnAround:
      v.phase = SessionPhase::TurnAround;
      break;
    default:
      v.phase = SessionPhase::Relaying;
      break;
  }
  v.phase_start = phase_start_;
  v.client = {accept_ms_ + client_side_.last_activity, client_side_.held};
  v.server = {accept_ms_ + server_side_.last_activity, server_side_.held};
  v.half_closed = client_side_.read_eof || server_side_.read_eof;
  return v;
}

void Session::arm_timer() {
  if (phase_ == Phase::Accepted || phase_ == Phase::Closing) return;
  auto deadline = next_deadline(timer_view(), frontend_.conf.timeouts, backend().conf.timeouts);
  if (!deadline) {
    uv_timer_stop(&timer_);
    return;
  }
  uint64_t now = uv_now(worker_.loop());
  uv_timer_start(&timer_, on_timer, deadline->at > now ? deadline->at - now : 0, 0);
}

void Session::on_timer(uv_timer_t* t) noexcept {
  static_cast<Session*>(t->data)->timer_fired();
}

// A write that libuv is still pushing out a little at a time is activity
// too: its completion alone would come only after the whole outbox left.
void Session::note_write_progress(Side& side, uint64_t now) {
  if (!side.write) return;
  size_t queued = stream(side)->write_queue_size;
  if (queued < side.write_mark) side.last_activity = since_accept(now);
  side.write_mark = static_cast<uint32_t>(queued);
}

void Session::timer_fired() {
  if (phase_ == Phase::Accepted || phase_ == Phase::Closing) return;
  uint64_t now = uv_now(worker_.loop());
  if (phase_ == Phase::Relaying) {
    note_write_progress(client_side_, now);
    note_write_progress(server_side_, now);
  }
  // The timer is armed lazily: activity since it was set pushes the
  // deadline back instead of re-arming on every read.
  auto deadline = next_deadline(timer_view(), frontend_.conf.timeouts, backend().conf.timeouts);
  if (!deadline || deadline->at > now) {
    arm_timer();
    return;
  }
  switch (deadline->what) {
    case Expiry::Queue:
      close(Termination::QueueTimeout);
      return;
    case Expiry::Connect:
      connect_failed(Termination::ConnectTimeout);
      return;
    case Expiry::TurnAround:
      connect();
      return;
    case Expiry::Client:
      close(Termination::ClientTimeout);
      return;
    case Expiry::Server:
      close(Termination::ServerTimeout);
      return;
  }
}

void Session::kill() {
  switch (phase_) {
    case Phase::Queued:
      close(Termination::KilledQueue);
      return;
    case Phase::Relaying:
      close(Termination::KilledData);
      return;
    case Phase::Closing:
      return;
    default:
      close(Termination::KilledConnect);
      return;
  }
}

void Session::close(Termination t) {
  if (phase_ == Phase::Closing) return;
  if (phase_ == Phase::Queued) {
    // A grant may have raced with the end of the wait: the slot it gave is
    // this session's, so it goes back.
    ServerState* granted = backend().state->leave(waiter_);
    note_queue_position();
    if (granted) {
      worker_.cancel_grant(waiter_);
      granted->release();
    }
  }
  phase_ = Phase::Closing;
  termination_ = t;
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
  const Runtime& rt = *runtime_;
  uint64_t now = uv_now(worker_.loop());
  // As in HAProxy, the counts logged include this session on the frontend
  // side but not on the backend side, which it has already left.
  if (server_) backend().release(server_);
  if (!frontend_.log.empty()) {
    AccessRecord r;
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(client_v6_ ? AF_INET6 : AF_INET, client_addr_, text, sizeof text);
    r.client_addr = text;
    r.client_port = client_port_;
    // The wall clock at accept, from the loop clock's age of the session.
    r.accept_unix_ms = unix_now_ms() - static_cast<int64_t>(now - accept_ms_);
    r.frontend = frontend_.conf.name;
    r.backend = backend().conf.name;
    if (server_) r.server = server_->conf.name;
    r.queue_ms = queue_ms_;
    r.connect_ms = connect_ms_;
    r.total_ms = static_cast<int64_t>(now - accept_ms_);
    r.bytes_to_client = bytes_to_client_;
    std::memcpy(r.termination, code(termination_).data(), 2);
    r.actconn = rt.process->active.get();
    r.feconn = frontend_.state->active.get();
    r.beconn = backend().state->active.get();
    r.srvconn = server_ ? server_->state->active.get() : 0;
    r.retries = retries_;
    r.redispatched = redispatched_;
    // HAProxy's %sq / %bq: how many were served from the queue this
    // session waited in before it left; 0 for a session that never queued.
    (in_server_queue_ ? r.srv_queue : r.backend_queue) = queue_position_;
    log_access(r, frontend_.log);
  }
  frontend_.state->active.give();
  rt.process->active.give();
  if (waiter_) worker_.waiters().put(waiter_);
  // The snapshot may go with this session: keep it until the end.
  std::shared_ptr<const Runtime> keep = std::move(runtime_);
  Worker& worker = worker_;
  worker.remove(this);
  delete this;
  worker.slots_released(*keep);
}

}  // namespace mqlb::lb
