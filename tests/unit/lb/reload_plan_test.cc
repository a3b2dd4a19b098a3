// plan_reload: server identity by name and address, listeners by frontend
// and address, what needs a restart, and the one-line summary.
#include "lb/reload_plan.h"

#include <catch2/catch.hpp>

namespace mqlb::lb {
namespace {

conf::Server server(const std::string& name, uint16_t port,
                    const std::string& address = "127.0.0.1") {
  conf::Server s;
  s.name = name;
  s.address = address;
  s.port = port;
  return s;
}

conf::Config config(std::vector<conf::Server> servers, std::vector<uint16_t> bind_ports = {1883}) {
  conf::Config c;
  conf::Backend b;
  b.name = "mqtt";
  b.servers = std::move(servers);
  c.backends.push_back(b);
  conf::Frontend f;
  f.name = "mqtt";
  f.default_backend = "mqtt";
  for (uint16_t p : bind_ports)
    f.binds.push_back({"127.0.0.1", p, "", {}});
  c.frontends.push_back(f);
  return c;
}

TEST_CASE("a reload that adds a server keeps the others and every listener", "[reload]") {
  const auto plan =
      plan_reload(config({server("b1", 1884), server("b2", 1885)}),
                  config({server("b1", 1884), server("b2", 1885), server("b3", 1886)}));
  REQUIRE(plan.backends.size() == 1);
  CHECK(plan.backends[0].servers_added == std::vector<std::string>{"b3"});
  CHECK(plan.backends[0].servers_removed.empty());
  CHECK(plan.backends[0].servers_unchanged == 2);
  CHECK(plan.listeners_kept == 1);
  CHECK(plan.needs_restart.empty());
  CHECK(plan.summary() ==
        "reload: backend mqtt: +1 server (b3), -0, 2 unchanged; 0 listeners changed");
}

TEST_CASE("a server whose address changed is a new server, the old one drains", "[reload]") {
  const auto plan = plan_reload(config({server("b1", 1884), server("b2", 1885)}),
                                config({server("b2", 1895), server("b4", 1887)}));
  const auto& b = plan.backends[0];
  CHECK(b.servers_added == std::vector<std::string>{"b4"});
  CHECK(b.servers_removed == std::vector<std::string>{"b1"});
  CHECK(b.servers_moved == std::vector<std::string>{"b2"});
  CHECK(b.servers_unchanged == 0);
  CHECK(plan.summary() ==
        "reload: backend mqtt: +1 server (b4), -1 (b1), 1 moved to a new address (b2), 0 "
        "unchanged; 0 listeners changed");
  // Host names count as written: the same name is the same address.
  CHECK(plan_reload(config({server("b1", 1884, "broker.local")}),
                    config({server("b1", 1884, "broker.local")}))
            .backends[0]
            .servers_unchanged == 1);
}

TEST_CASE("other server settings change in place", "[reload]") {
  conf::Server heavier = server("b1", 1884);
  heavier.weight = 10;
  heavier.check.enabled = true;
  const auto plan = plan_reload(config({server("b1", 1884)}), config({heavier}));
  CHECK(plan.backends[0].servers_unchanged == 1);
  CHECK(plan.backends[0].servers_moved.empty());
}

TEST_CASE("listeners are kept by frontend and address, added and removed", "[reload]") {
  const auto plan = plan_reload(config({server("b1", 1884)}, {1883, 8883}),
                                config({server("b1", 1884)}, {1883, 1893}));
  CHECK(plan.listeners_kept == 1);
  CHECK(plan.listeners_added == std::vector<std::string>{"mqtt@127.0.0.1:1893"});
  CHECK(plan.listeners_removed == std::vector<std::string>{"mqtt@127.0.0.1:8883"});
  CHECK(plan.summary() ==
        "reload: backend mqtt: +0 servers, -0, 1 unchanged; +1 listener (mqtt@127.0.0.1:1893), -1 "
        "(mqtt@127.0.0.1:8883), 1 kept");
  // TLS options of a kept address apply in place.
  conf::Config tls = config({server("b1", 1884)}, {1883});
  tls.frontends[0].binds[0].tls.enabled = true;
  CHECK(plan_reload(config({server("b1", 1884)}, {1883}), tls).listeners_kept == 1);
}

TEST_CASE("a new and a removed backend, and the worker count needs a restart", "[reload]") {
  conf::Config next = config({server("b1", 1884)});
  next.backends[0].name = "devices";
  next.frontends[0].default_backend = "devices";
  next.global.workers = 4;
  const auto plan = plan_reload(config({server("b1", 1884), server("b2", 1885)}), next);
  REQUIRE(plan.backends.size() == 2);
  CHECK(plan.backends[0].added);
  CHECK(plan.backends[0].servers_added == std::vector<std::string>{"b1"});
  CHECK(plan.backends[1].removed);
  CHECK(plan.backends[1].servers_removed == std::vector<std::string>{"b1", "b2"});
  CHECK(plan.needs_restart == std::vector<std::string>{"global.workers: one per core -> 4"});
  CHECK(plan.summary() ==
        "reload: backend devices: new, +1 server (b1), -0, 0 unchanged; backend mqtt: removed, 2 "
        "servers draining; 0 listeners changed");
}

}  // namespace
}  // namespace mqlb::lb
