// Headless Chromium driven through the DevTools protocol (CDP) over
// --remote-debugging-pipe: JSON messages, each ended by a NUL byte, written
// to its fd 3 and read from its fd 4, so no WebSocket is needed. One page
// (tab) attached with a flat session. Every wait is bounded. The destructor
// closes the browser, then kills it and the processes it started by PID.
// Main thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace mqlb::test {

class Chromium {
 public:
  // Safety bound on one protocol call: generous, since only a failing test
  // waits for all of it, and Chromium is slow on two shared cores.
  static constexpr Millis kCallTimeout{30000};

  // Starts `chromium` headless (no sandbox, no GPU, its profile in `dir`)
  // with a `width` x `height` window, and opens one blank page. Throws when
  // the browser does not answer within kCallTimeout.
  explicit Chromium(TempDir& dir, int width = 1200, int height = 520);
  ~Chromium();
  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  pid_t pid() const { return process_->pid(); }

  // A method of the page's session: its "result"; throws on a protocol
  // error, a timeout, or when the browser has gone.
  nlohmann::json call(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::object(),
                      Millis timeout = kCallTimeout);
  // The same on the browser target (Browser.*, Target.*).
  nlohmann::json browser_call(const std::string& method,
                              const nlohmann::json& params = nlohmann::json::object(),
                              Millis timeout = kCallTimeout);

  // Page.navigate, then waits until the document has loaded. Throws when
  // the navigation fails.
  void navigate(const std::string& url, Millis timeout = kCallTimeout);
  // The value of the JavaScript expression `js` in the page (a promise is
  // awaited; the value comes back as JSON). Throws with the exception's
  // text when it throws.
  nlohmann::json evaluate(const std::string& js, Millis timeout = kCallTimeout);
  // A user's left click: the mouse pressed and released at (x, y), CSS
  // pixels of the viewport. The page sees trusted mousedown, mouseup and
  // click events on whatever is drawn there.
  void click_at(double x, double y);
  // The viewport as PNG, written to `path`.
  void screenshot(const std::filesystem::path& path);

  // What the page logged (console.*) and the exceptions it did not catch,
  // one line each, in order.
  const std::vector<std::string>& console() const { return console_; }

 private:
  nlohmann::json send(const std::string& method, const nlohmann::json& params,
                      const std::string& session, Millis timeout);
  void note_event(const nlohmann::json& event);
  void close_browser();

  int to_browser_ = -1;    // our end of its fd 3
  int from_browser_ = -1;  // our end of its fd 4
  std::optional<Process> process_;
  std::string input_;  // bytes read and not yet ended by a NUL
  long next_id_ = 1;
  std::string session_;  // the page's flat session
  std::vector<std::string> console_;
};

}  // namespace mqlb::test
