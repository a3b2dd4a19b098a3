// Pure: which servers may take sessions, and in which weighted order.
#include <algorithm>
#include <numeric>

#include "lb/balancer/balancer.h"

namespace mqlb::lb::balancer {

std::vector<uint32_t> smooth_schedule(std::span<const uint32_t> weights) {
  uint32_t g = 0;
  for (uint32_t w : weights)
    g = std::gcd(g, w);
  if (g == 0) return {};
  int64_t total = 0;
  for (uint32_t w : weights)
    total += w / g;
  // Smooth WRR: every step each server gains its weight, the richest is
  // chosen and pays the total. Weights 5,1,1 give a a b a c a a, not a a a a a b c.
  std::vector<int64_t> current(weights.size(), 0);
  std::vector<uint32_t> order;
  order.reserve(static_cast<size_t>(total));
  for (int64_t step = 0; step < total; ++step) {
    size_t best = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      current[i] += weights[i] / g;
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    order.push_back(static_cast<uint32_t>(best));
  }
  return order;
}

namespace {

// A server's n-th point is at ring_position(id << 32 | n): adding weight adds
// points and keeps the old ones where they were.
std::vector<RingPoint> build_ring(std::span<const Candidate> candidates,
                                  std::span<const uint32_t> members) {
  std::vector<RingPoint> ring;
  for (uint32_t i : members) {
    const uint64_t points = uint64_t(candidates[i].weight) * kRingPoints;
    for (uint64_t n = 0; n < points; ++n)
      ring.push_back({ring_position(uint64_t(candidates[i].id) << 32 | n), candidates[i].id, i});
  }
  std::sort(ring.begin(), ring.end());
  return ring;
}

}  // namespace

Pool build_pool(std::span<const Candidate> candidates, conf::Balance balance, bool allbackups,
                conf::HashType hash_type) {
  Pool pool;
  auto usable = [&](uint32_t i) { return candidates[i].usable && candidates[i].weight > 0; };
  for (uint32_t i = 0; i < candidates.size(); ++i)
    if (!candidates[i].backup && usable(i)) pool.members.push_back(i);
  bool backups = pool.members.empty();
  if (backups) {
    for (uint32_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].backup && usable(i)) {
        pool.members.push_back(i);
        if (!allbackups) break;
      }
    }
  }
  // static-rr keeps every server of the tier in its schedule; the pick skips
  // the unusable ones, so positions do not move when a server goes down.
  std::vector<uint32_t> scheduled = pool.members;
  if (balance == conf::Balance::StaticRr && (!backups || allbackups)) {
    scheduled.clear();
    for (uint32_t i = 0; i < candidates.size(); ++i)
      if (candidates[i].backup == backups && candidates[i].weight > 0) scheduled.push_back(i);
  }
  std::vector<uint32_t> weights;
  for (uint32_t i : scheduled)
    weights.push_back(candidates[i].weight);
  for (uint32_t slot : smooth_schedule(weights))
    pool.schedule.push_back(scheduled[slot]);
  if (balance == conf::Balance::Source && hash_type == conf::HashType::Consistent)
    pool.ring = build_ring(candidates, pool.members);
  return pool;
}

uint32_t ring_position(uint64_t value) {
  value += 0x9e3779b97f4a7c15u;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9u;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebu;
  return static_cast<uint32_t>((value ^ (value >> 31)) >> 32);
}

std::optional<uint32_t> walk_ring(std::span<const Candidate> candidates, const Pool& pool,
                                  uint32_t hash) {
  const auto& ring = pool.ring;
  const size_t start =
      std::lower_bound(ring.begin(), ring.end(), RingPoint{ring_position(hash), 0, 0}) -
      ring.begin();
  for (size_t step = 0; step < ring.size(); ++step) {
    uint32_t i = ring[(start + step) % ring.size()].member;
    if (candidates[i].usable && !candidates[i].full()) return i;
  }
  return std::nullopt;
}

std::optional<uint32_t> walk_schedule(std::span<const Candidate> candidates, const Pool& pool,
                                      uint64_t start) {
  const size_t n = pool.schedule.size();
  for (size_t step = 0; step < n; ++step) {
    uint32_t i = pool.schedule[(start + step) % n];
    if (candidates[i].usable && !candidates[i].full()) return i;
  }
  return std::nullopt;
}

uint32_t hash_address(std::span<const uint8_t> bytes) {
  uint32_t h = 2166136261u;
  for (uint8_t b : bytes)
    h = (h ^ b) * 16777619u;
  return h;
}

std::optional<uint32_t> pick(conf::Balance balance, std::span<const Candidate> candidates,
                             const Pool& pool, const PickKey& key) {
  using Fn = std::optional<uint32_t> (*)(std::span<const Candidate>, const Pool&, const PickKey&);
  static constexpr Fn kTable[] = {pick_roundrobin, pick_static_rr, pick_leastconn,
                                  pick_source,     pick_first,     pick_random};
  if (pool.members.empty()) return std::nullopt;
  return kTable[static_cast<size_t>(balance)](candidates, pool, key);
}

}  // namespace mqlb::lb::balancer
