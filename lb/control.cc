#include "lb/control.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "health/state_log.h"
#include "lb/access_log.h"
#include "lb/admin/http_server.h"
#include "lb/admin/socket_server.h"
#include "lb/listener.h"
#include "lb/nofile.h"
#include "lb/reload_plan.h"
#include "lb/sd_notify.h"
#include "lb/worker.h"
#include "tls/ticket_keys.h"

namespace mqlb::lb {

namespace {

bool loopback(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "::1" || host == "localhost";
}

// Where the admin API listens: each bind of the stats sections, else its own
// endpoint (global.admin).
std::vector<admin::HttpEndpoint> http_endpoints(const conf::Config& c) {
  std::vector<admin::HttpEndpoint> out;
  for (const auto& a : c.admin_http)
    for (const auto& b : a.binds) {
      admin::HttpEndpoint e;
      e.host = b.host;
      e.port = b.port;
      e.access.loopback = loopback(b.host);
      e.access.token = c.global.admin.token;
      e.access.stats = true;
      e.access.user = a.user;
      e.access.password = a.password;
      e.access.stats_admin = a.admin;
      if (!a.realm.empty()) e.access.realm = a.realm;
      e.metrics_path = a.metrics_path;
      e.stats_uri = a.uri;
      e.refresh_ms = a.refresh ? static_cast<long>(a.refresh->count()) : 0;
      out.push_back(std::move(e));
    }
  if (out.empty() && c.global.admin.enabled) {
    admin::HttpEndpoint e;
    e.host = c.global.admin.host;
    e.port = c.global.admin.port;
    e.access.loopback = loopback(e.host);
    e.access.token = c.global.admin.token;
    e.metrics_path = "/metrics";
    e.stats_uri = "/";
    out.push_back(std::move(e));
  }
  return out;
}

std::string describe(const admin::Change& change) {
  return std::visit(
      [](const auto& c) -> std::string {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, admin::SetServer>) {
          std::string what;
          auto add = [&](const std::string& part) { what += (what.empty() ? "" : ", ") + part; };
          const admin::ServerOverride& o = c.patch.set;
          if (o.admin) add("state " + std::string(admin::admin_name(*o.admin)));
          if (o.weight) add("weight " + std::to_string(*o.weight));
          if (o.address) add("address " + *o.address);
          if (o.port) add("port " + std::to_string(*o.port));
          if (c.patch.clear_admin) add("state as in the files");
          if (c.patch.clear_weight) add("weight as in the files");
          if (c.patch.clear_address) add("address as in the files");
          return "set server " + c.backend + "/" + c.server + ": " + what;
        } else if constexpr (std::is_same_v<T, admin::AddServer>) {
          return "add server " + c.backend + "/" + c.server.name + " at " + c.server.address + ":" +
                 std::to_string(c.server.port);
        } else {
          return "del server " + c.backend + "/" + c.server;
        }
      },
      change);
}

health::AdminLevel admin_level(AdminState a) {
  switch (a) {
    case AdminState::Ready:
      return health::AdminLevel::Ready;
    case AdminState::Drain:
      return health::AdminLevel::Drain;
    case AdminState::Maint:
      break;
  }
  return health::AdminLevel::Maint;
}

// The admin state of every server of a snapshot, and how many servers
// each backend can use.
struct AdminSnapshot {
  std::map<const ServerState*, AdminState> admin;
  std::map<std::string, uint32_t> usable;
};

AdminSnapshot admin_snapshot(const Runtime& rt) {
  AdminSnapshot snap;
  for (const auto& b : rt.backends) {
    uint32_t& usable = snap.usable[b->conf.name];
    for (const auto& s : b->servers) {
      snap.admin[s->state.get()] = s->state->admin();
      if (s->state->usable()) ++usable;
    }
  }
  return snap;
}

// HAProxy's lines for the admin states an admin change moved (src/server.c
// srv_update_status): "Server mqtt/b1 is going DOWN for maintenance. ...",
// then "backend mqtt has no server available!" when it took the last one.
void log_admin_changes(const AdminSnapshot& before, const Runtime& rt) {
  for (const auto& b : rt.backends) {
    health::AdminChange c;
    c.backend = b->conf.name;
    for (const auto& s : b->servers)
      if (s->state->usable()) ++(s->conf.backup ? c.backup_servers : c.active_servers);
    bool changed = false;
    for (const auto& s : b->servers) {
      const auto was = before.admin.find(s->state.get());
      if (was == before.admin.end() || was->second == s->state->admin()) continue;
      changed = true;
      c.server = s->conf.name;
      c.backup = s->conf.backup;
      c.from = admin_level(was->second);
      c.to = admin_level(s->state->admin());
      c.up = s->state->health() == Health::Up;
      c.sessions_active = s->state->active.get();
      c.queued = static_cast<uint32_t>(s->state->queue.size());
      for (const auto& line : health::format_admin_change(c))
        log_event(level_of(health::kLogWarning), line.text, level_of(line.level), line.text,
                  rt.event_log);
    }
    const auto usable_before = before.usable.find(b->conf.name);
    if (changed && usable_before != before.usable.end() && usable_before->second > 0 &&
        c.active_servers == 0 && c.backup_servers == 0)
      log_event(level_of(health::kLogAlert),
                health::format_no_server(b->conf.name, "backend", true),
                level_of(health::kLogEmerg), health::format_no_server(b->conf.name), rt.event_log);
  }
}

// Replaces `path` with `text` so that a crash leaves the old file or the
// new one, never half of one: a temporary file, fsync, rename, fsync of
// the directory.
std::string write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return tmp + ": " + std::strerror(errno);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string e = tmp + ": " + std::strerror(errno);
      ::close(fd);
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return tmp + ": " + std::strerror(errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return path + ": " + std::strerror(errno);
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace

Control::Control(std::unique_ptr<StateRegistry> registry, std::shared_ptr<const Runtime> runtime,
                 Loader loader, conf::Config files, admin::Overrides overrides)
    : registry_(std::move(registry)),
      runtime_(std::move(runtime)),
      loader_(std::move(loader)),
      files_(std::move(files)),
      overrides_(std::move(overrides)),
      started_unix_ms_(unix_now_ms()) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &jobs_async_, on_jobs);
  jobs_async_.data = this;
  uv_timer_init(&loop_, &admin_restart_);
  admin_restart_.data = this;
  uv_timer_init(&loop_, &watch_quiet_);
  watch_quiet_.data = this;
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
  // A start that cannot listen everywhere listens nowhere.
  auto refuse = [&](const std::string& err) {
    log_event(Level::Alert, err, runtime_->event_log);
    // Each worker closes what it bound, then its loop ends.
    for (auto& x : workers_) {
      x->post(Worker::HardStop{});
      x->start();
    }
    shutdown_loop();
    return 1;
  };
  // The admin endpoints first: no traffic listener is open, even briefly,
  // when one of them cannot be.
  if (std::string err = open_admin(true); !err.empty()) return refuse(err);
  for (auto& w : workers_) {
    if (std::string err = w->bind_all(); !err.empty()) return refuse(err);
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
  start_watching();
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
  // What the API changed stays on top of the new files.
  admin::Overrides overrides = overrides_;
  std::vector<std::string> notes;
  conf::Config next = admin::apply(*loaded.config, overrides, notes);
  errors = install(next, "reload");
  if (!errors.empty()) return refuse(std::move(errors));
  for (const auto& n : notes)
    log_event(Level::Warning, "reload: " + n + ".", runtime_->event_log);
  files_ = std::move(*loaded.config);
  if (overrides != overrides_) {
    overrides_ = std::move(overrides);
    persist_overrides();
  }
  process.reloads.fetch_add(1, std::memory_order_relaxed);
  process.last_reload_unix_ms.store(unix_now_ms(), std::memory_order_relaxed);
  return {};
}

admin::Info Control::info() const {
  return {MQLB_VERSION, ::getpid(), started_unix_ms_, static_cast<unsigned>(workers_.size()),
          runtime_->config.global.server_state_file};
}

admin::Outcome Control::change(const admin::Change& c) {
  if (stopping_) return {503, "mqlb is stopping", {}};
  admin::Overrides next = overrides_;
  admin::Outcome outcome = admin::record(next, c, runtime_->config);
  if (!outcome.ok()) return outcome;
  std::vector<std::string> notes;
  const conf::Config config = admin::apply(files_, next, notes);
  const AdminSnapshot before = admin_snapshot(*runtime_);
  std::vector<std::string> errors = install(config, "admin: " + describe(c));
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors)
      all += (all.empty() ? "" : "; ") + e;
    log_event(Level::Warning, "admin: " + describe(c) + " refused: " + all, runtime_->event_log);
    return admin::Outcome::bad({}, all);
  }
  log_admin_changes(before, *runtime_);
  overrides_ = std::move(next);
  persist_overrides();
  return outcome;
}

