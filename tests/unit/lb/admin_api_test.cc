// lb/admin/api: the REST API's routes, bodies and errors (handle), over a
// real snapshot built by build_runtime (literal addresses, no sockets) and
// an Admin that records what it is asked; and who may call it (authorize).
#include "lb/admin/api.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/json_dump.h"
#include "conf/json_loader.h"
#include "lb/admin/overrides.h"
#include "lb/runtime.h"

namespace mqlb::lb::admin {
namespace {

using Json = nlohmann::json;

// Two backends; b1 has a weight and a limit, b2 is checked and a backup.
constexpr const char* kFiles = R"({
  "global": {"log": [], "maxconn": 1000},
  "frontends": [{"name": "mqtt", "bind": ["127.0.0.1:1883", "127.0.0.1:1893"],
                 "default_backend": "mqtt", "maxconn": 500}],
  "backends": [
    {"name": "mqtt", "servers": [
      {"name": "b1", "address": "127.0.0.1", "port": 1884, "weight": 2, "maxconn": 10},
      {"name": "b2", "address": "127.0.0.1", "port": 1885, "check": true, "backup": true}]},
    {"name": "other", "balance": "leastconn",
     "servers": [{"name": "o1", "address": "127.0.0.1", "port": 1886}]}
  ]
})";

conf::Config file_config() {
  conf::LoadResult r = conf::load_json(kFiles, "mqlb.json");
  REQUIRE(r.errors.empty());
  return *r.config;
}

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Admin as Control implements it, without the process: a change is recorded
// as an override of the files and becomes a fresh snapshot, built on the
// same registry (so live state carries over). The snapshot it replaces is
// kept, but renamed and reweighted, so that a response built from it after
// a change shows.
class FakeAdmin final : public Admin {
 public:
  FakeAdmin() : files_(file_config()), registry_(2) { rebuild(); }

  const Runtime& runtime() const override { return *runtime_; }
  Info info() const override { return info_; }

  Outcome change(const Change& c) override {
    changes.push_back(c);
    if (refuse) return *refuse;
    Overrides next = overrides;
    Outcome o = record(next, c, runtime_->config);
    if (!o.ok()) return o;
    overrides = std::move(next);
    rebuild();
    return o;
  }

  std::vector<std::string> reload(const std::string& trigger) override {
    triggers.push_back(trigger);
    return reload_errors;
  }

  // The snapshot's server `backend/name`, which must exist.
  const Server& server(const std::string& backend, const std::string& name) const {
    const Backend* b = find_backend(*runtime_, backend);
    REQUIRE(b);
    const Server* s = find_server(*b, name);
    REQUIRE(s);
    return *s;
  }
  ServerState& state(const std::string& backend, const std::string& name) const {
    return *server(backend, name).state;
  }
  const Backend& backend(const std::string& name) const {
    const Backend* b = find_backend(*runtime_, name);
    REQUIRE(b);
    return *b;
  }

  std::vector<Change> changes;
  std::optional<Outcome> refuse;  // what change() answers instead of changing
  std::vector<std::string> triggers;
  std::vector<std::string> reload_errors;
  Overrides overrides;
  size_t builds = 0;

 private:
  void rebuild() {
    std::vector<std::string> notes, errors;
    const conf::Config c = apply(files_, overrides, notes);
    std::shared_ptr<Runtime> next = build_runtime(c, registry_, errors);
    INFO(errors.size() << " errors, the first: " << (errors.empty() ? "" : errors[0]));
    REQUIRE(errors.empty());
    REQUIRE(next);
    if (runtime_) {
      for (auto& b : runtime_->backends) {
        b->conf.name = "stale-" + b->conf.name;
        for (auto& s : b->servers) {
          s->conf.name = "stale-" + s->conf.name;
          s->conf.weight = 999;
          s->conf.address = "stale.invalid";
        }
      }
      retired_.push_back(runtime_);
    }
    runtime_ = std::move(next);
    ++builds;
  }

  conf::Config files_;
  StateRegistry registry_;
  std::shared_ptr<Runtime> runtime_;
  std::vector<std::shared_ptr<Runtime>> retired_;
  Info info_{"1.2.3-test", 4242, unix_now_ms() - 5500, 2, "/var/lib/mqlb/state.json"};
};

Response call(Admin& admin, const std::string& method, const std::string& path,
              const std::string& body = {}) {
  return handle(Request{method, path, body}, admin);
}

// The body as JSON, checking what every response shares.
Json body(const Response& r) {
  INFO(r.body);
  CHECK(r.content_type == "application/json");
  REQUIRE_FALSE(r.body.empty());
  CHECK(r.body.back() == '\n');
  const Json j = Json::parse(r.body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

std::optional<std::string> header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return std::nullopt;
}

// b1 of the files, as GET .../servers/b1 shows it.
Json b1_json() {
  return Json::parse(R"({
    "name": "b1", "backend": "mqtt", "address": "127.0.0.1", "port": 1884,
    "state": "UP", "admin_state": "ready", "weight": 2, "effective_weight": 2,
    "backup": false, "maxconn": 10,
    "sessions": {"total": 0, "bytes_in": 0, "bytes_out": 0, "connect_errors": 0,
                 "current": 0, "queued": 0},
    "check": {"enabled": false}})");
}

const SetServer& only_set(const FakeAdmin& a) {
  REQUIRE(a.changes.size() == 1);
  const auto* c = std::get_if<SetServer>(&a.changes[0]);
  REQUIRE(c);
  CHECK(c->backend == "mqtt");
  CHECK(c->server == "b1");
  return *c;
}

// --- reads -------------------------------------------------------------------

