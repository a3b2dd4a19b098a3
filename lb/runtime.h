#pragma once
// Runtime: what a Config becomes when it runs. Built on the control thread,
// then shared read-only by every worker (shared_ptr<const Runtime>); the only
// mutable parts are atomics (live counts, queue lengths, the round-robin
// sequence) that all threads read and update without locks.

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "lb/balancer/balancer.h"
#include "lb/log.h"

namespace mqlb::lb {

// Thread: any. One per backend/server name.
struct Server {
  conf::Server conf;
  std::string id;  // "backend/server"
  sockaddr_storage addr{};
  mutable std::atomic<uint32_t> active{0};  // live sessions holding a slot
  mutable std::atomic<uint64_t> total{0};   // sessions ever assigned
  mutable std::atomic<bool> down{false};    // set by health checks (later issues)

  bool usable() const {
    return !conf.disabled && conf.weight > 0 && !down.load(std::memory_order_relaxed);
  }
};

// Thread: any.
class Backend {
 public:
  explicit Backend(conf::Backend c);

  conf::Backend conf;
  std::vector<std::unique_ptr<Server>> servers;
  mutable std::atomic<uint32_t> active{0};
  mutable std::atomic<uint32_t> queued{0};

  // Picks a server with a free slot and takes the slot (server.active + 1),
  // or returns null. `exclude` is skipped when another choice exists
  // (redispatch). Lock-free: the weighted pool is cached per usable set.
  const Server* acquire(uint32_t source_hash, const Server* exclude) const;
  void release(const Server* s) const;

  // True when some server could take a session once a slot frees.
  bool has_usable_server() const;

 private:
  struct CachedPool {
    std::vector<bool> usable;
    balancer::Pool pool;
  };
  std::shared_ptr<const CachedPool> pool_for(const std::vector<balancer::Candidate>& c) const;

  mutable std::atomic<uint64_t> sequence_{0};
  mutable std::atomic<std::shared_ptr<const CachedPool>> pool_;
};

// Thread: any.
struct Frontend {
  conf::Frontend conf;
  const Backend* backend = nullptr;
  LogSinks log;
  mutable std::atomic<uint32_t> active{0};
};

// Thread: built on control, then read by every worker.
struct Runtime {
  conf::Config config;
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<std::unique_ptr<Frontend>> frontends;
  LogSinks event_log;    // global syslog targets, for events
  uint32_t maxconn = 0;  // effective (after RLIMIT_NOFILE); also bounds the wait queue
  mutable std::atomic<uint32_t> active{0};
  mutable std::atomic<uint32_t> queued{0};
  mutable std::atomic<uint64_t> refused_fd{0};  // accepts lost to EMFILE/ENFILE
};

// Resolves server addresses and opens log targets; errors name the server
// or the target. Does not bind anything.
std::shared_ptr<Runtime> build_runtime(const conf::Config& config,
                                       std::vector<std::string>& errors);

}  // namespace mqlb::lb
