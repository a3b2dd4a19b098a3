#include "support/http.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "support/net.h"

namespace mqlb::test {

nlohmann::json HttpReply::json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error("HTTP " + std::to_string(status) + " body is not JSON: " + body);
  }
}

HttpReply http(uint16_t port, const std::string& method, const std::string& path,
               const std::string& body, const std::string& headers, Millis timeout) {
  Socket s = Socket::connect(port, timeout);
  std::string request =
      method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "Connection: close\r\n" + headers;
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT")
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  s.send_all(request, timeout);
  const std::string text = s.receive_until_eof(timeout);
  const size_t end = text.find("\r\n\r\n");
  if (text.rfind("HTTP/1.", 0) != 0 || end == std::string::npos)
    throw std::runtime_error("not an HTTP response: '" + text.substr(0, 200) + "'");
  HttpReply r;
  r.status = std::stoi(text.substr(9, 3));
  size_t at = text.find("\r\n") + 2;
  while (at < end) {
    const size_t eol = text.find("\r\n", at);
    const std::string line = text.substr(at, eol - at);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    at = eol + 2;
  }
  r.body = text.substr(end + 4);
  return r;
}

}  // namespace mqlb::test
