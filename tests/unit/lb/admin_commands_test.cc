// The runtime socket's commands (lb/admin/commands.h) over a real snapshot
// built by build_runtime (literal addresses, no sockets) and an Admin that
// records what it is asked.
#include "lb/admin/commands.h"

#include <catch2/catch.hpp>
#include <sstream>

namespace mqlb::lb::admin {
namespace {

constexpr int64_t kStarted = 1'700'000'000'000;
constexpr int64_t kNow = kStarted + 90'061'000;  // 1 day, 1 h, 1 min, 1 s later

class FakeAdmin final : public Admin {
 public:
  // `unresolved`: a third backend "spare" whose server u1 has a host name
  // and init-addr none, so it starts without an address, in maintenance.
  explicit FakeAdmin(bool unresolved = false) : registry(2) {
    conf::Config config;
    config.global.log.clear();
    config.global.maxconn = 500;
    conf::Frontend f;
    f.name = "mqtt";
    conf::Bind bind;
    bind.host = "127.0.0.1";
    bind.port = 1883;
    f.binds.push_back(bind);
    f.default_backend = "mqtt";
    f.maxconn = 100;
    config.frontends.push_back(f);
    conf::Backend b;
    b.name = "mqtt";
    b.balance = conf::Balance::LeastConn;
    conf::Server b1;
    b1.name = "b1";
    b1.address = "127.0.0.1";
    b1.port = 1884;
    b1.weight = 10;
    b1.check.enabled = true;
    conf::Server b2;
    b2.name = "b2";
    b2.address = "127.0.0.2";
    b2.port = 1885;
    b2.maxconn = 20;
    b2.backup = true;
    b.servers = {b1, b2};
    config.backends.push_back(b);
    conf::Backend other;
    other.name = "other";
    conf::Server o1;
    o1.name = "o1";
    o1.address = "::1";
    o1.port = 1886;
    other.servers = {o1};
    config.backends.push_back(other);
    if (unresolved) {
      conf::Backend spare;
      spare.name = "spare";
      conf::Server u1;
      u1.name = "u1";
      u1.address = "broker.invalid";
      u1.port = 1887;
      u1.resolve.init_addr = {{conf::ServerResolve::Method::None, {}}};
      spare.servers = {u1};
      config.backends.push_back(spare);
    }
    std::vector<std::string> errors;
    rt = build_runtime(config, registry, errors);
    REQUIRE(errors.empty());
    REQUIRE(rt);
    info_.version = "0.1.0";
    info_.pid = 4242;
    info_.started_unix_ms = kStarted;
    info_.workers = 2;
  }

  const Runtime& runtime() const override { return *rt; }
  Info info() const override { return info_; }
  Outcome change(const Change& c) override {
    changes.push_back(c);
    return outcome;
  }
  std::vector<std::string> reload(const std::string& trigger) override {
    reloads.push_back(trigger);
    return reload_errors;
  }

  const Server& server(size_t backend, size_t index) const {
    return *rt->backends[backend]->servers[index];
  }

  StateRegistry registry;
  std::shared_ptr<Runtime> rt;
  Info info_;
  Outcome outcome;
  std::vector<Change> changes;
  std::vector<std::string> reloads;
  std::vector<std::string> reload_errors;
};

// One line at the admin level, without interactive mode.
std::string run(FakeAdmin& a, std::string_view line, Level level = Level::Admin) {
  CommandSession session;
  return run_line(line, a, level, session, kNow);
}

const SetServer& only_set(const FakeAdmin& a) {
  REQUIRE(a.changes.size() == 1);
  REQUIRE(std::holds_alternative<SetServer>(a.changes[0]));
  return std::get<SetServer>(a.changes[0]);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// The lines of an answer, without the empty ones the prompt ends it with.
std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out = split(s, '\n');
  while (!out.empty() && out.back().empty())
    out.pop_back();
  return out;
}

TEST_CASE("parse_level reads the three levels of stats socket", "[admin][commands]") {
  CHECK(parse_level("user") == Level::User);
  CHECK(parse_level("operator") == Level::Operator);
  CHECK(parse_level("admin") == Level::Admin);
  CHECK_FALSE(parse_level("root"));
  CHECK_FALSE(parse_level(""));
}

TEST_CASE("set server state sets only the admin state", "[admin][commands]") {
  for (auto [word, state] :
       {std::pair{"ready", AdminState::Ready}, std::pair{"drain", AdminState::Drain},
        std::pair{"maint", AdminState::Maint}}) {
    FakeAdmin a;
    CHECK(run(a, std::string("set server mqtt/b1 state ") + word) == "\n");
    const SetServer& c = only_set(a);
    CHECK(c.backend == "mqtt");
    CHECK(c.server == "b1");
    ServerOverride want;
    want.admin = state;
    CHECK(c.patch.set == want);
    CHECK_FALSE(c.patch.clear_admin);
    CHECK_FALSE(c.patch.clear_weight);
    CHECK_FALSE(c.patch.clear_address);
  }
}

TEST_CASE("enable server and disable server are state ready and state maint", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "enable server mqtt/b2") == "\n");
  CHECK(run(a, "disable server other/o1") == "\n");
  REQUIRE(a.changes.size() == 2);
  const auto& e = std::get<SetServer>(a.changes[0]);
  CHECK(e.backend == "mqtt");
  CHECK(e.server == "b2");
  CHECK(e.patch.set.admin == AdminState::Ready);
  CHECK_FALSE(e.patch.set.weight);
  const auto& d = std::get<SetServer>(a.changes[1]);
  CHECK(d.backend == "other");
  CHECK(d.server == "o1");
  CHECK(d.patch.set.admin == AdminState::Maint);
}

