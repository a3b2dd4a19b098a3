#pragma once
// Helpers shared by the balancer tests: describe a backend as Candidates,
// then pick many times and count where the sessions went. Test-only.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <vector>

#include "lb/balancer/balancer.h"

namespace mqlb::lb::balancer::testing {

inline Candidate active_server(uint32_t weight = 1) {
  Candidate c;
  c.weight = weight;
  return c;
}

inline Candidate backup_server(uint32_t weight = 1) {
  Candidate c = active_server(weight);
  c.backup = true;
  return c;
}

inline std::vector<Candidate> with_weights(std::initializer_list<uint32_t> weights) {
  std::vector<Candidate> out;
  for (uint32_t w : weights)
    out.push_back(active_server(w));
  return out;
}

// What the caller of `pick` supplies for the n-th pick.
using KeyFor = std::function<PickKey(uint64_t n)>;

inline PickKey sequence_key(uint64_t n) {
  return PickKey{n, 0, 0};
}

// The choices of `count` consecutive picks over an unchanging pool.
inline std::vector<std::optional<uint32_t>> pick_many(conf::Balance balance,
                                                      const std::vector<Candidate>& candidates,
                                                      size_t count, bool allbackups = false,
                                                      const KeyFor& key_for = sequence_key) {
  Pool pool = build_pool(candidates, balance, allbackups);
  std::vector<std::optional<uint32_t>> out;
  out.reserve(count);
  for (uint64_t n = 0; n < count; ++n)
    out.push_back(pick(balance, candidates, pool, key_for(n)));
  return out;
}

// How many of `picks` went to each candidate; fails loudly on a missing pick
// by counting it past the end.
inline std::vector<uint32_t> tally(const std::vector<std::optional<uint32_t>>& picks,
                                   size_t candidates) {
  std::vector<uint32_t> counts(candidates + 1, 0);
  for (const auto& p : picks)
    ++counts[p ? std::min<size_t>(*p, candidates) : candidates];
  return counts;
}

// Picks `count` times, each chosen server keeping its session (active + 1),
// as the runtime does when every session stays open.
inline std::vector<std::optional<uint32_t>> pick_and_hold(conf::Balance balance,
                                                          std::vector<Candidate>& candidates,
                                                          size_t count,
                                                          const KeyFor& key_for = sequence_key) {
  Pool pool = build_pool(candidates, balance, false);
  std::vector<std::optional<uint32_t>> out;
  for (uint64_t n = 0; n < count; ++n) {
    auto chosen = pick(balance, candidates, pool, key_for(n));
    if (chosen) ++candidates[*chosen].active;
    out.push_back(chosen);
  }
  return out;
}

// The longest run of the same choice in `picks`.
inline size_t longest_run(const std::vector<std::optional<uint32_t>>& picks) {
  size_t best = 0, run = 0;
  for (size_t i = 0; i < picks.size(); ++i) {
    run = (i > 0 && picks[i] == picks[i - 1]) ? run + 1 : 1;
    best = std::max(best, run);
  }
  return best;
}

}  // namespace mqlb::lb::balancer::testing
