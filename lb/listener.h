#pragma once
// A listening socket of one frontend bind on one worker: our own socket
// (SO_REUSEPORT, so each worker has its own accept queue) watched with a
// uv_poll_t, and accept4 called by mqlb itself so that running out of
// descriptors is counted and handled here, not inside libuv. Before each
// accept it takes a process and a frontend slot; when either limit is
// reached it stops accepting and the kernel's backlog holds the excess
// (HAProxy's maxconn) until a released slot resumes it.
// Thread: its worker's. Owned by the worker; poll.data = this.

#include <uv.h>

#include <memory>
#include <string>

#include "conf/config.h"

namespace mqlb::lb {

class Worker;
struct Bind;
struct Frontend;
struct Runtime;

// Whether a reload may open `bind`: a socket bound (and closed again) the
// way a listener binds it. An error naming the bind, or empty.
std::string try_bind(const conf::Frontend& frontend, const conf::Bind& bind);

class Listener {
 public:
  // `frontend` and its `bind` belong to `runtime`, which sessions accepted
  // here will hold.
  Listener(Worker& worker, std::shared_ptr<const Runtime> runtime, const Frontend& frontend,
           const Bind& bind);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds and listens; an error text naming the bind, or empty.
  std::string open();
  // Accepts up to one batch; true when the batch was full (more may wait).
  bool accept_batch();
  // Stops for good (drain, stop); the socket closes with the handle.
  void close();
  bool closed() const { return fd_ < 0 || closing_; }
  // The socket is closed and the handle's close callback has run.
  bool fully_closed() const { return fd_ < 0; }

  // Out of descriptors: stop watching for a moment (Worker's accept pause).
  void pause();
  void resume();
  // Full process or frontend: true when this listener is waiting for a
  // released slot. resume_if_room() resumes it when there is room again.
  bool limited() const { return limited_; }
  bool resume_if_room();

  const Frontend& frontend() const { return *frontend_; }
  const Bind& bind() const { return *bind_; }
  // A new snapshot whose frontend has a bind on this address: sessions
  // accepted from now on start in it, with its options (TLS included).
  void adopt(std::shared_ptr<const Runtime> runtime, const Frontend& frontend, const Bind& bind);

 private:
  static void on_readable(uv_poll_t* poll, int status, int events) noexcept;
  // `counts`: the process's and the frontend's live counts with them, for
  // their peaks once a connection is accepted.
  bool take_slots(uint32_t (&counts)[2]);
  void give_slots();
  // Whether the frontend's `tcp-request connection` rules let this client in.
  bool admitted(const sockaddr_storage& peer) const;
  bool has_room() const;
  void wait_for_room();

  Worker& worker_;
  std::shared_ptr<const Runtime> runtime_;
  const Frontend* frontend_;
  const Bind* bind_;
  int fd_ = -1;
  uv_poll_t poll_{};
  bool polling_ = false;
  bool limited_ = false;
  bool closing_ = false;
};

}  // namespace mqlb::lb
