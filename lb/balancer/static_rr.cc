// Pure. static-rr: like roundrobin, over a schedule that keeps unusable
// servers in place (see build_pool); a down server's turns go to the next one.
#include "lb/balancer/balancer.h"

namespace mqlb::lb::balancer {

std::optional<uint32_t> pick_static_rr(std::span<const Candidate> candidates, const Pool& pool,
                                       const PickKey& key) {
  return walk_schedule(candidates, pool, key.sequence);
}

}  // namespace mqlb::lb::balancer
