// random: two weighted draws, the less loaded relative to weight wins.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>

#include "candidates.h"

namespace mqlb::lb::balancer {
namespace {

using namespace testing;
constexpr auto kAlgo = conf::Balance::Random;

// Deterministic randomness: the same seed gives the same test every run.
KeyFor seeded_keys(uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [rng](uint64_t n) { return PickKey{n, 0, (*rng)()}; };
}

// A key whose first draw lands on schedule slot `a` and second on slot `b`.
PickKey draws(uint32_t a, uint32_t b) {
  return PickKey{0, 0, (uint64_t(b) << 32) | a};
}

TEST_CASE("random picks only usable servers", "[balancer][random]") {
  auto candidates = with_weights({1, 1, 1, 1, 1});
  candidates[1].usable = false;
  candidates[3].weight = 0;
  auto counts = tally(pick_many(kAlgo, candidates, 10'000, false, seeded_keys(1)), 5);
  CHECK(counts[1] == 0);
  CHECK(counts[3] == 0);
  CHECK(counts[5] == 0);
  for (uint32_t i : {0, 2, 4}) {
    CHECK(counts[i] > 3000);
    CHECK(counts[i] < 3700);
  }
}

TEST_CASE("random spreads idle servers roughly in proportion to weight", "[balancer][random]") {
  auto candidates = with_weights({1, 2, 3});
  auto counts = tally(pick_many(kAlgo, candidates, 10'000, false, seeded_keys(42)), 3);
  CHECK(counts[3] == 0);
  CHECK(std::abs(int(counts[0]) - 1667) < 250);
  CHECK(std::abs(int(counts[1]) - 3333) < 250);
  CHECK(std::abs(int(counts[2]) - 5000) < 250);
}

TEST_CASE("random prefers the less loaded of its two draws", "[balancer][random]") {
  auto candidates = with_weights({1, 1});
  Pool pool = build_pool(candidates, kAlgo, false);
  REQUIRE(pool.schedule == std::vector<uint32_t>{0, 1});
  candidates[0].active = 10;
  CHECK(pick(kAlgo, candidates, pool, draws(0, 1)) == 1u);
  CHECK(pick(kAlgo, candidates, pool, draws(1, 0)) == 1u);
  candidates[0].active = 0;
  candidates[1].active = 10;
  CHECK(pick(kAlgo, candidates, pool, draws(0, 1)) == 0u);
  CHECK(pick(kAlgo, candidates, pool, draws(1, 0)) == 0u);
  // Equal load: the first draw stands.
  candidates[0].active = 10;
  CHECK(pick(kAlgo, candidates, pool, draws(0, 1)) == 0u);
  CHECK(pick(kAlgo, candidates, pool, draws(1, 0)) == 1u);
}

TEST_CASE("random compares the two draws relative to weight", "[balancer][random]") {
  auto candidates = with_weights({1, 4});
  candidates[0].active = 2;  // 2 per weight
  candidates[1].active = 4;  // 1 per weight
  Pool pool = build_pool(candidates, kAlgo, false);
  uint32_t slot_a =
      uint32_t(std::find(pool.schedule.begin(), pool.schedule.end(), 0u) - pool.schedule.begin());
  uint32_t slot_b =
      uint32_t(std::find(pool.schedule.begin(), pool.schedule.end(), 1u) - pool.schedule.begin());
  CHECK(pick(kAlgo, candidates, pool, draws(slot_a, slot_b)) == 1u);
  CHECK(pick(kAlgo, candidates, pool, draws(slot_b, slot_a)) == 1u);
}

TEST_CASE("random keeps equal servers within a few sessions of each other under load",
          "[balancer][random]") {
  auto candidates = with_weights({1, 1, 1, 1});
  pick_and_hold(kAlgo, candidates, 4000, seeded_keys(7));
  auto [lo, hi] = std::minmax_element(candidates.begin(), candidates.end(),
                                      [](auto& a, auto& b) { return a.active < b.active; });
  // Two choices keep the gap small; one blind draw would drift by ~60.
  CHECK(hi->active - lo->active <= 10);
}

TEST_CASE("random skips a full server and takes the next usable one", "[balancer][random]") {
  auto candidates = with_weights({1, 1, 1});
  candidates[0].maxconn = 1;
  candidates[0].active = 1;
  auto counts = tally(pick_many(kAlgo, candidates, 1000, false, seeded_keys(3)), 3);
  CHECK(counts[0] == 0);
  CHECK(counts[1] + counts[2] == 1000);
}

TEST_CASE("random uses a backup only when no active server is usable", "[balancer][random]") {
  std::vector<Candidate> candidates{active_server(), backup_server(), backup_server()};
  CHECK(tally(pick_many(kAlgo, candidates, 100, false, seeded_keys(5)), 3) ==
        std::vector<uint32_t>{100, 0, 0, 0});
  candidates[0].usable = false;
  CHECK(tally(pick_many(kAlgo, candidates, 100, false, seeded_keys(5)), 3) ==
        std::vector<uint32_t>{0, 100, 0, 0});
  auto all = tally(pick_many(kAlgo, candidates, 1000, true, seeded_keys(5)), 3);
  CHECK(all[0] == 0);
  CHECK(all[1] > 300);
  CHECK(all[2] > 300);
}

TEST_CASE("random returns nothing when no server is usable or free", "[balancer][random]") {
  auto candidates = with_weights({1, 1});
  candidates[0].usable = false;
  candidates[1].maxconn = 2;
  candidates[1].active = 2;
  CHECK(tally(pick_many(kAlgo, candidates, 50, false, seeded_keys(9)), 2) ==
        std::vector<uint32_t>{0, 0, 50});
}

}  // namespace
}  // namespace mqlb::lb::balancer
