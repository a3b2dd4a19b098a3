// Pure.
#include "conf/duration.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

namespace mqlb::conf {

std::variant<Duration, std::string> parse_duration(std::string_view text) {
  const std::string expected =
      "expected a time such as 500ms, 5s, 2m (units us ms s m h d), got '" + std::string(text) +
      "'";
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || p == text.data()) return expected;
  std::string_view unit(p, end - p);
  // HAProxy rounds microseconds up to the next millisecond.
  uint64_t us_per_unit = 0;
  if (unit.empty() || unit == "ms")
    us_per_unit = 1000;
  else if (unit == "us")
    us_per_unit = 1;
  else if (unit == "s")
    us_per_unit = 1000'000;
  else if (unit == "m")
    us_per_unit = 60'000'000;
  else if (unit == "h")
    us_per_unit = 3600'000'000ull;
  else if (unit == "d")
    us_per_unit = 86400'000'000ull;
  else
    return expected;
  // HAProxy keeps timeouts in signed 32-bit milliseconds (about 24.8 days).
  constexpr uint64_t kMaxMs = std::numeric_limits<int32_t>::max();
  if (value > kMaxMs * 1000 / us_per_unit)
    return "time too large: '" + std::string(text) + "' (at most 24d)";
  return Duration((value * us_per_unit + 999) / 1000);
}

std::string format_duration(Duration d) {
  int64_t ms = d.count();
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86400'000, "d"}, {3600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  for (auto [size, unit] : kUnits)
    if (ms != 0 && ms % size == 0) return std::to_string(ms / size) + unit;
  return std::to_string(ms) + "ms";
}

}  // namespace mqlb::conf
