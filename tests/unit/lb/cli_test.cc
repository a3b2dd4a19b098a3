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
  CHECK(o.config_file == "/etc/mqlb/mqlb.json");
}

TEST_CASE("cli accepts the file glued to -f", "[cli]") {
  auto o = options({"-f/etc/mqlb/mqlb.json"});
  CHECK(o.mode == Mode::Run);
  CHECK(o.config_file == "/etc/mqlb/mqlb.json");
}

TEST_CASE("cli -c checks the configuration before or after -f", "[cli]") {
  auto before = options({"-c", "-f", "x.json"});
  CHECK(before.mode == Mode::Check);
  CHECK(before.config_file == "x.json");
  auto after = options({"-f", "x.json", "-c"});
  CHECK(after.mode == Mode::Check);
  CHECK(after.config_file == "x.json");
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

TEST_CASE("cli refuses -f given twice", "[cli]") {
  CHECK(error({"-f", "a.json", "-f", "b.json"}) ==
        "option '-f' given twice (one config file at a time)");
  CHECK(error({"-fa.json", "-f", "b.json"}) ==
        "option '-f' given twice (one config file at a time)");
}

TEST_CASE("cli refuses -f given twice when the second one is glued", "[cli]") {
  CHECK(error({"-f", "a.json", "-fb.json"}) ==
        "option '-f' given twice (one config file at a time)");
}

TEST_CASE("cli usage names every option", "[cli]") {
  std::string u = usage();
  CHECK_THAT(u, Contains("-f FILE"));
  CHECK_THAT(u, Contains("-c "));
  CHECK_THAT(u, Contains("-v "));
  CHECK_THAT(u, Contains("-h "));
}

}  // namespace
}  // namespace mqlb::lb
