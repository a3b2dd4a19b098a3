#include "lb/session.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>

#include "lb/access_log.h"
#include "lb/address.h"
#include "lb/free_list.h"
#include "lb/worker.h"
#include "tls/stream.h"

namespace mqlb::lb {
namespace {

// The histograms count microseconds; the session's times are the loop's
// milliseconds (the access log's), so no clock is read for them.
uint64_t ms_to_us(int32_t ms) {
  return static_cast<uint64_t>(ms < 0 ? 0 : ms) * 1000;
}

bool is_resource_error(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// HAProxy's clitcpka/srvtcpka: the kernel's keepalive probes, at its
// default timings (net.ipv4.tcp_keepalive_*), find a peer that vanished.
void set_keepalive(int fd) {
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

// Reads per readiness event before a side yields to the rest of the loop
// (it reads on from the worker's again list).
constexpr int kReadBudget = 16;

// Sessions are created and freed on the thread of their worker.
thread_local FreeList<sizeof(Session), 1024> session_blocks;

}  // namespace

// A TLS side: the stream, whose BIO reads and writes through the session's
// socket path for this side.
struct Session::TlsSide final : tls::Transport {
  TlsSide(Session& s, Side& sd, SSL* ssl) : session(s), side(sd), stream(ssl, *this) {}
  ssize_t tls_recv(char* buf, size_t n) override { return session.receive(side, buf, n); }
  bool tls_send(const char* data, size_t n) override { return session.transmit(side, data, n); }

  Session& session;
  Side& side;
  tls::Stream stream;
  // To a server: plaintext the client sent before the handshake with the
  // server completed, encrypted once it has.
  Outbox early;
};

void* Session::operator new(size_t) {
  return session_blocks.get();
}

void Session::operator delete(void* p) {
  session_blocks.put(p);
}

Session::Session(Worker& worker, std::shared_ptr<const Runtime> runtime, const Frontend& frontend,
                 const Bind& bind)
    : worker_(worker),
      runtime_(std::move(runtime)),
      frontend_(frontend),
      bind_(bind),
      backend_(frontend.backend),
      frontend_totals_(&frontend.state->totals.at(worker.index())) {
  uv_timer_init(worker.loop(), &timer_);
  timer_.data = this;
  accept_ms_ = uv_now(worker.loop());
}

Session::~Session() {
  client_side_.out.clear(worker_.chunks());
  server_side_.out.clear(worker_.chunks());
}

uint64_t Session::now() const {
  return uv_now(worker_.loop());
}

void Session::start(int fd, const sockaddr_storage& peer) {
  worker_.add(this);
  frontend_totals_->sessions.add();
  const IpPort client = ip_port(peer);
  std::memcpy(client_addr_, client.bytes, client.size);
  client_port_ = client.port;
  client_v6_ = client.size == 16;
  const conf::LogFormat& format = frontend_.conf.log_format;
  if (!frontend_.log.empty() && !format.empty()) {
    const bool local =
        format.uses(conf::LogVar::FrontendIp) || format.uses(conf::LogVar::FrontendPort);
    const bool ssl = bind_.tls && (format.uses(conf::LogVar::SslVersion) ||
                                   format.uses(conf::LogVar::SslCipher));
    if (local || ssl) {
      extras_ = std::make_unique<FormatExtras>();
      extras_->wants_ssl = ssl;
    }
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (local && getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
        addr.ss_family == peer.ss_family) {
      const IpPort local_end = ip_port(addr);
      std::memcpy(extras_->local_addr, local_end.bytes, local_end.size);
      extras_->local_port = local_end.port;
      extras_->local_known = true;
    }
  }
  // accept4 made it non-blocking already. The client is watched from the
  // start: what it sends before the server is connected waits in the
  // server's outbox (up to tune.bufsize), and a client that resets while
  // queued or connecting is let go at once.
  client_side_.fd = fd;
  set_nodelay(fd);
  if (frontend_.conf.clitcpka) set_keepalive(fd);
  if (!worker_.watch(fd, reinterpret_cast<uintptr_t>(this))) {
    close(Termination::ClientAbortConnect);
    return;
  }
  if (bind_.tls) {
    // The handshake first: no server is picked for a client that never
    // completes it. Its ClientHello brings the first readiness event.
    SSL* ssl = bind_.tls->new_ssl();
    if (!ssl) {
      handshake_failed(HandshakeEnd::Failed, "out of memory");
      return;
    }
    client_side_.tls = new TlsSide(*this, client_side_, ssl);
    runtime_->process->ssl_sessions.take();  // given back with the stream, in close_socket
    phase_ = Phase::Handshake;
    phase_start_ = now();
    arm_timer();
    return;
  }
  route();
}

void Session::choose_backend() {
  if (frontend_.routes.empty()) return;
  conf::ConnectionFacts facts;
  if (client_side_.tls) {
    facts.tls = true;
    if (const char* sni =
            SSL_get_servername(client_side_.tls->stream.ssl(), TLSEXT_NAMETYPE_host_name))
      facts.sni = sni;
  }
  facts.src = client_addr_;
  facts.src_len = client_v6_ ? 16 : 4;
  facts.dst_port = bind_.conf.port;
  for (const auto& route : frontend_.routes)
    if (conf::matches(route.rule->condition, facts) != route.rule->unless) {
      backend_ = route.backend;
      return;
    }
}

void Session::route() {
  choose_backend();
  if (!backend().has_usable_server()) {
    frontend_totals_->no_server.add();
    backend().state->totals.at(worker_.index()).no_server.add();
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
  phase_start_ = now();
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
  pump(client_side_);  // what it sent already, up to tune.bufsize
}

void Session::on_granted() {
  if (phase_ != Phase::Queued) return;  // closed meanwhile; close() released the slot
  if (waiter_->refused) {
    // Its server went down and the backend does not redispatch.
    close(Termination::ServerDownQueued);
    return;
  }
  const Server* s = backend().find(waiter_->granted);
  if (!s) {
    // A server of another snapshot of this backend (a reload) freed the
    // slot: not one this session can connect to. Give it on and wait anew.
    waiter_->granted->release();
    worker_.waiters().put(waiter_);
    waiter_ = nullptr;
    enqueue(nullptr);
    return;
  }
  note_queue_position();
  worker_.waiters().put(waiter_);  // its grant is the message being handled
  waiter_ = nullptr;
  backend().state->active.take();
  assign(s);
  queue_ms_ = static_cast<int32_t>(now() - phase_start_);
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
  phase_start_ = now();
  const sockaddr* addr = reinterpret_cast<const sockaddr*>(&server_->addr);
  int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int error = errno;
    if (is_resource_error(error))
      warn_fd_exhaustion(*runtime_, worker_.index(), -error, FdUse::Connect);
    connect_failed(is_resource_error(error) ? Termination::ResourceConnect
                                            : Termination::ServerRefused);
    return;
  }
  // A fresh server side (a retry starts over); its outbox keeps what the
  // client sent meanwhile.
  server_side_.fd = fd;
  server_side_.readable = server_side_.fin_seen = server_side_.read_eof = false;
  server_side_.error_seen = false;
  server_side_.held = false;
  set_nodelay(fd);
  if (backend().conf.srvtcpka) set_keepalive(fd);
  socklen_t len = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::connect(fd, addr, len) != 0 && errno != EINPROGRESS) {
    connect_failed(Termination::ServerRefused);
    return;
  }
  // One registration for the whole connection: EPOLLOUT says connected,
  // EPOLLERR/EPOLLHUP refused, and later events need no epoll_ctl.
  if (!worker_.watch(fd, reinterpret_cast<uintptr_t>(this) | 1)) {
    connect_failed(Termination::ResourceConnect);
    return;
  }
  server_side_.writable = false;
  arm_timer();
}

void Session::connected() {
  if (!server_side_.tls) observe_connect(true);
  if (server_->tls && !server_side_.tls) {
    // TLS to the server: the handshake is part of connecting (timeout
    // connect), and what the client sent so far waits in plaintext.
    SSL* ssl = server_->tls->new_ssl();
    if (!ssl) {
      connect_failed(Termination::ResourceConnect);
      return;
    }
    server_side_.tls = new TlsSide(*this, server_side_, ssl);
    server_side_.tls->early.swap(server_side_.out);
    server_handshake_step();
    return;
  }
  connect_ms_ = static_cast<int32_t>(now() - phase_start_);
  backend().state->connect_time.at(worker_.index()).observe(kShortBounds, ms_to_us(connect_ms_));
  relay_start();
}

void Session::server_handshake_step() {
  tls::Stream& stream = server_side_.tls->stream;
  switch (stream.handshake()) {
    case tls::Stream::Status::Done:
      server_totals_->tls_handshakes.add();
      if (SSL_session_reused(stream.ssl())) server_totals_->tls_resumed.add();
      connected();
      return;
    case tls::Stream::Status::WantIo:
      return;
    case tls::Stream::Status::Eof:
    case tls::Stream::Status::Failed:
      (stream.closed_early() ? server_totals_->tls_closed : server_totals_->tls_failed).add();
      if (!stream.reason().empty())
        log_event(Level::Warning, "TLS to server " + server_->id + " failed: " + stream.reason(),
                  runtime_->event_log);
      connect_failed(Termination::ServerRefused);
      return;
  }
}

void Session::close_socket(Side& side) {
  if (side.fd >= 0) ::close(side.fd);  // leaves the epoll set with it
  side.fd = -1;
  worker_.forget_again(&side.again, this);
  if (side.tls) {
    if (is_client(side)) runtime_->process->ssl_sessions.give();
    // A retry starts over with the client's plaintext, not the records
    // encrypted for this connection.
    side.out.clear(worker_.chunks());
    side.out.swap(side.tls->early);
    delete side.tls;
    side.tls = nullptr;
  }
}

void Session::handshake_step() {
  tls::Stream& stream = client_side_.tls->stream;
  switch (stream.handshake()) {
    case tls::Stream::Status::Done:
      handshake_completed();
      return;
    case tls::Stream::Status::WantIo:
      return;
    case tls::Stream::Status::Eof:
    case tls::Stream::Status::Failed:
      if (stream.closed_early())
        handshake_failed(HandshakeEnd::Closed, "");
      else
        handshake_failed(HandshakeEnd::Failed, stream.reason());
      return;
  }
}

void Session::handshake_completed() {
  const tls::Stream& stream = client_side_.tls->stream;
  worker_.handshake_ended();
  frontend_totals_->tls_handshakes.add();
  if (SSL_session_reused(stream.ssl())) frontend_totals_->tls_resumed.add();
  if (wants_level(frontend_.log, Level::Debug)) {
    std::string line = line_prefix() +
                       "TLS handshake done: worker=" + std::to_string(worker_.index() + 1) + " " +
                       stream.describe();
    for (const auto& sink : frontend_.log)
      sink->write(line, Level::Debug);
  }
  client_side_.last_activity = since_accept(now());
  handshake_ms_ = static_cast<int32_t>(now() - accept_ms_);
  frontend_.state->handshake_duration.at(worker_.index())
      .observe(kShortBounds, ms_to_us(handshake_ms_));
  if (extras_ && extras_->wants_ssl) {
    extras_->ssl_version = SSL_get_version(stream.ssl());
    extras_->ssl_cipher = SSL_get_cipher_name(stream.ssl());
  }
  route();
  // Application data that came with the handshake's last flight waits in
  // the stream, with no readiness event to come for it.
  if (phase_ == Phase::Connecting || phase_ == Phase::Queued) pump(client_side_);
}

void Session::handshake_failed(HandshakeEnd how, const std::string& reason) {
  handshake_end_ = how;
  worker_.handshake_ended();
  switch (how) {
    case HandshakeEnd::Failed:
      frontend_totals_->tls_failed.add();
      break;
    case HandshakeEnd::Timeout:
      frontend_totals_->tls_timeouts.add();
      break;
    default:
      frontend_totals_->tls_closed.add();
      break;
  }
  // HAProxy's line for a connection that never became a session, with the
  // reason in words when OpenSSL gave one.
  // HAProxy's dontlognull keeps quiet about a handshake that was closed,
  // aborted or timed out, and logs one that failed.
  const bool quiet = frontend_.conf.dontlognull && how != HandshakeEnd::Failed;
  if (!frontend_.log.empty() && !quiet) {
    std::string line = line_prefix();
    switch (how) {
      case HandshakeEnd::Failed:
        line += "SSL handshake failure";
        if (!reason.empty()) line += ": " + reason;
        break;
      case HandshakeEnd::Timeout:
        line += "Timeout during SSL handshake";
        break;
      case HandshakeEnd::Stopped:
        line += "Stopped during SSL handshake";
        break;
      default:
        line += "Connection closed during SSL handshake";
        break;
    }
    for (const auto& sink : frontend_.log)
      sink->write(line, Level::Info);
  }
  close(Termination::ClientAbortConnect);
}

std::string Session::line_prefix() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(client_v6_ ? AF_INET6 : AF_INET, client_addr_, text, sizeof text);
  int64_t accept_unix = unix_now_ms() - static_cast<int64_t>(now() - accept_ms_);
  return std::string(text) + ":" + std::to_string(client_port_) + " [" +
         format_accept_date(accept_unix) + "] " + frontend_.conf.name + "/" + bind_.conf.name +
         ": ";
}

ssize_t Session::receive(Side& from, char* buf, size_t n) {
  // The same edge-triggered rules as the plain path: no read once a short
  // read drained the socket, and then a FIN seen is the end.
  if (!from.readable) {
    if (from.fin_seen && !from.error_seen) return 0;
    errno = EAGAIN;
    return -1;
  }
  for (;;) {
    ssize_t got = ::recv(from.fd, buf, n, 0);
    if (got > 0) {
      if (static_cast<size_t>(got) < n && !from.error_seen) from.readable = false;
      return got;
    }
    if (got == 0) {
      from.readable = false;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) from.readable = false;
    return -1;
  }
}

bool Session::transmit(Side& to, const char* data, size_t n) {
  const uint32_t t = since_accept(now());
  if (to.out.empty() && to.writable && to.fd >= 0) {
    ssize_t r = ::send(to.fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r > 0) {
      to.last_activity = t;
      data += r;
      n -= static_cast<size_t>(r);
      if (n == 0) return true;
      to.writable = false;  // a partial send: the socket buffer is full
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      to.writable = false;
    } else {
      return false;
    }
  }
  to.out.append(worker_.chunks(), data, n);
  return true;
}

void Session::observe_connect(bool ok) {
  const conf::ServerCheck& check = server_->conf.check;
  if (check.observe && server_->state->observe_connect(ok, check.error_limit))
    runtime_->process->traffic_errors.report(server_->state);
}

void Session::connect_failed(Termination t) {
  close_socket(server_side_);
  // A local shortage (descriptors, memory) says nothing about the server.
  if (t != Termination::ResourceConnect) observe_connect(false);
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
  phase_start_ = now();
  termination_ = t;
  redispatch_or_wait();
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
  uint32_t t = since_accept(now());
  client_side_.last_activity = server_side_.last_activity = t;
  if (server_side_.tls) {
    // What the client sent while connecting, encrypted now.
    Outbox& early = server_side_.tls->early;
    while (!early.empty()) {
      iovec bufs[Outbox::kMaxBufs];
      int n = early.gather(bufs);
      size_t taken = 0;
      for (int i = 0; i < n; ++i) {
        if (!server_side_.tls->stream.write(static_cast<const char*>(bufs[i].iov_base),
                                            bufs[i].iov_len)) {
          early.clear(worker_.chunks());
          abort_write(server_side_);
          return;
        }
        taken += bufs[i].iov_len;
      }
      early.consume(worker_.chunks(), taken);
    }
  }
  flush(server_side_);  // what the client sent while we were connecting
  if (phase_ == Phase::Closing) return;
  maybe_shutdown(server_side_);
  if (server_side_.out.size() >= runtime_->config.global.tune.relay_high_water)
    hold(client_side_, true);
  arm_timer();
  pump(server_side_);
  if (phase_ == Phase::Closing) return;
  pump(client_side_);
  if (phase_ == Phase::Closing) return;
  maybe_finish();
}

void Session::on_events(uint64_t tag, uint32_t events) {
  auto* s = reinterpret_cast<Session*>(static_cast<uintptr_t>(tag & ~uint64_t{1}));
  s->side_ready((tag & 1) ? s->server_side_ : s->client_side_, events);
}

void Session::side_ready(Side& side, uint32_t events) {
  // A closed session's events may still be in the batch the worker is
  // handling (it is freed only in the timer's close callback, later).
  if (phase_ == Phase::Closing || side.fd < 0) return;
  const bool failed = events & (EPOLLERR | EPOLLHUP);
  if (!is_client(side) && phase_ == Phase::Connecting && side.tls) {
    // Connected, in the TLS handshake with the server.
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) side.writable = true;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) side.readable = true;
    if (failed)
      side.error_seen = true;
    else if (events & EPOLLRDHUP)
      side.fin_seen = true;
    if (side.writable && !side.out.empty()) {
      flush(side);
      if (phase_ == Phase::Closing) return;
    }
    server_handshake_step();
    return;
  }
  if (!is_client(side) && phase_ == Phase::Connecting) {
    if (failed) {
      connect_failed(Termination::ServerRefused);
      return;
    }
    if (!(events & EPOLLOUT)) return;
    side.writable = true;
    if (events & (EPOLLIN | EPOLLRDHUP)) side.readable = true;
    if (events & EPOLLRDHUP) side.fin_seen = true;
    connected();
    return;
  }
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) side.writable = true;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) side.readable = true;
  // A reset comes as EPOLLERR/EPOLLHUP: the data before it is still read,
  // then recv reports the error, so no read may be skipped on its account.
  if (failed)
    side.error_seen = true;
  else if (events & EPOLLRDHUP)
    side.fin_seen = true;
  if (phase_ == Phase::Handshake) {
    if (side.writable && !side.out.empty()) {
      flush(side);
      if (phase_ == Phase::Closing) return;
    }
    handshake_step();
    return;
  }
  if (phase_ != Phase::Relaying) {
    // Only the client is open. A reset, or (HAProxy's abortonclose) a FIN
    // while queued, ends the session even when its buffer is full.
    if (failed || (side.fin_seen && phase_ == Phase::Queued && !wants_read(side))) {
      pump(side);
      if (phase_ != Phase::Closing) read_error(side);
      return;
    }
    pump(side);
    return;
  }
  if (side.writable && !side.out.empty()) {
    flush(side);
    if (phase_ == Phase::Closing) return;
  }
  pump(side);
}

