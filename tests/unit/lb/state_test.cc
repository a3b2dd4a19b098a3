// Long-lived state: gauges, per-worker counters, the registry's identity by
// name, and the backend queues' FIFO hand-off of released slots.
#include "lb/state.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

namespace mqlb::lb {
namespace {

// Records grants in order, as a worker's inbox would receive them.
struct RecordingSink : Waiter::Sink {
  std::vector<Waiter*> granted;
  void on_granted(Waiter* w) override { granted.push_back(w); }
};

TEST_CASE("a gauge takes slots up to its limit and never beyond", "[state]") {
  Gauge g;
  CHECK(g.try_take(2));
  CHECK(g.try_take(2));
  CHECK_FALSE(g.try_take(2));
  CHECK(g.get() == 2);  // a refused take leaves nothing to undo
  g.give();
  CHECK(g.try_take(2));
  CHECK(g.try_take(0));  // 0: no limit
  CHECK(g.get() == 3);
}

TEST_CASE("a gauge shared by two threads never exceeds its limit", "[state]") {
  Gauge g;
  std::atomic<uint32_t> most{0};
  auto run = [&] {
    for (int n = 0; n < 20000; ++n) {
      if (!g.try_take(3)) continue;
      uint32_t now = g.get();
      uint32_t seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      g.give();
    }
  };
  std::thread a(run), b(run);
  a.join();
  b.join();
  CHECK(most <= 3);
  CHECK(g.get() == 0);
}

TEST_CASE("per-worker counters are summed when read", "[state]") {
  PerWorker<Totals> totals(3);
  totals.at(0).bytes_in.add(10);
  totals.at(2).bytes_in.add(5);
  totals.at(1).sessions.add();
  CHECK(totals.sum(&Totals::bytes_in) == 15);
  CHECK(totals.sum(&Totals::sessions) == 1);
  CHECK(totals.sum(&Totals::retries) == 0);
}

TEST_CASE("each worker's counters have a cache line of their own", "[state]") {
  PerWorker<Totals> totals(2);
  auto a = reinterpret_cast<uintptr_t>(&totals.at(0));
  auto b = reinterpret_cast<uintptr_t>(&totals.at(1));
  CHECK(a % kCacheLine == 0);
  CHECK(b - a >= kCacheLine);
  CHECK(alignof(Gauge) == kCacheLine);
}

TEST_CASE("the registry gives the same state for the same names", "[state]") {
  StateRegistry registry(2);
  auto b = registry.backend("mqtt");
  CHECK(registry.backend("mqtt") == b);
  CHECK(registry.backend("other") != b);
  CHECK(registry.frontend("fe") == registry.frontend("fe"));
  auto s = registry.server(b, "b1", "127.0.0.1:1884");
  s->active.take();
  auto again = registry.server(b, "b1", "127.0.0.1:1884");
  CHECK(again == s);
  CHECK(again->active.get() == 1);  // live counts carry over
  CHECK(s->id == "mqtt/b1");
}

TEST_CASE("a server whose address changed is a new server", "[state]") {
  StateRegistry registry(1);
  auto b = registry.backend("mqtt");
  auto old = registry.server(b, "b1", "127.0.0.1:1884");
  old->active.take();
  auto moved = registry.server(b, "b1", "127.0.0.1:1999");
  CHECK(moved != old);
  CHECK(moved->active.get() == 0);
  CHECK(old->active.get() == 1);  // still alive for the sessions holding it
}

TEST_CASE("state changes bump the backend generation", "[state]") {
  StateRegistry registry(1);
  auto b = registry.backend("mqtt");
  auto s = registry.server(b, "b1", "127.0.0.1:1884");
  uint64_t g0 = b->generation.load();
  s->set_health(Health::Down);
  CHECK(b->generation.load() > g0);
  CHECK_FALSE(s->usable());
  uint64_t g1 = b->generation.load();
  s->set_health(Health::Up);
  s->set_weight(0);
  CHECK(b->generation.load() >= g1 + 2);
  CHECK_FALSE(s->usable());  // weight 0 takes no new sessions
  s->set_weight(3);
  s->set_admin(AdminState::Maint);
  CHECK_FALSE(s->usable());
}

struct Queue {
  StateRegistry registry{2};
  std::shared_ptr<BackendState> backend = registry.backend("mqtt");
  std::shared_ptr<ServerState> s1 = registry.server(backend, "b1", "127.0.0.1:1");
  std::shared_ptr<ServerState> s2 = registry.server(backend, "b2", "127.0.0.1:2");
  RecordingSink sink;
  std::vector<Waiter> waiters{std::vector<Waiter>(8)};