void Control::persist_overrides() {
  const std::string& path = runtime_->config.global.server_state_file;
  if (path.empty()) return;
  if (std::string e = write_atomically(path, admin::to_state_json(overrides_, runtime_->config));
      !e.empty())
    log_event(Level::Warning, "state file not written: " + e, runtime_->event_log);
}

std::vector<std::string> Control::install(const conf::Config& next, const std::string& what) {
  std::vector<std::string> errors;
  const ReloadPlan plan = plan_reload(runtime_->config, next);

  // New binds must be free before anything changes (the workers open them).
  for (const auto& f : next.frontends)
    for (const auto& b : f.binds)
      if (std::count(plan.listeners_added.begin(), plan.listeners_added.end(), listener_key(f, b)))
        if (std::string e = try_bind(f, b); !e.empty()) errors.push_back(e);
  if (!errors.empty()) return errors;
  auto rt = build_runtime(next, *registry_, errors);
  if (!errors.empty()) return errors;
  for (const auto& w : rt->warnings)
    log_event(Level::Warning, what + ": " + w, runtime_->event_log);

  if (next.global.maxconn == runtime_->config.global.maxconn) {
    rt->maxconn = runtime_->maxconn;
  } else {
    NofilePlan nofile = apply_nofile(next.global.maxconn, descriptor_reserve(*rt));
    if (!nofile.warning.empty())
      log_event(Level::Warning, what + ": " + nofile.warning, rt->event_log);
    rt->maxconn = nofile.maxconn;
  }
  rt->workers = runtime_->workers;  // a restart changes it
  for (const auto& r : plan.needs_restart)
    log_event(Level::Warning, what + ": " + r + " takes a restart; everything else is applied.",
              rt->event_log);

  // Servers of the running snapshot that the new one does not have: they
  // drain (removed, or moved to a new address).
  std::set<const ServerState*> staying;
  for (const auto& b : rt->backends)
    for (const auto& s : b->servers)
      staying.insert(s->state.get());
  // A server that drained and comes back (same name and address, so the
  // same state) is no longer retired: its deadline would cut the sessions
  // it takes from now on.
  std::erase_if(retired_, [&](const Retired& r) { return staying.count(r.server.get()) > 0; });
  std::vector<const Server*> leaving;
  for (const auto& b : runtime_->backends)
    for (const auto& s : b->servers)
      if (!staying.count(s->state.get())) leaving.push_back(s.get());

  std::vector<std::shared_ptr<ServerState>> draining;
  for (const Server* s : leaving)
    if (s->conf.check.shutdown_sessions_on_down)
      for (auto& w : workers_)
        w->post(Worker::ShutdownSessions{s->state, Termination::ServerDownData});
    else
      draining.push_back(s->state);
  const bool admin_changed =
      http_endpoints(rt->config) != http_endpoints(runtime_->config) ||
      rt->config.global.stats_sockets != runtime_->config.global.stats_sockets;
  runtime_ = std::move(rt);
  for (auto& w : workers_)
    w->post(Worker::SwapSnapshot{runtime_});
  if (health_) health_->reload(runtime_);
  retire(std::move(draining), runtime_->config);
  // Not from inside this job: an API request may be waiting for it.
  if (admin_changed) uv_timer_start(&admin_restart_, on_admin_restart, 0, 0);
  std::string summary = plan.summary();
  if (what != "reload" && summary.rfind("reload: ", 0) == 0)
    summary = what + "; " + summary.substr(8);
  log_event(Level::Notice, summary, runtime_->event_log);
  return {};
}

