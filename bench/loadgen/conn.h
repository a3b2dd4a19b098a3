#pragma once
// One MQTT client connection on a libuv loop, over TCP or TLS, plus the
// per-loop pieces every workload needs (the shared read buffers, a timer, the
// loop's TLS state). A Conn belongs to one workload on one loop thread; it can
// be reopened after on_closed.

#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "mqtt_codec.h"
#include "tls_client.h"

namespace mqlb::bench {

// A uv loop and the read buffers all its connections borrow (one for what
// the socket gives, one for what TLS decrypts from it): reads are decoded
// inside the read callback, so the buffers are free again after it.
class Loop {
 public:
  explicit Loop(const TlsClient* tls = nullptr);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* get() { return &loop_; }
  void run() { uv_run(&loop_, UV_RUN_DEFAULT); }
  std::array<char, 64 * 1024>& buffer() { return buffer_; }
  std::array<char, 64 * 1024>& plaintext() { return plaintext_; }
  const TlsClient* tls() const { return tls_; }  // null: plain TCP
  TlsLoop& tls_state() { return tls_state_; }

 private:
  uv_loop_t loop_;
  std::array<char, 64 * 1024> buffer_;
  std::array<char, 64 * 1024> plaintext_;
  const TlsClient* tls_;
  TlsLoop tls_state_;
};

// A uv_timer_t calling a function; close() before the loop ends.
class Timer {
 public:
  Timer(Loop& loop, std::function<void()> fire);
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void start(double first_s, double repeat_s = 0);
  void close();

 private:
  static void on_fire(uv_timer_t* t) noexcept;
  uv_timer_t timer_;
  std::function<void()> fire_;
  bool closed_ = false;
};

class Conn {
 public:
  // Implemented by the workload that owns the connection.
  class Handler {
   public:
    // TCP is connected and, with TLS, the handshake is done: send CONNECT.
    virtual void on_connected(Conn& c) = 0;
    // Returns false to stop handing out packets from this read (e.g. after close()).
    virtual bool on_packet(Conn& c, const mqtt::Packet& p) = 0;
    // The connection failed (`why` is a short word such as "connect ECONNREFUSED");
    // it is closing and on_closed follows.
    virtual void on_failed(Conn& c, std::string_view why) = 0;
    virtual void on_closed(Conn& c) = 0;

   protected:
    ~Handler() = default;
  };

  Conn(Loop& loop, Handler& handler, uint32_t index)
      : loop_(loop), handler_(handler), index_(index) {}
  ~Conn() { SSL_free(ssl_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Connects from `source` (nullptr = any) to `target`; only when is_closed().
  // Returns false if no socket could be made (reported through on_failed, but
  // no on_closed follows).
  bool open(const sockaddr* target, const sockaddr_in* source);
  // Packets are appended to out() and sent by flush() (encrypted first with
  // TLS); a read callback flushes by itself after its packets are handled.
  std::string& out() { return out_; }
  void flush();
  void close();
  // With TLS a close_notify follows what is queued (RFC 8446 §6.1).
  void close_after_flush();

  bool is_closed() const { return state_ == State::Closed; }
  bool is_open() const { return state_ == State::Open; }
  size_t queued_bytes() const { return state_ == State::Open ? tcp_.write_queue_size : 0; }
  uint32_t index() const { return index_; }

  uint64_t started_ns = 0;  // for the owner's timeouts and latencies

 private:
  // Handshake: TCP is up, TLS is not yet; out() waits until Open.
  enum class State { Closed, Connecting, Handshake, Open, Closing };
  struct WriteReq {
    uv_write_t req;
    std::string data;
  };

  static void on_connect(uv_connect_t* req, int status) noexcept;
  static void on_alloc(uv_handle_t* h, size_t size, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_write(uv_write_t* req, int status) noexcept;
  static void on_close(uv_handle_t* h) noexcept;
  void start_tls();
  void handshake();
  void on_ciphertext(std::string_view data);
  bool deliver(std::string_view plaintext);  // false once the connection is failing or closing
  void send(const char* data, size_t size);  // to the socket, queueing what it does not take
  void send_ciphertext();                    // what OpenSSL wrote to its memory BIO
  void fail(std::string_view what, int uv_error);
  void tls_fail(std::string_view what, int ssl_error);

  Loop& loop_;
  Handler& handler_;
  uint32_t index_;
  State state_ = State::Closed;
  bool close_when_flushed_ = false;
  uv_tcp_t tcp_;
  uv_connect_t connect_req_;
  mqtt::Reader reader_;
  std::string out_;
  SSL* ssl_ = nullptr;  // with TLS, from connect until the close callback
};

}  // namespace mqlb::bench