TEST_CASE("set server weight takes 0..256, 0% and 100%", "[admin][commands]") {
  SECTION("absolute") {
    FakeAdmin a;
    CHECK(run(a, "set server mqtt/b1 weight 256") == "\n");
    const SetServer& c = only_set(a);
    ServerOverride want;
    want.weight = 256;
    CHECK(c.patch.set == want);
    CHECK_FALSE(c.patch.clear_weight);
  }
  SECTION("zero") {
    FakeAdmin a;
    CHECK(run(a, "set server mqtt/b1 weight 0") == "\n");
    CHECK(only_set(a).patch.set.weight == 0u);
  }
  SECTION("0% is weight 0") {
    FakeAdmin a;
    CHECK(run(a, "set server mqtt/b1 weight 0%") == "\n");
    CHECK(only_set(a).patch.set.weight == 0u);
  }
  SECTION("100% goes back to the file's weight") {
    FakeAdmin a;
    CHECK(run(a, "set server mqtt/b1 weight 100%") == "\n");
    const SetServer& c = only_set(a);
    CHECK(c.patch.clear_weight);
    CHECK(c.patch.set.empty());
  }
  SECTION("set weight is the same") {
    FakeAdmin a;
    CHECK(run(a, "set weight mqtt/b2 7") == "\n");
    const SetServer& c = only_set(a);
    CHECK(c.backend == "mqtt");
    CHECK(c.server == "b2");
    CHECK(c.patch.set.weight == 7u);
    CHECK_FALSE(c.patch.set.admin);
  }
}

TEST_CASE("a malformed weight is refused with what was given", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "set server mqtt/b1 weight x") == "weight must be 0..256, got 'x'\n\n");
  CHECK(run(a, "set server mqtt/b1 weight 257") == "weight must be 0..256, got '257'\n\n");
  CHECK(run(a, "set server mqtt/b1 weight -1") == "weight must be 0..256, got '-1'\n\n");
  CHECK(run(a, "set server mqtt/b1 weight 1x") == "weight must be 0..256, got '1x'\n\n");
  CHECK(run(a, "set server mqtt/b1 weight") == "weight must be 0..256, got ''\n\n");
  CHECK(run(a, "set weight mqtt/b1") == "weight must be 0..256, got ''\n\n");
  CHECK(run(a, "set weight mqtt/b1 99999999999") == "weight must be 0..256, got '99999999999'\n\n");
  CHECK(run(a, "set server mqtt/b1 weight 50%") ==
        "relative weight '50%' is not supported: mqlb takes 0%, 100% (the configuration "
        "file's weight) or an absolute weight 0..256\n\n");
  CHECK(run(a, "set server mqtt/b1 weight x%") ==
        "relative weight must be a number and '%', got 'x%'\n\n");
  CHECK(run(a, "set server mqtt/b1 weight 5 6") ==
        "'set server mqtt/b1 weight 5': unexpected '6'\n\n");
  CHECK(run(a, "set weight mqtt/b1 5 6") == "'set weight mqtt/b1 5': unexpected '6'\n\n");
  CHECK(a.changes.empty());
}

TEST_CASE("a malformed state is refused", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "set server mqtt/b1 state up") ==
        "state must be ready, drain or maint, got 'up'\n\n");
  CHECK(run(a, "set server mqtt/b1 state") == "state must be ready, drain or maint, got ''\n\n");
  CHECK(run(a, "set server mqtt/b1 state ready now") ==
        "'set server mqtt/b1 state ready': unexpected 'now'\n\n");
  CHECK(run(a, "enable server mqtt/b1 now") == "'enable server mqtt/b1': unexpected 'now'\n\n");
  CHECK(run(a, "disable server mqtt/b1 now") == "'disable server mqtt/b1': unexpected 'now'\n\n");
  CHECK(a.changes.empty());
}

TEST_CASE("set server addr sets the address and the port and reports as HAProxy",
          "[admin][commands]") {
  SECTION("address and port") {
    FakeAdmin a;
    CHECK(run(a, "set server mqtt/b1 addr 127.0.0.9 port 1999") ==
          "IP changed from '127.0.0.1' to '127.0.0.9', port changed from '1884' to '1999' by "
          "'stats socket command'\n\n");
    const SetServer& c = only_set(a);
    ServerOverride want;
    want.address = "127.0.0.9";
    want.port = 1999;
    CHECK(c.patch.set == want);
    CHECK_FALSE(c.patch.clear_address);
  }
  SECTION("address only") {
    FakeAdmin a;
    CHECK(run(a, "set server mqtt/b1 addr broker.example") ==
          "IP changed from '127.0.0.1' to 'broker.example' by 'stats socket command'\n\n");
    const SetServer& c = only_set(a);
    CHECK(c.patch.set.address == "broker.example");
    CHECK_FALSE(c.patch.set.port);
  }
  SECTION("the same address and port") {
    FakeAdmin a;
    CHECK(run(a, "set server mqtt/b1 addr 127.0.0.1 port 1884") ==
          "no need to change the addr, no need to change the port by 'stats socket "
          "command'\n\n");
    CHECK(a.changes.size() == 1);
  }
  SECTION("the admin's error instead of the report") {
    FakeAdmin a;
    a.outcome = Outcome::bad("address", "'nowhere.invalid' does not resolve");
    CHECK(run(a, "set server mqtt/b1 addr nowhere.invalid") ==
          "'nowhere.invalid' does not resolve\n\n");
  }
}

