// The operators' scalability test, with a reload in the middle: ten
// publisher processes each send 10 000 QoS 1 messages of 100 bytes (100 000
// in all) through mqlb to two brokers (roundrobin); once a third are
// acknowledged a third broker is added to the file and mqlb gets SIGHUP.
// The reload must take effect at once for new connections (they alternate
// over b1, b2 and b3) and never touch the live ones: no publisher loses its
// connection, no publisher session ends before its publisher has everything
// acknowledged, and every acknowledged message reaches a subscriber on the
// broker that acknowledged it.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/broker.h"
#include "support/health.h"
#include "support/mqlb.h"
#include "support/mqtt.h"
#include "support/net.h"
#include "support/process.h"
#include "support/publishers.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

constexpr int kPublishers = 10;
// The full count in the ASan build too: there the whole test takes about
// 5 s (2.5 s in release), far from a reason to scale it down.
constexpr int kPerPublisher = 10000;
constexpr size_t kTotal = static_cast<size_t>(kPublishers) * kPerPublisher;

// The local ports of a publisher's "connected LOCAL_PORT" lines, and the
// SEQs of its "acked LOCAL_PORT SEQ" lines.
struct PublisherOutput {
  std::vector<uint16_t> connected;
  std::vector<int> acked;
  int lost = 0;
};

PublisherOutput parse_publisher(const std::string& out) {
  PublisherOutput o;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string word;
    words >> word;
    if (word == "acked") {
      unsigned port = 0;
      int seq = 0;
      if (words >> port >> seq) o.acked.push_back(seq);
    } else if (word == "connected") {
      unsigned port = 0;
      if (words >> port) o.connected.push_back(static_cast<uint16_t>(port));
    } else if (word == "lost") {
      ++o.lost;
    }
  }
  return o;
}

// The ports of the "connected LOCAL_PORT" lines alone, without reading the
// rest.
std::vector<uint16_t> connected_ports(const std::string& out) {
  std::vector<uint16_t> ports;
  for (size_t at = 0; (at = out.find("connected ", at)) != std::string::npos; at += 10)
    if (at == 0 || out[at - 1] == '\n')
      ports.push_back(static_cast<uint16_t>(std::stoi(out.substr(at + 10, 5))));
  return ports;
}

size_t reload_results(const Mqlb& lb) {
  const std::string err = lb.stderr_text();
  return count(err, "reload: backend") + count(err, "reload failed");
}

// Writes `config` over the running file and sends SIGHUP; returns the
// reload's summary line ("reload: backend ...") or its failure line.
std::string reload(TempDir& dir, Mqlb& lb, const nlohmann::json& config) {
  const size_t before = reload_results(lb);
  std::filesystem::rename(dir.write("next.json", config.dump(2)), lb.config_path());
  lb.process().signal(SIGHUP);
  REQUIRE(wait_until([&] { return reload_results(lb) > before; }, Millis(10000)));
  std::string line;
  for (const auto& l : event_lines(lb, "reload"))
    if (l.find("reload: backend") != std::string::npos ||
        l.find("reload failed") != std::string::npos)
      line = l;
  return line;
}

// "device-3 17 ....." -> "device-3 17"
std::string key_of(const std::string& payload) {
  const auto second = payload.find(' ', payload.find(' ') + 1);
  return payload.substr(0, second);
}

std::set<std::string> keys_at(const Subscriber& s) {
  std::set<std::string> keys;
  for (const auto& p : s.payloads())
    keys.insert(key_of(p));
  return keys;
}

}  // namespace

