// leastconn: the fewest live sessions relative to weight; ties rotate.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "candidates.h"

namespace mqlb::lb::balancer {
namespace {

using namespace testing;
constexpr auto kAlgo = conf::Balance::LeastConn;

std::optional<uint32_t> pick_once(const std::vector<Candidate>& candidates, uint64_t sequence = 0) {
  Pool pool = build_pool(candidates, kAlgo, false);
  return pick(kAlgo, candidates, pool, {sequence});
}

TEST_CASE("leastconn picks the server with the fewest sessions", "[balancer][leastconn]") {
  auto candidates = with_weights({1, 1, 1});
  candidates[0].active = 5;
  candidates[1].active = 2;
  candidates[2].active = 7;
  for (uint64_t seq = 0; seq < 6; ++seq)
    CHECK(pick_once(candidates, seq) == 1u);
}

TEST_CASE("leastconn compares sessions relative to weight", "[balancer][leastconn]") {
  auto candidates = with_weights({1, 4});
  // (2+1)/1 = 3 against (8+1)/4 = 2.25: the heavier server is less loaded.
  candidates[0].active = 2;
  candidates[1].active = 8;
  CHECK(pick_once(candidates) == 1u);
  CHECK(pick_once(candidates, 1) == 1u);
  // (1+1)/1 = 2 against 2.25: now the light one is.
  candidates[0].active = 1;
  CHECK(pick_once(candidates) == 0u);
  CHECK(pick_once(candidates, 1) == 0u);
}

TEST_CASE("leastconn rotates among tied servers with the sequence", "[balancer][leastconn]") {
  auto candidates = with_weights({1, 1, 1});
  for (auto& c : candidates)
    c.active = 3;
  for (uint64_t seq = 0; seq < 9; ++seq)
    CHECK(pick_once(candidates, seq) == uint32_t(seq % 3));
}

TEST_CASE("leastconn rotates only among the tied servers", "[balancer][leastconn]") {
  auto candidates = with_weights({1, 1, 1, 1});
  candidates[0].active = 1;
  candidates[1].active = 0;
  candidates[2].active = 1;
  candidates[3].active = 0;
  std::vector<uint32_t> seen(4, 0);
  for (uint64_t seq = 0; seq < 100; ++seq) {
    auto chosen = pick_once(candidates, seq);
    REQUIRE(chosen);
    ++seen[*chosen];
  }
  CHECK(seen[0] == 0);
  CHECK(seen[2] == 0);
  CHECK(seen[1] > 0);
  CHECK(seen[3] > 0);
}

TEST_CASE("leastconn shares 10000 held sessions by weights 1 2 3", "[balancer][leastconn]") {
  auto candidates = with_weights({1, 2, 3});
  auto picks = pick_and_hold(kAlgo, candidates, 10'000);
  CHECK(tally(picks, 3)[3] == 0);
  // Every pick evens out (active + 1) / weight, so each share stays within
  // one session of the ideal 10000 * weight / 6.
  CHECK(std::abs(int(candidates[0].active) * 6 - 10'000 * 1) <= 6);
  CHECK(std::abs(int(candidates[1].active) * 6 - 10'000 * 2) <= 6);
  CHECK(std::abs(int(candidates[2].active) * 6 - 10'000 * 3) <= 6);
}

TEST_CASE("leastconn alternates strictly between two idle equal servers as sessions accumulate",
          "[balancer][leastconn]") {
  auto candidates = with_weights({1, 1});
  auto picks = pick_and_hold(kAlgo, candidates, 1000);
  CHECK(longest_run(picks) == 1);
  CHECK(candidates[0].active == 500);
  CHECK(candidates[1].active == 500);
}

TEST_CASE("leastconn skips disabled down weight zero and full servers", "[balancer][leastconn]") {
  auto candidates = with_weights({1, 1, 1, 1, 1});
  candidates[0].usable = false;
  candidates[1].weight = 0;
  candidates[2].maxconn = 1;
  candidates[2].active = 1;  // full, and the least loaded relative to maxconn
  candidates[3].active = 50;
  candidates[4].active = 60;
  for (uint64_t seq = 0; seq < 10; ++seq)
    CHECK(pick_once(candidates, seq) == 3u);
}

TEST_CASE("leastconn uses a backup only when no active server is usable", "[balancer][leastconn]") {
  std::vector<Candidate> candidates{active_server(), backup_server(), backup_server()};
  candidates[0].active = 1000;
  CHECK(pick_once(candidates) == 0u);
  candidates[0].usable = false;
  candidates[1].active = 10;  // the first backup, however loaded, unless allbackups
  for (uint64_t seq = 0; seq < 4; ++seq)
    CHECK(pick_once(candidates, seq) == 1u);

  Pool all = build_pool(candidates, kAlgo, true);
  CHECK(pick(kAlgo, candidates, all, {0}) == 2u);
}

TEST_CASE("leastconn returns nothing when every server is unusable or full",
          "[balancer][leastconn]") {
  auto candidates = with_weights({1, 1});
  candidates[0].usable = false;
  candidates[1].maxconn = 3;
  candidates[1].active = 3;
  CHECK_FALSE(pick_once(candidates));
  candidates[1].usable = false;
  CHECK_FALSE(pick_once(candidates));
}

}  // namespace
}  // namespace mqlb::lb::balancer
