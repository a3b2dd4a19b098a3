#pragma once
// HAProxy's custom log format (`log-format`, configuration.txt §8.2.4),
// compiled once at load into a list of literals and variables that
// lb/access_log formats per session. Pure: no libuv, no sockets, no OpenSSL.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqlb::conf {

// The variables that mean something for a TCP session. The names are
// HAProxy's, plus mqlb's own MQTT ones (lowercase "mqtt...", which HAProxy
// does not have).
enum class LogVar : uint8_t {
  ClientIp,           // %ci
  ClientPort,         // %cp
  AcceptDate,         // %t   "22/Nov/2026:14:26:36.448", local time
  Frontend,           // %f
  FrontendTransport,  // %ft  the frontend, '~' appended for a TLS bind
  FrontendIp,         // %fi  the accepting address
  FrontendPort,       // %fp
  Backend,            // %b
  Server,             // %s   "<NOSRV>" when none was chosen
  ServerIp,           // %si  "-" when none was chosen
  ServerPort,         // %sp
  QueueTime,          // %Tw
  ConnectTime,        // %Tc
  HandshakeTime,      // %Th  the client's TLS handshake; 0 on a plain bind
  TotalTime,          // %Tt
  BytesRead,          // %B   server to client
  BytesUploaded,      // %U   client to server
  TerminationState,   // %ts
  ActConn,            // %ac
  FeConn,             // %fc
  BeConn,             // %bc
  SrvConn,            // %sc
  Retries,            // %rc  '+' first when redispatched
  SrvQueue,           // %sq
  BackendQueue,       // %bq
  UniqueId,           // %ID  mqlb: a per-process session number
  Pid,                // %pid
  SslVersion,         // %sslv "TLSv1.3"; "-" on a plain bind
  SslCipher,          // %sslc
  MqttClientId,       // %mqttcid  the CONNECT's client identifier; "-" until parsed
  MqttUsername,       // %mqttuser the CONNECT's user name; "-" when none
  MqttVersion,        // %mqttver  the protocol level (4 = 3.1.1, 5 = 5.0); "-" until parsed
};

// One piece of a compiled format: literal text, or a variable.
struct LogFormatNode {
  std::optional<LogVar> var;  // unset: `text` is literal
  std::string text;           // the literal
  bool quote = false;         // the "Q" flag: a string variable in double quotes

  bool operator==(const LogFormatNode&) const = default;
};

// A frontend's format: its text as written and the compiled list. An empty
// text means HAProxy's `option tcplog` line, formatted by its own fast path.
struct LogFormat {
  std::string text;
  std::vector<LogFormatNode> nodes;

  bool empty() const { return text.empty(); }
  bool uses(LogVar v) const;
  bool operator==(const LogFormat&) const = default;
};

// HAProxy's `option tcplog` as a log-format string.
inline constexpr std::string_view kTcplogFormat =
    "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

// Compiles `text` as HAProxy does with `log-format` (runs of spaces merge
// into one, "%%" is a '%', "%{+Q}" quotes, "%o" sets flags for the variables
// after it). Nullopt with `error` in HAProxy's words otherwise ("no such
// format variable 'x'. ...").
std::optional<std::vector<LogFormatNode>> parse_log_format(std::string_view text,
                                                           std::string& error);

// The variable's name without '%' ("ci", "mqttcid").
std::string_view log_var_name(LogVar v);

}  // namespace mqlb::conf
