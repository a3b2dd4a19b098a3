// The Grafana dashboard of docs/grafana/mqlb.json against the real thing: it
// is a JSON model Grafana imports as it is, and every query of every panel is
// PromQL that a real Prometheus (Debian's prometheus, started by the test on
// loopback, scraping mqlb) accepts, names only families mqlb's /metrics
// exposes, and shows something on a running mqlb.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/health.h"
#include "support/http.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/prometheus.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;
using Json = nlohmann::json;

namespace {

const std::filesystem::path kDashboard =
    std::filesystem::path(MQLB_SOURCE_DIR) / "docs/grafana/mqlb.json";

// The panels that may stay empty on a healthy mqlb: no MQTT CONNECT is read
// yet (the family fills later), and no check fails.
const std::set<std::string> kMayBeEmpty = {"MQTT CONNECTs", "Failing checks"};

Json load_dashboard() {
  const std::string text = read_file(kDashboard);
  REQUIRE_FALSE(text.empty());
  const Json doc = Json::parse(text, nullptr, false);
  INFO(kDashboard.string() << " is not valid JSON");
  REQUIRE_FALSE(doc.is_discarded());
  return doc;
}

// Every panel, those inside rows included (a collapsed row keeps its panels).
std::vector<Json> all_panels(const Json& doc) {
  std::vector<Json> out;
  for (const Json& p : doc.at("panels")) {
    out.push_back(p);
    if (p.value("type", "") == "row")
      for (const Json& inner : p.value("panels", Json::array()))
        out.push_back(inner);
  }
  return out;
}

struct Query {
  std::string panel;  // its title
  std::string ref;    // the target's refId
  std::string expr;   // as the dashboard has it
};

std::vector<Query> panel_queries(const Json& doc) {
  std::vector<Query> out;
  for (const Json& p : all_panels(doc))
    for (const Json& t : p.value("targets", Json::array()))
      out.push_back({p.at("title").get<std::string>(), t.at("refId").get<std::string>(),
                     t.at("expr").get<std::string>()});
  return out;
}

// `expr` with Grafana's variables replaced by what a user would pick; what
// stays a variable is a name the dashboard does not define.
std::string concrete(std::string expr, const std::map<std::string, std::string>& values) {
  // Grafana's built-in variables, then the dashboard's.
  static const std::vector<std::pair<std::string, std::string>> kBuiltIn = {
      {"$__rate_interval", "1m"}, {"$__interval", "1m"}, {"$__range", "5m"}};
  for (const auto& [name, value] : kBuiltIn)
    for (auto at = expr.find(name); at != std::string::npos; at = expr.find(name))
      expr.replace(at, name.size(), value);
  for (const auto& [name, value] : values)
    for (const std::string& form : {"${" + name + "}", "$" + name})
      for (auto at = expr.find(form); at != std::string::npos; at = expr.find(form))
        expr.replace(at, form.size(), value);
  return expr;
}

// The identifiers of `expr` that start with mqlb_: metric names.
std::set<std::string> metric_names(const std::string& expr) {
  static const std::regex kName("mqlb_[A-Za-z0-9_:]*");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName);
       it != std::sregex_iterator(); ++it)
    out.insert(it->str());
  return out;
}

// The family a series name belongs to: a histogram's _bucket, _sum and
// _count series are its family's, which the exposition's TYPE line says.
std::string family_of(const std::string& name, const std::string& exposition) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() <= s.size() || name.compare(name.size() - s.size(), s.size(), s) != 0) continue;
    const std::string base = name.substr(0, name.size() - s.size());
    if (exposition.find("# TYPE " + base + " histogram\n") != std::string::npos) return base;
  }
  return name;
}

}  // namespace

