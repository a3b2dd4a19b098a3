#pragma once
// A worker: one thread, one uv_loop, one Listener per bind, and the
// sessions accepted on them. Thread: its own. Other threads talk to it only
// through its inbox (post(): a mutex-guarded message vector and a
// uv_async_t, swapped out in the async callback, never touched per byte).

#include <uv.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "lb/free_list.h"
#include "lb/outbox.h"
#include "lb/runtime.h"
#include "lb/termination.h"

namespace mqlb::lb {

class Listener;
class Session;

// Intrusive list of sessions (through Session::link): no allocation per
// insert or removal.
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

class Worker final : public Waiter::Sink {
 public:
  static constexpr size_t kReadBufferSize = 64 * 1024;

  // Inbox messages.
  struct Drain {};         // close listeners; exit when the last session ends
  struct HardStop {};      // close every session now, then exit
  struct ResumeAccept {};  // a process or frontend slot was released
  struct Grant {           // a queued session of this worker got a server slot
    Waiter* waiter;
  };
  struct SwapSnapshot {  // new sessions start in `runtime` (reload, certificates)
    std::shared_ptr<const Runtime> runtime;
  };
  struct ShutdownSessions {  // health: end the sessions on `server`
    std::shared_ptr<ServerState> server;
    Termination why;  // ServerDownData (on-marked-down) or ActiveUpData (backup, on-marked-up)
  };
  using Message =
      std::variant<Drain, HardStop, ResumeAccept, Grant, SwapSnapshot, ShutdownSessions>;

  Worker(unsigned index, std::shared_ptr<const Runtime> runtime, uv_async_t* on_exit);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // On the control thread, before start(): opens every listener. Returns an
  // error text naming the bind, or empty.
  std::string bind_all();
  void start();
  void join();
  bool finished() const { return finished_.load(); }

  // Any thread.
  void post(Message m);
  // Any thread, under the waiter's queue lock (Waiter::Sink).
  void on_granted(Waiter* w) override;

  // Thread: the worker's.
  unsigned index() const { return index_; }
  uv_loop_t* loop() { return &loop_; }
  char* read_buffer() { return read_buffer_.data(); }
  Outbox::ChunkList& chunks() { return chunks_; }
  // Adds a session socket to the worker's edge-triggered epoll set, for
  // good: it leaves the set when it is closed. Events go to
  // Session::on_events with `tag`.
  bool watch(int fd, uint64_t tag);
  // A side of `s` stopped reading with data left (its read budget): it
  // reads on in the next loop iteration. `flag` is the side's `again`.
  void again(bool* flag, Session* s);
  void forget_again(bool* flag, Session* s);
  FreeList<sizeof(Waiter), 256>& waiters() { return waiters_; }
  // A TLS handshake ended (done or failed): memory to give back when quiet.
  void handshake_ended() { ++handshakes_since_trim_; }
  bool draining() const { return draining_; }
  void add(Session* s);
  void remove(Session* s);
  // A session that was granted a slot is closing: drop the grant still in
  // the inbox, if it is there (it may be in the batch being handled).
  void cancel_grant(Waiter* w);
  // A process or frontend slot of `rt` was released: wake the workers whose
  // listeners wait for one.
  void slots_released(const Runtime& rt);
  // Out of descriptors on accept: refuse one waiting connection of
  // `listen_fd` with the reserve descriptor, or pause accepting for a
  // moment. Returns whether accepting may go on.
  bool shed_one(int listen_fd, int error);

  // Set by the control thread before start(): every worker.
  std::vector<Worker*> peers;

 private:
  static void on_async(uv_async_t* h) noexcept;
  static void on_accept_resume(uv_timer_t* timer) noexcept;
  void run();
  static void on_again(uv_idle_t* h) noexcept;
  void handle(const Message& m);
  void swap_snapshot(std::shared_ptr<const Runtime> runtime);
  void hard_stop();
  void drain();
  void close_listeners();
  void maybe_exit();

  unsigned index_;
  std::shared_ptr<const Runtime> runtime_;
  uv_async_t* on_exit_;  // the control thread's; sent when this loop ends
  uv_loop_t loop_{};
  uv_async_t async_{};
  std::vector<std::unique_ptr<Listener>> listeners_;
  // Closed by a reload, kept until their handle's close callback has run.
  std::vector<std::unique_ptr<Listener>> retired_listeners_;
  // Held in reserve: when accept fails with EMFILE it is closed to accept
  // and close one waiting connection, then reopened (the classic trick,
  // here per worker so that the count and the warning are ours).
  int reserve_fd_ = -1;
  uv_timer_t accept_resume_{};  // restarts paused listeners after EMFILE
  std::array<char, kReadBufferSize> read_buffer_{};
  Outbox::ChunkList chunks_;
  // Session sockets: our own epoll set, edge-triggered, each socket added
  // once and never modified; the loop's descriptor is in it too (kLoopTag),
  // and the worker blocks here (run()). No session is at address 0.
  static constexpr uint64_t kLoopTag = 0;
  int epoll_fd_ = -1;
  std::vector<std::pair<Session*, bool*>> again_;
  uv_idle_t again_idle_{};  // runs while again_ is not empty
  FreeList<sizeof(Waiter), 256> waiters_;
  std::thread thread_;

  std::mutex inbox_mutex_;  // guards inbox_ and async_closed_
  std::vector<Message> inbox_;
  bool async_closed_ = false;  // no uv_async_send after the handle closed
  std::atomic<bool> resume_posted_{false};
  std::atomic<bool> finished_{false};
  bool draining_ = false;
  bool exiting_ = false;
  uint32_t handshakes_since_trim_ = 0;
  static constexpr int kTrimQuietMs = 200;
  SessionList sessions_;
};

// Counts a connection lost to EMFILE/ENFILE, on accept or on the connect to
// a server, for worker `worker`, and warns at most once a second.
enum class FdUse { Accept, Connect };
void warn_fd_exhaustion(const Runtime& rt, unsigned worker, int status, FdUse use);

}  // namespace mqlb::lb
