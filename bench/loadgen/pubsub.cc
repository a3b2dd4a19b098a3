// throughput and latency: P publisher/subscriber pairs, one topic each. The
// payload starts with the send time and a sequence number, so the receiver
// measures publish-to-receive time on the same clock. Loop thread.
//
// Closed loop (--rate 0): each pair keeps at most --window messages between
// publish and receive, topping up when half of it is free. Open loop
// (--rate R): a 1 ms tick publishes what is due since the start.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "conn.h"
#include "workload.h"

namespace mqlb::bench {
namespace {

constexpr size_t kMaxQueued = 1 << 20;  // open loop: skip a tick while this much is unsent

class PubSub final : public Conn::Handler {
 public:
  PubSub(const Options& o, Slice s, const TlsClient* tls)
      : o_(o),
        slice_(s),
        loop_(tls),
        setup_timer_(loop_, [this] { setup_over(); }),
        stop_timer_(loop_, [this] { stop_publishing(); }),
        drain_timer_(loop_, [this] { finish(); }),
        tick_timer_(loop_, [this] { tick(); }),
        ping_timer_(loop_, [this] { ping(); }),
        deadline_timer_(loop_, [this] { on_deadline(); }),
        payload_(static_cast<size_t>(o.payload), 'x') {
    int n = s.share(o.pairs);
    for (int i = 0; i < n; ++i) {
      auto p = std::make_unique<Pair>();
      p->global = slice_.global(i);
      p->topic = "mqlb-bench/" + std::to_string(getpid()) + "/" + std::to_string(p->global);
      // Conn index: 2i is the publisher, 2i + 1 the subscriber of pair i.
      p->pub = std::make_unique<Conn>(loop_, *this, 2 * i);
      p->sub = std::make_unique<Conn>(loop_, *this, 2 * i + 1);
      pairs_.push_back(std::move(p));
    }
    rate_per_pair_ = o.rate / o.pairs;
  }

  Tally run() {
    deadline_timer_.start(o_.deadline_s);
    setup_timer_.start(o_.timeout_s);
    if (o_.keepalive > 0) ping_timer_.start(o_.keepalive / 2.0, o_.keepalive / 2.0);
    for (auto& p : pairs_) {
      uint64_t n = static_cast<uint64_t>(p->global);
      p->pub->started_ns = p->sub->started_ns = uv_hrtime();
      // Publisher and subscriber share a source address, so a proxy that
      // balances by source puts them on the same broker.
      const sockaddr_in* source = source_for(o_, n);
      const sockaddr* sub_target = o_.sub_target ? o_.sub_target->sa() : target_for(o_, n);
      if (!p->pub->open(target_for(o_, n), source) || !p->sub->open(sub_target, source)) {
        fail_pair(*p);
      }
    }
    check_setup();
    loop_.run();
    t_.tls = loop_.tls_state().counts;
    return std::move(t_);
  }

 private:
  struct Pair {
    int global = 0;
    std::string topic;
    std::unique_ptr<Conn> pub;
    std::unique_ptr<Conn> sub;
    bool pub_up = false;
    bool sub_up = false;  // CONNACK and SUBACK received
    bool failed = false;
    uint64_t sent = 0;
    uint64_t received = 0;
    uint16_t next_id = 0;
  };

  Pair& pair_of(Conn& c) { return *pairs_[c.index() / 2]; }
  bool is_pub(Conn& c) const { return c.index() % 2 == 0; }
  bool ready(const Pair& p) const { return p.pub_up && p.sub_up && !p.failed; }

  void check_setup() {
    if (phase_ != Phase::Setup) return;
    for (auto& p : pairs_) {
      if (!p->failed && !ready(*p)) return;
    }
    begin();
  }

  void setup_over() {
    if (phase_ != Phase::Setup) return;
    for (auto& p : pairs_) {
      if (p->failed || ready(*p)) continue;
      ++t_.errors["setup timeout"];
      p->failed = true;
      p->pub->close();
      p->sub->close();
    }
    begin();
  }

  void begin() {
    phase_ = Phase::Publishing;
    setup_timer_.close();
    for (auto& p : pairs_) {
      t_.sessions += ready(*p);
      t_.unpaired += !p->sub_up;
    }
    t0_ = uv_hrtime();
    stop_timer_.start(o_.duration_s);
    if (o_.rate > 0) {
      tick_timer_.start(0.001, 0.001);
    } else {
      for (auto& p : pairs_) {
        if (ready(*p)) publish(*p, static_cast<uint64_t>(o_.window));
      }
    }
  }

  void publish(Pair& p, uint64_t n) {
    std::string& out = p.pub->out();
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t now = uv_hrtime();
      uint64_t seq = p.sent++;
      std::memcpy(payload_.data(), &now, 8);
      std::memcpy(payload_.data() + 8, &seq, 8);
      uint16_t id = 0;
      if (o_.qos > 0) id = p.next_id = p.next_id == 65535 ? 1 : p.next_id + 1;
      mqtt::append_publish(out, p.topic, static_cast<uint8_t>(o_.qos), id, payload_);
    }
    t_.sent += n;
    p.pub->flush();
  }

  void tick() {
    if (phase_ != Phase::Publishing) return;
    double elapsed = static_cast<double>(uv_hrtime() - t0_) / 1e9;
    auto due = static_cast<uint64_t>(std::floor(rate_per_pair_ * elapsed));
    for (auto& p : pairs_) {
      if (!ready(*p) || due <= p->sent || p->pub->queued_bytes() > kMaxQueued) continue;
      // After a stall, catch up at most one window per tick.
      publish(*p, std::min<uint64_t>(due - p->sent, static_cast<uint64_t>(o_.window)));
    }
  }

