// The mqlb binary under test (MQLB_BINARY): its JSON configuration, the
// running process, and its access log. Main thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace mqlb::test {

// One line of HAProxy's tcplog format:
// %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
struct AccessLine {
  std::string client;  // "127.0.0.1:40192"
  uint16_t client_port = 0;
  std::string frontend;
  std::string backend;
  std::string server;                                     // "<NOSRV>" when none was chosen
  long queue_ms = 0;                                      // %Tw
  long connect_ms = 0;                                    // %Tc
  long total_ms = 0;                                      // %Tt
  long bytes_read = 0;                                    // %B, server to client
  std::string termination;                                // %ts, e.g. "--", "cD", "sQ"
  long actconn = 0, feconn = 0, beconn = 0, srvconn = 0;  // %ac %fc %bc %sc
  std::string retries;                                    // %rc, "+N" when redispatched
  long server_queue = 0;                                  // %sq
  long backend_queue = 0;                                 // %bq
  std::string raw;
};

std::optional<AccessLine> parse_access_line(std::string_view line);

// The port of one entry of a frontend's "bind" list: "HOST:PORT" or
// {"address": "HOST:PORT", "ssl": true, ...}.
uint16_t bind_port(const nlohmann::json& bind);

struct BackendServer {
  std::string name;
  uint16_t port;
};

// The configuration most tests start from, which they then adjust: two
// workers, access log on stdout, no admin API, frontend "mqtt" on
// 127.0.0.1:`port`, backend
// "mqtt" (roundrobin) with `servers` on 127.0.0.1, short connect timeout.
nlohmann::json basic_config(uint16_t port, const std::vector<BackendServer>& servers);

// basic_config with one server, b1 on `server_port`, that takes a single
// session (maxconn 1), so that the next one waits in the backend's queue for
// up to `queue_timeout` (connect timeout 1 s).
nlohmann::json one_slot_config(uint16_t server_port, const std::string& queue_timeout);

// A haproxy.cfg the test wrote, for `mqlb -f` to read as it is.
struct HaproxyCfg {
  std::filesystem::path path;
};

// The ports of the `bind` lines of a haproxy.cfg (every ADDR:PORT of each,
// in order), and of `listen NAME ADDR:PORT` lines. Reads files as the tests
// write them: no quotes or environment variables in those addresses.
std::vector<uint16_t> haproxy_bind_ports(std::string_view text);

class Mqlb {
 public:
  struct Options {
    // Put in front of the binary, e.g. {"prlimit", "--nofile=64:64"}; the
    // launcher must exec mqlb in place so that the PID stays the same.
    std::vector<std::string> launcher;
    // After `-f FILE`, e.g. {"--watch"}.
    std::vector<std::string> args;
  };

  // How long mqlb may take to exit by itself after SIGINT: generous, since
  // only a failing test waits for all of it.
  static constexpr Millis kStopGrace{10000};

  // Writes the config, starts `mqlb -f`, and returns once stderr has the
  // "ready" NOTICE and every bind port of every frontend is listening
  // (throws otherwise); a bind may be a string or an object. port() is the
  // first frontend's first bind.
  Mqlb(TempDir& dir, const nlohmann::json& config) : Mqlb(dir, config, Options{}) {}
  Mqlb(TempDir& dir, const nlohmann::json& config, Options options);
  // Same with a haproxy.cfg, given to -f unchanged; the ports waited for are
  // those of its bind lines (haproxy_bind_ports), port() the first of them.
  Mqlb(TempDir& dir, const HaproxyCfg& file) : Mqlb(dir, file, Options{}) {}
  Mqlb(TempDir& dir, const HaproxyCfg& file, Options options);
  // Unless the test stopped it already, stops mqlb with SIGINT and fails the
  // test unless it exits 0 by itself within kStopGrace (see stop()); an
  // exit the test did not ask for (a crash) fails it too. Then checks its
  // stderr for sanitizer reports; on a failing test prints the tail of its
  // output.
  ~Mqlb();
  Mqlb(const Mqlb&) = delete;
  Mqlb& operator=(const Mqlb&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  Process& process() { return process_; }
  // The file given to -f, for a test that edits it and reloads.
  const std::filesystem::path& config_path() const { return config_path_; }

  // Sends `signal` (unless mqlb has exited already) and waits up to `grace`
  // for it to exit by itself. Returns the exit status (128 + N for a fatal
  // signal N). If mqlb is still running after `grace` the test fails,
  // showing the tail of its stderr, and mqlb is killed (SIGKILL).
  int stop(int signal, Millis grace = kStopGrace);

  std::string stdout_text() const { return process_.stdout_text(); }
  std::string stderr_text() const { return process_.stderr_text(); }
  std::vector<AccessLine> access_lines() const;
  // Waits until at least `count` access lines were written; throws after
  // `timeout` showing what there is.
  std::vector<AccessLine> wait_for_access_lines(size_t count, Millis timeout = Millis(10000)) const;
  // The access line of the session whose client used local port
  // `client_port`; throws if none is written within `timeout`.
  AccessLine access_line_for(uint16_t client_port, Millis timeout = Millis(10000)) const;
  // Same for a client anywhere in 127.0.0.0/8: `client` is "IP:PORT", as
  // Socket::local_address() gives it.
  AccessLine access_line_for(const std::string& client, Millis timeout = Millis(10000)) const;
  // Resident memory from /proc/PID/status, in KiB.
  long rss_kib() const;
  // How many file descriptors mqlb has open (entries of /proc/PID/fd).
  int open_fds() const;
  // The descriptor numbers mqlb has open, in increasing order.
  std::vector<int> open_fd_numbers() const;

 private:
  // Starts `mqlb -f config_path` and waits for "ready" and every port.
  Mqlb(TempDir& dir, std::filesystem::path config_path, const std::vector<uint16_t>& ports,
       Options options);
  void report_sanitizer_findings() const;

  uint16_t port_;
  std::filesystem::path config_path_;
  Process process_;
  bool stopped_ = false;  // stop() was called
  bool killed_ = false;   // stop() gave up waiting and killed it
};

// `mqlb -f` with a configuration it must refuse: runs it to completion and
// watches, as long as it runs, whether any of `ports` is ever in LISTEN state.
struct RefusedStart {
  RunResult run;
  bool listened = false;
};
RefusedStart start_refused(TempDir& dir, const nlohmann::json& config,
                           const std::vector<uint16_t>& ports, Millis timeout = Millis(10000));

// Output of `mqlb` run to completion with `args` (e.g. {"-c", "-f", path}).
RunResult run_mqlb(TempDir& dir, const std::vector<std::string>& args,
                   Millis timeout = Millis(10000));

// The text of a sanitizer report in `log` (AddressSanitizer, UBSan runtime
// error, LeakSanitizer), or "" when there is none.
std::string sanitizer_report(const std::string& log);

}  // namespace mqlb::test