TEST_CASE("GET info shows the process and its reloads", "[admin][api]") {
  FakeAdmin a;
  a.runtime().process->reloads = 3;
  a.runtime().process->reloads_failed = 1;
  a.runtime().process->last_reload_unix_ms = 1700000000123;
  a.runtime().process->active.take();
  const Response r = call(a, "GET", "/api/v1/info");
  CHECK(r.status == 200);
  Json j = body(r);
  INFO(j.dump(2));
  // Started 5.5 s before the test: 5, or 6 on a machine slow enough to
  // spend half a second between building the Admin and this call.
  CHECK(j["uptime_s"].is_number_unsigned());
  CHECK((j["uptime_s"] == 5 || j["uptime_s"] == 6));
  j["uptime_s"] = 5;
  CHECK(j == Json::parse(R"({"version": "1.2.3-test", "pid": 4242, "uptime_s": 5, "workers": 2,
                             "maxconn": 1000, "current_sessions": 1, "reloads": 3,
                             "reloads_failed": 1, "last_reload_unix_ms": 1700000000123,
                             "state_file": "/var/lib/mqlb/state.json"})"));
  CHECK(r.headers.empty());
}

TEST_CASE("HEAD is answered as GET", "[admin][api]") {
  FakeAdmin a;
  const Response r = call(a, "HEAD", "/api/v1/backends/mqtt/servers/b1");
  CHECK(r.status == 200);
  CHECK(body(r) == b1_json());
}

TEST_CASE("GET config is the running configuration as mqlb JSON", "[admin][api]") {
  FakeAdmin a;
  const Response r = call(a, "GET", "/api/v1/config");
  CHECK(r.status == 200);
  CHECK(body(r) == Json::parse(conf::dump_json(file_config())));
  CHECK(r.body == conf::dump_json(file_config()));
}

TEST_CASE("GET frontends lists each with its binds and summed counters", "[admin][api]") {
  FakeAdmin a;
  FrontendState& f = *a.runtime().frontends[0]->state;
  f.totals.at(0).sessions.add(3);
  f.totals.at(1).sessions.add(4);
  f.totals.at(0).bytes_in.add(100);
  f.totals.at(1).bytes_out.add(50);
  f.totals.at(1).connect_errors.add(2);
  f.totals.at(0).no_server.add(1);
  f.totals.at(1).denied.add(5);
  f.active.take();
  f.active.take();
  const Response r = call(a, "GET", "/api/v1/frontends");
  CHECK(r.status == 200);
  CHECK(body(r) == Json::parse(R"([{
    "name": "mqtt",
    "binds": [{"address": "127.0.0.1:1883", "ssl": false},
              {"address": "127.0.0.1:1893", "ssl": false}],
    "default_backend": "mqtt", "maxconn": 500,
    "sessions": {"total": 7, "bytes_in": 100, "bytes_out": 50, "connect_errors": 2,
                 "current": 2, "no_server": 1, "denied": 5}}])"));
}

TEST_CASE("GET backends lists each with its servers and sessions", "[admin][api]") {
  FakeAdmin a;
  BackendState& b = *a.backend("mqtt").state;
  b.totals.at(1).sessions.add(9);
  b.active.take();
  a.state("mqtt", "b2").set_health(Health::Down);
  const Response r = call(a, "GET", "/api/v1/backends");
  CHECK(r.status == 200);
  CHECK(body(r) == Json::parse(R"([
    {"name": "mqtt", "balance": "roundrobin", "servers": 2, "servers_usable": 1,
     "sessions": {"total": 9, "bytes_in": 0, "bytes_out": 0, "connect_errors": 0,
                  "current": 1, "queued": 0}},
    {"name": "other", "balance": "leastconn", "servers": 1, "servers_usable": 1,
     "sessions": {"total": 0, "bytes_in": 0, "bytes_out": 0, "connect_errors": 0,
                  "current": 0, "queued": 0}}])"));
}

TEST_CASE("GET one backend", "[admin][api]") {
  FakeAdmin a;
  const Response r = call(a, "GET", "/api/v1/backends/other");
  CHECK(r.status == 200);
  CHECK(body(r) == Json::parse(R"(
    {"name": "other", "balance": "leastconn", "servers": 1, "servers_usable": 1,
     "sessions": {"total": 0, "bytes_in": 0, "bytes_out": 0, "connect_errors": 0,
                  "current": 0, "queued": 0}})"));
}

TEST_CASE("GET servers lists a backend's servers in order", "[admin][api]") {
  FakeAdmin a;
  const Response r = call(a, "GET", "/api/v1/backends/mqtt/servers");
  CHECK(r.status == 200);
  const Json j = body(r);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 2);
  CHECK(j[0] == b1_json());
  CHECK(j[1]["name"] == "b2");
  CHECK(j[1]["backup"] == true);
  CHECK(j[1]["weight"] == 1);
}

TEST_CASE("GET a server shows its configuration, state and sessions", "[admin][api]") {
  FakeAdmin a;
  SECTION("as the files have it") {
    CHECK(body(call(a, "GET", "/api/v1/backends/mqtt/servers/b1")) == b1_json());
  }
  SECTION("with its counters summed over the workers") {
    ServerState& st = a.state("mqtt", "b1");
    st.totals.at(0).sessions.add(5);
    st.totals.at(1).sessions.add(6);
    st.totals.at(0).bytes_in.add(7);
    st.totals.at(1).bytes_out.add(8);
    st.totals.at(1).connect_errors.add(1);
    st.active.take();
    Json want = b1_json();
    want["sessions"] = {{"total", 11},         {"bytes_in", 7}, {"bytes_out", 8},
                        {"connect_errors", 1}, {"current", 1},  {"queued", 0}};
    CHECK(body(call(a, "GET", "/api/v1/backends/mqtt/servers/b1")) == want);
  }
}

TEST_CASE("GET a checked server shows its last check", "[admin][api]") {
  FakeAdmin a;
  SECTION("before any check finished") {
    const Json j = body(call(a, "GET", "/api/v1/backends/mqtt/servers/b2"));
    CHECK(j["check"] == Json::parse(R"({"enabled": true, "status": "UNK", "info": "",
                                        "duration_ms": 0, "down_transitions": 0,
                                        "since_unix_ms": 0})"));
  }
  SECTION("after checks") {
    health::ServerHealthView v;
    v.last_check.status = health::Status::L4Ok;
    v.last_check.info = "connected";
    v.last_check.duration = std::chrono::milliseconds(12);
    v.down_transitions = 3;
    v.since_unix_ms = 1700000000000;
    a.state("mqtt", "b2").set_check_view(v);
    const Json j = body(call(a, "GET", "/api/v1/backends/mqtt/servers/b2"));
    CHECK(j["check"] == Json::parse(R"({"enabled": true, "status": "L4OK", "info": "connected",
                                        "duration_ms": 12, "down_transitions": 3,
                                        "since_unix_ms": 1700000000000})"));
  }
}

