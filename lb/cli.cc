// Pure.
#include "lb/cli.h"

#include <algorithm>
#include <string_view>
#include <tuple>

namespace mqlb::lb {

std::variant<CliOptions, std::string> parse_cli(std::span<const char* const> args) {
  CliOptions opts;
  bool check = false, dump = false;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "-f") {
      if (i + 1 >= args.size()) return "option '-f' needs a file name, e.g. -f /etc/mqlb/mqlb.json";
      opts.config_files.emplace_back(args[++i]);
    } else if (a.starts_with("-f") && a.size() > 2) {
      opts.config_files.emplace_back(a.substr(2));
    } else if (a == "-c") {
      check = true;
    } else if (a == "--dump-config") {
      dump = true;
    } else if (a == "--watch") {
      opts.watch = true;
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
  if (opts.config_files.empty()) return "no configuration file: use -f FILE (see mqlb --help)";
  if (check && dump) return "options '-c' and '--dump-config' exclude each other";
  if (opts.watch && (check || dump))
    return std::string("option '--watch' runs mqlb: it does not go with '") +
           (check ? "-c" : "--dump-config") + "'";
  opts.mode = check  ? CliOptions::Mode::Check
              : dump ? CliOptions::Mode::DumpConfig
                     : CliOptions::Mode::Run;
  return opts;
}

std::vector<ConfigMessage> config_report(const conf::LoadResult& result) {
  struct Found {
    const conf::Error* problem;
    bool alert;
  };
  std::vector<Found> found;
  std::vector<std::string> files;  // in the order they first appear
  for (const auto* list : {&result.errors, &result.warnings})
    for (const conf::Error& e : *list) {
      found.push_back({&e, list == &result.errors});
      if (std::find(files.begin(), files.end(), e.file) == files.end()) files.push_back(e.file);
    }
  auto file_index = [&](const std::string& f) {
    return std::find(files.begin(), files.end(), f) - files.begin();
  };
  // In the order of the files and their lines, as HAProxy finds them; what
  // has no line (a JSON path, a check across sections) after.
  std::stable_sort(found.begin(), found.end(), [&](const Found& a, const Found& b) {
    auto key = [&](const Found& x) {
      return std::make_tuple(x.problem->line == 0, file_index(x.problem->file), x.problem->line);
    };
    return key(a) < key(b);
  });
  std::vector<ConfigMessage> out;
  for (const Found& f : found) {
    const conf::Error& e = *f.problem;
    std::string text =
        e.line > 0 && e.field.empty()
            ? "parsing [" + e.file + ":" + std::to_string(e.line) + "] : " + e.message
            : e.to_string();
    out.push_back({f.alert, "config : " + text});
  }
  std::vector<std::string> with_errors;
  for (const conf::Error& e : result.errors)
    if (e.line > 0 &&
        std::find(with_errors.begin(), with_errors.end(), e.file) == with_errors.end())
      with_errors.push_back(e.file);
  for (const std::string& f : with_errors)
    out.push_back({true, "config : Error(s) found in configuration file : " + f});
  if (!result.errors.empty())
    out.push_back({true, "config : Fatal errors found in configuration."});
  return out;
}

std::string usage() {
  return "Usage: mqlb -f FILE [-f FILE...] [-c | --dump-config | --watch]\n"
         "       mqlb -v | --help\n"
         "\n"
         "  -f FILE   configuration file: mqlb JSON (docs/config.md) or haproxy.cfg\n"
         "            (docs/haproxy.md), told apart by content. Several -f, or a\n"
         "            directory (its *.cfg files in lexical order), make one haproxy.cfg\n"
         "  -c        check the configuration and exit: 0 valid, 1 invalid\n"
         "  --dump-config  print the configuration as mqlb JSON, every default\n"
         "            written out, and exit (see what a haproxy.cfg became)\n"
         "  --watch   reload when a configuration file changes (as SIGHUP does)\n"
         "  -v        print the version of mqlb and of its libraries\n"
         "  -h        this help\n"
         "\n"
         "Signals: SIGHUP reloads the configuration in place, SIGTERM stops accepting\n"
         "and lets sessions finish (global.hard_stop_after), SIGINT stops at once.\n";
}

}  // namespace mqlb::lb