bool Session::wants_read(const Side& from) const {
  if (from.read_eof || from.held || from.fd < 0) return false;
  if (phase_ == Phase::Relaying) return true;
  // Before the server is connected only the client is read, to a bound.
  return is_client(from) && phase_ != Phase::Closing && read_limit(from) > 0;
}

size_t Session::read_limit(const Side& from) const {
  if (phase_ == Phase::Relaying) return Worker::kReadBufferSize;
  // Not connected yet: no more than tune.bufsize in all (the rest waits in
  // the kernel), so a queued client costs a bounded buffer.
  size_t limit = runtime_->config.global.tune.bufsize;
  size_t waiting = server_side_.tls ? server_side_.tls->early.size() : server_side_.out.size();
  return std::min(Worker::kReadBufferSize, limit - std::min(limit, waiting));
}

void Session::pump(Side& from) {
  if (from.tls) {
    bool again = false;
    for (int n = 0; (from.readable || from.tls->stream.pending()) && wants_read(from); ++n) {
      if (n == kReadBudget) {
        worker_.again(&from.again, this);
        return;
      }
      pump_tls(from, again);
      if (!again) return;
    }
    return;
  }
  for (int n = 0; from.readable && wants_read(from); ++n) {
    if (n == kReadBudget) {
      worker_.again(&from.again, this);
      return;
    }
    const size_t want = read_limit(from);
    ssize_t got = ::recv(from.fd, worker_.read_buffer(), want, 0);
    if (got > 0) {
      const auto size = static_cast<size_t>(got);
      // A short read drained the socket's queue: no read to learn EAGAIN.
      if (size < want && !from.error_seen) from.readable = false;
      count_bytes(!is_client(from), size);
      send(peer(from), from, worker_.read_buffer(), size);
      if (phase_ == Phase::Closing) return;
      if (!from.readable && from.fin_seen && !from.error_seen)
        read_eof(from);  // the FIN came with it
      continue;
    }
    if (got == 0) {
      read_eof(from);
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      from.readable = false;
      return;
    }
    if (errno == EINTR) continue;
    read_error(from);
    return;
  }
}

