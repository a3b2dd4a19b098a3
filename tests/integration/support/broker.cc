#include "support/broker.h"

#include <sstream>
#include <stdexcept>

#include "support/net.h"
#include "support/wait.h"

namespace mqlb::test {
namespace {

constexpr char kProbeTopic[] = "mqlb-test/probe";

std::filesystem::path write_broker_conf(TempDir& dir, uint16_t port, uint16_t tls_port,
                                        Broker::Options options) {
  std::string conf = "listener " + std::to_string(port) +
                     " 127.0.0.1\n"
                     "persistence false\n";
  if (options.username.empty()) {
    conf += "allow_anonymous true\n";
  } else {
    const auto passwords = dir.unique("mosquitto.passwd");
    const RunResult made = run(
        dir, "mosquitto_passwd",
        {"mosquitto_passwd", "-b", "-c", passwords.string(), options.username, options.password});
    if (made.exit_code != 0) {
      throw std::runtime_error("mosquitto_passwd failed: " + made.stderr_text + made.stdout_text);
    }
    conf += "allow_anonymous false\npassword_file " + passwords.string() + "\n";
  }
  const bool reads_private_files = tls_port != 0 || !options.username.empty();
  if (options.unlimited_queues) conf += "max_queued_messages 0\nmax_queued_bytes 0\n";
  // Started as root, mosquitto would read its files as user mosquitto, who
  // cannot enter the test's private directory.
  if (reads_private_files) conf = "user root\n" + conf;
  if (tls_port != 0) {
    conf += "listener " + std::to_string(tls_port) +
            " 127.0.0.1\n"
            "certfile " +
            options.tls_cert.string() + "\nkeyfile " + options.tls_key.string() + "\n";
    if (!options.tls_client_ca.empty())
      conf += "cafile " + options.tls_client_ca.string() + "\nrequire_certificate true\n";
  }
  return dir.write("mosquitto.conf", conf);
}

// The arguments that make a mosquitto client speak TLS to localhost.
std::vector<std::string> tls_arguments(const ClientTls& tls) {
  std::vector<std::string> args{"-h", "localhost", "--cafile", tls.ca_file.string()};
  if (!tls.cert.empty()) args.insert(args.end(), {"--cert", tls.cert.string()});
  if (!tls.key.empty()) args.insert(args.end(), {"--key", tls.key.string()});
  return args;
}

std::vector<std::string> sub_arguments(uint16_t port, const std::string& topic,
                                       const ClientTls* tls) {
  std::vector<std::string> args{"mosquitto_sub"};
  if (tls != nullptr) {
    const auto more = tls_arguments(*tls);
    args.insert(args.end(), more.begin(), more.end());
  } else {
    args.insert(args.end(), {"-h", "127.0.0.1"});
  }
  args.insert(args.end(), {"-p", std::to_string(port), "-v", "-t", topic, "-t", kProbeTopic});
  return args;
}

RunResult run_pub(TempDir& dir, const std::vector<std::string>& argv, uint16_t port,
                  const std::string& message, Millis timeout) {
  // The same two log files for every run: a thousand publishes do not need
  // two thousand files.
  Process process(argv, dir.path() / "mosquitto_pub.stdout", dir.path() / "mosquitto_pub.stderr");
  const int code = process.wait_exit(timeout);
  if (code == Process::kStillRunning) {
    process.kill();
    throw std::runtime_error("mosquitto_pub -p " + std::to_string(port) + " -m " + message +
                             " still running after " + std::to_string(timeout.count()) + " ms");
  }
  return {code, process.stdout_text(), process.stderr_text()};
}

}  // namespace

Broker::Broker(TempDir& dir, Options options)
    : port_(options.port != 0 ? options.port : free_port()),
      tls_port_(options.tls_cert.empty() ? 0 : free_port()),
      process_(dir, "mosquitto",
               {"mosquitto", "-c", write_broker_conf(dir, port_, tls_port_, options).string()}) {
  auto listening = [&] {
    return is_listening(port_) && (tls_port_ == 0 || is_listening(tls_port_));
  };
  if (!wait_until([&] { return listening() || !process_.running(); }, Millis(10000)) ||
      !process_.running()) {
    throw std::runtime_error("mosquitto did not listen on 127.0.0.1:" + std::to_string(port_) +
                             "; its log:\n" + log());
  }
}

Subscriber::Subscriber(TempDir& dir, uint16_t broker_port, const std::string& topic)
    : Subscriber(dir, broker_port, topic, sub_arguments(broker_port, topic, nullptr)) {}

Subscriber::Subscriber(TempDir& dir, uint16_t broker_port, const std::string& topic,
                       const Through& through)
    : Subscriber(dir, broker_port, topic,
                 sub_arguments(through.port, topic, through.tls ? &*through.tls : nullptr)) {}

Subscriber::Subscriber(TempDir& dir, uint16_t broker_port, const std::string& topic,
                       const std::vector<std::string>& argv)
    : process_(dir, "mosquitto_sub", argv) {
  int probe = 0;
  const bool ready = wait_until(
      [&] {
        if (!process_.running()) return false;
        if (process_.stdout_text().find(kProbeTopic) != std::string::npos) return true;
        mosquitto_pub(dir, broker_port, kProbeTopic, "probe " + std::to_string(++probe));
        return wait_until(
            [&] { return process_.stdout_text().find(kProbeTopic) != std::string::npos; },
            Millis(200));
      },
      Millis(15000), Millis(0));
  if (!ready) {
    throw std::runtime_error("mosquitto_sub on port " + std::to_string(broker_port) +
                             " never received a probe; stderr: " + process_.stderr_text());
  }
}

std::vector<Subscriber::Message> Subscriber::messages() const {
  std::vector<Message> messages;
  std::istringstream lines(process_.stdout_text());
  std::string line;
  while (std::getline(lines, line)) {
    const auto space = line.find(' ');
    Message message{line.substr(0, space),
                    space == std::string::npos ? "" : line.substr(space + 1)};
    if (message.topic != kProbeTopic) messages.push_back(std::move(message));
  }
  return messages;
}

std::vector<std::string> Subscriber::payloads() const {
  std::vector<std::string> payloads;
  for (auto& message : messages()) {
    payloads.push_back(std::move(message.payload));
  }
  return payloads;
}

RunResult mosquitto_pub(TempDir& dir, uint16_t port, const std::string& topic,
                        const std::string& message, Millis timeout) {
  return run_pub(
      dir,
      {"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(port), "-t", topic, "-m", message},
      port, message, timeout);
}

RunResult mosquitto_pub(TempDir& dir, uint16_t port, const ClientTls& tls, const std::string& topic,
                        const std::string& message, Millis timeout) {
  std::vector<std::string> argv{"mosquitto_pub"};
  const auto more = tls_arguments(tls);
  argv.insert(argv.end(), more.begin(), more.end());
  argv.insert(argv.end(), {"-p", std::to_string(port), "-t", topic, "-m", message});
  return run_pub(dir, argv, port, message, timeout);
}

}  // namespace mqlb::test
