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

// Thread: the worker's. A listening socket of ours (SO_REUSEPORT), watched
// with a uv_poll_t: mqlb calls accept4 itself so that running out of
// descriptors is counted and handled here, not inside libuv. data = this.
struct Listener {
  Worker* worker = nullptr;
  const Frontend* frontend = nullptr;
  int fd = -1;
  uv_poll_t poll{};
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
  static void on_listener_readable(uv_poll_t* poll, int status, int events) noexcept;
  static void on_accept_resume(uv_timer_t* timer) noexcept;
  void handle_requests();
  // Accepts up to one batch; true when the batch was full (more may wait).
  bool accept_all(Listener& l);
  bool shed_one(Listener& l, int error);
  void close_listeners();
  void maybe_exit();
  void notify(std::atomic<bool>& flag);

  std::shared_ptr<const Runtime> runtime_;
  uv_async_t* on_exit_;  // the control thread's; sent when this loop ends
  uv_loop_t loop_{};
  uv_async_t async_{};
  std::vector<std::unique_ptr<Listener>> listeners_;
  // Held in reserve: when accept fails with EMFILE it is closed to accept
  // and close one waiting connection, then reopened (the classic trick,
  // here per worker so that the count and the warning are ours).
  int reserve_fd_ = -1;
  uv_timer_t accept_resume_{};  // restarts paused listeners after EMFILE
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

// Counts a connection lost to EMFILE/ENFILE (accept or connect) and warns
// at most once a second.
void warn_fd_exhaustion(const Runtime& rt, int status);

}  // namespace mqlb::lb