TEST_CASE("a server's state is HAProxy's status from health, admin state and weight",
          "[admin][api]") {
  FakeAdmin a;
  ServerState& st = a.state("mqtt", "b1");
  auto shown = [&] { return body(call(a, "GET", "/api/v1/backends/mqtt/servers/b1")); };
  CHECK(shown()["state"] == "UP");

  st.set_health(Health::Down);
  CHECK(shown()["state"] == "DOWN");
  CHECK(shown()["admin_state"] == "ready");

  // The admin state wins over health.
  st.set_admin(AdminState::Maint);
  CHECK(shown()["state"] == "MAINT");
  CHECK(shown()["admin_state"] == "maint");
  st.set_admin(AdminState::Drain);
  CHECK(shown()["state"] == "DRAIN");
  CHECK(shown()["admin_state"] == "drain");

  st.set_admin(AdminState::Ready);
  st.set_health(Health::Up);
  st.set_weight(0);
  const Json nolb = shown();
  CHECK(nolb["state"] == "NOLB");
  CHECK(nolb["weight"] == 2);  // the configured one
  CHECK(nolb["effective_weight"] == 0);

  // Down beats weight 0.
  st.set_health(Health::Down);
  CHECK(shown()["state"] == "DOWN");
}

TEST_CASE("reads change nothing", "[admin][api]") {
  FakeAdmin a;
  for (const char* path : {"/api/v1/info", "/api/v1/config", "/api/v1/frontends",
                           "/api/v1/backends", "/api/v1/backends/mqtt",
                           "/api/v1/backends/mqtt/servers", "/api/v1/backends/mqtt/servers/b1"}) {
    INFO(path);
    CHECK(call(a, "GET", path).status == 200);
  }
  CHECK(a.changes.empty());
  CHECK(a.triggers.empty());
  CHECK(a.builds == 1);
}

TEST_CASE("empty path segments and a trailing slash do not matter", "[admin][api]") {
  FakeAdmin a;
  CHECK(body(call(a, "GET", "//api/v1//backends/mqtt/servers/b1/")) == b1_json());
}

// --- POST servers ------------------------------------------------------------

TEST_CASE("POST servers adds a server: 201, its Location and the new server", "[admin][api]") {
  FakeAdmin a;
  const Response r =
      call(a, "POST", "/api/v1/backends/mqtt/servers",
           R"({"name": "b3", "address": "127.0.0.1", "port": 1887, "weight": 4, "drain": true})");
  CHECK(r.status == 201);
  CHECK(header(r, "Location") == "/api/v1/backends/mqtt/servers/b3");
  CHECK(body(r) == Json::parse(R"({
    "name": "b3", "backend": "mqtt", "address": "127.0.0.1", "port": 1887,
    "state": "DRAIN", "admin_state": "drain", "weight": 4, "effective_weight": 4,
    "backup": false, "maxconn": 0,
    "sessions": {"total": 0, "bytes_in": 0, "bytes_out": 0, "connect_errors": 0,
                 "current": 0, "queued": 0},
    "check": {"enabled": false}})"));

  REQUIRE(a.changes.size() == 1);
  const auto* c = std::get_if<AddServer>(&a.changes[0]);
  REQUIRE(c);
  CHECK(c->backend == "mqtt");
  conf::Server want;
  want.name = "b3";
  want.address = "127.0.0.1";
  want.port = 1887;
  want.weight = 4;
  want.drain = true;
  CHECK(c->server == want);

  CHECK(a.builds == 2);
  const Json list = body(call(a, "GET", "/api/v1/backends/mqtt/servers"));
  REQUIRE(list.size() == 3);
  CHECK(list[2]["name"] == "b3");
}

TEST_CASE("POST servers to the other backend gets its own Location", "[admin][api]") {
  FakeAdmin a;
  const Response r = call(a, "POST", "/api/v1/backends/other/servers",
                          R"({"name": "o2", "address": "127.0.0.1", "port": 1888})");
  CHECK(r.status == 201);
  CHECK(header(r, "Location") == "/api/v1/backends/other/servers/o2");
  CHECK(body(r)["backend"] == "other");
}

TEST_CASE("POST servers with a name in use is a 409 from the change", "[admin][api]") {
  FakeAdmin a;
  const Response r = call(a, "POST", "/api/v1/backends/mqtt/servers",
                          R"({"name": "b1", "address": "127.0.0.1", "port": 1999})");
  CHECK(r.status == 409);
  CHECK(body(r) ==
        Json::parse(R"({"error": "backend 'mqtt' already has a server 'b1'", "field": "name"})"));
  CHECK_FALSE(header(r, "Location").has_value());
  CHECK(a.changes.size() == 1);
  CHECK(a.builds == 1);
}

TEST_CASE("POST servers refuses a bad body naming the field, before any change", "[admin][api]") {
  struct Case {
    const char* body;
    const char* field;
    const char* error;  // its start
  };
  const std::vector<Case> cases = {
      {"not json", "body", "the body is not JSON"},
      {"", "body", "the body is not JSON"},
      {R"({})", "name", "is required"},
      {R"({"name": "b3"})", "address", "is required"},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 0})", "port", "must be 1..65535, got 0"},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 65536})", "port",
       "must be 1..65535, got 65536"},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 1, "weight": 257})", "weight",
       "must be 0..256, got 257"},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 1, "weight": "2"})", "weight",
       "must be 0..256"},
      {R"({"name": "b3", "address": "127.0.0.1", "port": 1, "color": "red"})", "color",
       "unknown key"},
      {R"({"name": "b/3", "address": "127.0.0.1", "port": 1})", "name", "may hold only"},
      {R"({"name": "b3", "address": "10.0.0.300", "port": 1})", "address",
       "is not a valid IP address"},
  };
  for (const Case& c : cases) {
    INFO("body: " << c.body);
    FakeAdmin a;
    const Response r = call(a, "POST", "/api/v1/backends/mqtt/servers", c.body);
    CHECK(r.status == 400);
    const Json j = body(r);
    INFO(j.dump());
    CHECK(j["field"] == c.field);
    CHECK(j["error"].get<std::string>().rfind(c.error, 0) == 0);
    CHECK(a.changes.empty());
  }
}

