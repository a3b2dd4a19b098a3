// Pure: no libuv, no sockets.
#include "mqtt_codec.h"

namespace mqlb::bench::mqtt {
namespace {

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_str(std::string& out, std::string_view s) {
  put_u16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}

// Fixed header: type/flags byte, then the remaining length in 1..4 bytes of
// 7 bits each (MQTT 3.1.1 §2.2.3).
void put_header(std::string& out, Type type, uint8_t flags, size_t remaining) {
  out.push_back(static_cast<char>(static_cast<uint8_t>(type) << 4 | flags));
  do {
    uint8_t byte = remaining & 0x7f;
    remaining >>= 7;
    if (remaining > 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (remaining > 0);
}

uint16_t get_u16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) << 8 | static_cast<uint8_t>(s[at + 1]));
}

}  // namespace

void append_connect(std::string& out, std::string_view client_id, uint16_t keepalive_s) {
  // §3.1.2: protocol name, level 4, flags (clean session only), keepalive.
  put_header(out, Type::Connect, 0, 10 + 2 + client_id.size());
  put_str(out, "MQTT");
  out.push_back(4);
  out.push_back(0x02);
  put_u16(out, keepalive_s);
  put_str(out, client_id);
}

void append_subscribe(std::string& out, uint16_t packet_id, std::string_view topic, uint8_t qos) {
  // §3.8.1: the fixed header flags of SUBSCRIBE are 0b0010.
  put_header(out, Type::Subscribe, 0x2, 2 + 2 + topic.size() + 1);
  put_u16(out, packet_id);
  put_str(out, topic);
  out.push_back(static_cast<char>(qos));
}

void append_publish(std::string& out, std::string_view topic, uint8_t qos, uint16_t packet_id,
                    std::string_view payload) {
  size_t remaining = 2 + topic.size() + (qos > 0 ? 2 : 0) + payload.size();
  put_header(out, Type::Publish, static_cast<uint8_t>(qos << 1), remaining);
  put_str(out, topic);
  if (qos > 0) put_u16(out, packet_id);
  out.append(payload);
}

void append_puback(std::string& out, uint16_t packet_id) {
  put_header(out, Type::Puback, 0, 2);
  put_u16(out, packet_id);
}

void append_pingreq(std::string& out) {
  put_header(out, Type::Pingreq, 0, 0);
}

void append_disconnect(std::string& out) {
  put_header(out, Type::Disconnect, 0, 0);
}

std::optional<uint8_t> parse_connack(const Packet& p) {
  if (p.body.size() != 2) return std::nullopt;
  return static_cast<uint8_t>(p.body[1]);
}

std::optional<Suback> parse_suback(const Packet& p) {
  if (p.body.size() < 3) return std::nullopt;
  return Suback{get_u16(p.body, 0), static_cast<uint8_t>(p.body[2])};
}

std::optional<Publish> parse_publish(const Packet& p) {
  Publish pub;
  pub.qos = (p.flags >> 1) & 0x3;
  if (p.body.size() < 2 || pub.qos > 2) return std::nullopt;
  size_t topic_len = get_u16(p.body, 0);
  size_t at = 2 + topic_len;
  if (p.body.size() < at + (pub.qos > 0 ? 2 : 0)) return std::nullopt;
  pub.topic = p.body.substr(2, topic_len);
  if (pub.qos > 0) {
    pub.packet_id = get_u16(p.body, at);
    at += 2;
  }
  pub.payload = p.body.substr(at);
  return pub;
}

std::optional<uint16_t> parse_puback(const Packet& p) {
  if (p.body.size() != 2) return std::nullopt;
  return get_u16(p.body, 0);
}

Reader::Frame Reader::frame(std::string_view in, Packet& p, size_t& size) {
  if (in.size() < 2) return Frame::Partial;
  uint32_t remaining = 0;
  size_t at = 1;
  for (int shift = 0;; shift += 7) {
    if (shift > 21) return Frame::Malformed;  // more than 4 length bytes
    if (at >= in.size()) return Frame::Partial;
    uint8_t byte = static_cast<uint8_t>(in[at++]);
    remaining |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (remaining > kMaxPacket) return Frame::Malformed;
  if (in.size() - at < remaining) return Frame::Partial;
  auto first = static_cast<uint8_t>(in[0]);
  p.type = static_cast<Type>(first >> 4);
  p.flags = first & 0x0f;
  p.body = in.substr(at, remaining);
  size = at + remaining;
  return Frame::Complete;
}

}  // namespace mqlb::bench::mqtt
