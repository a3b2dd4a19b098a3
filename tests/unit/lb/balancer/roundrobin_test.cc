// roundrobin: the backend-wide sequence walks the smooth weighted schedule.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "candidates.h"

namespace mqlb::lb::balancer {
namespace {

using namespace testing;
constexpr auto kAlgo = conf::Balance::RoundRobin;

// With every server usable, static-rr's schedule is roundrobin's: both
// algorithms answer to the same two cases.
TEST_CASE("roundrobin and static-rr give weights 1 2 3 exactly their share of 10000 picks",
          "[balancer][roundrobin][static-rr]") {
  const auto algo = GENERATE(conf::Balance::RoundRobin, conf::Balance::StaticRr);
  INFO(conf::to_string(algo));
  auto candidates = with_weights({1, 2, 3});
  auto counts = tally(pick_many(algo, candidates, 10'000), candidates.size());
  // Smooth WRR never strays a whole session from the ideal share.
  CHECK(std::abs(int(counts[0]) * 6 - 10'000 * 1) <= 6);
  CHECK(std::abs(int(counts[1]) * 6 - 10'000 * 2) <= 6);
  CHECK(std::abs(int(counts[2]) * 6 - 10'000 * 3) <= 6);
  CHECK(counts[3] == 0);

  // Over whole periods the split is exact.
  auto whole = tally(pick_many(algo, candidates, 6 * 1000), candidates.size());
  CHECK(whole == std::vector<uint32_t>{1000, 2000, 3000, 0});
}

TEST_CASE("roundrobin and static-rr alternate strictly between two servers of equal weight",
          "[balancer][roundrobin][static-rr]") {
  const auto algo = GENERATE(conf::Balance::RoundRobin, conf::Balance::StaticRr);
  INFO(conf::to_string(algo));
  auto picks = pick_many(algo, with_weights({1, 1}), 1000);
  for (size_t n = 0; n < picks.size(); ++n) {
    INFO("pick " << n);
    REQUIRE(picks[n] == uint32_t(n % 2));
  }
}

TEST_CASE("roundrobin visits three equal servers in config order", "[balancer][roundrobin]") {
  auto picks = pick_many(kAlgo, with_weights({1, 1, 1}), 9);
  for (size_t n = 0; n < picks.size(); ++n)
    CHECK(picks[n] == uint32_t(n % 3));
}

TEST_CASE("roundrobin interleaves weights 5 1 1 and never sends five in a row",
          "[balancer][roundrobin]") {
  auto picks = pick_many(kAlgo, with_weights({5, 1, 1}), 7 * 100);
  CHECK(longest_run(picks) < 5);
  auto counts = tally(picks, 3);
  CHECK(counts == std::vector<uint32_t>{500, 100, 100, 0});
}

TEST_CASE("roundrobin skips disabled down and weight zero servers", "[balancer][roundrobin]") {
  auto candidates = with_weights({1, 1, 1, 1});
  candidates[0].usable = false;  // disabled or down: the runtime clears `usable`
  candidates[2].weight = 0;      // even when marked usable, weight 0 takes nothing
  auto picks = pick_many(kAlgo, candidates, 100);
  auto counts = tally(picks, candidates.size());
  CHECK(counts == std::vector<uint32_t>{0, 50, 0, 50, 0});
  CHECK(longest_run(picks) == 1);
}

TEST_CASE("roundrobin skips a full server and gives its turn to the next one",
          "[balancer][roundrobin]") {
  auto candidates = with_weights({1, 1, 1});
  candidates[1].maxconn = 4;
  candidates[1].active = 4;
  Pool pool = build_pool(candidates, kAlgo, false);
  CHECK(pick(kAlgo, candidates, pool, {0}) == 0u);
  CHECK(pick(kAlgo, candidates, pool, {1}) == 2u);
  CHECK(pick(kAlgo, candidates, pool, {2}) == 2u);

  candidates[1].active = 3;  // a slot freed
  CHECK(pick(kAlgo, candidates, pool, {1}) == 1u);
}

TEST_CASE("roundrobin uses a backup only when no active server is usable",
          "[balancer][roundrobin]") {
  std::vector<Candidate> candidates{active_server(), backup_server(), active_server()};
  auto counts = tally(pick_many(kAlgo, candidates, 100), candidates.size());
  CHECK(counts == std::vector<uint32_t>{50, 0, 50, 0});

  candidates[0].usable = false;
  counts = tally(pick_many(kAlgo, candidates, 100), candidates.size());
  CHECK(counts == std::vector<uint32_t>{0, 0, 100, 0});

  candidates[2].usable = false;
  counts = tally(pick_many(kAlgo, candidates, 100), candidates.size());
  CHECK(counts == std::vector<uint32_t>{0, 100, 0, 0});
}

TEST_CASE("roundrobin does not fall back to a backup when the active servers are only full",
          "[balancer][roundrobin]") {
  std::vector<Candidate> candidates{active_server(), backup_server()};
  candidates[0].maxconn = 1;
  candidates[0].active = 1;
  Pool pool = build_pool(candidates, kAlgo, false);
  CHECK_FALSE(pick(kAlgo, candidates, pool, {0}));
}

TEST_CASE("roundrobin uses only the first usable backup unless allbackups",
          "[balancer][roundrobin]") {
  std::vector<Candidate> candidates{active_server(), backup_server(), backup_server(),
                                    backup_server()};
  candidates[0].usable = false;

  auto one = tally(pick_many(kAlgo, candidates, 90), candidates.size());
  CHECK(one == std::vector<uint32_t>{0, 90, 0, 0, 0});

  auto all = tally(pick_many(kAlgo, candidates, 90, true), candidates.size());
  CHECK(all == std::vector<uint32_t>{0, 30, 30, 30, 0});

  candidates[1].usable = false;  // the first backup is down: the next one takes over
  auto next = tally(pick_many(kAlgo, candidates, 90), candidates.size());
  CHECK(next == std::vector<uint32_t>{0, 0, 90, 0, 0});
}

TEST_CASE("roundrobin returns nothing when no server is usable", "[balancer][roundrobin]") {
  std::vector<Candidate> candidates{active_server(), backup_server()};
  candidates[0].usable = false;
  candidates[1].usable = false;
  auto counts = tally(pick_many(kAlgo, candidates, 10), candidates.size());
  CHECK(counts == std::vector<uint32_t>{0, 0, 10});
}

TEST_CASE("roundrobin returns nothing when every server is full", "[balancer][roundrobin]") {
  auto candidates = with_weights({1, 2});
  for (auto& c : candidates) {
    c.maxconn = 10;
    c.active = 10;
  }
  auto counts = tally(pick_many(kAlgo, candidates, 10), candidates.size());
  CHECK(counts == std::vector<uint32_t>{0, 0, 10});
}

TEST_CASE("roundrobin rebuilds its order when a server goes down", "[balancer][roundrobin]") {
  // Unlike static-rr, the remaining servers share the turns evenly.
  auto candidates = with_weights({1, 1, 1});
  candidates[1].usable = false;
  auto picks = pick_many(kAlgo, candidates, 6);
  CHECK(picks == std::vector<std::optional<uint32_t>>{0u, 2u, 0u, 2u, 0u, 2u});
}

}  // namespace
}  // namespace mqlb::lb::balancer
