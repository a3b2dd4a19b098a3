#include "support/mqlb.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "support/failure.h"
#include "support/net.h"

namespace mqlb::test {
namespace {

std::vector<uint16_t> all_bind_ports(const nlohmann::json& config) {
  std::vector<uint16_t> ports;
  for (const auto& frontend : config.at("frontends")) {
    for (const auto& bind : frontend.at("bind")) {
      ports.push_back(bind_port(bind));
    }
  }
  return ports;
}

bool all_listening(const std::vector<uint16_t>& ports) {
  return std::all_of(ports.begin(), ports.end(), [](uint16_t port) { return is_listening(port); });
}

std::string tail(const std::string& text, size_t size = 4000) {
  return text.size() <= size ? text : "..." + text.substr(text.size() - size);
}

}  // namespace

uint16_t bind_port(const nlohmann::json& bind) {
  // "HOST:PORT", or an object whose "address" is (a TLS bind).
  const std::string address =
      bind.is_object() ? bind.at("address").get<std::string>() : bind.get<std::string>();
  return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

std::optional<AccessLine> parse_access_line(std::string_view line) {
  static const std::regex kTcplog(R"(^(\S+:\d+) \[[^\]]+\] (\S+) ([^/\s]+)/(\S+) )"
                                  R"((-?\d+)/(-?\d+)/\+?(-?\d+) \+?(\d+) (\S\S) )"
                                  R"((\d+)/(\d+)/(\d+)/(\d+)/(\+?\d+) (\d+)/(\d+)\s*$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(line.begin(), line.end(), m, kTcplog)) return std::nullopt;
  AccessLine access;
  access.client = m[1];
  access.client_port =
      static_cast<uint16_t>(std::stoul(access.client.substr(access.client.rfind(':') + 1)));
  access.frontend = m[2];
  access.backend = m[3];
  access.server = m[4];
  access.queue_ms = std::stol(m[5]);
  access.connect_ms = std::stol(m[6]);
  access.total_ms = std::stol(m[7]);
  access.bytes_read = std::stol(m[8]);
  access.termination = m[9];
  access.actconn = std::stol(m[10]);
  access.feconn = std::stol(m[11]);
  access.beconn = std::stol(m[12]);
  access.srvconn = std::stol(m[13]);
  access.retries = m[14];
  access.server_queue = std::stol(m[15]);
  access.backend_queue = std::stol(m[16]);
  access.raw = std::string(line);
  return access;
}

nlohmann::json basic_config(uint16_t port, const std::vector<BackendServer>& servers) {
  nlohmann::json server_list = nlohmann::json::array();
  for (const auto& server : servers) {
    server_list.push_back({{"name", server.name}, {"address", "127.0.0.1"}, {"port", server.port}});
  }
  return {
      // No admin API unless a test asks for one: the default port, 8404,
      // may be another mqlb's on a shared machine (mqlb then warns).
      {"global", {{"workers", 2}, {"hard_stop_after", "10s"}, {"admin", false}}},
      {"defaults",
       {{"log", {"stdout"}},
        {"timeouts", {{"connect", "1s"}, {"client", "30s"}, {"server", "30s"}}}}},
      {"frontends",
       {{{"name", "mqtt"},
         {"bind", {"127.0.0.1:" + std::to_string(port)}},
         {"default_backend", "mqtt"}}}},
      {"backends", {{{"name", "mqtt"}, {"balance", "roundrobin"}, {"servers", server_list}}}},
  };
}

nlohmann::json one_slot_config(uint16_t server_port, const std::string& queue_timeout) {
  nlohmann::json config = basic_config(free_port(), {{"b1", server_port}});
  config["backends"][0]["servers"][0]["maxconn"] = 1;
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"queue", queue_timeout}};
  return config;
}

std::vector<uint16_t> haproxy_bind_ports(std::string_view text) {
  std::vector<uint16_t> ports;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string keyword, word;
    words >> keyword;
    if (keyword == "listen") words >> word;  // the name; an address may follow
    if (keyword != "bind" && keyword != "listen") continue;
    if (!(words >> word)) continue;
    std::istringstream addresses(word);
    std::string address;
    while (std::getline(addresses, address, ',')) {
      ports.push_back(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
    }
  }
  return ports;
}

Mqlb::Mqlb(TempDir& dir, const nlohmann::json& config, Options options)
    : Mqlb(dir, dir.write("mqlb.json", config.dump(2)), all_bind_ports(config),
           std::move(options)) {}

Mqlb::Mqlb(TempDir& dir, const HaproxyCfg& file, Options options)
    : Mqlb(dir, file.path, haproxy_bind_ports(read_file(file.path)), std::move(options)) {}

Mqlb::Mqlb(TempDir& dir, std::filesystem::path config_path, const std::vector<uint16_t>& ports,
           Options options)
    : port_(ports.empty() ? throw std::runtime_error("no bind port in " + config_path.string())
                          : ports.front()),
      config_path_(std::move(config_path)),
      process_(dir, "mqlb", [&] {
        std::vector<std::string> argv = options.launcher;
        argv.insert(argv.end(), {MQLB_BINARY, "-f", config_path_.string()});
        argv.insert(argv.end(), options.args.begin(), options.args.end());
        return argv;
      }()) {
  const bool ready = wait_until(
      [&] {
        return !process_.running() ||
               (stderr_text().find(" : ready") != std::string::npos && all_listening(ports));
      },
      Millis(15000));
  if (!ready || !process_.running()) {
    std::string listed;
    for (uint16_t port : ports) {
      listed += (listed.empty() ? "" : ", ") + std::to_string(port);
    }
    throw std::runtime_error(
        "mqlb did not become ready (a NOTICE with 'ready' on stderr and a listener on every "
        "bind port: " +
        listed + ")" + (process_.running() ? "" : "; it exited") + "\nstderr:\n" +
        tail(stderr_text()) + "\nstdout:\n" + tail(stdout_text()));
  }
}

Mqlb::~Mqlb() {
  // SIGINT, not SIGKILL: a clean exit lets LeakSanitizer run.
  if (!stopped_) {
    const int status = stop(SIGINT);
    if (status != 0 && !killed_) {
      FAIL_CHECK("mqlb exited with status " << status << "\nstderr, tail:\n"
                                            << tail(stderr_text(), 2000));
    }
  }
  report_sanitizer_findings();
  if (test_failing()) {
    std::cerr << "---- mqlb (pid " << process_.pid() << ") stderr, tail:\n"
              << tail(stderr_text()) << "\n---- mqlb stdout, tail:\n"
              << tail(stdout_text()) << "\n----\n";
  }
}

int Mqlb::stop(int signal, Millis grace) {
  stopped_ = true;
  process_.signal(signal);
  const int status = process_.wait_exit(grace);
  if (status != Process::kStillRunning) return status;
  FAIL_CHECK("mqlb did not exit within " << grace.count() << " ms of signal " << signal
                                         << "\nstderr, tail:\n"
                                         << tail(stderr_text(), 2000));
  process_.kill();
  killed_ = true;
  return process_.wait_exit(Millis(0));
}

void Mqlb::report_sanitizer_findings() const {
  if (!MQLB_SANITIZED) return;
  const std::string report = sanitizer_report(stderr_text());
  if (!report.empty()) FAIL_CHECK("mqlb's sanitizer report:\n" << report);
}

std::vector<AccessLine> Mqlb::access_lines() const {
  std::vector<AccessLine> lines;
  std::istringstream text(stdout_text());
  std::string line;
  while (std::getline(text, line)) {
    if (auto access = parse_access_line(line)) lines.push_back(std::move(*access));
  }
  return lines;
}

std::vector<AccessLine> Mqlb::wait_for_access_lines(size_t count, Millis timeout) const {
  std::vector<AccessLine> lines;
  if (!wait_until([&] { return (lines = access_lines()).size() >= count; }, timeout)) {
    throw std::runtime_error("expected " + std::to_string(count) + " access lines within " +
                             std::to_string(timeout.count()) + " ms, got " +
                             std::to_string(lines.size()) + "; stdout:\n" + tail(stdout_text()));
  }
  return lines;
}

AccessLine Mqlb::access_line_for(uint16_t client_port, Millis timeout) const {
  return access_line_for("127.0.0.1:" + std::to_string(client_port), timeout);
}

AccessLine Mqlb::access_line_for(const std::string& client, Millis timeout) const {
  std::optional<AccessLine> found;
  wait_until(
      [&] {
        for (auto& line : access_lines()) {
          if (line.client == client) found = std::move(line);
        }
        return found.has_value();
      },
      timeout);
  if (!found) {
    throw std::runtime_error("no access line for client " + client + " within " +
                             std::to_string(timeout.count()) + " ms; stdout:\n" +
                             tail(stdout_text()));
  }
  return *found;
}

int Mqlb::open_fds() const {
  const std::filesystem::path fds = "/proc/" + std::to_string(process_.pid()) + "/fd";
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(fds)) {
    ++count;
  }
  return count;
}

