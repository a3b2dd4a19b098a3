// Backend::acquire / release: the lock-free slot taking shared by workers,
// on a snapshot built by build_runtime (no sockets: literal addresses).
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "lb/runtime.h"

namespace mqlb::lb {
namespace {

struct ServerSpec {
  const char* name;
  uint32_t weight = 1;
  uint32_t maxconn = 0;
  bool backup = false;
};

// A snapshot with one backend, built the way mqlb builds it (literal
// addresses resolve without the network), for two workers.
struct Built {
  std::unique_ptr<StateRegistry> registry;
  std::shared_ptr<Runtime> runtime;
  Backend* operator->() const { return runtime->backends[0].get(); }
  Backend& operator*() const { return *runtime->backends[0]; }
};

Built make_backend(conf::Balance balance, std::vector<ServerSpec> specs) {
  conf::Config config;
  conf::Backend c;
  c.name = "mqtt";
  c.balance = balance;
  for (const auto& s : specs) {
    conf::Server cs;
    cs.name = s.name;
    cs.address = "127.0.0.1";
    cs.port = 1884;
    cs.weight = s.weight;
    cs.maxconn = s.maxconn;
    cs.backup = s.backup;
    c.servers.push_back(cs);
  }
  config.backends.push_back(c);
  config.global.log.clear();
  Built b{std::make_unique<StateRegistry>(2), nullptr};
  std::vector<std::string> errors;
  b.runtime = build_runtime(config, *b.registry, errors);
  REQUIRE(errors.empty());
  return b;
}

// The server picked for worker `worker`, its slot taken, or null.
const Server* pick(const Built& b, uint32_t hash, const Server* exclude, unsigned worker = 0) {
  return b->acquire(worker, hash, exclude).server;
}

uint32_t active(const Server* s) {
  return s->state->active.get();
}

TEST_CASE("acquire takes a slot and release gives it back", "[runtime]") {
  auto b = make_backend(conf::Balance::RoundRobin, {{"b1"}});
  const Server* s = pick(b, 0, nullptr);
  REQUIRE(s == b->servers[0].get());
  CHECK(active(s) == 1);
  CHECK(b->state->active.get() == 1);
  b->release(s);
  CHECK(active(s) == 0);
  CHECK(b->state->active.get() == 0);
}

TEST_CASE("acquire alternates strictly between two servers over sequential picks", "[runtime]") {
  auto b = make_backend(conf::Balance::RoundRobin, {{"b1"}, {"b2"}});
  const Server* last = nullptr;
  for (int n = 0; n < 100; ++n) {
    const Server* s = pick(b, 0, nullptr);
    REQUIRE(s);
    REQUIRE(s != last);
    last = s;
  }
  CHECK(active(b->servers[0].get()) == 50);
  CHECK(active(b->servers[1].get()) == 50);
}

TEST_CASE("acquire alternates strictly when two threads take turns picking", "[runtime]") {
  auto b = make_backend(conf::Balance::RoundRobin, {{"b1"}, {"b2"}});
  constexpr int kPicks = 400;
  std::vector<const Server*> order(kPicks, nullptr);
  std::atomic<int> next{0};  // index of the next pick; even for thread 0, odd for 1
  auto worker = [&](int parity) {
    for (;;) {
      int n = next.load(std::memory_order_acquire);
      if (n >= kPicks) return;
      if (n % 2 != parity) {
        std::this_thread::yield();
        continue;
      }
      order[n] = pick(b, 0, nullptr, parity);
      b->release(order[n]);
      next.store(n + 1, std::memory_order_release);
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  for (int n = 0; n < kPicks; ++n) {
    INFO("pick " << n);
    REQUIRE(order[n]);
    if (n > 0) REQUIRE(order[n] != order[n - 1]);
  }
}

TEST_CASE("acquire never lets more than maxconn sessions hold a server under two threads",
          "[runtime]") {
  auto b = make_backend(conf::Balance::RoundRobin, {{"b1", 1, 3}});
  const Server* s = b->servers[0].get();
  std::atomic<int> holding{0}, most{0}, refused{0}, granted{0};
  auto worker = [&](unsigned index) {
    for (int round = 0; round < 3000; ++round) {
      // Each thread asks for two slots: four wanted, three exist.
      const Server* got[2] = {pick(b, 0, nullptr, index), pick(b, 0, nullptr, index)};
      for (const Server* g : got) {
        if (!g) {
          ++refused;
          continue;
        }
        ++granted;
        int now = ++holding;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
      }
      for (const Server* g : got) {
        if (!g) continue;
        --holding;
        b->release(g);
      }
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  CHECK(most <= 3);
  CHECK(most >= 2);
  CHECK(active(s) == 0);
  CHECK(b->state->active.get() == 0);
  CHECK(granted + refused == 2 * 2 * 3000);
}

TEST_CASE("acquire honours maxconn on each server and refuses when all are full", "[runtime]") {
  auto b = make_backend(conf::Balance::RoundRobin, {{"b1", 1, 2}, {"b2", 1, 1}});
  std::vector<const Server*> held;
  for (int n = 0; n < 3; ++n) {
    held.push_back(pick(b, 0, nullptr));
    REQUIRE(held.back());
  }
  CHECK(active(b->servers[0].get()) == 2);
  CHECK(active(b->servers[1].get()) == 1);
  CHECK(pick(b, 0, nullptr) == nullptr);
  CHECK(active(b->servers[0].get()) == 2);  // a refused attempt leaves no slot behind
  CHECK(active(b->servers[1].get()) == 1);
  b->release(held[0]);
  CHECK(pick(b, 0, nullptr) == held[0]);
}

TEST_CASE("acquire with exclude picks another server for a redispatch", "[runtime]") {
  auto b = make_backend(conf::Balance::RoundRobin, {{"b1"}, {"b2"}, {"b3"}});
  const Server* failed = b->servers[1].get();
  for (int n = 0; n < 30; ++n) {
    const Server* s = pick(b, 0, failed);
    REQUIRE(s);
    CHECK(s != failed);
    b->release(s);
  }
}

TEST_CASE("acquire with exclude avoids the excluded server under every algorithm", "[runtime]") {
  for (auto algo : {conf::Balance::RoundRobin, conf::Balance::StaticRr, conf::Balance::LeastConn,
                    conf::Balance::Source, conf::Balance::First, conf::Balance::Random}) {
    auto b = make_backend(algo, {{"b1"}, {"b2"}});
    const Server* failed = b->servers[0].get();
    for (uint32_t hash = 0; hash < 20; ++hash) {
      INFO("algorithm " << conf::to_string(algo) << " hash " << hash);
      const Server* s = pick(b, hash, failed);
      REQUIRE(s == b->servers[1].get());
      b->release(s);
    }
  }
}

TEST_CASE("acquire returns the excluded server when it is the only one", "[runtime]") {
  auto b = make_backend(conf::Balance::RoundRobin, {{"b1"}});
  const Server* only = b->servers[0].get();
  CHECK(pick(b, 0, only) == only);
}

TEST_CASE("acquire returns the excluded server when every other server is full", "[runtime]") {
  auto b = make_backend(conf::Balance::RoundRobin, {{"b1"}, {"b2", 1, 1}});
  const Server* failed = b->servers[0].get();
  b->servers[1]->state->active.take();  // b2 is at its maxconn
  CHECK(pick(b, 0, failed) == failed);
}

TEST_CASE("acquire stops picking a server that goes down and resumes when it is back",
          "[runtime]") {
  auto b = make_backend(conf::Balance::RoundRobin, {{"b1"}, {"b2"}});
  b->servers[0]->state->set_health(Health::Down);
  for (int n = 0; n < 10; ++n) {
    const Server* s = pick(b, 0, nullptr);
    REQUIRE(s == b->servers[1].get());
    b->release(s);
  }
  b->servers[0]->state->set_health(Health::Up);
  const Server* a = pick(b, 0, nullptr);
  const Server* c = pick(b, 0, nullptr);
  CHECK(a != c);
}

TEST_CASE("acquire falls back to the backup when every active server is down", "[runtime]") {
  auto b = make_backend(conf::Balance::RoundRobin, {{"b1"}, {"spare", 1, 0, true}});
  CHECK(pick(b, 0, nullptr) == b->servers[0].get());
  b->servers[0]->state->set_health(Health::Down);
  CHECK(pick(b, 0, nullptr) == b->servers[1].get());
  CHECK(b->has_usable_server());
  b->servers[1]->state->set_health(Health::Down);
  CHECK(pick(b, 0, nullptr) == nullptr);
  CHECK_FALSE(b->has_usable_server());
}

TEST_CASE("acquire under leastconn sees the live counts of the servers", "[runtime]") {
  auto b = make_backend(conf::Balance::LeastConn, {{"b1"}, {"b2"}});
  const Server* first = pick(b, 0, nullptr);
  REQUIRE(first);
  // The other server is now less loaded, whatever the sequence says.
  for (int n = 0; n < 5; ++n) {
    const Server* s = pick(b, 0, nullptr);
    REQUIRE(s);
    CHECK(s != first);
    b->release(s);
  }
}

}  // namespace
}  // namespace mqlb::lb