TEST_CASE("a malformed addr is refused", "[admin][commands]") {
  FakeAdmin a;
  const std::string needs =
      "'set server mqtt/b1 addr' needs an address, e.g. 'set server mqtt/b1 addr 10.0.0.5 "
      "port 1883'\n\n";
  CHECK(run(a, "set server mqtt/b1 addr") == needs);
  CHECK(run(a, "set server mqtt/b1 addr \"\"") != needs);  // quotes are not special
  a.changes.clear();
  CHECK(run(a, "set server mqtt/b1 addr 127.0.0.9 port") == "port must be 1..65535, got ''\n\n");
  CHECK(run(a, "set server mqtt/b1 addr 127.0.0.9 port 0") == "port must be 1..65535, got '0'\n\n");
  CHECK(run(a, "set server mqtt/b1 addr 127.0.0.9 port 65536") ==
        "port must be 1..65535, got '65536'\n\n");
  CHECK(run(a, "set server mqtt/b1 addr 127.0.0.9 port +1") ==
        "port must be 1..65535, got '+1'\n\n");
  CHECK(run(a, "set server mqtt/b1 addr 127.0.0.9 1999") ==
        "'set server mqtt/b1 addr 127.0.0.9': unexpected '1999'\n\n");
  CHECK(run(a, "set server mqtt/b1 addr 127.0.0.9 port 1999 x") ==
        "'set server mqtt/b1 addr 127.0.0.9 port 1999': unexpected 'x'\n\n");
  CHECK(a.changes.empty());
}

TEST_CASE("set server with an unknown or missing setting is refused", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "set server mqtt/b1 health up") ==
        "'set server mqtt/b1 health': mqlb can set a server's state, weight or addr (not "
        "HAProxy's agent, agent-addr, agent-port, agent-send, check-addr, check-port, fqdn, "
        "health or ssl)\n\n");
  CHECK(run(a, "set server mqtt/b1") ==
        "'set server mqtt/b1': expects state, weight or addr, e.g. 'set server mqtt/b1 state "
        "drain'\n\n");
  CHECK(a.changes.empty());
}

TEST_CASE("a server is named as backend/server of the snapshot", "[admin][commands]") {
  FakeAdmin a;
  for (std::string cmd : {"set server", "set weight", "enable server", "disable server",
                          "del server", "add server", "get weight"}) {
    INFO(cmd);
    CHECK(run(a, cmd) == "'" + cmd + "': expects <backend>/<server>\n\n");
    CHECK(run(a, cmd + " mqtt") == "'mqtt': expects <backend>/<server>\n\n");
    CHECK(run(a, cmd + " /b1") == "'/b1': expects <backend>/<server>\n\n");
    CHECK(run(a, cmd + " mqtt/") == "'mqtt/': expects <backend>/<server>\n\n");
    CHECK(run(a, cmd + " nope/b1 x") == "'" + cmd + " nope/b1': no such backend\n\n");
    if (cmd != "add server")
      CHECK(run(a, cmd + " mqtt/b9 x") == "'" + cmd + " mqtt/b9': no such server\n\n");
  }
  CHECK(a.changes.empty());
}

TEST_CASE("the admin's error is printed as its text", "[admin][commands]") {
  FakeAdmin a;
  a.outcome = Outcome::bad("weight", "backend 'mqtt' uses static-rr: weights are 0 or 100%");
  CHECK(run(a, "set server mqtt/b1 weight 3") ==
        "backend 'mqtt' uses static-rr: weights are 0 or 100%\n\n");
  a.outcome = {409, "server 'mqtt/b1' is already being removed", ""};
  CHECK(run(a, "del server mqtt/b1") == "server 'mqtt/b1' is already being removed\n\n");
  CHECK(run(a, "enable server mqtt/b1") == "server 'mqtt/b1' is already being removed\n\n");
}

TEST_CASE("changes and reload need the admin level", "[admin][commands]") {
  FakeAdmin a;
  for (Level level : {Level::User, Level::Operator}) {
    for (const char* cmd :
         {"set server mqtt/b1 state maint", "set weight mqtt/b1 3", "enable server mqtt/b1",
          "disable server mqtt/b1", "add server mqtt/b3 127.0.0.3:1887", "del server mqtt/b1",
          "reload", "set server nope/b1 state maint", "del server"}) {
      INFO(cmd);
      CHECK(run(a, cmd, level) == "Permission denied\n\n");
    }
  }
  CHECK(a.changes.empty());
  CHECK(a.reloads.empty());
}

TEST_CASE("reads are allowed at the user level", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "show info", Level::User).rfind("Name: mqlb\n", 0) == 0);
  CHECK(run(a, "show stat", Level::User).rfind("# pxname,svname,", 0) == 0);
  CHECK(run(a, "show servers state", Level::User).rfind("1\n# be_id ", 0) == 0);
  CHECK(run(a, "show sess", Level::User).rfind("# live sessions", 0) == 0);
  CHECK(run(a, "help", Level::User).rfind("The following commands", 0) == 0);
}

TEST_CASE("add server parses the options as a haproxy.cfg server line", "[admin][commands]") {
  FakeAdmin a;
  a.outcome = {201, "", ""};
  CHECK(run(a, "add server mqtt/b3 127.0.0.5:1890 check inter 5s rise 4 weight 7 maxconn 3") ==
        "New server registered.\n\n");
  REQUIRE(a.changes.size() == 1);
  REQUIRE(std::holds_alternative<AddServer>(a.changes[0]));
  const AddServer& c = std::get<AddServer>(a.changes[0]);
  CHECK(c.backend == "mqtt");
  CHECK(c.server.name == "b3");
  CHECK(c.server.address == "127.0.0.5");
  CHECK(c.server.port == 1890);
  CHECK(c.server.weight == 7);
  CHECK(c.server.maxconn == 3);
  CHECK(c.server.check.enabled);
  CHECK(c.server.check.inter == std::chrono::seconds(5));
  CHECK(c.server.check.rise == 4);
  CHECK(c.server.disabled);  // HAProxy 2.6: in maintenance until `enable server`
  CHECK_FALSE(c.server.backup);
}

TEST_CASE("add server takes a host name and no options", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "add server other/o2 broker.example:1883") == "New server registered.\n\n");
  REQUIRE(a.changes.size() == 1);
  const AddServer& c = std::get<AddServer>(a.changes[0]);
  CHECK(c.backend == "other");
  CHECK(c.server.address == "broker.example");
  CHECK(c.server.port == 1883);
  CHECK(c.server.weight == 1);
}

