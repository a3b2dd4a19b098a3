#pragma once
// PLACEHOLDER (not committed): replaced by the runtime socket's command layer.
#include <optional>
#include <string>
#include <string_view>

#include "lb/admin/admin.h"

namespace mqlb::lb::admin {
struct CommandSession {
  bool prompt = false;
  bool quit = false;
};
enum class Level { User, Operator, Admin };
std::optional<Level> parse_level(std::string_view);
std::string run_line(std::string_view line, Admin& admin, Level level, CommandSession& session);
}  // namespace mqlb::lb::admin