TEST_CASE("POST servers lists every error after the first", "[admin][api]") {
  FakeAdmin a;
  const Response r = call(a, "POST", "/api/v1/backends/mqtt/servers", R"({"name": "b3"})");
  CHECK(r.status == 400);
  CHECK(body(r) == Json::parse(R"({"error": "is required", "field": "address",
    "errors": [{"field": "address", "error": "is required"},
               {"field": "port", "error": "is required"}]})"));
}

// As PATCH does: the API promises {"error", "field"}.
TEST_CASE("POST servers with a body that is not an object names the body", "[admin][api]") {
  FakeAdmin a;
  const Response r = call(a, "POST", "/api/v1/backends/mqtt/servers", "[1]");
  CHECK(r.status == 400);
  const Json j = body(r);
  INFO(j.dump());
  CHECK(j["field"] == "body");
  CHECK(a.changes.empty());
}

TEST_CASE("POST servers passes a refusal of the change through with its status", "[admin][api]") {
  FakeAdmin a;
  a.refuse = Outcome{503, "mqlb is stopping", {}};
  const Response r = call(a, "POST", "/api/v1/backends/mqtt/servers",
                          R"({"name": "b3", "address": "127.0.0.1", "port": 1887})");
  CHECK(r.status == 503);
  CHECK(body(r) == Json::parse(R"({"error": "mqlb is stopping"})"));
  CHECK(a.changes.size() == 1);
  CHECK(a.builds == 1);
}

// --- PATCH a server ----------------------------------------------------------

TEST_CASE("PATCH admin_state sets it and answers with the new snapshot's server", "[admin][api]") {
  FakeAdmin a;
  const Response r =
      call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"admin_state": "maint"})");
  CHECK(r.status == 200);
  Json want = b1_json();
  want["state"] = "MAINT";
  want["admin_state"] = "maint";
  CHECK(body(r) == want);
  const SetServer& c = only_set(a);
  CHECK(c.patch.set.admin == AdminState::Maint);
  CHECK_FALSE(c.patch.set.weight);
  CHECK_FALSE(c.patch.set.address);
  CHECK_FALSE(c.patch.set.port);
  CHECK_FALSE(c.patch.clear_admin);
  CHECK_FALSE(c.patch.clear_weight);
  CHECK_FALSE(c.patch.clear_address);
  CHECK(a.builds == 2);
}

TEST_CASE("PATCH each key gives the recorded patch", "[admin][api]") {
  FakeAdmin a;
  SECTION("admin_state drain") {
    const Response r =
        call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"admin_state": "drain"})");
    CHECK(r.status == 200);
    CHECK(body(r)["state"] == "DRAIN");
    CHECK(only_set(a).patch.set.admin == AdminState::Drain);
  }
  SECTION("admin_state ready") {
    CHECK(call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"admin_state": "ready"})")
              .status == 200);
    CHECK(only_set(a).patch.set.admin == AdminState::Ready);
  }
  SECTION("weight") {
    const Response r = call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"weight": 7})");
    CHECK(r.status == 200);
    const Json j = body(r);
    CHECK(j["weight"] == 7);
    CHECK(j["effective_weight"] == 7);
    CHECK(only_set(a).patch.set.weight == 7u);
  }
  SECTION("weight 0 and 256, the edges") {
    CHECK(call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"weight": 0})").status == 200);
    CHECK(body(call(a, "GET", "/api/v1/backends/mqtt/servers/b1"))["state"] == "NOLB");
    CHECK(call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"weight": 256})").status == 200);
  }
  SECTION("address and port") {
    const Response r = call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1",
                            R"({"address": "127.0.0.2", "port": 1999})");
    CHECK(r.status == 200);
    const Json j = body(r);
    CHECK(j["address"] == "127.0.0.2");
    CHECK(j["port"] == 1999);
    const SetServer& c = only_set(a);
    CHECK(c.patch.set.address == "127.0.0.2");
    CHECK(c.patch.set.port == uint16_t{1999});
  }
  SECTION("every key at once") {
    CHECK(call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1",
               R"({"admin_state": "drain", "weight": 3, "address": "127.0.0.3", "port": 1883})")
              .status == 200);
    ServerOverride want;
    want.admin = AdminState::Drain;
    want.weight = 3;
    want.address = "127.0.0.3";
    want.port = 1883;
    CHECK(only_set(a).patch.set == want);
    CHECK(a.overrides.servers.at("mqtt/b1") == want);
  }
}

TEST_CASE("PATCH with null clears an override back to the files", "[admin][api]") {
  FakeAdmin a;
  REQUIRE(call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1",
               R"({"admin_state": "maint", "weight": 9, "address": "127.0.0.4", "port": 1777})")
              .status == 200);
  a.changes.clear();

  SECTION("admin_state") {
    const Response r =
        call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"admin_state": null})");
    CHECK(r.status == 200);
    const SetServer& c = only_set(a);
    CHECK(c.patch.clear_admin);
    CHECK_FALSE(c.patch.clear_weight);
    CHECK_FALSE(c.patch.clear_address);
    CHECK(c.patch.set.empty());
    const Json j = body(r);
    CHECK(j["state"] == "UP");
    CHECK(j["weight"] == 9);
  }
  SECTION("weight") {
    const Response r = call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"weight": null})");
    CHECK(r.status == 200);
    CHECK(only_set(a).patch.clear_weight);
    CHECK(body(r)["weight"] == 2);
  }
  SECTION("address, with its port") {
    const Response r = call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"address": null})");
    CHECK(r.status == 200);
    CHECK(only_set(a).patch.clear_address);
    const Json j = body(r);
    CHECK(j["address"] == "127.0.0.1");
    CHECK(j["port"] == 1884);
  }
  SECTION("all of them: the server is as the files have it") {
    const Response r = call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1",
                            R"({"admin_state": null, "weight": null, "address": null})");
    CHECK(r.status == 200);
    CHECK(body(r) == b1_json());
    CHECK(a.overrides.empty());
  }
}

