#pragma once
// The publisher processes of the load tests (tests/tools/qos1_publisher.cc):
// "device-0", "device-1", ... each send `per_publisher` QoS 1 messages of 100
// bytes to a port, ten unacknowledged at the most, connecting again and
// resending what was not acknowledged when a connection is lost. Each prints
// "connected LOCAL_PORT", "acked LOCAL_PORT SEQ" and "lost" lines on stdout.
// Header only: the publisher's path is the test target's MQLB_TEST_PUBLISHER.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/health.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace mqlb::test {

// "acked ..." lines in a publisher's output.
inline size_t acked_total(const std::string& out) {
  return static_cast<size_t>(count(out, "\nacked ") + (out.rfind("acked ", 0) == 0 ? 1 : 0));
}

class Publishers {
 public:
  // Started at once; each gives up after `deadline_s` seconds.
  Publishers(TempDir& dir, uint16_t port, int publishers, int per_publisher, int deadline_s) {
    for (int i = 0; i < publishers; ++i) {
      const std::string id = "device-" + std::to_string(i);
      list_.push_back(std::make_unique<Process>(
          dir, id,
          std::vector<std::string>{MQLB_TEST_PUBLISHER, "--port", std::to_string(port), "--id", id,
                                   "--count", std::to_string(per_publisher), "--payload", "100",
                                   "--window", "10", "--deadline", std::to_string(deadline_s)}));
    }
  }

  // Messages acknowledged so far, over every publisher.
  size_t acked() const {
    size_t n = 0;
    for (const auto& p : list_)
      n += acked_total(p->stdout_text());
    return n;
  }

  size_t size() const { return list_.size(); }
  Process& operator[](size_t i) { return *list_[i]; }
  auto begin() const { return list_.begin(); }
  auto end() const { return list_.end(); }

 private:
  std::vector<std::unique_ptr<Process>> list_;
};

}  // namespace mqlb::test