void Session::pump_tls(Side& from, bool& again) {
  // Several records per pass, up to the read limit, go on with one send.
  tls::Stream& stream = from.tls->stream;
  char* buf = worker_.read_buffer();
  const size_t want = read_limit(from);
  size_t have = 0;
  tls::Stream::Status status = tls::Stream::Status::Done;
  while (have < want) {
    size_t got = 0;
    status = stream.read(buf + have, want - have, got);
    if (status != tls::Stream::Status::Done) break;
    have += got;
    // A short read drained the socket and OpenSSL holds no more bytes:
    // another SSL_read could only say WANT_READ. (After a FIN or an error
    // one more read is what reports it.)
    if (!from.readable && !from.fin_seen && !from.error_seen && !stream.pending()) {
      status = tls::Stream::Status::WantIo;
      break;
    }
  }
  again = false;
  if (have > 0) {
    count_bytes(!is_client(from), have);
    send(peer(from), from, buf, have);
    if (phase_ == Phase::Closing) return;
  }
  switch (status) {
    case tls::Stream::Status::Done:
      again = true;
      return;
    case tls::Stream::Status::WantIo:
      return;
    case tls::Stream::Status::Eof:
      read_eof(from);
      return;
    case tls::Stream::Status::Failed:
      read_error(from);
      return;
  }
}

