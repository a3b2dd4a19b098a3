// Pure: no libuv, no sockets.
#include "options.h"

#include <charconv>
#include <functional>
#include <set>
#include <sstream>
#include <type_traits>

namespace mqlb::bench {
namespace {

// Options are collected here first; addresses are resolved once all are read.
struct Draft {
  Options o;
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string targets;
  std::string sub_host;
  int sub_port = 0;
  std::set<std::string> given;
};

using Setter = std::function<std::string(Draft&, const std::string&)>;  // returns an error

struct Spec {
  const char* name;
  const char* arg;  // nullptr: a flag, which takes no value
  const char* help;
  Setter set;
};

template <typename T>
std::string parse_number(const std::string& text, T lo, T hi, T& out) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  std::ostringstream range;
  range << lo << ".." << hi;
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return "expected a number in " + range.str() + ", got '" + text + "'";
  }
  if (v < lo || v > hi) return "must be in " + range.str() + ", got '" + text + "'";
  out = v;
  return {};
}

// A setter for a numeric field of Options or of the Draft itself.
template <typename T, typename Owner>
Setter number(T lo, T hi, T Owner::*field) {
  return [=](Draft& d, const std::string& v) {
    if constexpr (std::is_same_v<Owner, Draft>) {
      return parse_number(v, lo, hi, d.*field);
    } else {
      return parse_number(v, lo, hi, d.o.*field);
    }
  };
}

const std::vector<Spec>& specs() {
  static const std::vector<Spec> table = {
      {"--host", "ADDR", "target address, loopback only (default 127.0.0.1)",
       [](Draft& d, const std::string& v) {
         d.host = v;
         return std::string();
       }},
      {"--port", "PORT", "target port (default 1883)", number(1, 65535, &Draft::port)},
      {"--targets", "A:P,A:P", "several targets; connection or pair i uses target i mod n",
       [](Draft& d, const std::string& v) {
         d.targets = v;
         return std::string();
       }},
      {"--sub-host", "ADDR", "throughput/latency: subscribers connect here (default: as publisher)",
       [](Draft& d, const std::string& v) {
         d.sub_host = v;
         return std::string();
       }},
      {"--sub-port", "PORT", "throughput/latency: subscriber port",
       number(1, 65535, &Draft::sub_port)},
      {"--source-range", "FIRST-LAST",
       "bind client sockets to these addresses round-robin, e.g. 127.0.0.2-127.0.0.65",
       [](Draft& d, const std::string& v) {
         auto r = parse_source_range(v);
         if (auto* err = std::get_if<std::string>(&r)) return *err;
         d.o.sources = std::get<std::vector<sockaddr_in>>(r);
         return std::string();
       }},
      {"--duration", "S", "seconds of load; idle: seconds to hold (default 10)",
       number(0.0, 86400.0, &Options::duration_s)},
      {"--deadline", "S", "hard cap on the whole run (default duration + 30)",
       number(0.1, 90000.0, &Options::deadline_s)},
      {"--timeout", "S", "per connection: connect + CONNACK (+ SUBACK) (default 5)",
       number(0.01, 600.0, &Options::timeout_s)},
      {"--drain", "S", "throughput/latency: wait for in-flight messages (default 2)",
       number(0.0, 600.0, &Options::drain_s)},
      {"--count", "N", "churn: stop after N sessions (default 0 = run for --duration)",
       number<uint64_t>(0, 1'000'000'000, &Options::count)},
      {"--concurrency", "C", "churn: sessions in flight; idle: handshakes in flight (default 50)",
       number(1, 100000, &Options::concurrency)},
      {"--connections", "N", "idle: connections to open and hold (default 1000)",
       number(1, 1000000, &Options::connections)},
      {"--pairs", "P",
       "throughput/latency: publisher/subscriber pairs, one topic each (default 10)",
       number(1, 100000, &Options::pairs)},
      {"--payload", "B", "throughput/latency: payload bytes, at least 16 (default 100)",
       number(16, 16 << 20, &Options::payload)},
      {"--qos", "0|1", "throughput/latency: publish and subscribe QoS (default 0)",
       number(0, 1, &Options::qos)},
      {"--window", "W", "throughput: messages in flight per pair (default 64)",
       number(1, 10000, &Options::window)},
      {"--rate", "R",
       "messages/s over all pairs, 0 = as fast as --window allows (default 0; latency 1000)",
       number(0.0, 1e8, &Options::rate)},
      {"--keepalive", "S", "MQTT keepalive announced in CONNECT, 0 = off (default 60)",
       number(0, 65535, &Options::keepalive)},
      {"--threads", "N", "event loops, each with its share of the connections (default 1)",
       number(1, 256, &Options::threads)},
      {"--tls", nullptr, "connect with TLS 1.3, then speak MQTT inside it",
       [](Draft& d, const std::string&) {
         d.o.tls = true;
         return std::string();
       }},
      {"--tls-resume", nullptr,
       "implies --tls: each loop keeps its first session ticket and offers it on every later "
       "connection (churn opens the others once the first session is over)",
       [](Draft& d, const std::string&) {
         d.o.tls = d.o.tls_resume = true;
         return std::string();
       }},
      {"--cafile", "FILE", "--tls: verify the server against these CAs (default: no verification)",
       [](Draft& d, const std::string& v) {
         d.o.cafile = v;
         return v.empty() ? std::string("expected a file name") : std::string();
       }},
      {"--servername", "NAME", "--tls: SNI to send; with --cafile also the name to check",
       [](Draft& d, const std::string& v) {
         d.o.servername = v;
         return v.empty() ? std::string("expected a host name") : std::string();
       }},
  };
  return table;
}

std::optional<Mode> parse_mode(std::string_view s) {
  if (s == "churn") return Mode::Churn;
  if (s == "throughput") return Mode::Throughput;
  if (s == "latency") return Mode::Latency;
  if (s == "idle") return Mode::Idle;
  return std::nullopt;
}

std::string resolve_addresses(Draft& d) {
  if (!d.targets.empty()) {
    std::string_view rest = d.targets;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      auto r = parse_host_port(rest.substr(0, comma));
      if (auto* err = std::get_if<std::string>(&r)) return "--targets: " + *err;
      d.o.targets.push_back(std::get<Endpoint>(r));
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    }
  } else {
    auto r = parse_endpoint(d.host, d.port);
    if (auto* err = std::get_if<std::string>(&r)) return "--host: " + *err;
    d.o.targets.push_back(std::get<Endpoint>(r));
  }
  if (!d.sub_host.empty() || d.sub_port != 0) {
    auto r = parse_endpoint(d.sub_host.empty() ? d.host : d.sub_host,
                            d.sub_port != 0 ? d.sub_port : d.port);
    if (auto* err = std::get_if<std::string>(&r)) return "--sub-host: " + *err;
    d.o.sub_target = std::get<Endpoint>(r);
  }
  return {};
}

}  // namespace

