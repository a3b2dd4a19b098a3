// parse_cli: HAProxy-shaped command line, errors name the argument.
#include "lb/cli.h"

#include <catch2/catch.hpp>
#include <initializer_list>
#include <vector>

namespace mqlb::lb {
namespace {

using Catch::Matchers::Contains;
using Mode = CliOptions::Mode;

std::variant<CliOptions, std::string> parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"mqlb"};
  argv.insert(argv.end(), args);
  return parse_cli(argv);
}

CliOptions options(std::initializer_list<const char*> args) {
  auto r = parse(args);
  if (auto* e = std::get_if<std::string>(&r)) FAIL("unexpected error: " << *e);
  return std::get<CliOptions>(r);
}

std::string error(std::initializer_list<const char*> args) {
  auto r = parse(args);
  if (auto* o = std::get_if<CliOptions>(&r)) FAIL("expected an error, got mode " << int(o->mode));
  return std::get<std::string>(r);
}

TEST_CASE("cli -f FILE runs with that file", "[cli]") {
  auto o = options({"-f", "/etc/mqlb/mqlb.json"});
  CHECK(o.mode == Mode::Run);
  CHECK(o.config_files == std::vector<std::string>{"/etc/mqlb/mqlb.json"});
}

TEST_CASE("cli accepts the file glued to -f", "[cli]") {
  auto o = options({"-f/etc/mqlb/mqlb.json"});
  CHECK(o.mode == Mode::Run);
  CHECK(o.config_files == std::vector<std::string>{"/etc/mqlb/mqlb.json"});
}

TEST_CASE("cli -c checks the configuration before or after -f", "[cli]") {
  auto before = options({"-c", "-f", "x.json"});
  CHECK(before.mode == Mode::Check);
  CHECK(before.config_files == std::vector<std::string>{"x.json"});
  auto after = options({"-f", "x.json", "-c"});
  CHECK(after.mode == Mode::Check);
  CHECK(after.config_files == std::vector<std::string>{"x.json"});
}

TEST_CASE("cli --dump-config prints the configuration, and not with -c", "[cli]") {
  auto o = options({"-f", "haproxy.cfg", "--dump-config"});
  CHECK(o.mode == Mode::DumpConfig);
  CHECK(o.config_files == std::vector<std::string>{"haproxy.cfg"});
  CHECK(error({"-c", "--dump-config", "-f", "x.cfg"}) ==
        "options '-c' and '--dump-config' exclude each other");
  CHECK(error({"--dump-config"}) == "no configuration file: use -f FILE (see mqlb --help)");
}

TEST_CASE("cli --watch runs mqlb and reloads on changes, never with -c or --dump-config", "[cli]") {
  const CliOptions o = options({"-f", "mqlb.json", "--watch"});
  CHECK(o.mode == Mode::Run);
  CHECK(o.watch);
  CHECK_FALSE(options({"-f", "mqlb.json"}).watch);
  CHECK(error({"--watch", "-c", "-f", "x.cfg"}) ==
        "option '--watch' runs mqlb: it does not go with '-c'");
  CHECK(error({"-f", "x.cfg", "--dump-config", "--watch"}) ==
        "option '--watch' runs mqlb: it does not go with '--dump-config'");
}

TEST_CASE("cli -v and --version ask for the version without a file", "[cli]") {
  CHECK(options({"-v"}).mode == Mode::Version);
  CHECK(options({"-vv"}).mode == Mode::Version);
  CHECK(options({"--version"}).mode == Mode::Version);
  CHECK(options({"-f", "x.json", "-v"}).mode == Mode::Version);
}

TEST_CASE("cli -h and --help ask for the usage without a file", "[cli]") {
  CHECK(options({"-h"}).mode == Mode::Help);
  CHECK(options({"--help"}).mode == Mode::Help);
  CHECK(options({"-c", "--help"}).mode == Mode::Help);
}

TEST_CASE("cli without a configuration file says to use -f", "[cli]") {
  CHECK(error({}) == "no configuration file: use -f FILE (see mqlb --help)");
  CHECK(error({"-c"}) == "no configuration file: use -f FILE (see mqlb --help)");
}

TEST_CASE("cli -f at the end needs a file name", "[cli]") {
  CHECK(error({"-f"}) == "option '-f' needs a file name, e.g. -f /etc/mqlb/mqlb.json");
  CHECK(error({"-c", "-f"}) == "option '-f' needs a file name, e.g. -f /etc/mqlb/mqlb.json");
}

TEST_CASE("cli refuses an unknown option and names it", "[cli]") {
  CHECK(error({"-x"}) == "unknown option '-x' (see mqlb --help)");
  CHECK(error({"-f", "x.json", "--daemon"}) == "unknown option '--daemon' (see mqlb --help)");
  CHECK(error({"x.json"}) == "unknown option 'x.json' (see mqlb --help)");
}

TEST_CASE("cli -f given several times reads the files in that order", "[cli]") {
  CHECK(options({"-f", "a.cfg", "-f", "b.cfg"}).config_files ==
        std::vector<std::string>{"a.cfg", "b.cfg"});
  CHECK(options({"-fa.cfg", "-c", "-f", "/etc/haproxy/conf.d"}).config_files ==
        std::vector<std::string>{"a.cfg", "/etc/haproxy/conf.d"});
  CHECK(options({"-f", "a.cfg", "-fb.cfg"}).config_files ==
        std::vector<std::string>{"a.cfg", "b.cfg"});
}

TEST_CASE("cli reports config problems in HAProxy's -c shape, in file and line order", "[cli]") {
  conf::LoadResult r;
  r.errors = {{"a.cfg", 9, "", "'bind' : invalid port '99999'"},
              {"b.cfg", 3, "", "unknown keyword 'x' in 'backend' section"},
              {"mqlb.json", 0, "backends[0].name", "is required"}};
  r.warnings = {{"a.cfg", 2, "", "'daemon' is ignored: it does not apply to mqlb."}};
  auto report = config_report(r);
  REQUIRE(report.size() == 7);
  CHECK_FALSE(report[0].alert);
  CHECK(report[0].text ==
        "config : parsing [a.cfg:2] : 'daemon' is ignored: it does not apply to mqlb.");
  CHECK(report[1].alert);
  CHECK(report[1].text == "config : parsing [a.cfg:9] : 'bind' : invalid port '99999'");
  CHECK(report[2].text == "config : parsing [b.cfg:3] : unknown keyword 'x' in 'backend' section");
  CHECK(report[3].text == "config : mqlb.json: backends[0].name: is required");
  CHECK(report[4].text == "config : Error(s) found in configuration file : a.cfg");
  CHECK(report[5].text == "config : Error(s) found in configuration file : b.cfg");
  CHECK(report[6].text == "config : Fatal errors found in configuration.");
  CHECK(report[6].alert);
}

TEST_CASE("cli reports only warnings without the fatal line", "[cli]") {
  conf::LoadResult r;
  r.warnings = {{"a.cfg", 2, "", "'daemon' is ignored: it does not apply to mqlb."}};
  auto report = config_report(r);
  REQUIRE(report.size() == 1);
  CHECK_FALSE(report[0].alert);
}

TEST_CASE("cli usage names every option", "[cli]") {
  std::string u = usage();
  CHECK_THAT(u, Contains("-f FILE"));
  CHECK_THAT(u, Contains("-c "));
  CHECK_THAT(u, Contains("--dump-config"));
  CHECK_THAT(u, Contains("-v "));
  CHECK_THAT(u, Contains("-h "));
}

}  // namespace
}  // namespace mqlb::lb
