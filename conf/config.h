#pragma once
// The configuration as a value: every field has its default here, and every
// loader (JSON now, haproxy.cfg later) produces a fully resolved Config.
// Pure: no libuv, no sockets, no OpenSSL.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conf/acl.h"
#include "conf/log_format.h"

namespace mqlb::conf {

using Duration = std::chrono::milliseconds;

// One problem found in a config file; several are reported at once.
struct Error {
  std::string file;
  int line = 0;       // 0 when the format has no useful line (JSON paths)
  std::string field;  // JSON path or directive, empty when not applicable
  std::string message;

  std::string to_string() const;
};

enum class Balance { RoundRobin, StaticRr, LeastConn, Source, First, Random };

std::string_view to_string(Balance b);
std::optional<Balance> parse_balance(std::string_view name);

// How a hash picks a server (HAProxy's `hash-type`). MapBased: the hash
// indexes the weighted schedule of the usable servers, even but reshuffled
// when that set changes. Consistent: the hash finds the next point on a ring
// of points per server (HAProxy's chash), so a server that goes or comes
// moves only its own share of clients.
enum class HashType { MapBased, Consistent };

std::string_view to_string(HashType h);
std::optional<HashType> parse_hash_type(std::string_view name);

struct LogTarget {
  enum class Kind { Stdout, Stderr, Syslog };
  // The header before each line, HAProxy's `log ... format F`: "local"
  // (RFC 3164 without a host name: `<134>Dec  1 22:00:00 mqlb[42]: `),
  // "rfc3164" (with one), "rfc5424", "priority" (`<134>`), "short" (`<6>`),
  // "timed" (`<6>` and an ISO date), "iso" (the date), "raw" (nothing).
  enum class Format { Local, Rfc3164, Rfc5424, Priority, Short, Timed, Iso, Raw };
  Kind kind = Kind::Stderr;
  std::string host;     // syslog only
  uint16_t port = 514;  // syslog only
  int facility = 16;    // local0
  int level = 6;        // info
  // Unset: HAProxy's default, "local", or "rfc3164" when the global section
  // sends a host name (log-send-hostname).
  std::optional<Format> format;
  // HAProxy's `len`: the longest line, header included; longer ones are cut
  // (80..65535). A datagram's LF comes after it, a stream's counts in it.
  uint32_t len = 1024;

  bool operator==(const LogTarget&) const = default;
};

// mqlb's default log target: stderr, raw lines.
inline LogTarget raw_stderr() {
  LogTarget t;
  t.format = LogTarget::Format::Raw;
  return t;
}

std::string_view to_string(LogTarget::Format f);  // HAProxy's name: "rfc5424"
std::optional<LogTarget::Format> parse_log_target_format(std::string_view name);

// Unset means "no timeout", as in HAProxy. client_fin and server_fin stay
// unset unless configured: they fall back to tunnel, then client/server,
// where they are used (lb/timeouts.h).
struct Timeouts {
  std::optional<Duration> client, client_fin, connect, server, server_fin, tunnel, queue;
  std::optional<Duration> client_hs;  // the TLS handshake (HAProxy's client-hs; 5 s when unset)
  std::optional<Duration> check;      // a health check's connect + answer; inter when unset

  bool operator==(const Timeouts&) const = default;
};

// TLS to a server (HAProxy's `server ... ssl verify ca-file sni crt`).
struct ServerTls {
  bool enabled = false;  // "ssl"
  bool verify = true;    // "verify required" (default) or "none"
  std::string ca_file;   // required when verify is on
  std::string sni;       // server name sent, and checked when verifying
  std::string crt;       // client certificate bundle (PEM: cert, chain, key)

  bool operator==(const ServerTls&) const = default;
};

// Health checking of one server: HAProxy's server options (also given
// once per backend as "default-server"; the loader resolves them into each
// server).
struct ServerCheck {
  enum class InitState { Up, Down, FullyUp, FullyDown };
  enum class OnError { Fastinter, FailCheck, SuddenDeath, MarkDown };

