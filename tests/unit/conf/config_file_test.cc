// load_text / load_files: the loader chosen by content, several files and
// directories read as HAProxy reads them.
#include "conf/config_file.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

namespace mqlb::conf {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> no_env(std::string_view) {
  return std::nullopt;
}

// A directory of its own under the system's temporary one, removed at the end.
struct Scratch {
  fs::path dir;
  Scratch() {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("mqlb-config-file-" + std::to_string(rd()));
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  }
};

constexpr const char* kDefaults =
    "defaults\n  timeout client 5s\n  timeout connect 5s\n  timeout server 5s\n  retries 7\n";
constexpr const char* kProxies =
    "frontend f\n  bind 127.0.0.1:1883\n  default_backend b\n"
    "backend b\n  server s 127.0.0.1:1884\n";
constexpr const char* kJson = R"({
  "frontends": [{"name": "f", "bind": ["127.0.0.1:1883"], "default_backend": "b"}],
  "backends": [{"name": "b", "servers": [{"name": "s", "address": "127.0.0.1", "port": 1884}]}]
})";

TEST_CASE("config file is JSON when it starts with a brace, haproxy.cfg otherwise", "[haproxy]") {
  LoadResult json = load_text(std::string("\n  ") + kJson, "x.cfg", no_env);
  CHECK(json.config);
  LoadResult cfg = load_text(std::string(kDefaults) + kProxies, "x.json", no_env);
  REQUIRE(cfg.config);
  CHECK(cfg.config->backends[0].retries == 7);
  LoadResult bad_json = load_text("{\"frontends\": ", "x.cfg", no_env);
  REQUIRE_FALSE(bad_json.errors.empty());
  CHECK_THAT(bad_json.errors[0].message, Catch::Matchers::StartsWith("invalid JSON"));
}

TEST_CASE("config files given in order make one haproxy configuration", "[haproxy]") {
  Scratch s;
  std::string a = s.write("a.cfg", kDefaults);
  std::string b = s.write("b.cfg", kProxies);
  LoadResult r = load_files({a, b}, no_env);
  REQUIRE(r.config);
  CHECK(r.config->backends[0].retries == 7);  // the defaults of a.cfg apply in b.cfg
  LoadResult reversed = load_files({b, a}, no_env);
  REQUIRE(reversed.config);
  CHECK(reversed.config->backends[0].retries == 3);
}

TEST_CASE("config directory stands for its cfg files in lexical order", "[haproxy]") {
  Scratch s;
  s.write("20-proxies.cfg", kProxies);
  s.write("10-defaults.cfg", kDefaults);
  s.write("30-broken.cfg.orig", "this is not read\n");
  LoadResult r = load_files({s.dir.string()}, no_env);
  INFO((r.errors.empty() ? "" : r.errors[0].to_string()));
  REQUIRE(r.config);
  CHECK(r.config->backends[0].retries == 7);
}

TEST_CASE("config errors name the file they are in", "[haproxy]") {
  Scratch s;
  std::string a = s.write("a.cfg", kDefaults);
  std::string b = s.write("b.cfg", std::string(kProxies) + "  balanse roundrobin\n");
  LoadResult r = load_files({a, b}, no_env);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].file == b);
  CHECK(r.errors[0].line == 6);
}

TEST_CASE("config file that cannot be read is reported with the reason", "[haproxy]") {
  Scratch s;
  std::string missing = (s.dir / "none.cfg").string();
  LoadResult r = load_files({missing}, no_env);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message ==
        "Could not open configuration file " + missing + " : No such file or directory");
}

TEST_CASE("config JSON file must come alone", "[haproxy]") {
  Scratch s;
  std::string json = s.write("mqlb.json", kJson);
  std::string cfg = s.write("b.cfg", kProxies);
  CHECK(load_files({json}, no_env).config);
  LoadResult r = load_files({cfg, json}, no_env);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].file == json);
  CHECK(r.errors[0].message == "a JSON configuration must be the only file, and 2 were given");
}

}  // namespace
}  // namespace mqlb::conf
