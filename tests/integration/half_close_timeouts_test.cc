// The tail of a half-closed session is bounded by the *-fin timeouts, as in
// HAProxy 2.6: once the server's FIN is passed on, timeout client_fin bounds
// how long the client may stay silent (cD); once the client's FIN is passed
// on, timeout server_fin bounds the server's silence (sD). Unset, each falls
// back at the point of use to timeout tunnel, then to timeout client or
// server. HAProxy 2.6 logs these cases the same way (checked on loopback).
#include <catch2/catch.hpp>

#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

nlohmann::json config_with(uint16_t server_port, const nlohmann::json& frontend_timeouts,
                           nlohmann::json backend_timeouts) {
  nlohmann::json config = basic_config(free_port(), {{"b1", server_port}});
  config["frontends"][0]["timeouts"] = frontend_timeouts;
  backend_timeouts["connect"] = "1s";
  config["backends"][0]["timeouts"] = backend_timeouts;
  return config;
}

// The server says "bye" and shuts its side at once; the client reads that
// and its FIN, then stays silent with its own side open. Returns the
// session's access line, which mqlb writes when a timeout ends it.
AccessLine after_server_fin(const nlohmann::json& frontend_timeouts,
                            const nlohmann::json& backend_timeouts) {
  TempDir dir;
  ScriptedServer backend(scripts::greets_and_shuts("bye"));
  Mqlb lb(dir, config_with(backend.port(), frontend_timeouts, backend_timeouts));

  Socket client = Socket::connect(lb.port());
  const uint16_t client_port = client.local_port();
  CHECK(client.receive_until_eof() == "bye");
  return lb.access_line_for(client_port, Millis(6000));
}

// The client shuts its side at once; the server reads to EOF and then stays
// silent with its own side open. Returns the session's access line.
AccessLine after_client_fin(const nlohmann::json& frontend_timeouts,
                            const nlohmann::json& backend_timeouts) {
  TempDir dir;
  ScriptedServer backend(scripts::holds_open());
  Mqlb lb(dir, config_with(backend.port(), frontend_timeouts, backend_timeouts));

  Socket client = Socket::connect(lb.port());
  const uint16_t client_port = client.local_port();
  client.shutdown_write();
  CHECK(client.wait_closed(Millis(6000)) != Closed::kStillOpen);
  return lb.access_line_for(client_port, Millis(6000));
}

}  // namespace

TEST_CASE("after the server's FIN timeout client_fin ends a silent client's session with cD",
          "[integration][timeouts][half-close]") {
  const AccessLine line = after_server_fin({{"client", "30s"}, {"client_fin", "1s"}},
                                           {{"server", "30s"}, {"tunnel", "30s"}});
  INFO(line.raw);
  CHECK(line.termination == "cD");
  CHECK(line.bytes_read == 3);
  CHECK(line.total_ms >= 1000);
}

TEST_CASE("after the client's FIN timeout server_fin ends a silent server's session with sD",
          "[integration][timeouts][half-close]") {
  const AccessLine line = after_client_fin(
      {{"client", "30s"}}, {{"server", "30s"}, {"server_fin", "1s"}, {"tunnel", "30s"}});
  INFO(line.raw);
  CHECK(line.termination == "sD");
  CHECK(line.total_ms >= 1000);
}

TEST_CASE("without client_fin timeout client bounds a silent client after the server's FIN",
          "[integration][timeouts][half-close]") {
  const AccessLine line = after_server_fin({{"client", "1s"}}, {{"server", "30s"}});
  INFO(line.raw);
  CHECK(line.termination == "cD");
  CHECK(line.total_ms >= 1000);
}

TEST_CASE("without server_fin timeout server bounds a silent server after the client's FIN",
          "[integration][timeouts][half-close]") {
  const AccessLine line = after_client_fin({{"client", "30s"}}, {{"server", "1s"}});
  INFO(line.raw);
  CHECK(line.termination == "sD");
  CHECK(line.total_ms >= 1000);
}

TEST_CASE("without client_fin timeout tunnel bounds a silent client after the server's FIN",
          "[integration][timeouts][half-close]") {
  const AccessLine line =
      after_server_fin({{"client", "30s"}}, {{"server", "30s"}, {"tunnel", "1s"}});
  INFO(line.raw);
  CHECK(line.termination == "cD");
  CHECK(line.total_ms >= 1000);
}

TEST_CASE("without server_fin timeout tunnel bounds a silent server after the client's FIN",
          "[integration][timeouts][half-close]") {
  const AccessLine line =
      after_client_fin({{"client", "30s"}}, {{"server", "30s"}, {"tunnel", "1s"}});
  INFO(line.raw);
  CHECK(line.termination == "sD");
  CHECK(line.total_ms >= 1000);
}
