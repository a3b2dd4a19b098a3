#pragma once
// The workloads of mqlb-bench. Each runs on its own Loop for the share of
// connections (or pairs) given by its Slice and returns a Tally; main merges
// the tallies of all threads into the JSON report.

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "histogram.h"
#include "options.h"

namespace mqlb::bench {

// Item i (a churn loop, an idle connection, a pub/sub pair) belongs to the
// loop with i % threads == thread.
struct Slice {
  int thread = 0;
  int threads = 1;

  int share(int total) const { return total / threads + (thread < total % threads ? 1 : 0); }
  int global(int local) const { return local * threads + thread; }
};

// --tls: handshakes completed, how many of them resumed a session, and what
// was negotiated (described once per loop).
struct TlsCounts {
  uint64_t handshakes = 0;
  uint64_t resumed = 0;
  std::set<std::string> negotiated;

  void merge(const TlsCounts& o);
};

struct Tally {
  uint64_t sessions = 0;  // churn: completed; idle: established; pub/sub: ready pairs
  uint64_t held = 0;      // idle: still open when the hold ended
  uint64_t sent = 0;
  uint64_t received = 0;          // including messages that arrived while draining
  uint64_t received_in_time = 0;  // before publishing stopped: the rate's numerator
  uint64_t received_bytes = 0;    // payload bytes
  uint64_t pubacks = 0;
  uint64_t unpaired = 0;  // pub/sub: pairs whose subscriber had no SUBACK when publishing began
  std::map<std::string, uint64_t> errors;
  TlsCounts tls;
  Histogram latency;  // churn, idle: connect to CONNACK; pub/sub: publish to receive
  double elapsed_s = 0;
  bool deadline_hit = false;

  void merge(const Tally& o);
};

// Called once per loop when all of its idle connections are up (or failed).
using ReadyFn = std::function<void(uint64_t established)>;

class TlsClient;

// `tls` is null for plain TCP.
Tally run_churn(const Options& o, Slice s, const TlsClient* tls);
Tally run_pubsub(const Options& o, Slice s, const TlsClient* tls);  // throughput and latency
Tally run_idle(const Options& o, Slice s, const TlsClient* tls, const ReadyFn& ready);

// Round-robin choice of target and source address for global item n.
const sockaddr* target_for(const Options& o, uint64_t n);
const sockaddr_in* source_for(const Options& o, uint64_t n);

}  // namespace mqlb::bench
