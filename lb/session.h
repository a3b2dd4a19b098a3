#pragma once
// A session: one client connection relayed to one server connection.
// Thread: the worker's that accepted it. Owns its two sockets and a timer
// (data = this); close() closes them and the session frees itself in the
// timer's close callback, after writing its access line.
// It holds the snapshot it started in and the process and frontend slots
// its listener took for it, and releases them through the state objects.
//
// Per-byte path: both sockets are mqlb's own descriptors in the worker's
// edge-triggered epoll set (no epoll_ctl after the first, no read to learn
// of EOF: EPOLLRDHUP). Reads land in the worker's shared buffer, go out
// with send(2), and only what the socket did not take is copied into the
// destination's Outbox. Above the high-water mark the source stops reading
// until the outbox drains below the low-water mark. Before the server is
// connected at most tune.bufsize bytes are read from the client. An idle
// session owns no buffer.
//
// TLS (a session on a TLS bind): the client side gets a tls::Stream that
// sits between its socket and the relay. The handshake comes first (timeout
// client-hs), before any server is picked; then the relay reads plaintext
// from the stream and writes plaintext into it, and the stream's records go
// out through the same socket/outbox path as plain bytes, so backpressure,
// half-close (close_notify, then FIN) and timeouts work unchanged.

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>

#include "lb/outbox.h"
#include "lb/runtime.h"
#include "lb/termination.h"
#include "lb/timeouts.h"

namespace mqlb::lb {

class Worker;

// How one direction of the relay ends (Sōzu-style explicit half-close).
enum class HalfClose : uint8_t { Open, ShutdownPending, Shut };

class Session {
 public:
  // The listener took a process and a frontend slot for it.
  Session(Worker& worker, std::shared_ptr<const Runtime> runtime, const Frontend& frontend,
          const Bind& bind);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // From the worker's free list: no allocation per session once warm.
  static void* operator new(size_t size);
  static void operator delete(void* p);

  // Adopts the accepted socket `fd` from `peer`, picks a server and
  // connects, or queues.
  void start(int fd, const sockaddr_storage& peer);
  // The queued session got a server slot (from the worker's inbox).
  void on_granted();
  // Readiness of one of its sockets, from the worker's epoll set; `tag` is
  // what the session registered (the session's address, low bit: server).
  static void on_events(uint64_t tag, uint32_t events);
  // A side that stopped reading with data left (a read budget per event)
  // reads on.
  void read_again();
  // Hard stop: ends the session now with KQ, KC or KD by phase.
  void kill();
  // Health: ends the session if it is on `server` (HAProxy's on-marked-down
  // shutdown-sessions: DC or DD; on-marked-up shutdown-backup-sessions: UD,
  // relaying sessions only when `data_only`).
  void shutdown_if_on(const ServerState& server, bool data_only, Termination why);

  struct Link {
    Session* prev = nullptr;
    Session* next = nullptr;
  };
  Link link;  // in the worker's session list

 private:
  enum class Phase : uint8_t {
    Accepted,
    Handshake,  // TLS with the client, before a server is picked
    Queued,
    Connecting,
    TurnAround,
    Relaying,
    Closing
  };
  // How a TLS handshake with the client ended, when it did not complete:
  // the session writes HAProxy's one line for it instead of an access line.
  enum class HandshakeEnd : uint8_t { None, Failed, Closed, Timeout, Stopped };
  struct TlsSide;  // a side's tls::Stream and its transport

  struct Side {
    Outbox out;  // bytes waiting to be written to this side
    int fd = -1;
    uint32_t last_activity = 0;  // loop ms since accept (49 days fit)
    // Edge-triggered readiness: set by an event, cleared by EAGAIN (or a
    // short read, which means the socket's queue was drained).
    bool readable = false;
    bool writable = true;
    bool fin_seen = false;    // EPOLLRDHUP: the peer's FIN is queued after the data
    bool error_seen = false;  // EPOLLERR/EPOLLHUP: read on until recv says what
    bool read_eof = false;    // and we reached it
    bool held = false;        // not read because the other side does not take the bytes
    bool again = false;       // in the worker's list of sides with data left to read
    HalfClose write_state = HalfClose::Open;
    TlsSide* tls = nullptr;  // on a TLS side: bytes go through it
  };

