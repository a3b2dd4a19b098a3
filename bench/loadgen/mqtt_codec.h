#pragma once
// Minimal MQTT 3.1.1 client codec for the load generator: encoders for the
// packets a client sends and a frame reader for what a broker sends back.
// Pure: no libuv, no sockets. Any thread; a Reader belongs to one connection.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mqlb::bench::mqtt {

// MQTT 3.1.1 §2.2.1 control packet types.
enum class Type : uint8_t {
  Connect = 1,
  Connack = 2,
  Publish = 3,
  Puback = 4,
  Subscribe = 8,
  Suback = 9,
  Pingreq = 12,
  Pingresp = 13,
  Disconnect = 14,
};

struct Packet {
  Type type;
  uint8_t flags;          // low nibble of the fixed header
  std::string_view body;  // variable header + payload; valid during the callback only
};

struct Publish {
  std::string_view topic;
  uint8_t qos = 0;
  uint16_t packet_id = 0;  // 0 for QoS 0
  std::string_view payload;
};

struct Suback {
  uint16_t packet_id = 0;
  uint8_t return_code = 0;  // granted QoS, or 0x80 for failure (§3.9.3)
};

// Encoders append one complete packet to `out`.
void append_connect(std::string& out, std::string_view client_id, uint16_t keepalive_s);
void append_subscribe(std::string& out, uint16_t packet_id, std::string_view topic, uint8_t qos);
void append_publish(std::string& out, std::string_view topic, uint8_t qos, uint16_t packet_id,
                    std::string_view payload);
void append_puback(std::string& out, uint16_t packet_id);
void append_pingreq(std::string& out);
void append_disconnect(std::string& out);

// Decoders return nullopt for a malformed body.
std::optional<uint8_t> parse_connack(const Packet& p);  // the return code (§3.2.2.3)
std::optional<Suback> parse_suback(const Packet& p);
std::optional<Publish> parse_publish(const Packet& p);
std::optional<uint16_t> parse_puback(const Packet& p);

// Splits a byte stream into packets. Complete packets are handed out straight
// from the caller's buffer; only a trailing partial packet is copied, so an
// idle connection keeps no buffer.
class Reader {
 public:
  static constexpr uint32_t kMaxPacket = 16u << 20;

  // Calls on_packet(const Packet&) -> bool for each complete packet; stops
  // early when it returns false. Returns false on a malformed fixed header.
  template <typename F>
  bool feed(std::string_view data, F&& on_packet);

 private:
  enum class Frame { Complete, Partial, Malformed };
  // Looks for one packet at the start of `in`; on Complete sets p and size.
  static Frame frame(std::string_view in, Packet& p, size_t& size);

  std::string pending_;
};

template <typename F>
bool Reader::feed(std::string_view data, F&& on_packet) {
  std::string_view in = data;
  if (!pending_.empty()) {
    pending_.append(data);
    in = pending_;
  }
  size_t used = 0;
  bool ok = true;
  for (;;) {
    Packet p{};
    size_t size = 0;
    Frame f = frame(in.substr(used), p, size);
    if (f == Frame::Malformed) ok = false;
    if (f != Frame::Complete) break;
    used += size;
    if (!on_packet(p)) break;
  }
  if (in.data() == pending_.data()) {
    pending_.erase(0, used);
  } else {
    pending_.assign(in.substr(used));
  }
  if (pending_.empty()) std::string().swap(pending_);  // idle connections hold no buffer
  return ok;
}

}  // namespace mqlb::bench::mqtt
