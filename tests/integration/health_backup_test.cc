// Backups under health checks, as in HAProxy: while an active server is UP
// the backup takes nothing; when the checks have marked every active server
// DOWN, the backup takes every device (the first backup only, unless
// `allbackups`); when an active server is UP again, devices go back to it
// and the backup is idle.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

using Counts = std::map<std::string, int>;

// Servers named `names` on `ports`, the ones from `first_backup` on
// backups, all checked every 200 ms (fall 2, rise 2).
nlohmann::json backup_config(const std::vector<BackendServer>& servers, size_t first_backup) {
  nlohmann::json config = basic_config(free_port(), servers);
  for (size_t i = first_backup; i < servers.size(); ++i) {
    config["backends"][0]["servers"][i]["backup"] = true;
  }
  config["backends"][0]["check"] = {{"type", "tcp"}};
  config["backends"][0]["timeouts"] = {{"connect", "1s"}, {"check", "500ms"}};
  enable_checks(config, {{"inter", "200ms"}, {"fall", 2}, {"rise", 2}});
  return config;
}

}  // namespace

TEST_CASE("the backup takes devices only while both actives are DOWN, and is idle once one is UP",
          "[integration][health][backup]") {
  TempDir dir;
  std::optional<Broker> a1(std::in_place, dir);
  Broker a2(dir);
  Broker k1(dir);
  const uint16_t a1_port = a1->port();
  Mqlb lb(dir, backup_config({{"a1", a1_port}, {"a2", a2.port()}, {"k1", k1.port()}}, 2));

  CHECK(sessions_per_server(publish_through(dir, lb, 6, 0, "actives")) ==
        Counts{{"a1", 3}, {"a2", 3}});

  a1->kill();
  a2.kill();
  const auto a1_down = wait_for_event(lb, health_expect::down("mqtt/a1"), Millis(5000));
  const auto a2_down = wait_for_event(lb, health_expect::down("mqtt/a2"), Millis(5000));
  REQUIRE(a1_down);
  REQUIRE(a2_down);
  INFO(*a1_down << "\n" << *a2_down);
  // Whichever went second leaves no active server, and says so.
  const auto last = event_lines(lb, "0 active and 1 backup servers left");
  CHECK(last.size() == 1);
  // The backup is still usable: the backend has a server.
  CHECK(event_lines(lb, health_expect::no_server("mqtt")).empty());
  const auto on_backup = publish_through(dir, lb, 6, 6, "backup");
  CHECK(sessions_per_server(on_backup) == Counts{{"k1", 6}});
  for (const auto& line : on_backup) {
    INFO(line.raw);
    CHECK(line.retries == "0");  // no connect to a DOWN active was tried
  }

  a1.reset();
  Broker a1_again(dir, Broker::Options{.port = a1_port});
  const auto up = wait_for_event(lb, health_expect::up("mqtt/a1"), Millis(5000));
  REQUIRE(up);
  INFO(*up);
  CHECK(up->find("1 active and 1 backup servers online") != std::string::npos);
  CHECK(sessions_per_server(publish_through(dir, lb, 6, 12, "back")) == Counts{{"a1", 6}});
  CHECK(event_lines(lb, health_expect::down("mqtt/k1")).empty());
}

TEST_CASE("with both actives DOWN, allbackups spreads devices over every backup",
          "[integration][health][backup]") {
  TempDir dir;
  Broker a1(dir);
  Broker a2(dir);
  Broker k1(dir);
  Broker k2(dir);
  nlohmann::json config = backup_config(
      {{"a1", a1.port()}, {"a2", a2.port()}, {"k1", k1.port()}, {"k2", k2.port()}}, 2);
  Counts expected;
  SECTION("allbackups") {
    config["backends"][0]["allbackups"] = true;
    expected = {{"k1", 3}, {"k2", 3}};
  }
  SECTION("without allbackups, only the first backup") {
    expected = {{"k1", 6}};
  }
  Mqlb lb(dir, config);

  CHECK(sessions_per_server(publish_through(dir, lb, 4, 0, "actives")) ==
        Counts{{"a1", 2}, {"a2", 2}});
  a1.kill();
  a2.kill();
  REQUIRE(wait_for_event(lb, health_expect::down("mqtt/a1"), Millis(5000)));
  REQUIRE(wait_for_event(lb, health_expect::down("mqtt/a2"), Millis(5000)));
  CHECK(event_lines(lb, "0 active and 2 backup servers left").size() == 1);
  CHECK(sessions_per_server(publish_through(dir, lb, 6, 4, "backups")) == expected);
}