std::string Control::open_admin(bool at_start) {
  const conf::Config& c = runtime_->config;
  if (!http_)
    http_ = std::make_unique<admin::HttpServer>(*this,
                                                [this](auto job) { return post(std::move(job)); });
  if (!sockets_) sockets_ = std::make_unique<admin::SocketServer>(&loop_, *this);
  std::string problem;
  const auto endpoints = http_endpoints(c);
  if (endpoints != http_->endpoints()) {
    http_->stop();
    std::string err = http_->start(endpoints);
    // Only the default endpoint may be given up: nobody asked for it.
    const bool default_only = c.admin_http.empty() && !c.global.admin.configured;
    if (!err.empty() && default_only) {
      log_event(Level::Warning, err + "; running without the admin API.", runtime_->event_log);
    } else if (!err.empty()) {
      problem = err;
    } else {
      for (const auto& e : endpoints)
        log_event(Level::Notice,
                  "admin API on " + admin::listening_port(e.host, e.port) +
                      (e.access.stats ? " (stats section)" : ""),
                  runtime_->event_log);
    }
  }
  if (problem.empty() && c.global.stats_sockets != sockets_->sockets()) {
    sockets_->close();
    problem = sockets_->open(c.global.stats_sockets);
  }
  if (!problem.empty() && !at_start)
    log_event(Level::Alert, "reload: " + problem, runtime_->event_log);
  return problem;
}

