// mqlb as a drop-in for HAProxy: the operators stop HAProxy and start
// `mqlb -f` on the haproxy.cfg they run today, unchanged but for its
// addresses, moved to loopback here (the bind, the brokers, the syslog
// server, the PEM bundle's path). Then their acceptance test (DESIGN.md §1):
// 1000 numbered messages, one connection each; one broker gets exactly the
// odd numbers, the other exactly the even ones, and every session's tcplog
// line reaches the syslog server the file names.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/odd_even.h"
#include "support/syslog.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/wait.h"
#include "tests/data/operators_cfg.h"

using namespace mqlb::test;
using namespace mqlb::test::odd_even;
namespace fs = std::filesystem;

namespace {

constexpr const char* kProduction = mqlb::test::kOperatorsProduction;

constexpr const char* kLab = mqlb::test::kOperatorsLab;

constexpr int kMessages = 1000;
// local0 (16) * 8 + info (6): HAProxy's priority for a tcplog line.
constexpr int kLocal0Info = 134;

// One word of the file and what it becomes.
using Move = std::pair<std::string, std::string>;

bool word_boundary(const std::string& text, size_t at) {
  return at == text.size() || text[at] == ' ' || text[at] == '\t' || text[at] == '\n';
}

// `text` with each word moves[i].first replaced by moves[i].second, in order,
// as an operator would edit the file. Each must be a whole word found exactly
// once; anything else throws, so that no address is left behind.
std::string moved_to_loopback(std::string text, const std::vector<Move>& moves) {
  for (const auto& [from, to] : moves) {
    std::vector<size_t> found;
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + 1)) {
      if ((at == 0 || word_boundary(text, at - 1)) && word_boundary(text, at + from.size())) {
        found.push_back(at);
      }
    }
    if (found.size() != 1) {
      throw std::runtime_error("'" + from + "' is " + std::to_string(found.size()) +
                               " words of the file, not one:\n" + text);
    }
    text.replace(found.front(), from.size(), to);
  }
  return text;
}

// The address words of a haproxy.cfg that are not on loopback: the bind's,
// each server's and each log target's (`log global` names none).
std::vector<std::string> addresses_off_loopback(const std::string& text) {
  std::vector<std::string> off;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string keyword, first, second;
    words >> keyword >> first >> second;
    std::string address;
    if (keyword == "bind" || (keyword == "log" && first != "global")) address = first;
    if (keyword == "server") address = second;
    if (address.empty()) continue;
    if (address.rfind("127.0.0.1:", 0) != 0 && address.rfind("localhost:", 0) != 0) {
      off.push_back(line);
    }
  }
  return off;
}

// Writes the moved file as haproxy.cfg, refusing one with an address left
// off loopback, and checks it the way an operator would first: `mqlb -c`.
fs::path write_checked(TempDir& dir, const std::string& text) {
  const std::vector<std::string> off = addresses_off_loopback(text);
  INFO("the file:\n" << text);
  REQUIRE(off == std::vector<std::string>{});
  const fs::path file = dir.write("haproxy.cfg", text);
  const RunResult check = run_mqlb(dir, {"-c", "-f", file.string()});
  INFO("mqlb -c: " << check.stdout_text << check.stderr_text);
  REQUIRE(check.exit_code == 0);
  CHECK_THAT(check.stdout_text + check.stderr_text, Catch::Contains("Configuration file is valid"));
  return file;
}

// Publishes 1 to kMessages through mqlb with `publish`, each on its own
// connection, reading the syslog server as it goes (a datagram it has no
// room for would be lost); then an end marker straight to each broker, so
// that once both are in nothing sent through mqlb is still on its way.
template <typename Publish>
void publish_numbered(TempDir& dir, Publish&& publish, SyslogReceiver& syslog, const Broker& b1,
                      const Broker& b2, const Subscriber& on_b1, const Subscriber& on_b2) {
  for (int n = 1; n <= kMessages; ++n) {
    const RunResult pub = publish(std::to_string(n));
    INFO("message " << n << ": " << pub.stderr_text);
    REQUIRE(pub.exit_code == 0);
    syslog.lines();
  }
  CHECK(wait_until(
      [&] {
        syslog.lines();
        return numbers_received(on_b1).size() + numbers_received(on_b2).size() >= kMessages;
      },
      Millis(30000)));
  REQUIRE(mosquitto_pub(dir, b1.port(), "prova", kEnd).exit_code == 0);
  REQUIRE(mosquitto_pub(dir, b2.port(), "prova", kEnd).exit_code == 0);
  REQUIRE(
      wait_until([&] { return count_payload(on_b1, kEnd) == 1 && count_payload(on_b2, kEnd) == 1; },
                 Millis(10000)));
}

