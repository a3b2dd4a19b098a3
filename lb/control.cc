#include "lb/control.h"

#include <signal.h>

#include "lb/worker.h"
#include "tls/ticket_keys.h"

namespace mqlb::lb {

Control::Control(std::unique_ptr<StateRegistry> registry, std::shared_ptr<const Runtime> runtime)
    : registry_(std::move(registry)), runtime_(std::move(runtime)) {
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

void Control::reload_certificates() {
  // The same configuration with every certificate, key, CA and CRL file
  // read again, as a new snapshot: new handshakes use it, live sessions
  // keep the contexts they started with. On any error nothing changes.
  std::vector<std::string> errors;
  auto rt = build_runtime(runtime_->config, *registry_, errors);
  if (!errors.empty()) {
    for (const auto& e : errors)
      log_event(Level::Err, "SIGHUP: " + e, runtime_->event_log);
    log_event(Level::Err, "SIGHUP: certificates not reloaded; the current ones keep serving.",
              runtime_->event_log);
    return;
  }
  rt->maxconn = runtime_->maxconn;
  runtime_ = std::move(rt);
  for (auto& w : workers_)
    w->post(Worker::SwapSnapshot{runtime_});
  log_event(Level::Notice,
            "SIGHUP received: certificates reloaded; new TLS handshakes use them (the rest of the "
            "configuration is unchanged: full reload is not supported yet).",
            runtime_->event_log);
}

void Control::broadcast_hard_stop() {
  for (auto& w : workers_)
    w->post(Worker::HardStop{});
}

void Control::handle_signal(int signum) {
  const Runtime& rt = *runtime_;
  if (signum == SIGHUP) {
    if (!stopping_) reload_certificates();
    return;
  }
  if (signum == SIGINT) {
    log_event(Level::Notice, "SIGINT received: stopping now.", rt.event_log);
    broadcast_hard_stop();
    return;
  }
  if (stopping_) return;
  stopping_ = true;
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
