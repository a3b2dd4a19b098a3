#include "support/prometheus.h"

#include <catch2/catch.hpp>
#include <cctype>

#include "support/net.h"
#include "support/wait.h"

namespace mqlb::test {
namespace {

std::string config(uint16_t target) {
  return "global:\n  scrape_interval: 500ms\n  evaluation_interval: 500ms\n"
         "scrape_configs:\n  - job_name: mqlb\n    static_configs:\n"
         "      - targets: ['127.0.0.1:" +
         std::to_string(target) + "']\n";
}

}  // namespace

double sample_value(const std::string& exposition, const std::string& series) {
  const std::string head = series + " ";
  for (size_t at = 0; (at = exposition.find(head, at)) != std::string::npos; at += head.size())
    if (at == 0 || exposition[at - 1] == '\n')
      return std::stod(exposition.substr(at + head.size()));
  return -1;
}

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Prometheus::Prometheus(TempDir& dir, uint16_t target)
    : port_(free_port()),
      process_(
          dir, "prometheus",
          {"prometheus", "--config.file=" + dir.write("prometheus.yml", config(target)).string(),
           "--storage.tsdb.path=" + (dir.path() / "tsdb").string(),
           "--web.listen-address=127.0.0.1:" + std::to_string(port_)}) {
  REQUIRE(wait_until(
      [&] {
        int error = 0;
        if (!Socket::try_connect(port_, Millis(200), error).valid()) return false;
        return http_get(port_, "/-/ready").status == 200;
      },
      Millis(30000)));
}

HttpReply Prometheus::get(const std::string& path) {
  return http_get(port_, path);
}

HttpReply Prometheus::query_reply(const std::string& q) {
  return get("/api/v1/query?query=" + url_encode(q));
}

std::map<std::string, double> Prometheus::query(const std::string& q) {
  const HttpReply r = query_reply(q);
  REQUIRE(r.status == 200);
  std::map<std::string, double> out;
  const nlohmann::json doc = r.json();  // kept: a range-for over a temporary's member dangles
  for (const auto& item : doc["data"]["result"]) {
    nlohmann::json labels = item["metric"];
    labels.erase("__name__");
    labels.erase("instance");
    labels.erase("job");
    out[labels.dump()] = std::stod(item["value"][1].get<std::string>());
  }
  return out;
}

bool Prometheus::eventually(const std::string& q, const std::map<std::string, double>& expected) {
  std::map<std::string, double> last;
  const bool ok = wait_until(
      [&] {
        last = query(q);
        return last == expected;
      },
      Millis(20000), Millis(250));
  if (!ok) {
    std::string got;
    for (const auto& [k, v] : last)
      got += k + "=" + std::to_string(v) + " ";
    UNSCOPED_INFO(q << " gave: " << got);
  }
  return ok;
}

}  // namespace mqlb::test
