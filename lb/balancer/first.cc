// Pure. first: the first server (config order) with a free slot takes the
// session, so the others can be stopped when load is low; a server's maxconn
// is its fill level.
#include "lb/balancer/balancer.h"

namespace mqlb::lb::balancer {

std::optional<uint32_t> pick_first(std::span<const Candidate> candidates, const Pool& pool,
                                   const PickKey&) {
  for (uint32_t i : pool.members)
    if (candidates[i].usable && !candidates[i].full()) return i;
  return std::nullopt;
}

}  // namespace mqlb::lb::balancer
