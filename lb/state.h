#pragma once
// Long-lived state: what outlives a configuration snapshot (DESIGN.md §1,
// §3). One object per name (process, frontend, backend, "backend/server"),
// kept by a StateRegistry on the control thread and pointed at by every
// snapshot that has the name, so live counts, queues, health and counters
// carry over a reload. Thread: any (atomics and the backend queue lock).
//
// Three kinds of field, told apart by type:
//   Gauge          a live count all workers agree on (maxconn, leastconn),
//                  alone on its cache line;
//   PerWorker<T>   counters that only grow, one T per worker, written by
//                  that worker alone and summed when read;
//   plain atomics  state set by the control thread (health, admin, weight).

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "health/server_health.h"

namespace mqlb::tls {
class TicketKeys;
}

namespace mqlb::lb {

inline constexpr size_t kCacheLine = 64;

// A live count checked against a limit. Taking a slot is a compare-and-swap
// below the limit, so a full gauge is never overshot and needs no undo.
// It keeps its peak (HAProxy's smax) on the same cache line: a take adds a
// relaxed load and a compare, and a compare-and-swap only for a new peak.
class alignas(kCacheLine) Gauge {
 public:
  // One slot, or none when `limit` is reached (0 = no limit).
  bool try_take(uint32_t limit) {
    const uint32_t n = try_reserve(limit);
    if (n != 0) note_peak(n);
    return n != 0;
  }
  // A slot held for a session that may not come (a listener's, before
  // accept): the count with it, or 0 for none. Not a peak until the caller
  // says so with note_peak(count), as HAProxy updates conn_max only after
  // the accept.
  uint32_t try_reserve(uint32_t limit) {
    uint32_t n = n_.load(std::memory_order_relaxed);
    do {
      if (limit != 0 && n >= limit) return 0;
    } while (!n_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel));
    return n + 1;
  }
  void take() { note_peak(n_.fetch_add(1, std::memory_order_acq_rel) + 1); }
  void give() { n_.fetch_sub(1, std::memory_order_acq_rel); }
  uint32_t get() const { return n_.load(std::memory_order_relaxed); }
  // The highest count since the object was made (reloads keep it).
  uint32_t peak() const { return peak_.load(std::memory_order_relaxed); }
  void note_peak(uint32_t n) {
    uint32_t p = peak_.load(std::memory_order_relaxed);
    while (n > p && !peak_.compare_exchange_weak(p, n, std::memory_order_relaxed)) {
    }
  }

 private:
  std::atomic<uint32_t> n_{0};
  std::atomic<uint32_t> peak_{0};
};

// A counter with one writer: a relaxed load and store, no read-modify-write.
class Counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A Prometheus histogram with fixed bucket bounds, one per worker inside
// PerWorker<Histogram>: its writer stores with relaxed loads and stores,
// no read-modify-write, no lock, no allocation. `bounds` are the upper
// bounds in microseconds, ascending, shared by every copy (a static table);
// a value above the last goes to the +Inf bucket. Buckets count only their
// own range; a scrape sums them over workers and accumulates them.
struct HistogramBounds {
  static constexpr unsigned kMax = 15;
  unsigned n;            // finite buckets; bucket n is +Inf
  uint64_t le_us[kMax];  // ascending
};

// 1 ms .. 10 s: connect and handshake times.
inline constexpr HistogramBounds kShortBounds{
    13,
    {1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000,
     5'000'000, 10'000'000}};