void Session::read_again() {
  if (phase_ == Phase::Closing) return;
  for (Side* side : {&client_side_, &server_side_})
    if (side->again) {
      side->again = false;
      pump(*side);
      if (phase_ == Phase::Closing) return;
    }
}

void Session::read_error(Side& from) {
  // A reset: C or S by who sent it, then the phase (before the relay only
  // the client is open).
  if (phase_ == Phase::Relaying)
    close(is_client(from) ? Termination::ClientAbort : Termination::ServerAbort);
  else
    close(phase_ == Phase::Queued ? Termination::ClientAbortQueue
                                  : Termination::ClientAbortConnect);
}

void Session::read_eof(Side& from) {
  if (from.read_eof) return;
  from.read_eof = true;
  from.held = false;
  from.readable = false;
  if (phase_ == Phase::Queued) {
    close(Termination::ClientAbortQueue);  // HAProxy's abortonclose
    return;
  }
  // Half-close: pass the FIN on once everything before it is written (and,
  // while still connecting, once the server is there).
  Side& to = peer(from);
  to.write_state = HalfClose::ShutdownPending;
  if (phase_ != Phase::Relaying) return;
  maybe_shutdown(to);
  maybe_finish();
  if (phase_ == Phase::Relaying) arm_timer();  // the *-fin timeouts apply now
}