TEST_CASE("PATCH refuses a bad body naming the field, before any change", "[admin][api]") {
  struct Case {
    const char* body;
    const char* field;
    const char* error;  // its start
  };
  const std::vector<Case> cases = {
      {"not json", "body", "the body is not JSON"},
      {"", "body", "the body is not JSON"},
      {"[1]", "body", "expected an object with admin_state, weight, address or port"},
      {"\"drain\"", "body", "expected an object"},
      {"{}", "body", "expected an object"},
      {R"({"state": "maint"})", "state",
       "unknown key (expected one of: admin_state, weight, address, port)"},
      {R"({"admin_state": "up"})", "admin_state",
       "must be \"ready\", \"drain\", \"maint\" or null, got \"up\""},
      {R"({"admin_state": 1})", "admin_state", "must be \"ready\""},
      {R"({"admin_state": "MAINT"})", "admin_state", "must be \"ready\""},
      {R"({"weight": 257})", "weight", "must be 0..256 or null, got 257"},
      {R"({"weight": -1})", "weight", "must be 0..256 or null, got -1"},
      {R"({"weight": "5"})", "weight", "must be 0..256 or null"},
      {R"({"weight": 1.5})", "weight", "must be 0..256 or null"},
      {R"({"address": ""})", "address", "must be a host name or IP address, or null"},
      {R"({"address": 10})", "address", "must be a host name or IP address, or null"},
      {R"({"port": 0})", "port", "must be 1..65535, got 0"},
      {R"({"port": 65536})", "port", "must be 1..65535, got 65536"},
      {R"({"port": "1884"})", "port", "must be 1..65535"},
      // The port clears only with the address.
      {R"({"port": null})", "port", "must be 1..65535, got null"},
      // A good key does not save a bad one.
      {R"({"weight": 3, "port": 0})", "port", "must be 1..65535"},
  };
  for (const Case& c : cases) {
    INFO("body: " << c.body);
    FakeAdmin a;
    const Response r = call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", c.body);
    CHECK(r.status == 400);
    const Json j = body(r);
    INFO(j.dump());
    CHECK(j["field"] == c.field);
    CHECK(j["error"].get<std::string>().rfind(c.error, 0) == 0);
    CHECK(a.changes.empty());
  }
}

TEST_CASE("PATCH passes an error of the change through with its status and field", "[admin][api]") {
  FakeAdmin a;
  SECTION("a refusal of the Admin") {
    a.refuse = Outcome{409, "busy", "weight"};
    const Response r = call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"weight": 3})");
    CHECK(r.status == 409);
    CHECK(body(r) == Json::parse(R"({"error": "busy", "field": "weight"})"));
    CHECK(a.changes.size() == 1);
  }
  SECTION("a bad IP address, which only record() checks") {
    const Response r =
        call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"address": "10.0.0.300"})");
    CHECK(r.status == 400);
    CHECK(body(r) == Json::parse(R"({"error": "is not a valid IP address: '10.0.0.300'",
                                     "field": "address"})"));
  }
  SECTION("an error without a field has no field key") {
    a.refuse = Outcome{500, "the workers did not answer", {}};
    const Response r = call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"weight": 3})");
    CHECK(r.status == 500);
    CHECK(body(r) == Json::parse(R"({"error": "the workers did not answer"})"));
  }
  CHECK(a.builds == 1);
  CHECK(body(call(a, "GET", "/api/v1/backends/mqtt/servers/b1")) == b1_json());
}

TEST_CASE("a change keeps the live state of the servers it rebuilds", "[admin][api]") {
  FakeAdmin a;
  a.state("mqtt", "b1").set_health(Health::Down);
  a.state("mqtt", "b1").totals.at(0).sessions.add(4);
  const Response r = call(a, "PATCH", "/api/v1/backends/mqtt/servers/b1", R"({"weight": 5})");
  CHECK(r.status == 200);
  const Json j = body(r);
  CHECK(j["state"] == "DOWN");
  CHECK(j["sessions"]["total"] == 4);
  CHECK(j["weight"] == 5);
}

// --- DELETE a server ---------------------------------------------------------

TEST_CASE("DELETE a server drains it and says how many sessions it still has", "[admin][api]") {
  FakeAdmin a;
  a.state("mqtt", "b1").active.take();
  a.state("mqtt", "b1").active.take();
  const Response r = call(a, "DELETE", "/api/v1/backends/mqtt/servers/b1");
  CHECK(r.status == 200);
  CHECK(body(r) == Json::parse(R"({"deleted": "mqtt/b1", "draining": 2})"));
  REQUIRE(a.changes.size() == 1);
  const auto* c = std::get_if<DelServer>(&a.changes[0]);
  REQUIRE(c);
  CHECK(c->backend == "mqtt");
  CHECK(c->server == "b1");
  CHECK(call(a, "GET", "/api/v1/backends/mqtt/servers/b1").status == 404);
  CHECK(body(call(a, "GET", "/api/v1/backends/mqtt"))["servers"] == 1);
}

TEST_CASE("DELETE an idle server drains none", "[admin][api]") {
  FakeAdmin a;
  const Response r = call(a, "DELETE", "/api/v1/backends/other/servers/o1");
  CHECK(r.status == 200);
  CHECK(body(r) == Json::parse(R"({"deleted": "other/o1", "draining": 0})"));
}

TEST_CASE("DELETE passes a refusal of the change through", "[admin][api]") {
  FakeAdmin a;
  a.refuse = Outcome{409, "the last server of a backend stays", {}};
  const Response r = call(a, "DELETE", "/api/v1/backends/other/servers/o1");
  CHECK(r.status == 409);
  CHECK(body(r) == Json::parse(R"({"error": "the last server of a backend stays"})"));
  CHECK(call(a, "GET", "/api/v1/backends/other/servers/o1").status == 200);
}

