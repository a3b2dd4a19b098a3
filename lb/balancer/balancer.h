#pragma once
// Balancing algorithms, pure: they see the servers of one backend as
// Candidates (weight, live sessions, whether usable) and return the index of
// the chosen one. No libuv, no sockets; the caller supplies the sequence
// number, the key hash and the randomness. Thread: any.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "conf/config.h"

namespace mqlb::lb::balancer {

// A server as an algorithm sees it at the moment of a pick.
struct Candidate {
  uint32_t weight = 1;
  uint32_t active = 0;   // live sessions, across all workers
  uint32_t maxconn = 0;  // 0 = unlimited
  bool usable = true;    // not disabled, not down, weight > 0
  bool backup = false;
  uint32_t id = 0;  // stable across reloads (hash of the name): its points on a hash ring

  bool full() const { return maxconn != 0 && active >= maxconn; }
};

// The servers that may take sessions now: the usable active servers, or if
// there is none, the usable backups (only the first one unless allbackups).
// `schedule` lists member indexes in smooth weighted round-robin order (each
// server appears weight/gcd times, spread out). Rebuilt only when the usable
// set changes, so picks do no allocation.
// `ring` is the consistent-hash ring (hash-type consistent): kRingPoints
// points per unit of weight for each member, sorted by position. A server's
// points depend only on its id, so one that goes or comes takes or gives
// only the keys that land next to its own points.
struct RingPoint {
  uint32_t position;
  uint32_t id;      // the server's id: two points on one position keep their order whatever
                    // the order of the file
  uint32_t member;  // candidate index
  auto operator<=>(const RingPoint&) const = default;
};

struct Pool {
  std::vector<uint32_t> members;
  std::vector<uint32_t> schedule;
  std::vector<RingPoint> ring;
};

// Points per unit of weight on the ring: with weight 1 and a few servers,
// each gets its share within about a tenth (HAProxy uses 16, coarser).
inline constexpr uint32_t kRingPoints = 64;

// Precondition: candidates is the backend's full server list, in config order.
// static-rr builds its schedule over every server of the tier, usable or not,
// so that a server coming back finds its old place.
Pool build_pool(std::span<const Candidate> candidates, conf::Balance balance, bool allbackups,
                conf::HashType hash_type = conf::HashType::MapBased);

// Smooth weighted round-robin order of `weights` (indexes into it), one period.
std::vector<uint32_t> smooth_schedule(std::span<const uint32_t> weights);

struct PickKey {
  uint64_t sequence = 0;  // a backend-wide counter, one step per pick
  uint32_t hash = 0;      // hash of the client address (source)
  uint64_t random = 0;    // caller-supplied randomness (random)
};

// The chosen candidate index, or nothing when every member is unusable or full.
std::optional<uint32_t> pick(conf::Balance balance, std::span<const Candidate> candidates,
                             const Pool& pool, const PickKey& key);

// One function per algorithm, each in its own file; `pick` dispatches.
std::optional<uint32_t> pick_roundrobin(std::span<const Candidate>, const Pool&, const PickKey&);
std::optional<uint32_t> pick_static_rr(std::span<const Candidate>, const Pool&, const PickKey&);
std::optional<uint32_t> pick_leastconn(std::span<const Candidate>, const Pool&, const PickKey&);
std::optional<uint32_t> pick_source(std::span<const Candidate>, const Pool&, const PickKey&);
std::optional<uint32_t> pick_first(std::span<const Candidate>, const Pool&, const PickKey&);
std::optional<uint32_t> pick_random(std::span<const Candidate>, const Pool&, const PickKey&);

// Walks the schedule from `start`, returning the first usable, non-full
// candidate. Shared by the schedule-driven algorithms.
std::optional<uint32_t> walk_schedule(std::span<const Candidate> candidates, const Pool& pool,
                                      uint64_t start);

// The first usable, non-full candidate at or after `hash` on the ring,
// going round once.
std::optional<uint32_t> walk_ring(std::span<const Candidate> candidates, const Pool& pool,
                                  uint32_t hash);

// Where a key or a server's n-th point sits on the ring: a 64-bit finalizer
// (splitmix64), so that neighbouring addresses and ids land far apart.
uint32_t ring_position(uint64_t value);

// FNV-1a over the address bytes: the same address gives the same hash on
// every worker and across restarts.
uint32_t hash_address(std::span<const uint8_t> bytes);

}  // namespace mqlb::lb::balancer
