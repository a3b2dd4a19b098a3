// A child process started with fork/exec, stdout and stderr going to files.
// The destructor kills it by PID (SIGKILL) and reaps it, so nothing a test
// starts outlives the test, even when an assertion fails; the child also gets
// SIGKILL should the test runner itself die. Main thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/wait.h"

namespace mqlb::test {

class TempDir;

class Process {
 public:
  static constexpr int kStillRunning = -1;

  // Runs argv (argv[0] looked up in PATH unless it contains '/'), writing its
  // output to the two files (truncated). Throws when it cannot be executed.
  // `child_fds` are descriptors of ours the child gets as 3, 4, ... (e.g.
  // the ends of pipes for Chromium's --remote-debugging-pipe); the caller
  // still owns and closes them. No other descriptor of ours leaks into it.
  Process(const std::vector<std::string>& argv, const std::filesystem::path& stdout_path,
          const std::filesystem::path& stderr_path, const std::vector<int>& child_fds = {});
  // Same, with output files `name`.stdout and `name`.stderr in `dir`.
  Process(TempDir& dir, const std::string& name, const std::vector<std::string>& argv,
          const std::vector<int>& child_fds = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int signal_number);
  // Waits for the exit: its exit code, or 128 + the signal that ended it;
  // kStillRunning if it is still running after `timeout`.
  int wait_exit(Millis timeout);
  // SIGKILL and reap (no-op once exited).
  void kill();

  std::string stdout_text() const;
  std::string stderr_text() const;
  const std::filesystem::path& stdout_path() const { return stdout_path_; }
  const std::filesystem::path& stderr_path() const { return stderr_path_; }

 private:
  bool reap(int flags);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
};

struct RunResult {
  int exit_code;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs argv to completion; a process still running after `timeout` is killed
// and reported as a std::runtime_error.
RunResult run(TempDir& dir, const std::string& name, const std::vector<std::string>& argv,
              Millis timeout = Millis(10000));

}  // namespace mqlb::test
