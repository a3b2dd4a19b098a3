// parse_duration / format_duration: HAProxy time values.
#include "conf/duration.h"

#include <catch2/catch.hpp>

namespace mqlb::conf {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace std::chrono_literals;

Duration parsed(std::string_view text) {
  auto r = parse_duration(text);
  if (auto* e = std::get_if<std::string>(&r)) FAIL("'" << text << "' rejected: " << *e);
  return std::get<Duration>(r);
}

std::string rejected(std::string_view text) {
  auto r = parse_duration(text);
  if (auto* d = std::get_if<Duration>(&r))
    FAIL("'" << text << "' accepted as " << d->count() << "ms");
  return std::get<std::string>(r);
}

TEST_CASE("duration reads every HAProxy unit", "[duration]") {
  CHECK(parsed("1500ms") == 1500ms);
  CHECK(parsed("5s") == 5s);
  CHECK(parsed("2m") == 2min);
  CHECK(parsed("3h") == 3h);
  CHECK(parsed("1d") == 24h);
  CHECK(parsed("2000us") == 2ms);
}

TEST_CASE("duration without a unit is milliseconds", "[duration]") {
  CHECK(parsed("1500") == 1500ms);
  CHECK(parsed("0") == 0ms);
  CHECK(parsed("007") == 7ms);
}

TEST_CASE("duration rounds microseconds up to the next millisecond", "[duration]") {
  CHECK(parsed("1us") == 1ms);
  CHECK(parsed("999us") == 1ms);
  CHECK(parsed("1000us") == 1ms);
  CHECK(parsed("1001us") == 2ms);
  CHECK(parsed("0us") == 0ms);
}

TEST_CASE("duration accepts up to the signed 32-bit millisecond limit", "[duration]") {
  CHECK(parsed("2147483647") == Duration(2147483647));
  CHECK(parsed("2147483647ms") == Duration(2147483647));
  CHECK(parsed("2147483s") == Duration(2147483000));
  CHECK(parsed("24d") == 24 * 24h);
  CHECK(parsed("596h") == 596h);
  CHECK(parsed("2147483647000us") == Duration(2147483647));
}

TEST_CASE("duration above the limit is rejected as too large", "[duration]") {
  for (const char* text : {"2147483648", "2147484s", "25d", "597h", "35792m", "2147483647001us"}) {
    INFO(text);
    CHECK(rejected(text) == "time too large: '" + std::string(text) + "' (at most 24d)");
  }
}

TEST_CASE("duration rejects garbage empty negative and fractional values", "[duration]") {
  for (const char* text : {"", "s", "ms", "abc", "5x", "5S", "5sec", "5 s", " 5s", "5s ", "-5s",
                           "-1", "+5s", "1.5s", "5s5", "0x10", "99999999999999999999999"}) {
    INFO("'" << text << "'");
    std::string why = rejected(text);
    CHECK_THAT(why, StartsWith("expected a time such as 500ms, 5s, 2m (units us ms s m h d)"));
    CHECK_THAT(why, Contains("got '" + std::string(text) + "'"));
  }
}

TEST_CASE("format_duration writes whole seconds in s and the rest in ms", "[duration]") {
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(50s) == "50s");
  CHECK(format_duration(1ms) == "1ms");
  CHECK(format_duration(0ms) == "0ms");
  CHECK(format_duration(1001ms) == "1001ms");
}

TEST_CASE("format_duration output parses back to the same duration", "[duration]") {
  for (Duration d : {Duration(0), Duration(1), Duration(999), Duration(1000), Duration(61'000),
                     Duration(3'600'000), Duration(2147483647)}) {
    INFO(d.count() << "ms");
    CHECK(parsed(format_duration(d)) == d);
  }
}

TEST_CASE("format_duration picks the shortest exact spelling for minutes hours and days",
          "[duration]") {
  CHECK(format_duration(2min) == "2m");
  CHECK(format_duration(1h) == "1h");
  CHECK(format_duration(24h) == "1d");
}

}  // namespace
}  // namespace mqlb::conf
