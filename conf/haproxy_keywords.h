#pragma once
// The keywords HAProxy 2.6 knows, by section: what the haproxy.cfg loader
// tells apart from a typo (and suggests from), then supports, warns about or
// refuses as not supported yet (docs/haproxy.md). Pure data.

#include <string_view>

namespace mqlb::conf::haproxy {

// Keywords of a proxy section that HAProxy knows; used for suggestions
// and, for those mqlb has not built, "not supported yet".
inline constexpr std::string_view kProxyKeywords[] = {
    // Read by mqlb:
    "mode", "bind", "default_backend", "balance", "server", "default-server", "timeout", "maxconn",
    "retries", "option", "tcp-check", "log", "stats", "http-request", "description", "acl",
    "fullconn", "hash-type", "use_backend", "log-format", "log-tag",
    // HTTP only (a warning in mode tcp):
    "http-response", "http-after-response", "http-reuse", "http-send-name-header", "errorfile",
    "errorloc", "errorloc302", "errorloc303", "compression", "capture", "unique-id-format",
    "unique-id-header", "monitor-uri", "redirect", "cookie", "http-error", "max-keep-alive-queue",
    // Not built in mqlb yet:
    "tcp-request", "tcp-response", "hash-balance-factor", "source", "bind-process", "persist",
    "stick", "stick-table", "dispatch", "external-check", "email-alert", "server-template",
    "load-server-state-from-file", "server-state-file-name", "grace", "backlog", "force-persist",
    "ignore-persist", "log-format-sd", "error-log-format", "rate-limit", "use-server", "retry-on",
    "http-check", "monitor", "dynamic-cookie-key", "id", "enabled", "disabled", "filter", "declare",
    "use-fcgi-app", "clitcpka-cnt", "clitcpka-idle", "clitcpka-intvl", "srvtcpka-cnt",
    "srvtcpka-idle", "srvtcpka-intvl"};

// Keywords that only make sense with HTTP traffic: a warning in mode tcp.
inline constexpr std::string_view kHttpOnlyKeywords[] = {"http-response",
                                                         "http-after-response",
                                                         "http-reuse",
                                                         "http-send-name-header",
                                                         "errorfile",
                                                         "errorloc",
                                                         "errorloc302",
                                                         "errorloc303",
                                                         "compression",
                                                         "capture",
                                                         "unique-id-format",
                                                         "unique-id-header",
                                                         "monitor-uri",
                                                         "redirect",
                                                         "cookie",
                                                         "http-error",
                                                         "max-keep-alive-queue"};

// `option NAME`: HAProxy's options (supported, warned about, or not built).
inline constexpr std::string_view kOptions[] = {
    // Read by mqlb:
    "redispatch", "tcplog", "allbackups", "log-health-checks", "tcp-check", "dontlognull", "tcpka",
    "clitcpka", "srvtcpka",
    // HTTP only (a warning in mode tcp):
    "httplog", "forwardfor", "http-server-close", "httpclose", "http-keep-alive",
    "http-pretend-keepalive", "http-buffer-request", "http-no-delay", "http-ignore-probes",
    "http-use-proxy-header", "accept-invalid-http-request", "accept-invalid-http-response",
    "h1-case-adjust-bogus-client", "h1-case-adjust-bogus-server", "originalto",
    "http-restrict-req-hdr-names", "disable-h2-upgrade", "checkcache", "http-use-htx",
    // Not built in mqlb yet:
    "splice-auto", "splice-request", "splice-response", "abortonclose", "persist",
    "prefer-last-server", "socket-stats", "transparent", "nolinger", "independent-streams",
    "contstats", "log-separate-errors", "logasap", "dontlog-normal", "httpchk", "ssl-hello-chk",
    "smtpchk", "pgsql-check", "redis-check", "mysql-check", "ldap-check", "spop-check",
    "external-check", "idle-close-on-response", "tcp-smart-accept", "tcp-smart-connect"};

// Options that only make sense with HTTP traffic: a warning in mode tcp.
inline constexpr std::string_view kHttpOptions[] = {"httplog",
                                                    "forwardfor",
                                                    "http-server-close",
                                                    "httpclose",
                                                    "http-keep-alive",
                                                    "http-pretend-keepalive",
                                                    "http-buffer-request",
                                                    "http-no-delay",
                                                    "http-ignore-probes",
                                                    "http-use-proxy-header",
                                                    "accept-invalid-http-request",
                                                    "accept-invalid-http-response",
                                                    "h1-case-adjust-bogus-client",
                                                    "h1-case-adjust-bogus-server",
                                                    "originalto",
                                                    "http-restrict-req-hdr-names",
                                                    "disable-h2-upgrade",
                                                    "checkcache",
                                                    "http-use-htx"};

// The global section's keywords.
inline constexpr std::string_view kGlobalKeywords[] = {
    // Read by mqlb:
    "maxconn", "nbthread", "log", "hard-stop-after", "tune.bufsize", "ca-base", "crt-base", "stats",
    "server-state-file", "tune.mqlb.relay-high-water", "tune.mqlb.relay-low-water", "log-tag",
    "log-send-hostname",
    // No effect on mqlb (a warning):
    "daemon", "user", "group", "uid", "gid", "chroot", "pidfile", "nbproc", "master-worker", "node",
    "description", "quiet", "set-dumpable", "insecure-fork-wanted",
    "expose-experimental-directives", "cpu-map", "ulimit-n", "zero-warning", "noepoll", "nopoll",
    "nosplice", "busy-polling", "strict-limits", "numa-cpu-mapping",
    // Not built in mqlb yet:
    "ssl-default-bind-ciphers", "ssl-default-bind-ciphersuites", "ssl-default-bind-options",
    "ssl-default-bind-curves", "ssl-default-server-ciphers", "ssl-default-server-ciphersuites",
    "ssl-default-server-options", "ssl-server-verify", "ssl-dh-param-file",
    "tune.ssl.default-dh-param", "tune.ssl.cachesize", "tune.ssl.lifetime", "tune.maxaccept",
    "tune.maxpollevents", "tune.rcvbuf.client", "tune.rcvbuf.server", "tune.sndbuf.client",
    "tune.sndbuf.server", "tune.maxrewrite", "maxsslconn", "maxconnrate", "maxsessrate",
    "spread-checks", "server-state-base", "lua-load", "setenv", "presetenv", "resetenv", "unsetenv",
    "localpeer", "h1-case-adjust", "thread-groups"};

// Global keywords that do not matter to mqlb: a warning each.
inline constexpr std::string_view kGlobalIrrelevant[] = {"daemon",
                                                         "user",
                                                         "group",
                                                         "uid",
                                                         "gid",
                                                         "chroot",
                                                         "pidfile",
                                                         "nbproc",
                                                         "master-worker",
                                                         "node",
                                                         "description",
                                                         "quiet",
                                                         "set-dumpable",
                                                         "insecure-fork-wanted",
                                                         "expose-experimental-directives",
                                                         "zero-warning",
                                                         "noepoll",
                                                         "nopoll",
                                                         "nosplice",
                                                         "busy-polling",
                                                         "numa-cpu-mapping",
                                                         "ulimit-n",
                                                         "cpu-map",
                                                         "strict-limits"};

// Sections HAProxy has and mqlb does not read yet.
inline constexpr std::string_view kUnsupportedSections[] = {
    "userlist",    "peers", "resolvers", "mailers",     "program",
    "http-errors", "ring",  "cache",     "log-forward", "fcgi-app"};

// The options of `server` and `default-server`.
inline constexpr std::string_view kServerKeywords[] = {
    "weight", "maxconn", "backup", "no-backup", "disabled", "enabled", "check", "no-check", "inter",
    "fastinter", "downinter", "rise", "fall", "port", "addr", "init-state", "slowstart",
    "on-marked-down", "on-marked-up", "on-error", "observe", "error-limit", "check-ssl",
    "no-check-ssl", "ssl", "no-ssl", "verify", "ca-file", "sni", "crt", "resolve-prefer",
    "init-addr",
    // HAProxy's, not built in mqlb yet:
    "send-proxy", "send-proxy-v2", "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn", "proxy-v2-options",
    "resolvers", "resolve-net", "resolve-opts", "agent-check", "agent-port", "agent-inter",
    "agent-addr", "agent-send", "cookie", "id", "track", "source", "namespace", "proto", "redir",
    "maxqueue", "minconn", "max-reuse", "pool-max-conn", "pool-purge-delay", "pool-low-conn", "tfo",
    "alpn", "npn", "ciphers", "ciphersuites", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12",
    "no-tlsv13", "force-tlsv12", "force-tlsv13", "ssl-min-ver", "ssl-max-ver", "ssl-reuse",
    "no-ssl-reuse", "crl-file", "tls-tickets", "no-tls-tickets", "check-send-proxy", "check-sni",
    "check-alpn", "check-proto", "check-via-socks4", "socks4", "usesrc", "stick", "non-stick",
    "allow-0rtt", "ws", "curves", "sigalgs", "client-sigalgs", "verifyhost", "shard", "log-proto",
    "nbconn"};

// The options of `bind`.
inline constexpr std::string_view kBindKeywords[] = {
    "ssl", "crt", "ca-file", "verify", "crl-file", "ssl-min-ver", "ssl-max-ver", "ciphers",
    "ciphersuites", "curves", "alpn", "no-tls-tickets", "prefer-client-ciphers", "tls-ticket-keys",
    "name",
    // HAProxy's, not built in mqlb yet:
    "accept-proxy", "transparent", "v4v6", "v6only", "interface", "defer-accept", "maxconn",
    "backlog", "process", "thread", "tfo", "mss", "npn", "crt-list", "strict-sni", "force-tlsv12",
    "force-tlsv13", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "ca-ignore-err",
    "crt-ignore-err", "ecdhe", "generate-certificates", "allow-0rtt", "id", "level", "mode", "user",
    "group", "uid", "gid", "nice", "namespace", "tcp-ut", "severity-output", "expose-fd",
    "quic-cc-algo", "ca-sign-file", "ca-sign-pass", "ca-verify-file", "sigalgs", "client-sigalgs",
    "no-ca-names", "no-alpn"};

}  // namespace mqlb::conf::haproxy