TEST_CASE("add server refuses what the config loader refuses, without the synthetic place",
          "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "add server mqtt/b3 127.0.0.5:1890 weight 300") ==
        "'server mqtt/b3' : weight of server b3 is not within 0 and 256 (300).\n\n");
  CHECK(run(a, "add server mqtt/b3 127.0.0.5:1890 bogus-keyword") ==
        "'server mqtt/b3' : unknown keyword 'bogus-keyword'.\n\n");
  CHECK(run(a, "add server mqtt/b3 127.0.0.5") ==
        "'server mqtt/b3' : mqlb needs a port in '127.0.0.5', e.g. '127.0.0.5:1883'\n\n");
  // A quote in a word stays a quote: the loader sees the word as typed.
  CHECK(run(a, "add server mqtt/b3 127.0.0.5:1890 weight 'x") ==
        "'server mqtt/b3' : weight of server b3 is not within 0 and 256 ('x).\n\n");
  // The loader's warnings about the synthetic frontend and backend (no
  // timeouts) are not the operator's.
  CHECK(run(a, "add server mqtt/b3 127.0.0.5:1890") == "New server registered.\n\n");
  a.changes.clear();
  // Those about the server line are, before the answer.
  CHECK(run(a, "add server mqtt/b3 127.0.0.5:1890 check-ssl") ==
        "'server mqtt/b3' : 'check-ssl' has no effect without 'check'.\n"
        "New server registered.\n\n");
  a.changes.clear();
  CHECK(a.changes.empty());
}

TEST_CASE("add server refuses a taken name and a missing address", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "add server mqtt/b1 127.0.0.5:1890") ==
        "'add server mqtt/b1': backend 'mqtt' already has a server 'b1'\n\n");
  CHECK(run(a, "add server mqtt/b3") ==
        "'add server mqtt/b3' needs an address, e.g. 'add server mqtt/b3 10.0.0.5:1883 "
        "check'\n\n");
  CHECK(a.changes.empty());
  a.outcome = {409, "backend 'mqtt' is being reloaded", ""};
  CHECK(run(a, "add server mqtt/b3 127.0.0.5:1890") == "backend 'mqtt' is being reloaded\n\n");
}

TEST_CASE("del server asks for the removal", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "del server mqtt/b2") == "Server deleted.\n\n");
  REQUIRE(a.changes.size() == 1);
  REQUIRE(std::holds_alternative<DelServer>(a.changes[0]));
  CHECK(std::get<DelServer>(a.changes[0]).backend == "mqtt");
  CHECK(std::get<DelServer>(a.changes[0]).server == "b2");
  CHECK(run(a, "del server mqtt/b2 now") == "'del server mqtt/b2': unexpected 'now'\n\n");
}

TEST_CASE("reload prints success or the errors one per line", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "reload") == "Success=1\n\n");
  REQUIRE(a.reloads == std::vector<std::string>{"runtime socket"});
  a.reload_errors = {"haproxy.cfg:3: unknown keyword 'bogus'", "haproxy.cfg:9: bad port"};
  CHECK(run(a, "reload") ==
        "Success=0\n--\nhaproxy.cfg:3: unknown keyword 'bogus'\nhaproxy.cfg:9: bad port\n\n");
  CHECK(run(a, "reload now") == "'reload': unexpected 'now'\n\n");
  CHECK(a.reloads.size() == 2);
}

TEST_CASE("prompt toggles interactive mode and its prompt", "[admin][commands]") {
  FakeAdmin a;
  CommandSession s;
  CHECK(run_line("prompt", a, Level::Admin, s, kNow) == "\n> ");
  CHECK(s.prompt);
  CHECK_FALSE(s.quit);
  CHECK(run_line("set server mqtt/b1 state drain", a, Level::Admin, s, kNow) == "\n> ");
  CHECK(run_line("set weight mqtt/b1 x", a, Level::Admin, s, kNow) ==
        "weight must be 0..256, got 'x'\n\n> ");
  CHECK(run_line("prompt", a, Level::Admin, s, kNow) == "\n");
  CHECK_FALSE(s.prompt);
}

TEST_CASE("several commands on a line separated by semicolons run in order", "[admin][commands]") {
  FakeAdmin a;
  CommandSession s;
  CHECK(run_line("set server mqtt/b1 state drain;set weight mqtt/b2 4 ; enable server other/o1", a,
                 Level::Admin, s, kNow) == "\n\n\n");
  REQUIRE(a.changes.size() == 3);
  CHECK(std::get<SetServer>(a.changes[0]).patch.set.admin == AdminState::Drain);
  CHECK(std::get<SetServer>(a.changes[1]).patch.set.weight == 4u);
  CHECK(std::get<SetServer>(a.changes[2]).server == "o1");
  // A prompt switched on mid-line applies to the commands after it.
  CHECK(run_line("set weight mqtt/b2 4;prompt;set weight mqtt/b2 5", a, Level::Admin, s, kNow) ==
        "\n\n> \n> ");
}

TEST_CASE("a backslash escapes a semicolon, a space and itself", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "show servers state mqtt\\;x") ==
        "'show servers state mqtt;x': no such backend\n\n");
  CHECK(run(a, "show servers state mq\\ tt") == "'show servers state mq tt': no such backend\n\n");
  CHECK(run(a, "show servers state a\\\\b") == "'show servers state a\\b': no such backend\n\n");
  CHECK(run(a, "set\tserver  mqtt/b1\tstate   drain  ") == "\n");
  CHECK(run(a, "enable server mqtt/b1\r") == "\n");
  CHECK(a.changes.size() == 2);
}

TEST_CASE("quit stops the line and closes without a prompt", "[admin][commands]") {
  FakeAdmin a;
  CommandSession s;
  const std::string out =
      run_line("set weight mqtt/b1 3;quit;set weight mqtt/b1 4", a, Level::Admin, s, kNow);
  CHECK(out == "\n");
  CHECK(s.quit);
  CHECK(a.changes.size() == 1);
  CommandSession p{true, false};
  CHECK(run_line("quit", a, Level::Admin, p, kNow).empty());
  CHECK(p.quit);
}

