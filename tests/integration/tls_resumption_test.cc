// TLS session resumption across workers: a ticket one worker issued resumes
// a session on the other, because every worker of a bind shares its ticket
// keys. The kernel spreads connections over the workers' SO_REUSEPORT
// sockets by hash, so the test reconnects until one lands elsewhere.
#include <catch2/catch.hpp>

#include <string>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/tls.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("a session ticket from one worker resumes the session on the other",
          "[integration][tls][resumption]") {
  TempDir dir;
  const TlsFiles files = make_tls_files(dir);
  Broker broker(dir);
  DebugLog debug;
  nlohmann::json config = basic_tls_config(free_port(), files.server.pem, {{"b1", broker.port()}});
  config["frontends"][0]["log"] = {"stdout", debug.target()};
  Mqlb lb(dir, config);

  for (const TlsVersion version : {TlsVersion::V1_3, TlsVersion::V1_2}) {
    const std::string name = version == TlsVersion::V1_3 ? "TLSv1.3" : "TLSv1.2";
    INFO(name);
    const auto session = dir.unique("session.pem");
    const size_t before = debug.handshakes().size();
    const SClient first = s_client(dir, lb.port(), {.version = version, .sess_out = session});
    INFO(first.output);
    REQUIRE(first.admitted());
    CHECK_FALSE(first.reused);
    const HandshakeDone issued = debug.wait_for_handshakes(before + 1).back();
    INFO(issued.line.raw);
    CHECK_FALSE(issued.resumed);
    CHECK(issued.protocol == name);
    REQUIRE(std::filesystem::exists(session));

    // Each connection lands on either worker, by the hash of its source
    // port: 200 tries leave a chance of 2^-200 of never leaving the first.
    constexpr int kTries = 200;
    bool elsewhere = false;
    for (int n = 1; n <= kTries && !elsewhere; ++n) {
      const size_t seen = debug.handshakes().size();
      const SClient again =
          s_client(dir, lb.port(), {.version = version, .sess_in = session, .linger = Millis(100)});
      INFO("try " << n << ":\n" << again.output);
      REQUIRE(again.admitted());
      REQUIRE(again.reused);
      const HandshakeDone resumed = debug.wait_for_handshakes(seen + 1).back();
      INFO(resumed.line.raw);
      REQUIRE(resumed.resumed);
      CHECK(resumed.protocol == name);
      elsewhere = resumed.worker != issued.worker;
    }
    CHECK(elsewhere);
  }
}
