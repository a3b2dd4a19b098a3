// pool.cc: the smooth schedule, the usable set, the shared walk, the address
// hash and the dispatch by algorithm.
#include <catch2/catch.hpp>
#include <string_view>

#include "candidates.h"

namespace mqlb::lb::balancer {
namespace {

using namespace testing;
using Order = std::vector<uint32_t>;

Order schedule_of(std::initializer_list<uint32_t> weights) {
  std::vector<uint32_t> w(weights);
  return smooth_schedule(w);
}

uint32_t hash_text(std::string_view s) {
  return hash_address({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

TEST_CASE("smooth_schedule spreads weights 5 1 1 as a a b a c a a", "[balancer][pool]") {
  CHECK(schedule_of({5, 1, 1}) == Order{0, 0, 1, 0, 2, 0, 0});
}

TEST_CASE("smooth_schedule lists each server weight times per period", "[balancer][pool]") {
  auto order = schedule_of({1, 2, 3, 4});
  REQUIRE(order.size() == 10);
  CHECK(std::count(order.begin(), order.end(), 0u) == 1);
  CHECK(std::count(order.begin(), order.end(), 1u) == 2);
  CHECK(std::count(order.begin(), order.end(), 2u) == 3);
  CHECK(std::count(order.begin(), order.end(), 3u) == 4);
}

TEST_CASE("smooth_schedule divides the weights by their greatest common divisor",
          "[balancer][pool]") {
  CHECK(schedule_of({20, 40, 60}) == schedule_of({1, 2, 3}));
  CHECK(schedule_of({256, 256}) == Order{0, 1});
  CHECK(schedule_of({7}) == Order{0});
}

TEST_CASE("smooth_schedule of no weight or only zero weights is empty", "[balancer][pool]") {
  CHECK(schedule_of({}).empty());
  CHECK(schedule_of({0, 0}).empty());
}

TEST_CASE("smooth_schedule never lists a zero weight", "[balancer][pool]") {
  auto order = schedule_of({0, 3, 0, 1});
  CHECK(order.size() == 4);
  CHECK(std::count(order.begin(), order.end(), 0u) == 0);
  CHECK(std::count(order.begin(), order.end(), 2u) == 0);
}

TEST_CASE("build_pool keeps the usable active servers in config order", "[balancer][pool]") {
  std::vector<Candidate> c{active_server(2), backup_server(), active_server(1), active_server(0),
                           active_server(1)};
  c[4].usable = false;
  Pool pool = build_pool(c, conf::Balance::RoundRobin, false);
  CHECK(pool.members == Order{0, 2});
  CHECK(pool.schedule == Order{0, 2, 0});
}

TEST_CASE("build_pool takes the first usable backup when no active server is usable",
          "[balancer][pool]") {
  std::vector<Candidate> c{active_server(), backup_server(), backup_server(), backup_server()};
  c[0].usable = false;
  c[1].usable = false;
  Pool one = build_pool(c, conf::Balance::RoundRobin, false);
  CHECK(one.members == Order{2});
  CHECK(one.schedule == Order{2});

  Pool all = build_pool(c, conf::Balance::RoundRobin, true);
  CHECK(all.members == Order{2, 3});
  CHECK(all.schedule == Order{2, 3});
}

TEST_CASE("build_pool is empty when nothing is usable", "[balancer][pool]") {
  std::vector<Candidate> c{active_server(), backup_server()};
  c[0].usable = false;
  c[1].usable = false;
  Pool pool = build_pool(c, conf::Balance::RoundRobin, true);
  CHECK(pool.members.empty());
  CHECK(pool.schedule.empty());
  CHECK(build_pool({}, conf::Balance::RoundRobin, false).members.empty());
}

TEST_CASE("build_pool keeps unusable servers in the static-rr schedule only", "[balancer][pool]") {
  std::vector<Candidate> c{active_server(), active_server(), active_server(0), backup_server()};
  c[1].usable = false;
  Pool rr = build_pool(c, conf::Balance::RoundRobin, false);
  Pool st = build_pool(c, conf::Balance::StaticRr, false);
  CHECK(rr.members == Order{0});
  CHECK(st.members == Order{0});
  CHECK(rr.schedule == Order{0});
  CHECK(st.schedule == Order{0, 1});  // weight 0 and backups stay out

  // On the backup tier with allbackups the same holds.
  std::vector<Candidate> b{active_server(), backup_server(), backup_server()};
  b[0].usable = false;
  b[1].usable = false;
  Pool backups = build_pool(b, conf::Balance::StaticRr, true);
  CHECK(backups.members == Order{2});
  CHECK(backups.schedule == Order{1, 2});
}

TEST_CASE("walk_schedule wraps around and skips unusable and full servers", "[balancer][pool]") {
  auto c = with_weights({1, 1, 1});
  Pool pool = build_pool(c, conf::Balance::RoundRobin, false);
  CHECK(walk_schedule(c, pool, 0) == 0u);
  CHECK(walk_schedule(c, pool, 4) == 1u);
  CHECK(walk_schedule(c, pool, ~uint64_t{0} - 1) == uint32_t((~uint64_t{0} - 1) % 3));
  c[1].usable = false;
  c[2].maxconn = 1;
  c[2].active = 1;
  CHECK(walk_schedule(c, pool, 1) == 0u);
  CHECK(walk_schedule(c, pool, 2) == 0u);
  c[0].maxconn = 1;
  c[0].active = 1;
  CHECK_FALSE(walk_schedule(c, pool, 0));
}

TEST_CASE("hash_address is 32-bit FNV-1a", "[balancer][pool]") {
  // The published FNV-1a test vectors.
  CHECK(hash_text("") == 0x811c9dc5u);
  CHECK(hash_text("a") == 0xe40c292cu);
  CHECK(hash_text("foobar") == 0xbf9cf968u);
}

TEST_CASE("pick dispatches to the configured algorithm", "[balancer][pool]") {
  auto c = with_weights({1, 1});
  c[0].active = 5;
  PickKey key{0, 1, 0};
  auto run = [&](conf::Balance b) { return pick(b, c, build_pool(c, b, false), key); };
  CHECK(run(conf::Balance::RoundRobin) == 0u);  // sequence 0
  CHECK(run(conf::Balance::StaticRr) == 0u);    // sequence 0
  CHECK(run(conf::Balance::LeastConn) == 1u);   // fewer sessions
  CHECK(run(conf::Balance::Source) == 1u);      // hash 1
  CHECK(run(conf::Balance::First) == 0u);       // config order
  CHECK(run(conf::Balance::Random) == 0u);      // both draws on slot 0
}

TEST_CASE("pick returns nothing for an empty pool with every algorithm", "[balancer][pool]") {
  auto c = with_weights({1});
  Pool empty;
  for (auto b : {conf::Balance::RoundRobin, conf::Balance::StaticRr, conf::Balance::LeastConn,
                 conf::Balance::Source, conf::Balance::First, conf::Balance::Random})
    CHECK_FALSE(pick(b, c, empty, {3, 3, 3}));
}

}  // namespace
}  // namespace mqlb::lb::balancer
