#pragma once
// Command line of the mqlb binary, HAProxy-shaped: -f FILE (several times,
// or a directory), -c, --dump-config, -v, -h.
// Pure: returns what to do, or an error naming the argument.

#include <span>
#include <string>
#include <variant>
#include <vector>

#include "conf/config.h"

namespace mqlb::lb {

struct CliOptions {
  enum class Mode { Run, Check, DumpConfig, Version, Help };
  Mode mode = Mode::Run;
  // In order, as given; a directory stands for its *.cfg files (conf/config_file.h).
  std::vector<std::string> config_files;
  // Reload when a configuration file changes (Mode::Run only).
  bool watch = false;
};

std::variant<CliOptions, std::string> parse_cli(std::span<const char* const> args);

// What loading the configuration found, as `haproxy -c` prints it: each
// line follows "[ALERT]    (pid) : " or "[WARNING]  (pid) : ".
struct ConfigMessage {
  bool alert = false;
  std::string text;  // "config : parsing [haproxy.cfg:14] : unknown keyword ..."
};
std::vector<ConfigMessage> config_report(const conf::LoadResult& result);

std::string usage();

}  // namespace mqlb::lb
