#include "support/syslog.h"

#include <regex>
#include <stdexcept>

namespace mqlb::test {

const std::vector<SyslogLine>& SyslogReceiver::lines() {
  static const std::regex kRfc3164(
      R"(^<(\d+)>[A-Z][a-z]{2} [ 1-3]\d \d{2}:\d{2}:\d{2} (\S+): ([^\n]*)\n?$)");
  while (auto datagram = receiver_.receive(Millis(0))) {
    SyslogLine line;
    line.raw = *datagram;
    std::smatch m;
    if (std::regex_match(line.raw, m, kRfc3164)) {
      line.priority = std::stoi(m[1]);
      line.tag = m[2];
      line.message = m[3];
    }
    lines_.push_back(std::move(line));
  }
  return lines_;
}

std::string header_shape(const SyslogLine& line) {
  static const std::regex kHeader(
      R"(^(<\d+>)[A-Z][a-z]{2} [ 1-3]\d \d{2}:\d{2}:\d{2} ([^\[\s]+)(\[\d+\])?: [^\n]*(\n?)$)");
  std::smatch m;
  if (!std::regex_match(line.raw, m, kHeader)) return line.raw;
  return m[1].str() + "DATE " + m[2].str() + (m[3].matched ? "[PID]" : "") + ": MSG" + m[4].str();
}

std::optional<SyslogLine> SyslogReceiver::wait_for_line(
    const std::function<bool(const SyslogLine&)>& pred, Millis timeout) {
  std::optional<SyslogLine> found;
  wait_until(
      [&] {
        for (const auto& line : lines())
          if (pred(line)) {
            found = line;
            return true;
          }
        return false;
      },
      timeout);
  return found;
}

std::string SyslogReceiver::tail(size_t count) {
  lines();
  std::string seen;
  const size_t first = lines_.size() > count ? lines_.size() - count : 0;
  for (size_t i = first; i < lines_.size(); ++i)
    seen += lines_[i].raw + "\n";
  return seen;
}

std::vector<AccessLine> SyslogReceiver::access_lines() {
  std::vector<AccessLine> access;
  for (const auto& line : lines()) {
    if (auto parsed = parse_access_line(line.message)) access.push_back(std::move(*parsed));
  }
  return access;
}

std::vector<AccessLine> SyslogReceiver::wait_for_access_lines(size_t count, Millis timeout) {
  std::vector<AccessLine> access;
  if (wait_until([&] { return (access = access_lines()).size() >= count; }, timeout)) {
    return access;
  }
  std::string seen;
  const size_t first = lines_.size() > 20 ? lines_.size() - 20 : 0;
  for (size_t i = first; i < lines_.size(); ++i) {
    seen += lines_[i].raw + "\n";
  }
  throw std::runtime_error(
      "expected " + std::to_string(count) + " access lines on the syslog receiver within " +
      std::to_string(timeout.count()) + " ms, got " + std::to_string(access.size()) + " in " +
      std::to_string(lines_.size()) + " datagrams; the last ones:\n" + seen);
}

}  // namespace mqlb::test