  bool enabled = false;  // "check"
  Duration inter = std::chrono::seconds(2);
  std::optional<Duration> fastinter;  // while changing state; inter when unset
  std::optional<Duration> downinter;  // while DOWN; inter when unset
  uint32_t rise = 2;
  uint32_t fall = 3;
  uint16_t port = 0;                     // "check-port" (HAProxy's `port`): 0 = the server's
  std::string addr;                      // "check-addr" (HAProxy's `addr`): empty = the server's
  InitState init_state = InitState::Up;  // "init-state"
  std::optional<Duration> slowstart;
  bool shutdown_sessions_on_down = false;       // "on-marked-down": "shutdown-sessions"
  bool shutdown_backup_sessions_on_up = false;  // "on-marked-up": "shutdown-backup-sessions"
  // "observe layer4": failed connections of live traffic count as errors;
  // error_limit of them in a row (a success resets the count) apply on_error.
  bool observe = false;
  uint32_t error_limit = 10;              // "error-limit"
  OnError on_error = OnError::FailCheck;  // "on-error", HAProxy's default
  bool ssl = false;                       // "check-ssl"

  bool operator==(const ServerCheck&) const = default;
};

// What a backend's checks do (HAProxy's `option tcp-check` and mqlb's MQTT
// check).
struct BackendCheck {
  enum class Type { Tcp, Mqtt, TcpCheck };
  Type type = Type::Tcp;
  // Type::Mqtt: CONNECT, expect CONNACK with code 0, DISCONNECT.
  std::string client_id = "mqlb-check";  // a suffix keeps each check's id unique
  std::string username, password;        // empty: none sent
  int protocol = 4;                      // 4 = MQTT 3.1.1, 5 = MQTT 5.0
  // Type::TcpCheck: HAProxy's rules, one per entry, as written after
  // `tcp-check`: "connect port 1883", "send-binary 1010...", "expect binary 20020000".
  std::vector<std::string> tcp_check;
  bool log_health_checks = false;  // "option log-health-checks"

  bool operator==(const BackendCheck&) const = default;
};

// How a server's host name becomes an address when the runtime is built
// (HAProxy's `resolve-prefer` and `init-addr`).
struct ServerResolve {
  enum class Family { Ipv4, Ipv6 };
  enum class Method { Last, Libc, None, Ip };
  struct Step {
    Method method = Method::Libc;
    std::string ip;  // Method::Ip
    bool operator==(const Step&) const = default;
  };
  Family prefer = Family::Ipv4;  // the first address of this family, else of the other
  // Tried in order until one gives an address. Last: the address a state
  // file kept (none yet); None: no address, the server starts in
  // maintenance. HAProxy's default is "last,libc".
  std::vector<Step> init_addr{{Method::Last, {}}, {Method::Libc, {}}};

  bool operator==(const ServerResolve&) const = default;
};

// HAProxy's `init-addr` list ("last,libc,none", "libc,10.0.0.5"), or nullopt
// with `error` in HAProxy's words ("unknown init-addr method 'x', ...").
std::optional<std::vector<ServerResolve::Step>> parse_init_addr(std::string_view text,
                                                                std::string& error);
std::string to_string(const std::vector<ServerResolve::Step>& init_addr);

struct Server {
  std::string name;
  std::string address;  // IP literal or host name, resolved when the runtime is built
  uint16_t port = 0;
  uint32_t weight = 1;
  uint32_t maxconn = 0;  // 0 = unlimited
  bool backup = false;
  bool disabled = false;  // starts in maintenance (HAProxy's `disabled`)
  bool drain = false;     // takes no new sessions (the admin API's "drain"; no haproxy.cfg keyword)
  ServerTls tls;
  ServerCheck check;
  ServerResolve resolve;

