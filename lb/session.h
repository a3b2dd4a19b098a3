#pragma once
// A session: one client connection relayed to one server connection.
// Thread: the worker's that accepted it. Owns its three handles (client,
// server, timer) with data = this; close() closes them all and the session
// frees itself in the last close callback, after writing its access line.
//
// Per-byte path: reads land in the worker's shared buffer, go out with
// uv_try_write, and only what the socket did not take is copied into the
// destination's Outbox. Above kHighWater the source stops reading until the
// outbox drains below kLowWater. An idle session owns no buffer.

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "lb/worker.h"

namespace mqlb::lb {

// Bytes waiting to be written to one side. `inflight` is handed to
// uv_write and must not move; new bytes collect in `next` meanwhile. Both
// are allocated only while there is something to write.
class Session;
struct WriteReq {
  uv_write_t req;  // req.data = this
  Session* session;
  bool to_client;
  std::vector<char> data;
};
struct Outbox {
  WriteReq* inflight = nullptr;
  WriteReq* next = nullptr;

  size_t size() const {
    return (inflight ? inflight->data.size() : 0) + (next ? next->data.size() : 0);
  }
  bool empty() const { return inflight == nullptr && next == nullptr; }
};

// How one direction of the relay ends (Sōzu-style explicit half-close).
enum class HalfClose : uint8_t { Open, ShutdownPending, Shut };

class Session {
 public:
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = kHighWater / 2;

  Session(Worker& worker, const Frontend& frontend);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Thread: the worker's. Adopts the accepted socket `fd` from `peer`, then
  // runs admission and connects (or queues).
  void start(int fd, const sockaddr_storage& peer);
  // Admission again, for a queued session; returns false if still waiting.
  bool retry_admission();
  // Ends the session with termination state `code` (idempotent); the
  // session frees itself once its handles are closed. The worker calls it
  // on hard stop.
  void close(const char code[2]);

  SessionLink link;  // in the worker's sessions or its wait queue
  const Frontend& frontend() const { return frontend_; }

 private:
  enum class Phase : uint8_t { Accepted, Queued, Connecting, TurnAround, Relaying, Closing };
  enum class ServerHandle : uint8_t { None, Open, ClosingForRetry };

  struct Side {
    Outbox out;  // bytes waiting to be written to this side
    uint64_t last_activity = 0;
    bool reading = false;
    bool read_eof = false;
    HalfClose write = HalfClose::Open;
  };

  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) noexcept;
  static void on_client_read(uv_stream_t*, ssize_t, const uv_buf_t*) noexcept;
  static void on_server_read(uv_stream_t*, ssize_t, const uv_buf_t*) noexcept;
  static void on_write(uv_write_t*, int status) noexcept;
  static void on_connect(uv_connect_t*, int status) noexcept;
  static void on_timer(uv_timer_t*) noexcept;
  static void on_closed(uv_handle_t*) noexcept;
  static void on_server_closed_for_retry(uv_handle_t*) noexcept;

  bool admit();
  uint32_t client_hash() const;  // the key of `balance source`
  void leave_queue();
  Side& peer(Side& s) { return is_client(s) ? server_side_ : client_side_; }
  void connect();
  void connect_failed(const char code[2]);
  void relay_start();
  void on_read(Side& from, Side& to, ssize_t nread);
  void send(Side& to, Side& from, const char* data, size_t n);
  void flush(Side& to);
  void write_done(Side& to, int status);
  void maybe_shutdown(Side& to);
  void maybe_finish();
  void arm_timer();
  void timer_fired();
  void set_reading(Side& side, bool on);
  void finish();
  bool is_client(const Side& s) const { return &s == &client_side_; }
  uv_stream_t* stream(Side& s) {
    return reinterpret_cast<uv_stream_t*>(is_client(s) ? &client_ : &server_tcp_);
  }

  Worker& worker_;
  const Frontend& frontend_;
  const Server* server_ = nullptr;
  uv_tcp_t client_{};
  uv_tcp_t server_tcp_{};
  uv_timer_t timer_{};
  Side client_side_;
  Side server_side_;

  uint8_t client_addr_[16] = {};  // compact: an idle session stays small
  uint16_t client_port_ = 0;
  bool client_v6_ = false;
  int64_t accept_unix_ms_ = 0;
  uint64_t accept_ms_ = 0;    // loop time
  uint64_t phase_start_ = 0;  // loop time the current queue/connect phase began
  int32_t queue_ms_ = -1;
  int32_t connect_ms_ = -1;
  uint64_t bytes_to_client_ = 0;
  uint32_t retries_ = 0;
  uint8_t pending_closes_ = 0;
  Phase phase_ = Phase::Accepted;
  ServerHandle server_handle_ = ServerHandle::None;
  bool holds_slots_ = false;  // global + frontend
  bool redispatched_ = false;
  char termination_[2] = {'-', '-'};
};

}  // namespace mqlb::lb