TEST_CASE("a server added by a reload under QoS 1 load takes new connections and live ones stay",
          "[integration][reload][load]") {
  TempDir dir;
  Broker b1(dir, {.unlimited_queues = true});
  Broker b2(dir, {.unlimited_queues = true});
  Broker b3(dir, {.unlimited_queues = true});
  Subscriber on_b1(dir, b1.port(), "load/#");
  Subscriber on_b2(dir, b2.port(), "load/#");
  Subscriber on_b3(dir, b3.port(), "load/#");
  nlohmann::json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  Mqlb lb(dir, config);

  const auto started = Clock::now();
  Publishers publishers(dir, lb.port(), kPublishers, kPerPublisher, 200);
  auto acked_so_far = [&] { return publishers.acked(); };
  REQUIRE(wait_until([&] { return acked_so_far() >= kTotal / 3; }, Millis(120000), Millis(5)));

  // b3 joins the backend.
  nlohmann::json next = config;
  next["backends"][0]["servers"].push_back(
      {{"name", "b3"}, {"address", "127.0.0.1"}, {"port", b3.port()}});
  const std::string summary = reload(dir, lb, next);
  const long reloaded_at_ms = elapsed_ms(started);
  const size_t acked_at_reload = acked_so_far();
  INFO(summary);
  REQUIRE(summary.find("reload: backend mqtt: +1 server (b3), -0, 2 unchanged; 0 listeners "
                       "changed") != std::string::npos);
  CHECK(summary.find("[NOTICE]") == 0);
  CHECK(count(lb.stderr_text(), "reload failed") == 0);
  // The reload came in the middle of the load, not after it.
  CHECK(acked_at_reload < kTotal);

  // New connections alternate over all three brokers at once.
  constexpr int kFresh = 9;
  std::vector<uint16_t> fresh_ports;
  for (int i = 0; i < kFresh; ++i) {
    Socket s = mqtt::connect(lb.port(), "fresh-" + std::to_string(i));
    s.send_all(mqtt::disconnect_packet());
    fresh_ports.push_back(s.local_port());
    s.close();
  }
  std::vector<std::string> fresh_servers;
  for (uint16_t port : fresh_ports)
    fresh_servers.push_back(lb.access_line_for(port).server);
  {
    std::ostringstream seq;
    for (const auto& s : fresh_servers)
      seq << s << " ";
    INFO("servers of the connections after the reload, in order: " << seq.str());
    std::map<std::string, int> per_server;
    for (const auto& s : fresh_servers)
      ++per_server[s];
    CHECK(per_server == std::map<std::string, int>{{"b1", 3}, {"b2", 3}, {"b3", 3}});
    // Strict alternation: any three in a row went to three brokers.
    bool alternates = true;
    for (size_t i = 0; i + 2 < fresh_servers.size(); ++i)
      alternates = alternates && std::set<std::string>{fresh_servers[i], fresh_servers[i + 1],
                                                       fresh_servers[i + 2]}
                                         .size() == 3;
    CHECK(alternates);
  }
  int still_publishing = 0;
  for (const auto& p : publishers)
    still_publishing += p->running() ? 1 : 0;
  // The brokers saw them where mqlb says it sent them.
  const std::map<std::string, const Broker*> broker_of{{"b1", &b1}, {"b2", &b2}, {"b3", &b3}};
  for (int i = 0; i < kFresh; ++i) {
    INFO("fresh-" << i << " on " << fresh_servers[i]);
    REQUIRE(broker_of.count(fresh_servers[i]) == 1);
    CHECK(broker_logged(*broker_of.at(fresh_servers[i]), "as fresh-" + std::to_string(i) + " "));
  }

  // Until every publisher exits: no access line of a publisher's session
  // may be written (its session ended) before that publisher has all its
  // messages acknowledged. Access lines first, then the publishers' output:
  // a publisher whose session ended normally printed its last "acked" line
  // before it closed.
  std::vector<std::string> cut_early;
  auto watch = [&] {
    const std::vector<AccessLine> lines = lb.access_lines();
    bool any_running = false;
    for (int i = 0; i < kPublishers; ++i) {
      const bool running = publishers[i].running();
      any_running = any_running || running;
      const std::string out = publishers[i].stdout_text();
      const size_t acked = acked_total(out);
      if (acked == static_cast<size_t>(kPerPublisher)) continue;
      for (const auto& line : lines)
        for (uint16_t port : connected_ports(out))
          if (line.client_port == port)
            cut_early.push_back("device-" + std::to_string(i) + " with " + std::to_string(acked) +
                                " acked: " + line.raw);
    }
    return !any_running || !cut_early.empty();
  };
  REQUIRE(wait_until(watch, Millis(240000), Millis(100)));
  {
    std::ostringstream cut;
    for (const auto& c : cut_early)
      cut << "\n  " << c;
    INFO("sessions that ended before their publisher finished:" << cut.str());
    CHECK(cut_early.empty());
  }
  for (const auto& p : publishers) {
    INFO(p->stdout_path() << "\n" << p->stderr_text());
    CHECK(p->wait_exit(Millis(10000)) == 0);
  }
  const long load_ms = elapsed_ms(started);

  // One connection per publisher, never lost, never made again.
  std::vector<PublisherOutput> outputs;
  int reconnects = 0, lost = 0;
  for (int i = 0; i < kPublishers; ++i) {
    outputs.push_back(parse_publisher(publishers[i].stdout_text()));
    const PublisherOutput& o = outputs.back();
    INFO("device-" << i << ": " << o.connected.size() << " connections, " << o.lost << " lost, "
                   << o.acked.size() << " acked");
    CHECK(o.connected.size() == 1);
    CHECK(o.lost == 0);
    CHECK(o.acked.size() == static_cast<size_t>(kPerPublisher));
    reconnects += o.connected.empty() ? 0 : static_cast<int>(o.connected.size()) - 1;
    lost += o.lost;
  }
  CHECK(reconnects == 0);
  CHECK(lost == 0);

  // Each publisher session's access line: on b1 or b2 (where it was before
  // the reload), ended by its client normally.
  std::map<uint16_t, AccessLine> line_of;
  auto every_connection_logged = [&] {
    for (const auto& line : lb.access_lines())
      line_of[line.client_port] = line;
    for (const auto& o : outputs)
      for (uint16_t port : o.connected)
        if (!line_of.count(port)) return false;
    return true;
  };
  REQUIRE(wait_until(every_connection_logged, Millis(10000), Millis(50)));
  std::map<std::string, std::set<std::string>> acked_by;  // server -> "device-N SEQ"
  for (int i = 0; i < kPublishers; ++i) {
    const PublisherOutput& o = outputs[i];
    REQUIRE(o.connected.size() >= 1);
    const AccessLine& line = line_of.at(o.connected.front());
    INFO("device-" << i << ": " << line.raw);
    CHECK((line.server == "b1" || line.server == "b2"));
    CHECK(line.termination == "--");
    // It lived across the reload.
    CHECK(line.total_ms >= reloaded_at_ms - 1000);
    for (int seq : o.acked)
      acked_by[line.server].insert("device-" + std::to_string(i) + " " + std::to_string(seq));
  }
  CHECK(acked_by["b1"].size() > 0);
  CHECK(acked_by["b2"].size() > 0);

  // Every acknowledged message reached the subscriber of the broker that
  // acknowledged it.
  const std::map<std::string, const Subscriber*> subscriber_of{{"b1", &on_b1}, {"b2", &on_b2}};
  for (const auto& [server, acked] : acked_by) {
    INFO("acknowledged by " << server);
    REQUIRE(subscriber_of.count(server) == 1);
    size_t missing = 0;
    const bool all_there = wait_until(
        [&] {
          const std::set<std::string> got = keys_at(*subscriber_of.at(server));
          missing = 0;
          for (const auto& k : acked)
            if (!got.count(k)) ++missing;
          return missing == 0;
        },
        Millis(60000), Millis(500));
    INFO(missing << " of " << acked.size() << " never reached the subscriber");
    CHECK(all_there);
  }
  // Nothing of the old sessions moved to b3.
  size_t on_b3_from_publishers = 0;
  for (const auto& p : on_b3.payloads())
    if (p.rfind("device-", 0) == 0) ++on_b3_from_publishers;
  CHECK(on_b3_from_publishers == 0);
  // Nothing went wrong on the way, not even a warning.
  CHECK(event_lines(lb, "[WARNING]").empty());
  CHECK(event_lines(lb, "[ALERT]").empty());

  WARN(kPublishers << " publishers x " << kPerPublisher << " QoS 1 messages: " << load_ms
                   << " ms (reload at " << reloaded_at_ms << " ms, " << acked_at_reload
                   << " acknowledged by then, " << still_publishing
                   << " publishers still running after the new connections); b1 acknowledged "
                   << acked_by["b1"].size() << ", b2 " << acked_by["b2"].size());
}
