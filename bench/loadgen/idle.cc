// idle: open N MQTT sessions (at most C handshakes at a time), report when
// all are up, hold them for --duration, then DISCONNECT. Loop thread.
#include <unistd.h>

#include <memory>
#include <vector>

#include "conn.h"
#include "workload.h"

namespace mqlb::bench {
namespace {

class Idle final : public Conn::Handler {
 public:
  Idle(const Options& o, Slice s, const TlsClient* tls, const ReadyFn& ready)
      : o_(o),
        slice_(s),
        ready_fn_(ready),
        loop_(tls),
        sweep_timer_(loop_, [this] { sweep(); }),
        hold_timer_(loop_, [this] { finish(); }),
        ping_timer_(loop_, [this] { ping(); }),
        deadline_timer_(loop_, [this] { on_deadline(); }) {
    int n = s.share(o.connections);
    for (int i = 0; i < n; ++i)
      conns_.push_back(std::make_unique<Conn>(loop_, *this, i));
    phase_.assign(n, Phase::Waiting);
  }

  Tally run() {
    deadline_timer_.start(o_.deadline_s);
    sweep_timer_.start(0.1, 0.1);
    if (o_.keepalive > 0) ping_timer_.start(o_.keepalive / 2.0, o_.keepalive / 2.0);
    open_more();
    check_ready();
    loop_.run();
    t_.tls = loop_.tls_state().counts;
    return std::move(t_);
  }

 private:
  enum class Phase { Waiting, Handshake, Up, Gone };

  void open_more() {
    int limit = slice_.share(o_.concurrency) > 0 ? slice_.share(o_.concurrency) : 1;
    while (!finishing_ && in_handshake_ < limit && next_ < conns_.size()) {
      Conn& c = *conns_[next_++];
      uint64_t n = static_cast<uint64_t>(slice_.global(static_cast<int>(c.index())));
      c.started_ns = uv_hrtime();
      phase_[c.index()] = Phase::Handshake;
      ++in_handshake_;
      c.open(target_for(o_, n), source_for(o_, n));  // failures arrive through on_failed
    }
  }

  void gone(Conn& c) {
    if (phase_[c.index()] == Phase::Handshake) --in_handshake_;
    phase_[c.index()] = Phase::Gone;
    ++done_;
  }

  void check_ready() {
    if (ready_ || done_ + t_.sessions < conns_.size()) return;
    ready_ = true;
    ready_fn_(t_.sessions);
    if (!finishing_) hold_timer_.start(o_.duration_s);
    t0_ = uv_hrtime();
  }

  void sweep() {
    uint64_t now = uv_hrtime();
    auto limit = static_cast<uint64_t>(o_.timeout_s * 1e9);
    for (auto& c : conns_) {
      if (phase_[c->index()] == Phase::Handshake && now - c->started_ns > limit) {
        ++t_.errors["timeout"];
        gone(*c);
        c->close();
      }
    }
    open_more();
    check_ready();
  }

  void ping() {
    for (auto& c : conns_) {
      if (phase_[c->index()] != Phase::Up) continue;
      mqtt::append_pingreq(c->out());
      c->flush();
    }
  }

  void on_deadline() {
    t_.deadline_hit = true;
    finish();
  }

  void finish() {
    if (finishing_) return;
    finishing_ = true;
    if (ready_) t_.elapsed_s = static_cast<double>(uv_hrtime() - t0_) / 1e9;
    for (auto& c : conns_) {
      if (phase_[c->index()] == Phase::Up) {
        ++t_.held;
        mqtt::append_disconnect(c->out());
        c->close_after_flush();
      } else {
        c->close();
      }
    }
    sweep_timer_.close();
    hold_timer_.close();
    ping_timer_.close();
    deadline_timer_.close();
  }

  void on_connected(Conn& c) override {
    std::string id = "idle-" + std::to_string(getpid()) + "-" +
                     std::to_string(slice_.global(static_cast<int>(c.index())));
    mqtt::append_connect(c.out(), id, static_cast<uint16_t>(o_.keepalive));
  }

  bool on_packet(Conn& c, const mqtt::Packet& p) override {
    if (p.type != mqtt::Type::Connack || phase_[c.index()] != Phase::Handshake) return true;
    auto rc = mqtt::parse_connack(p);
    if (!rc || *rc != 0) {
      ++t_.errors[rc ? "CONNACK refused, code " + std::to_string(*rc) : "malformed CONNACK"];
      gone(c);
      c.close();
      check_ready();
      return false;
    }
    t_.latency.record(uv_hrtime() - c.started_ns);
    phase_[c.index()] = Phase::Up;
    --in_handshake_;
    ++t_.sessions;
    open_more();
    check_ready();
    return true;
  }

  void on_failed(Conn& c, std::string_view why) override {
    if (finishing_) return;
    Phase was = phase_[c.index()];
    ++t_.errors[was == Phase::Up ? "dropped while idle: " + std::string(why) : std::string(why)];
    if (was == Phase::Up) {
      phase_[c.index()] = Phase::Gone;
      return;
    }
    gone(c);
  }

  void on_closed(Conn& c) override {
    if (!finishing_) {
      open_more();
      check_ready();
    }
  }

  const Options& o_;
  Slice slice_;
  const ReadyFn& ready_fn_;
  Loop loop_;
  Timer sweep_timer_;
  Timer hold_timer_;
  Timer ping_timer_;
  Timer deadline_timer_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Phase> phase_;
  Tally t_;
  size_t next_ = 0;       // next connection to open
  int in_handshake_ = 0;  // opened, CONNACK not yet received
  size_t done_ = 0;       // failed for good (never established)
  uint64_t t0_ = 0;
  bool ready_ = false;
  bool finishing_ = false;
};

}  // namespace

Tally run_idle(const Options& o, Slice s, const TlsClient* tls, const ReadyFn& ready) {
  return Idle(o, s, tls, ready).run();
}

}  // namespace mqlb::bench
