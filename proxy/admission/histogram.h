// A latency histogram with fixed buckets from 0.1 ms to 10 s (Prometheus
// style: cumulative on export, "le" upper bounds). Recording is one compare
// loop over 16 bounds and allocates nothing; percentiles are estimated by
// interpolating inside the bucket that holds them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pgs::admission {

class Histogram {
 public:
  // Upper bounds in microseconds; a last, implicit bucket holds the rest (+Inf).
  static constexpr std::array<uint64_t, 16> kBoundsUs = {
      100,    250,    500,     1000,    2500,    5000,      10000,     25000,
      50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
  static constexpr size_t kBuckets = kBoundsUs.size() + 1;

  void record(uint64_t us) {
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    ++counts_[i];
    ++count_;
    sum_us_ += us;
  }

  uint64_t count() const { return count_; }
  uint64_t sum_us() const { return sum_us_; }
  // Observations in bucket i alone (not cumulative).
  uint64_t bucket(size_t i) const { return counts_[i]; }

  // The q-quantile (0 < q <= 1) in microseconds; 0 when empty. Values in the
  // +Inf bucket are reported as the last bound.
  uint64_t percentile_us(double q) const {
    if (count_ == 0) return 0;
    double rank = q * static_cast<double>(count_);
    uint64_t below = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      if (counts_[i] == 0) continue;
      if (static_cast<double>(below + counts_[i]) >= rank) {
        if (i == kBoundsUs.size()) return kBoundsUs.back();
        double lo = i == 0 ? 0.0 : static_cast<double>(kBoundsUs[i - 1]);
        double hi = static_cast<double>(kBoundsUs[i]);
        double within = (rank - static_cast<double>(below)) / static_cast<double>(counts_[i]);
        if (within < 0) within = 0;
        return static_cast<uint64_t>(lo + (hi - lo) * within);
      }
      below += counts_[i];
    }
    return kBoundsUs.back();
  }

  // Adds other's observations (e.g. summing keys into a database total).
  void merge(const Histogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_us_ += other.sum_us_;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_us_ = 0;
};

}  // namespace pgs::admission
