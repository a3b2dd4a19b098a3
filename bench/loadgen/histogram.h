#pragma once
// Latency histogram with log-linear buckets (under 2% resolution, fixed
// size), so millions of samples cost no memory and threads merge cheaply.
// Pure. Owned by one workload on one thread; merged on the main thread.

#include <array>
#include <cstdint>

namespace mqlb::bench {

class Histogram {
 public:
  void record(uint64_t ns);
  void merge(const Histogram& other);

  uint64_t count() const { return count_; }
  uint64_t max_ns() const { return max_; }
  double mean_ns() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  // q in [0, 1]; the midpoint of the bucket holding that rank, 0 when empty.
  uint64_t quantile_ns(double q) const;

 private:
  // Values below 2^kSubBits are exact; above, each power of two is split into
  // 2^(kSubBits-1) buckets. 2^kSubBits << kMaxShift covers about 10 days in ns.
  static constexpr int kSubBits = 7;
  static constexpr int kMaxShift = 43;
  static constexpr int kBuckets = (kMaxShift + 2) << (kSubBits - 1);

  static int index(uint64_t v);
  static uint64_t midpoint(int index);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace mqlb::bench
