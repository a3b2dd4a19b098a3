// Pure. random: power of two choices. Two weighted random draws from the
// schedule; the one with fewer sessions per weight wins.
#include "lb/balancer/balancer.h"

namespace mqlb::lb::balancer {

std::optional<uint32_t> pick_random(std::span<const Candidate> candidates, const Pool& pool,
                                    const PickKey& key) {
  auto a = walk_schedule(candidates, pool, key.random & 0xffffffffu);
  auto b = walk_schedule(candidates, pool, key.random >> 32);
  if (!a || !b) return a ? a : b;
  const Candidate& ca = candidates[*a];
  const Candidate& cb = candidates[*b];
  return uint64_t(cb.active) * ca.weight < uint64_t(ca.active) * cb.weight ? b : a;
}

}  // namespace mqlb::lb::balancer
