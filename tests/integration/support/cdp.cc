#include "support/cdp.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "support/failure.h"

namespace mqlb::test {
namespace {

using Json = nlohmann::json;

// A process seen in /proc: its parent and its start time (clock ticks after
// boot), which tells it from a later process given the same PID.
struct ProcEntry {
  pid_t pid;
  pid_t parent;
  unsigned long long start;
};

std::optional<ProcEntry> proc_entry(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // "pid (comm) state ppid ..." where comm may hold spaces and ')': the
  // fields are counted from the last ')'. starttime is field 22.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  ProcEntry e{pid, 0, 0};
  for (int n = 3; fields >> field; ++n) {
    if (n == 4) e.parent = static_cast<pid_t>(std::stol(field));
    if (n == 22) {
      e.start = std::stoull(field);
      return e;
    }
  }
  return std::nullopt;
}

// Every process under `root` (its children, theirs...), now.
std::vector<ProcEntry> descendants(pid_t root) {
  std::vector<ProcEntry> all;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (auto e = proc_entry(static_cast<pid_t>(std::stol(name)))) all.push_back(*e);
  }
  std::vector<ProcEntry> out;
  std::vector<pid_t> parents{root};
  while (!parents.empty()) {
    const pid_t parent = parents.back();
    parents.pop_back();
    for (const auto& e : all) {
      if (e.parent == parent) {
        out.push_back(e);
        parents.push_back(e.pid);
      }
    }
  }
  return out;
}

// SIGKILL for `e` unless it has gone (or its PID now names another process).
void kill_if_same(const ProcEntry& e) {
  const auto now = proc_entry(e.pid);
  if (now && now->start == e.start) ::kill(e.pid, SIGKILL);
}

// write(2) of all of `data` to a pipe, without the SIGPIPE that a browser
// gone would raise (it would end the test runner): the signal is blocked on
// this thread and a pending one consumed.
bool write_all(int fd, const std::string& data) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  size_t done = 0;
  bool ok = true;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (!ok && errno == EPIPE) {
    const timespec zero{0, 0};
    sigtimedwait(&pipe_only, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

std::string base64_decode(const std::string& text) {
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) throw std::runtime_error("CDP: a screenshot that is not base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t padding = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i)
    ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

std::string tail(const std::string& text, size_t bytes = 3000) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

}  // namespace

Chromium::Chromium(TempDir& dir, int width, int height) {
  int to[2], from[2];
  if (::pipe2(to, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (::pipe2(from, O_CLOEXEC) != 0) {
    ::close(to[0]);
    ::close(to[1]);
    throw std::runtime_error("pipe2 failed");
  }
  to_browser_ = to[1];
  from_browser_ = from[0];
  try {
    process_.emplace(
        dir, "chromium",
        std::vector<std::string>{
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--user-data-dir=" + (dir.path() / "chromium-cdp").string(),
            "--window-size=" + std::to_string(width) + "," + std::to_string(height),
            "--remote-debugging-pipe", "about:blank"},
        std::vector<int>{to[0], from[1]});
  } catch (...) {
    ::close(to[0]);
    ::close(from[1]);
    ::close(to_browser_);
    ::close(from_browser_);
    throw;
  }
  // The child has its own copies; ours would hide its exit (no EOF).
  ::close(to[0]);
  ::close(from[1]);
  try {
    const Json target = browser_call("Target.createTarget", {{"url", "about:blank"}});
    session_ = browser_call("Target.attachToTarget",
                            {{"targetId", target.at("targetId")}, {"flatten", true}})
                   .at("sessionId");
    call("Runtime.enable");
    call("Page.enable");
  } catch (...) {
    close_browser();
    throw;
  }
}

Chromium::~Chromium() {
  close_browser();
}

void Chromium::close_browser() {
  if (!process_) return;
  // Its renderers and helpers, looked up while the browser still has them
  // (killed, it leaves them to init).
  std::vector<ProcEntry> started = descendants(process_->pid());
  if (process_->running()) {
    try {
      browser_call("Browser.close", Json::object(), Millis(5000));
    } catch (const std::exception&) {
      // Gone already, or not answering: killed below.
    }
    process_->wait_exit(Millis(10000));
  }
  process_->kill();  // by PID, and reaped; no-op once it has exited
  for (const auto& e : started)
    kill_if_same(e);
  if (test_failing()) {
    std::cerr << "---- chromium (pid " << process_->pid() << ") stderr, tail:\n"
              << tail(process_->stderr_text()) << "\n---- the page's console:\n";
    for (const auto& line : console_)
      std::cerr << line << "\n";
    std::cerr << "----\n";
  }
  ::close(to_browser_);
  ::close(from_browser_);
  to_browser_ = from_browser_ = -1;
  process_.reset();
}

Json Chromium::call(const std::string& method, const Json& params, Millis timeout) {
  return send(method, params, session_, timeout);
}

Json Chromium::browser_call(const std::string& method, const Json& params, Millis timeout) {
  return send(method, params, "", timeout);
}

Json Chromium::send(const std::string& method, const Json& params, const std::string& session,
                    Millis timeout) {
  const long id = next_id_++;
  Json message = {{"id", id}, {"method", method}, {"params", params}};
  if (!session.empty()) message["sessionId"] = session;
  std::string text = message.dump();
  text.push_back('\0');
  if (!write_all(to_browser_, text))
    throw std::runtime_error("CDP " + method + ": chromium does not read its pipe (" +
                             std::strerror(errno) + "); stderr: " + tail(process_->stderr_text()));
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    // Every whole message read so far: events are noted, answers to
    // earlier calls that timed out are dropped.
    for (size_t end; (end = input_.find('\0')) != std::string::npos;) {
      Json reply = Json::parse(input_.substr(0, end), nullptr, false);
      input_.erase(0, end + 1);
      if (reply.is_discarded()) continue;
      if (!reply.contains("id")) {
        note_event(reply);
        continue;
      }
      if (reply["id"] != id) continue;
      if (reply.contains("error"))
        throw std::runtime_error("CDP " + method + " " + params.dump() + ": " +
                                 reply["error"].dump());
      return reply.value("result", Json::object());
    }
    const long left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0)
      throw std::runtime_error("CDP " + method + ": no answer within " +
                               std::to_string(timeout.count()) + " ms");
    pollfd p{from_browser_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno != EINTR) throw std::runtime_error("CDP: poll failed");
    if (ready <= 0) continue;
    char buffer[65536];
    const ssize_t n = ::read(from_browser_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error("CDP " + method + ": chromium closed its pipe (exited?); stderr: " +
                               tail(process_->stderr_text()));
    input_.append(buffer, static_cast<size_t>(n));
  }
}

void Chromium::note_event(const Json& event) {
  const std::string method = event.value("method", "");
  const Json params = event.value("params", Json::object());
  if (method == "Runtime.consoleAPICalled") {
    std::string line = "console." + params.value("type", "log") + ":";
    for (const auto& arg : params.value("args", Json::array()))
      line += " " + (arg.contains("value") ? arg["value"].dump() : arg.value("description", ""));
    console_.push_back(line);
  } else if (method == "Runtime.exceptionThrown") {
    const Json details = params.value("exceptionDetails", Json::object());
    console_.push_back(
        "uncaught: " +
        details.value("exception", Json::object()).value("description", details.value("text", "")));
  }
}

void Chromium::navigate(const std::string& url, Millis timeout) {
  const auto start = Clock::now();
  const Json r = call("Page.navigate", {{"url", url}}, timeout);
  if (r.contains("errorText"))
    throw std::runtime_error("navigate to " + url + ": " + r["errorText"].get<std::string>());
  // Page.navigate answers once the navigation has committed; the new
  // document's load comes after.
  const bool loaded = wait_until(
      [&] {
        try {
          return evaluate("document.readyState + ' ' + location.href") == "complete " + url;
        } catch (const std::runtime_error&) {
          return false;  // the old document went while it was asked
        }
      },
      timeout - Millis(elapsed_ms(start)), Millis(50));
  if (!loaded) throw std::runtime_error("navigate to " + url + ": not loaded in time");
}

Json Chromium::evaluate(const std::string& js, Millis timeout) {
  const Json r =
      call("Runtime.evaluate",
           {{"expression", js}, {"returnByValue", true}, {"awaitPromise", true}}, timeout);
  if (r.contains("exceptionDetails")) {
    const Json& d = r["exceptionDetails"];
    throw std::runtime_error(
        "evaluate " + js + ": " +
        d.value("exception", Json::object()).value("description", d.value("text", "")));
  }
  return r.at("result").value("value", Json());
}

void Chromium::click_at(double x, double y) {
  for (const char* type : {"mouseMoved", "mousePressed", "mouseReleased"}) {
    Json event = {{"type", type}, {"x", x}, {"y", y}};
    if (std::string(type) != "mouseMoved") {
      event["button"] = "left";
      event["clickCount"] = 1;
    }
    call("Input.dispatchMouseEvent", event);
  }
}

void Chromium::screenshot(const std::filesystem::path& path) {
  const Json r = call("Page.captureScreenshot", {{"format", "png"}});
  const std::string png = base64_decode(r.at("data"));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(png.data(), static_cast<std::streamsize>(png.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace mqlb::test
