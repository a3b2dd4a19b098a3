#include "lb/health_checks.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "health/hysteresis.h"
#include "health/server_health.h"
#include "health/state_log.h"
#include "health/tcp_check.h"
#include "lb/access_log.h"
#include "lb/worker.h"
#include "tls/stream.h"

namespace mqlb::lb {

// One check's connection. Freed in its close callback; a check that ends
// (or a checker that closes) detaches it first. Over TLS its tls::Stream
// reads from `in` (what on_read received) and writes to `out` (flushed with
// uv_write after each call): a check moves a few hundred bytes, so the
// copies cost nothing, and the Stream stays the one the sessions use.
struct HealthChecks::Probe final : tls::Transport {
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  Checker* checker = nullptr;
  bool reading = false;
  std::unique_ptr<tls::Stream> tls;
  bool handshaking = false;
  std::string in;  // TLS: received, not yet read by OpenSSL
  bool in_eof = false;
  std::string out;  // TLS: records to write

  ssize_t tls_recv(char* buf, size_t n) override {
    if (in.empty()) {
      if (in_eof) return 0;
      errno = EAGAIN;
      return -1;
    }
    n = std::min(n, in.size());
    std::memcpy(buf, in.data(), n);
    in.erase(0, n);
    return static_cast<ssize_t>(n);
  }
  bool tls_send(const char* data, size_t n) override {
    out.append(data, n);
    return true;
  }

  void close() {
    checker = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp),
             [](uv_handle_t* h) { delete static_cast<Probe*>(h->data); });
  }
};

// One write of a probe; `sent`: the rule set's send, which on_sent() ends
// (TLS handshake records are not). Freed in its callback, which runs
// (with UV_ECANCELED) before the probe's close callback.
struct HealthChecks::Write {
  uv_write_t req{};
  Probe* probe = nullptr;
  std::string bytes;
  bool sent = false;
};

struct HealthChecks::Checker {
  Checker(HealthChecks& owner, std::shared_ptr<const Runtime> rt, const Backend& b, const Server& s)
      : owner(owner),
        runtime(std::move(rt)),
        backend(&b),
        server(&s),
        check(&s.conf.check),
        health(*check) {
    uv_timer_init(owner.loop_, &timer);
    timer.data = this;
    uv_timer_init(owner.loop_, &slowstart_timer);
    slowstart_timer.data = this;
    // init-state down and fully-down start DOWN: no session before the
    // first successful checks.
    if (!health.up()) server->state->set_health(Health::Down);
    view.state = health.up() ? health::ServerStatus::Up : health::ServerStatus::Down;
    view.effective_weight = server->conf.weight;
    view.since_unix_ms = unix_now_ms();
    server->state->set_check_view(view);
  }

  // A reload kept this server (its name and address): checks go on with
  // their counter and view, under the settings of `s`. A running check
  // finishes with the rules it started with.
  void move_to(std::shared_ptr<const Runtime> rt, const Backend& b, const Server& s) {
    const bool same_counter = s.conf.check.rise == check->rise && s.conf.check.fall == check->fall;
    runtime = std::move(rt);
    backend = &b;
    server = &s;
    check = &s.conf.check;
    if (!same_counter) {
      // New rise/fall: the counter starts at the edge of the state it is in.
      conf::ServerCheck c = *check;
      c.init_state =
          health.up() ? conf::ServerCheck::InitState::Up : conf::ServerCheck::InitState::Down;
      health = health::Health(c);
    }
  }

  void start(conf::Duration first) {
    uv_timer_start(&timer, on_timer, static_cast<uint64_t>(first.count()), 0);
  }

