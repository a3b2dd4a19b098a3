#include "conn.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

namespace mqlb::bench {

Loop::Loop(const TlsClient* tls) : tls_(tls) {
  if (uv_loop_init(&loop_) != 0) std::abort();
  loop_.data = this;
}

Loop::~Loop() {
  // Every handle is closed by its owner before the loop ends; a last pass
  // runs any close callbacks still pending.
  uv_run(&loop_, UV_RUN_NOWAIT);
  uv_loop_close(&loop_);
}

Timer::Timer(Loop& loop, std::function<void()> fire) : fire_(std::move(fire)) {
  uv_timer_init(loop.get(), &timer_);
  timer_.data = this;
}

void Timer::start(double first_s, double repeat_s) {
  if (closed_) return;
  uv_timer_start(&timer_, on_fire, static_cast<uint64_t>(first_s * 1000),
                 static_cast<uint64_t>(repeat_s * 1000));
}

void Timer::close() {
  if (closed_) return;
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void Timer::on_fire(uv_timer_t* t) noexcept {
  static_cast<Timer*>(t->data)->fire_();
}

bool Conn::open(const sockaddr* target, const sockaddr_in* source) {
  if (state_ != State::Closed) return true;
  if (int rc = uv_tcp_init_ex(loop_.get(), &tcp_, target->sa_family); rc != 0) {
    handler_.on_failed(*this, std::string("socket ") + uv_err_name(rc));
    return false;
  }
  tcp_.data = this;
  connect_req_.data = this;
  state_ = State::Connecting;
  close_when_flushed_ = false;
  if (source != nullptr && target->sa_family == AF_INET) {
    uv_os_fd_t fd;
    uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd);
    // Pick the port at connect time from the whole 4-tuple, not at bind time
    // from the source address alone, so each source address can use the full
    // ephemeral range towards every target.
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(source), sizeof *source) != 0) {
      fail("bind", uv_translate_sys_error(errno));
      return true;
    }
  }
  uv_tcp_nodelay(&tcp_, 1);
  if (int rc = uv_tcp_connect(&connect_req_, &tcp_, target, on_connect); rc != 0) {
    fail("connect", rc);
  }
  return true;
}

void Conn::flush() {
  if (state_ != State::Open) return;
  if (ssl_ == nullptr) {
    if (out_.empty()) return;
    send(out_.data(), out_.size());
    out_.clear();
    return;
  }
  if (!out_.empty()) {
    // A memory BIO never pushes back, so SSL_write takes all of it at once.
    size_t written = 0;
    if (SSL_write_ex(ssl_, out_.data(), out_.size(), &written) != 1)
      return tls_fail("TLS write", SSL_get_error(ssl_, 0));
    out_.clear();
  }
  send_ciphertext();
}

void Conn::send(const char* data, size_t size) {
  // uv_try_write refuses while earlier requests are queued, so order holds.
  uv_buf_t buf = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(size));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
  if (n == UV_EAGAIN) n = 0;
  if (n < 0) return fail("write", n);
  if (static_cast<size_t>(n) == size) return;
  // The kernel took only part: the rest waits in a request of its own.
  auto* w = new WriteReq;
  w->req.data = w;
  w->data.assign(data + n, size - n);
  buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  if (int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, on_write);
      rc != 0) {
    delete w;
    fail("write", rc);
  }
}

void Conn::send_ciphertext() {
  BIO* wbio = SSL_get_wbio(ssl_);
  char* data = nullptr;
  long size = BIO_get_mem_data(wbio, &data);
  if (size <= 0) return;
  // Sent straight from the BIO's buffer, which is then emptied for reuse.
  send(data, static_cast<size_t>(size));
  (void)BIO_reset(wbio);
}

void Conn::close() {
  if (state_ == State::Closed || state_ == State::Closing) return;
  state_ = State::Closing;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
}

void Conn::close_after_flush() {
  flush();
  if (ssl_ != nullptr && state_ == State::Open) {
    SSL_shutdown(ssl_);  // queues our close_notify; the peer's is not awaited
    send_ciphertext();
  }
  if (state_ == State::Open && tcp_.write_queue_size > 0) {
    close_when_flushed_ = true;
  } else {
    close();
  }
}

void Conn::fail(std::string_view what, int uv_error) {
  if (state_ == State::Closed || state_ == State::Closing) return;
  std::string why(what);
  if (uv_error != 0) why += std::string(" ") + uv_err_name(uv_error);
  handler_.on_failed(*this, why);
  close();
}

