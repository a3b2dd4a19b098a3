#pragma once
// The runtime socket's text protocol: HAProxy 2.6's "stats socket" CLI
// (doc/management.txt §9.3), for socat and existing scripts. Pure: a line
// in, calls on an Admin, the answer out; the transport (which owns the
// socket) calls run_line for each line it reads. Thread: control.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lb/admin/admin.h"

namespace mqlb::lb::admin {

// What a connection of the socket remembers between lines.
struct CommandSession {
  bool prompt = false;  // interactive mode ("prompt"): "> " after each answer
  bool quit = false;    // "quit" was read: close without answering more
};

// HAProxy's `stats socket ... level`: reads are allowed at every level,
// changes and reload at Admin only.
enum class Level { User, Operator, Admin };
// conf::StatsSocket::level: "user", "operator" or "admin".
std::optional<Level> parse_level(std::string_view text);

// Runs one line read from the socket (without its newline; a trailing '\r'
// is dropped). It may hold several commands separated by ';' (a '\;' is a
// literal semicolon), run in order; words are split on spaces and tabs, a
// backslash escapes the next character, as in HAProxy. Returns what to write
// back: each command's answer followed by "\n", or "\n> " in interactive
// mode. After it the transport closes the connection when session.quit, or
// when !session.prompt and it has no further line already received (HAProxy
// runs pipelined lines before closing). `now_unix_ms` is for uptimes and the
// time since a server's last change.
std::string run_line(std::string_view line, Admin& admin, Level level, CommandSession& session,
                     int64_t now_unix_ms);

// HAProxy 2.6's `show stat` CSV: the "# pxname,svname,qcur,..." header with
// every column of HAProxy's order and its "-" end-of-static-fields mark,
// then per frontend a FRONTEND row, then per backend a row per server and a
// BACKEND row. The columns mqlb has are filled, the others left empty as
// HAProxy leaves a column that does not apply. iid is the proxy's position
// (frontends first, a backend named as a frontend — a `listen` section —
// sharing its number), sid the server's position in its backend. Also the
// stats page's `;csv`.
//
// `filter` is what `show stat` selects: HAProxy's [<iid> <type> <sid>],
// no-maint and up; by default everything.
struct StatFilter {
  int iid = -1;                // a proxy's number, or -1 for all
  unsigned types = 1 | 2 | 4;  // 1 FRONTEND rows, 2 BACKEND rows, 4 servers (1 << STATS_TYPE_*)
  int sid = -1;                // a server's number in its backend, or -1 for all
  bool hide_maint = false;     // "no-maint": not the servers in maintenance
  bool hide_down = false;      // "up": nor those down and not coming up
};
std::string stat_csv(const Runtime& rt, pid_t pid, int64_t now_unix_ms,
                     const StatFilter& filter = {});

}  // namespace mqlb::lb::admin
