// churn: C loops of connect → CONNECT → CONNACK → DISCONNECT → close, each
// starting its next session as soon as the last one is closed. Loop thread.
#include <unistd.h>

#include <memory>
#include <vector>

#include "conn.h"
#include "workload.h"

namespace mqlb::bench {
namespace {

class Churn final : public Conn::Handler {
 public:
  Churn(const Options& o, Slice s, const TlsClient* tls)
      : o_(o),
        slice_(s),
        loop_(tls),
        stop_timer_(loop_, [this] { stop(); }),
        sweep_timer_(loop_, [this] { sweep(); }) {
    int slots = s.share(o.concurrency);
    budget_ = o.count / s.threads + (static_cast<uint64_t>(s.thread) < o.count % s.threads);
    for (int i = 0; i < slots; ++i)
      slots_.push_back(std::make_unique<Conn>(loop_, *this, i));
    no_socket_.assign(slots, false);
  }

  Tally run() {
    t0_ = uv_hrtime();
    stop_timer_.start(o_.duration_s);
    sweep_timer_.start(0.1, 0.1);
    // --tls-resume: the first session alone, so that every later one can
    // offer its ticket; the others start when it is over.
    waiting_for_ticket_ = o_.tls_resume;
    for (auto& c : slots_) {
      start(*c);
      if (waiting_for_ticket_) break;
    }
    loop_.run();
    t_.tls = loop_.tls_state().counts;
    return std::move(t_);
  }

 private:
  void start(Conn& c) {
    if (stopping_) return;
    if (o_.count > 0 && started_ >= budget_) {
      if (all_closed()) stop();
      return;
    }
    uint64_t n = static_cast<uint64_t>(slice_.global(0)) + started_++ * slice_.threads;
    c.started_ns = uv_hrtime();
    no_socket_[c.index()] = !c.open(target_for(o_, n), source_for(o_, n));
  }

  bool all_closed() const {
    for (auto& c : slots_) {
      if (!c->is_closed()) return false;
    }
    return true;
  }

  // Aborts sessions in flight: only those completed before now are counted.
  void stop() {
    if (stopping_) return;
    stopping_ = true;
    t_.elapsed_s = static_cast<double>(uv_hrtime() - t0_) / 1e9;
    stop_timer_.close();
    sweep_timer_.close();
    for (auto& c : slots_)
      c->close();
  }

  void sweep() {
    uint64_t now = uv_hrtime();
    auto limit = static_cast<uint64_t>(o_.timeout_s * 1e9);
    for (auto& c : slots_) {
      if (no_socket_[c->index()]) {
        start(*c);  // retry a slot that could not get a socket (e.g. EMFILE)
      } else if (!c->is_closed() && now - c->started_ns > limit) {
        ++t_.errors["timeout"];
        c->close();
      }
    }
  }

  void on_connected(Conn& c) override {
    std::string id = "churn-" + std::to_string(getpid()) + "-" + std::to_string(slice_.thread) +
                     "-" + std::to_string(ids_++);
    mqtt::append_connect(c.out(), id, static_cast<uint16_t>(o_.keepalive));
  }

  bool on_packet(Conn& c, const mqtt::Packet& p) override {
    if (p.type != mqtt::Type::Connack) return true;
    auto rc = mqtt::parse_connack(p);
    if (!rc || *rc != 0) {
      ++t_.errors[rc ? "CONNACK refused, code " + std::to_string(*rc) : "malformed CONNACK"];
      c.close();
      return false;
    }
    ++t_.sessions;
    t_.latency.record(uv_hrtime() - c.started_ns);
    mqtt::append_disconnect(c.out());
    c.close_after_flush();
    return false;
  }

  void on_failed(Conn& c, std::string_view why) override { ++t_.errors[std::string(why)]; }

  void on_closed(Conn& c) override {
    start(c);
    if (!waiting_for_ticket_) return;
    waiting_for_ticket_ = false;
    for (size_t i = 1; i < slots_.size(); ++i)
      start(*slots_[i]);
  }

  const Options& o_;
  Slice slice_;
  Loop loop_;
  Timer stop_timer_;
  Timer sweep_timer_;
  std::vector<std::unique_ptr<Conn>> slots_;
  std::vector<bool> no_socket_;  // slots whose last open() made no socket
  Tally t_;
  uint64_t budget_ = 0;  // sessions this loop may start when --count is set
  uint64_t started_ = 0;
  uint64_t ids_ = 0;
  uint64_t t0_ = 0;
  bool stopping_ = false;
  bool waiting_for_ticket_ = false;  // --tls-resume: only the first session is running
};

}  // namespace

Tally run_churn(const Options& o, Slice s, const TlsClient* tls) {
  return Churn(o, s, tls).run();
}

}  // namespace mqlb::bench
