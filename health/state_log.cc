#include "health/state_log.h"

namespace mqlb::health {

namespace {

void append_encoded(std::string& out, std::string_view text) {
  constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f || c == '<' || c == '>' || c == '"') {
      out += '<';
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
      out += '>';
    } else {
      out += c;
    }
  }
}

}  // namespace

void append_check_status(std::string& out, const CheckResult& r) {
  out += ", reason: ";
  out += description(r.status);
  if (reports_code(r.status)) out += ", code: " + std::to_string(r.code);
  if (!r.info.empty()) {
    out += ", info: \"";
    append_encoded(out, r.info);
    out += '"';
  }
  if (r.duration.count() >= 0) {
    out += ", check duration: " + std::to_string(r.duration.count()) + "ms";
  }
}

std::string format_state_change(const StateChange& c) {
  std::string out = c.backup ? "Backup Server " : "Server ";
  out += c.backend;
  out += '/';
  out += c.server;
  out += c.up ? " is UP" : " is DOWN";
  if (c.check) {
    append_check_status(out, *c.check);
  } else if (!c.reason.empty()) {
    out += ", ";
    out += c.reason;
  }
  out += ". " + std::to_string(c.active_servers) + " active and " +
         std::to_string(c.backup_servers) +
         (c.up ? " backup servers online." : " backup servers left.");
  if (c.backup_servers > 0 && c.active_servers == 0) out += " Running on backup.";
  if (c.up) {
    out += " " + std::to_string(c.requeued) + " sessions requeued, " + std::to_string(c.queued) +
           " total in queue.";
  } else {
    out += " " + std::to_string(c.sessions_active) + " sessions active, " +
           std::to_string(c.requeued) + " requeued, " + std::to_string(c.queued) +
           " remaining in queue.";
  }
  return out;
}

int state_change_level(bool up, bool was_stopping_or_draining) {
  if (up) return kLogNotice;
  return was_stopping_or_draining ? kLogNotice : kLogAlert;
}

namespace {

// srv_append_status's tail with no check: what is left, or what is online.
void append_servers_left(std::string& out, const AdminChange& c, bool stopped) {
  out += ". " + std::to_string(c.active_servers) + " active and " +
         std::to_string(c.backup_servers) +
         (stopped ? " backup servers left." : " backup servers online.");
  if (c.backup_servers > 0 && c.active_servers == 0) out += " Running on backup.";
  if (stopped)
    out += " " + std::to_string(c.sessions_active) + " sessions active, 0 requeued, " +
           std::to_string(c.queued) + " remaining in queue.";
  else
    out += " 0 sessions requeued, " + std::to_string(c.queued) + " total in queue.";
}

}  // namespace

std::string format_drain_stays(std::string_view backend, std::string_view server, bool backup) {
  std::string text = backup ? "Backup Server " : "Server ";
  text += backend;
  text += '/';
  text += server;
  return text + " remains in forced drain mode.";
}

std::vector<EventLine> format_admin_change(const AdminChange& c) {
  std::vector<EventLine> out;
  if (c.from == c.to) return out;
  std::string head = c.backup ? "Backup Server " : "Server ";
  head += c.backend;
  head += '/';
  head += c.server;
  const char* health = c.up ? "UP" : "DOWN";
  if (c.to == AdminLevel::Maint) {
    if (!c.up) return {{kLogNotice, head + " was DOWN and now enters maintenance."}};
    std::string text = head + " is going DOWN for maintenance";
    append_servers_left(text, c, true);
    // "we don't send an alert if the server was previously paused"
    return {{c.from == AdminLevel::Drain ? kLogNotice : kLogAlert, std::move(text)}};
  }
  if (c.from == AdminLevel::Maint) {
    out.push_back({kLogNotice, head + " is " + health +
                                   (c.to == AdminLevel::Drain ? "/DRAIN" : "/READY") +
                                   " (leaving forced maintenance)."});
    // HAProxy's `set server ... state drain` from maintenance sets FDRAIN
    // first, then clears FMAINT: it also says the drain stays.
    if (c.to == AdminLevel::Drain)
      out.push_back({kLogNotice, format_drain_stays(c.backend, c.server, c.backup)});
    return out;
  }
  if (c.to == AdminLevel::Drain) {
    std::string text = head + " enters drain state";
    append_servers_left(text, c, !c.up);
    return {{kLogNotice, std::move(text)}};
  }
  return {{kLogNotice, head + " is " + health + " (leaving forced drain)."}};
}

std::string format_no_server(std::string_view backend, std::string_view proxy_type, bool quoted) {
  std::string out(proxy_type);
  out += quoted ? " '" : " ";
  out += backend;
  out += quoted ? "' has no server available!" : " has no server available!";
  return out;
}

std::string format_health_check(std::string_view backend, std::string_view server, bool backup,
                                const CheckResult& r, const Health& h, bool drain) {
  std::string out = backup ? "Health check for backup server " : "Health check for server ";
  out += backend;
  out += '/';
  out += server;
  out += r.ok() ? " succeeded" : " failed";
  append_check_status(out, r);
  out += ", status: " + std::to_string(h.progress()) + "/" + std::to_string(h.progress_of()) + " ";
  out += h.up() ? (drain ? "DRAIN" : "UP") : "DOWN";
  out += '.';
  return out;
}

}  // namespace mqlb::health
