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

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lb/health_checks.h"
#include "lb/runtime.h"
#include "lb/state.h"

namespace mqlb::lb {

class Worker;

class Control {
 public:
  // Reads the configuration files again; errors name the file and line.
  using Loader = std::function<conf::LoadResult()>;

  Control(std::unique_ptr<StateRegistry> registry, std::shared_ptr<const Runtime> runtime,
          Loader loader);
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Binds, starts the workers and runs until they end: 0, or 1 when a bind
  // failed (nothing is left listening then).
  int run();

  // On the control thread: the errors that kept anything from changing, or
  // none when the new configuration runs.
  std::vector<std::string> reload(const std::string& trigger);

 private:
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