std::vector<int> Mqlb::open_fd_numbers() const {
  const std::filesystem::path fds = "/proc/" + std::to_string(process_.pid()) + "/fd";
  std::vector<int> numbers;
  for (const auto& entry : std::filesystem::directory_iterator(fds)) {
    numbers.push_back(std::stoi(entry.path().filename().string()));
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

long Mqlb::rss_kib() const {
  std::ifstream status("/proc/" + std::to_string(process_.pid()) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  throw std::runtime_error("no VmRSS for pid " + std::to_string(process_.pid()));
}

RefusedStart start_refused(TempDir& dir, const nlohmann::json& config,
                           const std::vector<uint16_t>& ports, Millis timeout) {
  Process mqlb(dir, "mqlb", {MQLB_BINARY, "-f", dir.write("mqlb.json", config.dump(2)).string()});
  RefusedStart refused;
  const bool exited = wait_until(
      [&] {
        for (uint16_t port : ports) {
          refused.listened = refused.listened || is_listening(port);
        }
        return !mqlb.running();
      },
      timeout, Millis(1));
  if (!exited) {
    throw std::runtime_error("mqlb was meant to refuse its configuration but still runs after " +
                             std::to_string(timeout.count()) + " ms; stderr:\n" +
                             tail(mqlb.stderr_text()));
  }
  refused.run = {mqlb.wait_exit(Millis(0)), mqlb.stdout_text(), mqlb.stderr_text()};
  if (MQLB_SANITIZED) {
    const std::string report = sanitizer_report(refused.run.stderr_text);
    if (!report.empty()) FAIL_CHECK("mqlb's sanitizer report:\n" << report);
  }
  return refused;
}

RunResult run_mqlb(TempDir& dir, const std::vector<std::string>& args, Millis timeout) {
  std::vector<std::string> argv{MQLB_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult result = run(dir, "mqlb-run", argv, timeout);
  if (MQLB_SANITIZED) {
    const std::string report = sanitizer_report(result.stderr_text);
    if (!report.empty()) FAIL_CHECK("mqlb's sanitizer report:\n" << report);
  }
  return result;
}

std::string sanitizer_report(const std::string& log) {
  for (const char* marker : {"ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"}) {
    const auto at = log.find(marker);
    if (at != std::string::npos) return log.substr(log.rfind('\n', at) + 1, 6000);
  }
  return "";
}

}  // namespace mqlb::test
