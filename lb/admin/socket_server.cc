#include "lb/admin/socket_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "lb/access_log.h"
#include "lb/admin/commands.h"

namespace mqlb::lb::admin {
namespace {

// A line longer than this ends the connection (HAProxy's buffer is 16 KiB).
constexpr size_t kMaxLine = 64 * 1024;

}  // namespace

struct SocketServer::Listener {
  uv_pipe_t pipe{};
  SocketServer* server = nullptr;
  Level level = Level::User;
  std::string path;
};

struct SocketServer::Connection {
  uv_pipe_t pipe{};
  SocketServer* server = nullptr;
  Level level = Level::User;
  CommandSession session;
  std::string input;
  bool closing = false;
  size_t writes = 0;  // in flight: close once they are done
  bool close_after_writes = false;

  void write(std::string text);
  void close();
  void on_data(const char* data, size_t n);
};

void SocketServer::Connection::write(std::string text) {
  if (text.empty() || closing) return;
  struct Write {
    uv_write_t req{};
    std::string text;
    Connection* conn;
  };
  auto* w = new Write{{}, std::move(text), this};
  uv_buf_t buf = uv_buf_init(w->text.data(), static_cast<unsigned>(w->text.size()));
  ++writes;
  int rc =
      uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&pipe), &buf, 1, [](uv_write_t* req, int) {
        auto* w = reinterpret_cast<Write*>(req);
        Connection* c = w->conn;
        delete w;
        if (--c->writes == 0 && c->close_after_writes) c->close();
      });
  if (rc != 0) {
    --writes;
    delete w;
    close();
  }
}

void SocketServer::Connection::close() {
  if (closing) return;
  closing = true;
  server->connections_.erase(this);
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe),
           [](uv_handle_t* h) { delete reinterpret_cast<Connection*>(h->data); });
}

void SocketServer::Connection::on_data(const char* data, size_t n) {
  input.append(data, n);
  // Every line received so far runs (scripts pipe several), then a
  // connection that is not in prompt mode ends, as HAProxy's does.
  size_t nl;
  bool ran = false;
  while (!closing && !close_after_writes && (nl = input.find('\n')) != std::string::npos) {
    std::string line = input.substr(0, nl);
    input.erase(0, nl + 1);
    write(run_line(line, server->admin_, level, session, unix_now_ms()));
    ran = true;
    if (session.quit) close_after_writes = true;
  }
  if (ran && !session.prompt) close_after_writes = true;
  if (input.size() > kMaxLine) close_after_writes = true;
  if (close_after_writes && writes == 0) close();
}

SocketServer::SocketServer(uv_loop_t* loop, Admin& admin) : loop_(loop), admin_(admin) {}

SocketServer::~SocketServer() {
  close();
}

std::string SocketServer::open(const std::vector<conf::StatsSocket>& sockets) {
  for (const auto& s : sockets) {
    auto* l = new Listener;
    l->server = this;
    l->level = parse_level(s.level).value_or(Level::User);
    l->path = s.path;
    uv_pipe_init(loop_, &l->pipe, 0);
    l->pipe.data = l;
    // A file left by an earlier process that is not listening any more.
    struct stat st {};
    if (::stat(s.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(s.path.c_str());
    int rc = uv_pipe_bind(&l->pipe, s.path.c_str());
    if (rc == 0 && !s.mode.empty())
      if (::chmod(s.path.c_str(), static_cast<mode_t>(std::stoul(s.mode, nullptr, 8))) != 0)
        rc = -errno;
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->pipe), 16, on_connection);
    if (rc != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(&l->pipe),
               [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
      return "runtime socket '" + s.path + "': " + uv_strerror(rc);
    }
    listeners_.push_back(l);
    sockets_.push_back(s);
  }
  return {};
}

void SocketServer::close() {
  for (Listener* l : listeners_) {
    ::unlink(l->path.c_str());
    uv_close(reinterpret_cast<uv_handle_t*>(&l->pipe),
             [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
  }
  listeners_.clear();
  sockets_.clear();
  const std::set<Connection*> open = connections_;
  for (Connection* c : open)
    c->close();
}

void SocketServer::on_connection(uv_stream_t* server, int status) noexcept {
  auto* l = static_cast<Listener*>(server->data);
  if (status < 0) return;
  auto* c = new Connection;
  c->server = l->server;
  c->level = l->level;
  uv_pipe_init(l->server->loop_, &c->pipe, 0);
  c->pipe.data = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->pipe),
             [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
    return;
  }
  c->server->connections_.insert(c);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->pipe),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static thread_local char chunk[4096];
        *buf = uv_buf_init(chunk, sizeof chunk);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* c = static_cast<Connection*>(s->data);
        if (n < 0) {
          // The client closed: answer what is left without a newline, as
          // `echo -n "show info" | socat` sends it.
          if (!c->input.empty() && !c->close_after_writes) c->on_data("\n", 1);
          if (c->writes == 0)
            c->close();
          else
            c->close_after_writes = true;
          return;
        }
        c->on_data(buf->base, static_cast<size_t>(n));
      });
}

}  // namespace mqlb::lb::admin