void Session::count_bytes(bool to_client, size_t n) {
  Counter Totals::*field = to_client ? &Totals::bytes_out : &Totals::bytes_in;
  (frontend_totals_->*field).add(n);
  if (server_totals_) (server_totals_->*field).add(n);
  if (to_client)
    bytes_to_client_ += n;
  else
    bytes_to_server_ += n;
}

void Session::send(Side& to, Side& from, const char* data, size_t n) {
  from.last_activity = since_accept(now());
  if (to.tls && !to.tls->stream.handshake_done()) {
    // TLS to the server, its handshake still running: the plaintext waits.
    to.tls->early.append(worker_.chunks(), data, n);
    return;
  }
  if (phase_ != Phase::Relaying) {
    to.out.append(worker_.chunks(), data, n);  // the server is not connected yet
    return;
  }
  // A TLS side's records go out through transmit() too, and count toward
  // the same outbox and watermarks as plain bytes.
  if (!(to.tls ? to.tls->stream.write(data, n) : transmit(to, data, n))) {
    abort_write(to);
    return;
  }
  if (to.out.size() >= runtime_->config.global.tune.relay_high_water) hold(from, true);
}

void Session::flush(Side& to) {
  while (to.writable && !to.out.empty()) {
    iovec bufs[Outbox::kMaxBufs];
    msghdr msg{};
    msg.msg_iov = bufs;
    msg.msg_iovlen = static_cast<size_t>(to.out.gather(bufs));
    ssize_t r = ::sendmsg(to.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r > 0) {
      to.out.consume(worker_.chunks(), static_cast<size_t>(r));
      // Every byte the socket takes is activity, however slowly it goes.
      to.last_activity = since_accept(now());
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      to.writable = false;
      break;
    }
    if (errno == EINTR) continue;
    abort_write(to);
    return;
  }
  written(to);
}

