#include "lb/control.h"

#include <signal.h>

#include <algorithm>
#include <set>

#include "lb/access_log.h"
#include "lb/listener.h"
#include "lb/nofile.h"
#include "lb/reload_plan.h"
#include "lb/sd_notify.h"
#include "lb/worker.h"
#include "tls/ticket_keys.h"

namespace mqlb::lb {

Control::Control(std::unique_ptr<StateRegistry> registry, std::shared_ptr<const Runtime> runtime,
                 Loader loader)
    : registry_(std::move(registry)), runtime_(std::move(runtime)), loader_(std::move(loader)) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &worker_exit_, on_worker_exit);
  worker_exit_.data = this;
  for (auto* s : {&sigterm_, &sigint_, &sighup_}) {
    uv_signal_init(&loop_, s);
    s->data = this;
  }
  uv_timer_init(&loop_, &hard_stop_);
  hard_stop_.data = this;
  uv_timer_init(&loop_, &ticket_rotation_);
  ticket_rotation_.data = this;
  uv_timer_init(&loop_, &drain_deadline_);
  drain_deadline_.data = this;
}

Control::~Control() = default;

int Control::run() {
  for (unsigned i = 0; i < runtime_->workers; ++i)
    workers_.push_back(std::make_unique<Worker>(i, runtime_, &worker_exit_));
  std::vector<Worker*> all;
  for (auto& w : workers_) {
    std::string err = w->bind_all();
    if (!err.empty()) {
      log_event(Level::Alert, err, runtime_->event_log);
      // Each worker closes what it bound, then its loop ends.
      for (auto& x : workers_) {
        x->post(Worker::HardStop{});
        x->start();
      }
      shutdown_loop();
      return 1;
    }
    all.push_back(w.get());
  }
  for (auto& w : workers_) {
    w->peers = all;
    w->start();
  }
  health_ = std::make_unique<HealthChecks>(&loop_, workers_);
  health_->start(runtime_);
  uv_signal_start(&sigterm_, on_signal, SIGTERM);
  uv_signal_start(&sigint_, on_signal, SIGINT);
  uv_signal_start(&sighup_, on_signal, SIGHUP);
  std::string binds;
  for (const auto& f : runtime_->frontends)
    for (const auto& b : f->conf.binds)
      binds += " " + f->conf.name + "@" + b.to_string() + (b.tls.enabled ? " (TLS)" : "");
  uv_timer_start(&ticket_rotation_, on_ticket_rotation, kTicketRotation, kTicketRotation);
  log_event(Level::Notice,
            "ready: " + std::to_string(workers_.size()) + " workers, maxconn " +
                std::to_string(runtime_->maxconn) + ", listening on" + binds,
            runtime_->event_log);
  sd_notify("READY=1\nSTATUS=ready");
  uv_run(&loop_, UV_RUN_DEFAULT);
  shutdown_loop();
  return 0;
}

void Control::on_signal(uv_signal_t* h, int signum) noexcept {
  static_cast<Control*>(h->data)->handle_signal(signum);
}

void Control::on_worker_exit(uv_async_t* h) noexcept {
  static_cast<Control*>(h->data)->check_exit();
}

void Control::on_hard_stop(uv_timer_t* h) noexcept {
  auto* c = static_cast<Control*>(h->data);
  log_event(Level::Warning, "hard-stop-after reached: closing the remaining sessions.",
            c->runtime_->event_log);
  c->broadcast_hard_stop();
}

void Control::on_ticket_rotation(uv_timer_t* h) noexcept {
  // A new key encrypts from now on; tickets under the previous keys still
  // resume (and are renewed).
  static_cast<Control*>(h->data)->registry_->ticket_keys()->rotate();
}

