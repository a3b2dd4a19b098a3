#include "health/hysteresis.h"

namespace mqlb::health {

using InitState = conf::ServerCheck::InitState;
using OnError = conf::ServerCheck::OnError;

namespace {

uint32_t initial_value(uint32_t rise, uint32_t fall, InitState init) {
  switch (init) {
    case InitState::FullyUp:
      return rise + fall - 1;
    case InitState::Up:
      return rise;
    case InitState::Down:
      return rise - 1;
    case InitState::FullyDown:
      return 0;
  }
  return rise;
}

}  // namespace

Health::Health(uint32_t rise, uint32_t fall, InitState init)
    : rise_(rise), fall_(fall), value_(initial_value(rise, fall, init)) {}

Transition Health::observe(bool ok) {
  const bool was_up = up();
  if (ok) {
    if (value_ < rise_ + fall_ - 1) {
      ++value_;
      if (value_ >= rise_) value_ = rise_ + fall_ - 1;
    }
  } else if (value_ > 0) {
    --value_;
    if (value_ < rise_) value_ = 0;
  }
  if (up() == was_up) return Transition::None;
  return up() ? Transition::WentUp : Transition::WentDown;
}

Transition Health::on_traffic_errors(OnError mode) {
  switch (mode) {
    case OnError::Fastinter:
      return Transition::None;
    case OnError::SuddenDeath:
      if (value_ > rise_) value_ = rise_ + 1;
      return observe(false);
    case OnError::FailCheck:
      return observe(false);
    case OnError::MarkDown: {
      const bool was_up = up();
      value_ = rise_;
      observe(false);
      return was_up ? Transition::WentDown : Transition::None;
    }
  }
  return Transition::None;
}

conf::Duration next_interval(const Health& h, const conf::ServerCheck& check) {
  if (h.fully_up()) return check.inter;
  if (h.fully_down()) return check.downinter.value_or(check.inter);
  return check.fastinter.value_or(check.inter);
}

conf::Duration spread(size_t i, size_t n, conf::Duration inter) {
  if (n == 0) return conf::Duration{0};
  return conf::Duration{inter.count() * static_cast<int64_t>(i) / static_cast<int64_t>(n)};
}

conf::Duration jitter(conf::Duration interval, uint32_t percent, double random01) {
  const double range = static_cast<double>(interval.count()) * percent / 100.0;
  const double moved = range - 2.0 * range * random01;
  return conf::Duration{interval.count() + static_cast<int64_t>(moved)};
}

}  // namespace mqlb::health
