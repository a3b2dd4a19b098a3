#include "support/health.h"

#include "support/net.h"

#include <signal.h>

#include <cctype>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace mqlb::test {

bool health_expect::is_event(const std::string& line) {
  static const std::regex kEvent(
      R"(^\[(EMERG|ALERT|CRIT|ERR|WARNING|NOTICE|INFO|DEBUG)\] +\(\d+\) : \S)");
  return std::regex_search(line, kEvent);
}

std::optional<long> health_expect::check_duration_ms(const std::string& line) {
  const auto at = line.find(kCheckDuration);
  if (at == std::string::npos) return std::nullopt;
  const std::string rest = line.substr(at + kCheckDuration.size());
  if (rest.empty() || !std::isdigit(static_cast<unsigned char>(rest[0]))) return std::nullopt;
  return std::stol(rest);
}

void enable_checks(nlohmann::json& config, const nlohmann::json& options, size_t backend) {
  for (auto& server : config.at("backends").at(backend).at("servers")) {
    server["check"] = true;
    server.merge_patch(options);
  }
}

std::vector<std::string> event_lines(const Mqlb& lb, std::string_view needle) {
  std::vector<std::string> lines;
  std::istringstream text(lb.stderr_text());
  std::string line;
  while (std::getline(text, line)) {
    if (line.find(needle) != std::string::npos) lines.push_back(line);
  }
  return lines;
}

std::optional<std::string> wait_for_event(const Mqlb& lb, std::string_view needle, Millis timeout) {
  std::optional<std::string> found;
  wait_until(
      [&] {
        const auto lines = event_lines(lb, needle);
        if (!lines.empty()) found = lines.front();
        return found.has_value();
      },
      timeout);
  return found;
}

std::vector<AccessLine> publish_through(TempDir& dir, const Mqlb& lb, int count, size_t before,
                                        const std::string& prefix) {
  for (int n = 1; n <= count; ++n) {
    const std::string payload = prefix + " " + std::to_string(n);
    const RunResult pub = mosquitto_pub(dir, lb.port(), "health", payload);
    if (pub.exit_code != 0) {
      throw std::runtime_error("mosquitto_pub '" + payload + "' through mqlb exited " +
                               std::to_string(pub.exit_code) + ": " + pub.stderr_text);
    }
  }
  const auto lines = lb.wait_for_access_lines(before + static_cast<size_t>(count));
  return {lines.begin() + static_cast<std::ptrdiff_t>(before), lines.end()};
}

std::map<std::string, int> sessions_per_server(const std::vector<AccessLine>& lines) {
  std::map<std::string, int> counts;
  for (const auto& line : lines) {
    ++counts[line.server];
  }
  return counts;
}

bool broker_logged(const Broker& broker, std::string_view text, Millis timeout) {
  return wait_until([&] { return broker.log().find(text) != std::string::npos; }, timeout);
}

Frozen::Frozen(pid_t pid) : pid_(pid) {
  if (::kill(pid_, SIGSTOP) != 0) {
    throw std::runtime_error("SIGSTOP to pid " + std::to_string(pid_) + " failed");
  }
}

Frozen::~Frozen() {
  resume();
}

void Frozen::resume() {
  if (frozen_) ::kill(pid_, SIGCONT);
  frozen_ = false;
}

nlohmann::json two_checked_servers(uint16_t b1_port, uint16_t b2_port,
                                   const nlohmann::json& check) {
  nlohmann::json config = basic_config(free_port(), {{"b1", b1_port}, {"b2", b2_port}});
  config["backends"][0]["check"] = check;
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"check", "500ms"}};
  enable_checks(config, {{"inter", "200ms"}, {"fall", 2}, {"rise", 2}});
  return config;
}

size_t count(const std::string& text, std::string_view needle) {
  size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

}  // namespace mqlb::test