std::string usage() {
  std::ostringstream s;
  s << "usage: mqlb-bench MODE [--option VALUE]...\n\n"
       "MQTT 3.1.1 load generator; prints one JSON object on stdout.\n\n"
       "modes:\n"
       "  churn       C loops of connect, CONNECT, CONNACK, DISCONNECT, close\n"
       "  throughput  P publisher/subscriber pairs publishing as fast as --window allows\n"
       "  latency     publish at a fixed --rate and measure publish-to-receive time\n"
       "  idle        open --connections MQTT sessions and hold them for --duration\n\n"
       "options:\n";
  for (const Spec& spec : specs()) {
    std::string left = std::string(spec.name) + (spec.arg ? std::string(" ") + spec.arg : "");
    s << "  " << left << std::string(left.size() < 26 ? 26 - left.size() : 1, ' ') << spec.help
      << "\n";
  }
  s << "  --help                    show this text\n\n"
       "Only loopback addresses (127.0.0.0/8, ::1) are accepted.\n";
  return s.str();
}

std::variant<Options, std::string> parse_options(int argc, char** argv, bool& help) {
  help = false;
  Draft d;
  bool have_mode = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      return d.o;
    }
    if (!arg.starts_with("-")) {
      auto mode = parse_mode(arg);
      if (!mode) return "unknown mode '" + arg + "'; expected churn, throughput, latency or idle";
      if (have_mode) return "more than one mode given ('" + arg + "')";
      d.o.mode = *mode;
      have_mode = true;
      continue;
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const Spec* spec = nullptr;
    for (const Spec& s : specs()) {
      if (name == s.name) spec = &s;
    }
    if (!spec) return "unknown option '" + name + "' (see --help)";
    if (!spec->arg) {
      if (value) return name + ": takes no value";
      value = "";
    } else if (!value) {
      if (i + 1 >= argc) return name + ": needs a value (" + spec->arg + ")";
      value = argv[++i];
    }
    if (std::string err = spec->set(d, *value); !err.empty()) return name + ": " + err;
    d.given.insert(name);
  }
  if (!have_mode) return "no mode given; expected churn, throughput, latency or idle (see --help)";

  if (d.o.mode == Mode::Latency) {
    // A latency run is a light open-loop load: one pair, small messages.
    if (!d.given.contains("--rate")) d.o.rate = 1000;
    if (!d.given.contains("--pairs")) d.o.pairs = 1;
    if (!d.given.contains("--payload")) d.o.payload = 64;
    if (d.o.rate <= 0) return "--rate: latency mode needs a rate above 0";
  }
  for (const char* needs_tls : {"--cafile", "--servername"}) {
    if (d.given.contains(needs_tls) && !d.o.tls) return std::string(needs_tls) + ": needs --tls";
  }
  if (d.o.deadline_s == 0) d.o.deadline_s = d.o.duration_s + d.o.drain_s + 30;
  if (d.o.deadline_s < d.o.duration_s) return "--deadline: must not be shorter than --duration";
  if (std::string err = resolve_addresses(d); !err.empty()) return err;
  if (!d.o.sources.empty()) {
    for (const Endpoint& e : d.o.targets) {
      if (e.addr.ss_family != AF_INET) return "--source-range: IPv4 sources cannot reach " + e.text;
    }
    if (d.o.sub_target && d.o.sub_target->addr.ss_family != AF_INET) {
      return "--source-range: IPv4 sources cannot reach " + d.o.sub_target->text;
    }
  }
  return d.o;
}

}  // namespace mqlb::bench