TEST_CASE("help lists every command, then help, prompt and quit", "[admin][commands]") {
  FakeAdmin a;
  const std::string out = run(a, "help");
  const auto l = lines(out);
  REQUIRE(l.size() == 18);
  CHECK(l[0] == "The following commands are valid at this level:");
  CHECK(l[1].rfind("  add server <bk>/<srv> <addr> [args]*    : ", 0) == 0);
  CHECK(l[2].rfind("  del server <bk>/<srv>                   : ", 0) == 0);
  CHECK(l[3].rfind("  disable server <bk>/<srv>               : ", 0) == 0);
  CHECK(l[4].rfind("  enable server <bk>/<srv>                : ", 0) == 0);
  CHECK(l[5].rfind("  get weight <bk>/<srv>                   : ", 0) == 0);
  CHECK(l[6].rfind("  reload                                  : ", 0) == 0);
  CHECK(l[7].rfind("  set server <bk>/<srv> [opts]            : ", 0) == 0);
  CHECK(l[8].rfind("  set weight <bk>/<srv> <w>|0%|100%       : ", 0) == 0);
  CHECK(l[9] ==
        "  show backend                            : list backends in the current running "
        "config");
  CHECK(l[10].rfind("  show info                               : ", 0) == 0);
  CHECK(l[11].rfind("  show servers state [<backend>]          : ", 0) == 0);
  CHECK(l[12].rfind("  show sess                               : ", 0) == 0);
  CHECK(l[13].rfind("  show stat [<iid> <type> <sid>] [no-maint|up]*: ", 0) == 0);
  CHECK(l[14] == "  show version                            : show version of the current process");
  CHECK(l[15] == "  help [<command>]                        : list matching or all commands");
  CHECK(l[16] == "  prompt                                  : toggle interactive mode with prompt");
  CHECK(l[17] == "  quit                                    : disconnect");
  CHECK(out.substr(out.size() - 2) == "\n\n");
  // Where mqlb differs, the help says so.
  CHECK(l[1].find("in maintenance until 'enable server'") != std::string::npos);
  CHECK(l[2].find("need not be in maintenance") != std::string::npos);
  CHECK(l[12].find("a summary") != std::string::npos);
}

TEST_CASE("help with words lists the matching commands", "[admin][commands]") {
  FakeAdmin a;
  const auto l = lines(run(a, "help show"));
  REQUIRE(l.size() == 10);
  CHECK(l[1].rfind("  show backend", 0) == 0);
  CHECK(l[6].rfind("  show version", 0) == 0);
  CHECK(lines(run(a, "help nothing-like-it")).size() == 18);
}

TEST_CASE("an unknown command answers with HAProxy's usage", "[admin][commands]") {
  FakeAdmin a;
  const auto empty = lines(run(a, ""));
  REQUIRE(empty.size() == 18);
  CHECK(empty[0] == "Unknown command. Please enter one of the following commands only:");
  const auto foo = lines(run(a, "foo"));
  REQUIRE(foo.size() == 18);
  CHECK(foo[0] == "Unknown command, but maybe one of the following ones is a better match:");
  const auto conn = lines(run(a, "show servers conn"));
  REQUIRE(conn.size() == 5);
  CHECK(conn[0] == "Unknown command, but maybe one of the following ones is a better match:");
  CHECK(conn[1].rfind("  show servers state", 0) == 0);
  CHECK(lines(run(a, "set foo")).size() == 6);  // set server, set weight
  CHECK(lines(run(a, "foo", Level::User))[0].rfind("Unknown command", 0) == 0);
  CHECK(a.changes.empty());
}

TEST_CASE("show info prints HAProxy's keys in HAProxy's order", "[admin][commands]") {
  FakeAdmin a;
  a.rt->process->active.take();
  a.rt->process->active.take();
  // Summed over the frontends (CumConns counts the denied connections too).
  auto& totals = a.rt->frontends[0]->state->totals;
  totals.at(0).sessions.add(38);
  totals.at(1).sessions.add(2);
  totals.at(1).denied.add(2);
  totals.at(1).bytes_out.add(1000);
  const std::string out = run(a, "show info");
  CHECK(out ==
        "Name: mqlb\n"
        "Version: 0.1.0\n"
        "Nbthread: 2\n"
        "Nbproc: 1\n"
        "Process_num: 1\n"
        "Pid: 4242\n"
        "Uptime: 1d 1h01m01s\n"
        "Uptime_sec: 90061\n"
        "Maxconn: " +
            std::to_string(a.rt->maxconn) +
            "\n"
            "CurrConns: 2\n"
            "CumConns: 42\n"
            "Stopping: 0\n"
            "Listeners: 1\n"
            "TotalBytesOut: 1000\n"
            "Start_time_sec: 1700000000\n\n");
  CHECK(run(a, "show info json") ==
        "'show info json': mqlb's show info has no options (HAProxy's desc, json, typed and "
        "float are not supported)\n\n");
}

// HAProxy 2.6's `show stat` header, as src/stats.c stat_fields and
// stats_dump_csv_header write it.
constexpr const char* kHaproxyHeader =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
    "wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,"
    "lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,"
    "hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,"
    "cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,"
    "ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,"
    "check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,"
    "conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,"
    "srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,"
    "used_conn_cur,need_conn_est,uweight,agg_server_check_status,-,";

// A CSV row by column name.
struct Row {
  std::vector<std::string> names, values;
  std::string operator[](std::string_view name) const {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return values.at(i);
    FAIL("no column " << name);
    return {};
  }
};

