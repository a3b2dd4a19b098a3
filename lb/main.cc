// mqlb: loads and checks the configuration, sizes RLIMIT_NOFILE for it,
// builds the first snapshot and hands over to the control thread.

#include <openssl/crypto.h>
#include <signal.h>
#include <uv.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "conf/config_file.h"
#include "conf/json_dump.h"
#include "lb/admin/overrides.h"
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

std::optional<std::string> environment(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (!value) return std::nullopt;
  return std::string(value);
}

// The files of -f, JSON or haproxy.cfg by content, with what they hold
// printed as `haproxy -c` prints it.
std::optional<conf::Config> load(const CliOptions& opts) {
  conf::LoadResult result = conf::load_files(opts.config_files, environment);
  for (const auto& m : config_report(result))
    log_event(m.alert ? Level::Alert : Level::Warning, m.text);
  if (opts.mode == CliOptions::Mode::Check && result.errors.empty() && !result.warnings.empty())
    std::cout << "Warnings were found.\n";
  return result.config;
}

// What the admin API and the runtime socket changed before a restart, from
// the state file. A missing file is no change; a broken one is reported
// and left alone (the next change writes it anew).
admin::Overrides read_state_file(const conf::Config& files) {
  const std::string& path = files.global.server_state_file;
  if (path.empty()) return {};
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  std::vector<conf::Error> errors;
  auto o = admin::from_state_json(text.str(), path, files, errors);
  for (const auto& e : errors)
    log_event(Level::Warning, "state file ignored: " + e.to_string());
  return o.value_or(admin::Overrides{});
}

int run(const CliOptions& opts) {
  auto files = load(opts);
  if (!files) return 1;
  if (opts.mode == CliOptions::Mode::DumpConfig) {
    std::cout << conf::dump_json(*files);
    return 0;
  }
  admin::Overrides overrides;
  if (opts.mode != CliOptions::Mode::Check) overrides = read_state_file(*files);
  std::vector<std::string> notes;
  const conf::Config config = admin::apply(*files, overrides, notes);
  for (const auto& n : notes)
    log_event(Level::Warning, "state file: " + n + ".");
  unsigned nworkers = config.global.workers ? config.global.workers
                                            : std::max(1u, std::thread::hardware_concurrency());
  auto registry = std::make_unique<StateRegistry>(nworkers);
  std::vector<std::string> errors;
  auto rt = build_runtime(config, *registry, errors);
  if (!errors.empty() && !overrides.empty()) {
    // What the state file adds does not run (a host that no longer
    // resolves): the files alone, rather than no start at all.
    for (const auto& e : errors)
      log_event(Level::Warning, "state file ignored: " + e);
    errors.clear();
    overrides = {};
    rt = build_runtime(*files, *registry, errors);
  }
  for (const auto& w : rt->warnings)
    log_event(Level::Warning, "config : " + w);
  for (const auto& e : errors)
    log_event(Level::Alert, "config : " + e);
  if (!errors.empty()) return 1;
  if (opts.mode == CliOptions::Mode::Check) {
    std::cout << "Configuration file is valid\n";
    return 0;
  }
  NofilePlan plan = apply_nofile(config.global.maxconn, descriptor_reserve(*rt));
  if (!plan.warning.empty()) log_event(Level::Warning, plan.warning, rt->event_log);
  rt->maxconn = plan.maxconn;
  // A reload reads the same files again; its errors are logged by Control.
  Control control(
      std::move(registry), std::move(rt),
      [paths = opts.config_files] { return conf::load_files(paths, environment); },
      std::move(*files), std::move(overrides));
  if (opts.watch) control.watch(opts.config_files);
  return control.run();
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
