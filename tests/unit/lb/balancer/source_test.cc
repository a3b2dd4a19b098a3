// source: the client address hash indexes the weighted schedule.
#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>

#include "candidates.h"

namespace mqlb::lb::balancer {
namespace {

using namespace testing;
constexpr auto kAlgo = conf::Balance::Source;

// The hash of IPv4 client 10.0.x.y, n = x * 256 + y.
uint32_t client_hash(uint32_t n) {
  std::array<uint8_t, 4> ip{10, 0, uint8_t(n >> 8), uint8_t(n)};
  return hash_address(ip);
}

KeyFor client_key(uint32_t client) {
  return [client](uint64_t n) { return PickKey{n, client_hash(client), n * 7919}; };
}

TEST_CASE("source sends the same client to the same server on every pick", "[balancer][source]") {
  auto candidates = with_weights({1, 2, 3, 1});
  for (uint32_t client = 0; client < 200; ++client) {
    // The sequence and the randomness change on every pick; the hash does not.
    auto picks = pick_many(kAlgo, candidates, 20, false, client_key(client));
    INFO("client " << client);
    REQUIRE(picks[0]);
    for (const auto& p : picks)
      REQUIRE(p == picks[0]);
  }
}

TEST_CASE("source is stable across pool rebuilds while the usable set is unchanged",
          "[balancer][source]") {
  auto candidates = with_weights({1, 1, 1});
  Pool first = build_pool(candidates, kAlgo, false);
  Pool again = build_pool(candidates, kAlgo, false);
  for (uint32_t client = 0; client < 500; ++client) {
    PickKey key{client, client_hash(client), 0};
    REQUIRE(pick(kAlgo, candidates, first, key) == pick(kAlgo, candidates, again, key));
  }
}

TEST_CASE("source spreads different client addresses evenly over equal servers",
          "[balancer][source]") {
  auto candidates = with_weights({1, 1, 1});
  Pool pool = build_pool(candidates, kAlgo, false);
  std::vector<uint32_t> counts(3, 0);
  for (uint32_t client = 0; client < 3000; ++client) {
    auto chosen = pick(kAlgo, candidates, pool, {0, client_hash(client), 0});
    REQUIRE(chosen);
    ++counts[*chosen];
  }
  for (uint32_t c : counts) {
    CHECK(c > 900);
    CHECK(c < 1100);
  }
}

TEST_CASE("source spreads clients in proportion to weight", "[balancer][source]") {
  auto candidates = with_weights({1, 2, 3});
  Pool pool = build_pool(candidates, kAlgo, false);
  std::vector<int> counts(3, 0);
  for (uint32_t client = 0; client < 6000; ++client)
    ++counts[pick(kAlgo, candidates, pool, {0, client_hash(client), 0}).value()];
  CHECK(std::abs(counts[0] - 1000) < 150);
  CHECK(std::abs(counts[1] - 2000) < 200);
  CHECK(std::abs(counts[2] - 3000) < 250);
}

TEST_CASE("source moves a client off a full server to the next in the schedule",
          "[balancer][source]") {
  auto candidates = with_weights({1, 1, 1});
  Pool pool = build_pool(candidates, kAlgo, false);
  PickKey key{0, 1, 0};  // hash 1 lands on the second server
  REQUIRE(pick(kAlgo, candidates, pool, key) == 1u);
  candidates[1].maxconn = 5;
  candidates[1].active = 5;
  CHECK(pick(kAlgo, candidates, pool, key) == 2u);
  candidates[1].active = 4;
  CHECK(pick(kAlgo, candidates, pool, key) == 1u);
}

TEST_CASE("source never picks disabled down or weight zero servers", "[balancer][source]") {
  auto candidates = with_weights({1, 1, 1, 1});
  candidates[0].usable = false;
  candidates[3].weight = 0;
  Pool pool = build_pool(candidates, kAlgo, false);
  std::vector<uint32_t> counts(4, 0);
  for (uint32_t client = 0; client < 1000; ++client)
    ++counts[pick(kAlgo, candidates, pool, {0, client_hash(client), 0}).value()];
  CHECK(counts[0] == 0);
  CHECK(counts[3] == 0);
  CHECK(counts[1] > 0);
  CHECK(counts[2] > 0);
}

TEST_CASE("source uses a backup only when no active server is usable", "[balancer][source]") {
  std::vector<Candidate> candidates{active_server(), backup_server(), backup_server()};
  for (uint32_t client = 0; client < 50; ++client)
    CHECK(pick_many(kAlgo, candidates, 1, false, client_key(client))[0] == 0u);
  candidates[0].usable = false;
  for (uint32_t client = 0; client < 50; ++client)
    CHECK(pick_many(kAlgo, candidates, 1, false, client_key(client))[0] == 1u);
  auto all = tally(pick_many(kAlgo, candidates, 1, true, client_key(0)), 3);
  CHECK(all[0] + all[3] == 0);
}

TEST_CASE("source returns nothing when no server is usable", "[balancer][source]") {
  std::vector<Candidate> candidates{active_server(), backup_server()};
  candidates[0].usable = false;
  candidates[1].usable = false;
  CHECK_FALSE(pick_many(kAlgo, candidates, 1, false, client_key(7))[0]);
}

}  // namespace
}  // namespace mqlb::lb::balancer
