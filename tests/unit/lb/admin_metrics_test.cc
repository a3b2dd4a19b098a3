// lb/admin/metrics: the families read from a real snapshot's state objects
// (build_runtime over literal addresses), with counters set to known
// numbers, and the exposition text.
#include "lb/admin/metrics.h"

#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "conf/json_loader.h"
#include "lb/runtime.h"

namespace mqlb::lb::admin {
namespace {

constexpr const char* kConfig = R"({
  "global": {"log": [], "maxconn": 1000},
  "frontends": [{"name": "mqtt", "bind": ["127.0.0.1:1883"], "default_backend": "mqtt",
                 "maxconn": 500}],
  "backends": [{"name": "mqtt", "servers": [
      {"name": "b1", "address": "127.0.0.1", "port": 1884, "weight": 2, "maxconn": 10},
      {"name": "b2", "address": "127.0.0.1", "port": 1885, "check": true},
      {"name": "spare", "address": "127.0.0.1", "port": 1886, "backup": true}]}]
})";

struct Fixture {
  StateRegistry registry{2};
  std::shared_ptr<Runtime> rt;
  Info info{"1.2.3", 4711, 1'000'000, 2, ""};
  Fixture() {
    conf::LoadResult r = conf::load_json(kConfig, "mqlb.json");
    REQUIRE(r.errors.empty());
    std::vector<std::string> errors;
    rt = build_runtime(*r.config, registry, errors);
    REQUIRE(errors.empty());
  }
  ServerState& server(size_t i) { return *rt->backends[0]->servers[i]->state; }
};

// "name{labels}" -> value, for every sample.
std::map<std::string, double> samples(const std::vector<prometheus::MetricFamily>& families) {
  std::map<std::string, double> out;
  for (const auto& f : families)
    for (const auto& m : f.metric) {
      std::string key = f.name;
      if (!m.label.empty()) {
        key += "{";
        for (size_t i = 0; i < m.label.size(); ++i)
          key += (i ? "," : "") + m.label[i].name + "=" + m.label[i].value;
        key += "}";
      }
      out[key] = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  return out;
}

}  // namespace

TEST_CASE("metrics sum each worker's counters at scrape time", "[admin][metrics]") {
  Fixture t;
  t.rt->frontends[0]->state->totals.at(0).sessions.add(3);
  t.rt->frontends[0]->state->totals.at(1).sessions.add(4);
  t.rt->frontends[0]->state->totals.at(1).bytes_in.add(100);
  t.rt->frontends[0]->state->totals.at(0).tls_failed.add(2);
  t.server(0).totals.at(0).sessions.add(5);
  t.server(0).totals.at(1).sessions.add(2);
  t.server(0).totals.at(1).connect_errors.add(1);
  t.server(0).active.take();
  t.rt->backends[0]->state->active.take();
  t.rt->process->active.take();
  t.rt->process->reloads.store(3);
  const auto s = samples(collect(*t.rt, t.info, 1'010'500));
  CHECK(s.at("mqlb_build_info{version=1.2.3}") == 1);
  CHECK(s.at("mqlb_process_nbthread") == 2);
  CHECK(s.at("mqlb_process_uptime_seconds") == Approx(10.5));
  CHECK(s.at("mqlb_process_current_connections") == 1);
  CHECK(s.at("mqlb_process_connections_total") == 7);
  CHECK(s.at("mqlb_process_ssl_handshake_failures_total{reason=refused}") == 2);
  CHECK(s.at("mqlb_process_reloads_total") == 3);
  CHECK(s.at("mqlb_frontend_sessions_total{proxy=mqtt}") == 7);
  CHECK(s.at("mqlb_frontend_connections_total{proxy=mqtt}") == 7);
  CHECK(s.at("mqlb_frontend_bytes_in_total{proxy=mqtt}") == 100);
  CHECK(s.at("mqlb_frontend_limit_sessions{proxy=mqtt}") == 500);
  CHECK(s.at("mqlb_backend_current_sessions{proxy=mqtt}") == 1);
  CHECK(s.at("mqlb_server_sessions_total{proxy=mqtt,server=b1}") == 7);
  CHECK(s.at("mqlb_server_connection_errors_total{proxy=mqtt,server=b1}") == 1);
  CHECK(s.at("mqlb_server_current_sessions{proxy=mqtt,server=b1}") == 1);
  CHECK(s.at("mqlb_server_limit_sessions{proxy=mqtt,server=b1}") == 10);
  CHECK(s.at("mqlb_server_uweight{proxy=mqtt,server=b1}") == 2);
  CHECK(s.at("mqlb_server_backup{proxy=mqtt,server=spare}") == 1);
  CHECK(s.at("mqlb_backend_active_servers{proxy=mqtt}") == 2);
  CHECK(s.at("mqlb_backend_backup_servers{proxy=mqtt}") == 1);
  CHECK(s.at("mqlb_backend_weight{proxy=mqtt}") == 3);
}

