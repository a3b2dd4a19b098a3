// libFuzzer target: arbitrary requests to the admin REST API
// (lb/admin/api handle) over a small snapshot built by build_runtime, with
// an Admin that records changes as overrides and rebuilds the snapshot, as
// Control does; and the same bytes as an Authorization header through
// authorize() on each kind of endpoint.
//
// Input: byte 0 picks the method (kMethods), byte 1 the path (kPaths; one
// past the table: byte 2 is a length N and the next N bytes are the path);
// the rest is the body and the Authorization header.
//
// Besides what the sanitizers catch, a violation of the API's contract
// aborts, and libFuzzer keeps the input:
//   - every response is JSON ending with a newline, with a status the API
//     documents (200, 201, 400, 404, 405, 409), "error" on every error, an
//     Allow header on a 405 and a Location on a 201;
//   - a 201 or a successful PATCH answers with the server of the snapshot
//     the change built, by the name asked for;
//   - authorize() lets a request through or answers 401 (with a
//     WWW-Authenticate challenge) or 403; reads of the default endpoint are
//     always allowed, and a change off loopback only with the exact token.

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/json_loader.h"
#include "conf/names.h"
#include "lb/admin/admin.h"
#include "lb/admin/api.h"
#include "lb/admin/overrides.h"
#include "lb/runtime.h"

namespace {

namespace admin = mqlb::lb::admin;
namespace conf = mqlb::conf;
namespace lb = mqlb::lb;

constexpr const char* kFiles = R"({
  "global": {"log": [], "maxconn": 100},
  "frontends": [{"name": "mqtt", "bind": ["127.0.0.1:1883"], "default_backend": "mqtt"}],
  "backends": [
    {"name": "mqtt", "servers": [
      {"name": "b1", "address": "127.0.0.1", "port": 1884, "weight": 2},
      {"name": "b2", "address": "127.0.0.1", "port": 1885, "check": true}]},
    {"name": "other", "balance": "leastconn",
     "servers": [{"name": "o1", "address": "::1", "port": 1886}]}
  ]
})";

constexpr const char* kMethods[] = {"GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "get"};
constexpr const char* kPaths[] = {
    "/api/v1/info",
    "/api/v1/config",
    "/api/v1/frontends",
    "/api/v1/backends",
    "/api/v1/backends/mqtt",
    "/api/v1/backends/other",
    "/api/v1/backends/mqtt/servers",
    "/api/v1/backends/other/servers",
    "/api/v1/backends/mqtt/servers/b1",
    "/api/v1/backends/mqtt/servers/b2",
    "/api/v1/backends/other/servers/o1",
    "/api/v1/backends/nope/servers/b1",
    "/api/v1/reload",
};
constexpr size_t kPathCount = sizeof(kPaths) / sizeof(kPaths[0]);

[[noreturn]] void violated(const std::string& what, const admin::Request& q,
                           const admin::Response* r) {
  std::fprintf(stderr, "admin_api_fuzz: %s\n  %s %s\n  body: %s\n", what.c_str(), q.method.c_str(),
               q.path.c_str(), q.body.c_str());
  if (r) std::fprintf(stderr, "  -> %d %s\n", r->status, r->body.c_str());
  std::abort();
}

const conf::Config& files() {
  static const conf::Config c = [] {
    conf::LoadResult r = conf::load_json(kFiles, "mqlb.json");
    if (!r.config) std::abort();
    return *r.config;
  }();
  return c;
}

// Control's change() without the workers: record, apply, build. Host names
// are refused instead of resolved, so that no input waits on DNS.
class FakeAdmin final : public admin::Admin {
 public:
  FakeAdmin() : registry_(2) {
    std::vector<std::string> errors;
    runtime_ = lb::build_runtime(files(), registry_, errors);
    if (!runtime_ || !errors.empty()) std::abort();
  }

  const lb::Runtime& runtime() const override { return *runtime_; }
  admin::Info info() const override { return {"fuzz", 1, 0, 2, {}}; }

  admin::Outcome change(const admin::Change& c) override {
    admin::Overrides next = overrides_;
    admin::Outcome o = admin::record(next, c, runtime_->config);
    if (!o.ok()) return o;
    std::vector<std::string> notes, errors;
    const conf::Config config = admin::apply(files(), next, notes);
    for (const auto& b : config.backends)
      for (const auto& s : b.servers)
        if (!conf::is_ip_literal(s.address))
          return admin::Outcome::bad("address", "not resolved here");
    std::shared_ptr<lb::Runtime> rt = lb::build_runtime(config, registry_, errors);
    if (!rt || !errors.empty()) return admin::Outcome::bad({}, errors.empty() ? "" : errors[0]);
    overrides_ = std::move(next);
    retired_.push_back(std::move(runtime_));
    runtime_ = std::move(rt);
    return o;
  }

  std::vector<std::string> reload(const std::string&) override { return {}; }

 private:
  lb::StateRegistry registry_;
  std::shared_ptr<lb::Runtime> runtime_;
  std::vector<std::shared_ptr<lb::Runtime>> retired_;
  admin::Overrides overrides_;
};

const std::string* header(const admin::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return &v;
  return nullptr;
}

nlohmann::json checked_body(const admin::Request& q, const admin::Response& r) {
  if (r.content_type != "application/json") violated("not JSON", q, &r);
  if (r.body.empty() || r.body.back() != '\n') violated("a body without a final newline", q, &r);
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) violated("a body that does not parse", q, &r);
  return j;
}

