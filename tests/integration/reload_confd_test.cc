// Reload the way confd drives it: a shell script regenerates mqlb's file
// from a list of servers (the template: everything but the server list is
// fixed), checks it with `mqlb -c` (confd's check_cmd) and sends SIGHUP
// (its reload_cmd). The test changes the list twenty times, servers
// appearing and disappearing in a pseudo-random but fixed order, while it
// holds echo sessions open on every server. Each reload must succeed with
// the summary its change implies, new sessions must go to exactly the
// listed servers, and no held session may be cut: those of servers that
// stayed relay as before, those of removed servers drain (hard-stop-after
// is far longer than the test). A second test takes a server out and puts
// it back before its drain deadline (hard-stop-after 1 s): the sessions it
// takes once it is back are the running configuration's, which that
// deadline must not end.
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/health.h"
#include "support/mqlb.h"
#include "support/net.h"
#include "support/process.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

constexpr int kPool = 5;
constexpr int kReloads = 20;

std::string name_of(int server) {
  return "s" + std::to_string(server + 1);
}

// The script confd would run for a change of its keys: LIST holds one
// "NAME PORT" line per server; the result replaces CONFIG, and PID gets
// SIGHUP. `head` and `tail` are the template around the server list.
std::string confd_script(const std::string& head, const std::string& tail) {
  return "set -eu\n"
         "list=$1 config=$2 pid=$3 mqlb=$4\n"
         "next=\"${config%.json}.next.json\"\n"
         "{\n"
         "  cat <<'HEAD'\n" +
         head +
         "\nHEAD\n"
         "  sep=\n"
         "  while read -r name port; do\n"
         "    printf '%s{\"name\": \"%s\", \"address\": \"127.0.0.1\", \"port\": %s}' "
         "\"$sep\" \"$name\" \"$port\"\n"
         "    sep=', '\n"
         "  done < \"$list\"\n"
         "  cat <<'TAIL'\n" +
         tail +
         "\nTAIL\n"
         "} > \"$next\"\n"
         "\"$mqlb\" -c -f \"$next\"\n"
         "mv \"$next\" \"$config\"\n"
         "kill -HUP \"$pid\"\n";
}

// "+1 server (s3)", "-0", as mqlb's reload summary counts them.
std::string counted(char sign, const std::vector<std::string>& names, bool noun) {
  std::string out(1, sign);
  out += std::to_string(names.size());
  if (noun) out += names.size() == 1 ? " server" : " servers";
  if (!names.empty()) {
    out += " (";
    for (size_t i = 0; i < names.size(); ++i)
      out += (i ? ", " : "") + names[i];
    out += ")";
  }
  return out;
}

// The summary a change from `before` to `after` (server indexes in pool
// order) must log.
std::string expected_summary(const std::set<int>& before, const std::set<int>& after) {
  std::vector<std::string> added, removed;
  int unchanged = 0;
  for (int s : after)
    if (before.count(s))
      ++unchanged;
    else
      added.push_back(name_of(s));
  for (int s : before)
    if (!after.count(s)) removed.push_back(name_of(s));
  return "reload: backend mqtt: " + counted('+', added, true) + ", " +
         counted('-', removed, false) + ", " + std::to_string(unchanged) +
         " unchanged; 0 listeners changed";
}

size_t reload_results(const Mqlb& lb) {
  const std::string err = lb.stderr_text();
  return count(err, "reload: backend") + count(err, "reload failed");
}

// Writes the confd script whose template is `config` (its server list left
// out: the script writes its own).
std::filesystem::path write_confd_script(TempDir& dir, nlohmann::json config) {
  config["backends"][0]["servers"] = nlohmann::json::array();
  const std::string text = config.dump(2);
  const std::string empty_list = "\"servers\": []";
  const auto at = text.find(empty_list);
  if (at == std::string::npos) throw std::runtime_error("no server list in " + text);
  const std::string head = text.substr(0, at) + "\"servers\": [";
  const std::string tail = "]" + text.substr(at + empty_list.size());
  return dir.write("confd-reload.sh", confd_script(head, tail));
}