  bool operator==(const Server&) const = default;
};

// True when some rule of a tcp-check connects with "ssl" (`connect port
// 8883 ssl`). The rules are kept as text in conf/ (health/ parses them): the
// words before a "comment" are what the rule says.
bool tcp_check_over_tls(const BackendCheck& c);
// Whether a server's TLS keys (verify, ca-file, sni, crt) are used: its
// traffic is TLS ("ssl"), or its checks are ("check-ssl", `connect ssl`).
bool uses_tls(const Server& s, const BackendCheck& checks);

struct Backend {
  std::string name;
  Balance balance = Balance::RoundRobin;
  HashType hash_type = HashType::MapBased;  // used by the hashing algorithm (source)
  bool srvtcpka = false;  // HAProxy's `option srvtcpka`: TCP keepalive on server connections
  uint32_t retries = 3;
  bool redispatch = false;
  bool allbackups = false;
  Timeouts timeouts;  // server side: connect, server, server_fin, tunnel, queue, check
  BackendCheck check;
  std::vector<Server> servers;
};

enum class Verify { None, Optional, Required };

// TLS termination on a bind, with HAProxy's bind option names.
struct BindTls {
  bool enabled = false;             // "ssl"
  std::vector<std::string> crt;     // PEM bundles or directories of them; the first is the default
  std::string ca_file;              // "ca-file": CAs that client certificates must chain to
  Verify verify = Verify::None;     // "verify"
  std::string crl_file;             // "crl-file"
  std::string min_ver = "TLSv1.2";  // "ssl-min-ver": TLSv1.0 ... TLSv1.3
  std::string max_ver;              // "ssl-max-ver": empty = the highest OpenSSL has
  std::string ciphers;              // "ciphers": OpenSSL list for TLS <= 1.2; empty = OpenSSL's
  std::string ciphersuites;         // "ciphersuites": TLS 1.3; empty = OpenSSL's
  std::string curves;               // "curves": e.g. "X25519:P-256"; empty = OpenSSL's
  std::vector<std::string> alpn;    // "alpn": protocols offered, in preference order
  bool no_tls_tickets = false;      // "no-tls-tickets": a session cache instead
  bool prefer_client_ciphers = false;  // "prefer-client-ciphers"
  std::string tls_ticket_keys;         // "tls-ticket-keys": HAProxy's file of base64 keys

  bool operator==(const BindTls&) const = default;
};

struct Bind {
  std::string host;  // IP literal; "0.0.0.0" or "::" for every address
  uint16_t port = 0;
  std::string name;  // in TLS handshake log lines; the loader sets its 1-based position if unset
  BindTls tls;

  std::string to_string() const;
  bool operator==(const Bind&) const = default;
};

struct Frontend {
  std::string name;
  std::vector<Bind> binds;
  // `use_backend NAME if|unless CONDITION`, tried in order before
  // default_backend (conf/acl.h).
  std::vector<BackendRule> use_backend;
  // `tcp-request connection accept|reject if|unless CONDITION`, tried in
  // order on each accepted connection; a rejected one is closed at once,
  // counted as denied and not logged (conf/acl.h).
  std::vector<ConnectionRule> tcp_request_connection;
  std::string default_backend;
  uint32_t maxconn = 0;   // resolved: never 0 after loading
  bool clitcpka = false;  // HAProxy's `option clitcpka`: TCP keepalive on client connections
  Timeouts timeouts;      // client side: client, client_fin
  std::vector<LogTarget> log;
  LogFormat log_format;  // "log-format"; empty: HAProxy's `option tcplog` line
  // "option dontlognull": no line for a session whose client sent nothing,
  // nor for a TLS handshake that was closed or timed out (HAProxy's rule).
  bool dontlognull = false;
  std::string log_tag;  // "log-tag": the tag of its access lines; empty: the global one
};

// Buffer sizes (HAProxy's tune.* settings).
struct Tune {
  // Bytes read from a client before its server is connected; the rest waits
  // in the kernel (HAProxy's tune.bufsize).
  uint32_t bufsize = 16 * 1024;
  // A relay stops reading from one side while this much waits to be
  // written to the other, and resumes below the low-water mark.
  uint32_t relay_high_water = 256 * 1024;
  uint32_t relay_low_water = 128 * 1024;

