// mqlb: the control thread. Loads and checks the configuration, builds the
// runtime, starts the workers, and turns signals into drain / stop requests.

#include <openssl/crypto.h>
#include <signal.h>
#include <uv.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "conf/json_loader.h"
#include "lb/cli.h"
#include "lb/nofile.h"
#include "lb/runtime.h"
#include "lb/worker.h"

namespace mqlb::lb {
namespace {

std::string version_text() {
  return std::string("mqlb version ") + MQLB_VERSION + "\n" + "libuv " + uv_version_string() +
         "\n" + OpenSSL_version(OPENSSL_VERSION) + "\n" + "nlohmann_json " +
         std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
         std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
         std::to_string(NLOHMANN_JSON_VERSION_PATCH) + "\n";
}

std::optional<conf::Config> load(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    log_event(Level::Alert, "config : cannot open configuration file '" + file +
                                "': " + std::strerror(errno) + ".");
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string body = text.str();
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || body[first] != '{') {
    log_event(Level::Alert, "config : '" + file +
                                "' is not a JSON configuration (it must start with '{'; see "
                                "docs/config.md).");
    return std::nullopt;
  }
  conf::LoadResult result = conf::load_json(body, file);
  for (const auto& w : result.warnings)
    log_event(Level::Warning, "config : " + w.to_string());
  for (const auto& e : result.errors)
    log_event(Level::Alert, "config : " + e.to_string());
  if (!result.errors.empty())
    log_event(Level::Alert, "config : Fatal errors found in configuration.");
  return result.config;
}

// The control thread's loop: signals, worker exits, the hard-stop timer.
class Control {
 public:
  explicit Control(std::shared_ptr<Runtime> rt) : rt_(std::move(rt)) {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &worker_exit_, on_worker_exit);
    worker_exit_.data = this;
    for (auto* s : {&sigterm_, &sigint_, &sighup_}) {
      uv_signal_init(&loop_, s);
      s->data = this;
    }
    uv_timer_init(&loop_, &hard_stop_);
    hard_stop_.data = this;
  }

  int run(unsigned nworkers) {
    for (unsigned i = 0; i < nworkers; ++i)
      workers_.push_back(std::make_unique<Worker>(rt_, &worker_exit_));
    std::vector<Worker*> all;
    for (auto& w : workers_) {
      std::string err = w->bind_all();
      if (!err.empty()) {
        log_event(Level::Alert, err, rt_->event_log);
        // Each worker closes what it bound, then its loop ends.
        for (auto& x : workers_) {
          x->request_hard_stop();
          x->start();
        }
        shutdown_loop();
        return 1;
      }
      all.push_back(w.get());
    }
    for (auto& w : workers_) {
      w->peers = all;
      w->start();
    }
    uv_signal_start(&sigterm_, on_signal, SIGTERM);
    uv_signal_start(&sigint_, on_signal, SIGINT);
    uv_signal_start(&sighup_, on_signal, SIGHUP);
    std::string binds;
    for (const auto& f : rt_->frontends)
      for (const auto& b : f->conf.binds)
        binds += " " + f->conf.name + "@" + b.to_string();
    log_event(Level::Notice,
              "ready: " + std::to_string(nworkers) + " workers, maxconn " +
                  std::to_string(rt_->maxconn) + ", listening on" + binds,
              rt_->event_log);
    uv_run(&loop_, UV_RUN_DEFAULT);
    shutdown_loop();
    return 0;
  }

 private:
  static void on_signal(uv_signal_t* h, int signum) noexcept {
    static_cast<Control*>(h->data)->handle_signal(signum);
  }
  static void on_worker_exit(uv_async_t* h) noexcept {
    static_cast<Control*>(h->data)->check_exit();
  }
  static void on_hard_stop(uv_timer_t* h) noexcept {
    auto* c = static_cast<Control*>(h->data);
    log_event(Level::Warning, "hard-stop-after reached: closing the remaining sessions.",
              c->rt_->event_log);
    for (auto& w : c->workers_)
      w->request_hard_stop();
  }