  static void on_timer(uv_timer_t*) noexcept;
  static void on_closed(uv_handle_t*) noexcept;

  void route();           // picks a server and connects, or queues
  void handshake_step();  // TLS with the client, on its readiness
  void handshake_completed();
  void server_handshake_step();  // TLS to the server, while connecting
  void handshake_failed(HandshakeEnd how, const std::string& reason);
  std::string line_prefix() const;                   // "%ci:%cp [%t] %ft/<bind>: "
  ssize_t receive(Side& from, char* buf, size_t n);  // the socket, for a stream
  bool transmit(Side& to, const char* data, size_t n);
  void pump_tls(Side& from, bool& again);
  uint32_t client_hash() const;  // the key of `balance source`
  void enqueue(const Server* pinned);
  void assign(const Server* s);
  void note_queue_position();
  void connect();
  void connected();
  void connect_failed(Termination t);
  // "observe layer4": counts the attempt toward the server's error-limit.
  void observe_connect(bool ok);
  void close_socket(Side& side);
  void redispatch_or_wait();
  void relay_start();
  void side_ready(Side& side, uint32_t events);
  void pump(Side& from);
  bool wants_read(const Side& from) const;
  size_t read_limit(const Side& from) const;
  void read_eof(Side& from);
  void read_error(Side& from);
  void send(Side& to, Side& from, const char* data, size_t n);
  void flush(Side& to);
  void written(Side& to);
  void abort_write(Side& to);
  void maybe_shutdown(Side& to);
  void maybe_finish();
  void arm_timer();
  void timer_fired();
  TimerView timer_view() const;
  void hold(Side& from, bool held);
  void close(Termination t);
  void finish();
  void fill_format_fields(AccessRecord& r) const;
  void count_bytes(bool to_client, size_t n);
  bool is_client(const Side& s) const { return &s == &client_side_; }
  const Backend& backend() const { return *backend_; }
  // use_backend: the rule that applies to this connection, else default_backend.
  void choose_backend();
  uint32_t since_accept(uint64_t now) const { return static_cast<uint32_t>(now - accept_ms_); }
  uint64_t now() const;
  Side& peer(Side& s) { return is_client(s) ? server_side_ : client_side_; }

  Worker& worker_;
  std::shared_ptr<const Runtime> runtime_;
  const Frontend& frontend_;
  const Bind& bind_;
  const Backend* backend_;  // default_backend until choose_backend()
  const Server* server_ = nullptr;
  Totals* frontend_totals_;  // this worker's counters
  Totals* server_totals_ = nullptr;
  uv_timer_t timer_{};
  Side client_side_;
  Side server_side_;
  Waiter* waiter_ = nullptr;  // while queued, from the worker's free list

  uint8_t client_addr_[16] = {};  // compact: an idle session stays small
  uint16_t client_port_ = 0;
  bool client_v6_ = false;
  uint64_t accept_ms_ = 0;    // loop time
  uint64_t phase_start_ = 0;  // loop time the current queue/connect phase began
  int32_t queue_ms_ = -1;
  int32_t connect_ms_ = -1;
  int32_t handshake_ms_ = -1;  // TLS with the client (HAProxy's %Th), -1 without
  uint64_t bytes_to_client_ = 0;
  uint64_t bytes_to_server_ = 0;  // %U
  // What only some log-formats show, allocated at accept only for a
  // frontend whose format uses it: other sessions carry one pointer.
  struct FormatExtras {
    // The accepting address (%fi:%fp); family as the client's.
    uint8_t local_addr[16] = {};
    uint16_t local_port = 0;
    bool local_known = false;
    bool wants_ssl = false;  // %sslv or %sslc, on a TLS bind
    // Once the client's handshake is done; OpenSSL's static strings, so
    // they outlive the SSL object.
    const char* ssl_version = nullptr;
    const char* ssl_cipher = nullptr;
  };
  std::unique_ptr<FormatExtras> extras_;
  uint32_t retries_ = 0;
  Phase phase_ = Phase::Accepted;
  bool redispatched_ = false;
  bool in_server_queue_ = false;
  HandshakeEnd handshake_end_ = HandshakeEnd::None;
  uint32_t queue_position_ = 0;  // %sq or %bq
  Termination termination_ = Termination::Normal;
};

}  // namespace mqlb::lb
