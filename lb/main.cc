// mqlb: loads and checks the configuration, sizes RLIMIT_NOFILE for it,
// builds the first snapshot and hands over to the control thread.

#include <openssl/crypto.h>
#include <signal.h>
#include <uv.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "conf/json_loader.h"
#include "lb/cli.h"
#include "lb/control.h"
#include "lb/nofile.h"
#include "lb/runtime.h"

namespace mqlb::lb {
namespace {

std::string version_text() {
  return std::string("mqlb version ") + MQLB_VERSION + "\n" + "libuv " + uv_version_string() +
         "\n" + OpenSSL_version(OPENSSL_VERSION) + "\n" + "nlohmann_json " +
         std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
         std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
         std::to_string(NLOHMANN_JSON_VERSION_PATCH) + "\n";
}

// The configuration in `file`, or the errors that name what is wrong.
conf::LoadResult read_config(const std::string& file) {
  conf::LoadResult refused;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    refused.errors.push_back(
        {file, 0, "", std::string("cannot open configuration file: ") + std::strerror(errno)});
    return refused;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string body = text.str();
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || body[first] != '{') {
    refused.errors.push_back(
        {file, 0, "", "not a JSON configuration (it must start with '{'; see docs/config.md)"});
    return refused;
  }
  return conf::load_json(body, file);
}

std::optional<conf::Config> load(const std::string& file) {
  conf::LoadResult result = read_config(file);
  for (const auto& w : result.warnings)
    log_event(Level::Warning, "config : " + w.to_string());
  for (const auto& e : result.errors)
    log_event(Level::Alert, "config : " + e.to_string());
  if (!result.errors.empty())
    log_event(Level::Alert, "config : Fatal errors found in configuration.");
  return result.config;
}

int run(const CliOptions& opts) {
  auto config = load(opts.config_file);
  if (!config) return 1;
  unsigned nworkers = config->global.workers ? config->global.workers
                                             : std::max(1u, std::thread::hardware_concurrency());
  auto registry = std::make_unique<StateRegistry>(nworkers);
  std::vector<std::string> errors;
  auto rt = build_runtime(*config, *registry, errors);
  for (const auto& e : errors)
    log_event(Level::Alert, "config : " + e);
  if (!errors.empty()) return 1;
  if (opts.mode == CliOptions::Mode::Check) {
    std::cout << "Configuration file is valid\n";
    return 0;
  }
  NofilePlan plan = apply_nofile(config->global.maxconn, descriptor_reserve(*rt));
  if (!plan.warning.empty()) log_event(Level::Warning, plan.warning, rt->event_log);
  rt->maxconn = plan.maxconn;
  const std::string file = opts.config_file;
  return Control(std::move(registry), std::move(rt), [file] { return read_config(file); }).run();
}

}  // namespace
}  // namespace mqlb::lb

int main(int argc, char** argv) {
  using mqlb::lb::CliOptions;
  // Whatever path main returns by, the log writer thread is flushed first.
  struct FlushLogs {
    ~FlushLogs() { mqlb::lb::flush_log_writer(); }
  } flush_logs;
  signal(SIGPIPE, SIG_IGN);
  auto parsed = mqlb::lb::parse_cli({argv, static_cast<size_t>(argc)});
  if (auto* err = std::get_if<std::string>(&parsed)) {
    std::cerr << "mqlb: " << *err << "\n";
    return 1;
  }
  const auto& opts = std::get<CliOptions>(parsed);
  switch (opts.mode) {
    case CliOptions::Mode::Help:
      std::cout << mqlb::lb::usage();
      return 0;
    case CliOptions::Mode::Version:
      std::cout << mqlb::lb::version_text();
      return 0;
    default:
      return mqlb::lb::run(opts);
  }
}
