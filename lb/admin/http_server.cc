#include "lb/admin/http_server.h"

#include "lb/access_log.h"
#include "lb/admin/commands.h"
#include "lb/admin/metrics.h"
#include "lb/admin/status_page.h"

#include <civetweb.h>

#include <chrono>
#include <future>
#include <mutex>

namespace mqlb::lb::admin {
namespace {

constexpr size_t kMaxBody = 1 << 20;
// A request gives up on the control thread after this long (503): only a
// control thread stuck for that long makes it so.
constexpr std::chrono::seconds kControlWait{30};

void write_response(mg_connection* conn, const Response& r) {
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " +
                     mg_get_response_code_text(conn, r.status) + "\r\n";
  head += "Content-Type: " + r.content_type + "\r\n";
  head += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  head += "Cache-Control: no-store\r\n";
  for (const auto& [name, value] : r.headers)
    head += name + ": " + value + "\r\n";
  head += "\r\n";
  mg_write(conn, head.data(), head.size());
  if (!r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
}

Response plain_error(int status, const std::string& message) {
  Response r;
  r.status = status;
  r.body = nlohmann::json{{"error", message}}.dump() + "\n";
  return r;
}

std::once_flag library_once;

}  // namespace

struct HttpServer::Context {
  HttpServer* server;
  HttpEndpoint endpoint;
  mg_context* ctx = nullptr;
};

std::string listening_port(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

HttpServer::HttpServer(Admin& admin, Post post) : admin_(admin), post_(std::move(post)) {
  std::call_once(library_once, [] { mg_init_library(0); });
}

HttpServer::~HttpServer() {
  stop();
}

std::string HttpServer::start(const std::vector<HttpEndpoint>& endpoints) {
  stop();
  stopping_ = false;
  for (const auto& e : endpoints) {
    auto c = std::make_unique<Context>();
    c->server = this;
    c->endpoint = e;
    const std::string ports = listening_port(e.host, e.port);
    const char* options[] = {
        "listening_ports", ports.c_str(),       "num_threads", "2",    "request_timeout_ms",
        "10000",           "enable_keep_alive", "yes",         nullptr};
    mg_callbacks callbacks{};
    // civetweb's own messages would go to stderr; the error comes back below.
    callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
    mg_init_data init{};
    init.callbacks = &callbacks;
    init.user_data = c.get();
    init.configuration_options = options;
    char text[256] = "";
    unsigned code = 0;
    mg_error_data error{&code, text, sizeof text};
    c->ctx = mg_start2(&init, &error);
    if (!c->ctx) {
      stop();
      return "admin API on " + ports + ": " + (text[0] ? text : "cannot start");
    }
    mg_set_request_handler(c->ctx, "/", on_request, c.get());
    contexts_.push_back(std::move(c));
  }
  endpoints_ = endpoints;
  return {};
}

void HttpServer::stop() {
  stopping_ = true;
  for (auto& c : contexts_)
    if (c->ctx) mg_stop(c->ctx);
  contexts_.clear();
  endpoints_.clear();
}

int HttpServer::on_request(mg_connection* conn, void* data) {
  auto* c = static_cast<Context*>(data);
  c->server->serve(conn, c->endpoint);
  return 1;
}

void HttpServer::serve(mg_connection* conn, const HttpEndpoint& e) {
  const mg_request_info* info = mg_get_request_info(conn);
  const char* auth = mg_get_header(conn, "Authorization");
  if (auto denied = authorize(e.access, info->request_method, auth ? auth : "")) {
    write_response(conn, *denied);
    return;
  }
  Request req;
  req.method = info->request_method;
  req.path = info->local_uri ? info->local_uri : "/";
  const bool read = req.method == "GET" || req.method == "HEAD";
  // HAProxy's default stats uri has a query string ("/haproxy?stats").
  const std::string full =
      req.path + (info->query_string ? std::string("?") + info->query_string : "");
  if (read && !e.stats_uri.empty() && (full == e.stats_uri || req.path == e.stats_uri)) {
    Response page;
    page.content_type = "text/html; charset=utf-8";
    page.body = status_page(e.refresh_ms);
    write_response(conn, page);
    return;
  }
  const bool csv = read && !e.stats_uri.empty() &&
                   (full == e.stats_uri + ";csv" || req.path == e.stats_uri + ";csv");
  if (info->content_length > static_cast<long long>(kMaxBody)) {
    write_response(conn, plain_error(413, "the body is larger than 1 MiB"));
    return;
  }
  char buf[8192];
  for (int n; (n = mg_read(conn, buf, sizeof buf)) > 0;) {
    req.body.append(buf, static_cast<size_t>(n));
    if (req.body.size() > kMaxBody) {
      write_response(conn, plain_error(413, "the body is larger than 1 MiB"));
      return;
    }
  }
  auto answer = std::make_shared<std::promise<Response>>();
  std::future<Response> reply = answer->get_future();
  Admin& admin = admin_;
  const bool metrics = read && !e.metrics_path.empty() && req.path == e.metrics_path;
  const bool posted = !stopping_ && post_([answer, req, metrics, csv, &admin] {
    if (!metrics && !csv) {
      answer->set_value(handle(req, admin));
      return;
    }
    Response r;
    if (metrics) {
      r.body = metrics_text(admin.runtime(), admin.info(), unix_now_ms());
      r.content_type = kMetricsContentType;
    } else {
      r.body = stat_csv(admin.runtime(), admin.info().pid, unix_now_ms());
      r.content_type = "text/plain; charset=utf-8";
    }
    answer->set_value(std::move(r));
  });
  if (!posted) {
    write_response(conn, plain_error(503, "mqlb is stopping"));
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + kControlWait;
  while (reply.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (stopping_ || std::chrono::steady_clock::now() > deadline) {
      write_response(conn, plain_error(503, "the control thread did not answer"));
      return;
    }
  }
  Response r = reply.get();
  if (req.method == "HEAD") r.body.clear();
  write_response(conn, r);
}

}  // namespace mqlb::lb::admin