// What confd does when its keys change: writes the list, runs the script.
// Returns once mqlb has logged the reload's summary or failure line.
void confd_reload(TempDir& dir, const Mqlb& lb, const std::filesystem::path& script,
                  const std::vector<BackendServer>& servers) {
  const auto list_path = dir.path() / "servers.list";
  {
    std::ofstream list(list_path, std::ios::trunc);
    for (const auto& s : servers)
      list << s.name << " " << s.port << "\n";
  }
  const size_t before = reload_results(lb);
  const RunResult ran = run(dir, "confd",
                            {"/bin/sh", script.string(), list_path.string(),
                             lb.config_path().string(), std::to_string(lb.pid()), MQLB_BINARY},
                            Millis(20000));
  INFO("script stdout: " << ran.stdout_text << "\nstderr: " << ran.stderr_text);
  REQUIRE(ran.exit_code == 0);
  REQUIRE(wait_until([&] { return reload_results(lb) > before; }, Millis(10000)));
}

// The last reload summary or failure line.
std::string last_reload_result(const Mqlb& lb) {
  std::string line;
  for (const auto& l : event_lines(lb, "reload"))
    if (l.find("reload: backend") != std::string::npos ||
        l.find("reload failed") != std::string::npos)
      line = l;
  return line;
}

// A session held open through mqlb, and what the test knows of its server.
struct Held {
  Socket socket;
  int server;
  int opened_at;  // the reload after which it was opened (-1: before any)
  uint16_t port;
  bool cut = false;  // found cut once: reported, not probed again
};

}  // namespace

