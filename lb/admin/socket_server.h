#pragma once
// The runtime socket: HAProxy's `stats socket` (a Unix socket, its text
// protocol in lb/admin/commands) on the control loop. One command line per
// connection, or many in prompt mode. Thread: control.

#include <uv.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "conf/config.h"
#include "lb/admin/admin.h"

namespace mqlb::lb::admin {

class SocketServer {
 public:
  SocketServer(uv_loop_t* loop, Admin& admin);
  ~SocketServer();
  SocketServer(const SocketServer&) = delete;
  SocketServer& operator=(const SocketServer&) = delete;

  // Listens on every socket (a stale file at the path is replaced; the
  // mode applied): "" or what failed, naming the path. On an error the
  // sockets opened so far stay open.
  std::string open(const std::vector<conf::StatsSocket>& sockets);
  // Stops listening and removes the files; connections being served end.
  void close();
  const std::vector<conf::StatsSocket>& sockets() const { return sockets_; }

 private:
  struct Listener;
  struct Connection;
  static void on_connection(uv_stream_t* server, int status) noexcept;

  uv_loop_t* loop_;
  Admin& admin_;
  std::vector<conf::StatsSocket> sockets_;
  std::vector<Listener*> listeners_;  // closed through libuv, which frees them
  std::set<Connection*> connections_;
};

}  // namespace mqlb::lb::admin
