// first: the first server in config order with a free slot.
#include <catch2/catch.hpp>

#include "candidates.h"

namespace mqlb::lb::balancer {
namespace {

using namespace testing;
constexpr auto kAlgo = conf::Balance::First;
using Picks = std::vector<std::optional<uint32_t>>;

TEST_CASE("first fills the first server to its maxconn then the next", "[balancer][first]") {
  auto candidates = with_weights({1, 1, 1});
  for (auto& c : candidates)
    c.maxconn = 3;
  auto picks = pick_and_hold(kAlgo, candidates, 10);
  CHECK(picks == Picks{0u, 0u, 0u, 1u, 1u, 1u, 2u, 2u, 2u, std::nullopt});
}

TEST_CASE("first goes back to the first server as soon as it has a free slot",
          "[balancer][first]") {
  auto candidates = with_weights({1, 1});
  candidates[0].maxconn = 2;
  candidates[0].active = 2;
  Pool pool = build_pool(candidates, kAlgo, false);
  CHECK(pick(kAlgo, candidates, pool, {0}) == 1u);
  candidates[0].active = 1;
  CHECK(pick(kAlgo, candidates, pool, {1}) == 0u);
}

TEST_CASE("first keeps every session on an unlimited first server whatever the weights",
          "[balancer][first]") {
  auto candidates = with_weights({1, 100});
  auto picks = pick_and_hold(kAlgo, candidates, 1000);
  CHECK(tally(picks, 2) == std::vector<uint32_t>{1000, 0, 0});
}

TEST_CASE("first skips disabled down and weight zero servers", "[balancer][first]") {
  auto candidates = with_weights({1, 1, 1});
  candidates[0].usable = false;
  candidates[1].weight = 0;
  CHECK(tally(pick_many(kAlgo, candidates, 10), 3) == std::vector<uint32_t>{0, 0, 10, 0});
}

TEST_CASE("first uses backups only when no active server is usable", "[balancer][first]") {
  std::vector<Candidate> candidates{backup_server(), active_server(), backup_server()};
  CHECK(tally(pick_many(kAlgo, candidates, 5), 3) == std::vector<uint32_t>{0, 5, 0, 0});
  candidates[1].usable = false;
  CHECK(tally(pick_many(kAlgo, candidates, 5), 3) == std::vector<uint32_t>{5, 0, 0, 0});

  // Only the first backup is in the pool: once it is full nothing is free.
  candidates[0].maxconn = 2;
  CHECK(pick_and_hold(kAlgo, candidates, 3) == Picks{0u, 0u, std::nullopt});
  // With allbackups the next backup takes over.
  Pool all = build_pool(candidates, kAlgo, true);
  CHECK(pick(kAlgo, candidates, all, {0}) == 2u);
}

TEST_CASE("first returns nothing when every server is full or unusable", "[balancer][first]") {
  auto candidates = with_weights({1, 1});
  candidates[0].maxconn = 1;
  candidates[0].active = 1;
  candidates[1].usable = false;
  CHECK_FALSE(pick_many(kAlgo, candidates, 1)[0]);
}

}  // namespace
}  // namespace mqlb::lb::balancer
