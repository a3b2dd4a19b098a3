#pragma once
// Health checks (DESIGN.md §6) on the control thread's loop: one Checker
// per server with "check", never on a worker. A check is one TCP
// connection driven by health::TcpCheckRun (tcp, mqtt or tcp-check rules,
// built into the snapshot); its result goes through the server's rise/fall
// counter, and a change of state goes
//   - to the server's long-lived state (workers see it at their next pick:
//     the backend's generation changes),
//   - to the backend's queues (its own waiters requeued or refused on DOWN;
//     free slots handed out on UP),
//   - to the event log in HAProxy 2.6's words,
//   - and, for on-marked-down / on-marked-up, to every worker's inbox.
// Workers report servers whose live traffic reached error-limit ("observe
// layer4") through ProcessState::traffic_errors; on-error applies here.
// Each result is published as the server's check view (ServerState).
// Thread: control. Owned by Control; close() before the loop ends.

#include <uv.h>

#include <memory>
#include <vector>

#include "lb/runtime.h"

namespace mqlb::lb {

class Worker;

class HealthChecks {
 public:
  HealthChecks(uv_loop_t* loop, const std::vector<std::unique_ptr<Worker>>& workers);
  ~HealthChecks();
  HealthChecks(const HealthChecks&) = delete;
  HealthChecks& operator=(const HealthChecks&) = delete;

  // Starts checking every server of `rt` that has "check", the first checks
  // spread over each server's inter.
  void start(std::shared_ptr<const Runtime> rt);
  // A reload's new snapshot: servers it kept (same state object) go on
  // with their counters; new ones start checking, spread over their inter;
  // removed ones stop.
  void reload(std::shared_ptr<const Runtime> rt);
  // Stops every check; their handles close with the loop's next run.
  void close();

  size_t size() const { return checkers_.size(); }

 private:
  struct Checker;
  struct Probe;
  struct Write;

  static void on_traffic_errors(uv_async_t* a) noexcept;

  uv_loop_t* loop_;
  std::shared_ptr<ProcessState> process_;  // set by start()
  uv_async_t traffic_errors_{};
  const std::vector<std::unique_ptr<Worker>>& workers_;
  std::vector<Checker*> checkers_;  // each frees itself once its handles closed
};

}  // namespace mqlb::lb
