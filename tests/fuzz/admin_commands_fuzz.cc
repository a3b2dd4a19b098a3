// libFuzzer target: arbitrary bytes as what a client of the runtime socket
// sends, each '\n'-ended piece one line through lb::admin::run_line, against
// an Admin that records the changes over a small snapshot (two frontends, a
// backend named like one of them, a server with checks; literal addresses,
// so build_runtime needs no network). The first byte chooses the level
// (user, operator, admin), so that the refusals are fuzzed too.
//
// Besides what the sanitizers catch, each line checks the contract the
// transport relies on; a violation aborts, and libFuzzer keeps the input:
//   - an answer ends with the post-command prompt, "\n" or "\n> " as the
//     session's mode says, unless the line quit the session;
//   - below the admin level nothing is changed and nothing reloaded;
//   - a change names a backend of the snapshot, and a server of it except
//     for an added one, whose name is new, which has an address and starts
//     in maintenance;
//   - after "quit" the transport reads no more lines.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lb/admin/commands.h"

namespace {

using mqlb::lb::Backend;
using mqlb::lb::Runtime;
using mqlb::lb::StateRegistry;
using mqlb::lb::admin::AddServer;
using mqlb::lb::admin::Change;
using mqlb::lb::admin::CommandSession;
using mqlb::lb::admin::DelServer;
using mqlb::lb::admin::find_backend;
using mqlb::lb::admin::find_server;
using mqlb::lb::admin::Info;
using mqlb::lb::admin::Level;
using mqlb::lb::admin::Outcome;
using mqlb::lb::admin::run_line;
using mqlb::lb::admin::SetServer;

constexpr int64_t kNow = 1'700'000'090'000;

class FakeAdmin final : public mqlb::lb::admin::Admin {
 public:
  explicit FakeAdmin(std::shared_ptr<Runtime> rt) : rt_(std::move(rt)) {}
  const Runtime& runtime() const override { return *rt_; }
  Info info() const override { return {"0.1.0", 4242, kNow - 90'000, 2, ""}; }
  Outcome change(const Change& c) override {
    changes.push_back(c);
    return {};
  }
  std::vector<std::string> reload(const std::string&) override {
    ++reloads;
    return {"haproxy.cfg:1: a reload error"};
  }

  std::vector<Change> changes;
  int reloads = 0;

 private:
  std::shared_ptr<Runtime> rt_;
};

mqlb::conf::Server server(const char* name, const char* address, uint16_t port) {
  mqlb::conf::Server s;
  s.name = name;
  s.address = address;
  s.port = port;
  return s;
}

struct Fixture {
  std::unique_ptr<StateRegistry> registry = std::make_unique<StateRegistry>(2);
  std::shared_ptr<Runtime> rt;

  Fixture() {
    mqlb::conf::Config config;
    config.global.log.clear();
    for (const char* name : {"mqtt", "tls"}) {
      mqlb::conf::Frontend f;
      f.name = name;
      mqlb::conf::Bind bind;
      bind.host = "127.0.0.1";
      bind.port = name[0] == 'm' ? 1883 : 8883;
      f.binds.push_back(bind);
      f.default_backend = "mqtt";
      f.maxconn = 100;
      config.frontends.push_back(f);
    }
    mqlb::conf::Backend b;
    b.name = "mqtt";
    b.servers = {server("b1", "127.0.0.1", 1884), server("b2", "::1", 1885)};
    b.servers[0].check.enabled = true;
    b.servers[1].backup = true;
    config.backends.push_back(b);
    mqlb::conf::Backend other;
    other.name = "other";
    other.servers = {server("o1", "127.0.0.2", 1886)};
    config.backends.push_back(other);
    std::vector<std::string> errors;
    rt = build_runtime(config, *registry, errors);
    if (!rt || !errors.empty()) {
      std::fprintf(stderr, "admin_commands_fuzz: the snapshot did not build\n");
      std::abort();
    }
    mqlb::health::ServerHealthView v;
    v.last_check.status = mqlb::health::Status::L4Con;
    v.last_check.info = "Connection refused, \"at once\"";
    v.consecutive_failures = 1;
    rt->backends[0]->servers[0]->state->set_check_view(v);
  }
};

[[noreturn]] void violated(const char* what, std::string_view line, const std::string& out) {
  std::fprintf(stderr, "admin_commands_fuzz: %s\n  line: %.*s\n  answer: %s\n", what,
               int(line.size()), line.data(), out.c_str());
  std::abort();
}

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

void check_change(const Runtime& rt, const Change& c, std::string_view line,
                  const std::string& out) {
  if (const auto* s = std::get_if<SetServer>(&c)) {
    const Backend* b = find_backend(rt, s->backend);
    if (!b || !find_server(*b, s->server)) violated("a change to an unknown server", line, out);
  } else if (const auto* a = std::get_if<AddServer>(&c)) {
    const Backend* b = find_backend(rt, a->backend);
    if (!b) violated("a server added to an unknown backend", line, out);
    if (a->server.name.empty() || find_server(*b, a->server.name))
      violated("an added server without a new name", line, out);
    if (a->server.address.empty()) violated("an added server without an address", line, out);
    if (!a->server.disabled) violated("an added server not in maintenance", line, out);
  } else if (const auto* d = std::get_if<DelServer>(&c)) {
    const Backend* b = find_backend(rt, d->backend);
    if (!b || !find_server(*b, d->server)) violated("an unknown server deleted", line, out);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  if (size == 0) return 0;
  const Level level = data[0] % 3 == 0   ? Level::User
                      : data[0] % 3 == 1 ? Level::Operator
                                         : Level::Admin;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  FakeAdmin admin(fixture.rt);
  CommandSession session;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const size_t before = admin.changes.size();
    const std::string out = run_line(line, admin, level, session, kNow);
    if (!session.quit && !ends_with(out, session.prompt ? "\n> " : "\n"))
      violated("an answer without its prompt", line, out);
    if (level != Level::Admin && (admin.changes.size() != before || admin.reloads != 0))
      violated("a change below the admin level", line, out);
    for (size_t i = before; i < admin.changes.size(); ++i)
      check_change(*fixture.rt, admin.changes[i], line, out);
    if (session.quit) break;
  }
  return 0;
}
