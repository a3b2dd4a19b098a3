#include "lb/health_checks.h"

#include <cstring>
#include <optional>
#include <string>

#include "health/hysteresis.h"
#include "health/server_health.h"
#include "health/state_log.h"
#include "health/tcp_check.h"
#include "lb/access_log.h"
#include "lb/worker.h"

namespace mqlb::lb {
namespace {

Level level_of(int syslog_level) {
  return static_cast<Level>(syslog_level);  // Level follows syslog's order
}

}  // namespace

// One check's connection. Freed in its close callback; a check that ends
// (or a checker that closes) detaches it first.
struct HealthChecks::Probe {
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  uv_write_t write{};
  std::string out;  // the bytes being written
  Checker* checker = nullptr;
  bool reading = false;

  void close() {
    checker = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp),
             [](uv_handle_t* h) { delete static_cast<Probe*>(h->data); });
  }
};

struct HealthChecks::Checker {
  Checker(HealthChecks& owner, std::shared_ptr<const Runtime> runtime, const Backend& backend,
          const Server& server)
      : owner(owner),
        runtime(std::move(runtime)),
        backend(backend),
        server(server),
        check(server.conf.check),
        health(check) {
    uv_timer_init(owner.loop_, &timer);
    timer.data = this;
    uv_timer_init(owner.loop_, &slowstart_timer);
    slowstart_timer.data = this;
    // init-state down and fully-down start DOWN: no session before the
    // first successful checks.
    if (!health.up()) server.state->set_health(Health::Down);
    view.state = health.up() ? health::ServerStatus::Up : health::ServerStatus::Down;
    view.effective_weight = server.conf.weight;
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
    if (c->run)
      c->act(c->run->on_timeout());  // timeout check
    else
      c->begin();
  }

  uint64_t now() const { return uv_now(owner.loop_); }