TEST_CASE("twenty confd-style reloads with servers coming and going cut no session",
          "[integration][reload]") {
  TempDir dir;
  std::vector<std::unique_ptr<ScriptedServer>> pool;
  for (int i = 0; i < kPool; ++i)
    pool.push_back(std::make_unique<ScriptedServer>(scripts::echo()));

  const uint16_t port = free_port();
  nlohmann::json config = basic_config(port, {});
  config["global"]["hard_stop_after"] = "60s";
  const auto script = write_confd_script(dir, config);

  // The first list, which mqlb starts with; later ones come from the script.
  std::set<int> current{0, 1, 2};
  for (int s : current)
    config["backends"][0]["servers"].push_back(
        {{"name", name_of(s)}, {"address", "127.0.0.1"}, {"port", pool[s]->port()}});
  Mqlb lb(dir, config);
  const auto started = Clock::now();

  std::vector<Held> held;
  std::vector<std::vector<bool>> listed;  // listed[step][server], step 0 = the start
  auto accepted = [&] {
    std::vector<int> a;
    for (const auto& s : pool)
      a.push_back(s->accepted());
    return a;
  };
  // Opens one session per listed server (a roundrobin cycle) and keeps it;
  // returns the servers they went to, from which server accepted each.
  auto open_cycle = [&](int step, size_t n) {
    std::multiset<int> went_to;
    for (size_t i = 0; i < n; ++i) {
      const std::vector<int> before = accepted();
      const std::string hello = "hello " + std::to_string(held.size());
      Socket s = Socket::connect(port);
      s.send_all(hello);
      REQUIRE(s.receive_exactly(hello.size()) == hello);
      const std::vector<int> after = accepted();
      int server = -1, grew = 0;
      for (int k = 0; k < kPool; ++k)
        if (after[k] != before[k]) {
          server = k;
          grew += after[k] - before[k];
        }
      REQUIRE(grew == 1);
      went_to.insert(server);
      const uint16_t local = s.local_port();
      held.push_back({std::move(s), server, step, local});
    }
    return went_to;
  };
  // Every held session still relays; the failures, described.
  int round = 0;
  auto all_relay = [&] {
    std::vector<std::string> failures;
    ++round;
    for (auto& h : held) {
      if (h.cut) continue;
      const std::string probe = "r" + std::to_string(round) + ":" + std::to_string(h.port);
      try {
        h.socket.send_all(probe);
        const std::string back = h.socket.receive_exactly(probe.size());
        if (back != probe) failures.push_back(probe + " came back as " + back);
      } catch (const std::exception& e) {
        h.cut = true;
        failures.push_back("session from port " + std::to_string(h.port) + " on " +
                           name_of(h.server) + " (opened after reload " +
                           std::to_string(h.opened_at) + "): " + e.what());
      }
    }
    return failures;
  };

  auto as_vector = [](const std::set<int>& set) {
    std::vector<bool> v(kPool, false);
    for (int s : set)
      v[s] = true;
    return v;
  };
  listed.push_back(as_vector(current));
  CHECK(open_cycle(-1, current.size()) == std::multiset<int>(current.begin(), current.end()));

  std::minstd_rand rng(20261201);
  long first_removal_ms = -1;
  for (int step = 0; step < kReloads; ++step) {
    // As service discovery sees it: one or two servers appear or vanish.
    std::set<int> next;
    while (next.empty() || next == current) {
      next = current;
      for (unsigned flips = 1 + rng() % 2; flips > 0; --flips) {
        const int s = static_cast<int>(rng() % kPool);
        if (!next.erase(s)) next.insert(s);
      }
    }
    const std::string expected = expected_summary(current, next);
    INFO("reload " << step << ": " << expected);
    std::vector<BackendServer> servers;
    for (int s : next)
      servers.push_back({name_of(s), pool[s]->port()});
    confd_reload(dir, lb, script, servers);
    const std::vector<std::string> summaries = event_lines(lb, "reload: backend");
    REQUIRE(count(lb.stderr_text(), "reload failed") == 0);
    REQUIRE(summaries.size() == static_cast<size_t>(step) + 1);
    CHECK(summaries.back().find(expected) != std::string::npos);
    for (int s : current)
      if (!next.count(s) && first_removal_ms < 0) first_removal_ms = elapsed_ms(started);

    current = next;
    listed.push_back(as_vector(current));
    // New sessions reach exactly the listed servers, one each per cycle.
    CHECK(open_cycle(step, current.size()) == std::multiset<int>(current.begin(), current.end()));
    const std::vector<std::string> failures = all_relay();
    std::ostringstream why;
    for (const auto& f : failures)
      why << "\n  " << f;
    INFO(failures.size() << " of " << held.size() << " held sessions cut:" << why.str());
    CHECK(failures.empty());
  }
  const long reloads_ms = elapsed_ms(started);
  // Otherwise sessions of removed servers could end at hard-stop-after, and
  // "none was cut" would not hold by design.
  REQUIRE(first_removal_ms >= 0);
  REQUIRE(reloads_ms - first_removal_ms < 50000);

  // The sequence was not a degenerate one: some server went and came back,
  // and some session lived on a server listed all along for many reloads.
  bool came_back = false;
  for (int s = 0; s < kPool; ++s)
    for (size_t i = 1; i + 1 < listed.size(); ++i)
      if (listed[i - 1][s] && !listed[i][s])
        for (size_t j = i + 1; j < listed.size(); ++j)
          came_back = came_back || listed[j][s];
  CHECK(came_back);
  auto stayed_listed = [&](const Held& h) {
    for (size_t i = static_cast<size_t>(h.opened_at + 1); i < listed.size(); ++i)
      if (!listed[i][h.server]) return false;
    return true;
  };
  int stayed = 0, long_stayed = 0, drained = 0;
  for (const auto& h : held) {
    if (stayed_listed(h)) {
      ++stayed;
      if (kReloads - 1 - h.opened_at >= 5) ++long_stayed;
    } else {
      ++drained;
    }
  }
  CHECK(long_stayed > 0);
  CHECK(drained > 0);

  // The final list is what mqlb routes to: three cycles of new sessions
  // land on every listed server, three times each, and on no other.
  std::map<std::string, int> per_server;
  for (size_t i = 0; i < 3 * current.size(); ++i) {
    Socket s = Socket::connect(port);
    s.send_all("x");
    REQUIRE(s.receive_exactly(1) == "x");
    const uint16_t local = s.local_port();
    s.close();
    ++per_server[lb.access_line_for(local).server];
  }
  std::map<std::string, int> expected_per_server;
  for (int s : current)
    expected_per_server[name_of(s)] = 3;
  CHECK(per_server == expected_per_server);

  // Every held session still relays at the end, then ends normally, in an
  // access line that names the server it was opened on.
  const std::vector<std::string> failures = all_relay();
  {
    std::ostringstream why;
    for (const auto& f : failures)
      why << "\n  " << f;
    INFO(failures.size() << " of " << held.size() << " held sessions cut at the end:" << why.str());
    CHECK(failures.empty());
  }
  for (auto& h : held)
    h.socket.close();
  for (const auto& h : held) {
    const AccessLine line = lb.access_line_for(h.port);
    INFO(line.raw);
    CHECK(line.server == name_of(h.server));
    CHECK(line.termination == "--");
  }
  for (const auto& s : pool)
    CHECK(s->errors().empty());
  // Nothing went wrong on the way, not even a warning.
  CHECK(event_lines(lb, "[WARNING]").empty());
  CHECK(event_lines(lb, "[ALERT]").empty());
  WARN(kReloads << " reloads in " << reloads_ms << " ms; " << held.size() << " sessions held, "
                << stayed << " on servers listed all along (" << long_stayed
                << " of them across 5 reloads or more), " << drained
                << " on servers removed while they were open");
}

