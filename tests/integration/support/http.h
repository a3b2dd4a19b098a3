// A small HTTP/1.1 client for mqlb's admin API on loopback: one request per
// connection (Connection: close). Main thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "support/wait.h"

namespace mqlb::test {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The body as JSON; throws with the body shown when it is not.
  nlohmann::json json() const;
};

// `method` `path` on 127.0.0.1:`port`; `headers` as "Name: value\r\n" lines.
HttpReply http(uint16_t port, const std::string& method, const std::string& path,
               const std::string& body = {}, const std::string& headers = {},
               Millis timeout = Millis(10000));

inline HttpReply http_get(uint16_t port, const std::string& path) {
  return http(port, "GET", path);
}

}  // namespace mqlb::test
