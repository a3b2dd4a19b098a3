#pragma once
// How many descriptors mqlb needs for its maxconn, and what to do when the
// hard limit is lower. The plan is pure; apply_nofile_plan does the syscall.

#include <cstdint>
#include <string>

namespace mqlb::lb {

struct NofilePlan {
  uint64_t soft = 0;     // the soft RLIMIT_NOFILE to set
  uint32_t maxconn = 0;  // the maxconn that fits in it
  std::string warning;   // non-empty when maxconn had to be lowered
};

// Two descriptors per session (client + server), as in HAProxy, plus
// `reserve` for listeners, loops, log sockets and the accept reserve.
NofilePlan plan_nofile(uint32_t maxconn, uint64_t soft, uint64_t hard, uint64_t reserve);

// Reads the limits, applies the plan, returns it.
NofilePlan apply_nofile(uint32_t maxconn, uint64_t reserve);

}  // namespace mqlb::lb
