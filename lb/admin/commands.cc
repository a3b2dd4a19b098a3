#include "lb/admin/commands.h"
namespace mqlb::lb::admin {
std::optional<Level> parse_level(std::string_view s) {
  if (s == "admin") return Level::Admin;
  return Level::User;
}
std::string run_line(std::string_view, Admin&, Level, CommandSession&) {
  return "placeholder\n";
}
}  // namespace mqlb::lb::admin
