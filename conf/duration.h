#pragma once
// HAProxy time values: a number with an optional unit (us, ms, s, m, h, d);
// a bare number is milliseconds. Pure.

#include <string>
#include <string_view>
#include <variant>

#include "conf/config.h"

namespace mqlb::conf {

// The duration, or a message saying what was expected.
std::variant<Duration, std::string> parse_duration(std::string_view text);

// "1500ms", "50s", ... the shortest exact spelling; used in logs and -c output.
std::string format_duration(Duration d);

}  // namespace mqlb::conf
