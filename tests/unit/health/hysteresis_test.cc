// Health: HAProxy's rise/fall counter, init-state, on-error, intervals, spreading.
#include "health/hysteresis.h"

#include <catch2/catch.hpp>
#include <vector>

namespace mqlb::health {
namespace {

using InitState = conf::ServerCheck::InitState;
using OnError = conf::ServerCheck::OnError;
using std::chrono::milliseconds;
using T = Transition;

// The transitions a sequence of results causes ('+' success, '-' failure).
std::vector<Transition> run(Health& h, const char* results) {
  std::vector<Transition> out;
  for (const char* p = results; *p; ++p)
    out.push_back(h.observe(*p == '+'));
  return out;
}

TEST_CASE("init-state up starts UP and one failure takes it DOWN, as in HAProxy 2.6", "[health]") {
  Health h(2, 3, InitState::Up);
  CHECK(h.up());
  CHECK(h.value() == 2);
  CHECK(run(h, "-") == std::vector{T::WentDown});
  CHECK(h.value() == 0);
  CHECK(run(h, "++") == std::vector{T::None, T::WentUp});
  CHECK(h.value() == 4);  // fully up: rise + fall - 1
}

TEST_CASE("init-state fully-up needs fall failures to go DOWN", "[health]") {
  Health h(2, 3, InitState::FullyUp);
  CHECK(h.fully_up());
  CHECK(run(h, "---") == std::vector{T::None, T::None, T::WentDown});
  CHECK(h.fully_down());
}

TEST_CASE("init-state down starts DOWN and one success brings it UP", "[health]") {
  Health h(2, 3, InitState::Down);
  CHECK_FALSE(h.up());
  CHECK(h.value() == 1);
  CHECK(run(h, "+") == std::vector{T::WentUp});
  CHECK(h.fully_up());

  Health d(2, 3, InitState::Down);
  CHECK(run(d, "-++") == std::vector{T::None, T::None, T::WentUp});  // a failure: fully down
}

TEST_CASE("init-state fully-down needs rise successes to go UP", "[health]") {
  Health h(3, 2, InitState::FullyDown);
  CHECK(run(h, "+++") == std::vector{T::None, T::None, T::WentUp});
  CHECK(h.value() == 4);
}

TEST_CASE("a success while UP restores the full margin and a failure while rising restarts",
          "[health]") {
  Health h(2, 3, InitState::FullyUp);
  CHECK(run(h, "--+") == std::vector{T::None, T::None, T::None});
  CHECK(h.fully_up());
  CHECK(run(h, "---") == std::vector{T::None, T::None, T::WentDown});
  CHECK(run(h, "+-++") == std::vector{T::None, T::None, T::None, T::WentUp});
}

TEST_CASE("rise 1 fall 1 flips on every change", "[health]") {
  Health h(1, 1, InitState::Up);
  CHECK(run(h, "-+-+") == std::vector{T::WentDown, T::WentUp, T::WentDown, T::WentUp});
}

TEST_CASE("the counter stays at its ends", "[health]") {
  Health h(2, 3, InitState::FullyUp);
  run(h, "+++");
  CHECK(h.value() == 4);
  run(h, "------");
  CHECK(h.value() == 0);
}

TEST_CASE("progress is HAProxy's status: N/M of the health check line", "[health]") {
  Health h(2, 3, InitState::FullyUp);
  CHECK(h.progress() == 3);
  CHECK(h.progress_of() == 3);
  h.observe(false);
  CHECK(h.progress() == 2);
  run(h, "--");
  CHECK(h.progress() == 0);
  CHECK(h.progress_of() == 2);
  h.observe(true);
  CHECK(h.progress() == 1);
  CHECK(h.progress_of() == 2);
}

TEST_CASE("on-error modes act as HAProxy's health_adjust", "[health]") {
  Health fast(2, 3, InitState::FullyUp);
  CHECK(fast.on_traffic_errors(OnError::Fastinter) == T::None);
  CHECK(fast.value() == 4);

  Health fail(2, 3, InitState::FullyUp);
  CHECK(fail.on_traffic_errors(OnError::FailCheck) == T::None);
  CHECK(fail.value() == 3);

  Health sudden(2, 3, InitState::FullyUp);
  CHECK(sudden.on_traffic_errors(OnError::SuddenDeath) == T::None);
  CHECK(sudden.value() == 2);  // one failure away from DOWN
  CHECK(sudden.observe(false) == T::WentDown);

  Health mark(2, 3, InitState::FullyUp);
  CHECK(mark.on_traffic_errors(OnError::MarkDown) == T::WentDown);
  CHECK(mark.fully_down());
  CHECK(mark.on_traffic_errors(OnError::MarkDown) == T::None);
}

TEST_CASE("the interval is inter when fully up, downinter when fully down, fastinter between",
          "[health]") {
  conf::ServerCheck c;
  c.rise = 2;
  c.fall = 3;
  c.inter = milliseconds(2000);
  c.fastinter = milliseconds(500);
  c.downinter = milliseconds(10000);

  CHECK(next_interval(Health(2, 3, InitState::FullyUp), c) == milliseconds(2000));
  CHECK(next_interval(Health(2, 3, InitState::Up), c) == milliseconds(500));
  CHECK(next_interval(Health(2, 3, InitState::Down), c) == milliseconds(500));
  CHECK(next_interval(Health(2, 3, InitState::FullyDown), c) == milliseconds(10000));

  c.fastinter.reset();
  c.downinter.reset();
  CHECK(next_interval(Health(2, 3, InitState::Up), c) == milliseconds(2000));
  CHECK(next_interval(Health(2, 3, InitState::FullyDown), c) == milliseconds(2000));
}

TEST_CASE("first checks are spread over one inter", "[health]") {
  CHECK(spread(0, 4, milliseconds(2000)) == milliseconds(0));
  CHECK(spread(1, 4, milliseconds(2000)) == milliseconds(500));
  CHECK(spread(3, 4, milliseconds(2000)) == milliseconds(1500));
  CHECK(spread(0, 0, milliseconds(2000)) == milliseconds(0));
}

TEST_CASE("spread-checks moves an interval by up to the percentage", "[health]") {
  CHECK(jitter(milliseconds(2000), 10, 0.0) == milliseconds(2200));
  CHECK(jitter(milliseconds(2000), 10, 0.5) == milliseconds(2000));
  CHECK(jitter(milliseconds(2000), 10, 1.0) == milliseconds(1800));
  CHECK(jitter(milliseconds(2000), 0, 0.3) == milliseconds(2000));
}

TEST_CASE("a Health is built from the server's check options", "[health]") {
  conf::ServerCheck c;
  c.rise = 3;
  c.fall = 2;
  c.init_state = InitState::FullyDown;
  Health h(c);
  CHECK(h.rise() == 3);
  CHECK(h.fall() == 2);
  CHECK(h.value() == 0);
}

}  // namespace
}  // namespace mqlb::health