TEST_CASE("a server confd removes and adds back keeps its new sessions past hard-stop-after",
          "[integration][reload]") {
  TempDir dir;
  ScriptedServer s1(scripts::echo()), s2(scripts::echo());
  nlohmann::json config = basic_config(free_port(), {{"s1", s1.port()}, {"s2", s2.port()}});
  config["global"]["hard_stop_after"] = "1s";
  const auto script = write_confd_script(dir, config);
  Mqlb lb(dir, config);
  Socket on_s1 = echoed_session(lb.port(), "a");
  Socket old_on_s2 = echoed_session(lb.port(), "b");
  REQUIRE(s1.accepted() == 1);
  REQUIRE(s2.accepted() == 1);

  // s2 leaves the list, and comes back before its drain deadline.
  confd_reload(dir, lb, script, {{"s1", s1.port()}});
  const auto removed = Clock::now();
  CHECK(last_reload_result(lb).find("reload: backend mqtt: +0 servers, -1 (s2), 1 unchanged") !=
        std::string::npos);
  confd_reload(dir, lb, script, {{"s1", s1.port()}, {"s2", s2.port()}});
  CHECK(last_reload_result(lb).find("reload: backend mqtt: +1 server (s2), -0, 1 unchanged") !=
        std::string::npos);
  REQUIRE(elapsed_ms(removed) < 900);

  // A session opened on s2 now belongs to the running configuration, in
  // which s2 is not leaving: the earlier removal's hard-stop-after is not
  // its end.
  Socket new_on_s2;
  for (int i = 0; i < 2 && !new_on_s2.valid(); ++i) {
    Socket s = echoed_session(lb.port(), "c");
    if (s2.accepted() == 2) new_on_s2 = std::move(s);
  }
  REQUIRE(new_on_s2.valid());
  const uint16_t new_port = new_on_s2.local_port();
  // Well past the removal's deadline (1 s).
  std::this_thread::sleep_for(Millis(2500) - (Clock::now() - removed));

  auto relays = [](Socket& s, const std::string& text) {
    try {
      s.send_all(text);
      return s.receive_exactly(text.size()) == text;
    } catch (const std::exception&) {
      return false;
    }
  };
  const bool new_relays = relays(new_on_s2, "still here");
  if (!new_relays) {
    new_on_s2.close();
    INFO("the session opened after s2 came back: " << lb.access_line_for(new_port).raw);
    CHECK(new_relays);
  }
  CHECK(relays(on_s1, "s1 too"));
  // The session from before the removal drained: it still relays, or it
  // ended at hard-stop-after ("KD"), no sooner.
  if (!relays(old_on_s2, "old")) {
    const AccessLine line = lb.access_line_for(old_on_s2.local_port());
    INFO(line.raw);
    CHECK(line.termination == "KD");
    CHECK(line.total_ms >= 900);
  }
}
