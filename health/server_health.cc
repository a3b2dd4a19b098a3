#include "health/server_health.h"

#include <algorithm>

namespace mqlb::health {

namespace {
constexpr int64_t kWeightScale = 16;  // HAProxy's BE_WEIGHT_SCALE
}

void record_check(ServerHealthView& v, const CheckResult& r, Transition t, int64_t now_unix_ms) {
  v.last_check = r;
  if (r.ok()) {
    ++v.consecutive_successes;
    v.consecutive_failures = 0;
  } else {
    ++v.consecutive_failures;
    v.consecutive_successes = 0;
    ++v.failed_checks;
  }
  if (t == Transition::WentDown) ++v.down_transitions;
  if (v.state == ServerStatus::Maint || v.state == ServerStatus::Drain) return;
  if (t == Transition::None) return;
  v.state = t == Transition::WentUp ? ServerStatus::Up : ServerStatus::Down;
  v.since_unix_ms = now_unix_ms;
}

uint32_t slowstart_weight(uint32_t weight, conf::Duration since_up,
                          std::optional<conf::Duration> slowstart) {
  if (!slowstart || slowstart->count() <= 0 || since_up >= *slowstart || since_up.count() < 0) {
    return weight;
  }
  const int64_t s = slowstart->count();
  const int64_t sixteenths = std::min(kWeightScale, (kWeightScale * since_up.count() + s) / s);
  return static_cast<uint32_t>((int64_t{weight} * sixteenths + kWeightScale - 1) / kWeightScale);
}

conf::Duration slowstart_step(conf::Duration slowstart) {
  return std::max(conf::Duration{1000}, slowstart / 20);
}

}  // namespace mqlb::health