void Session::written(Side& to) {
  Side& from = peer(to);
  if (from.held && to.out.size() < runtime_->config.global.tune.relay_low_water) {
    hold(from, false);
    from.last_activity = to.last_activity;  // its clock starts again now
    maybe_shutdown(to);
    pump(from);
    if (phase_ == Phase::Closing) return;
  }
  maybe_shutdown(to);
  maybe_finish();
}

void Session::abort_write(Side& to) {
  close(is_client(to) ? Termination::ClientAbort : Termination::ServerAbort);
}

void Session::hold(Side& from, bool held) {
  const bool was = from.held;
  from.held = held && !from.read_eof;
  // Released: its clock runs again, and its deadline may come before the
  // one the lazy timer is armed for.
  if (was && !from.held) arm_timer();
}

void Session::maybe_shutdown(Side& to) {
  if (to.write_state != HalfClose::ShutdownPending || !to.out.empty() || to.fd < 0) return;
  if (to.tls && !to.tls->stream.notified()) {
    // TLS ends with close_notify, then the FIN once it is written.
    to.tls->stream.close_notify();
    if (!to.out.empty()) return;  // written() comes back here
  }
  to.write_state = HalfClose::Shut;
  // When `to` has already sent its FIN too, the session ends right away and
  // close(2) sends ours: no shutdown needed.
  if (!to.read_eof) ::shutdown(to.fd, SHUT_WR);
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
    case Phase::Handshake:
      v.phase = SessionPhase::Handshake;
      break;
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
  v.client = {accept_ms_ + client_side_.last_activity, client_side_.held,
              client_side_.read_eof && client_side_.out.empty()};
  v.server = {accept_ms_ + server_side_.last_activity, server_side_.held,
              server_side_.read_eof && server_side_.out.empty()};
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
  uint64_t t = now();
  uv_timer_start(&timer_, on_timer, deadline->at > t ? deadline->at - t : 0, 0);
}