std::vector<std::string> Control::reload(const std::string& trigger) {
  ProcessState& process = *runtime_->process;
  auto refuse = [&](std::vector<std::string> errors) {
    for (const auto& e : errors)
      log_event(Level::Alert, "reload: " + e, runtime_->event_log);
    log_event(Level::Alert, trigger + ": reload failed; the running configuration keeps serving.",
              runtime_->event_log);
    process.reloads_failed.fetch_add(1, std::memory_order_relaxed);
    return errors;
  };
  if (stopping_) return refuse({"mqlb is stopping"});
  log_event(Level::Notice, trigger + ": reloading the configuration.", runtime_->event_log);
  // systemd waits for READY=1 again, whichever way the reload ends.
  sd_notify_reloading();
  struct Ready {
    ~Ready() { sd_notify("READY=1"); }
  } ready;

  conf::LoadResult loaded = loader_();
  for (const auto& w : loaded.warnings)
    log_event(Level::Warning, "reload: " + w.to_string(), runtime_->event_log);
  std::vector<std::string> errors;
  for (const auto& e : loaded.errors)
    errors.push_back(e.to_string());
  if (!loaded.config || !errors.empty()) return refuse(std::move(errors));
  const conf::Config& next = *loaded.config;
  const ReloadPlan plan = plan_reload(runtime_->config, next);

  // New binds must be free before anything changes (the workers open them).
  for (const auto& f : next.frontends)
    for (const auto& b : f.binds)
      if (std::count(plan.listeners_added.begin(), plan.listeners_added.end(), listener_key(f, b)))
        if (std::string e = try_bind(f, b); !e.empty()) errors.push_back(e);
  if (!errors.empty()) return refuse(std::move(errors));
  auto rt = build_runtime(next, *registry_, errors);
  if (!errors.empty()) return refuse(std::move(errors));
  for (const auto& w : rt->warnings)
    log_event(Level::Warning, "reload: " + w, runtime_->event_log);

  if (next.global.maxconn == runtime_->config.global.maxconn) {
    rt->maxconn = runtime_->maxconn;
  } else {
    NofilePlan nofile = apply_nofile(next.global.maxconn, descriptor_reserve(*rt));
    if (!nofile.warning.empty())
      log_event(Level::Warning, "reload: " + nofile.warning, rt->event_log);
    rt->maxconn = nofile.maxconn;
  }
  rt->workers = runtime_->workers;  // a restart changes it
  for (const auto& r : plan.needs_restart)
    log_event(Level::Warning, "reload: " + r + " takes a restart; everything else is applied.",
              rt->event_log);

  // Servers of the running snapshot that the new one does not have: they
  // drain (removed, or moved to a new address).
  std::set<const ServerState*> staying;
  for (const auto& b : rt->backends)
    for (const auto& s : b->servers)
      staying.insert(s->state.get());
  std::vector<const Server*> leaving;
  for (const auto& b : runtime_->backends)
    for (const auto& s : b->servers)
      if (!staying.count(s->state.get())) leaving.push_back(s.get());
  // The old snapshot (and `leaving` in it) stays alive until the end of
  // this function.
  const std::shared_ptr<const Runtime> old = runtime_;

  runtime_ = std::move(rt);
  for (auto& w : workers_)
    w->post(Worker::SwapSnapshot{runtime_});
  if (health_) health_->reload(runtime_);
  std::vector<std::shared_ptr<ServerState>> draining;
  for (const Server* s : leaving)
    if (s->conf.check.shutdown_sessions_on_down)
      for (auto& w : workers_)
        w->post(Worker::ShutdownSessions{s->state, Termination::ServerDownData});
    else
      draining.push_back(s->state);
  retire(std::move(draining), runtime_->config);
  process.reloads.fetch_add(1, std::memory_order_relaxed);
  process.last_reload_unix_ms.store(unix_now_ms(), std::memory_order_relaxed);
  log_event(Level::Notice, plan.summary(), runtime_->event_log);
  return {};
}

void Control::retire(std::vector<std::shared_ptr<ServerState>> servers, const conf::Config& next) {
  // As for SIGTERM, hard-stop-after 0 lets them drain for as long as it takes.
  if (servers.empty() || next.global.hard_stop_after.count() <= 0) return;
  const uint64_t deadline =
      uv_now(&loop_) + static_cast<uint64_t>(next.global.hard_stop_after.count());
  for (auto& s : servers)
    retired_.push_back({deadline, std::move(s)});
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&drain_deadline_)))
    uv_timer_start(&drain_deadline_, on_drain_deadline,
                   static_cast<uint64_t>(next.global.hard_stop_after.count()), 0);
}

void Control::on_drain_deadline(uv_timer_t* h) noexcept {
  auto* c = static_cast<Control*>(h->data);
  const uint64_t now = uv_now(&c->loop_);
  uint64_t next = 0;
  std::erase_if(c->retired_, [&](const Retired& r) {
    if (r.deadline > now) {
      next = next ? std::min(next, r.deadline) : r.deadline;
      return false;
    }
    // Only sessions still on it: new ones cannot reach a removed server.
    if (r.server->active.get() > 0)
      for (auto& w : c->workers_)
        w->post(Worker::ShutdownSessions{r.server, Termination::KilledData});
    return true;
  });
  if (next) uv_timer_start(h, on_drain_deadline, next - now, 0);
}

void Control::broadcast_hard_stop() {
  for (auto& w : workers_)
    w->post(Worker::HardStop{});
}

void Control::handle_signal(int signum) {
  const Runtime& rt = *runtime_;
  if (signum == SIGHUP) {
    reload("SIGHUP received");
    return;
  }
  if (signum == SIGINT) {
    sd_notify("STOPPING=1");
    log_event(Level::Notice, "SIGINT received: stopping now.", rt.event_log);
    broadcast_hard_stop();
    return;
  }
  if (stopping_) return;
  stopping_ = true;
  sd_notify("STOPPING=1");
  log_event(Level::Notice,
            "SIGTERM received: listeners closed, " + std::to_string(rt.process->active.get()) +
                " sessions draining (hard stop in " +
                std::to_string(rt.config.global.hard_stop_after.count()) + " ms).",
            rt.event_log);
  for (auto& w : workers_)
    w->post(Worker::Drain{});
  // As for every other timeout, 0 means none: sessions may drain forever.
  if (rt.config.global.hard_stop_after.count() > 0)
    uv_timer_start(&hard_stop_, on_hard_stop,
                   static_cast<uint64_t>(rt.config.global.hard_stop_after.count()), 0);
}

void Control::check_exit() {
  for (auto& w : workers_)
    if (!w->finished()) return;
  uv_stop(&loop_);
}

void Control::shutdown_loop() {
  if (health_) health_->close();  // before the workers their messages go to
  for (auto& w : workers_)
    w->join();
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  health_.reset();
  workers_.clear();
  uv_loop_close(&loop_);
}

}  // namespace mqlb::lb
