#pragma once
// Command line of the mqlb binary, HAProxy-shaped: -f FILE, -c, -v, -h.
// Pure: returns what to do, or an error naming the argument.

#include <span>
#include <string>
#include <variant>

namespace mqlb::lb {

struct CliOptions {
  enum class Mode { Run, Check, Version, Help };
  Mode mode = Mode::Run;
  std::string config_file;
};

std::variant<CliOptions, std::string> parse_cli(std::span<const char* const> args);

std::string usage();

}  // namespace mqlb::lb