  void handle_signal(int signum) {
    if (signum == SIGHUP) {
      log_event(Level::Notice,
                "SIGHUP received: configuration reload is not supported yet; "
                "nothing changed.",
                rt_->event_log);
      return;
    }
    if (signum == SIGINT) {
      log_event(Level::Notice, "SIGINT received: stopping now.", rt_->event_log);
      for (auto& w : workers_)
        w->request_hard_stop();
      return;
    }
    if (stopping_) return;
    stopping_ = true;
    log_event(Level::Notice,
              "SIGTERM received: listeners closed, " + std::to_string(rt_->active.load()) +
                  " sessions draining (hard stop in " +
                  std::to_string(rt_->config.global.hard_stop_after.count()) + " ms).",
              rt_->event_log);
    for (auto& w : workers_)
      w->request_drain();
    // As for every other timeout, 0 means none: sessions may drain forever.
    if (rt_->config.global.hard_stop_after.count() > 0)
      uv_timer_start(&hard_stop_, on_hard_stop,
                     static_cast<uint64_t>(rt_->config.global.hard_stop_after.count()), 0);
  }

  void check_exit() {
    for (auto& w : workers_)
      if (!w->finished()) return;
    uv_stop(&loop_);
  }

  void shutdown_loop() {
    for (auto& w : workers_)
      w->join();
    workers_.clear();
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  std::shared_ptr<Runtime> rt_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uv_loop_t loop_{};
  uv_async_t worker_exit_{};
  uv_signal_t sigterm_{}, sigint_{}, sighup_{};
  uv_timer_t hard_stop_{};
  bool stopping_ = false;
};

int run(const CliOptions& opts) {
  auto config = load(opts.config_file);
  if (!config) return 1;
  std::vector<std::string> errors;
  auto rt = build_runtime(*config, errors);
  for (const auto& e : errors)
    log_event(Level::Alert, "config : " + e);
  if (!errors.empty()) return 1;
  if (opts.mode == CliOptions::Mode::Check) {
    std::cout << "Configuration file is valid\n";
    return 0;
  }
  unsigned nworkers = config->global.workers ? config->global.workers
                                             : std::max(1u, std::thread::hardware_concurrency());
  size_t binds = 0;
  for (const auto& f : config->frontends)
    binds += f.binds.size();
  // Descriptors besides sessions: stdio, per worker its listeners, epoll,
  // async pipe and libuv's EMFILE reserve, log sockets, and some slack.
  uint64_t reserve = 3 + nworkers * (binds + 6) + rt->event_log.size() + 16;
  for (const auto& f : rt->frontends)
    reserve += f->log.size();
  NofilePlan plan = apply_nofile(config->global.maxconn, reserve);
  if (!plan.warning.empty()) log_event(Level::Warning, plan.warning, rt->event_log);
  rt->maxconn = plan.maxconn;
  return Control(rt).run(nworkers);
}

}  // namespace
}  // namespace mqlb::lb

int main(int argc, char** argv) {
  using mqlb::lb::CliOptions;
  // Whatever path main returns by, the log writer thread is flushed first.
  struct FlushLogs {
    ~FlushLogs() { mqlb::lb::flush_log_writer(); }
  } flush_logs;
  signal(SIGPIPE, SIG_IGN);
  auto parsed = mqlb::lb::parse_cli({argv, static_cast<size_t>(argc)});
  if (auto* err = std::get_if<std::string>(&parsed)) {
    std::cerr << "mqlb: " << *err << "\n";
    return 1;
  }
  const auto& opts = std::get<CliOptions>(parsed);
  switch (opts.mode) {
    case CliOptions::Mode::Help:
      std::cout << mqlb::lb::usage();
      return 0;
    case CliOptions::Mode::Version:
      std::cout << mqlb::lb::version_text();
      return 0;
    default:
      return mqlb::lb::run(opts);
  }
}
