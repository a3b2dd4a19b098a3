#pragma once
// Runtime: the configuration snapshot a Config becomes when it runs.
// Built on the control thread, then shared read-only by every worker and
// held by each session that started in it (shared_ptr<const Runtime>). It
// holds configuration only — resolved addresses, log targets — and points
// at the long-lived state objects (lb/state.h) for everything that changes.

#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "health/tcp_check.h"
#include "lb/balancer/balancer.h"
#include "lb/log.h"
#include "lb/state.h"
#include "tls/context.h"

namespace mqlb::lb {

// Thread: any.
struct Server {
  conf::Server conf;
  std::string id;        // "backend/server"
  uint32_t ring_id = 0;  // hash of the server's name: its points on a consistent-hash ring
  sockaddr_storage addr{};
  std::shared_ptr<ServerState> state;
  std::shared_ptr<const tls::ClientContext> tls;  // "ssl": TLS to the server
  // "check": what a health check does, and where it connects (check-addr,
  // check-port, else the server's address and port).
  std::shared_ptr<const health::Ruleset> check;
  sockaddr_storage check_addr{};
  // No address: init-addr none let it start in maintenance.
  bool unresolved = false;
  // Checks over TLS (check-ssl, `tcp-check connect ssl`): the server's TLS
  // settings, the same context as `tls` when its traffic is TLS too.
  std::shared_ptr<const tls::ClientContext> check_tls;
};

// Thread: any; pick caches are per worker.
class Backend {
 public:
  Backend(conf::Backend c, std::shared_ptr<BackendState> state, unsigned workers);

  conf::Backend conf;
  std::vector<std::unique_ptr<Server>> servers;
  std::shared_ptr<BackendState> state;

  struct Pick {
    const Server* server = nullptr;  // chosen, its slot taken
    const Server* pinned = nullptr;  // or: the full server a source pick must wait for
  };
  // Picks a server with a free slot and takes the slot, for a session of
  // worker `worker`. `exclude` is skipped when another choice exists
  // (redispatch). Lock-free: the weighted schedule is cached per worker and
  // rebuilt when the backend's generation changes.
  Pick acquire(unsigned worker, uint32_t source_hash, const Server* exclude) const;
  // Gives the slot of `s` back (the oldest waiter gets it).
  void release(const Server* s) const;
  // The snapshot's server for a state granted to a waiter.
  const Server* find(const ServerState* s) const;
  // True when some server could take a session once a slot frees.
  bool has_usable_server() const;

 private:
  struct alignas(kCacheLine) PickCache {
    uint64_t generation = ~uint64_t{0};
    balancer::Pool pool;
    std::vector<balancer::Candidate> candidates;
  };
  // One per worker, touched only by that worker.
  std::unique_ptr<PickCache[]> caches_;
};

// Thread: any.
struct Bind {
  conf::Bind conf;
  // A TLS bind's certificates and settings, loaded once; new handshakes use
  // the snapshot's, live sessions keep the one they started with.
  std::shared_ptr<const tls::ServerContext> tls;
};

// Thread: any.
struct Frontend {
  conf::Frontend conf;
  std::vector<Bind> binds;           // as conf.binds
  std::string tls_name;              // "mqtt~": HAProxy's %ft for a session over TLS
  const Backend* backend = nullptr;  // default_backend
  // use_backend rules (conf.use_backend), tried in order before `backend`.
  struct Route {
    const conf::BackendRule* rule;
    const Backend* backend;
  };
  std::vector<Route> routes;
  LogSinks log;
  std::shared_ptr<FrontendState> state;
};

// Thread: built on control, then read by every worker.
struct Runtime {
  conf::Config config;
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<std::unique_ptr<Frontend>> frontends;
  LogSinks event_log;    // global syslog targets, for events
  uint32_t maxconn = 0;  // effective (after RLIMIT_NOFILE)
  unsigned workers = 1;
  std::shared_ptr<ProcessState> process;
  // What build_runtime noticed without refusing it (a server left in
  // maintenance by init-addr none), for the caller to log.
  std::vector<std::string> warnings;
};

// Resolves server addresses, opens log targets, loads TLS certificates and
// attaches the state objects of `registry` by name; errors name the server,
// the target or the file.
// Does not bind anything. Live state (weights, admin state, limits) takes
// the new configuration only when there is no error.
std::shared_ptr<Runtime> build_runtime(const conf::Config& config, StateRegistry& registry,
                                       std::vector<std::string>& errors);

// Sets the port of an IPv4 or IPv6 address.
void set_port(sockaddr_storage& addr, uint16_t port);

// What the frontends of `rt` have taken in, summed over workers: the
// connections accepted (sessions, and those denied at accept: HAProxy's
// CumConns) and the bytes sent to clients.
struct FrontendSums {
  uint64_t connections = 0;
  uint64_t bytes_out = 0;
};
FrontendSums frontend_sums(const Runtime& rt);

// Descriptors `rt` needs besides two per session (lb/nofile.h).
uint64_t descriptor_reserve(const Runtime& rt);

}  // namespace mqlb::lb
