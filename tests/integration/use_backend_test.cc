// use_backend through the running binary: a TLS client is sent by the
// name it asked for (ssl_fc_sni, known once the handshake is done), a
// client by its address (src) or the port it came in on (dst_port), and
// everything else goes to default_backend.
#include <catch2/catch.hpp>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("use_backend picks a backend by SNI, source address and port, else the default",
          "[integration][tls][config]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  ScriptedServer plain(scripts::echo()), secure(scripts::echo()), lan(scripts::echo()),
      second_port(scripts::echo());
  const uint16_t port = free_port(), tls_port = free_port(), other_port = free_port();
  nlohmann::json config = basic_config(port, {{"p", plain.port()}});
  config["frontends"][0]["bind"].push_back("127.0.0.1:" + std::to_string(other_port));
  config["frontends"][0]["bind"].push_back(tls_bind(tls_port, files.server.pem));
  auto backend = [](const std::string& name, uint16_t server_port) {
    return nlohmann::json{
        {"name", name},
        {"servers", {{{"name", "s"}, {"address", "127.0.0.1"}, {"port", server_port}}}}};
  };
  config["backends"].push_back(backend("secure", secure.port()));
  config["backends"].push_back(backend("lan", lan.port()));
  config["backends"].push_back(backend("second", second_port.port()));
  config["frontends"][0]["acl"] = {{"from_lan", {"src 127.0.0.2", "src 127.0.0.3"}}};
  config["frontends"][0]["use_backend"] = {
      {{"backend", "secure"}, {"if", "{ ssl_fc } { ssl_fc_sni -i MQLB.test }"}},
      {{"backend", "lan"}, {"if", "from_lan !{ ssl_fc }"}},
      {{"backend", "second"}, {"if", "{ dst_port " + std::to_string(other_port) + " }"}}};
  Mqlb lb(dir, config);

  auto backend_of = [&](Socket s) {
    const std::string client = s.local_address();  // "127.0.0.2:46167"
    s.close();
    return lb.access_line_for(client).backend;
  };
  auto session_from = [&](const std::string& source, uint16_t to) {
    Socket s = Socket::connect_from(source, to);
    s.send_all("x");
    REQUIRE(s.receive_exactly(1) == "x");
    return s;
  };
  CHECK(backend_of(echoed_session(port, "x")) == "mqtt");  // the default
  CHECK(backend_of(session_from("127.0.0.2", port)) == "lan");
  CHECK(backend_of(session_from("127.0.0.3", port)) == "lan");
  CHECK(backend_of(session_from("127.0.0.4", port)) == "mqtt");
  CHECK(backend_of(echoed_session(other_port, "x")) == "second");

  // Over TLS the rules wait for the handshake: the name decides.
  auto tls_backend = [&](const std::string& servername, size_t nth) {
    const SClient c =
        s_client(dir, tls_port, {.servername = servername, .ca_file = files.ca, .send = "ping"});
    INFO(c.output);
    REQUIRE(c.admitted());
    return lb.wait_for_access_lines(nth)[nth - 1].backend;
  };
  const size_t before = lb.access_lines().size();
  CHECK(tls_backend("mqlb.test", before + 1) == "secure");
  CHECK(tls_backend("localhost", before + 2) == "mqtt");  // TLS, another name: the default
  // The echo servers saw exactly the sessions sent to them.
  CHECK(secure.accepted() == 1);
  CHECK(lan.accepted() == 2);
  CHECK(second_port.accepted() == 1);
}