  // Stops: the probe is let go, both timers close, and the last close
  // callback frees this.
  void close() {
    if (probe) probe->close();
    probe = nullptr;
    run.reset();
    for (uv_timer_t* t : {&timer, &slowstart_timer})
      uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) {
        auto* c = static_cast<Checker*>(h->data);
        if (++c->closed == 2) delete c;
      });
  }

  static void on_timer(uv_timer_t* t) noexcept {
    auto* c = static_cast<Checker*>(t->data);
    if (c->run && c->probe && c->probe->handshaking)
      c->act(c->run->on_tls_timeout());
    else if (c->run)
      c->act(c->run->on_timeout());  // timeout check
    else
      c->begin();
  }

  uint64_t now() const { return uv_now(owner.loop_); }

  void begin() {
    rules = server->check;
    run.emplace(*rules, check->ssl);
    started = now();
    // HAProxy: timeout check bounds the answer, the connect is bounded by
    // timeout connect; one deadline here, timeout check else inter.
    const conf::Duration limit = backend->conf.timeouts.check.value_or(check->inter);
    uv_timer_start(&timer, on_timer, static_cast<uint64_t>(limit.count()), 0);
    act(run->start());
  }

  // Carries out what the rule set asks for next.
  void act(health::Action a) {
    if (auto* c = std::get_if<health::action::Connect>(&a)) {
      connect(*c);
    } else if (auto* s = std::get_if<health::action::Send>(&a)) {
      send(std::move(s->bytes));
    } else if (std::holds_alternative<health::action::Expect>(a)) {
      start_reading();  // over TLS it reads already: nothing to do
    } else {
      finish(std::get<health::action::Done>(a).result);
    }
  }

  void start_reading() {
    if (!probe || probe->reading) return;
    probe->reading = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&probe->tcp), on_alloc, on_read);
  }

  void connect(const health::action::Connect& c) {
    if (probe) probe->close();
    probe = new Probe;
    probe->handshaking = c.ssl;  // TLS from the connect on
    probe->checker = this;
    uv_tcp_init(owner.loop_, &probe->tcp);
    probe->tcp.data = probe;
    probe->connect.data = probe;
    sockaddr_storage addr = server->check_addr;
    if (c.port != 0) set_port(addr, c.port);
    int rc = uv_tcp_connect(&probe->connect, &probe->tcp, reinterpret_cast<const sockaddr*>(&addr),
                            on_connect);
    if (rc != 0) act(run->on_connect_error(std::strerror(-rc)));
  }

  static void on_connect(uv_connect_t* req, int status) noexcept {
    auto* p = static_cast<Probe*>(req->data);
    Checker* c = p->checker;
    if (!c || c->probe != p || !c->run) return;  // let go meanwhile
    if (status < 0)
      c->act(c->run->on_connect_error(std::strerror(-status)));
    else if (p->handshaking)
      c->start_tls();
    else
      c->act(c->run->on_connected());
  }

  // check-ssl or `connect ssl`: the handshake, with the server's TLS settings.
  void start_tls() {
    SSL* ssl = server->check_tls ? server->check_tls->new_ssl() : nullptr;
    if (!ssl) {
      act(run->on_tls_error("cannot create a TLS connection"));
      return;
    }
    probe->tls = std::make_unique<tls::Stream>(ssl, *probe);
    start_reading();
    pump_tls();
  }

  // Moves the TLS connection on after bytes arrived: the handshake, then
  // every decrypted byte to the rule set (which keeps what it does not
  // expect yet, as the plain path's socket would).
  void pump_tls() {
    Probe* p = probe;
    if (p->handshaking) {
      const tls::Stream::Status st = p->tls->handshake();
      flush_tls();
      if (st == tls::Stream::Status::WantIo) return;
      p->handshaking = false;
      if (st != tls::Stream::Status::Done) {
        act(run->on_tls_error(p->tls->reason().empty() ? "Connection closed during SSL handshake"
                                                       : p->tls->reason()));
        return;
      }
      act(run->on_connected());
    }
    char buf[4096];
    while (probe == p && run && !p->handshaking) {
      size_t got = 0;
      switch (p->tls->read(buf, sizeof buf, got)) {
        case tls::Stream::Status::Done:
          act(run->on_data({buf, got}));
          continue;
        case tls::Stream::Status::WantIo:
          flush_tls();  // a TLS 1.3 key update or ticket may want an answer
          return;
        case tls::Stream::Status::Eof:
          act(run->on_closed());
          return;
        case tls::Stream::Status::Failed:
          act(run->on_error(p->tls->reason().empty() ? "Connection reset by peer"
                                                     : p->tls->reason()));
          return;
      }
    }
  }

  void flush_tls() {
    if (probe->out.empty()) return;
    write(std::exchange(probe->out, {}), false);
  }

  void write(std::string bytes, bool sent) {
    auto* w = new Write;
    w->bytes = std::move(bytes);
    w->sent = sent;
    w->req.data = w;
    w->probe = probe;
    uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
    int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&probe->tcp), &buf, 1, on_write);
    if (rc != 0) {
      delete w;
      act(run->on_error(uv_strerror(rc)));
    }
  }

  void send(std::string bytes) {
    if (!probe) return;
    if (probe->tls) {
      if (!probe->tls->write(bytes.data(), bytes.size())) {
        act(run->on_error(probe->tls->reason()));
        return;
      }
      write(std::exchange(probe->out, {}), true);
      return;
    }
    write(std::move(bytes), true);
  }

  static void on_write(uv_write_t* req, int status) noexcept {
    std::unique_ptr<Write> w(static_cast<Write*>(req->data));
    Probe* p = w->probe;
    Checker* c = p->checker;
    if (status == UV_ECANCELED || !c || c->probe != p || !c->run) return;
    if (status < 0)
      c->act(c->run->on_error(std::strerror(-status)));
    else if (w->sent)
      c->act(c->run->on_sent());
  }

  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) noexcept {
    static thread_local char block[4096];
    *buf = uv_buf_init(block, sizeof block);
  }

  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
    auto* p = static_cast<Probe*>(s->data);
    Checker* c = p->checker;
    if (!c || c->probe != p || !c->run || n == 0) return;
    if (p->tls && n != UV_EOF && n < 0) {
      // Connected at layer 4 but not 6: HAProxy's L6RSP.
      const std::string what = std::strerror(static_cast<int>(-n));
      c->act(p->handshaking ? c->run->on_tls_error("SSL handshake failure (" + what + ")")
                            : c->run->on_error(what));
      return;
    }
    if (p->tls) {
      if (n > 0)
        p->in.append(buf->base, static_cast<size_t>(n));
      else
        p->in_eof = true;
      c->pump_tls();
      return;
    }
    if (n > 0)
      c->act(c->run->on_data({buf->base, static_cast<size_t>(n)}));
    else if (n == UV_EOF)
      c->act(c->run->on_closed());
    else
      c->act(c->run->on_error(std::strerror(static_cast<int>(-n))));
  }

  void finish(health::CheckResult result) {
    result.duration = std::chrono::milliseconds(now() - started);
    if (probe) probe->close();
    probe = nullptr;
    run.reset();
    if (result.ok()) server->state->clear_errors();
    const uint32_t before = health.value();
    conclude(result, health.observe(result.ok()), before);
    uv_timer_start(&timer, on_timer,
                   static_cast<uint64_t>(health::next_interval(health, *check).count()), 0);
  }

  // Live traffic reached error-limit ("observe layer4"): on-error, as
  // HAProxy's health_adjust applies it, then the next check at fastinter
  // if that is sooner.
  void traffic_errors() {
    if (check->on_error != conf::ServerCheck::OnError::Fastinter) {
      health::CheckResult result;
      result.status = health::Status::Hana;
      result.info = "Detected " + std::to_string(check->error_limit) +
                    " consecutive errors, last one was: L4 unsuccessful connection";
      result.duration = std::chrono::milliseconds(-1);  // not a check: no duration printed
      const uint32_t before = health.value();
      conclude(result, health.on_traffic_errors(check->on_error), before);
    }
    if (check->fastinter && !run &&
        uv_timer_get_due_in(&timer) > static_cast<uint64_t>(check->fastinter->count()))
      uv_timer_start(&timer, on_timer, static_cast<uint64_t>(check->fastinter->count()), 0);
  }

  // A result counted (`t` is what it did to the state): the published
  // view, option log-health-checks, and the change of state.
  void conclude(const health::CheckResult& result, health::Transition t, uint32_t before) {
    const health::CheckResult previous = view.last_check;
    health::record_check(view, result, t, unix_now_ms());
    server->state->set_check_view(view);
    if (backend->conf.check.log_health_checks &&
        (previous.status != result.status || before != health.value())) {
      // HAProxy ha_warning()s it and sends it at NOTICE.
      const std::string text = health::format_health_check(backend->conf.name, server->conf.name,
                                                           server->conf.backup, result, health);
      log_event(Level::Warning, text, Level::Notice, text, runtime->event_log);
    }
    if (t == health::Transition::WentDown) went_down(result);
    if (t == health::Transition::WentUp) went_up(result);
  }

  // The log line's facts after a change: the server, why (unless option
  // log-health-checks said it already) and the usable servers left.
  health::StateChange state_change(bool up, const health::CheckResult& result) const {
    health::StateChange c;
    c.backend = backend->conf.name;
    c.server = server->conf.name;
    c.backup = server->conf.backup;
    c.up = up;
    c.check = backend->conf.check.log_health_checks ? nullptr : &result;
    for (const auto& s : backend->servers)
      if (s->state->usable()) ++(s->conf.backup ? c.backup_servers : c.active_servers);
    return c;
  }

  void went_down(const health::CheckResult& result) {
    ServerState& st = *server->state;
    // HAProxy says "has no server available!" only when this one was the
    // last usable server (set_backend_down after prev_srv_count).
    const bool was_usable = st.usable();
    st.set_health(Health::Down);
    uv_timer_stop(&slowstart_timer);
    // Its own waiters (source picks) go to the backend's queue, or end.
    const uint32_t requeued = backend->state->requeue(st, backend->conf.redispatch);
    for (const auto& s : backend->servers)
      backend->state->dispatch(*s->state);
    health::StateChange change = state_change(false, result);
    change.sessions_active = st.active.get();
    change.requeued = backend->conf.redispatch ? requeued : 0;
    change.queued = st.queue.size();
    // HAProxy ha_warning()s the line on stderr and sends it at ALERT
    // (NOTICE when the server was draining) to syslog.
    log_state_change(change, st.admin());
    if (was_usable && change.active_servers == 0 && change.backup_servers == 0)
      log_event(level_of(health::kLogAlert),
                health::format_no_server(backend->conf.name, "backend", true),
                level_of(health::kLogEmerg), health::format_no_server(backend->conf.name),
                runtime->event_log);
    if (check->shutdown_sessions_on_down)
      for (const auto& w : owner.workers_)
        w->post(Worker::ShutdownSessions{server->state, Termination::ServerDownData});
  }

  void went_up(const health::CheckResult& result) {
    ServerState& st = *server->state;
    up_since = now();
    if (ramps()) {
      st.set_weight(
          health::slowstart_weight(server->conf.weight, conf::Duration(0), check->slowstart));
      const auto step = static_cast<uint64_t>(health::slowstart_step(*check->slowstart).count());
      uv_timer_start(&slowstart_timer, on_slowstart, step, step);
    }
    st.set_health(Health::Up);
    const uint32_t waiting = backend->state->queued();
    backend->state->dispatch(st);
    health::StateChange change = state_change(true, result);
    change.requeued = waiting - std::min(waiting, backend->state->queued());
    change.queued = st.queue.size();
    log_state_change(change, st.admin());
    if (check->shutdown_backup_sessions_on_up && !server->conf.backup)
      for (const auto& s : backend->servers)
        if (s->conf.backup)
          for (const auto& w : owner.workers_)
            w->post(Worker::ShutdownSessions{s->state, Termination::ActiveUpData});
  }

  // The UP or DOWN line: [WARNING] on stderr as HAProxy's ha_warning, at
  // its syslog level to the targets. In maintenance HAProxy's checks are
  // paused and say nothing; mqlb's go on (leaving maintenance then tells
  // the true state) but say nothing either. While draining, HAProxy's
  // srv_update_status adds that the drain stays.
  void log_state_change(const health::StateChange& change, AdminState admin) const {
    if (admin == AdminState::Maint) return;
    const std::string text = health::format_state_change(change);
    log_event(level_of(health::kLogWarning), text,
              level_of(health::state_change_level(change.up, admin == AdminState::Drain)), text,
              runtime->event_log);
    if (admin == AdminState::Drain) {
      const std::string drain =
          health::format_drain_stays(change.backend, change.server, change.backup);
      log_event(level_of(health::kLogWarning), drain, level_of(health::kLogNotice), drain,
                runtime->event_log);
    }
  }

  // HAProxy ramps the weight only for the dynamic algorithms; a hash on a
  // consistent ring is one (a weight moves only that server's points).
  bool ramps() const {
    const auto& b = backend->conf;
    return check->slowstart && b.balance != conf::Balance::StaticRr &&
           (b.balance != conf::Balance::Source || b.hash_type == conf::HashType::Consistent);
  }

  static void on_slowstart(uv_timer_t* t) noexcept {
    auto* c = static_cast<Checker*>(t->data);
    const conf::Duration since(c->now() - c->up_since);
    const uint32_t w = health::slowstart_weight(c->server->conf.weight, since, c->check->slowstart);
    c->server->state->set_weight(w);
    c->view.effective_weight = w;
    c->server->state->set_check_view(c->view);
    if (since >= *c->check->slowstart) uv_timer_stop(t);
    // A heavier server may take waiters now.
    c->backend->state->dispatch(*c->server->state);
  }

  HealthChecks& owner;
  // The snapshot the checker reads its settings from; keeps `backend`,
  // `server` and `check` alive. A reload moves it to the next one.
  std::shared_ptr<const Runtime> runtime;
  const Backend* backend;
  const Server* server;
  const conf::ServerCheck* check;
  std::shared_ptr<const health::Ruleset> rules;  // of the running check: outlives a move
  health::Health health;
  health::ServerHealthView view;
  uv_timer_t timer{};            // the next check, or the running check's deadline
  uv_timer_t slowstart_timer{};  // ramps the weight after coming UP
  int closed = 0;
  Probe* probe = nullptr;
  std::optional<health::TcpCheckRun> run;
  uint64_t started = 0;
  uint64_t up_since = 0;
};

