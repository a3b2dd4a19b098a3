// The runtime socket (HAProxy's `stats socket`) through socat, with
// HAProxy's own command spellings, as existing scripts send them: each
// change is checked by where new sessions land, `show stat` is read by a
// CSV reader against HAProxy's header, levels and the socket's file mode
// are enforced, and the changes are kept in the state file.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"

using namespace mqlb::test;
using Json = nlohmann::json;

namespace {

// What socat prints for `line` sent to the socket at `path`.
std::string socat(TempDir& dir, const std::filesystem::path& path, const std::string& line) {
  const RunResult r = run(dir, "socat",
                          {"sh", "-c", "printf '%s\\n' \"$0\" | socat -t 5 - \"UNIX-CONNECT:$1\"",
                           line, path.string()});
  INFO(r.stderr_text);
  REQUIRE(r.exit_code == 0);
  return r.stdout_text;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(text);
  while (std::getline(in, field, sep))
    out.push_back(field);
  if (!text.empty() && text.back() == sep) out.push_back("");
  return out;
}

// `show stat` as rows of column name -> value, keyed by "pxname/svname".
std::map<std::string, std::map<std::string, std::string>> read_stat_csv(const std::string& csv) {
  std::istringstream in(csv);
  std::string line;
  REQUIRE(std::getline(in, line));
  REQUIRE(line.rfind("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,", 0) == 0);
  const std::vector<std::string> header = split(line.substr(2), ',');
  std::map<std::string, std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> fields = split(line, ',');
    REQUIRE(fields.size() == header.size());
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size(); ++i)
      row[header[i]] = fields[i];
    rows[fields[0] + "/" + fields[1]] = row;
  }
  return rows;
}

struct Setup {
  TempDir dir;
  ScriptedServer b1{scripts::echo()}, b2{scripts::echo()}, b3{scripts::echo()};
  std::filesystem::path admin_sock = dir.path() / "admin.sock";
  std::filesystem::path user_sock = dir.path() / "user.sock";
  Json config() {
    Json c = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
    c["global"]["admin"] = false;
    c["global"]["state_file"] = (dir.path() / "mqlb.state").string();
    c["global"]["runtime_sockets"] = {
        {{"path", admin_sock.string()}, {"mode", "600"}, {"level", "admin"}},
        {{"path", user_sock.string()}, {"level", "user"}}};
    return c;
  }
};

}  // namespace