  Queue() {
    s1->maxconn = 1;
    s2->maxconn = 1;
    for (auto& w : waiters)
      w.sink = &sink;
  }
  Waiter* join(size_t i, ServerState* for_server = nullptr) {
    waiters[i].server = for_server;
    backend->enqueue(&waiters[i]);
    return &waiters[i];
  }
};

TEST_CASE("a released slot goes to the oldest waiter of the backend", "[state]") {
  Queue q;
  REQUIRE(q.s1->try_take());
  for (size_t i = 0; i < 3; ++i)
    q.join(i);
  CHECK(q.backend->queued() == 3);
  CHECK(q.backend->queue.size() == 3);
  q.s1->release();  // the slot passes on; it is not freed
  REQUIRE(q.sink.granted.size() == 1);
  CHECK(q.sink.granted[0] == &q.waiters[0]);
  CHECK(q.waiters[0].granted == q.s1.get());
  CHECK(q.s1->active.get() == 1);
  q.s1->release();
  q.s1->release();
  REQUIRE(q.sink.granted.size() == 3);
  CHECK(q.sink.granted[1] == &q.waiters[1]);
  CHECK(q.sink.granted[2] == &q.waiters[2]);
  CHECK(q.backend->queued() == 0);
  // HAProxy's %bq: how many were served from the queue before each one.
  CHECK(q.waiters[0].processed_before == 0);
  CHECK(q.waiters[1].processed_before == 1);
  CHECK(q.waiters[2].processed_before == 2);
  q.s1->release();
  CHECK(q.s1->active.get() == 0);  // nobody waits: the slot is free
}

TEST_CASE("a server's own waiters and the backend's are served oldest first", "[state]") {
  Queue q;
  REQUIRE(q.s1->try_take());
  REQUIRE(q.s2->try_take());
  q.join(0);              // any server
  q.join(1, q.s1.get());  // b1 only (a source pick)
  q.join(2, q.s2.get());  // b2 only
  q.join(3);              // any server
  CHECK(q.s1->queue.size() == 1);
  q.s2->release();  // the backend's waiter 0 is older than b2's waiter 2
  q.s1->release();  // b1's waiter 1 is older than the backend's waiter 3
  q.s2->release();  // b2's waiter 2 is older than waiter 3
  q.s1->release();  // then waiter 3
  REQUIRE(q.sink.granted.size() == 4);
  CHECK(q.sink.granted[0] == &q.waiters[0]);
  CHECK(q.waiters[0].granted == q.s2.get());
  CHECK(q.sink.granted[1] == &q.waiters[1]);
  CHECK(q.waiters[1].granted == q.s1.get());
  CHECK(q.sink.granted[2] == &q.waiters[2]);
  CHECK(q.sink.granted[3] == &q.waiters[3]);
  CHECK(q.waiters[3].granted == q.s1.get());
}

TEST_CASE("a waiter for one server is not given another server's slot", "[state]") {
  Queue q;
  REQUIRE(q.s1->try_take());
  REQUIRE(q.s2->try_take());
  q.join(0, q.s1.get());
  q.s2->release();
  CHECK(q.sink.granted.empty());
  CHECK(q.s2->active.get() == 0);
  q.s1->release();
  CHECK(q.sink.granted.size() == 1);
}

TEST_CASE("a server that goes down moves its own waiters into the backend queue in order",
          "[state]") {
  Queue q;
  REQUIRE(q.s1->try_take());
  REQUIRE(q.s2->try_take());
  q.join(0);              // any server
  q.join(1, q.s1.get());  // b1 only
  q.join(2);              // any server
  q.join(3, q.s1.get());  // b1 only
  q.s1->set_health(Health::Down);
  CHECK(q.backend->requeue(*q.s1, true) == 2);
  CHECK(q.s1->queue.size() == 0);
  CHECK(q.backend->queue.size() == 4);
  CHECK(q.backend->queued() == 4);
  CHECK(q.sink.granted.empty());
  for (int i = 0; i < 4; ++i)
    q.s2->release();
  REQUIRE(q.sink.granted.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(q.sink.granted[i] == &q.waiters[i]);  // arrival order kept
    CHECK(q.waiters[i].granted == q.s2.get());
  }
}

TEST_CASE("a server that goes down without redispatch refuses its own waiters", "[state]") {
  Queue q;
  REQUIRE(q.s1->try_take());
  q.join(0, q.s1.get());
  q.join(1);
  q.s1->set_health(Health::Down);
  CHECK(q.backend->requeue(*q.s1, false) == 1);
  REQUIRE(q.sink.granted.size() == 1);
  CHECK(q.sink.granted[0] == &q.waiters[0]);
  CHECK(q.waiters[0].refused);
  CHECK(q.waiters[0].granted == nullptr);
  CHECK(q.backend->queued() == 1);  // the backend's own waiter stays
  // A down server's slot serves nobody.
  q.s1->release();
  CHECK(q.sink.granted.size() == 1);
}

TEST_CASE("a server that is not usable hands nothing to the backend's waiters", "[state]") {
  Queue q;
  REQUIRE(q.s1->try_take());
  q.join(0);
  q.s1->set_admin(AdminState::Maint);
  q.s1->release();
  CHECK(q.sink.granted.empty());
  CHECK(q.backend->queued() == 1);
}

TEST_CASE("a waiter that leaves is skipped and one granted meanwhile learns its server",
          "[state]") {
  Queue q;
  REQUIRE(q.s1->try_take());
  Waiter* gone = q.join(0);
  Waiter* next = q.join(1);
  CHECK(q.backend->leave(gone) == nullptr);
  q.s1->release();
  REQUIRE(q.sink.granted.size() == 1);
  CHECK(q.sink.granted[0] == next);
  // `next` leaves after its grant (say its client reset): it learns the slot is its.
  CHECK(q.backend->leave(next) == q.s1.get());
}

TEST_CASE("dispatch hands free slots to waiters that joined after the release", "[state]") {
  // The waiter's side of the lost wake-up: it joins, then looks for free
  // slots itself (Session::enqueue).
  Queue q;
  q.join(0);
  q.backend->dispatch(*q.s1);
  REQUIRE(q.sink.granted.size() == 1);
  CHECK(q.s1->active.get() == 1);
}

TEST_CASE("no slot stays free while someone waits, under two threads", "[state]") {
  // Two threads compete for one slot the way sessions do: join the queue,
  // fence, look for a free slot, wait for the grant, hold, release. A lost
  // wake-up leaves both waiting with the slot free, and the deadline fails.
  StateRegistry registry(2);
  auto backend = registry.backend("mqtt");
  auto s = registry.server(backend, "b1", "127.0.0.1:1");
  s->maxconn = 1;
  struct FlagSink : Waiter::Sink {
    void on_granted(Waiter* w) override { static_cast<std::atomic<bool>*>(w->owner)->store(true); }
  } sink;
  std::atomic<bool> stuck{false};
  auto run = [&] {
    for (int n = 0; n < 5000 && !stuck; ++n) {
      std::atomic<bool> granted{false};
      Waiter w;
      w.sink = &sink;
      w.owner = &granted;
      backend->enqueue(&w);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      backend->dispatch(*s);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (!granted.load()) {
        if (std::chrono::steady_clock::now() > deadline) {
          stuck = true;
          backend->leave(&w);
          return;
        }
        std::this_thread::yield();
      }
      s->release();
    }
  };
  std::thread a(run), b(run);
  a.join();
  b.join();
  CHECK_FALSE(stuck);
  CHECK(s->active.get() == 0);
  CHECK(backend->queued() == 0);
}

TEST_CASE("observed connect errors report once per error-limit in a row", "[state]") {
  auto backend = std::make_shared<BackendState>("mqtt", 1);
  ServerState s(backend, "mqtt/b1", "127.0.0.1:1883", 1);
  CHECK_FALSE(s.observe_connect(false, 3));
  CHECK_FALSE(s.observe_connect(false, 3));
  CHECK(s.observe_connect(false, 3));  // the third in a row
  // The count started over: three more to the next report.
  CHECK_FALSE(s.observe_connect(false, 3));
  CHECK_FALSE(s.observe_connect(false, 3));
  // A success between them resets it.
  CHECK_FALSE(s.observe_connect(true, 3));
  CHECK_FALSE(s.observe_connect(false, 3));
  CHECK_FALSE(s.observe_connect(false, 3));
  s.clear_errors();  // as a passing check does
  CHECK_FALSE(s.observe_connect(false, 3));
  CHECK_FALSE(s.observe_connect(false, 3));
  CHECK(s.observe_connect(false, 3));
}

TEST_CASE("traffic error reports wait for the control thread, and none without one", "[state]") {
  auto backend = std::make_shared<BackendState>("mqtt", 1);
  auto b1 = std::make_shared<ServerState>(backend, "mqtt/b1", "127.0.0.1:1883", 1);
  TrafficErrors errors;
  errors.report(b1);  // no checks attached: dropped
  CHECK(errors.take().empty());

  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_async_t wake;
  int woken = 0;
  wake.data = &woken;
  uv_async_init(&loop, &wake, [](uv_async_t* a) { ++*static_cast<int*>(a->data); });
  errors.attach(&wake);
  errors.report(b1);
  errors.report(b1);
  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(woken == 1);  // coalesced
  CHECK(errors.take() == std::vector<std::shared_ptr<ServerState>>{b1, b1});
  CHECK(errors.take().empty());
  errors.attach(nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

TEST_CASE("a server's check view is what the checks published last", "[state]") {
  auto backend = std::make_shared<BackendState>("mqtt", 1);
  ServerState s(backend, "mqtt/b1", "127.0.0.1:1883", 1);
  CHECK(s.check_view() == health::ServerHealthView{});
  health::ServerHealthView v;
  v.state = health::ServerStatus::Down;
  v.last_check = {health::Status::L4Con, "Connection refused", std::chrono::milliseconds(2)};
  v.consecutive_failures = 3;
  v.down_transitions = 1;
  s.set_check_view(v);
  CHECK(s.check_view() == v);
}

}  // namespace
}  // namespace mqlb::lb