TEST_CASE("a server added then deleted through the API is gone", "[admin][api]") {
  FakeAdmin a;
  REQUIRE(call(a, "POST", "/api/v1/backends/mqtt/servers",
               R"({"name": "b3", "address": "127.0.0.1", "port": 1887})")
              .status == 201);
  CHECK(call(a, "DELETE", "/api/v1/backends/mqtt/servers/b3").status == 200);
  CHECK(call(a, "GET", "/api/v1/backends/mqtt/servers/b3").status == 404);
  CHECK(a.overrides.empty());
}

TEST_CASE("a server added through the API takes patches like a file's server", "[admin][api]") {
  FakeAdmin a;
  REQUIRE(call(a, "POST", "/api/v1/backends/other/servers",
               R"({"name": "o2", "address": "127.0.0.1", "port": 1888, "weight": 3})")
              .status == 201);
  const Response r = call(a, "PATCH", "/api/v1/backends/other/servers/o2",
                          R"({"admin_state": "maint", "weight": 8})");
  CHECK(r.status == 200);
  const Json j = body(r);
  CHECK(j["state"] == "MAINT");
  CHECK(j["weight"] == 8);
  // Cleared, the weight is the one it was added with.
  CHECK(body(call(a, "PATCH", "/api/v1/backends/other/servers/o2",
                  R"({"weight": null})"))["weight"] == 3);
  CHECK(a.builds == 4);
}

TEST_CASE("a deleted server is gone for PATCH and DELETE too", "[admin][api]") {
  FakeAdmin a;
  REQUIRE(call(a, "DELETE", "/api/v1/backends/mqtt/servers/b2").status == 200);
  CHECK(call(a, "PATCH", "/api/v1/backends/mqtt/servers/b2", R"({"weight": 3})").status == 404);
  CHECK(call(a, "DELETE", "/api/v1/backends/mqtt/servers/b2").status == 404);
  CHECK(a.changes.size() == 1);
}

// --- POST reload -------------------------------------------------------------

TEST_CASE("POST reload reads the files again", "[admin][api]") {
  FakeAdmin a;
  SECTION("and succeeds") {
    const Response r = call(a, "POST", "/api/v1/reload");
    CHECK(r.status == 200);
    CHECK(body(r) == Json::parse(R"({"reloaded": true})"));
  }
  SECTION("and fails with the errors") {
    a.reload_errors = {"mqlb.json: backends[0].servers[0].port: must be 1..65535, got 0",
                       "mqlb.json: frontends: must be a list of at least one frontend"};
    const Response r = call(a, "POST", "/api/v1/reload", "ignored");
    CHECK(r.status == 400);
    CHECK(body(r) == Json::parse(R"({
      "error": "the reload failed; the running configuration keeps serving",
      "errors": ["mqlb.json: backends[0].servers[0].port: must be 1..65535, got 0",
                 "mqlb.json: frontends: must be a list of at least one frontend"]})"));
  }
  CHECK(a.triggers == std::vector<std::string>{"API request"});
  CHECK(a.changes.empty());
}

// --- unknown paths and wrong methods -----------------------------------------

TEST_CASE("unknown paths backends and servers are 404s with an error", "[admin][api]") {
  FakeAdmin a;
  struct Case {
    const char* method;
    const char* path;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"GET", "/", "no such resource: / (the API is under /api/v1)"},
      {"GET", "", "no such resource:  (the API is under /api/v1)"},
      {"GET", "/api", "no such resource: /api (the API is under /api/v1)"},
      {"GET", "/api/v1", "no such resource: /api/v1 (the API is under /api/v1)"},
      {"GET", "/api/v2/info", "no such resource: /api/v2/info (the API is under /api/v1)"},
      {"GET", "/v1/api/info", "no such resource: /v1/api/info (the API is under /api/v1)"},
      {"GET", "/api/v1/nope", "no such resource: /api/v1/nope"},
      {"GET", "/api/v1/info/more", "no such resource: /api/v1/info/more"},
      {"POST", "/api/v1/reload/now", "no such resource: /api/v1/reload/now"},
      {"GET", "/api/v1/frontends/mqtt", "no such resource: /api/v1/frontends/mqtt"},
      {"GET", "/api/v1/backends/nope", "no backend 'nope'"},
      {"GET", "/api/v1/backends/nope/servers", "no backend 'nope'"},
      {"POST", "/api/v1/backends/nope/servers", "no backend 'nope'"},
      {"DELETE", "/api/v1/backends/nope/servers/b1", "no backend 'nope'"},
      {"GET", "/api/v1/backends/mqtt/nodes", "no such resource: /api/v1/backends/mqtt/nodes"},
      {"GET", "/api/v1/backends/mqtt/servers/b1/check",
       "no such resource: /api/v1/backends/mqtt/servers/b1/check"},
      {"GET", "/api/v1/backends/mqtt/servers/nope", "no server 'nope' in backend 'mqtt'"},
      {"PATCH", "/api/v1/backends/mqtt/servers/nope", "no server 'nope' in backend 'mqtt'"},
      {"DELETE", "/api/v1/backends/mqtt/servers/nope", "no server 'nope' in backend 'mqtt'"},
      // A server of another backend is not found through this one.
      {"GET", "/api/v1/backends/other/servers/b1", "no server 'b1' in backend 'other'"},
      // Names are case-sensitive.
      {"GET", "/api/v1/backends/MQTT", "no backend 'MQTT'"},
  };
  for (const Case& c : cases) {
    INFO(c.method << " " << c.path);
    const Response r = call(a, c.method, c.path, R"({"weight": 3})");
    CHECK(r.status == 404);
    CHECK(body(r) == Json{{"error", c.error}});
    CHECK(r.headers.empty());
  }
  CHECK(a.changes.empty());
  CHECK(a.triggers.empty());
}

