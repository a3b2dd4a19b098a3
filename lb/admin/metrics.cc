#include "lb/admin/metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <deque>
#include <iterator>
#include <sstream>

#include "health/status.h"

namespace mqlb::lb::admin {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// The families, in the order of the exposition, each filled by name.
// A deque: a family added keeps its address while later ones are added.
class Families {
 public:
  MetricFamily& add(const std::string& name, MetricType type, const std::string& help) {
    list_.push_back({"mqlb_" + name, help, type, {}});
    return list_.back();
  }
  std::vector<MetricFamily> take() {
    return {std::make_move_iterator(list_.begin()), std::make_move_iterator(list_.end())};
  }

 private:
  std::deque<MetricFamily> list_;
};

void sample(MetricFamily& f, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

// Per-worker buckets summed and accumulated: Prometheus's `le` buckets
// each count every observation up to their bound; +Inf is the count, which
// the serializer adds.
void observe_histogram(MetricFamily& f, Labels labels, const PerWorker<Histogram>& h,
                       const HistogramBounds& b) {
  uint64_t own[HistogramBounds::kMax + 1] = {};
  uint64_t sum_us = 0;
  for (unsigned w = 0; w < h.size(); ++w) {
    const Histogram& one = h.at(w);
    for (unsigned i = 0; i <= b.n; ++i)
      own[i] += one.bucket(i);
    sum_us += one.sum_us();
  }
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (unsigned i = 0; i < b.n; ++i) {
    cumulative += own[i];
    m.histogram.bucket.push_back({cumulative, double(b.le_us[i]) / 1e6});
  }
  m.histogram.sample_count = cumulative + own[b.n];
  m.histogram.sample_sum = double(sum_us) / 1e6;
  f.metric.push_back(std::move(m));
}

// "1ms, 2.5ms, ..., 10s" for a HELP text.
std::string bounds_text(const HistogramBounds& b) {
  std::string s;
  for (unsigned i = 0; i < b.n; ++i) {
    const uint64_t us = b.le_us[i];
    std::ostringstream one;
    if (us >= 86'400'000'000ULL && us % 86'400'000'000ULL == 0)
      one << us / 86'400'000'000ULL << "d";
    else if (us >= 3'600'000'000ULL && us % 3'600'000'000ULL == 0)
      one << us / 3'600'000'000ULL << "h";
    else if (us >= 60'000'000 && us % 60'000'000 == 0)
      one << us / 60'000'000 << "m";
    else if (us >= 1'000'000)
      one << double(us) / 1e6 << "s";
    else
      one << double(us) / 1e3 << "ms";
    s += (i ? ", " : "") + one.str();
  }
  return s;
}

// A frontend's, backend's or server's counters, each a family of its kind.
struct TotalsFamilies {
  MetricFamily *sessions, *bytes_in, *bytes_out;
  MetricFamily* connect_errors = nullptr;
  MetricFamily *retries = nullptr, *redispatches = nullptr;

  void fill(const Labels& l, const PerWorker<Totals>& t) const {
    sample(*sessions, l, double(t.sum(&Totals::sessions)));
    sample(*bytes_in, l, double(t.sum(&Totals::bytes_in)));
    sample(*bytes_out, l, double(t.sum(&Totals::bytes_out)));
    if (connect_errors) sample(*connect_errors, l, double(t.sum(&Totals::connect_errors)));
    if (retries) sample(*retries, l, double(t.sum(&Totals::retries)));
    if (redispatches) sample(*redispatches, l, double(t.sum(&Totals::redispatches)));
  }
};

TotalsFamilies totals_families(Families& f, const std::string& kind, bool backend_side) {
  TotalsFamilies t{};
  t.sessions =
      &f.add(kind + "_sessions_total", MetricType::Counter,
             "Total number of sessions" + std::string(backend_side ? " assigned." : " accepted."));
  t.bytes_in = &f.add(kind + "_bytes_in_total", MetricType::Counter,
                      "Total number of request bytes (client to server).");
  t.bytes_out = &f.add(kind + "_bytes_out_total", MetricType::Counter,
                       "Total number of response bytes (server to client).");
  if (backend_side) {
    t.connect_errors = &f.add(kind + "_connection_errors_total", MetricType::Counter,
                              "Total number of failed connection attempts to servers.");
    t.retries = &f.add(kind + "_retry_warnings_total", MetricType::Counter,
                       "Total number of connection retries.");
    t.redispatches = &f.add(kind + "_redispatch_warnings_total", MetricType::Counter,
                            "Total number of redispatches to another server.");
  }
  return t;
}

constexpr const char* kServerStates[] = {"DOWN", "UP", "MAINT", "DRAIN", "NOLB"};
constexpr health::Status kCheckStatuses[] = {
    health::Status::Unknown, health::Status::Hana,   health::Status::SockErr,
    health::Status::L4Ok,    health::Status::L4Tout, health::Status::L4Con,
    health::Status::L6Ok,    health::Status::L6Tout, health::Status::L6Rsp,
    health::Status::L7Tout,  health::Status::L7Rsp,  health::Status::L7Ok,
    health::Status::L7Sts};

void process_families(Families& f, const Runtime& rt, const Info& info, int64_t now) {
  const ProcessState& p = *rt.process;
  sample(f.add("build_info", MetricType::Gauge, "mqlb's version, as a label."),
         {{"version", info.version}}, 1);
  sample(f.add("process_nbthread", MetricType::Gauge, "Number of worker threads."), {},
         info.workers);
  sample(f.add("process_start_time_seconds", MetricType::Gauge,
               "Start time of the process since the Unix epoch, in seconds."),
         {}, double(info.started_unix_ms) / 1000);
  sample(f.add("process_uptime_seconds", MetricType::Gauge,
               "How long the process has been running, in seconds."),
         {}, double(now - info.started_unix_ms) / 1000);
  sample(f.add("process_max_connections", MetricType::Gauge,
               "Maximum number of concurrent sessions (maxconn, after RLIMIT_NOFILE)."),
         {}, rt.maxconn);
  sample(f.add("process_current_connections", MetricType::Gauge,
               "Number of live sessions, queued ones included."),
         {}, p.active.get());
  sample(f.add("process_current_ssl_connections", MetricType::Gauge,
               "Number of live sessions with a client TLS handshake done or in progress."),
         {}, p.ssl_sessions.get());
  uint64_t handshakes = 0, resumed = 0, failed = 0, closed = 0, timeouts = 0;
  for (const auto& fe : rt.frontends) {
    const PerWorker<Totals>& t = fe->state->totals;
    handshakes += t.sum(&Totals::tls_handshakes);
    resumed += t.sum(&Totals::tls_resumed);
    failed += t.sum(&Totals::tls_failed);
    closed += t.sum(&Totals::tls_closed);
    timeouts += t.sum(&Totals::tls_timeouts);
  }
  sample(
      f.add("process_connections_total", MetricType::Counter,
            "Total number of connections accepted by the frontends of the running configuration, "
            "those denied by tcp-request connection rules included."),
      {}, double(frontend_sums(rt).connections));
  sample(f.add("process_ssl_connections_total", MetricType::Counter,
               "Total number of TLS handshakes completed with clients (full or resumed)."),
         {}, double(handshakes));
  sample(f.add("process_ssl_resumed_total", MetricType::Counter,
               "Of the completed client TLS handshakes, those resumed from a ticket or the "
               "cache."),
         {}, double(resumed));
  MetricFamily& failures =
      f.add("process_ssl_handshake_failures_total", MetricType::Counter,
            "Total number of client TLS handshakes that did not complete, by reason: refused "
            "(protocol, cipher, certificate), closed (the client left), timeout (timeout "
            "client-hs).");
  sample(failures, {{"reason", "refused"}}, double(failed));
  sample(failures, {{"reason", "closed"}}, double(closed));
  sample(failures, {{"reason", "timeout"}}, double(timeouts));
  sample(f.add("process_refused_descriptors_total", MetricType::Counter,
               "Total number of connections lost because no file descriptor was left "
               "(EMFILE, ENFILE)."),
         {}, double(p.totals.sum(&Totals::refused_fd)));
  sample(f.add("process_reloads_total", MetricType::Counter,
               "Total number of configuration reloads that succeeded."),
         {}, double(p.reloads.load(std::memory_order_relaxed)));
  sample(f.add("process_reloads_failed_total", MetricType::Counter,
               "Total number of configuration reloads refused (the running configuration kept "
               "serving)."),
         {}, double(p.reloads_failed.load(std::memory_order_relaxed)));
  sample(f.add("process_last_reload_success_timestamp_seconds", MetricType::Gauge,
               "When the last successful reload happened, since the Unix epoch (0: none yet)."),
         {}, double(p.last_reload_unix_ms.load(std::memory_order_relaxed)) / 1000);
}

void frontend_families(Families& f, const Runtime& rt) {
  MetricFamily& current = f.add("frontend_current_sessions", MetricType::Gauge,
                                "Number of live sessions of the frontend.");
  MetricFamily& max = f.add("frontend_max_sessions", MetricType::Gauge,
                            "Highest number of live sessions of the frontend seen.");
  MetricFamily& limit = f.add("frontend_limit_sessions", MetricType::Gauge,
                              "Maximum number of live sessions of the frontend (maxconn).");
  MetricFamily& connections =
      f.add("frontend_connections_total", MetricType::Counter,
            "Total number of connections accepted: the sessions, and the connections denied by "
            "tcp-request connection rules.");
  MetricFamily& denied =
      f.add("frontend_denied_connections_total", MetricType::Counter,
            "Total number of connections closed at accept by tcp-request connection rules.");
  const TotalsFamilies totals = totals_families(f, "frontend", false);
  MetricFamily& no_server =
      f.add("frontend_no_server_total", MetricType::Counter,
            "Total number of sessions turned away because no server was usable (<NOSRV>).");
  MetricFamily& duration =
      f.add("frontend_session_duration_seconds", MetricType::Histogram,
            "How long the sessions that ended lasted, from accept to close (%Tt), in seconds; "
            "buckets " +
                bounds_text(kLongBounds) + ".");
  MetricFamily& handshake =
      f.add("frontend_ssl_handshake_duration_seconds", MetricType::Histogram,
            "How long the client TLS handshakes that completed took from accept (%Th), in "
            "seconds; buckets " +
                bounds_text(kShortBounds) + ".");
  for (const auto& fe : rt.frontends) {
    const Labels l{{"proxy", fe->conf.name}};
    sample(current, l, fe->state->active.get());
    sample(max, l, fe->state->active.peak());
    sample(limit, l, fe->conf.maxconn);
    const uint64_t denied_here = fe->state->totals.sum(&Totals::denied);
    sample(connections, l, double(fe->state->totals.sum(&Totals::sessions) + denied_here));
    sample(denied, l, double(denied_here));
    totals.fill(l, fe->state->totals);
    sample(no_server, l, double(fe->state->totals.sum(&Totals::no_server)));
    observe_histogram(duration, l, fe->state->session_duration, kLongBounds);
    observe_histogram(handshake, l, fe->state->handshake_duration, kShortBounds);
  }
}

void backend_families(Families& f, const Runtime& rt) {
  MetricFamily& current = f.add("backend_current_sessions", MetricType::Gauge,
                                "Number of live sessions of the backend.");
  MetricFamily& max = f.add("backend_max_sessions", MetricType::Gauge,
                            "Highest number of live sessions of the backend seen.");
  MetricFamily& queue = f.add("backend_current_queue", MetricType::Gauge,
                              "Number of sessions waiting for a server of the backend.");
  MetricFamily& max_queue =
      f.add("backend_max_queue", MetricType::Gauge,
            "Highest number of sessions waiting for a server of the backend seen.");
  MetricFamily& status = f.add("backend_status", MetricType::Gauge,
                               "Whether the backend has a usable server (1: UP), per state.");
  MetricFamily& active = f.add("backend_active_servers", MetricType::Gauge,
                               "Number of usable active (not backup) servers.");
  MetricFamily& backup =
      f.add("backend_backup_servers", MetricType::Gauge, "Number of usable backup servers.");
  MetricFamily& weight = f.add("backend_weight", MetricType::Gauge,
                               "Sum of the effective weights of the usable active servers.");
  const TotalsFamilies totals = totals_families(f, "backend", true);
  MetricFamily& connect_time =
      f.add("backend_connect_time_seconds", MetricType::Histogram,
            "How long connecting to a server took, for the attempts that connected (%Tc, TLS to "
            "the server included), in seconds; buckets " +
                bounds_text(kShortBounds) + ".");
  for (const auto& b : rt.backends) {
    const Labels l{{"proxy", b->conf.name}};
    uint32_t usable_active = 0, usable_backup = 0, sum = 0;
    for (const auto& s : b->servers) {
      if (!s->state->usable()) continue;
      if (s->conf.backup) {
        ++usable_backup;
      } else {
        ++usable_active;
        sum += s->state->weight();
      }
    }
    sample(current, l, b->state->active.get());
    sample(max, l, b->state->active.peak());
    sample(queue, l, b->state->queued());
    sample(max_queue, l, b->state->queued_peak());
    const bool up = usable_active + usable_backup > 0;
    sample(status, {{"proxy", b->conf.name}, {"state", "UP"}}, up ? 1 : 0);
    sample(status, {{"proxy", b->conf.name}, {"state", "DOWN"}}, up ? 0 : 1);
    sample(active, l, usable_active);
    sample(backup, l, usable_backup);
    sample(weight, l, sum);
    totals.fill(l, b->state->totals);
    observe_histogram(connect_time, l, b->state->connect_time, kShortBounds);
  }
}

void server_families(Families& f, const Runtime& rt, int64_t now) {
  MetricFamily& status =
      f.add("server_status", MetricType::Gauge,
            "Current status of the server, one series per state (DOWN, UP, MAINT, DRAIN, NOLB).");
  MetricFamily& current =
      f.add("server_current_sessions", MetricType::Gauge, "Number of live sessions on the server.");
  MetricFamily& max = f.add("server_max_sessions", MetricType::Gauge,
                            "Highest number of live sessions on the server seen.");
  MetricFamily& limit = f.add("server_limit_sessions", MetricType::Gauge,
                              "Maximum number of live sessions on the server (maxconn; 0: none).");
  MetricFamily& queue = f.add("server_current_queue", MetricType::Gauge,
                              "Number of sessions waiting for this server in particular.");
  MetricFamily& max_queue =
      f.add("server_max_queue", MetricType::Gauge,
            "Highest number of sessions waiting for this server in particular seen.");
  MetricFamily& weight = f.add("server_weight", MetricType::Gauge,
                               "Effective weight of the server (slowstart and admin changes "
                               "included).");
  MetricFamily& uweight = f.add("server_uweight", MetricType::Gauge,
                                "Weight of the server as the configuration sets it.");
  MetricFamily& is_active =
      f.add("server_active", MetricType::Gauge, "1 for an active server, 0 for a backup one.");
  MetricFamily& is_backup =
      f.add("server_backup", MetricType::Gauge, "1 for a backup server, 0 for an active one.");
  const TotalsFamilies totals = totals_families(f, "server", true);
  MetricFamily& tls = f.add("server_ssl_handshakes_total", MetricType::Counter,
                            "Total number of TLS handshakes completed with the server.");
  MetricFamily& check_status =
      f.add("server_check_status", MetricType::Gauge,
            "Status of the last health check, one series per HAProxy check status (servers with "
            "check only).");
  MetricFamily& check_code =
      f.add("server_check_code", MetricType::Gauge,
            "MQTT CONNACK return code of the last MQTT health check (-1: none).");
  MetricFamily& check_duration = f.add("server_check_duration_seconds", MetricType::Gauge,
                                       "How long the last health check took, in seconds.");
  MetricFamily& check_failures = f.add("server_check_failures_total", MetricType::Counter,
                                       "Total number of failed health checks of the server.");
  MetricFamily& up_down = f.add("server_check_up_down_total", MetricType::Counter,
                                "Total number of UP to DOWN transitions of the server.");
  MetricFamily& last_change =
      f.add("server_check_last_change_seconds", MetricType::Gauge,
            "How long ago the server's check state last changed, in seconds.");
  for (const auto& b : rt.backends) {
    for (const auto& s : b->servers) {
      const Labels l{{"proxy", b->conf.name}, {"server", s->conf.name}};
      const ServerState& st = *s->state;
      const std::string_view state = status_name(*s);
      for (const char* name : kServerStates)
        sample(status, {{"proxy", b->conf.name}, {"server", s->conf.name}, {"state", name}},
               state == name ? 1 : 0);
      sample(current, l, st.active.get());
      sample(max, l, st.active.peak());
      sample(limit, l, s->conf.maxconn);
      sample(queue, l, st.queue.size());
      sample(max_queue, l, st.queue.peak());
      sample(weight, l, st.weight());
      sample(uweight, l, s->conf.weight);
      sample(is_active, l, s->conf.backup ? 0 : 1);
      sample(is_backup, l, s->conf.backup ? 1 : 0);
      totals.fill(l, st.totals);
      sample(tls, l, double(st.totals.sum(&Totals::tls_handshakes)));
      if (!s->conf.check.enabled) continue;
      const health::ServerHealthView v = st.check_view();
      for (health::Status c : kCheckStatuses)
        sample(check_status,
               {{"proxy", b->conf.name},
                {"server", s->conf.name},
                {"state", std::string(health::name(c))}},
               v.last_check.status == c ? 1 : 0);
      sample(check_code, l, v.last_check.code);
      sample(check_duration, l, double(std::max<int64_t>(0, v.last_check.duration.count())) / 1000);
      sample(check_failures, l, double(v.failed_checks));
      sample(up_down, l, double(v.down_transitions));
      sample(last_change, l, v.since_unix_ms ? double(now - v.since_unix_ms) / 1000 : 0);
    }
  }
}

// Families the MQTT issue fills; registered now so that dashboards and
// alerts can refer to them.
void mqtt_families(Families& f) {
  f.add("mqtt_connects_total", MetricType::Counter,
        "Total number of MQTT CONNECT packets read, by protocol version.");
  f.add("mqtt_connect_parse_failures_total", MetricType::Counter,
        "Total number of sessions whose first packet was not a valid MQTT CONNECT.");
  f.add("mqtt_connect_timeouts_total", MetricType::Counter,
        "Total number of sessions that sent no complete CONNECT in time.");
  f.add("server_mqtt_check_return_codes_total", MetricType::Counter,
        "Total number of MQTT health check CONNACKs, by return code.");
}

}  // namespace

std::vector<prometheus::MetricFamily> collect(const Runtime& rt, const Info& info,
                                              int64_t now_unix_ms) {
  Families f;
  process_families(f, rt, info, now_unix_ms);
  frontend_families(f, rt);
  backend_families(f, rt);
  server_families(f, rt, now_unix_ms);
  mqtt_families(f);
  return f.take();
}

std::string metrics_text(const Runtime& rt, const Info& info, int64_t now_unix_ms) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collect(rt, info, now_unix_ms));
  return out.str();
}

}  // namespace mqlb::lb::admin