  bool operator==(const Tune&) const = default;
};

// HAProxy's `stats socket PATH [mode M] [level L]`: the runtime socket
// (lb/admin/commands), HAProxy's text protocol.
struct StatsSocket {
  std::string path;
  std::string mode;            // octal, e.g. "660"; empty: the umask's
  std::string level = "user";  // user, operator or admin

  bool operator==(const StatsSocket&) const = default;
};

// The admin REST API's own endpoint (lb/admin/api). It is opened only when
// no stats section (AdminHttp) serves the API instead.
struct AdminApi {
  bool enabled = true;
  std::string host = "127.0.0.1";
  uint16_t port = 8404;
  // Written in the file: a busy port then fails the start; the default one
  // is given up with a warning.
  bool configured = false;
  // Bearer token that changes need when the endpoint is not on loopback.
  std::string token;

  bool operator==(const AdminApi&) const = default;
};

struct Global {
  unsigned workers = 0;  // 0 = one per core
  uint32_t maxconn = 4096;
  Duration hard_stop_after = std::chrono::seconds(30);
  std::vector<LogTarget> log{raw_stderr()};
  std::string log_tag = "mqlb";  // "log-tag": the syslog tag (HAProxy's is its program name)
  // "log-send-hostname [NAME]": the host name in rfc3164 and rfc5424
  // headers; "" for the machine's (gethostname). Unset: none is sent.
  std::optional<std::string> log_send_hostname;
  Tune tune;
  std::vector<StatsSocket> stats_sockets;
  // Where changes made through the admin API and the runtime socket are
  // kept across restarts (HAProxy's server-state-file; mqlb's own JSON).
  // Empty: they last until the process ends.
  std::string server_state_file;
  AdminApi admin;
};

// A section that only serves HAProxy's statistics page over HTTP (`mode
// http`, `stats enable`, `stats uri`, `stats auth`, `stats admin if TRUE`,
// `http-request use-service prometheus-exporter if { path /metrics }`): kept
// for the admin API and the metrics endpoint, which serve it.
struct AdminHttp {
  std::string name;  // the section's
  std::vector<Bind> binds;
  std::string uri = "/haproxy?stats";  // "stats uri", HAProxy's default
  std::string user, password;          // "stats auth USER:PASS"; empty: no authentication
  bool admin = false;                  // "stats admin if TRUE"
  std::string metrics_path;            // empty: no Prometheus endpoint
  std::optional<Duration> refresh;     // "stats refresh"
  std::string realm;                   // "stats realm"

  bool operator==(const AdminHttp&) const = default;
};

// Where something was written, for errors found after loading (a host
// name that does not resolve).
struct Origin {
  std::string file;
  int line = 0;
};

struct Config {
  std::string file;
  // Where things were written, when the format has lines: "backend/server"
  // (its `server` line), "frontend/bind[0]", "backend/tcp-check[2]".
  std::map<std::string, Origin> origins;
  Global global;
  std::vector<Frontend> frontends;
  std::vector<Backend> backends;
  std::vector<AdminHttp> admin_http;  // haproxy.cfg only, for now

  const Backend* find_backend(std::string_view name) const;
};

// Gives every log target without a `format` HAProxy's default: "rfc3164"
// when the global section sends a host name, "local" otherwise. The
// loaders call it last, so a loaded config has every format set.
void resolve_log_formats(Config& c);

// A loader's answer: a config, or every error found.
struct LoadResult {
  std::optional<Config> config;
  std::vector<Error> errors;
  std::vector<Error> warnings;
};

}  // namespace mqlb::conf
