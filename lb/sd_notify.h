#pragma once
// systemd's readiness protocol (sd_notify(3), without libsystemd): one
// datagram such as "READY=1" to the unix socket named by $NOTIFY_SOCKET
// ("@name" is in the abstract namespace). Without the variable, nothing
// happens, so mqlb run by hand or by tests behaves the same.
// Thread: any; each call opens, sends and closes its own socket.

#include <string_view>

namespace mqlb::lb {

// "READY=1", "RELOADING=1\nMONOTONIC_USEC=...", "STOPPING=1", "STATUS=...".
// Returns whether a datagram was sent.
bool sd_notify(std::string_view state);

// RELOADING=1 with the MONOTONIC_USEC that systemd's Type=notify-reload
// wants (older systemd ignores it).
bool sd_notify_reloading();

}  // namespace mqlb::lb
