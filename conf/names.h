#pragma once
// Words both loaders (and the JSON writer) share: syslog's facility and
// level names, and what counts as an IP address literal. Pure.

#include <string>
#include <string_view>

namespace mqlb::conf {

// syslog(3) facilities by number (local0 = 16) and levels (info = 6).
inline constexpr std::string_view kSyslogFacilities[] = {
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "auth2",  "ftp",    "ntp",    "audit",  "alert",  "cron2",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
inline constexpr std::string_view kSyslogLevels[] = {"emerg",   "alert",  "crit", "err",
                                                     "warning", "notice", "info", "debug"};

// inet_pton is plain parsing (no socket); it accepts exactly what bind(2)
// and connect(2) will be given.
bool is_ip_literal(const std::string& host);
// Digits and dots only, or a colon: meant as an address, not a host name.
bool looks_like_ip(const std::string& host);
// A frontend, backend or server name: letters, digits and - _ . : only, as
// they appear in logs, metric labels and API paths.
bool is_valid_name(std::string_view name);

}  // namespace mqlb::conf