TEST_CASE("server status and check status are one series per state", "[admin][metrics]") {
  Fixture t;
  t.server(0).set_admin(AdminState::Drain);
  t.server(1).set_health(Health::Down);
  health::ServerHealthView v;
  v.last_check.status = health::Status::L4Con;
  v.last_check.duration = std::chrono::milliseconds(250);
  v.down_transitions = 2;
  v.since_unix_ms = 1'004'000;
  t.server(1).set_check_view(v);
  const auto s = samples(collect(*t.rt, t.info, 1'010'000));
  for (const char* state : {"DOWN", "UP", "MAINT", "DRAIN", "NOLB"}) {
    INFO(state);
    CHECK(s.at(std::string("mqlb_server_status{proxy=mqtt,server=b1,state=") + state + "}") ==
          (std::string(state) == "DRAIN" ? 1 : 0));
    CHECK(s.at(std::string("mqlb_server_status{proxy=mqtt,server=b2,state=") + state + "}") ==
          (std::string(state) == "DOWN" ? 1 : 0));
  }
  CHECK(s.at("mqlb_server_check_status{proxy=mqtt,server=b2,state=L4CON}") == 1);
  CHECK(s.at("mqlb_server_check_status{proxy=mqtt,server=b2,state=L4OK}") == 0);
  CHECK(s.at("mqlb_server_check_duration_seconds{proxy=mqtt,server=b2}") == Approx(0.25));
  CHECK(s.at("mqlb_server_check_up_down_total{proxy=mqtt,server=b2}") == 2);
  CHECK(s.at("mqlb_server_check_last_change_seconds{proxy=mqtt,server=b2}") == Approx(6));
  // No check, no check series.
  CHECK(s.count("mqlb_server_check_status{proxy=mqtt,server=b1,state=L4OK}") == 0);
  // b1 drains and b2 is down: only the backup is usable.
  CHECK(s.at("mqlb_backend_active_servers{proxy=mqtt}") == 0);
  CHECK(s.at("mqlb_backend_status{proxy=mqtt,state=UP}") == 1);
}

TEST_CASE("the exposition has HELP and TYPE for every family, the MQTT ones included",
          "[admin][metrics]") {
  Fixture t;
  const std::string text = metrics_text(*t.rt, t.info, 1'000'000);
  for (const auto& f : collect(*t.rt, t.info, 1'000'000)) {
    INFO(f.name);
    CHECK(f.name.rfind("mqlb_", 0) == 0);
    CHECK_FALSE(f.help.empty());
    CHECK(text.find("# HELP " + f.name + " ") != std::string::npos);
    CHECK(text.find("# TYPE " + f.name + " ") != std::string::npos);
  }
  CHECK(text.find("# TYPE mqlb_mqtt_connects_total counter") != std::string::npos);
  CHECK(text.find("mqlb_server_sessions_total{proxy=\"mqtt\",server=\"b1\"} 0\n") !=
        std::string::npos);
}

}  // namespace mqlb::lb::admin
