#pragma once
// What a reload changes (DESIGN.md §3), from the running configuration and
// the new one: servers by "backend/server" identity (a server whose address
// changed is a new server, the old one drains), listeners by frontend and
// address, and the settings that only a restart can change. Pure: two
// Config values in, a value out; lb/control applies it.

#include <string>
#include <vector>

#include "conf/config.h"

namespace mqlb::lb {

struct BackendChanges {
  std::string name;
  bool added = false;    // a new backend
  bool removed = false;  // gone: its servers drain
  std::vector<std::string> servers_added;
  std::vector<std::string> servers_removed;  // drain: no new sessions, live ones stay
  std::vector<std::string> servers_moved;    // same name, new address: new server, old drains
  size_t servers_unchanged = 0;              // keep state, counters and sessions

  bool operator==(const BackendChanges&) const = default;
};

struct ReloadPlan {
  std::vector<BackendChanges> backends;  // in the new file's order, then the removed ones
  // "mqtt@127.0.0.1:1883": a listener is kept when its frontend keeps a bind
  // on that address (its other options apply to new sessions).
  std::vector<std::string> listeners_added, listeners_removed;
  size_t listeners_kept = 0;
  // Settings the reload cannot apply ("global.workers: 2 -> 4"): they keep
  // their running value until a restart.
  std::vector<std::string> needs_restart;

  // The one log line of a reload: "reload: backend mqtt: +1 server (b3),
  // -0, 2 unchanged; 0 listeners changed".
  std::string summary() const;
};

ReloadPlan plan_reload(const conf::Config& running, const conf::Config& next);

// A listener's identity across reloads: "frontend@host:port".
std::string listener_key(const conf::Frontend& f, const conf::Bind& b);

}  // namespace mqlb::lb