TEST_CASE("the Grafana dashboard is a JSON model Grafana imports, with its variables",
          "[integration][metrics][grafana]") {
  const Json doc = load_dashboard();
  REQUIRE(doc.at("schemaVersion").is_number_integer());
  CHECK(doc.at("schemaVersion").get<int>() >= 36);  // Grafana 9.0
  CHECK(doc.at("title").is_string());
  CHECK(doc.at("uid").is_string());
  CHECK(doc.value("id", Json()).is_null());  // Grafana assigns it on import

  // Variables: the data source (any Prometheus), then instance, proxy and
  // server from label_values, each allowing "All".
  std::map<std::string, Json> vars;
  for (const Json& v : doc.at("templating").at("list"))
    vars[v.at("name").get<std::string>()] = v;
  REQUIRE(vars.count("datasource") == 1);
  CHECK(vars["datasource"].at("type") == "datasource");
  CHECK(vars["datasource"].at("query") == "prometheus");
  for (const char* name : {"instance", "proxy", "server"}) {
    INFO("variable " << name);
    REQUIRE(vars.count(name) == 1);
    CHECK(vars[name].at("type") == "query");
    CHECK(vars[name].at("datasource").at("uid") == "${datasource}");
    CHECK(vars[name].at("definition").get<std::string>().rfind("label_values(", 0) == 0);
    CHECK(vars[name].at("query").at("query") == vars[name].at("definition"));
    CHECK(vars[name].at("includeAll") == true);
  }

  // Panels: unique ids, on the 24-column grid without overlapping, each
  // (rows aside) with targets on the chosen data source.
  std::set<int> ids;
  std::vector<Json> boxes;
  for (const Json& p : all_panels(doc)) {
    const std::string title = p.at("title").get<std::string>();
    INFO("panel " << title);
    CHECK_FALSE(title.empty());
    CHECK(ids.insert(p.at("id").get<int>()).second);
    const Json& g = p.at("gridPos");
    const int x = g.at("x"), y = g.at("y"), w = g.at("w"), h = g.at("h");
    CHECK(x >= 0);
    CHECK(w > 0);
    CHECK(h > 0);
    CHECK(x + w <= 24);
    for (const Json& other : boxes) {
      const int ox = other.at("x"), oy = other.at("y"), ow = other.at("w"), oh = other.at("h");
      const bool overlap = x < ox + ow && ox < x + w && y < oy + oh && oy < y + h;
      INFO("overlaps " << other.dump());
      CHECK_FALSE(overlap);
    }
    boxes.push_back(g);
    if (p.at("type") == "row") continue;
    CHECK(p.at("datasource").at("type") == "prometheus");
    CHECK(p.at("datasource").at("uid") == "${datasource}");
    REQUIRE(p.at("targets").is_array());
    CHECK_FALSE(p.at("targets").empty());
    std::set<std::string> refs;
    for (const Json& t : p.at("targets")) {
      CHECK(refs.insert(t.at("refId").get<std::string>()).second);
      CHECK_FALSE(t.at("expr").get<std::string>().empty());
      CHECK(t.at("datasource").at("uid") == "${datasource}");
    }
  }

  // What an operator looks at is there: each of these families is in some
  // panel's query.
  std::set<std::string> used;
  for (const Query& q : panel_queries(doc))
    for (const std::string& name : metric_names(q.expr))
      used.insert(name);
  for (const char* family : {"mqlb_frontend_current_sessions",
                             "mqlb_server_current_sessions",
                             "mqlb_frontend_sessions_total",
                             "mqlb_server_sessions_total",
                             "mqlb_frontend_bytes_in_total",
                             "mqlb_frontend_bytes_out_total",
                             "mqlb_server_bytes_in_total",
                             "mqlb_server_bytes_out_total",
                             "mqlb_server_status",
                             "mqlb_server_check_status",
                             "mqlb_server_check_up_down_total",
                             "mqlb_process_ssl_connections_total",
                             "mqlb_process_ssl_handshake_failures_total",
                             "mqlb_process_reloads_total",
                             "mqlb_process_reloads_failed_total",
                             "mqlb_process_last_reload_success_timestamp_seconds",
                             "mqlb_backend_current_queue",
                             "mqlb_server_current_queue",
                             "mqlb_server_connection_errors_total",
                             "mqlb_backend_connect_time_seconds_bucket",
                             "mqlb_process_refused_descriptors_total",
                             "mqlb_mqtt_connects_total"}) {
    INFO("no panel queries " << family);
    CHECK(used.count(family) == 1);
  }
}