HealthChecks::HealthChecks(uv_loop_t* loop, const std::vector<std::unique_ptr<Worker>>& workers)
    : loop_(loop), workers_(workers) {}

HealthChecks::~HealthChecks() = default;

void HealthChecks::start(std::shared_ptr<const Runtime> rt) {
  process_ = rt->process;
  uv_async_init(loop_, &traffic_errors_, on_traffic_errors);
  traffic_errors_.data = this;
  process_->traffic_errors.attach(&traffic_errors_);
  std::vector<std::pair<const Backend*, const Server*>> checked;
  for (const auto& b : rt->backends)
    for (const auto& s : b->servers)
      if (s->check) checked.emplace_back(b.get(), s.get());
  for (size_t i = 0; i < checked.size(); ++i) {
    auto [b, s] = checked[i];
    auto* c = new Checker(*this, rt, *b, *s);
    checkers_.push_back(c);
    c->start(health::spread(i, checked.size(), s->conf.check.inter));
  }
}

void HealthChecks::reload(std::shared_ptr<const Runtime> rt) {
  std::vector<Checker*> kept;
  std::vector<std::pair<const Backend*, const Server*>> fresh;
  for (const auto& b : rt->backends)
    for (const auto& s : b->servers) {
      auto it = std::find_if(checkers_.begin(), checkers_.end(),
                             [&](Checker* c) { return c->server->state == s->state; });
      if (!s->check) {
        // No check (any more): always UP.
        if (s->state->health() == Health::Down) s->state->set_health(Health::Up);
        continue;
      }
      if (it == checkers_.end()) {
        fresh.emplace_back(b.get(), s.get());
        continue;
      }
      (*it)->move_to(rt, *b, *s);
      kept.push_back(*it);
      checkers_.erase(it);
    }
  // Servers gone from the configuration (or no longer checked) stop checking.
  for (Checker* c : checkers_)
    c->close();
  checkers_ = std::move(kept);
  for (size_t i = 0; i < fresh.size(); ++i) {
    auto [b, s] = fresh[i];
    auto* c = new Checker(*this, rt, *b, *s);
    checkers_.push_back(c);
    c->start(health::spread(i, fresh.size(), s->conf.check.inter));
  }
}

void HealthChecks::on_traffic_errors(uv_async_t* a) noexcept {
  auto* self = static_cast<HealthChecks*>(a->data);
  for (const auto& server : self->process_->traffic_errors.take())
    for (Checker* c : self->checkers_)
      if (c->server->state == server) c->traffic_errors();
}

void HealthChecks::close() {
  for (Checker* c : checkers_)
    c->close();
  checkers_.clear();
  if (process_) {
    process_->traffic_errors.attach(nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&traffic_errors_), nullptr);
    process_.reset();
  }
}

}  // namespace mqlb::lb
