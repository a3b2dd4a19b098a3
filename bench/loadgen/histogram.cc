// Pure: no libuv, no sockets.
#include "histogram.h"

#include <algorithm>
#include <bit>

namespace mqlb::bench {

namespace {
constexpr int kHalf = 1 << 6;  // buckets per power of two, 2^(kSubBits-1)
}

int Histogram::index(uint64_t v) {
  if (v < (1u << kSubBits)) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);
  int shift = msb - (kSubBits - 1);
  if (shift > kMaxShift) return kBuckets - 1;
  return shift * kHalf + static_cast<int>(v >> shift);
}

uint64_t Histogram::midpoint(int i) {
  if (i < (1 << kSubBits)) return static_cast<uint64_t>(i);
  int shift = i / kHalf - 1;
  uint64_t low = static_cast<uint64_t>(i - shift * kHalf) << shift;
  return low + (uint64_t{1} << shift) / 2;
}

void Histogram::record(uint64_t ns) {
  ++buckets_[index(ns)];
  ++count_;
  sum_ += ns;
  max_ = std::max(max_, ns);
}

void Histogram::merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i)
    buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

uint64_t Histogram::quantile_ns(double q) const {
  if (count_ == 0) return 0;
  // Rank of the sample at quantile q, counting from 1 (the nearest-rank rule).
  auto rank = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.999999);
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(midpoint(i), max_);
  }
  return max_;
}

}  // namespace mqlb::bench
