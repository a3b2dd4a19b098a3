// lb/admin/metrics: the families read from a real snapshot's state objects
// (build_runtime over literal addresses), with counters set to known
// numbers, and the exposition text.
#include "lb/admin/metrics.h"

#include <catch2/catch.hpp>

#include <map>
#include <sstream>
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

std::string key(const std::string& name, const std::vector<prometheus::ClientMetric::Label>& l) {
  if (l.empty()) return name;
  std::string k = name + "{";
  for (size_t i = 0; i < l.size(); ++i)
    k += (i ? "," : "") + l[i].name + "=" + l[i].value;
  return k + "}";
}

// "name{labels}" -> value, for every sample; a histogram as name_count,
// name_sum and name_bucket{labels,le=bound}.
std::map<std::string, double> samples(const std::vector<prometheus::MetricFamily>& families) {
  std::map<std::string, double> out;
  for (const auto& f : families)
    for (const auto& m : f.metric) {
      if (f.type == prometheus::MetricType::Histogram) {
        out[key(f.name + "_count", m.label)] = double(m.histogram.sample_count);
        out[key(f.name + "_sum", m.label)] = m.histogram.sample_sum;
        for (const auto& b : m.histogram.bucket) {
          auto l = m.label;
          std::ostringstream le;
          le << b.upper_bound;
          l.push_back({"le", le.str()});
          out[key(f.name + "_bucket", l)] = double(b.cumulative_count);
        }
        continue;
      }
      out[key(f.name, m.label)] =
          f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  return out;
}

// Rebuilds the snapshot from the same configuration and registry, as a
// reload does.
std::shared_ptr<Runtime> reload(Fixture& t) {
  conf::LoadResult r = conf::load_json(kConfig, "mqlb.json");
  std::vector<std::string> errors;
  auto rt = build_runtime(*r.config, t.registry, errors);
  REQUIRE(errors.empty());
  return rt;
}

}  // namespace

TEST_CASE("metrics sum each worker's counters at scrape time", "[admin][metrics]") {
  Fixture t;
  t.rt->frontends[0]->state->totals.at(0).sessions.add(3);
  t.rt->frontends[0]->state->totals.at(1).sessions.add(4);
  t.rt->frontends[0]->state->totals.at(1).bytes_in.add(100);
  t.rt->frontends[0]->state->totals.at(0).tls_failed.add(2);
  t.rt->frontends[0]->state->totals.at(1).denied.add(6);
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
  CHECK(s.at("mqlb_process_connections_total") == 13);  // denied ones included
  CHECK(s.at("mqlb_process_ssl_handshake_failures_total{reason=refused}") == 2);
  CHECK(s.at("mqlb_process_reloads_total") == 3);
  CHECK(s.at("mqlb_frontend_sessions_total{proxy=mqtt}") == 7);
  CHECK(s.at("mqlb_frontend_connections_total{proxy=mqtt}") == 13);
  CHECK(s.at("mqlb_frontend_denied_connections_total{proxy=mqtt}") == 6);
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

TEST_CASE("max sessions and max queue are the highest counts seen, and a reload keeps them",
          "[admin][metrics]") {
  Fixture t;
  BackendState& backend = *t.rt->backends[0]->state;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(t.rt->frontends[0]->state->active.try_take(500));
    backend.active.take();
    REQUIRE(t.server(0).try_take());
  }
  for (int i = 0; i < 2; ++i) {
    t.rt->frontends[0]->state->active.give();
    backend.active.give();
    t.server(0).active.give();
  }
  t.server(0).active.take();  // 2 now, below the peak
  // Two waiters for b1 in particular, one for any server: the backend's
  // peak counts every queue of it.
  Waiter w[3];
  w[0].server = w[1].server = &t.server(0);
  for (Waiter& one : w)
    backend.enqueue(&one);
  for (Waiter& one : w)
    CHECK(backend.leave(&one) == nullptr);
  auto s = samples(collect(*t.rt, t.info, 1'000'000));
  CHECK(s.at("mqlb_frontend_max_sessions{proxy=mqtt}") == 3);
  CHECK(s.at("mqlb_frontend_current_sessions{proxy=mqtt}") == 1);
  CHECK(s.at("mqlb_backend_max_sessions{proxy=mqtt}") == 3);
  CHECK(s.at("mqlb_server_max_sessions{proxy=mqtt,server=b1}") == 3);
  CHECK(s.at("mqlb_server_max_sessions{proxy=mqtt,server=b2}") == 0);
  CHECK(s.at("mqlb_backend_max_queue{proxy=mqtt}") == 3);
  CHECK(s.at("mqlb_backend_current_queue{proxy=mqtt}") == 0);
  CHECK(s.at("mqlb_server_max_queue{proxy=mqtt,server=b1}") == 2);
  CHECK(s.at("mqlb_server_max_queue{proxy=mqtt,server=b2}") == 0);

  std::shared_ptr<Runtime> next = reload(t);
  REQUIRE(next->frontends[0]->state.get() == t.rt->frontends[0]->state.get());
  s = samples(collect(*next, t.info, 1'000'000));
  CHECK(s.at("mqlb_frontend_max_sessions{proxy=mqtt}") == 3);
  CHECK(s.at("mqlb_backend_max_sessions{proxy=mqtt}") == 3);
  CHECK(s.at("mqlb_server_max_sessions{proxy=mqtt,server=b1}") == 3);
  CHECK(s.at("mqlb_backend_max_queue{proxy=mqtt}") == 3);
  CHECK(s.at("mqlb_server_max_queue{proxy=mqtt,server=b1}") == 2);
}

