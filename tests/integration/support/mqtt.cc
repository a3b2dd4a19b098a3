#include "support/mqtt.h"

#include <stdexcept>

namespace mqlb::test::mqtt {
namespace {

void put_u16(std::string& out, size_t value) {
  out += static_cast<char>((value >> 8) & 0xff);
  out += static_cast<char>(value & 0xff);
}

void put_string(std::string& out, std::string_view text) {
  put_u16(out, text.size());
  out += text;
}

// MQTT 3.1.1 §2.2: fixed header byte, then the remaining length as a
// variable byte integer (7 bits per byte, high bit = more follows).
std::string packet(uint8_t header, const std::string& body) {
  std::string out(1, static_cast<char>(header));
  size_t length = body.size();
  do {
    uint8_t byte = length % 128;
    length /= 128;
    if (length > 0) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (length > 0);
  return out + body;
}

}  // namespace

std::string connect_packet(std::string_view client_id, uint16_t keepalive_seconds) {
  std::string body;
  put_string(body, "MQTT");
  body += '\x04';  // protocol level 4 = 3.1.1 (§3.1.2.2)
  body += '\x02';  // clean session, no will, no credentials (§3.1.2.3)
  put_u16(body, keepalive_seconds);
  put_string(body, client_id);
  return packet(0x10, body);
}

std::string publish_packet(std::string_view topic, std::string_view payload) {
  std::string body;
  put_string(body, topic);
  body += payload;  // QoS 0 has no packet identifier (§3.3.2.2)
  return packet(0x30, body);
}

std::string disconnect_packet() {
  return packet(0xe0, "");
}

Socket connect(uint16_t port, std::string_view client_id, Millis timeout) {
  Socket socket = Socket::connect(port, timeout);
  socket.send_all(connect_packet(client_id), timeout);
  // CONNACK: 0x20, length 2, acknowledge flags, return code 0 = accepted.
  const std::string connack = socket.receive_exactly(4, timeout);
  if (connack[0] != '\x20' || connack[1] != '\x02' || connack[3] != '\x00') {
    throw std::runtime_error("client " + std::string(client_id) + ": no accepting CONNACK");
  }
  return socket;
}

}  // namespace mqlb::test::mqtt
