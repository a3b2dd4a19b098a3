// Real mosquitto brokers and the mosquitto command line clients, on free
// loopback ports. Main thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace mqlb::test {

// `mosquitto -c` with a listener on 127.0.0.1 and anonymous access (or one
// user with a password); ready (listening) when the constructor returns.
class Broker {
 public:
  struct Options {
    // max_queued_messages 0 and max_queued_bytes 0: no per-client queue limit.
    bool unlimited_queues = false;
    // A second listener, TLS with this certificate and key (on tls_port());
    // with tls_client_ca, it wants a client certificate signed by that CA.
    std::filesystem::path tls_cert{}, tls_key{}, tls_client_ca{};
    // 0 picks a free port; a given one lets a broker come back where a
    // killed one listened.
    uint16_t port = 0;
    // With a user name: allow_anonymous false and a password file
    // (mosquitto_passwd) holding this one user.
    std::string username{}, password{};
  };

  explicit Broker(TempDir& dir) : Broker(dir, Options{}) {}
  Broker(TempDir& dir, Options options);

  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }  // 0 without Options::tls_cert
  pid_t pid() const { return process_.pid(); }
  // SIGKILL by PID: the broker vanishes without closing anything cleanly.
  void kill() { process_.kill(); }
  std::string log() const { return process_.stderr_text() + process_.stdout_text(); }

 private:
  uint16_t port_;
  uint16_t tls_port_;
  Process process_;
};

// How a mosquitto client speaks TLS: it connects to "localhost" (a name in
// the test server certificate) and checks the server against `ca_file`;
// with `cert` and `key` it shows a client certificate.
struct ClientTls {
  std::filesystem::path ca_file{};
  std::filesystem::path cert{};
  std::filesystem::path key{};
};

// `mosquitto_sub -v` on one broker, subscribed to `topic` (filters allowed).
// The constructor returns once the subscription is live: it publishes probes
// straight to the broker until one comes back.
class Subscriber {
 public:
  struct Message {
    std::string topic;
    std::string payload;
  };

  Subscriber(TempDir& dir, uint16_t broker_port, const std::string& topic);
  // Same, but connected through mqlb on `port` (its TLS bind with `tls`); the probes still
  // go straight to the broker, which must be the one mqlb chose.
  struct Through {
    uint16_t port;
    std::optional<ClientTls> tls;  // none: plain MQTT
  };
  Subscriber(TempDir& dir, uint16_t broker_port, const std::string& topic, const Through& through);

  // Messages received so far on the subscribed topic, probes left out.
  std::vector<Message> messages() const;
  std::vector<std::string> payloads() const;

 private:
  Subscriber(TempDir& dir, uint16_t broker_port, const std::string& topic,
             const std::vector<std::string>& argv);

  Process process_;
};

// `mosquitto_pub -h 127.0.0.1 -p PORT -t TOPIC -m MESSAGE`, run to
// completion (QoS 0: CONNECT, PUBLISH, DISCONNECT on a new connection).
RunResult mosquitto_pub(TempDir& dir, uint16_t port, const std::string& topic,
                        const std::string& message, Millis timeout = Millis(20000));
// The same over TLS: `mosquitto_pub -h localhost --cafile ... [--cert --key]`.
RunResult mosquitto_pub(TempDir& dir, uint16_t port, const ClientTls& tls, const std::string& topic,
                        const std::string& message, Millis timeout = Millis(20000));

}  // namespace mqlb::test