TEST_CASE("a known path with another method is a 405 with an Allow header", "[admin][api]") {
  FakeAdmin a;
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  };
  const std::vector<Case> cases = {
      {"POST", "/api/v1/info", "GET"},
      {"DELETE", "/api/v1/info", "GET"},
      {"PUT", "/api/v1/config", "GET"},
      {"GET", "/api/v1/reload", "POST"},
      {"HEAD", "/api/v1/reload", "POST"},
      {"PATCH", "/api/v1/reload", "POST"},
      {"POST", "/api/v1/frontends", "GET"},
      {"POST", "/api/v1/backends", "GET"},
      {"PATCH", "/api/v1/backends/mqtt", "GET"},
      {"DELETE", "/api/v1/backends/mqtt", "GET"},
      {"DELETE", "/api/v1/backends/mqtt/servers", "GET, POST"},
      {"PATCH", "/api/v1/backends/mqtt/servers", "GET, POST"},
      {"POST", "/api/v1/backends/mqtt/servers/b1", "GET, PATCH, DELETE"},
      {"PUT", "/api/v1/backends/mqtt/servers/b1", "GET, PATCH, DELETE"},
      // Methods are case-sensitive (RFC 9110 §9.1).
      {"get", "/api/v1/info", "GET"},
      {"patch", "/api/v1/backends/mqtt/servers/b1", "GET, PATCH, DELETE"},
  };
  for (const Case& c : cases) {
    INFO(c.method << " " << c.path);
    const Response r = call(a, c.method, c.path, R"({"weight": 3})");
    CHECK(r.status == 405);
    CHECK(header(r, "Allow") == std::string(c.allow));
    CHECK(body(r) ==
          Json{{"error", "method not allowed here (allowed: " + std::string(c.allow) + ")"}});
  }
  CHECK(a.changes.empty());
  CHECK(a.triggers.empty());
}

// --- authorize ---------------------------------------------------------------

