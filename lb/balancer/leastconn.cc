// Pure. leastconn: the fewest live sessions relative to weight, i.e. the
// smallest (active + 1) / weight, compared as active+1 times the other's
// weight to stay in integers. Ties rotate with the sequence so equal servers
// take turns instead of the first one filling up.
#include "lb/balancer/balancer.h"

namespace mqlb::lb::balancer {

std::optional<uint32_t> pick_leastconn(std::span<const Candidate> candidates, const Pool& pool,
                                       const PickKey& key) {
  const size_t n = pool.members.size();
  std::optional<uint32_t> best;
  for (size_t step = 0; step < n; ++step) {
    uint32_t i = pool.members[(key.sequence + step) % n];
    const Candidate& c = candidates[i];
    if (!c.usable || c.full()) continue;
    if (!best) {
      best = i;
      continue;
    }
    const Candidate& b = candidates[*best];
    if (uint64_t(c.active + 1) * b.weight < uint64_t(b.active + 1) * c.weight) best = i;
  }
  return best;
}

}  // namespace mqlb::lb::balancer