void Session::on_timer(uv_timer_t* t) noexcept {
  static_cast<Session*>(t->data)->timer_fired();
}

void Session::timer_fired() {
  if (phase_ == Phase::Accepted || phase_ == Phase::Closing) return;
  // The timer is armed lazily: activity since it was set pushes the
  // deadline back instead of re-arming on every read.
  auto deadline = next_deadline(timer_view(), frontend_.conf.timeouts, backend().conf.timeouts);
  if (!deadline || deadline->at > now()) {
    arm_timer();
    return;
  }
  switch (deadline->what) {
    case Expiry::Handshake:
      handshake_failed(HandshakeEnd::Timeout, "");
      return;
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

void Session::shutdown_if_on(const ServerState& server, bool data_only, Termination why) {
  if (!server_ || server_->state.get() != &server) return;
  switch (phase_) {
    case Phase::Relaying:
      close(why);
      return;
    case Phase::Connecting:
    case Phase::TurnAround:
      if (!data_only)
        close(why == Termination::KilledData ? Termination::KilledConnect
                                             : Termination::ServerDownConnect);
      return;
    default:
      return;
  }
}

void Session::kill() {
  switch (phase_) {
    case Phase::Handshake:
      handshake_failed(HandshakeEnd::Stopped, "");
      return;
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
    queue_ms_ = static_cast<int32_t>(now() - phase_start_);  // HAProxy logs it for sQ, CQ too
    if (granted) {
      worker_.cancel_grant(waiter_);
      granted->release();
    }
  }
  phase_ = Phase::Closing;
  termination_ = t;
  close_socket(client_side_);
  close_socket(server_side_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_closed);
}

void Session::on_closed(uv_handle_t* h) noexcept {
  static_cast<Session*>(h->data)->finish();
}

// What only a log-format shows (the tcplog line has none of it).
void Session::fill_format_fields(AccessRecord& r) const {
  static std::atomic<uint64_t> next_unique_id{1};
  const conf::LogFormat& format = frontend_.conf.log_format;
  r.frontend_name = frontend_.conf.name;
  char text[INET6_ADDRSTRLEN] = {};
  if (extras_ && extras_->local_known) {
    inet_ntop(client_v6_ ? AF_INET6 : AF_INET, extras_->local_addr, text, sizeof text);
    r.frontend_addr = text;
    r.frontend_port = extras_->local_port;
  }
  if (server_) {
    const sockaddr_storage& a = server_->addr;
    if (a.ss_family == AF_INET6) {
      auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
      r.server_port = ntohs(in6->sin6_port);
    } else {
      auto* in = reinterpret_cast<const sockaddr_in*>(&a);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      r.server_port = ntohs(in->sin_port);
    }
    r.server_addr = text;
  }
  r.bytes_to_server = bytes_to_server_;
  if (extras_ && extras_->ssl_version) r.ssl_version = extras_->ssl_version;
  if (extras_ && extras_->ssl_cipher) r.ssl_cipher = extras_->ssl_cipher;
  if (format.uses(conf::LogVar::UniqueId))
    r.unique_id = next_unique_id.fetch_add(1, std::memory_order_relaxed);
  static const int pid = static_cast<int>(::getpid());
  r.pid = pid;
  // The MQTT fields wait for the CONNECT parser: "-" until then.
}

void Session::finish() {
  const Runtime& rt = *runtime_;
  uint64_t now = uv_now(worker_.loop());
  // As in HAProxy, the counts logged include this session on the frontend
  // side but not on the backend side, which it has already left.
  if (server_) backend().release(server_);
  // A handshake that failed has written its line already.
  // "option dontlognull": HAProxy logs a session only if its client sent
  // something (the request channel's total).
  const bool null = frontend_.conf.dontlognull && bytes_to_server_ == 0;
  if (!frontend_.log.empty() && handshake_end_ == HandshakeEnd::None && !null) {
    AccessRecord r;
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(client_v6_ ? AF_INET6 : AF_INET, client_addr_, text, sizeof text);
    r.client_addr = text;
    r.client_port = client_port_;
    // The wall clock at accept, from the loop clock's age of the session.
    r.accept_unix_ms = unix_now_ms() - static_cast<int64_t>(now - accept_ms_);
    r.frontend = bind_.tls ? frontend_.tls_name : frontend_.conf.name;
    r.backend = backend().conf.name;
    if (server_) r.server = server_->conf.name;
    r.queue_ms = queue_ms_;
    r.connect_ms = connect_ms_;
    r.handshake_ms = handshake_ms_;
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
    const conf::LogFormat& format = frontend_.conf.log_format;
    if (!format.empty()) fill_format_fields(r);
    log_access(r, frontend_.log, format);
  }
  frontend_.state->session_duration.at(worker_.index())
      .observe(kLongBounds, (now - accept_ms_) * 1000);
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
