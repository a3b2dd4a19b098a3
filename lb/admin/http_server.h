#pragma once
// The admin HTTP endpoints: civetweb, on its own threads (never a
// worker's). Each request is checked against its endpoint's rules
// (authorize), then handed to the control thread, which answers it with
// admin::handle; the civetweb thread only moves bytes. Thread: start and
// stop on control.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lb/admin/api.h"

struct mg_context;
struct mg_connection;

namespace mqlb::lb::admin {

struct HttpEndpoint {
  std::string host;  // IP literal
  uint16_t port = 0;
  Endpoint access;
  std::string metrics_path;  // where GET answers with the Prometheus metrics; empty: nowhere
  std::string stats_uri;     // the status page; with ";csv", `show stat`'s CSV
  long refresh_ms = 0;       // how often the page reads the API (0: its default)
  bool operator==(const HttpEndpoint& o) const {
    return host == o.host && port == o.port && metrics_path == o.metrics_path &&
           stats_uri == o.stats_uri && refresh_ms == o.refresh_ms &&
           access.loopback == o.access.loopback && access.token == o.access.token &&
           access.stats == o.access.stats && access.user == o.access.user &&
           access.password == o.access.password && access.stats_admin == o.access.stats_admin &&
           access.realm == o.access.realm;
  }
};

class HttpServer {
 public:
  // Runs `job` on the control thread; false when it no longer takes jobs.
  using Post = std::function<bool(std::function<void()> job)>;

  HttpServer(Admin& admin, Post post);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on every endpoint: "" or what failed ("admin API on
  // 127.0.0.1:8404: cannot bind: Address already in use"); on an error
  // nothing stays open.
  std::string start(const std::vector<HttpEndpoint>& endpoints);
  // Closes them; requests still waiting for the control thread get 503.
  // Must not be called from a job that a request waits for.
  void stop();
  const std::vector<HttpEndpoint>& endpoints() const { return endpoints_; }

 private:
  struct Context;
  static int on_request(mg_connection* conn, void* data);
  void serve(mg_connection* conn, const HttpEndpoint& e);

  Admin& admin_;
  Post post_;
  std::vector<HttpEndpoint> endpoints_;
  std::vector<std::unique_ptr<Context>> contexts_;
  std::atomic<bool> stopping_{false};
};

// "127.0.0.1:8404" or "[::1]:8404", as civetweb's listening_ports wants it.
std::string listening_port(const std::string& host, uint16_t port);

}  // namespace mqlb::lb::admin
