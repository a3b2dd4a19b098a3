// next_deadline: which HAProxy timeout a session is under, and when.
#include "lb/timeouts.h"

#include <catch2/catch.hpp>

namespace mqlb::lb {
namespace {

using namespace std::chrono_literals;

conf::Timeouts frontend_side() {
  conf::Timeouts t;
  t.client = 50s;
  return t;
}

conf::Timeouts backend_side() {
  conf::Timeouts t;
  t.connect = 5s;
  t.server = 40s;
  t.queue = 3s;
  return t;
}

TimerView relaying(uint64_t client_at, uint64_t server_at) {
  TimerView v;
  v.phase = SessionPhase::Relaying;
  v.client.last_activity = client_at;
  v.server.last_activity = server_at;
  return v;
}

TEST_CASE("a queued session is under timeout queue from when it queued", "[timeouts]") {
  TimerView v;
  v.phase = SessionPhase::Queued;
  v.phase_start = 1000;
  auto d = next_deadline(v, frontend_side(), backend_side());
  REQUIRE(d);
  CHECK(d->at == 4000);
  CHECK(d->what == Expiry::Queue);
}

TEST_CASE("a TLS handshake is under timeout client-hs, 5 s unless set", "[timeouts]") {
  TimerView v;
  v.phase = SessionPhase::Handshake;
  v.phase_start = 1000;
  v.client.last_activity = 900000;  // bytes of a slow handshake do not extend it
  auto d = next_deadline(v, frontend_side(), backend_side());
  REQUIRE(d);
  CHECK(d->at == 6000);
  CHECK(d->what == Expiry::Handshake);
  conf::Timeouts fe = frontend_side();
  fe.client_hs = 1500ms;
  d = next_deadline(v, fe, backend_side());
  REQUIRE(d);
  CHECK(d->at == 2500);
}

TEST_CASE("a connecting session is under timeout connect", "[timeouts]") {
  TimerView v;
  v.phase = SessionPhase::Connecting;
  v.phase_start = 200;
  auto d = next_deadline(v, frontend_side(), backend_side());
  REQUIRE(d);
  CHECK(d->at == 5200);
  CHECK(d->what == Expiry::Connect);
}

TEST_CASE("the turn-around between retries is min(timeout connect, 1s)", "[timeouts]") {
  TimerView v;
  v.phase = SessionPhase::TurnAround;
  v.phase_start = 0;
  CHECK(next_deadline(v, {}, backend_side())->at == 1000);
  conf::Timeouts quick = backend_side();
  quick.connect = 300ms;
  CHECK(next_deadline(v, {}, quick)->at == 300);
  CHECK(next_deadline(v, {}, {})->at == 1000);  // no connect timeout: 1 s
  CHECK(next_deadline(v, {}, {})->what == Expiry::TurnAround);
}

TEST_CASE("a relaying session expires on the side idle the longest", "[timeouts]") {
  // client 50 s after 1000, server 40 s after 5000: the server first.
  auto d = next_deadline(relaying(1000, 5000), frontend_side(), backend_side());
  REQUIRE(d);
  CHECK(d->at == 45000);
  CHECK(d->what == Expiry::Server);
  d = next_deadline(relaying(1000, 20000), frontend_side(), backend_side());
  CHECK(d->at == 51000);
  CHECK(d->what == Expiry::Client);
}

TEST_CASE("no timeout configured means no deadline", "[timeouts]") {
  CHECK_FALSE(next_deadline(relaying(0, 0), {}, {}));
  TimerView v;
  v.phase = SessionPhase::Queued;
  CHECK_FALSE(next_deadline(v, {}, {}));
}

TEST_CASE("timeout tunnel replaces client and server once connected", "[timeouts]") {
  conf::Timeouts be = backend_side();
  be.tunnel = 1h;
  auto d = next_deadline(relaying(0, 0), frontend_side(), be);
  REQUIRE(d);
  CHECK(d->at == 3'600'000);
}

TEST_CASE("the fin timeouts fall back to tunnel, then client or server", "[timeouts]") {
  conf::Timeouts fe = frontend_side(), be = backend_side();
  // Unset: the ordinary timeouts go on after a half-close.
  CHECK(client_timeout(fe, be, true) == 50s);
  CHECK(server_timeout(be, true) == 40s);
  be.tunnel = 10min;
  CHECK(client_timeout(fe, be, true) == 10min);
  CHECK(server_timeout(be, true) == 10min);
  fe.client_fin = 1s;
  be.server_fin = 2s;
  CHECK(client_timeout(fe, be, true) == 1s);
  CHECK(server_timeout(be, true) == 2s);
  // Before the half-close the fin timeouts do not apply.
  CHECK(client_timeout(fe, be, false) == 10min);
  CHECK(server_timeout(be, false) == 10min);
  TimerView v = relaying(0, 0);
  v.half_closed = true;
  auto d = next_deadline(v, fe, be);
  REQUIRE(d);
  CHECK(d->at == 1000);
  CHECK(d->what == Expiry::Client);
}

TEST_CASE("a side held back by backpressure does not time out", "[timeouts]") {
  // A slow subscriber: the broker's side is not read while the client's
  // outbox is full, so the broker looks idle but is not.
  TimerView v = relaying(30000, 0);
  v.server.held = true;
  auto d = next_deadline(v, frontend_side(), backend_side());
  REQUIRE(d);
  CHECK(d->what == Expiry::Client);
  CHECK(d->at == 80000);
  // Both held: neither peer takes anything, so the clocks run again (each
  // one reset by every byte written to its side).
  v.client.held = true;
  d = next_deadline(v, frontend_side(), backend_side());
  REQUIRE(d);
  CHECK(d->what == Expiry::Server);
  CHECK(d->at == 40000);
}

TEST_CASE("after a side's FIN only the other side's timeout ends the tail", "[timeouts]") {
  // The client sent its FIN and has nothing waiting for it; the server has
  // not answered. With tunnel on both sides the server is the one blamed.
  conf::Timeouts be = backend_side();
  be.tunnel = 1s;
  TimerView v = relaying(0, 0);
  v.half_closed = true;
  v.client.done = true;
  auto d = next_deadline(v, frontend_side(), be);
  REQUIRE(d);
  CHECK(d->what == Expiry::Server);
  CHECK(d->at == 1000);
  v.client.done = false;
  v.server.done = true;
  CHECK(next_deadline(v, frontend_side(), be)->what == Expiry::Client);
}

}  // namespace
}  // namespace mqlb::lb