TEST_CASE(
    "every query of the Grafana dashboard is PromQL a real Prometheus accepts, on mqlb's "
    "families",
    "[integration][metrics][grafana]") {
  const Json doc = load_dashboard();
  const std::vector<Query> queries = panel_queries(doc);
  REQUIRE(queries.size() >= 20);

  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  const uint16_t api = free_port();
  Json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  config["global"]["admin"] = {{"bind", "127.0.0.1:" + std::to_string(api)}};
  enable_checks(config, {{"inter", "200ms"}});  // for the check panels
  Mqlb lb(dir, config);
  std::vector<Socket> held;
  for (int i = 0; i < 4; ++i)
    held.push_back(echoed_session(lb.port(), "hi"));
  // A reload, for the "last successful reload" panel.
  lb.process().signal(SIGHUP);
  REQUIRE(wait_until([&] { return count(lb.stderr_text(), "reload: backend mqtt") == 1; },
                     Millis(10000)));

  const HttpReply scrape = http_get(api, "/metrics");
  REQUIRE(scrape.status == 200);
  Prometheus prometheus(dir, api);
  // Enough scrapes for a rate() over 1m to have two samples.
  REQUIRE(wait_until(
      [&] {
        const Json r = prometheus.query_reply("count_over_time(mqlb_build_info[1m]) >= 3").json();
        return !r["data"]["result"].empty();
      },
      Millis(20000), Millis(250)));

  // What a user would pick: this mqlb, its proxy, one server.
  const std::string instance = "127.0.0.1:" + std::to_string(api);
  const std::map<std::string, std::string> values = {
      {"instance", instance}, {"proxy", "mqtt"}, {"server", "b1"}};

  for (const Query& q : queries) {
    const std::string expr = concrete(q.expr, values);
    INFO("panel \"" << q.panel << "\" target " << q.ref << ": " << expr);
    CHECK(expr.find('$') == std::string::npos);  // a variable the dashboard lacks
    // (a) PromQL: an invalid query is a 400 with errorType bad_data.
    const HttpReply r = prometheus.query_reply(expr);
    INFO(r.body);
    CHECK(r.status == 200);
    if (r.status != 200) continue;
    const Json answer = r.json();
    CHECK(answer.at("status") == "success");
    // (b) Families mqlb exposes, each with its HELP line.
    const std::set<std::string> names = metric_names(expr);
    CHECK_FALSE(names.empty());
    for (const std::string& name : names) {
      INFO("mqlb's /metrics has no family " << name);
      CHECK(scrape.body.find("# HELP " + family_of(name, scrape.body) + " ") != std::string::npos);
    }
    // (c) Something to show, labels included: a selector on a label its
    // family lacks gives nothing.
    if (kMayBeEmpty.count(q.panel) == 0) CHECK_FALSE(answer.at("data").at("result").empty());
  }

  // The variables' label_values(SELECTOR, LABEL) offer what is there.
  const std::map<std::string, std::vector<std::string>> expected = {
      {"instance", {instance}}, {"proxy", {"mqtt"}}, {"server", {"b1", "b2"}}};
  static const std::regex kLabelValues(R"(^label_values\((.*),\s*([A-Za-z_]+)\)$)");
  for (const Json& v : doc.at("templating").at("list")) {
    if (v.at("type") != "query") continue;
    const std::string name = v.at("name");
    const std::string definition = v.at("definition");
    INFO("variable " << name << ": " << definition);
    std::smatch m;
    REQUIRE(std::regex_match(definition, m, kLabelValues));
    const std::string selector = concrete(m[1].str(), values);
    const HttpReply r =
        prometheus.get("/api/v1/label/" + m[2].str() + "/values?match[]=" + url_encode(selector));
    INFO(r.body);
    REQUIRE(r.status == 200);
    const Json offered = r.json().at("data");
    REQUIRE(expected.count(name) == 1);
    for (const std::string& value : expected.at(name))
      CHECK(std::find(offered.begin(), offered.end(), value) != offered.end());
  }

  // The state timeline folds the per-state series into one value: UP is 1.
  for (const Query& q : queries) {
    if (q.panel != "Server state") continue;
    const Json r = prometheus
                       .query_reply(concrete(
                           q.expr, {{"instance", ".*"}, {"proxy", "mqtt"}, {"server", ".*"}}))
                       .json();
    std::map<std::string, std::string> states;
    for (const Json& item : r.at("data").at("result"))
      states[item.at("metric").at("server").get<std::string>()] = item.at("value").at(1);
    CHECK(states == std::map<std::string, std::string>{{"b1", "1"}, {"b2", "1"}});
  }
}
