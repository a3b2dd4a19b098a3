// Pure. source: the client address hash indexes the weighted schedule, so a
// client keeps its server while the usable set is unchanged, on every worker;
// with hash-type consistent it finds its point on the ring instead, so a
// client keeps its server unless that server goes.
#include "lb/balancer/balancer.h"

namespace mqlb::lb::balancer {

std::optional<uint32_t> pick_source(std::span<const Candidate> candidates, const Pool& pool,
                                    const PickKey& key) {
  if (!pool.ring.empty()) return walk_ring(candidates, pool, key.hash);
  return walk_schedule(candidates, pool, key.hash);
}

}  // namespace mqlb::lb::balancer