std::string basic(const std::string& user_colon_password) {
  static const char* const k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  const auto& in = user_colon_password;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8 | uint8_t(in[i + 2]);
    out += {k[n >> 18], k[(n >> 12) & 63], k[(n >> 6) & 63], k[n & 63]};
  }
  if (in.size() - i == 1) {
    const uint32_t n = uint8_t(in[i]) << 16;
    out += {k[n >> 18], k[(n >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    const uint32_t n = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8;
    out += {k[n >> 18], k[(n >> 12) & 63], k[(n >> 6) & 63], '='};
  }
  return "Basic " + out;
}

TEST_CASE("the test's base64 is base64", "[admin][api]") {
  CHECK(basic("admin:secret") == "Basic YWRtaW46c2VjcmV0");
  CHECK(basic("a:b") == "Basic YTpi");
  CHECK(basic("ab:c1") == "Basic YWI6YzE=");
  CHECK(basic("ab:c") == "Basic YWI6Yw==");
}

void allowed(const Endpoint& e, const char* method, const std::string& authorization) {
  INFO(method << " with '" << authorization << "'");
  const auto r = authorize(e, method, authorization);
  INFO((r ? std::to_string(r->status) + " " + r->body : std::string("allowed")));
  CHECK_FALSE(r.has_value());
}

// The refusal, checked for what every refusal shares.
Response refused(const Endpoint& e, const char* method, const std::string& authorization,
                 int status) {
  INFO(method << " with '" << authorization << "'");
  const auto r = authorize(e, method, authorization);
  REQUIRE(r.has_value());
  CHECK(r->status == status);
  const Json j = body(*r);
  CHECK(j["error"].is_string());
  CHECK_FALSE(j["error"].get<std::string>().empty());
  CHECK(header(*r, "WWW-Authenticate").has_value() == (status == 401));
  return *r;
}

TEST_CASE("the default endpoint is open on loopback for reads and changes", "[admin][api]") {
  const Endpoint e;
  for (const char* method : {"GET", "HEAD", "POST", "PATCH", "DELETE", "PUT"}) {
    allowed(e, method, "");
    allowed(e, method, "Bearer whatever");
    allowed(e, method, "Basic !!!");
  }
}

TEST_CASE("a loopback endpoint with a token does not need it", "[admin][api]") {
  Endpoint e;
  e.token = "T";
  allowed(e, "POST", "");
  allowed(e, "DELETE", "Bearer wrong");
}

TEST_CASE("off loopback without a token reads are open and changes forbidden", "[admin][api]") {
  Endpoint e;
  e.loopback = false;
  allowed(e, "GET", "");
  allowed(e, "HEAD", "");
  for (const char* method : {"POST", "PATCH", "DELETE", "PUT"}) {
    const Response r = refused(e, method, "", 403);
    CHECK(body(r)["error"] == "changes off loopback need an admin token (global.admin.token)");
  }
  // An empty token is no token: "Bearer " does not match it.
  refused(e, "POST", "Bearer ", 403);
  refused(e, "POST", "Bearer", 403);
}

TEST_CASE("off loopback with a token changes need the bearer token", "[admin][api]") {
  Endpoint e;
  e.loopback = false;
  e.token = "T0k3n";
  allowed(e, "GET", "");
  allowed(e, "POST", "Bearer T0k3n");
  allowed(e, "PATCH", "Bearer T0k3n");
  allowed(e, "DELETE", "Bearer T0k3n");

  const Response missing = refused(e, "POST", "", 401);
  CHECK(header(missing, "WWW-Authenticate") == "Bearer realm=\"mqlb\"");
  CHECK(body(missing)["error"] == "changes need the admin token (Authorization: Bearer TOKEN)");
  for (const char* wrong : {"Bearer T0k3", "Bearer T0k3n ", "Bearer t0k3n", "Bearer  T0k3n",
                            "Bearer T0k3nX", "T0k3n", "Basic T0k3n", "Bearer", "Bearer "}) {
    const Response r = refused(e, "DELETE", wrong, 401);
    CHECK(header(r, "WWW-Authenticate") == "Bearer realm=\"mqlb\"");
  }
  // Basic credentials mean nothing on this endpoint.
  refused(e, "POST", basic(":"), 401);
}

TEST_CASE("the realm of the challenge is the endpoint's", "[admin][api]") {
  Endpoint e;
  e.loopback = false;
  e.token = "T";
  e.realm = "edge";
  CHECK(header(refused(e, "POST", "", 401), "WWW-Authenticate") == "Bearer realm=\"edge\"");
}

// RFC 9110 §11.1 (and RFC 7617 §2, RFC 6750 §2.1 by reference).
TEST_CASE("the authorization scheme is matched without regard to case", "[admin][api]") {
  Endpoint e;
  e.loopback = false;
  e.token = "T";
  allowed(e, "POST", "bearer T");
  allowed(e, "POST", "BEARER T");
  Endpoint stats;
  stats.stats = true;
  stats.user = "admin";
  stats.password = "secret";
  allowed(stats, "GET", "basic YWRtaW46c2VjcmV0");
}

Endpoint stats_endpoint() {
  Endpoint e;
  e.stats = true;
  e.user = "admin";
  e.password = "secret";
  e.realm = "HAProxy Statistics";
  return e;
}

TEST_CASE("a stats endpoint with stats auth needs Basic credentials to read", "[admin][api]") {
  Endpoint e = stats_endpoint();
  allowed(e, "GET", basic("admin:secret"));
  allowed(e, "HEAD", basic("admin:secret"));
  const Response missing = refused(e, "GET", "", 401);
  CHECK(header(missing, "WWW-Authenticate") == "Basic realm=\"HAProxy Statistics\"");
  CHECK(body(missing)["error"] == "this stats page needs its user and password (stats auth)");
  for (const std::string& wrong :
       {basic("admin:Secret"), basic("admin:secret "), basic("admin:secre"), basic("Admin:secret"),
        basic("admin:secret:x"), basic("admin"), basic(":secret"), basic(""),
        std::string("Bearer secret")}) {
    const Response r = refused(e, "GET", wrong, 401);
    CHECK(header(r, "WWW-Authenticate") == "Basic realm=\"HAProxy Statistics\"");
  }
  // Loopback does not open a stats section.
  e.loopback = true;
  refused(e, "GET", "", 401);
}

TEST_CASE("a stats endpoint without stats auth is open for reads", "[admin][api]") {
  Endpoint e;
  e.stats = true;
  e.loopback = false;
  allowed(e, "GET", "");
  allowed(e, "GET", "Basic !!!");
}

TEST_CASE("a stats endpoint reads with the admin token too", "[admin][api]") {
  Endpoint e = stats_endpoint();
  e.token = "T";
  allowed(e, "GET", "Bearer T");
  refused(e, "GET", "Bearer U", 401);
}

TEST_CASE("changes through a stats endpoint need stats admin and its credentials", "[admin][api]") {
  Endpoint e = stats_endpoint();
  e.stats_admin = true;
  allowed(e, "POST", basic("admin:secret"));
  allowed(e, "PATCH", basic("admin:secret"));
  allowed(e, "DELETE", basic("admin:secret"));
  const Response missing = refused(e, "POST", "", 401);
  CHECK(header(missing, "WWW-Authenticate") == "Basic realm=\"HAProxy Statistics\"");
  CHECK(body(missing)["error"] == "changes need the stats user and password");
  refused(e, "DELETE", basic("admin:wrong"), 401);
  refused(e, "PATCH", "Bearer secret", 401);
}

TEST_CASE("a stats endpoint with stats admin and no auth takes changes from anyone",
          "[admin][api]") {
  Endpoint e;
  e.stats = true;
  e.stats_admin = true;
  e.loopback = false;
  allowed(e, "POST", "");
  allowed(e, "DELETE", "Basic garbage");
}

TEST_CASE("without stats admin a stats endpoint forbids changes unless the token is given",
          "[admin][api]") {
  Endpoint e = stats_endpoint();
  const Response creds = refused(e, "POST", basic("admin:secret"), 403);
  CHECK(body(creds)["error"] == "changes need 'stats admin if TRUE' on this stats section");
  refused(e, "PATCH", "", 403);

  e.token = "T";
  const Response with_token = refused(e, "POST", basic("admin:secret"), 403);
  CHECK(body(with_token)["error"] == "changes need 'stats admin if TRUE' or the admin token");
  allowed(e, "POST", "Bearer T");
  allowed(e, "DELETE", "Bearer T");
  refused(e, "DELETE", "Bearer t", 403);

  // Even on loopback.
  e.loopback = true;
  refused(e, "POST", "", 403);
}

TEST_CASE("malformed Basic values are refused and never crash", "[admin][api]") {
  Endpoint e = stats_endpoint();
  e.stats_admin = true;
  const std::vector<std::string> values = {
      "Basic",
      "Basic ",
      "Basic !!!!",
      "Basic YWRtaW46c2VjcmV0!",  // a bad character at the end
      "Basic YWRtaW46c2VjcmV",    // not a multiple of 4
      "Basic YWRtaW4=",           // "admin": no colon
      "Basic Og==",               // ":": both empty
      "Basic ====",
      "Basic YWRtaW46c2VjcmV0====",
      "Basic YWRtaW46c2VjcmV0AA==",  // "admin:secret" and a NUL
      "Basic =YWRtaW46c2VjcmV0",
      "Basic YWRt aW46c2VjcmV0",
      "Basic  YWRtaW46c2VjcmV0",  // two spaces
      "Basic YWRtaW46c2VjcmV0 ",
      "Basic AAAA",  // three NUL bytes
      "Basic " + std::string(2000, 'A'),
      "Basic " + std::string(1024, '='),
      std::string("Basic \0\0\0\0", 10),
      std::string("Basic YWRtaW46c2VjcmV0", 21),  // cut short
      "Basic\tYWRtaW46c2VjcmV0",
      "YWRtaW46c2VjcmV0",
  };
  for (const std::string& v : values) {
    for (const char* method : {"GET", "POST"}) {
      INFO("value of " << v.size() << " bytes");
      refused(e, method, v, 401);
    }
  }
}

TEST_CASE("Basic credentials whose password holds a colon or any byte compare exactly",
          "[admin][api]") {
  Endpoint e = stats_endpoint();
  e.password = "se:cr\xc3\xa9t";
  allowed(e, "GET", basic("admin:se:cr\xc3\xa9t"));
  refused(e, "GET", basic("admin:se:cr"), 401);
  refused(e, "GET", basic("admin:secret"), 401);
}

}  // namespace
}  // namespace mqlb::lb::admin