void Conn::tls_fail(std::string_view what, int ssl_error) {
  std::string why(what);
  if (ssl_error == SSL_ERROR_SSL) {
    why += ": " + openssl_error();
  } else {
    why += ": SSL_get_error " + std::to_string(ssl_error);
    ERR_clear_error();
  }
  fail(why, 0);
}

void Conn::on_connect(uv_connect_t* req, int status) noexcept {
  auto* c = static_cast<Conn*>(req->data);
  if (status == UV_ECANCELED || c->state_ != State::Connecting) return;
  if (status != 0) return c->fail("connect", status);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp_), on_alloc, on_read);
  if (c->loop_.tls() != nullptr) return c->start_tls();
  c->state_ = State::Open;
  c->handler_.on_connected(*c);
  c->flush();
}

void Conn::start_tls() {
  state_ = State::Handshake;
  ssl_ = loop_.tls()->new_ssl(loop_.tls_state());
  if (ssl_ == nullptr) return fail("TLS setup: " + openssl_error(), 0);
  handshake();  // sends the ClientHello
}

void Conn::handshake() {
  int rc = SSL_do_handshake(ssl_);
  if (rc != 1) {
    int err = SSL_get_error(ssl_, rc);
    send_ciphertext();  // the ClientHello, or an alert
    if (err == SSL_ERROR_WANT_READ) return;
    return tls_fail("TLS handshake", err);
  }
  loop_.tls()->handshake_done(ssl_, loop_.tls_state());
  state_ = State::Open;
  handler_.on_connected(*this);
  flush();  // the client Finished and CONNECT leave together
}

void Conn::on_ciphertext(std::string_view data) {
  BIO* rbio = SSL_get_rbio(ssl_);
  if (BIO_write(rbio, data.data(), static_cast<int>(data.size())) != static_cast<int>(data.size()))
    return fail("TLS: memory BIO refused input", 0);
  if (state_ == State::Handshake) {
    handshake();
    if (state_ != State::Open) return;
  }
  auto& plain = loop_.plaintext();
  for (;;) {
    size_t n = 0;
    if (SSL_read_ex(ssl_, plain.data(), plain.size(), &n) != 1) {
      // Tickets and other records without application data end here too.
      int err = SSL_get_error(ssl_, 0);
      if (err == SSL_ERROR_WANT_READ) break;
      if (err == SSL_ERROR_ZERO_RETURN) return fail("closed by peer", 0);
      return tls_fail("TLS read", err);
    }
    if (!deliver(std::string_view(plain.data(), n))) return;
  }
}

bool Conn::deliver(std::string_view plaintext) {
  bool ok = reader_.feed(plaintext, [this](const mqtt::Packet& p) {
    return state_ == State::Open && handler_.on_packet(*this, p);
  });
  if (!ok) fail("malformed packet", 0);
  return ok && state_ == State::Open;
}

void Conn::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  auto& b = static_cast<Loop*>(h->loop->data)->buffer();
  *buf = uv_buf_init(b.data(), static_cast<unsigned>(b.size()));
}

void Conn::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<Conn*>(s->data);
  if (nread == 0 || (c->state_ != State::Open && c->state_ != State::Handshake)) return;
  if (nread == UV_EOF) return c->fail("closed by peer", 0);
  if (nread < 0) return c->fail("read", static_cast<int>(nread));
  std::string_view data(buf->base, static_cast<size_t>(nread));
  if (c->ssl_ != nullptr) {
    c->on_ciphertext(data);
  } else if (!c->deliver(data)) {
    return;
  }
  c->flush();
}

void Conn::on_write(uv_write_t* req, int status) noexcept {
  auto* w = static_cast<WriteReq*>(req->data);
  auto* c = static_cast<Conn*>(req->handle->data);
  delete w;
  if (status == UV_ECANCELED || (c->state_ != State::Open && c->state_ != State::Handshake)) return;
  if (status < 0) return c->fail("write", status);
  if (c->close_when_flushed_ && c->tcp_.write_queue_size == 0) c->close();
}

void Conn::on_close(uv_handle_t* h) noexcept {
  auto* c = static_cast<Conn*>(h->data);
  c->state_ = State::Closed;
  c->reader_ = mqtt::Reader();
  c->out_.clear();
  SSL_free(c->ssl_);
  c->ssl_ = nullptr;
  c->handler_.on_closed(*c);
}

}  // namespace mqlb::bench
