// An event rate (events per second) smoothed exponentially over time: each
// event adds 1/tau, and the sum decays by e^(-dt/tau). Reading it is O(1) and
// it allocates nothing, so it can sit on the request path.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace pgs::admission {

class RateMeter {
 public:
  static constexpr double kTauSeconds = 1.0;

  void add(uint64_t now_us) {
    value_ = rate(now_us) + 1.0 / kTauSeconds;
    if (now_us > at_us_) at_us_ = now_us;
  }

  double rate(uint64_t now_us) const {
    if (now_us <= at_us_ || value_ == 0) return value_;
    const double dt_s = static_cast<double>(now_us - at_us_) / 1e6;
    return value_ * std::exp(-dt_s / kTauSeconds);
  }

 private:
  double value_ = 0;
  uint64_t at_us_ = 0;
};

// The database's completion rate while something waits in pgsluice: the rate
// at which slots free up when they are wanted, which is what a queued ticket
// waits for. Unlike RateMeter it does not decay while nothing waits, so after
// an idle spell it still describes the database rather than the idleness.
// Time and completions are both halved past 2 s of backlog, to stay recent.
class BacklogRate {
 public:
  static constexpr uint64_t kMinFinishes = 10;  // fewer: no estimate
  static constexpr uint64_t kWindowUs = 2'000'000;

  void set_backlogged(uint64_t now_us, bool backlogged) {
    if (backlogged == backlogged_) return;
    accumulate(now_us);
    backlogged_ = backlogged;
    since_us_ = now_us;
  }
  void on_finish(uint64_t now_us) {
    if (!backlogged_) return;
    accumulate(now_us);
    ++finishes_;
  }
  // Completions per second while backlogged; 0 when too little is known.
  double rate(uint64_t now_us) const {
    if (finishes_ < kMinFinishes) return 0;
    uint64_t t = time_us_;
    if (backlogged_ && now_us > since_us_) t += now_us - since_us_;
    return t == 0 ? 0 : static_cast<double>(finishes_) * 1e6 / static_cast<double>(t);
  }

 private:
  void accumulate(uint64_t now_us) {
    if (backlogged_ && now_us > since_us_) time_us_ += now_us - since_us_;
    since_us_ = std::max(since_us_, now_us);
    if (time_us_ > kWindowUs) {
      time_us_ /= 2;
      finishes_ /= 2;
    }
  }

  bool backlogged_ = false;
  uint64_t since_us_ = 0;
  uint64_t time_us_ = 0;
  uint64_t finishes_ = 0;
};

// The largest value seen over the last one to two windows, in O(1): two
// buckets of `window` each, the current and the one before. Reading it is
// pure; a bucket that has aged out reads as 0.
class RecentMax {
 public:
  void add(uint64_t now_us, double v, uint64_t window_us) {
    const uint64_t b = now_us / window_us;
    if (b == bucket_) {
      cur_ = std::max(cur_, v);
      return;
    }
    prev_ = b == bucket_ + 1 ? cur_ : 0;
    cur_ = v;
    bucket_ = b;
  }
  double get(uint64_t now_us, uint64_t window_us) const {
    const uint64_t b = now_us / window_us;
    if (b == bucket_) return std::max(cur_, prev_);
    return b == bucket_ + 1 ? cur_ : 0;
  }

 private:
  uint64_t bucket_ = 0;
  double cur_ = 0;
  double prev_ = 0;
};

}  // namespace pgs::admission