void Control::on_admin_restart(uv_timer_t* h) noexcept {
  static_cast<Control*>(h->data)->open_admin(false);
}

void Control::start_watching() {
  namespace fs = std::filesystem;
  std::map<std::string, Watch*> by_dir;
  for (const auto& path : watched_) {
    std::error_code ec;
    const bool is_dir = fs::is_directory(path, ec);
    const fs::path p = fs::absolute(path, ec);
    const std::string dir = is_dir ? p.string() : p.parent_path().string();
    Watch*& w = by_dir[dir];
    if (!w) {
      watches_.push_back(std::make_unique<Watch>());
      w = watches_.back().get();
      uv_fs_event_init(&loop_, &w->handle);
      w->handle.data = this;
      if (int rc = uv_fs_event_start(&w->handle, on_file_event, dir.c_str(), 0); rc != 0) {
        log_event(Level::Warning, "--watch: cannot watch " + dir + ": " + uv_strerror(rc),
                  runtime_->event_log);
        continue;
      }
      log_event(Level::Notice, "--watch: reloading when " + dir + " changes", runtime_->event_log);
    }
    if (!is_dir)
      w->names.push_back(p.filename().string());
    else
      w->names.clear();  // a directory: every *.cfg in it
  }
}

void Control::on_file_event(uv_fs_event_t* h, const char* name, int, int status) noexcept {
  auto* c = static_cast<Control*>(h->data);
  if (status < 0 || !name) return;
  const std::string file = name;
  for (const auto& w : c->watches_) {
    if (&w->handle != h) continue;
    const bool counts = w->names.empty()
                            ? file.size() > 4 && file.compare(file.size() - 4, 4, ".cfg") == 0
                            : std::find(w->names.begin(), w->names.end(), file) != w->names.end();
    // Each change restarts the wait: an editor's several writes make one reload.
    if (counts) uv_timer_start(&c->watch_quiet_, on_watch_quiet, kWatchQuiet, 0);
  }
}

void Control::on_watch_quiet(uv_timer_t* h) noexcept {
  static_cast<Control*>(h->data)->reload("configuration file changed");
}

bool Control::post(std::function<void()> job) {
  std::lock_guard lock(jobs_mutex_);
  if (jobs_closed_) return false;
  jobs_.push_back(std::move(job));
  uv_async_send(&jobs_async_);
  return true;
}

void Control::on_jobs(uv_async_t* h) noexcept {
  auto* c = static_cast<Control*>(h->data);
  std::vector<std::function<void()>> jobs;
  {
    std::lock_guard lock(c->jobs_mutex_);
    jobs.swap(c->jobs_);
  }
  for (auto& job : jobs)
    job();
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
  // Requests still waiting for this thread are answered 503 by theirs.
  if (http_) http_->stop();
  {
    std::lock_guard lock(jobs_mutex_);
    jobs_closed_ = true;
    jobs_.clear();
  }
  if (sockets_) sockets_->close();
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
  sockets_.reset();
  http_.reset();
  workers_.clear();
  uv_loop_close(&loop_);
}

}  // namespace mqlb::lb