// A CSV line's fields: a quoted field may hold commas and doubled quotes.
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      out.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::vector<Row> csv_rows(const std::string& csv) {
  const auto l = lines(csv);
  REQUIRE(!l.empty());
  auto names = split(l[0].substr(2), ',');
  std::vector<Row> rows;
  for (size_t i = 1; i < l.size(); ++i) {
    INFO(l[i]);
    auto values = csv_fields(l[i]);
    REQUIRE(values.size() == names.size());
    rows.push_back({names, values});
  }
  return rows;
}

TEST_CASE("stat_csv's header is HAProxy 2.6's and each row has as many fields",
          "[admin][commands]") {
  FakeAdmin a;
  const std::string csv = stat_csv(*a.rt, 4242, kNow);
  CHECK(lines(csv)[0] == kHaproxyHeader);
  CHECK(split(kHaproxyHeader, ',').size() == 103);  // 101 fields, "-", and after the last ','
  const auto rows = csv_rows(csv);
  REQUIRE(rows.size() == 6);
  // A proxy's rows together, the listen-like frontend and backend "mqtt" first.
  CHECK(rows[0]["pxname"] == "mqtt");
  CHECK(rows[0]["svname"] == "FRONTEND");
  CHECK(rows[1]["svname"] == "b1");
  CHECK(rows[2]["svname"] == "b2");
  CHECK(rows[3]["svname"] == "BACKEND");
  CHECK(rows[4]["pxname"] == "other");
  CHECK(rows[4]["svname"] == "o1");
  CHECK(rows[5]["svname"] == "BACKEND");
  for (const auto& r : rows)
    CHECK(r["-"] == "-");
}

TEST_CASE("stat_csv fills the counters mqlb keeps", "[admin][commands]") {
  FakeAdmin a;
  Frontend& f = *a.rt->frontends[0];
  f.state->active.take();
  f.state->totals.at(0).sessions.add(11);
  f.state->totals.at(1).sessions.add(1);
  f.state->totals.at(0).bytes_in.add(100);
  f.state->totals.at(1).bytes_out.add(200);
  f.state->totals.at(1).denied.add(2);  // closed at accept: connections, not sessions
  const Server& b1 = a.server(0, 0);
  b1.state->active.take();
  b1.state->active.take();
  b1.state->totals.at(0).sessions.add(5);
  b1.state->totals.at(0).bytes_in.add(50);
  b1.state->totals.at(1).bytes_out.add(60);
  b1.state->totals.at(0).connect_errors.add(3);
  b1.state->totals.at(1).retries.add(4);
  b1.state->totals.at(1).redispatches.add(2);
  b1.state->set_weight(10);
  health::ServerHealthView v;
  v.last_check.status = health::Status::L7Ok;
  v.last_check.code = 0;
  v.last_check.duration = std::chrono::milliseconds(12);
  v.last_check.info = "CONNACK, code 0";
  v.consecutive_failures = 1;
  v.down_transitions = 2;
  v.since_unix_ms = kNow - 30'000;
  b1.state->set_check_view(v);
  const Backend& b = *a.rt->backends[0];
  b.state->active.take();
  b.state->totals.at(0).sessions.add(7);
  b.state->totals.at(0).connect_errors.add(3);
  const Server& b2 = a.server(0, 1);
  b2.state->set_admin(AdminState::Maint);

  const auto rows = csv_rows(stat_csv(*a.rt, 4242, kNow));
  const Row& fe = rows[0];
  CHECK(fe["scur"] == "1");
  CHECK(fe["smax"].empty());
  CHECK(fe["slim"] == "100");
  CHECK(fe["stot"] == "12");
  CHECK(fe["bin"] == "100");
  CHECK(fe["bout"] == "200");
  CHECK(fe["status"] == "OPEN");
  CHECK(fe["pid"] == "4242");
  CHECK(fe["iid"] == "1");
  CHECK(fe["sid"] == "0");
  CHECK(fe["type"] == "0");
  CHECK(fe["mode"] == "tcp");
  CHECK(fe["conn_tot"] == "14");
  CHECK(fe["dcon"] == "2");
  CHECK(fe["dreq"].empty());

  const Row& s1 = rows[1];
  CHECK(s1["qcur"] == "0");
  CHECK(s1["scur"] == "2");
  CHECK(s1["slim"].empty());
  CHECK(s1["stot"] == "5");
  CHECK(s1["bin"] == "50");
  CHECK(s1["bout"] == "60");
  CHECK(s1["econ"] == "3");
  CHECK(s1["wretr"] == "4");
  CHECK(s1["wredis"] == "2");
  CHECK(s1["status"] == "UP 2/3");  // one check failed of fall 3
  CHECK(s1["weight"] == "10");
  CHECK(s1["act"] == "1");
  CHECK(s1["bck"] == "0");
  CHECK(s1["chkfail"].empty());
  CHECK(s1["chkdown"] == "2");
  CHECK(s1["lastchg"] == "30");
  CHECK(s1["iid"] == "1");
  CHECK(s1["sid"] == "1");
  CHECK(s1["lbtot"] == "5");
  CHECK(s1["type"] == "2");
  CHECK(s1["check_status"] == "L7OK");
  CHECK(s1["check_code"] == "0");
  CHECK(s1["check_duration"] == "12");
  CHECK(s1["last_chk"] == "CONNACK, code 0");
  CHECK(s1["check_rise"] == "2");
  CHECK(s1["check_fall"] == "3");
  CHECK(s1["check_health"] == "3");
  CHECK(s1["addr"] == "127.0.0.1:1884");
  CHECK(s1["uweight"] == "10");

  const Row& s2 = rows[2];
  CHECK(s2["status"] == "MAINT");
  CHECK(s2["slim"] == "20");
  CHECK(s2["act"] == "0");
  CHECK(s2["bck"] == "1");
  CHECK(s2["sid"] == "2");
  CHECK(s2["check_status"].empty());
  CHECK(s2["lastchg"].empty());

  const Row& be = rows[3];
  CHECK(be["scur"] == "1");
  CHECK(be["stot"] == "7");
  CHECK(be["econ"] == "3");
  CHECK(be["status"] == "UP");
  CHECK(be["weight"] == "10");
  CHECK(be["act"] == "1");
  CHECK(be["bck"] == "0");
  CHECK(be["type"] == "1");
  CHECK(be["iid"] == "1");
  CHECK(be["algo"] == "leastconn");

  const Row& o1 = rows[4];
  CHECK(o1["status"] == "no check");
  CHECK(o1["addr"] == "[::1]:1886");
  CHECK(o1["iid"] == "2");
  CHECK(rows[5]["iid"] == "2");
  CHECK(rows[5]["algo"] == "roundrobin");
}

