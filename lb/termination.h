#pragma once
// How a session ended, and HAProxy's two-letter termination state for it
// (the %ts field of tcplog): the first letter says who or what ended it,
// the second in which phase. Pure.

#include <cstdint>
#include <string_view>

namespace mqlb::lb {

enum class Termination : uint8_t {
  Normal,              // "--" both sides closed normally
  ClientAbort,         // "CD" the client reset or failed a write while relaying
  ServerAbort,         // "SD" the server did
  ClientTimeout,       // "cD" timeout client (or client-fin, tunnel) while relaying
  ServerTimeout,       // "sD" timeout server (or server-fin, tunnel) while relaying
  ServerRefused,       // "SC" connect refused on the last try, or no server (<NOSRV>)
  ConnectTimeout,      // "sC" timeout connect on the last try
  ResourceConnect,     // "RC" out of descriptors while connecting
  ClientAbortConnect,  // "CC" the client left while mqlb was connecting
  ClientAbortQueue,    // "CQ" the client left while queued
  QueueTimeout,        // "sQ" timeout queue
  KilledConnect,       // "KC" hard stop while connecting
  KilledQueue,         // "KQ" hard stop while queued
  KilledData,          // "KD" hard stop while relaying
  ServerDownQueued,    // "SQ" queued for a server that went down (no redispatch)
  ServerDownConnect,   // "DC" on-marked-down shutdown-sessions while connecting
  ServerDownData,      // "DD" on-marked-down shutdown-sessions while relaying
  ActiveUpData,        // "UD" on-marked-up shutdown-backup-sessions: an active server is back
};

constexpr std::string_view code(Termination t) {
  constexpr std::string_view kCodes[] = {"--", "CD", "SD", "cD", "sD", "SC", "sC", "RC", "CC",
                                         "CQ", "sQ", "KC", "KQ", "KD", "SQ", "DC", "DD", "UD"};
  return kCodes[static_cast<size_t>(t)];
}

}  // namespace mqlb::lb
