// Pure. roundrobin: the backend-wide sequence indexes the smooth weighted
// schedule of the usable servers, so sequential sessions alternate strictly
// whichever worker accepted them.
#include "lb/balancer/balancer.h"

namespace mqlb::lb::balancer {

std::optional<uint32_t> pick_roundrobin(std::span<const Candidate> candidates, const Pool& pool,
                                        const PickKey& key) {
  return walk_schedule(candidates, pool, key.sequence);
}

}  // namespace mqlb::lb::balancer