TEST_CASE("stat_csv quotes a field with a comma as one field", "[admin][commands]") {
  FakeAdmin a;
  health::ServerHealthView v;
  v.last_check.status = health::Status::L4Con;
  v.last_check.info = "Connection refused, \"really\"";
  a.server(0, 0).state->set_check_view(v);
  const std::string csv = stat_csv(*a.rt, 1, kNow);
  CHECK(csv.find(",\"Connection refused, \"\"really\"\"\",") != std::string::npos);
}

TEST_CASE("a backend with no usable server is DOWN in stat_csv", "[admin][commands]") {
  FakeAdmin a;
  a.server(1, 0).state->set_health(Health::Down);
  const auto rows = csv_rows(stat_csv(*a.rt, 1, kNow));
  CHECK(rows[4]["status"] == "DOWN");
  CHECK(rows[5]["status"] == "DOWN");
  CHECK(rows[5]["weight"] == "0");
  CHECK(rows[5]["act"] == "0");
}

TEST_CASE("show stat answers the CSV", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "show stat") == stat_csv(*a.rt, 4242, kNow) + "\n");
  CHECK(run(a, "show stat domain proxy") == stat_csv(*a.rt, 4242, kNow) + "\n");
}

// The svname column of each row `show stat ...` answers.
std::vector<std::string> stat_names(FakeAdmin& a, const std::string& cmd) {
  const std::string out = run(a, cmd);
  REQUIRE(out.rfind("# pxname,", 0) == 0);
  std::vector<std::string> names;
  for (const auto& r : csv_rows(out))
    names.push_back(r["pxname"] + "/" + r["svname"]);
  return names;
}

TEST_CASE("show stat selects by proxy, type and server as HAProxy's <iid> <type> <sid>",
          "[admin][commands]") {
  using V = std::vector<std::string>;
  FakeAdmin a;
  CHECK(stat_names(a, "show stat -1 4 -1") == V{"mqtt/b1", "mqtt/b2", "other/o1"});
  CHECK(stat_names(a, "show stat -1 1 -1") == V{"mqtt/FRONTEND"});
  CHECK(stat_names(a, "show stat -1 3 -1") == V{"mqtt/FRONTEND", "mqtt/BACKEND", "other/BACKEND"});
  CHECK(stat_names(a, "show stat 2 -1 -1") == V{"other/o1", "other/BACKEND"});
  CHECK(stat_names(a, "show stat other -1 -1") == V{"other/o1", "other/BACKEND"});
  CHECK(stat_names(a, "show stat mqtt 4 2") == V{"mqtt/b2"});
  CHECK(stat_names(a, "show stat 7 -1 -1").empty());
  CHECK(stat_names(a, "show stat domain proxy -1 2 -1 up") == V{"mqtt/BACKEND", "other/BACKEND"});
}

TEST_CASE("show stat no-maint and up leave out servers that cannot take sessions",
          "[admin][commands]") {
  using V = std::vector<std::string>;
  FakeAdmin a;
  a.server(0, 1).state->set_admin(AdminState::Maint);
  a.server(1, 0).state->set_health(Health::Down);
  CHECK(stat_names(a, "show stat -1 4 -1 no-maint") == V{"mqtt/b1", "other/o1"});
  CHECK(stat_names(a, "show stat -1 4 -1 up") == V{"mqtt/b1"});
  // A checked server that is down but passing checks is coming up: kept.
  a.server(0, 0).state->set_health(Health::Down);
  health::ServerHealthView v;
  v.consecutive_successes = 1;
  a.server(0, 0).state->set_check_view(v);
  CHECK(stat_names(a, "show stat -1 4 -1 up") == V{"mqtt/b1"});
  a.server(0, 0).state->set_check_view({});
  CHECK(stat_names(a, "show stat up").size() == 3);  // the FRONTEND and BACKEND rows
}

TEST_CASE("show stat refuses what it does not know", "[admin][commands]") {
  FakeAdmin a;
  CHECK(run(a, "show stat json") ==
        "'show stat json': mqlb has only the CSV format (not HAProxy's desc, json or typed)\n\n");
  CHECK(run(a, "show stat -1 4 -1 typed") ==
        "'show stat -1 4 -1 typed': mqlb has only the CSV format (not HAProxy's desc, json or "
        "typed)\n\n");
  CHECK(run(a, "show stat domain resolvers") ==
        "'show stat domain resolvers': mqlb has only the proxy domain\n\n");
  CHECK(run(a, "show stat domain") == "'show stat domain': mqlb has only the proxy domain\n\n");
  CHECK(run(a, "show stat nope 4 -1") == "'show stat nope': no such proxy\n\n");
  CHECK(run(a, "show stat 0 4 -1") == "'show stat 0': no such proxy\n\n");
  CHECK(run(a, "show stat -1 x -1") ==
        "type must be -1 or a sum of 1 (frontends), 2 (backends) and 4 (servers), got 'x'\n\n");
  CHECK(run(a, "show stat -1 4 b1") == "server id must be -1 or a number, got 'b1'\n\n");
  CHECK(run(a, "show stat -1 4") == "'show stat': unknown option '-1'\n\n");
  CHECK(run(a, "show stat up extra") == "'show stat up': unknown option 'extra'\n\n");
}

