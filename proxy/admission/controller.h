// The adaptive database-wide concurrency limit. Internal to proxy/admission/;
// the design and its justification are at the top of controller.cpp.
#pragma once

#include <algorithm>
#include <cstdint>

#include "proxy/admission/admission.h"

namespace pgs::admission {

// Nichols' windowed minimum (as in Linux's lib/win_minmax.c, used by BBR):
// the minimum over the last `window` of time, in O(1) time and space, by
// keeping the best, second-best and third-best samples of sub-windows. Old
// minima age out, so the estimate re-learns when the floor moves up.
class WindowedMin {
 public:
  void reset() { have_ = false; }
  bool empty() const { return !have_; }
  double get() const { return s_[0].v; }
  void update(uint64_t now_us, double v, uint64_t window_us);

 private:
  struct Sample {
    uint64_t t = 0;
    double v = 0;
  };
  Sample s_[3];
  bool have_ = false;
};

class LimitController {
 public:
  static constexpr uint64_t kIntervalUs = 100'000;   // shortest controller interval
  static constexpr uint32_t kMinSamples = 10;        // ...and fewest latency samples in it
  static constexpr uint64_t kBaseWindowUs = 40'000'000;  // uncontended-latency window
  static constexpr uint64_t kRelearnPeriodUs = 30'000'000;  // re-measure it this often

  explicit LimitController(const Settings& s);

  // New settings; `restart` puts the limit back at initial_limit, otherwise it
  // is only clamped into [min_limit, max_limit].
  void configure(const Settings& s, bool restart);

  uint32_t limit() const { return limit_; }

  void on_sample(uint64_t latency_us, bool congestion);  // call maybe_update() first
  void on_finish() { ++iv_finishes_; }
  // `running` has just changed (or is about to be read); keeps the time spent
  // at the limit, which says whether the limit is the bottleneck.
  void on_running(uint64_t now_us, uint32_t running);

  // Whether enough samples are in to close the interval at due_at().
  bool ready() const { return iv_samples_ >= kMinSamples; }
  uint64_t due_at() const { return iv_start_us_ + kIntervalUs; }
  // Closes the interval if it is due; true if the limit changed.
  bool maybe_update(uint64_t now_us);

  double min_latency_ms() const { return base_.empty() ? 0 : base_.get() / 1000.0; }
  double recent_latency_ms() const { return recent_us_ / 1000.0; }

 private:
  enum class Probe { None, Up, Down };

  uint32_t floor_limit() const { return std::max<uint32_t>(1, settings_.min_limit); }
  void set_limit(uint32_t l, uint64_t now_us);
  void decrease(double factor, uint64_t now_us);
  void start_probe(Probe dir, uint64_t now_us);
  void decide(uint64_t now_us, double tput);

  Settings settings_;
  uint32_t limit_ = 1;

  // Current interval.
  uint64_t iv_start_us_ = 0;
  bool started_ = false;
  uint32_t iv_samples_ = 0;
  uint32_t iv_congestion_ = 0;
  double iv_latency_sum_us_ = 0;
  uint32_t iv_finishes_ = 0;
  uint64_t iv_at_limit_us_ = 0;
  uint32_t running_ = 0;
  uint64_t running_since_us_ = 0;

  // Latency estimates.
  WindowedMin base_;  // uncontended latency: windowed min of interval means
  double recent_us_ = 0;
  uint32_t stale_base_intervals_ = 0;  // consecutive intervals well above base at min_limit

  // Throughput at the current level, measured over saturated intervals after
  // the first one (which still carries the previous level's work).
  uint32_t level_intervals_ = 0;
  uint64_t level_time_us_ = 0;
  uint64_t level_finishes_ = 0;

  // Probing: move one step, measure, keep it only if throughput says so.
  Probe probe_ = Probe::None;
  Probe next_dir_ = Probe::Up;
  uint32_t probe_from_ = 0;
  double probe_base_tput_ = 0;
  uint64_t next_up_us_ = 0;
  uint64_t next_down_us_ = 0;
  uint64_t up_backoff_us_ = 0;

  // Re-measuring uncontended latency: the limit is pinned to min_limit for
  // one measured interval, then restored.
  bool relearning_ = false;
  uint32_t relearn_restore_ = 0;
  uint64_t relearn_at_us_ = 0;  // 0: at the first full interval
};

}  // namespace pgs::admission