  void begin() {
    run.emplace(*server.check);
    started = now();
    // HAProxy: timeout check bounds the answer, the connect is bounded by
    // timeout connect; one deadline here, timeout check else inter.
    const conf::Duration limit = backend.conf.timeouts.check.value_or(check.inter);
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
      if (probe && !probe->reading) {
        probe->reading = true;
        uv_read_start(reinterpret_cast<uv_stream_t*>(&probe->tcp), on_alloc, on_read);
      }
    } else {
      finish(std::get<health::action::Done>(a).result);
    }
  }

  void connect(const health::action::Connect& c) {
    if (probe) probe->close();
    if (c.ssl || (c.use_defaults && check.ssl)) {
      probe = nullptr;
      act(run->on_tls_error("check-ssl is not supported yet"));
      return;
    }
    probe = new Probe;
    probe->checker = this;
    uv_tcp_init(owner.loop_, &probe->tcp);
    probe->tcp.data = probe;
    probe->connect.data = probe;
    sockaddr_storage addr = server.check_addr;
    if (c.port != 0) {
      if (addr.ss_family == AF_INET6)
        reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(c.port);
      else
        reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(c.port);
    }
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
    else
      c->act(c->run->on_connected());
  }

  void send(std::string bytes) {
    if (!probe) return;
    probe->out = std::move(bytes);
    uv_buf_t buf = uv_buf_init(probe->out.data(), static_cast<unsigned>(probe->out.size()));
    probe->write.data = probe;
    int rc =
        uv_write(&probe->write, reinterpret_cast<uv_stream_t*>(&probe->tcp), &buf, 1, on_write);
    if (rc != 0) act(run->on_error(uv_strerror(rc)));
  }

  static void on_write(uv_write_t* req, int status) noexcept {
    auto* p = static_cast<Probe*>(req->data);
    Checker* c = p->checker;
    if (!c || c->probe != p || !c->run) return;
    if (status < 0)
      c->act(c->run->on_error(std::strerror(-status)));
    else
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
    const health::CheckResult previous = view.last_check;
    const uint32_t before = health.value();
    const health::Transition t = health.observe(result.ok());
    health::record_check(view, result, t, unix_now_ms());
    if (backend.conf.check.log_health_checks &&
        (previous.status != result.status || before != health.value()))
      log_event(Level::Notice,
                health::format_health_check(backend.conf.name, server.conf.name, server.conf.backup,
                                            result, health),
                runtime->event_log);
    if (t == health::Transition::WentDown) went_down(result);
    if (t == health::Transition::WentUp) went_up(result);
    uv_timer_start(&timer, on_timer,
                   static_cast<uint64_t>(health::next_interval(health, check).count()), 0);
  }

  // The log line's facts after a change: the server, why (unless option
  // log-health-checks said it already) and the usable servers left.
  health::StateChange state_change(bool up, const health::CheckResult& result) const {
    health::StateChange c;
    c.backend = backend.conf.name;
    c.server = server.conf.name;
    c.backup = server.conf.backup;
    c.up = up;
    c.check = backend.conf.check.log_health_checks ? nullptr : &result;
    for (const auto& s : backend.servers)
      if (s->state->usable()) ++(s->conf.backup ? c.backup_servers : c.active_servers);
    return c;
  }

  void went_down(const health::CheckResult& result) {
    ServerState& st = *server.state;
    st.set_health(Health::Down);
    uv_timer_stop(&slowstart_timer);
    // Its own waiters (source picks) go to the backend's queue, or end.
    const uint32_t requeued = backend.state->requeue(st, backend.conf.redispatch);
    for (const auto& s : backend.servers)
      backend.state->dispatch(*s->state);
    health::StateChange change = state_change(false, result);
    change.sessions_active = st.active.get();
    change.requeued = backend.conf.redispatch ? requeued : 0;
    change.queued = st.queue.size();
    log_event(level_of(health::state_change_level(false, false)),
              health::format_state_change(change), runtime->event_log);
    if (change.active_servers == 0 && change.backup_servers == 0)
      log_event(level_of(health::kLogEmerg), health::format_no_server(backend.conf.name),
                runtime->event_log);
    if (check.shutdown_sessions_on_down)
      for (const auto& w : owner.workers_)
        w->post(Worker::ShutdownSessions{server.state, Termination::ServerDownData});
  }

  void went_up(const health::CheckResult& result) {
    ServerState& st = *server.state;
    up_since = now();
    if (ramps()) {
      st.set_weight(
          health::slowstart_weight(server.conf.weight, conf::Duration(0), check.slowstart));
      const auto step = static_cast<uint64_t>(health::slowstart_step(*check.slowstart).count());
      uv_timer_start(&slowstart_timer, on_slowstart, step, step);
    }
    st.set_health(Health::Up);
    const uint32_t waiting = backend.state->queued();
    backend.state->dispatch(st);
    health::StateChange change = state_change(true, result);
    change.requeued = waiting - std::min(waiting, backend.state->queued());
    change.queued = st.queue.size();
    log_event(level_of(health::state_change_level(true, false)),
              health::format_state_change(change), runtime->event_log);
    if (check.shutdown_backup_sessions_on_up && !server.conf.backup)
      for (const auto& s : backend.servers)
        if (s->conf.backup)
          for (const auto& w : owner.workers_)
            w->post(Worker::ShutdownSessions{s->state, Termination::ActiveUpData});
  }

  // HAProxy ramps the weight only for the dynamic algorithms.
  bool ramps() const {
    return check.slowstart && backend.conf.balance != conf::Balance::StaticRr &&
           backend.conf.balance != conf::Balance::Source;
  }

  static void on_slowstart(uv_timer_t* t) noexcept {
    auto* c = static_cast<Checker*>(t->data);
    const conf::Duration since(c->now() - c->up_since);
    const uint32_t w = health::slowstart_weight(c->server.conf.weight, since, c->check.slowstart);
    c->server.state->set_weight(w);
    c->view.effective_weight = w;
    if (since >= *c->check.slowstart) uv_timer_stop(t);
    // A heavier server may take waiters now.
    c->backend.state->dispatch(*c->server.state);
  }

  HealthChecks& owner;
  std::shared_ptr<const Runtime> runtime;  // keeps `backend` and `server` alive
  const Backend& backend;
  const Server& server;
  const conf::ServerCheck& check;
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

void HealthChecks::close() {
  for (Checker* c : checkers_)
    c->close();
  checkers_.clear();
}

}  // namespace mqlb::lb
