// A frontend can log to several targets at once: stdout, stderr and a syslog
// server each get the same access line for a session.
#include <catch2/catch.hpp>

#include <optional>
#include <regex>
#include <sstream>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// The access line (the whole line) for `client` in `text`, if there is one.
std::optional<std::string> line_for(const std::string& text, const std::string& client) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto access = parse_access_line(line);
    if (access && access->client == client) return line;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("stdout, stderr and syslog targets of one frontend get the same access line",
          "[integration][log]") {
  TempDir dir;
  UdpReceiver syslog;
  ScriptedServer backend(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  config["frontends"][0]["log"] = {
      "stdout", "stderr", {{"address", "127.0.0.1:" + std::to_string(syslog.port())}}};
  Mqlb lb(dir, config);

  Socket client = echoed_session(lb.port(), "hello");
  const std::string client_address = client.local_address();
  client.close();

  const std::string on_stdout = lb.access_line_for(client_address).raw;
  std::optional<std::string> on_stderr;
  CHECK(wait_until(
      [&] { return (on_stderr = line_for(lb.stderr_text(), client_address)).has_value(); },
      Millis(10000)));

  // The syslog datagram carries the line after its RFC 3164 header.
  static const std::regex kRfc3164(
      R"(^<\d+>[A-Z][a-z]{2} [ 1-3]\d \d{2}:\d{2}:\d{2} mqlb\[\d+\]: (.*?)\n?$)");
  std::optional<std::string> on_syslog;
  std::string seen;
  const auto deadline = Clock::now() + Millis(10000);
  while (!on_syslog && Clock::now() < deadline) {
    const auto datagram = syslog.receive(Millis(500));
    if (!datagram) continue;
    seen += *datagram + "\n";
    std::smatch m;
    if (std::regex_match(*datagram, m, kRfc3164)) on_syslog = line_for(m[1].str(), client_address);
  }

  INFO("stdout: " << on_stdout << "\nstderr:\n" << lb.stderr_text() << "\nsyslog:\n" << seen);
  REQUIRE(on_stderr.has_value());
  REQUIRE(on_syslog.has_value());
  CHECK(*on_stderr == on_stdout);
  CHECK(*on_syslog == on_stdout);
  CHECK(parse_access_line(on_stdout)->termination == "--");
}
