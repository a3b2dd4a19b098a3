// Polling with a deadline, the only way tests wait for something to happen
// (never a bare sleep). Header only; any thread.
#pragma once

#include <chrono>
#include <thread>

namespace mqlb::test {

using Millis = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Calls `pred` every `interval` until it returns true (→ true) or `timeout`
// has passed (→ false, after one last call).
template <typename Pred>
bool wait_until(Pred&& pred, Millis timeout, Millis interval = Millis(10)) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(interval);
  }
}

// Milliseconds since `start`, for bounds such as "closed within 5 s".
inline long elapsed_ms(Clock::time_point start) {
  return static_cast<long>(std::chrono::duration_cast<Millis>(Clock::now() - start).count());
}

}  // namespace mqlb::test
