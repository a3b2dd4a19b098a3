#include "lb/reload_plan.h"

#include <algorithm>
#include <map>

namespace mqlb::lb {
namespace {

std::string address_of(const conf::Server& s) {
  return s.address + ":" + std::to_string(s.port);
}

BackendChanges diff_backend(const conf::Backend* before, const conf::Backend& after) {
  BackendChanges c;
  c.name = after.name;
  c.added = before == nullptr;
  std::map<std::string, const conf::Server*> old;
  if (before)
    for (const auto& s : before->servers)
      old[s.name] = &s;
  for (const auto& s : after.servers) {
    auto it = old.find(s.name);
    if (it == old.end())
      c.servers_added.push_back(s.name);
    else if (address_of(*it->second) != address_of(s))
      c.servers_moved.push_back(s.name);
    else
      ++c.servers_unchanged;
    if (it != old.end()) old.erase(it);
  }
  if (before)
    for (const auto& s : before->servers)
      if (old.count(s.name)) c.servers_removed.push_back(s.name);
  return c;
}

std::vector<std::string> listener_keys(const conf::Config& c) {
  std::vector<std::string> keys;
  for (const auto& f : c.frontends)
    for (const auto& b : f.binds)
      keys.push_back(listener_key(f, b));
  return keys;
}

// "+1 server (b3)", "-0": a count and, when there are any, the names.
std::string counted(char sign, const std::vector<std::string>& names, const char* what) {
  std::string out(1, sign);
  out += std::to_string(names.size());
  if (what) out += names.size() == 1 ? std::string(" ") + what : std::string(" ") + what + "s";
  if (!names.empty()) {
    out += " (";
    for (size_t i = 0; i < names.size(); ++i)
      out += (i ? ", " : "") + names[i];
    out += ")";
  }
  return out;
}

}  // namespace

std::string listener_key(const conf::Frontend& f, const conf::Bind& b) {
  return f.name + "@" + b.to_string();
}

ReloadPlan plan_reload(const conf::Config& running, const conf::Config& next) {
  ReloadPlan plan;
  for (const auto& b : next.backends)
    plan.backends.push_back(diff_backend(running.find_backend(b.name), b));
  for (const auto& b : running.backends)
    if (!next.find_backend(b.name)) {
      BackendChanges gone;
      gone.name = b.name;
      gone.removed = true;
      for (const auto& s : b.servers)
        gone.servers_removed.push_back(s.name);
      plan.backends.push_back(std::move(gone));
    }

  const auto before = listener_keys(running), after = listener_keys(next);
  for (const auto& k : after)
    if (std::find(before.begin(), before.end(), k) == before.end())
      plan.listeners_added.push_back(k);
    else
      ++plan.listeners_kept;
  for (const auto& k : before)
    if (std::find(after.begin(), after.end(), k) == after.end())
      plan.listeners_removed.push_back(k);

  if (running.global.workers != next.global.workers)
    plan.needs_restart.push_back(
        "global.workers: " +
        (running.global.workers ? std::to_string(running.global.workers) : "one per core") +
        " -> " + (next.global.workers ? std::to_string(next.global.workers) : "one per core"));
  return plan;
}

std::string ReloadPlan::summary() const {
  std::string out = "reload:";
  const char* sep = " ";
  for (const auto& b : backends) {
    out += sep;
    sep = "; ";
    out += "backend " + b.name + ": ";
    if (b.added) out += "new, ";
    if (b.removed) {
      out += "removed, " + std::to_string(b.servers_removed.size()) + " servers draining";
      continue;
    }
    out += counted('+', b.servers_added, "server") + ", " +
           counted('-', b.servers_removed, nullptr) + ", ";
    if (!b.servers_moved.empty()) {
      const std::string names = counted(' ', b.servers_moved, nullptr);  // " 1 (b2)"
      out += std::to_string(b.servers_moved.size()) + " moved to a new address" +
             names.substr(names.find(' ', 1)) + ", ";
    }
    out += std::to_string(b.servers_unchanged) + " unchanged";
  }
  out += sep;
  const size_t changed = listeners_added.size() + listeners_removed.size();
  if (changed == 0) {
    out += "0 listeners changed";
  } else {
    out += counted('+', listeners_added, "listener") + ", " +
           counted('-', listeners_removed, nullptr) + ", " + std::to_string(listeners_kept) +
           " kept";
  }
  return out;
}

}  // namespace mqlb::lb
