#include "lb/nofile.h"

#include <sys/resource.h>

#include <algorithm>

namespace mqlb::lb {

// Client + server of a session. A session waiting for a server slot holds
// its client only and is counted in maxconn already; connections beyond
// maxconn wait in the kernel's backlog and hold none of ours.
constexpr uint64_t kDescriptorsPerSlot = 2;

NofilePlan plan_nofile(uint32_t maxconn, uint64_t soft, uint64_t hard, uint64_t reserve) {
  NofilePlan plan;
  uint64_t need = uint64_t(maxconn) * kDescriptorsPerSlot + reserve;
  plan.soft = std::max(soft, std::min(need, hard));
  plan.maxconn = maxconn;
  if (need > plan.soft) {
    uint64_t fits = plan.soft > reserve ? (plan.soft - reserve) / kDescriptorsPerSlot : 0;
    plan.maxconn = static_cast<uint32_t>(std::max<uint64_t>(fits, 1));
    plan.warning = "maxconn " + std::to_string(maxconn) + " needs " + std::to_string(need) +
                   " file descriptors but the hard limit (ulimit -Hn) is " + std::to_string(hard) +
                   "; lowering maxconn to " + std::to_string(plan.maxconn) +
                   ". Raise LimitNOFILE / ulimit -Hn to serve more.";
  }
  return plan;
}

NofilePlan apply_nofile(uint32_t maxconn, uint64_t reserve) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  NofilePlan plan = plan_nofile(maxconn, rl.rlim_cur, rl.rlim_max, reserve);
  if (plan.soft != rl.rlim_cur) {
    rl.rlim_cur = plan.soft;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  return plan;
}

}  // namespace mqlb::lb