TEST_CASE("the runtime socket takes HAProxy's commands through socat, and new sessions follow",
          "[integration][admin][runtime-socket]") {
  Setup t;
  Mqlb lb(t.dir, t.config());
  TempDir& dir = t.dir;
  struct stat st {};
  REQUIRE(::stat(t.admin_sock.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  Socket live = echoed_session(lb.port(), "on b1");

  CHECK(socat(dir, t.admin_sock, "set server mqtt/b1 state drain") == "\n");
  CHECK(echoed_sessions_per_server(lb, 3) == std::map<std::string, int>{{"b2", 3}});
  CHECK(socat(dir, t.admin_sock, "set server mqtt/b1 state ready") == "\n");
  CHECK(socat(dir, t.admin_sock, "disable server mqtt/b2") == "\n");
  CHECK(echoed_sessions_per_server(lb, 2) == std::map<std::string, int>{{"b1", 2}});
  CHECK(socat(dir, t.admin_sock, "enable server mqtt/b2") == "\n");
  CHECK(socat(dir, t.admin_sock, "set weight mqtt/b1 3") == "\n");
  CHECK(echoed_sessions_per_server(lb, 8) == std::map<std::string, int>{{"b1", 6}, {"b2", 2}});
  CHECK(socat(dir, t.admin_sock, "set weight mqtt/b1 100%") == "\n");

  // HAProxy's dynamic servers start in maintenance.
  CHECK(socat(dir, t.admin_sock,
              "add server mqtt/b3 127.0.0.1:" + std::to_string(t.b3.port()) + " weight 1") ==
        "New server registered.\n\n");
  CHECK(echoed_sessions_per_server(lb, 2) == std::map<std::string, int>{{"b1", 1}, {"b2", 1}});
  CHECK(socat(dir, t.admin_sock, "enable server mqtt/b3") == "\n");
  CHECK(echoed_sessions_per_server(lb, 6) ==
        std::map<std::string, int>{{"b1", 2}, {"b2", 2}, {"b3", 2}});

  // One line, several commands; then b1 moves to b3's echo server.
  const int b3_before = t.b3.accepted();
  CHECK(socat(dir, t.admin_sock, "del server mqtt/b2; get weight mqtt/b1") ==
        "Server deleted.\n\n1 (initial 1)\n\n");
  CHECK(socat(dir, t.admin_sock,
              "set server mqtt/b1 addr 127.0.0.1 port " + std::to_string(t.b3.port()))
            .find("no need to change the addr, port changed from '") != std::string::npos);
  CHECK(echoed_sessions_per_server(lb, 4) == std::map<std::string, int>{{"b1", 2}, {"b3", 2}});
  CHECK(t.b3.accepted() == b3_before + 4);
  live.send_all("still");
  CHECK(live.receive_exactly(5) == "still");

  const auto rows = read_stat_csv(socat(dir, t.user_sock, "show stat"));
  CHECK(rows.count("mqtt/FRONTEND") == 1);
  CHECK(rows.count("mqtt/BACKEND") == 1);
  CHECK(rows.count("mqtt/b2") == 0);
  REQUIRE(rows.count("mqtt/b1") == 1);
  REQUIRE(rows.count("mqtt/b3") == 1);
  CHECK(rows.at("mqtt/b1").at("status") == "no check");
  CHECK(rows.at("mqtt/b3").at("stot") == "4");
  CHECK(rows.at("mqtt/b1").at("scur") == "0");
  CHECK(rows.at("mqtt/FRONTEND").at("scur") == "1");  // `live`
  CHECK(rows.at("mqtt/FRONTEND").at("pid") == std::to_string(lb.pid()));

  const std::string info = socat(dir, t.user_sock, "show info");
  CHECK(info.rfind("Name: mqlb\n", 0) == 0);
  CHECK(info.find("\nPid: " + std::to_string(lb.pid()) + "\n") != std::string::npos);

  // The state file has what the socket changed.
  const Json state = Json::parse(std::ifstream(t.dir.path() / "mqlb.state"));
  CHECK(state["deleted"] == Json::array({"mqtt/b2"}));
  REQUIRE(state["added"].size() == 1);
  CHECK(state["added"][0]["server"]["name"] == "b3");
  CHECK(state["servers"]["mqtt/b1"]["port"] == t.b3.port());
}

TEST_CASE("the runtime socket's level, prompt mode and errors",
          "[integration][admin][runtime-socket]") {
  Setup t;
  Mqlb lb(t.dir, t.config());
  TempDir& dir = t.dir;
  CHECK(socat(dir, t.user_sock, "set server mqtt/b1 state maint") == "Permission denied\n\n");
  CHECK(socat(dir, t.user_sock, "reload") == "Permission denied\n\n");
  CHECK(echoed_sessions_per_server(lb, 2) == std::map<std::string, int>{{"b1", 1}, {"b2", 1}});
  CHECK(socat(dir, t.admin_sock, "set server mqtt/b9 state maint").find("no such server") !=
        std::string::npos);
  CHECK(socat(dir, t.admin_sock, "set weight mqtt/b1 x").find("weight") != std::string::npos);
  CHECK(socat(dir, t.admin_sock, "frobnicate").find("Unknown command") != std::string::npos);
  const std::string prompt = socat(dir, t.admin_sock, "prompt");
  CHECK(prompt == "\n> ");

  // Interactive: several lines on one connection, each answered, until quit.
  const RunResult r = run(dir, "socat-prompt",
                          {"sh", "-c",
                           "printf 'prompt\\nshow servers state mqtt\\nshow sess\\nquit\\n' | "
                           "socat -t 5 - \"UNIX-CONNECT:$0\"",
                           t.admin_sock.string()});
  REQUIRE(r.exit_code == 0);
  CHECK(count(r.stdout_text, "\n> ") == 3);
  CHECK(r.stdout_text.find("1 mqtt 1 b1 127.0.0.1 2 0 1 1 ") != std::string::npos);
  CHECK(r.stdout_text.find("server mqtt/b1: 0") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(t.dir.path() / "mqlb.state"));
}

TEST_CASE("a haproxy.cfg stats socket line serves the runtime socket, and reload reads the file",
          "[integration][admin][runtime-socket][haproxy]") {
  TempDir dir;
  ScriptedServer b1(scripts::echo()), b2(scripts::echo());
  const auto sock = dir.path() / "haproxy.sock";
  const uint16_t port = free_port();
  auto text = [&](bool with_b2) {
    return "global\n    log stdout format raw local0\n    stats socket " + sock.string() +
           " mode 660 level admin\n\n"
           "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n"
           "    timeout server 10s\n    option tcplog\n    log global\n\n"
           "frontend mqtt\n    bind 127.0.0.1:" +
           std::to_string(port) +
           "\n    default_backend mqtt\n\nbackend mqtt\n    server b1 127.0.0.1:" +
           std::to_string(b1.port()) + "\n" +
           (with_b2 ? "    server b2 127.0.0.1:" + std::to_string(b2.port()) + "\n" : "");
  };
  Mqlb lb(dir, HaproxyCfg{dir.write("haproxy.cfg", text(false))});
  struct stat st {};
  REQUIRE(::stat(sock.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
  CHECK(echoed_sessions_per_server(lb, 2) == std::map<std::string, int>{{"b1", 2}});
  const auto cfg = lb.config_path();
  std::filesystem::rename(dir.write("next.cfg", text(true)), cfg);
  CHECK(socat(dir, sock, "reload") == "Success=1\n\n");
  CHECK(echoed_sessions_per_server(lb, 2) == std::map<std::string, int>{{"b1", 1}, {"b2", 1}});
  std::filesystem::rename(dir.write("broken.cfg", text(true) + "    bogus-keyword\n"), cfg);
  const std::string failed = socat(dir, sock, "reload");
  CHECK(failed.rfind("Success=0\n--\n", 0) == 0);
  CHECK(failed.find("bogus-keyword") != std::string::npos);
  CHECK(echoed_sessions_per_server(lb, 2) == std::map<std::string, int>{{"b1", 1}, {"b2", 1}});
}