  void ping() {
    for (auto& p : pairs_) {
      for (Conn* c : {p->pub.get(), p->sub.get()}) {
        if (!c->is_open()) continue;
        mqtt::append_pingreq(c->out());
        c->flush();
      }
    }
  }

  void stop_publishing() {
    if (phase_ != Phase::Publishing) return;
    phase_ = Phase::Draining;
    t_.elapsed_s = static_cast<double>(uv_hrtime() - t0_) / 1e9;
    t_.received_in_time = t_.received;
    stop_timer_.close();
    tick_timer_.close();
    drain_timer_.start(o_.drain_s);
    check_drained();
  }

  void check_drained() {
    bool acked = o_.qos == 0 || t_.pubacks >= t_.sent;
    if (phase_ == Phase::Draining && t_.received >= t_.sent && acked) finish();
  }

  void on_deadline() {
    t_.deadline_hit = true;
    finish();
  }

  void finish() {
    if (phase_ == Phase::Done) return;
    if (phase_ == Phase::Publishing || phase_ == Phase::Setup) {
      t_.elapsed_s = t0_ ? static_cast<double>(uv_hrtime() - t0_) / 1e9 : 0;
      t_.received_in_time = t_.received;
    }
    if (phase_ == Phase::Setup) {
      for (auto& p : pairs_)
        t_.unpaired += !p->sub_up;
    }
    phase_ = Phase::Done;
    for (auto& p : pairs_) {
      for (Conn* c : {p->pub.get(), p->sub.get()}) {
        if (c->is_open()) {
          mqtt::append_disconnect(c->out());
          c->close_after_flush();
        } else {
          c->close();
        }
      }
    }
    for (Timer* t : {&setup_timer_, &stop_timer_, &drain_timer_, &tick_timer_, &ping_timer_,
                     &deadline_timer_}) {
      t->close();
    }
  }

  void on_connected(Conn& c) override {
    Pair& p = pair_of(c);
    std::string id = std::string(is_pub(c) ? "pub-" : "sub-") + std::to_string(getpid()) + "-" +
                     std::to_string(p.global);
    mqtt::append_connect(c.out(), id, static_cast<uint16_t>(o_.keepalive));
  }

  bool on_packet(Conn& c, const mqtt::Packet& p) override {
    Pair& pair = pair_of(c);
    switch (p.type) {
      case mqtt::Type::Connack: {
        auto rc = mqtt::parse_connack(p);
        if (!rc || *rc != 0) return refuse(c, "CONNACK refused");
        if (is_pub(c)) {
          pair.pub_up = true;
          check_setup();
        } else {
          mqtt::append_subscribe(c.out(), 1, pair.topic, static_cast<uint8_t>(o_.qos));
        }
        return true;
      }
      case mqtt::Type::Suback: {
        auto ack = mqtt::parse_suback(p);
        if (!ack || ack->return_code == 0x80) return refuse(c, "SUBSCRIBE refused");
        pair.sub_up = true;
        check_setup();
        return true;
      }
      case mqtt::Type::Puback:
        ++t_.pubacks;
        check_drained();
        return true;
      case mqtt::Type::Publish:
        return on_message(c, pair, p);
      default:
        return true;
    }
  }

  bool on_message(Conn& c, Pair& pair, const mqtt::Packet& p) {
    auto pub = mqtt::parse_publish(p);
    if (!pub || pub->payload.size() < 16) return refuse(c, "malformed PUBLISH");
    if (pub->qos > 0) mqtt::append_puback(c.out(), pub->packet_id);
    if (phase_ == Phase::Done) return true;
    uint64_t sent_ns = 0;
    std::memcpy(&sent_ns, pub->payload.data(), 8);
    t_.latency.record(uv_hrtime() - sent_ns);
    ++t_.received;
    t_.received_bytes += pub->payload.size();
    ++pair.received;
    uint64_t in_flight = pair.sent - std::min(pair.sent, pair.received);
    auto window = static_cast<uint64_t>(o_.window);
    if (phase_ == Phase::Publishing && o_.rate == 0 && in_flight <= window / 2) {
      publish(pair, window - in_flight);
    }
    check_drained();
    return true;
  }

  bool refuse(Conn& c, const char* why) {
    ++t_.errors[why];
    fail_pair(pair_of(c));
    return false;
  }

  void fail_pair(Pair& p) {
    if (p.failed) return;
    p.failed = true;
    p.pub->close();
    p.sub->close();
    check_setup();
  }

  void on_failed(Conn& c, std::string_view why) override {
    if (phase_ == Phase::Done) return;
    ++t_.errors[std::string(is_pub(c) ? "publisher: " : "subscriber: ") + std::string(why)];
    fail_pair(pair_of(c));
  }

  void on_closed(Conn&) override {}

  enum class Phase { Setup, Publishing, Draining, Done };

  const Options& o_;
  Slice slice_;
  Loop loop_;
  Timer setup_timer_;
  Timer stop_timer_;
  Timer drain_timer_;
  Timer tick_timer_;
  Timer ping_timer_;
  Timer deadline_timer_;
  std::vector<std::unique_ptr<Pair>> pairs_;
  std::string payload_;  // reused for every message; its first 16 bytes are rewritten
  Tally t_;
  Phase phase_ = Phase::Setup;
  double rate_per_pair_ = 0;
  uint64_t t0_ = 0;
};

}  // namespace

Tally run_pubsub(const Options& o, Slice s, const TlsClient* tls) {
  return PubSub(o, s, tls).run();
}

}  // namespace mqlb::bench