TEST_CASE("show servers state prints HAProxy's version 1 format", "[admin][commands]") {
  FakeAdmin a;
  health::ServerHealthView v;
  v.last_check.status = health::Status::L4Ok;
  v.since_unix_ms = kNow - 5'000;
  a.server(0, 0).state->set_check_view(v);
  a.server(0, 0).state->set_weight(8);
  a.server(0, 1).state->set_admin(AdminState::Maint);
  a.server(1, 0).state->set_admin(AdminState::Drain);
  const auto l = lines(run(a, "show servers state"));
  REQUIRE(l.size() == 5);
  CHECK(l[0] == "1");
  CHECK(l[1] ==
        "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
        "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
        "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
        "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
        "srv_agent_port");
  CHECK(split(l[1].substr(2), ' ').size() == 25);
  CHECK(l[2] == "1 mqtt 1 b1 127.0.0.1 2 0 8 10 5 6 3 4 6 0 0 0 - 1884 - 0 0 - - 0");
  CHECK(l[3] == "1 mqtt 2 b2 127.0.0.2 0 1 1 1 0 0 0 0 0 0 0 0 - 1885 - 0 0 - - 0");
  CHECK(l[4] == "2 other 1 o1 ::1 2 8 1 1 0 0 0 0 0 0 0 0 - 1886 - 0 0 - - 0");
  for (size_t i = 2; i < l.size(); ++i)
    CHECK(split(l[i], ' ').size() == 25);
}

TEST_CASE("a server failing or passing checks shows how far it is in stat_csv",
          "[admin][commands]") {
  FakeAdmin a;
  const Server& b1 = a.server(0, 0);
  b1.state->set_health(Health::Down);
  health::ServerHealthView v;
  v.last_check.status = health::Status::L4Ok;
  v.consecutive_successes = 1;
  b1.state->set_check_view(v);
  auto rows = csv_rows(stat_csv(*a.rt, 1, kNow));
  CHECK(rows[1]["status"] == "DOWN 1/2");
  CHECK(rows[1]["check_health"] == "1");
  CHECK(lines(run(a, "show servers state mqtt"))[2] ==
        "1 mqtt 1 b1 127.0.0.1 0 0 10 10 0 6 3 1 6 0 0 0 - 1884 - 0 0 - - 0");
  b1.state->set_health(Health::Up);
  v.consecutive_successes = 0;
  v.consecutive_failures = 2;
  b1.state->set_check_view(v);
  b1.state->set_admin(AdminState::Drain);
  rows = csv_rows(stat_csv(*a.rt, 1, kNow));
  CHECK(rows[1]["status"] == "DRAIN 1/3");
  CHECK(rows[1]["check_health"] == "2");
}

TEST_CASE("a server without an address is in maintenance for resolution", "[admin][commands]") {
  FakeAdmin a(true);
  const auto l = lines(run(a, "show servers state spare"));
  REQUIRE(l.size() == 3);
  CHECK(l[2] == "3 spare 1 u1 - 0 32 1 1 0 0 0 0 0 0 0 0 broker.invalid 1887 - 0 0 - - 0");
  const auto rows = csv_rows(stat_csv(*a.rt, 1, kNow));
  REQUIRE(rows.size() == 8);
  CHECK(rows[6]["svname"] == "u1");
  CHECK(rows[6]["status"] == "MAINT (resolution)");
  CHECK(rows[6]["addr"].empty());
  CHECK(rows[7]["status"] == "DOWN");
  CHECK(rows[7]["iid"] == "3");
}

TEST_CASE("show servers state takes one backend", "[admin][commands]") {
  FakeAdmin a;
  const auto l = lines(run(a, "show servers state other"));
  REQUIRE(l.size() == 3);
  CHECK(l[2].rfind("2 other 1 o1 ", 0) == 0);
  CHECK(run(a, "show servers state nope") == "'show servers state nope': no such backend\n\n");
  CHECK(run(a, "show servers state other x") == "'show servers state other': unexpected 'x'\n\n");
}

TEST_CASE("get weight, show backend and show version answer as HAProxy", "[admin][commands]") {
  FakeAdmin a;
  a.server(0, 0).state->set_weight(4);
  CHECK(run(a, "get weight mqtt/b1", Level::User) == "4 (initial 10)\n\n");
  CHECK(run(a, "get weight mqtt/b9") == "'get weight mqtt/b9': no such server\n\n");
  CHECK(run(a, "get weight mqtt") == "'mqtt': expects <backend>/<server>\n\n");
  CHECK(run(a, "get weight mqtt/b1 x") == "'get weight mqtt/b1': unexpected 'x'\n\n");
  CHECK(run(a, "show backend", Level::User) == "# name\nmqtt\nother\n\n");
  CHECK(run(a, "show backend x") == "'show backend': unexpected 'x'\n\n");
  CHECK(run(a, "show version", Level::User) == "0.1.0\n\n");
  CHECK(run(a, "show version x") == "'show version': unexpected 'x'\n\n");
}

TEST_CASE("show sess summarizes the live sessions", "[admin][commands]") {
  FakeAdmin a;
  a.rt->frontends[0]->state->active.take();
  a.rt->backends[0]->state->active.take();
  a.server(0, 0).state->active.take();
  CHECK(run(a, "show sess") ==
        "# live sessions: a summary, mqlb keeps no list of sessions\n"
        "frontend mqtt: 1\n"
        "backend mqtt: 1 (queued 0)\n"
        "server mqtt/b1: 1\n"
        "server mqtt/b2: 0\n"
        "backend other: 0 (queued 0)\n"
        "server other/o1: 0\n\n");
  CHECK(run(a, "show sess 0x1234") ==
        "'show sess 0x1234': mqlb keeps no list of sessions, so 'show sess' takes no "
        "argument\n\n");
}

}  // namespace
}  // namespace mqlb::lb::admin
