// The systemd unit runs mqlb as Type=notify: mqlb says READY=1 once it
// listens, RELOADING=1 then READY=1 around each reload (a failed one too),
// and STOPPING=1 when asked to stop. The test plays systemd: a unix
// datagram socket named by NOTIFY_SOCKET in mqlb's environment.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// A bound unix datagram socket: what systemd listens on.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~NotifySocket() {
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  // The next datagram, or nullopt after `timeout`.
  std::optional<std::string> next(Millis timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("mqlb tells systemd when it is ready, reloading and stopping", "[integration][signals]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  const std::filesystem::path socket_path = dir.path() / "notify.sock";
  NotifySocket systemd(socket_path);
  const nlohmann::json config = basic_config(free_port(), {{"b1", backend.port()}});
  Mqlb lb(dir, config, {.launcher = {"env", "NOTIFY_SOCKET=" + socket_path.string()}});

  const auto ready = systemd.next(Millis(5000));
  REQUIRE(ready);
  CHECK(ready->rfind("READY=1", 0) == 0);
  CHECK(is_listening(lb.port()));  // ready means listening

  lb.process().signal(SIGHUP);
  const auto reloading = systemd.next(Millis(5000));
  REQUIRE(reloading);
  CHECK(reloading->rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
  const auto ready_again = systemd.next(Millis(5000));
  REQUIRE(ready_again);
  CHECK(*ready_again == "READY=1");

  // A reload that fails still ends with READY=1: the old configuration serves.
  std::filesystem::rename(dir.write("broken.json", "{"), lb.config_path());
  lb.process().signal(SIGHUP);
  CHECK(systemd.next(Millis(5000)).value_or("").rfind("RELOADING=1", 0) == 0);
  CHECK(systemd.next(Millis(5000)) == std::optional<std::string>("READY=1"));

  CHECK(lb.stop(SIGTERM) == 0);
  CHECK(systemd.next(Millis(5000)) == std::optional<std::string>("STOPPING=1"));
}
