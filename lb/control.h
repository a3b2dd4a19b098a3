#pragma once
// The control thread: starts the workers, owns the long-lived state
// registry, and turns signals into worker messages (drain on SIGTERM with
// the hard-stop timer, hard stop on SIGINT, a reload on SIGHUP). It also
// rotates the TLS ticket keys and runs the health checks
// (lb/health_checks). Thread: main; run() returns when every worker has
// ended.
//
// A reload (DESIGN.md §3) reads the files again through the Loader, builds
// a snapshot on the same state registry (servers that keep their name and
// address keep their state, counters and sessions), and hands it to every
// worker, which keeps each listener whose address stays, opens the new
// ones and closes the rest. Any error, and nothing changes.
//
// The admin API (lb/admin/http_server, on civetweb's threads, whose
// requests run here as jobs) and the runtime socket (lb/admin/
// socket_server, on this loop) change servers the same way: the change is
// recorded as an override of the files (lb/admin/overrides), the running
// configuration is the files' with the overrides on top, and it is
// installed as a reload installs one, then kept in the state file.

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lb/admin/admin.h"
#include "lb/admin/overrides.h"
#include "lb/health_checks.h"
#include "lb/runtime.h"
#include "lb/state.h"

namespace mqlb::lb {

class Worker;
namespace admin {
class HttpServer;
class SocketServer;
}  // namespace admin

class Control : public admin::Admin {
 public:
  // Reads the configuration files again; errors name the file and line.
  using Loader = std::function<conf::LoadResult()>;

  // `runtime` runs `files` with `overrides` on top (read from the state
  // file at start).
  Control(std::unique_ptr<StateRegistry> registry, std::shared_ptr<const Runtime> runtime,
          Loader loader, conf::Config files, admin::Overrides overrides);
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Reload when one of `paths` (files, or directories of *.cfg files)
  // changes, once they have been quiet for kWatchQuiet. Before run().
  void watch(std::vector<std::string> paths) { watched_ = std::move(paths); }

  // Binds, starts the workers and runs until they end: 0, or 1 when a bind
  // failed (nothing is left listening then).
  int run();

  // On the control thread: the errors that kept anything from changing, or
  // none when the new configuration runs.
  std::vector<std::string> reload(const std::string& trigger) override;

  // admin::Admin, on the control thread.
  const Runtime& runtime() const override { return *runtime_; }
  admin::Info info() const override;
  admin::Outcome change(const admin::Change& c) override;

 private:
  // Runs `next` as the new snapshot: the errors, or none once it runs.
  // `what` starts the log line that says what changed.
  std::vector<std::string> install(const conf::Config& next, const std::string& what);
  // The admin HTTP endpoints and runtime sockets `runtime_` asks for; a
  // failure at start is fatal, one after a reload is logged.
  std::string open_admin(bool at_start);
  void persist_overrides();
  // Runs `job` on this thread (the HTTP server's requests).
  bool post(std::function<void()> job);
  static void on_jobs(uv_async_t* h) noexcept;
  static void on_admin_restart(uv_timer_t* h) noexcept;
  void start_watching();
  static void on_file_event(uv_fs_event_t* h, const char* name, int events, int status) noexcept;
  static void on_watch_quiet(uv_timer_t* h) noexcept;
  static void on_signal(uv_signal_t* h, int signum) noexcept;
  static void on_worker_exit(uv_async_t* h) noexcept;
  static void on_hard_stop(uv_timer_t* h) noexcept;
  static void on_ticket_rotation(uv_timer_t* h) noexcept;
  static void on_drain_deadline(uv_timer_t* h) noexcept;
  // Servers a reload removed drain until hard-stop-after, then their
  // sessions are closed.
  void retire(std::vector<std::shared_ptr<ServerState>> servers, const conf::Config& next);
  void handle_signal(int signum);
  void broadcast_hard_stop();
  void check_exit();
  void shutdown_loop();

  std::unique_ptr<StateRegistry> registry_;
  std::shared_ptr<const Runtime> runtime_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uv_loop_t loop_{};
  std::unique_ptr<HealthChecks> health_;
  uv_async_t worker_exit_{};
  uv_signal_t sigterm_{}, sigint_{}, sighup_{};
  uv_timer_t hard_stop_{};
  uv_timer_t ticket_rotation_{};
  Loader loader_;
  conf::Config files_;          // the files as last loaded
  admin::Overrides overrides_;  // what the API and runtime socket changed on top
  int64_t started_unix_ms_ = 0;
  std::unique_ptr<admin::HttpServer> http_;
  std::unique_ptr<admin::SocketServer> sockets_;
  uv_timer_t admin_restart_{};  // endpoints changed: reopened after the current job
  std::mutex jobs_mutex_;
  std::vector<std::function<void()>> jobs_;  // guarded by jobs_mutex_
  bool jobs_closed_ = false;                 // guarded by jobs_mutex_
  uv_async_t jobs_async_{};
  // --watch: the parent directory of each file (editors replace a file by
  // renaming a new one over it), and the names in it that count.
  std::vector<std::string> watched_;
  struct Watch {
    uv_fs_event_t handle{};
    std::vector<std::string> names;  // empty: every *.cfg (a directory given to -f)
  };
  std::vector<std::unique_ptr<Watch>> watches_;
  uv_timer_t watch_quiet_{};
  static constexpr uint64_t kWatchQuiet = 500;  // ms without a change before the reload
  struct Retired {
    uint64_t deadline;  // loop time
    std::shared_ptr<ServerState> server;
  };
  std::vector<Retired> retired_;
  uv_timer_t drain_deadline_{};
  // How often the process's TLS ticket key changes (the two before it
  // still decrypt: a ticket lives up to three periods).
  static constexpr uint64_t kTicketRotation = 3600 * 1000;
  bool stopping_ = false;
};

}  // namespace mqlb::lb
