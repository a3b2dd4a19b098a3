// A frontend's log-format through the real binary, and option dontlognull:
// the operator writes the line they want, or asks for no line at all for
// connections that sent nothing (port scans, TCP probes).
#include <catch2/catch.hpp>

#include <optional>
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

// The first line of `text` that starts with `prefix`.
std::optional<std::string> line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (line.starts_with(prefix)) return line;
  return std::nullopt;
}

std::optional<std::string> wait_for_line(const Mqlb& lb, const std::string& prefix) {
  std::optional<std::string> line;
  wait_until([&] { return (line = line_starting(lb.stdout_text(), prefix)).has_value(); },
             Millis(10000));
  return line;
}

}  // namespace

TEST_CASE("a custom log-format shapes the access line of a session", "[integration][log]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  const uint16_t port = free_port();
  nlohmann::json config = basic_config(port, {{"b1", backend.port()}});
  config["frontends"][0]["log_format"] =
      "client=%ci:%cp fe=%f/%ft be=%b/%s up=%U down=%B ts=%ts at=%fi:%fp srv=%si:%sp "
      "tls=%sslv id=%{+Q}ID mqtt=%mqttcid/%mqttuser/%mqttver 100%%";
  Mqlb lb(dir, config);

  Socket client = echoed_session(lb.port(), "hello, broker");
  const std::string address = client.local_address();
  client.close();

  const auto line = wait_for_line(lb, "client=" + address + " ");
  INFO("stdout:\n" << lb.stdout_text() << "\nstderr:\n" << lb.stderr_text());
  REQUIRE(line.has_value());
  CHECK(*line ==
        "client=" + address +
            " fe=mqtt/mqtt be=mqtt/b1 up=13 down=13 ts=-- at=127.0.0.1:" + std::to_string(port) +
            " srv=127.0.0.1:" + std::to_string(backend.port()) + " tls=- id=\"1\" mqtt=-/-/- 100%");
}

TEST_CASE("a log-format with an unknown variable is refused at load with its path",
          "[integration][log]") {
  TempDir dir;
  const uint16_t port = free_port();
  nlohmann::json config = basic_config(port, {{"b1", free_port()}});
  config["frontends"][0]["log_format"] = "%ci %clientid";
  const RefusedStart refused = start_refused(dir, config, {port});
  INFO(refused.run.stderr_text);
  CHECK(refused.run.exit_code != 0);
  CHECK_FALSE(refused.listened);
  CHECK(refused.run.stderr_text.find("frontends[0].log_format") != std::string::npos);
  CHECK(refused.run.stderr_text.find("no such format variable 'clientid'") != std::string::npos);
}

TEST_CASE("option dontlognull: a connection that sent nothing leaves no access line",
          "[integration][log]") {
  for (const bool dontlognull : {false, true}) {
    DYNAMIC_SECTION("dontlognull " << dontlognull) {
      TempDir dir;
      ScriptedServer backend(scripts::echo());
      nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
      // One worker: the silent session ends before the next one on the same loop.
      config["global"]["workers"] = 1;
      config["frontends"][0]["dontlognull"] = dontlognull;
      Mqlb lb(dir, config);

      Socket probe = Socket::connect(lb.port());
      const std::string probe_address = probe.local_address();
      REQUIRE(wait_until([&] { return backend.accepted() == 1; }, Millis(10000)));
      probe.close();
      REQUIRE(wait_until([&] { return backend.finished() == 1; }, Millis(10000)));

      Socket client = echoed_session(lb.port(), "x");
      const std::string client_address = client.local_address();
      client.close();
      const AccessLine served = lb.access_line_for(client_address);
      CHECK(served.server == "b1");

      const std::string out = lb.stdout_text();
      INFO(out);
      CHECK(line_starting(out, probe_address + " ").has_value() == !dontlognull);
    }
  }
}