TEST_CASE("a gauge's peak follows takes and try_takes, never a refused one", "[admin][metrics]") {
  Gauge g;
  CHECK(g.peak() == 0);
  CHECK(g.try_take(2));
  CHECK(g.try_take(2));
  CHECK_FALSE(g.try_take(2));
  CHECK(g.peak() == 2);
  g.give();
  g.give();
  g.take();
  CHECK(g.peak() == 2);
  g.take();
  g.take();
  CHECK(g.peak() == 3);
}

TEST_CASE("check failures and live TLS sessions are exposed", "[admin][metrics]") {
  Fixture t;
  health::ServerHealthView v;
  v.failed_checks = 4;
  v.down_transitions = 1;
  t.server(1).set_check_view(v);
  t.rt->process->ssl_sessions.take();
  t.rt->process->ssl_sessions.take();
  t.rt->process->ssl_sessions.give();
  const auto s = samples(collect(*t.rt, t.info, 1'000'000));
  CHECK(s.at("mqlb_server_check_failures_total{proxy=mqtt,server=b2}") == 4);
  CHECK(s.count("mqlb_server_check_failures_total{proxy=mqtt,server=b1}") == 0);  // no check
  CHECK(s.at("mqlb_process_current_ssl_connections") == 1);
}

TEST_CASE("histograms sum the workers' buckets and accumulate them, a bound in its bucket",
          "[admin][metrics]") {
  Fixture t;
  PerWorker<Histogram>& connect = t.rt->backends[0]->state->connect_time;
  connect.at(0).observe(kShortBounds, 0);           // <= 1 ms
  connect.at(1).observe(kShortBounds, 1'000);       // on the 1 ms bound
  connect.at(1).observe(kShortBounds, 3'000);       // <= 5 ms
  connect.at(0).observe(kShortBounds, 2'000'000);   // <= 2.5 s
  connect.at(0).observe(kShortBounds, 60'000'000);  // above 10 s: +Inf only
  PerWorker<Histogram>& duration = t.rt->frontends[0]->state->session_duration;
  duration.at(0).observe(kLongBounds, 500'000);        // <= 1 s
  duration.at(1).observe(kLongBounds, 7'200'000'000);  // 2 h: <= 4 h
  t.rt->frontends[0]->state->handshake_duration.at(1).observe(kShortBounds, 12'000);
  const auto s = samples(collect(*t.rt, t.info, 1'000'000));
  const std::string c = "mqlb_backend_connect_time_seconds";
  CHECK(s.at(c + "_bucket{proxy=mqtt,le=0.001}") == 2);
  CHECK(s.at(c + "_bucket{proxy=mqtt,le=0.0025}") == 2);
  CHECK(s.at(c + "_bucket{proxy=mqtt,le=0.005}") == 3);
  CHECK(s.at(c + "_bucket{proxy=mqtt,le=1}") == 3);
  CHECK(s.at(c + "_bucket{proxy=mqtt,le=2.5}") == 4);
  CHECK(s.at(c + "_bucket{proxy=mqtt,le=10}") == 4);
  CHECK(s.at(c + "_count{proxy=mqtt}") == 5);
  CHECK(s.at(c + "_sum{proxy=mqtt}") == Approx(62.004));
  const std::string d = "mqlb_frontend_session_duration_seconds";
  CHECK(s.at(d + "_bucket{proxy=mqtt,le=1}") == 1);
  CHECK(s.at(d + "_bucket{proxy=mqtt,le=3600}") == 1);
  CHECK(s.at(d + "_bucket{proxy=mqtt,le=14400}") == 2);
  CHECK(s.at(d + "_bucket{proxy=mqtt,le=86400}") == 2);
  CHECK(s.at(d + "_count{proxy=mqtt}") == 2);
  CHECK(s.at(d + "_sum{proxy=mqtt}") == Approx(7200.5));
  const std::string h = "mqlb_frontend_ssl_handshake_duration_seconds";
  CHECK(s.at(h + "_bucket{proxy=mqtt,le=0.01}") == 0);
  CHECK(s.at(h + "_bucket{proxy=mqtt,le=0.025}") == 1);
  CHECK(s.at(h + "_count{proxy=mqtt}") == 1);

  // The text: cumulative buckets with `le`, +Inf equal to the count.
  const std::string text = metrics_text(*t.rt, t.info, 1'000'000);
  CHECK(text.find("# TYPE " + c + " histogram\n") != std::string::npos);
  CHECK(text.find(c + "_bucket{proxy=\"mqtt\",le=\"0.005\"} 3\n") != std::string::npos);
  CHECK(text.find(c + "_bucket{proxy=\"mqtt\",le=\"+Inf\"} 5\n") != std::string::npos);
  CHECK(text.find(c + "_count{proxy=\"mqtt\"} 5\n") != std::string::npos);
  CHECK(text.find(d + "_bucket{proxy=\"mqtt\",le=\"86400\"} 2\n") != std::string::npos);

  // A reload keeps them: the same state objects.
  std::shared_ptr<Runtime> next = reload(t);
  CHECK(samples(collect(*next, t.info, 1'000'000)).at(c + "_count{proxy=mqtt}") == 5);
}

}  // namespace mqlb::lb::admin
