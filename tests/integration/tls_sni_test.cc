// Certificates chosen by SNI (HAProxy's crt on a directory or a list): each
// server name gets the bundle made for it, and a name that none was made
// for, or no name at all, gets the first bundle, the default.
#include <catch2/catch.hpp>

#include <string>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("crt on a directory serves each SNI name its own certificate, the first by default",
          "[integration][tls][sni]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  Mqlb lb(dir, basic_tls_config(free_port(), files.sni_dir, {{"b1", broker.port()}}));

  const SClient a = s_client(dir, lb.port(), {.servername = "a.mqlb.test", .ca_file = files.ca});
  INFO(a.output);
  CHECK(a.admitted());
  CHECK(a.peer_subject == "CN = a.mqlb.test");
  CHECK(a.peer_serial == files.sni_a.serial);
  CHECK(a.verify_code == 0);

  const SClient b = s_client(dir, lb.port(), {.servername = "b.mqlb.test", .ca_file = files.ca});
  INFO(b.output);
  CHECK(b.admitted());
  CHECK(b.peer_subject == "CN = b.mqlb.test");
  CHECK(b.peer_serial == files.sni_b.serial);

  const SClient unknown = s_client(dir, lb.port(), {.servername = "c.mqlb.test"});
  INFO(unknown.output);
  CHECK(unknown.admitted());
  CHECK(unknown.peer_serial == files.sni_a.serial);

  const SClient no_name = s_client(dir, lb.port(), {});
  INFO(no_name.output);
  CHECK(no_name.admitted());
  CHECK(no_name.peer_serial == files.sni_a.serial);
}

TEST_CASE("crt as a list: the first bundle is the default, the others answer their names",
          "[integration][tls][sni]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  nlohmann::json config = basic_tls_config(free_port(), files.server.pem, {{"b1", broker.port()}});
  config["frontends"][0]["bind"][0]["crt"] = {files.server.pem.string(), files.sni_b.pem.string()};
  Mqlb lb(dir, config);

  CHECK(s_client(dir, lb.port(), {.servername = "b.mqlb.test"}).peer_serial == files.sni_b.serial);
  CHECK(s_client(dir, lb.port(), {.servername = "mqlb.test"}).peer_serial == files.server.serial);
  CHECK(s_client(dir, lb.port(), {.servername = "a.mqlb.test"}).peer_serial == files.server.serial);
  CHECK(s_client(dir, lb.port(), {}).peer_serial == files.server.serial);
}
