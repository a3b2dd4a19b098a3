#pragma once
// Command line of mqlb-bench: a mode and --name VALUE options, parsed into a
// plain Options value or one error message that names the option. Pure.

#include <netinet/in.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "address.h"

namespace mqlb::bench {

enum class Mode { Churn, Throughput, Latency, Idle };

struct Options {
  Mode mode = Mode::Churn;
  std::vector<Endpoint> targets;       // connection i (or pair i) uses targets[i % size]
  std::optional<Endpoint> sub_target;  // subscribers connect here instead, if set
  std::vector<sockaddr_in> sources;    // client bind addresses, round-robin; empty = any
  double duration_s = 10;
  double deadline_s = 0;   // hard cap on the whole run; resolved to duration + 30 s
  double timeout_s = 5;    // connect + CONNACK (+ SUBACK) per connection
  double drain_s = 2;      // pub/sub: wait for in-flight messages after publishing stops
  uint64_t count = 0;      // churn: stop after this many sessions, 0 = duration only
  int concurrency = 50;    // churn: sessions in flight; idle: handshakes in flight
  int connections = 1000;  // idle
  int pairs = 10;          // pub/sub
  int payload = 100;       // pub/sub, bytes including the 16-byte timestamp header
  int qos = 0;
  int window = 64;  // pub/sub closed loop: messages in flight per pair
  double rate = 0;  // pub/sub: messages/s over all pairs; 0 = as fast as the window allows
  int keepalive = 60;
  int threads = 1;
  bool tls = false;         // TLS 1.3 to the targets, then MQTT as on plain TCP
  bool tls_resume = false;  // offer the loop's first session ticket on every later connection
  std::string cafile;       // verify the server's chain against these CAs; empty = no verification
  std::string servername;   // SNI, and with cafile the name the certificate must match
};

std::string usage();

// Returns Options, or an error message such as "--payload: expected ...".
// `help` is set when --help was given (then nothing else is checked).
std::variant<Options, std::string> parse_options(int argc, char** argv, bool& help);

}  // namespace mqlb::bench
