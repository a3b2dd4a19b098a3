#pragma once
// A worker: one thread, one uv_loop, one SO_REUSEPORT listener per bind,
// and the sessions accepted on them. Thread: its own; other threads talk to
// it only through request_*() (an atomic flag plus a uv_async_t).

#include <uv.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lb/runtime.h"

namespace mqlb::lb {

class Session;
class Worker;

// Thread: the worker's. A listening socket; data = this.
struct Listener {
  Worker* worker = nullptr;
  const Frontend* frontend = nullptr;
  uv_tcp_t handle{};
};

// Intrusive list of sessions: no allocation per insert or removal. A
// session is in exactly one list of its worker at a time.
struct SessionLink {
  Session* prev = nullptr;
  Session* next = nullptr;
};
class SessionList {
 public:
  void push_back(Session* s);
  void remove(Session* s);
  Session* front() const { return head_; }
  size_t size() const { return size_; }

 private:
  Session* head_ = nullptr;
  Session* tail_ = nullptr;
  size_t size_ = 0;
};

class Worker {
 public:
  static constexpr size_t kReadBufferSize = 64 * 1024;

  Worker(std::shared_ptr<const Runtime> runtime, uv_async_t* on_exit);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // On the control thread, before start(): opens every listener. Returns an
  // error text naming the bind, or empty.
  std::string bind_all();
  void start();
  void join();
  bool finished() const { return finished_.load(); }

  // From any thread.
  void request_drain();       // close listeners; exit when the last session ends
  void request_hard_stop();   // close every session now, then exit
  void request_queue_wake();  // a slot freed somewhere: retry queued sessions

  // Thread: the worker's.
  uv_loop_t* loop() { return &loop_; }
  const Runtime& runtime() const { return *runtime_; }
  char* read_buffer() { return read_buffer_.data(); }
  void add(Session* s);
  void remove(Session* s);
  void enqueue(Session* s);
  void dequeue(Session* s);
  // Tells every worker that a slot was released, if anyone is waiting.
  void slot_released();

  // Set by main before start(): every worker, to wake their queues.
  std::vector<Worker*> peers;

 private:
  static void on_async(uv_async_t* h) noexcept;
  static void on_connection(uv_stream_t* server, int status) noexcept;
  void handle_requests();
  void accept_one(Listener& l);
  void close_listeners();
  void maybe_exit();
  void notify(std::atomic<bool>& flag);

  std::shared_ptr<const Runtime> runtime_;
  uv_async_t* on_exit_;  // the control thread's; sent when this loop ends
  uv_loop_t loop_{};
  uv_async_t async_{};
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::array<char, kReadBufferSize> read_buffer_{};
  std::thread thread_;

  // Guards async_ against a send after it was closed (the loop exiting).
  std::mutex async_mutex_;
  bool async_closed_ = false;
  std::atomic<bool> finished_{false};
  std::atomic<bool> drain_requested_{false};
  std::atomic<bool> hard_stop_requested_{false};
  std::atomic<bool> queue_wake_requested_{false};
  bool draining_ = false;
  bool exiting_ = false;
  SessionList sessions_;  // admitted, connecting, relaying or closing
  SessionList queue_;     // FIFO of sessions waiting for a slot
};

// Rate-limited warning when accept runs out of descriptors.
void warn_fd_exhaustion(const Runtime& rt, int status);

}  // namespace mqlb::lb