// 1 s .. 1 day: session durations (MQTT sessions live long).
inline constexpr HistogramBounds kLongBounds{
    9,
    {1'000'000, 10'000'000, 60'000'000, 300'000'000, 900'000'000, 3'600'000'000ULL,
     4 * 3'600'000'000ULL, 12 * 3'600'000'000ULL, 24 * 3'600'000'000ULL}};

class alignas(kCacheLine) Histogram {
 public:
  void observe(const HistogramBounds& b, uint64_t us) {
    unsigned i = 0;
    while (i < b.n && us > b.le_us[i])  // `le`: a value on a bound is in its bucket
      ++i;
    buckets_[i].add();
    sum_us_.add(us);
  }
  uint64_t bucket(unsigned i) const { return buckets_[i].get(); }  // i <= bounds.n
  uint64_t sum_us() const { return sum_us_.get(); }

 private:
  Counter buckets_[HistogramBounds::kMax + 1];
  Counter sum_us_;
};

// What one worker adds up for one frontend, backend or server.
struct alignas(kCacheLine) Totals {
  Counter sessions;        // sessions accepted (frontend) or assigned (backend, server)
  Counter bytes_in;        // client to server
  Counter bytes_out;       // server to client
  Counter connect_errors;  // failed connection attempts
  Counter retries;
  Counter redispatches;
  Counter refused_fd;  // connections lost to EMFILE/ENFILE
  Counter no_server;   // sessions turned away because no server was usable (<NOSRV>)
  Counter denied;      // connections closed by `tcp-request connection reject` (frontend)
  // TLS handshakes with clients (frontend) or servers (server), by outcome.
  Counter tls_handshakes;  // completed, full or resumed
  Counter tls_resumed;     // of those, resumed from a ticket or the cache
  Counter tls_failed;      // refused: protocol, cipher, certificate ("SSL handshake failure")
  Counter tls_closed;      // the peer closed or reset during the handshake
  Counter tls_timeouts;    // timeout client-hs (or connect, to a server)
};

// One T per worker, indexed by the worker's number.
template <typename T>
class PerWorker {
 public:
  explicit PerWorker(unsigned workers) : n_(workers), v_(std::make_unique<T[]>(workers)) {}
  T& at(unsigned worker) { return v_[worker]; }
  const T& at(unsigned worker) const { return v_[worker]; }
  unsigned size() const { return n_; }
  // Sum of `field` over every worker, e.g. sum(&Totals::bytes_in).
  uint64_t sum(Counter T::*field) const {
    uint64_t s = 0;
    for (unsigned i = 0; i < n_; ++i)
      s += (v_[i].*field).get();
    return s;
  }

 private:
  unsigned n_;
  std::unique_ptr<T[]> v_;
};

class ServerState;

// A session waiting for a server slot. It lives inside the session; other
// threads touch it only under its backend's queue lock, and a grant hands
// it to its worker through `sink`.
struct Waiter {
  class Sink {
   public:
    // Called under the queue lock: `w` now holds a slot of w->granted.
    virtual void on_granted(Waiter* w) = 0;

   protected:
    ~Sink() = default;
  };

  Sink* sink = nullptr;
  void* owner = nullptr;          // the waiting session, for its sink
  ServerState* server = nullptr;  // waits for this server only (a source pick), or null
  ServerState* granted = nullptr;
  // Set with a null `granted`: the server it waited for went down and the
  // backend does not redispatch; its session ends (SQ).
  bool refused = false;
  uint64_t ticket = 0;     // arrival order within the backend
  uint64_t queue_idx = 0;  // its queue's served count when it joined
  // Waiters served from its queue while it waited (HAProxy's %sq / %bq),
  // set when it leaves the queue.
  uint32_t processed_before = 0;
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  bool queued = false;
};

// FIFO of waiters; intrusive, so joining and leaving allocate nothing.
class WaitQueue {
 public:
  void push_back(Waiter* w);
  // Where its ticket puts it (a waiter moved from another queue).
  void insert_by_ticket(Waiter* w);
  // `served`: it leaves because it got a slot (counted for %sq / %bq).
  void remove(Waiter* w, bool served);
  Waiter* front() const { return head_; }
  uint32_t size() const { return size_.load(std::memory_order_relaxed); }
  // Read without the lock by releasers deciding whether to look.
  const std::atomic<uint32_t>& size_atomic() const { return size_; }
  // The longest it has been (HAProxy's qmax); written under the lock, read
  // without it.
  uint32_t peak() const { return peak_.load(std::memory_order_relaxed); }

 private:
  void insert_after(Waiter* after, Waiter* w);  // after == null: at the head

  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  uint64_t served_ = 0;
  std::atomic<uint32_t> size_{0};
  std::atomic<uint32_t> peak_{0};
};

enum class Health : uint8_t { Up, Down };
enum class AdminState : uint8_t { Ready, Drain, Maint };

class BackendState;

// Thread: any. Keyed by "backend/server" and address: a server whose
// address changed is a new server.
class ServerState {
 public:
  ServerState(std::shared_ptr<BackendState> backend, std::string id, std::string address,
              unsigned workers);

 private:
  std::shared_ptr<BackendState> backend_owner_;  // declared first: `backend` refers to it

 public:
  BackendState& backend;
  const std::string id;              // "backend/server"
  const std::string address;         // "host:port" as configured, part of the identity
  Gauge active;                      // live sessions holding a slot
  std::atomic<uint32_t> maxconn{0};  // 0 = no limit; from the snapshot
  PerWorker<Totals> totals;
  WaitQueue queue;  // guarded by backend.queue_mutex

  Health health() const { return health_.load(std::memory_order_acquire); }
  AdminState admin() const { return admin_.load(std::memory_order_acquire); }
  uint32_t weight() const { return weight_.load(std::memory_order_acquire); }
  bool usable() const {
    return admin() == AdminState::Ready && health() == Health::Up && weight() > 0;
  }
  bool try_take() { return active.try_take(maxconn.load(std::memory_order_relaxed)); }
  // Each change bumps the backend's generation, so workers rebuild their
  // cached schedule before the next pick.
  void set_health(Health h);
  void set_admin(AdminState a);
  void set_weight(uint32_t w);

  // Frees a slot; the oldest waiter for this server or its backend gets it.
  void release();

  // "observe layer4": one live connection attempt to this server, made by
  // a worker. True for the failure that makes `limit` in a row; the count
  // then starts over (HAProxy's consecutive_errors). The common case, a
  // success with no errors counted, writes nothing.
  bool observe_connect(bool ok, uint32_t limit) {
    if (ok) {
      if (consecutive_errors_.load(std::memory_order_relaxed) != 0)
        consecutive_errors_.store(0, std::memory_order_relaxed);
      return false;
    }
    if (consecutive_errors_.fetch_add(1, std::memory_order_relaxed) + 1 != limit) return false;
    consecutive_errors_.store(0, std::memory_order_relaxed);
    return true;
  }
  // A passing health check forgets the errors, as in HAProxy.
  void clear_errors() { consecutive_errors_.store(0, std::memory_order_relaxed); }

  // What the health checks know about this server, for the API and the
  // metrics: written by the control thread after each check, read by anyone.
  void set_check_view(const health::ServerHealthView& v);
  health::ServerHealthView check_view() const;

 private:
  std::atomic<Health> health_{Health::Up};
  std::atomic<AdminState> admin_{AdminState::Ready};
  std::atomic<uint32_t> weight_{1};
  std::atomic<uint32_t> consecutive_errors_{0};
  mutable std::mutex view_mutex_;  // never taken on a worker
  health::ServerHealthView view_;
};

// Thread: any.
class BackendState {
 public:
  BackendState(std::string name, unsigned workers);

  const std::string name;
  Gauge active;
  PerWorker<Totals> totals;
  // Time to a connected server socket (HAProxy's %Tc), per attempt that
  // connected; kShortBounds.
  PerWorker<Histogram> connect_time;
  // Bumped on every change of a server's health, admin state or weight.
  std::atomic<uint64_t> generation{0};

  // The round-robin sequence: one step per pick, shared by all workers, so
  // sequential sessions alternate whichever worker accepted them.
  uint64_t next_sequence() { return sequence_.n.fetch_add(1, std::memory_order_relaxed); }

  // Queues. A waiter for any server of the backend queues here, one for a
  // given server in that server's queue; both under queue_mutex.
  std::mutex queue_mutex;
  WaitQueue queue;

  // Joins the queue for w->server (or the backend's). The caller then
  // issues a seq_cst fence and tries once more for a slot, since one may
  // have been released before the waiter was visible (ServerState::release
  // fences between giving the slot and looking at the queues).
  void enqueue(Waiter* w);
  // Leaves the queue. Returns the server it was granted meanwhile (the
  // grant is then on its way to the waiter's sink), or null.
  ServerState* leave(Waiter* w);
  // Hands free slots of `s` to the oldest waiters for `s` or the backend.
  void dispatch(ServerState& s);
  // `s` went down: its own waiters (source picks) move to the backend's
  // queue in arrival order when `redispatch`, or are refused (their sinks
  // get them with `refused` set). Returns how many were moved or refused.
  uint32_t requeue(ServerState& s, bool redispatch);

  uint32_t queued() const;  // every queue of the backend
  // The most waiters there have been in every queue of the backend at once.
  uint32_t queued_peak() const { return waiting_peak_.load(std::memory_order_relaxed); }

 private:
  struct alignas(kCacheLine) Sequence {
    std::atomic<uint64_t> n{0};
  } sequence_;
  uint64_t next_ticket_ = 0;               // under queue_mutex
  std::atomic<uint32_t> waiting_{0};       // waiters in every queue of the backend
  std::atomic<uint32_t> waiting_peak_{0};  // written under queue_mutex
};

// Thread: any.
class FrontendState {
 public:
  FrontendState(std::string name, unsigned workers)
      : name(std::move(name)),
        totals(workers),
        session_duration(workers),
        handshake_duration(workers) {}
  const std::string name;
  Gauge active;
  PerWorker<Totals> totals;
  PerWorker<Histogram> session_duration;  // accept to close (%Tt); kLongBounds
  PerWorker<Histogram>
      handshake_duration;  // client TLS handshakes that completed (%Th); kShortBounds
};

// Servers whose live traffic reached error-limit ("observe layer4"): the
// worker that counted the last error reports it here, and the health checks
// on the control thread, woken through their uv_async_t, apply on-error.
// Thread: any; rare (one report per error-limit failed connections).
class TrafficErrors {
 public:
  // Control thread: where reports wake it; null stops the wake-ups (before
  // the handle closes).
  void attach(uv_async_t* wake);
  void report(std::shared_ptr<ServerState> server);
  std::vector<std::shared_ptr<ServerState>> take();

 private:
  std::mutex mutex_;
  uv_async_t* wake_ = nullptr;
  std::vector<std::shared_ptr<ServerState>> pending_;
};

// Thread: any.
class ProcessState {
 public:
  explicit ProcessState(unsigned workers) : totals(workers) {}
  TrafficErrors traffic_errors;
  // Reloads, counted by the control thread.
  std::atomic<uint64_t> reloads{0}, reloads_failed{0};
  std::atomic<int64_t> last_reload_unix_ms{0};  // the last that succeeded; 0: none
  Gauge active;                                 // sessions of the whole process
  // Sessions with a client TLS handshake done or in progress.
  Gauge ssl_sessions;
  PerWorker<Totals> totals;
  // Listeners paused because the process or their frontend is full; a
  // released slot wakes the workers that hold them.
  std::atomic<uint32_t> paused_listeners{0};
};

// Thread: control. Hands out the state for a name, creating it on first
// use; a reload asks again with the same names and gets the same objects.
class StateRegistry {
 public:
  explicit StateRegistry(unsigned workers);

  unsigned workers() const { return workers_; }
  std::shared_ptr<ProcessState> process() const { return process_; }
  std::shared_ptr<FrontendState> frontend(const std::string& name);
  std::shared_ptr<BackendState> backend(const std::string& name);
  std::shared_ptr<ServerState> server(const std::shared_ptr<BackendState>& backend,
                                      const std::string& name, const std::string& address);
  // The process's TLS ticket keys, shared by every bind and worker that
  // does not load its own (tls-ticket-keys), so that a ticket resumes on
  // any worker and across reloads; rotated by the control thread.
  const std::shared_ptr<tls::TicketKeys>& ticket_keys();

 private:
  unsigned workers_;
  std::shared_ptr<ProcessState> process_;
  std::map<std::string, std::shared_ptr<FrontendState>> frontends_;
  std::map<std::string, std::shared_ptr<BackendState>> backends_;
  std::map<std::string, std::shared_ptr<ServerState>> servers_;
  std::shared_ptr<tls::TicketKeys> ticket_keys_;
};

}  // namespace mqlb::lb
