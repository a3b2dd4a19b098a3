#pragma once
// The MQTT check's packets: CONNECT and DISCONNECT encoded, CONNACK decoded
// incrementally. MQTT 3.1.1 (protocol level 4) and 5.0 (level 5). Pure; the
// check's steps are a built-in tcp-check sequence (tcp_check.h, mqtt_rules).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mqlb::health {

struct ConnectPacket {
  int protocol = 4;  // 4 = MQTT 3.1.1, 5 = MQTT 5.0
  std::string client_id;
  bool clean = true;        // Clean Session (3.1.1) / Clean Start (5.0)
  uint16_t keepalive = 60;  // seconds
  std::optional<std::string> username, password;
};

// The bytes of a CONNECT; MQTT 5 with an empty property list. No will.
std::string encode_connect(const ConnectPacket& p);
// DISCONNECT: e0 00 in both versions (in MQTT 5 an absent reason code means
// 0x00, normal disconnection, §3.14.2.1).
std::string encode_disconnect();

// The words for a CONNACK code: 3.1.1 return codes 1..5 (§3.2.2.3, Table
// 3.1) or MQTT 5 reason codes (§3.2.2.2), capitalised as in MQTT 5's table.
// Empty for codes the version does not define.
std::string_view connack_reason(int protocol, int code);

// Reads one CONNACK from bytes that may arrive in pieces. Feed every piece;
// once a result other than NeedMore comes back it stays.
class ConnackDecoder {
 public:
  struct NeedMore {
    bool operator==(const NeedMore&) const = default;
  };
  struct Accepted {
    bool session_present = false;
    bool operator==(const Accepted&) const = default;
  };
  struct Refused {
    int code = 0;
    std::string reason;  // connack_reason(), or "reserved return code" / "unknown reason code"
    bool operator==(const Refused&) const = default;
  };
  struct Invalid {
    std::string what;
    bool operator==(const Invalid&) const = default;
  };
  using Result = std::variant<NeedMore, Accepted, Refused, Invalid>;

  explicit ConnackDecoder(int protocol) : protocol_(protocol) {}

  Result feed(std::string_view bytes);
  const Result& result() const { return result_; }

 private:
  Result decode() const;

  int protocol_;
  std::string buffer_;
  Result result_ = NeedMore{};
};

}  // namespace mqlb::health
