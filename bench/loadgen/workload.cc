// Pure helpers shared by the workloads.
#include "workload.h"

#include <algorithm>

namespace mqlb::bench {

void TlsCounts::merge(const TlsCounts& o) {
  handshakes += o.handshakes;
  resumed += o.resumed;
  negotiated.insert(o.negotiated.begin(), o.negotiated.end());
}

void Tally::merge(const Tally& o) {
  sessions += o.sessions;
  held += o.held;
  sent += o.sent;
  received += o.received;
  received_in_time += o.received_in_time;
  received_bytes += o.received_bytes;
  pubacks += o.pubacks;
  unpaired += o.unpaired;
  for (const auto& [kind, n] : o.errors)
    errors[kind] += n;
  tls.merge(o.tls);
  latency.merge(o.latency);
  elapsed_s = std::max(elapsed_s, o.elapsed_s);
  deadline_hit = deadline_hit || o.deadline_hit;
}

const sockaddr* target_for(const Options& o, uint64_t n) {
  return o.targets[n % o.targets.size()].sa();
}

const sockaddr_in* source_for(const Options& o, uint64_t n) {
  return o.sources.empty() ? nullptr : &o.sources[n % o.sources.size()];
}

}  // namespace mqlb::bench
