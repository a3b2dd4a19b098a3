// source with hash-type consistent: the client hash finds a point on a ring
// of points per server, so a server that goes or comes moves only its share.
#include <array>
#include <catch2/catch.hpp>
#include <string>

#include "candidates.h"

namespace mqlb::lb::balancer {
namespace {

using namespace testing;
constexpr auto kAlgo = conf::Balance::Source;
constexpr auto kRing = conf::HashType::Consistent;
constexpr uint32_t kClients = 30000;

uint32_t client_hash(uint32_t n) {
  std::array<uint8_t, 4> ip{10, uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
  return hash_address(ip);
}

uint32_t name_id(const std::string& name) {
  return hash_address({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
}

// Servers b1..bN (ids from their names, as the runtime makes them) with these weights.
std::vector<Candidate> servers(std::initializer_list<uint32_t> weights) {
  std::vector<Candidate> out = with_weights(weights);
  for (size_t i = 0; i < out.size(); ++i)
    out[i].id = name_id("b" + std::to_string(i + 1));
  return out;
}

// Where each client goes: the candidate's id, so that lists in another order compare.
std::vector<uint32_t> placement(const std::vector<Candidate>& c, conf::HashType hash_type = kRing) {
  Pool pool = build_pool(c, kAlgo, false, hash_type);
  std::vector<uint32_t> out;
  for (uint32_t client = 0; client < kClients; ++client)
    out.push_back(c[pick(kAlgo, c, pool, {client, client_hash(client), client}).value()].id);
  return out;
}

std::vector<uint32_t> shares(const std::vector<Candidate>& c, const std::vector<uint32_t>& at) {
  std::vector<uint32_t> counts(c.size(), 0);
  for (uint32_t id : at)
    for (size_t i = 0; i < c.size(); ++i)
      if (c[i].id == id) ++counts[i];
  return counts;
}

size_t moved(const std::vector<uint32_t>& before, const std::vector<uint32_t>& after) {
  size_t n = 0;
  for (size_t i = 0; i < before.size(); ++i)
    n += before[i] != after[i];
  return n;
}

TEST_CASE("consistent builds a ring only for source with hash-type consistent",
          "[balancer][consistent]") {
  auto c = servers({1, 2});
  CHECK(build_pool(c, kAlgo, false, kRing).ring.size() == 3 * kRingPoints);
  CHECK(build_pool(c, kAlgo, false).ring.empty());
  CHECK(build_pool(c, conf::Balance::RoundRobin, false, kRing).ring.empty());
  auto ring = build_pool(c, kAlgo, false, kRing).ring;
  CHECK(std::is_sorted(ring.begin(), ring.end()));
}

TEST_CASE("consistent sends a client to the same server on every pick and rebuild",
          "[balancer][consistent]") {
  auto c = servers({1, 1, 1});
  CHECK(placement(c) == placement(c));
  Pool pool = build_pool(c, kAlgo, false, kRing);
  for (uint32_t client = 0; client < 100; ++client) {
    auto first = pick(kAlgo, c, pool, {0, client_hash(client), 0});
    for (uint64_t n = 1; n < 10; ++n)
      REQUIRE(pick(kAlgo, c, pool, {n, client_hash(client), n * 7919}) == first);
  }
}

TEST_CASE("consistent spreads clients evenly over equal servers", "[balancer][consistent]") {
  for (size_t n : {2u, 3u, 5u}) {
    std::vector<Candidate> c;
    for (size_t i = 0; i < n; ++i)
      c.push_back(servers({1, 1, 1, 1, 1})[i]);
    auto counts = shares(c, placement(c));
    INFO(n << " servers");
    for (uint32_t count : counts) {
      // Within a fifth of an even share with 64 points per server.
      CHECK(count > kClients / n * 8 / 10);
      CHECK(count < kClients / n * 12 / 10);
    }
  }
}

TEST_CASE("consistent spreads clients in proportion to weight", "[balancer][consistent]") {
  auto c = servers({1, 3});
  auto counts = shares(c, placement(c));
  CHECK(counts[1] > 2 * counts[0]);
  CHECK(counts[1] < 4 * counts[0]);
}

TEST_CASE("consistent moves only the clients of a server that goes down",
          "[balancer][consistent]") {
  auto c = servers({1, 1, 1, 1});
  auto before = placement(c);
  c[2].usable = false;
  auto after = placement(c);
  auto counts_before = shares(c, before);
  for (size_t i = 0; i < before.size(); ++i)
    if (before[i] != c[2].id) REQUIRE(after[i] == before[i]);
  CHECK(moved(before, after) == counts_before[2]);
  // Its clients go to the others, not all to one neighbour.
  auto counts_after = shares(c, after);
  for (size_t i : {0u, 1u, 3u})
    CHECK(counts_after[i] > counts_before[i]);
  // Back up: every client is where it was.
  c[2].usable = true;
  CHECK(placement(c) == before);
}

TEST_CASE("consistent moves only the new server's share when one is added",
          "[balancer][consistent]") {
  auto c = servers({1, 1, 1, 1});
  auto three = std::vector<Candidate>(c.begin(), c.begin() + 3);
  auto before = placement(three);
  auto after = placement(c);
  for (size_t i = 0; i < before.size(); ++i)
    if (after[i] != c[3].id) REQUIRE(after[i] == before[i]);
  // About a quarter of the clients moved, all of them to the new server.
  CHECK(moved(before, after) > kClients / 4 * 7 / 10);
  CHECK(moved(before, after) < kClients / 4 * 13 / 10);
  // map-based reshuffles far more: the schedule's length changed.
  CHECK(moved(placement(three, conf::HashType::MapBased), placement(c, conf::HashType::MapBased)) >
        kClients / 2);
}

TEST_CASE("consistent does not depend on the order servers are listed in",
          "[balancer][consistent]") {
  auto c = servers({1, 2, 1});
  auto reversed = std::vector<Candidate>(c.rbegin(), c.rend());
  CHECK(placement(c) == placement(reversed));
}

TEST_CASE("consistent keeps a server's clients when only another's weight changes",
          "[balancer][consistent]") {
  auto c = servers({1, 1, 1});
  auto before = placement(c);
  c[0].weight = 2;
  auto after = placement(c);
  // Only moves onto b1, which gained points; none between b2 and b3.
  for (size_t i = 0; i < before.size(); ++i)
    if (after[i] != c[0].id) REQUIRE(after[i] == before[i]);
  CHECK(moved(before, after) > 0);
}

TEST_CASE("consistent passes a full or unusable server to the next point on the ring",
          "[balancer][consistent]") {
  auto c = servers({1, 1, 1});
  Pool pool = build_pool(c, kAlgo, false, kRing);
  const uint32_t client = client_hash(42);
  const uint32_t first = pick(kAlgo, c, pool, {0, client, 0}).value();
  c[first].maxconn = 1;
  c[first].active = 1;
  auto second = pick(kAlgo, c, pool, {0, client, 0});
  REQUIRE(second);
  CHECK(*second != first);
  c[*second].usable = false;
  auto third = pick(kAlgo, c, pool, {0, client, 0});
  REQUIRE(third);
  CHECK(*third != first);
  CHECK(*third != *second);
  c[*third].usable = false;
  CHECK_FALSE(pick(kAlgo, c, pool, {0, client, 0}));
}

TEST_CASE("consistent uses the backups when no active server is usable", "[balancer][consistent]") {
  std::vector<Candidate> c{active_server(), backup_server(), backup_server()};
  for (size_t i = 0; i < c.size(); ++i)
    c[i].id = name_id("s" + std::to_string(i));
  c[0].usable = false;
  Pool one = build_pool(c, kAlgo, false, kRing);
  CHECK(one.ring.size() == kRingPoints);
  Pool all = build_pool(c, kAlgo, true, kRing);
  CHECK(all.ring.size() == 2 * kRingPoints);
  auto counts = shares(c, [&] {
    std::vector<uint32_t> at;
    for (uint32_t client = 0; client < 1000; ++client)
      at.push_back(c[pick(kAlgo, c, all, {0, client_hash(client), 0}).value()].id);
    return at;
  }());
  CHECK(counts[0] == 0);
  CHECK(counts[1] > 0);
  CHECK(counts[2] > 0);
}

}  // namespace
}  // namespace mqlb::lb::balancer