// One broker got exactly the odd numbers, the other exactly the even ones.
void check_odd_even_split(const Subscriber& on_b1, const Subscriber& on_b2) {
  const std::multiset<int> got_b1 = numbers_received(on_b1);
  const std::multiset<int> got_b2 = numbers_received(on_b2);
  CHECK(got_b1.size() + got_b2.size() == kMessages);
  const std::multiset<int> odd = every_other(1, kMessages);
  const std::multiset<int> even = every_other(2, kMessages);
  const bool odd_even_split =
      (got_b1 == odd && got_b2 == even) || (got_b1 == even && got_b2 == odd);
  CHECK(odd_even_split);
}

// Every session's tcplog line reached the syslog server as local0.info,
// ended normally ("--") on `frontend`, backend mqtt, half of them on each of
// the file's two servers.
void check_access_log(SyslogReceiver& syslog, const std::string& frontend,
                      const std::set<std::string>& servers) {
  const auto lines = syslog.wait_for_access_lines(kMessages, Millis(20000));
  CHECK(lines.size() == kMessages);
  std::map<std::string, int> per_server;
  std::string abnormal;
  for (const auto& line : lines) {
    ++per_server[line.server];
    if (line.termination != "--" || line.frontend != frontend || line.backend != "mqtt") {
      abnormal += line.raw + "\n";
    }
  }
  CHECK(abnormal == "");
  std::map<std::string, int> halves;
  for (const auto& server : servers) {
    halves[server] = kMessages / 2;
  }
  CHECK(per_server == halves);
  std::string other_priority;
  for (const auto& line : syslog.lines()) {
    if (parse_access_line(line.message) && line.priority != kLocal0Info) {
      other_priority += line.raw + "\n";
    }
  }
  CHECK(other_priority == "");
}

}  // namespace

TEST_CASE("the production haproxy.cfg runs unchanged and splits 1000 TLS messages odd and even",
          "[integration][haproxy]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker b1(dir);
  Broker b2(dir);
  Subscriber on_b1(dir, b1.port(), "prova");
  Subscriber on_b2(dir, b2.port(), "prova");
  SyslogReceiver syslog;
  const uint16_t port = free_port();
  const fs::path file = write_checked(
      dir, moved_to_loopback(kProduction,
                             {{"192.168.34.239:8883", "127.0.0.1:" + std::to_string(port)},
                              {"/etc/haproxy/haproxy.pem", files.server.pem.string()},
                              {"192.168.34.240:1883", "127.0.0.1:" + std::to_string(b1.port())},
                              {"192.168.34.241:1883", "127.0.0.1:" + std::to_string(b2.port())},
                              {"127.0.0.1", syslog.address()}}));
  Mqlb lb(dir, HaproxyCfg{file});
  REQUIRE(lb.port() == port);

  const ClientTls device{files.ca};
  publish_numbered(
      dir,
      [&](const std::string& message) {
        return mosquitto_pub(dir, lb.port(), device, "prova", message);
      },
      syslog, b1, b2, on_b1, on_b2);

  check_odd_even_split(on_b1, on_b2);
  // HAProxy marks a TLS frontend with '~' in %ft; the servers keep the
  // names the operators gave them.
  check_access_log(syslog, "mqtt~", {"192.168.34.240", "192.168.34.241"});
}

TEST_CASE("the lab haproxy.cfg with servers by host name splits 1000 plain messages odd and even",
          "[integration][haproxy]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  Subscriber on_b1(dir, b1.port(), "prova");
  Subscriber on_b2(dir, b2.port(), "prova");
  SyslogReceiver syslog;
  const uint16_t port = free_port();
  const fs::path file = write_checked(
      dir,
      moved_to_loopback(kLab, {{"0.0.0.0:1883", "127.0.0.1:" + std::to_string(port)},
                               {"slave01.mydomain:1883", "localhost:" + std::to_string(b1.port())},
                               {"slave02.mydomain:1883", "localhost:" + std::to_string(b2.port())},
                               {"127.0.0.1", syslog.address()}}));
  Mqlb lb(dir, HaproxyCfg{file});
  REQUIRE(lb.port() == port);

  publish_numbered(
      dir,
      [&](const std::string& message) { return mosquitto_pub(dir, lb.port(), "prova", message); },
      syslog, b1, b2, on_b1, on_b2);

  check_odd_even_split(on_b1, on_b2);
  check_access_log(syslog, "mqtt", {"slave01", "slave02"});
}
