// mqlb-bench: parses the command line, runs the workload on --threads loops
// (one std::thread each) and prints one JSON report on stdout.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "options.h"
#include "tls_client.h"
#include "workload.h"

namespace mqlb::bench {
namespace {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Churn:
      return "churn";
    case Mode::Throughput:
      return "throughput";
    case Mode::Latency:
      return "latency";
    case Mode::Idle:
      return "idle";
  }
  return "?";
}

double us(uint64_t ns) {
  return std::round(static_cast<double>(ns) / 100.0) / 10.0;
}

nlohmann::ordered_json percentiles(const Histogram& h) {
  return {{"samples", h.count()},
          {"p50", us(h.quantile_ns(0.50))},
          {"p90", us(h.quantile_ns(0.90))},
          {"p99", us(h.quantile_ns(0.99))},
          {"p999", us(h.quantile_ns(0.999))},
          {"max", us(h.max_ns())},
          {"mean", std::round(h.mean_ns() / 100.0) / 10.0}};
}

double per_second(uint64_t n, double s) {
  return s > 0 ? std::round(n / s * 10) / 10 : 0;
}

nlohmann::ordered_json report(const Options& o, const Tally& t) {
  nlohmann::ordered_json j;
  j["mode"] = mode_name(o.mode);
  for (const Endpoint& e : o.targets)
    j["targets"].push_back(e.text);
  if (o.sub_target) j["sub_target"] = o.sub_target->text;
  j["threads"] = o.threads;
  j["duration_s"] = o.duration_s;
  j["elapsed_s"] = std::round(t.elapsed_s * 1000) / 1000;
  j["deadline_hit"] = t.deadline_hit;
  uint64_t errors = 0;
  j["error_kinds"] = nlohmann::ordered_json::object();
  for (const auto& [kind, n] : t.errors) {
    errors += n;
    j["error_kinds"][kind] = n;
  }
  j["errors"] = errors;
  if (o.tls) {
    // The proxy's share of a TLS workload is its handshakes: count them, and
    // with --tls-resume how many really were resumed.
    nlohmann::ordered_json tls;
    tls["verify"] = !o.cafile.empty();
    if (!o.servername.empty()) tls["servername"] = o.servername;
    tls["resume"] = o.tls_resume;
    tls["handshakes"] = t.tls.handshakes;
    tls["resumed"] = t.tls.resumed;
    tls["negotiated"] = nlohmann::ordered_json::array();
    for (const std::string& n : t.tls.negotiated)
      tls["negotiated"].push_back(n);
    j["tls"] = tls;
  }
  switch (o.mode) {
    case Mode::Churn:
      j["concurrency"] = o.concurrency;
      j["sessions"] = t.sessions;
      j["sessions_per_s"] = per_second(t.sessions, t.elapsed_s);
      j["connect_connack_us"] = percentiles(t.latency);
      break;
    case Mode::Idle:
      j["connections"] = o.connections;
      j["established"] = t.sessions;
      j["held"] = t.held;
      j["connect_connack_us"] = percentiles(t.latency);
      break;
    case Mode::Throughput:
    case Mode::Latency:
      j["pairs"] = o.pairs;
      j["ready_pairs"] = t.sessions;
      j["unpaired_publishers"] = t.unpaired;
      j["payload"] = o.payload;
      j["qos"] = o.qos;
      if (o.rate > 0) {
        j["rate"] = o.rate;
      } else {
        j["window"] = o.window;
      }
      j["sent"] = t.sent;
      j["received"] = t.received;
      j["lost"] = t.sent - std::min(t.sent, t.received);
      if (o.qos > 0) j["pubacks"] = t.pubacks;
      j["msgs_per_s"] = per_second(t.received_in_time, t.elapsed_s);
      // Every message carries --payload bytes, so MB/s follows from msg/s.
      j["mb_per_s"] =
          std::round(per_second(t.received_in_time, t.elapsed_s) * o.payload / 1e4) / 100;
      j["latency_us"] = percentiles(t.latency);
      break;
  }
  return j;
}

// The last guard of "every run is bounded": if the loops have not returned
// well after --deadline, give up loudly.
void on_alarm(int) {
  static const char msg[] = "mqlb-bench: hard deadline passed, exiting\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(3);
}

}  // namespace
}  // namespace mqlb::bench

int main(int argc, char** argv) {
  using namespace mqlb::bench;
  bool help = false;
  auto parsed = parse_options(argc, argv, help);
  if (help) {
    std::cout << usage();
    return 0;
  }
  if (auto* err = std::get_if<std::string>(&parsed)) {
    std::cerr << "mqlb-bench: " << *err << "\n";
    return 2;
  }
  const Options& o = std::get<Options>(parsed);
  std::unique_ptr<TlsClient> tls;
  if (o.tls) {
    auto made = TlsClient::make(o);
    if (auto* err = std::get_if<std::string>(&made)) {
      std::cerr << "mqlb-bench: " << *err << "\n";
      return 2;
    }
    tls = std::move(std::get<std::unique_ptr<TlsClient>>(made));
    if (o.cafile.empty())
      std::cerr << "mqlb-bench: --tls without --cafile: the server's certificate is not verified\n";
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGALRM, on_alarm);
  alarm(static_cast<unsigned>(std::ceil(o.deadline_s)) + 10);

  std::atomic<int> ready_loops{0};
  std::atomic<uint64_t> established{0};
  ReadyFn ready = [&](uint64_t n) {
    established += n;
    if (++ready_loops == o.threads) {
      // bench/compare waits for this line before it samples the proxy's memory.
      std::fprintf(stderr, "mqlb-bench: ready: %llu connections established, holding %g s\n",
                   static_cast<unsigned long long>(established.load()), o.duration_s);
      std::fflush(stderr);
    }
  };

  std::vector<Tally> tallies(o.threads);
  std::vector<std::thread> threads;
  for (int i = 0; i < o.threads; ++i) {
    threads.emplace_back([&, i] {
      Slice s{i, o.threads};
      switch (o.mode) {
        case Mode::Churn:
          tallies[i] = run_churn(o, s, tls.get());
          break;
        case Mode::Throughput:
        case Mode::Latency:
          tallies[i] = run_pubsub(o, s, tls.get());
          break;
        case Mode::Idle:
          tallies[i] = run_idle(o, s, tls.get(), ready);
          break;
      }
    });
  }
  Tally total;
  for (int i = 0; i < o.threads; ++i) {
    threads[i].join();
    total.merge(tallies[i]);
  }
  std::cout << report(o, total).dump(2) << std::endl;
  bool nothing_done = total.sessions == 0 && !total.errors.empty();
  return total.deadline_hit || nothing_done ? 1 : 0;
}
