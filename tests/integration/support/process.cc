#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "support/temp_dir.h"

extern char** environ;

namespace mqlb::test {
namespace {

std::string find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  dirs += ":/usr/sbin:/sbin";  // mosquitto lives in /usr/sbin
  size_t begin = 0;
  while (begin <= dirs.size()) {
    size_t end = dirs.find(':', begin);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate = dirs.substr(begin, end - begin) + "/" + name;
    if (end > begin && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  throw std::runtime_error("'" + name + "' is not installed (not found in PATH)");
}

int open_output(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + path.string() + ": " + std::strerror(errno));
  return fd;
}

std::string describe(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) {
    text += (text.empty() ? "" : " ") + arg;
  }
  return text;
}

}  // namespace

Process::Process(const std::vector<std::string>& argv, const std::filesystem::path& stdout_path,
                 const std::filesystem::path& stderr_path, const std::vector<int>& child_fds)
    : stdout_path_(stdout_path), stderr_path_(stderr_path) {
  // Everything the child needs is prepared here: between fork and exec it
  // may only make async-signal-safe calls.
  const std::string file = find_executable(argv.at(0));
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  const int first_child_fd = 3;
  const int child_fd_count = static_cast<int>(child_fds.size());
  std::vector<int> moved(child_fds.size());  // filled in the child, not allocated there
  const int out = open_output(stdout_path);
  int err = -1;
  int status_pipe[2];
  try {
    err = open_output(stderr_path);
    if (::pipe2(status_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  } catch (...) {
    ::close(out);
    if (err >= 0) ::close(err);
    throw;
  }
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    const int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    // The status pipe and child_fds are first moved above 3..3+n-1, so that
    // none of them is overwritten by another's target before it is moved;
    // dup2 gives the targets without FD_CLOEXEC.
    const int above = first_child_fd + child_fd_count;
    const int status_fd = ::fcntl(status_pipe[1], F_DUPFD_CLOEXEC, above);
    const auto fail = [status_fd] {
      const int error = errno;
      ::write(status_fd, &error, sizeof error);
      ::_exit(127);
    };
    if (status_fd < 0) ::_exit(127);
    for (int i = 0; i < child_fd_count; ++i) {
      moved[i] = ::fcntl(child_fds[i], F_DUPFD_CLOEXEC, above);
      if (moved[i] < 0) fail();
    }
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // nothing of ours leaks into the child
    for (int i = 0; i < child_fd_count; ++i) {
      if (::dup2(moved[i], first_child_fd + i) < 0) fail();
    }
    ::execve(file.c_str(), args.data(), environ);
    fail();
  }
  const int fork_error = errno;
  ::close(out);
  ::close(err);
  ::close(status_pipe[1]);
  if (pid_ < 0) {
    ::close(status_pipe[0]);
    throw std::runtime_error("fork: " + std::string(std::strerror(fork_error)));
  }
  int exec_error = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &exec_error, sizeof exec_error);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  if (n > 0) {
    reap(0);
    throw std::runtime_error("cannot execute " + describe(argv) + ": " + std::strerror(exec_error));
  }
}

Process::Process(TempDir& dir, const std::string& name, const std::vector<std::string>& argv,
                 const std::vector<int>& child_fds)
    : Process(argv, dir.unique(name + ".stdout"), dir.unique(name + ".stderr"), child_fds) {}

Process::~Process() {
  kill();
}

bool Process::reap(int flags) {
  if (exit_code_) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, flags);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

bool Process::running() {
  return !reap(WNOHANG);
}

void Process::signal(int signal_number) {
  if (running()) ::kill(pid_, signal_number);
}

int Process::wait_exit(Millis timeout) {
  wait_until([&] { return reap(WNOHANG); }, timeout, Millis(5));
  return exit_code_.value_or(kStillRunning);
}

void Process::kill() {
  if (pid_ <= 0 || exit_code_) return;
  ::kill(pid_, SIGKILL);
  reap(0);
}

std::string Process::stdout_text() const {
  return read_file(stdout_path_);
}

std::string Process::stderr_text() const {
  return read_file(stderr_path_);
}

RunResult run(TempDir& dir, const std::string& name, const std::vector<std::string>& argv,
              Millis timeout) {
  Process process(dir, name, argv);
  const int code = process.wait_exit(timeout);
  if (code == Process::kStillRunning) {
    process.kill();
    throw std::runtime_error(describe(argv) + " still running after " +
                             std::to_string(timeout.count()) +
                             " ms; stderr: " + process.stderr_text());
  }
  return {code, process.stdout_text(), process.stderr_text()};
}

}  // namespace mqlb::test
