// A real Prometheus server (Debian's prometheus) on a free loopback port,
// scraping one target every 500 ms into a TSDB in the test's directory,
// and its HTTP query API. Ready when the constructor returns; the first
// scrape follows some seconds later (Prometheus' discovery delay). Main
// thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "support/http.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace mqlb::test {

// The value of the sample `series` (name and labels as written, e.g.
// `mqlb_frontend_sessions_total{proxy="mqtt"}`) in a text exposition; -1
// when there is none.
double sample_value(const std::string& exposition, const std::string& series);

// `text` with every byte but [A-Za-z0-9_.~-] %-encoded, for a query string.
std::string url_encode(const std::string& text);

class Prometheus {
 public:
  // Scrapes 127.0.0.1:`target`/metrics.
  Prometheus(TempDir& dir, uint16_t target);

  // GET `path` of the HTTP API, e.g. "/api/v1/query?query=..." (encoded).
  HttpReply get(const std::string& path);
  // The raw answer to an instant query.
  HttpReply query_reply(const std::string& q);
  // The instant vector of `q`: its labels but __name__, instance and job
  // (as JSON text) -> value.
  std::map<std::string, double> query(const std::string& q);
  // Polls `q` until it gives `expected`; on a timeout, reports what it gave.
  bool eventually(const std::string& q, const std::map<std::string, double>& expected);

 private:
  uint16_t port_;
  Process process_;
};

}  // namespace mqlb::test
