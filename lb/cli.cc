// Pure.
#include "lb/cli.h"

#include <string_view>

namespace mqlb::lb {

std::variant<CliOptions, std::string> parse_cli(std::span<const char* const> args) {
  CliOptions opts;
  bool check = false;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "-f") {
      if (i + 1 >= args.size()) return "option '-f' needs a file name, e.g. -f /etc/mqlb/mqlb.json";
      if (!opts.config_file.empty()) return "option '-f' given twice (one config file at a time)";
      opts.config_file = args[++i];
    } else if (a.starts_with("-f") && a.size() > 2) {
      if (!opts.config_file.empty()) return "option '-f' given twice (one config file at a time)";
      opts.config_file = std::string(a.substr(2));
    } else if (a == "-c") {
      check = true;
    } else if (a == "-v" || a == "-vv" || a == "--version") {
      opts.mode = CliOptions::Mode::Version;
      return opts;
    } else if (a == "-h" || a == "--help") {
      opts.mode = CliOptions::Mode::Help;
      return opts;
    } else {
      return "unknown option '" + std::string(a) + "' (see mqlb --help)";
    }
  }
  if (opts.config_file.empty()) return "no configuration file: use -f FILE (see mqlb --help)";
  opts.mode = check ? CliOptions::Mode::Check : CliOptions::Mode::Run;
  return opts;
}

std::string usage() {
  return "Usage: mqlb -f FILE [-c]\n"
         "       mqlb -v | --help\n"
         "\n"
         "  -f FILE   configuration file (mqlb JSON, see docs/config.md)\n"
         "  -c        check the configuration and exit: 0 valid, 1 invalid\n"
         "  -v        print the version of mqlb and of its libraries\n"
         "  -h        this help\n"
         "\n"
         "Signals: SIGTERM stops accepting and lets sessions finish (global.hard_stop_after),\n"
         "SIGINT stops at once.\n";
}

}  // namespace mqlb::lb
