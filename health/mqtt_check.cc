#include "health/mqtt_check.h"

namespace mqlb::health {

namespace {

constexpr uint8_t kConnect = 0x10;
constexpr uint8_t kConnack = 0x20;
constexpr uint8_t kDisconnect = 0xe0;

// MQTT 3.1.1 §2.2.3 / 5.0 §1.5.5: 7 bits per byte, high bit = more follows.
void put_varint(std::string& out, size_t n) {
  do {
    uint8_t byte = n % 128;
    n /= 128;
    if (n > 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (n > 0);
}

// §1.5.3: UTF-8 strings and binary data carry a two-byte big-endian length.
void put_string(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>(s.size() >> 8));
  out.push_back(static_cast<char>(s.size() & 0xff));
  out.append(s);
}

enum class Varint { Ok, NeedMore, TooLong };

// Reads a variable byte integer at `pos`; advances `pos` past it.
Varint get_varint(std::string_view in, size_t& pos, size_t& value) {
  value = 0;
  for (int i = 0; i < 4; ++i) {
    if (pos >= in.size()) return Varint::NeedMore;
    const auto byte = static_cast<uint8_t>(in[pos++]);
    value |= static_cast<size_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) return Varint::Ok;
  }
  return Varint::TooLong;
}

std::string hex_byte(uint8_t b) {
  constexpr char kHex[] = "0123456789abcdef";
  return {'0', 'x', kHex[b >> 4], kHex[b & 0xf]};
}

}  // namespace

std::string encode_connect(const ConnectPacket& p) {
  std::string body;
  put_string(body, "MQTT");  // §3.1.2.1
  body.push_back(static_cast<char>(p.protocol));
  uint8_t flags = 0;  // §3.1.2.3
  if (p.username) flags |= 0x80;
  if (p.password) flags |= 0x40;
  if (p.clean) flags |= 0x02;
  body.push_back(static_cast<char>(flags));
  body.push_back(static_cast<char>(p.keepalive >> 8));
  body.push_back(static_cast<char>(p.keepalive & 0xff));
  if (p.protocol >= 5) put_varint(body, 0);  // 5.0 §3.1.2.11: no properties
  put_string(body, p.client_id);             // §3.1.3.1
  if (p.username) put_string(body, *p.username);
  if (p.password) put_string(body, *p.password);

  std::string packet(1, static_cast<char>(kConnect));
  put_varint(packet, body.size());
  return packet + body;
}

std::string encode_disconnect() {
  return {static_cast<char>(kDisconnect), '\0'};
}

std::string_view connack_reason(int protocol, int code) {
  if (protocol < 5) {
    switch (code) {  // 3.1.1 §3.2.2.3, Table 3.1 (without "Connection Refused, ")
      case 0:
        return "Connection accepted";
      case 1:
        return "Unacceptable protocol version";
      case 2:
        return "Identifier rejected";
      case 3:
        return "Server unavailable";
      case 4:
        return "Bad user name or password";
      case 5:
        return "Not authorized";
    }
    return {};
  }
  switch (code) {  // 5.0 §3.2.2.2, Table 3-1
    case 0x00:
      return "Success";
    case 0x80:
      return "Unspecified error";
    case 0x81:
      return "Malformed Packet";
    case 0x82:
      return "Protocol Error";
    case 0x83:
      return "Implementation specific error";
    case 0x84:
      return "Unsupported Protocol Version";
    case 0x85:
      return "Client Identifier not valid";
    case 0x86:
      return "Bad User Name or Password";
    case 0x87:
      return "Not authorized";
    case 0x88:
      return "Server unavailable";
    case 0x89:
      return "Server busy";
    case 0x8a:
      return "Banned";
    case 0x8c:
      return "Bad authentication method";
    case 0x90:
      return "Topic Name invalid";
    case 0x95:
      return "Packet too large";
    case 0x97:
      return "Quota exceeded";
    case 0x99:
      return "Payload format invalid";
    case 0x9a:
      return "Retain not supported";
    case 0x9b:
      return "QoS not supported";
    case 0x9c:
      return "Use another server";
    case 0x9d:
      return "Server moved";
    case 0x9f:
      return "Connection rate exceeded";
  }
  return {};
}

ConnackDecoder::Result ConnackDecoder::feed(std::string_view bytes) {
  if (!std::holds_alternative<NeedMore>(result_)) return result_;
  buffer_.append(bytes);
  result_ = decode();
  return result_;
}

ConnackDecoder::Result ConnackDecoder::decode() const {
  const std::string_view in = buffer_;
  if (in.empty()) return NeedMore{};
  const auto type = static_cast<uint8_t>(in[0]);
  if (type != kConnack) {
    return Invalid{"not a CONNACK (first byte " + hex_byte(type) + ")"};
  }
  size_t pos = 1, length = 0;
  switch (get_varint(in, pos, length)) {
    case Varint::NeedMore:
      return NeedMore{};
    case Varint::TooLong:
      return Invalid{"bad CONNACK length (more than 4 length bytes)"};
    case Varint::Ok:
      break;
  }
  // 3.1.1 §3.2: the remaining length is 2; 5.0 §3.2.1: flags, reason code, properties.
  if (protocol_ < 5 ? length != 2 : length < 2) {
    return Invalid{"bad CONNACK length " + std::to_string(length)};
  }
  if (in.size() - pos < length) return NeedMore{};
  const std::string_view body = in.substr(pos, length);
  const auto flags = static_cast<uint8_t>(body[0]);
  const auto code = static_cast<uint8_t>(body[1]);
  if ((flags & 0xfe) != 0) {  // §3.2.2.1: bits 7-1 are reserved, 0
    return Invalid{"bad CONNACK flags " + hex_byte(flags)};
  }
  if (protocol_ >= 5) {
    size_t props_pos = 2, props = 0;
    if (get_varint(body, props_pos, props) != Varint::Ok || props_pos + props != body.size()) {
      return Invalid{"bad CONNACK properties length"};
    }
  }
  if (code == 0) return Accepted{(flags & 0x01) != 0};
  const std::string_view reason = connack_reason(protocol_, code);
  if (!reason.empty()) return Refused{code, std::string(reason)};
  if (protocol_ >= 5 && code < 0x80) {  // 5.0 §3.2.2.2: only 0x00 is below 0x80
    return Invalid{"bad CONNACK reason code " + hex_byte(code)};
  }
  return Refused{code, protocol_ >= 5 ? "unknown reason code" : "reserved return code"};
}

}  // namespace mqlb::health