void check_response(const admin::Request& q, const admin::Response& r, admin::Admin& a) {
  const nlohmann::json j = checked_body(q, r);
  switch (r.status) {
    case 200:
    case 201:
    case 400:
    case 404:
    case 405:
    case 409:
      break;
    default:
      violated("an undocumented status", q, &r);
  }
  if (r.status >= 300 && (!j.is_object() || !j.contains("error") || !j["error"].is_string()))
    violated("an error without \"error\"", q, &r);
  if (r.status == 405 && !header(r, "Allow")) violated("a 405 without Allow", q, &r);
  if (r.status == 201) {
    const std::string* location = header(r, "Location");
    if (!location) violated("a 201 without Location", q, &r);
    if (!j.is_object() || !j.contains("name") || !j["name"].is_string() ||
        !location->ends_with("/servers/" + j["name"].get<std::string>()))
      violated("a 201 whose Location is not the new server", q, &r);
  }
  // The server a change answers with is the new snapshot's.
  if ((r.status == 201 || (r.status == 200 && q.method == "PATCH"))) {
    const lb::Backend* b = admin::find_backend(a.runtime(), j.value("backend", ""));
    const lb::Server* s = b ? admin::find_server(*b, j.value("name", "")) : nullptr;
    if (!s) violated("a changed server that the snapshot lacks", q, &r);
    if (admin::server_json(*b, *s) != nlohmann::ordered_json::parse(r.body))
      violated("a changed server unlike the snapshot's", q, &r);
  }
}

void check_authorize(const admin::Endpoint& e, std::string_view method, std::string_view auth,
                     bool may_change) {
  const std::optional<admin::Response> r = admin::authorize(e, method, auth);
  const admin::Request q{std::string(method), "(authorize)", std::string(auth)};
  if (!r) {
    if (!may_change && method != "GET" && method != "HEAD")
      violated("a change allowed without the credentials", q, nullptr);
    return;
  }
  checked_body(q, *r);
  if (r->status != 401 && r->status != 403) violated("authorize: not 401 or 403", q, &*r);
  if (r->status == 401 && !header(*r, "WWW-Authenticate"))
    violated("a 401 without WWW-Authenticate", q, &*r);
}

}  // namespace

// The one header that carries the token: the scheme in any case (RFC 9110
// §11.1), one space, the token.
bool is_token(std::string_view auth) {
  if (auth.size() != 12 || auth.substr(6) != " T0k3n") return false;
  for (size_t i = 0; i < 6; ++i)
    if (std::tolower(static_cast<unsigned char>(auth[i])) != "bearer"[i]) return false;
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  admin::Request q;
  q.method = kMethods[uint8_t(in[0]) % std::size(kMethods)];
  const size_t pick = uint8_t(in[1]) % (kPathCount + 1);
  size_t at = 2;
  if (pick < kPathCount) {
    q.path = kPaths[pick];
  } else if (size > 2) {
    const size_t n = std::min<size_t>(uint8_t(in[2]), size - 3);
    q.path = std::string(in.substr(3, n));
    at = 3 + n;
  }
  q.body = std::string(in.substr(at));

  FakeAdmin a;
  const admin::Response r = admin::handle(q, a);
  check_response(q, r, a);
  // A second request sees the snapshot the first may have built.
  const admin::Request get{"GET", q.path, {}};
  check_response(get, admin::handle(get, a), a);

  const std::string_view auth = q.body;
  admin::Endpoint loopback;
  check_authorize(loopback, q.method, auth, true);
  if (q.method == "GET" || q.method == "HEAD")
    if (admin::authorize(loopback, q.method, auth)) violated("a read refused", q, nullptr);

  admin::Endpoint remote;
  remote.loopback = false;
  remote.token = "T0k3n";
  check_authorize(remote, q.method, auth, is_token(auth));

  admin::Endpoint stats;
  stats.stats = true;
  stats.user = "admin";
  stats.password = "secret";
  stats.stats_admin = true;
  // Basic YWRtaW46c2VjcmV0 is admin:secret; anything else that gets in is
  // another spelling of it, which check_authorize cannot tell, so only the
  // statuses are checked here.
  check_authorize(stats, q.method, auth, true);
  stats.stats_admin = false;
  stats.token = "T0k3n";
  check_authorize(stats, q.method, auth, is_token(auth));
  return 0;
}
