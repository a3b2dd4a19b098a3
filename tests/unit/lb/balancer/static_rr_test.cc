// static-rr: roundrobin over a schedule that keeps unusable servers in place.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "candidates.h"

namespace mqlb::lb::balancer {
namespace {

using namespace testing;
constexpr auto kAlgo = conf::Balance::StaticRr;
using Picks = std::vector<std::optional<uint32_t>>;

TEST_CASE("static-rr interleaves weights 5 1 1 and never sends five in a row",
          "[balancer][static-rr]") {
  auto picks = pick_many(kAlgo, with_weights({5, 1, 1}), 7 * 100);
  CHECK(longest_run(picks) < 5);
  CHECK(tally(picks, 3) == std::vector<uint32_t>{500, 100, 100, 0});
}

TEST_CASE("static-rr keeps positions when a server is down and its turns go to the next",
          "[balancer][static-rr]") {
  auto candidates = with_weights({1, 1, 1});
  auto all_up = build_pool(candidates, kAlgo, false);

  candidates[1].usable = false;
  auto one_down = build_pool(candidates, kAlgo, false);
  // The order is the same; only the pick skips the down server.
  CHECK(one_down.schedule == all_up.schedule);
  CHECK(one_down.members == std::vector<uint32_t>{0, 2});
  CHECK(pick_many(kAlgo, candidates, 6) == Picks{0u, 2u, 2u, 0u, 2u, 2u});

  candidates[1].usable = true;  // back up: it finds its old place at once
  CHECK(pick_many(kAlgo, candidates, 6) == Picks{0u, 1u, 2u, 0u, 1u, 2u});
}

TEST_CASE("static-rr gives a down weighted server's turns to the next usable entry",
          "[balancer][static-rr]") {
  // Weights 2 1 1 schedule a b c a. With a down, each a turn falls to the next
  // usable entry of that same order: b b c b.
  auto candidates = with_weights({2, 1, 1});
  CHECK(pick_many(kAlgo, candidates, 4) == Picks{0u, 1u, 2u, 0u});
  candidates[0].usable = false;
  CHECK(pick_many(kAlgo, candidates, 8) == Picks{1u, 1u, 2u, 1u, 1u, 1u, 2u, 1u});
}

TEST_CASE("static-rr skips disabled down and weight zero servers", "[balancer][static-rr]") {
  auto candidates = with_weights({1, 1, 1, 1});
  candidates[0].usable = false;
  candidates[2].weight = 0;
  auto counts = tally(pick_many(kAlgo, candidates, 300), candidates.size());
  CHECK(counts[0] == 0);
  CHECK(counts[2] == 0);
  CHECK(counts[1] + counts[3] == 300);
  CHECK(counts[4] == 0);
}

TEST_CASE("static-rr skips a full server", "[balancer][static-rr]") {
  auto candidates = with_weights({1, 1});
  candidates[0].maxconn = 2;
  candidates[0].active = 2;
  auto counts = tally(pick_many(kAlgo, candidates, 10), candidates.size());
  CHECK(counts == std::vector<uint32_t>{0, 10, 0});
}

TEST_CASE("static-rr uses a backup only when no active server is usable", "[balancer][static-rr]") {
  std::vector<Candidate> candidates{active_server(), backup_server(), active_server()};
  CHECK(tally(pick_many(kAlgo, candidates, 10), 3) == std::vector<uint32_t>{5, 0, 5, 0});
  candidates[0].usable = false;
  candidates[2].usable = false;
  CHECK(tally(pick_many(kAlgo, candidates, 10), 3) == std::vector<uint32_t>{0, 10, 0, 0});
}

TEST_CASE("static-rr uses only the first usable backup unless allbackups",
          "[balancer][static-rr]") {
  std::vector<Candidate> candidates{active_server(), backup_server(), backup_server()};
  candidates[0].usable = false;
  CHECK(tally(pick_many(kAlgo, candidates, 10), 3) == std::vector<uint32_t>{0, 10, 0, 0});
  CHECK(tally(pick_many(kAlgo, candidates, 10, true), 3) == std::vector<uint32_t>{0, 5, 5, 0});
}

TEST_CASE("static-rr returns nothing when no server is usable", "[balancer][static-rr]") {
  std::vector<Candidate> candidates{active_server(), backup_server()};
  candidates[0].usable = false;
  candidates[1].usable = false;
  CHECK(tally(pick_many(kAlgo, candidates, 10), 2) == std::vector<uint32_t>{0, 0, 10});
}

}  // namespace
}  // namespace mqlb::lb::balancer
