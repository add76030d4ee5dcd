// The adaptive database-wide concurrency limit.
//
// What it is for: the limit should sit where the database is busy but not
// queueing internally, i.e. near the knee of its throughput curve. Above the
// knee extra concurrency buys no throughput and costs latency (and often
// throughput, through lock and cache contention); below it the database idles.
//
// Design (and why):
//  * It acts once per interval, not per sample: an interval closes after at
//    least 100 ms *and* 10 latency samples. Per-sample updates chase noise;
//    at light load an interval simply lasts longer.
//  * Uncontended latency ("base") is the windowed minimum, over 40 s, of the
//    per-interval mean latency (Nichols' filter, as BBR keeps min RTT). The
//    mean of an interval rather than the single fastest sample, because one
//    trivial statement must not define "uncontended" for a mixed workload.
//    The window lets it re-learn when the floor moves up (new query mix).
//    A database that is overloaded from the start never shows its
//    uncontended latency by itself, so, like Envoy's adaptive-concurrency
//    filter, the controller re-measures it: at its first full interval and
//    then every 30 s it pins the limit to min_limit for one measured interval
//    (plus one to drain), then restores the limit. That costs about 0.2 s of
//    reduced concurrency per 30 s. Down-probes (below) add fresh low samples
//    in between. A minimum only ever learns that latency fell; when it rises
//    for good (the host slows: bench/overload.sh met 16% steal for 16 s) the
//    limit falls to min_limit, and if latency stays above 1.25 x base there
//    for 5 intervals, that latency becomes the base. The same rule replaces
//    a base learned while the machine was quieter (at start-up, before the
//    load arrived): at min_limit nothing pgsluice does lowers latency further.
//  * Recent latency is an EWMA (alpha 0.5) of interval means; it is reset to
//    the first measurement after a limit change so that one level's latency
//    is never blamed on the next one.
//  * Decrease (multiplicative): when recent > latency_tolerance x base, the
//    limit is scaled by tolerance x base / recent (at least -1, at most
//    halving): the gradient idea of Netflix's Gradient2, proportionate to how
//    far latency overshoots. Congestion samples (serialization failures,
//    deadlocks, lock timeouts, cancels) in an interval multiply it by 0.8.
//  * Increase only through a guarded probe: when the limit is the bottleneck
//    (running at the limit for at least half the interval) and latency is
//    within tolerance, step up by max(1, limit/8), measure throughput there,
//    and keep the step only if throughput rose by >= 3%; otherwise step back
//    and wait before trying again (1 s, doubling to 8 s; back to 1 s after a
//    decrease, whose lower level the failed probes said nothing about). So
//    the limit grows only while it buys throughput, and never while demand
//    is below it.
//  * Probe down too, when latency is >= 1.25 x base and the database holds a
//    queue of its own: keep the lower level if throughput fell by less than
//    2% (the same work at lower latency). When latency is near base, going
//    lower can only lose throughput (Little's law). The queue inside the
//    database is estimated as in TCP Vegas: limit x (1 - base / recent), the
//    transactions beyond those it serves at uncontended latency. With fewer
//    than 1.5 queued there is nothing to gain either: the one transaction
//    waiting inside the database is what keeps a core busy while pgsluice
//    hands a freed slot to the next client (a round trip through the proxy,
//    during which the core would otherwise idle; on 2 CPUs, holding the
//    limit at 2 instead of 3 left 16% of the machine idle in
//    bench/overload.sh). At small limits the throughput measurement cannot
//    tell such a loss from noise reliably, so the controller does not try.
//  * Measuring a level discards its first interval (still finishing the
//    previous level's work) and needs >= 2 more intervals and 32 finished
//    transactions; the level's figure decays (halves past 2 s) so it stays
//    recent. Hysteresis between the up and down thresholds (+3% / -2%) and
//    the back-off keep it from oscillating.
#include "proxy/admission/controller.h"

#include <algorithm>
#include <cmath>

namespace pgs::admission {

namespace {

constexpr double kUpGain = 1.03;        // an up-probe must buy >= 3% throughput
constexpr double kDownKeep = 0.98;      // a down-probe may cost < 2% throughput
constexpr double kDownRatio = 1.25;     // probe down only when latency >= 1.25 x base...
constexpr double kDownQueue = 1.5;      // ...and the database queues >= 1.5 (Vegas estimate)
constexpr double kCongestionBeta = 0.8;
constexpr double kMaxDecrease = 0.5;    // never more than halve in one interval
constexpr double kRecentAlpha = 0.5;
constexpr uint32_t kLevelIntervals = 3;  // including the discarded first one
constexpr uint64_t kLevelFinishes = 32;
constexpr uint64_t kLevelMaxTimeUs = 2'000'000;
constexpr uint64_t kUpBackoffMinUs = 1'000'000;
constexpr uint64_t kUpBackoffMaxUs = 8'000'000;
constexpr uint64_t kDownBackoffUs = 4'000'000;
constexpr uint64_t kSparseIntervalUs = 10'000'000;  // give up on a sample-starved interval
constexpr uint32_t kStaleBaseIntervals = 5;  // at min_limit and this far above base this long: re-base
constexpr double kStaleBaseRatio = 1.25;

uint32_t step_of(uint32_t limit) { return std::max<uint32_t>(1, limit / 8); }

}  // namespace

void WindowedMin::update(uint64_t now_us, double v, uint64_t window_us) {
  const Sample val{now_us, v};
  if (!have_ || v <= s_[0].v || now_us - s_[2].t > window_us) {
    s_[0] = s_[1] = s_[2] = val;
    have_ = true;
    return;
  }
  if (v <= s_[1].v) {
    s_[1] = s_[2] = val;
  } else if (v <= s_[2].v) {
    s_[2] = val;
  }
  // Age out sub-window minima (win_minmax.c: minmax_subwin_update).
  const uint64_t dt = now_us - s_[0].t;
  if (dt > window_us) {
    s_[0] = s_[1];
    s_[1] = s_[2];
    s_[2] = val;
    if (now_us - s_[0].t > window_us) {
      s_[0] = s_[1];
      s_[1] = s_[2];
      s_[2] = val;
    }
  } else if (s_[1].t == s_[0].t && dt > window_us / 4) {
    s_[1] = s_[2] = val;
  } else if (s_[2].t == s_[1].t && dt > window_us / 2) {
    s_[2] = val;
  }
}

LimitController::LimitController(const Settings& s) { configure(s, true); }

void LimitController::configure(const Settings& s, bool restart) {
  settings_ = s;
  const uint32_t lo = floor_limit();
  const uint32_t hi = std::max(lo, s.max_limit);
  const uint32_t want = restart ? s.initial_limit : limit_;
  const uint32_t l = std::clamp(want, lo, hi);
  if (restart) {
    relearning_ = false;
    relearn_at_us_ = 0;
    probe_ = Probe::None;
    next_dir_ = Probe::Up;
    next_up_us_ = next_down_us_ = 0;
    up_backoff_us_ = kUpBackoffMinUs;
  }
  if (l != limit_) {
    limit_ = l;
    level_intervals_ = 0;
    level_time_us_ = level_finishes_ = 0;
    probe_ = Probe::None;
  }
}

void LimitController::on_sample(uint64_t latency_us, bool congestion) {
  ++iv_samples_;
  iv_latency_sum_us_ += static_cast<double>(latency_us);
  if (congestion) ++iv_congestion_;
}

void LimitController::on_running(uint64_t now_us, uint32_t running) {
  if (!started_) {
    started_ = true;
    iv_start_us_ = running_since_us_ = now_us;
  }
  if (running_ >= limit_ && now_us > running_since_us_) iv_at_limit_us_ += now_us - running_since_us_;
  running_ = running;
  running_since_us_ = std::max(running_since_us_, now_us);
}

void LimitController::set_limit(uint32_t l, uint64_t now_us) {
  const uint32_t lo = floor_limit();
  l = std::clamp(l, lo, std::max(lo, settings_.max_limit));
  if (l == limit_) return;
  on_running(now_us, running_);  // time so far counts against the old limit
  limit_ = l;
  level_intervals_ = 0;
  level_time_us_ = level_finishes_ = 0;
}

void LimitController::decrease(double factor, uint64_t now_us) {
  factor = std::clamp(factor, kMaxDecrease, 1.0);
  const auto scaled = static_cast<uint32_t>(std::floor(static_cast<double>(limit_) * factor));
  probe_ = Probe::None;
  next_dir_ = Probe::Down;
  next_down_us_ = now_us;
  // The back-off counts failed up-probes from the level we are leaving; below
  // it a step up is likely to pay again. Keeping it would hold the limit low
  // for up to 8 s after a short slow spell of the host.
  up_backoff_us_ = kUpBackoffMinUs;
  next_up_us_ = now_us + up_backoff_us_;
  set_limit(std::min(scaled, limit_ > 0 ? limit_ - 1 : 0), now_us);
}

void LimitController::start_probe(Probe dir, uint64_t now_us) {
  const uint32_t step = step_of(limit_);
  const uint32_t from = limit_;
  set_limit(dir == Probe::Up ? limit_ + step : (limit_ > step ? limit_ - step : 1), now_us);
  if (limit_ == from) return;  // already at a bound
  probe_ = dir;
  probe_from_ = from;
}

bool LimitController::maybe_update(uint64_t now_us) {
  if (!started_) {
    on_running(now_us, running_);
    return false;
  }
  if (now_us < iv_start_us_ + kIntervalUs) return false;
  if (iv_samples_ < kMinSamples) {
    if (now_us - iv_start_us_ >= kSparseIntervalUs) {
      // Too little traffic to say anything; start afresh so that throughput
      // and time-at-limit describe recent traffic.
      on_running(now_us, running_);
      iv_start_us_ = now_us;
      iv_samples_ = iv_congestion_ = iv_finishes_ = 0;
      iv_latency_sum_us_ = 0;
      iv_at_limit_us_ = 0;
    }
    return false;
  }
  on_running(now_us, running_);
  const uint64_t dt = now_us - iv_start_us_;
  const double mean = iv_latency_sum_us_ / iv_samples_;
  base_.update(now_us, mean, kBaseWindowUs);
  const bool transition = level_intervals_ == 0;
  recent_us_ = (recent_us_ == 0 || transition) ? mean : recent_us_ + kRecentAlpha * (mean - recent_us_);
  const bool saturated = iv_at_limit_us_ * 2 >= dt;
  const bool congested = iv_congestion_ > 0;
  const uint32_t finishes = iv_finishes_;

  iv_start_us_ = now_us;
  iv_samples_ = iv_congestion_ = iv_finishes_ = 0;
  iv_latency_sum_us_ = 0;
  iv_at_limit_us_ = 0;

  const uint32_t before = limit_;
  ++level_intervals_;
  if (settings_.mode != Mode::Adaptive) return false;
  if (relearning_) {
    if (transition) return false;  // still finishing the previous level's work
    // This interval, at min_limit, has just fed the windowed minimum.
    relearning_ = false;
    relearn_at_us_ = now_us + kRelearnPeriodUs;
    set_limit(relearn_restore_, now_us);
    return limit_ != before;
  }
  if (now_us >= relearn_at_us_) {
    const uint32_t lo = floor_limit();
    relearn_at_us_ = now_us + kRelearnPeriodUs;
    if (limit_ > lo) {
      relearning_ = true;
      relearn_restore_ = limit_;
      probe_ = Probe::None;
      set_limit(lo, now_us);
      return true;
    }
  }
  if (transition) return false;

  // At min_limit pgsluice cannot make the database any less contended, so a
  // latency that stays well above the base there says the floor itself moved
  // up (the host slowed, other load arrived, or the base was learned while the
  // machine was quieter, as at start-up): re-base on it. Otherwise every
  // interval "decreases" to the same minimum, or every step up is cut back,
  // while the spell lasts, though a higher limit may still buy throughput. The
  // up-probe's throughput test still decides whether it does.
  // A lambda, not a value: the re-base below changes the base it compares to.
  auto above_base = [&](double ratio) { return base_.get() > 0 && recent_us_ > ratio * base_.get(); };
  const uint32_t lo = floor_limit();
  stale_base_intervals_ =
      (above_base(kStaleBaseRatio) && !congested && limit_ <= lo) ? stale_base_intervals_ + 1 : 0;
  if (stale_base_intervals_ >= kStaleBaseIntervals) {
    stale_base_intervals_ = 0;
    base_.reset();
    base_.update(now_us, recent_us_, kBaseWindowUs);
    next_up_us_ = std::min(next_up_us_, now_us);
  }

  if (congested) {
    decrease(kCongestionBeta, now_us);
  } else if (above_base(settings_.latency_tolerance)) {
    decrease(settings_.latency_tolerance * base_.get() / recent_us_, now_us);
  } else if (!saturated) {
    // Demand is below the limit: nothing to learn about a higher one.
    if (probe_ == Probe::Up) {
      set_limit(probe_from_, now_us);
      next_up_us_ = now_us + up_backoff_us_;
    }
    probe_ = Probe::None;
  } else {
    level_time_us_ += dt;
    level_finishes_ += finishes;
    if (level_time_us_ > kLevelMaxTimeUs) {
      level_time_us_ /= 2;
      level_finishes_ /= 2;
    }
    if (level_intervals_ >= kLevelIntervals && level_finishes_ >= kLevelFinishes) {
      decide(now_us, static_cast<double>(level_finishes_) * 1e6 / static_cast<double>(level_time_us_));
    }
  }
  return limit_ != before;
}

void LimitController::decide(uint64_t now_us, double tput) {
  if (probe_ == Probe::Up) {
    probe_ = Probe::None;
    if (tput >= probe_base_tput_ * kUpGain) {
      up_backoff_us_ = kUpBackoffMinUs;
      next_dir_ = Probe::Up;
      next_up_us_ = now_us;
    } else {
      set_limit(probe_from_, now_us);
      up_backoff_us_ = std::min(up_backoff_us_ * 2, kUpBackoffMaxUs);
      next_dir_ = Probe::Down;
      next_up_us_ = now_us + up_backoff_us_;
    }
    return;
  }
  if (probe_ == Probe::Down) {
    probe_ = Probe::None;
    if (tput >= probe_base_tput_ * kDownKeep) {
      next_dir_ = Probe::Down;
      next_down_us_ = now_us;
    } else {
      set_limit(probe_from_, now_us);
      next_dir_ = Probe::Up;
      next_down_us_ = now_us + kDownBackoffUs;
    }
    return;
  }
  const double ratio = base_.get() > 0 ? recent_us_ / base_.get() : 1.0;
  const double queue = static_cast<double>(limit_) * (1.0 - 1.0 / std::max(ratio, 1.0));
  const uint32_t lo = floor_limit();
  const bool down_ok = ratio >= kDownRatio && queue >= kDownQueue && limit_ > lo && now_us >= next_down_us_;
  const bool up_ok = limit_ < settings_.max_limit && now_us >= next_up_us_;
  if (down_ok && (next_dir_ == Probe::Down || !up_ok)) {
    probe_base_tput_ = tput;
    start_probe(Probe::Down, now_us);
  } else if (up_ok) {
    probe_base_tput_ = tput;
    start_probe(Probe::Up, now_us);
  }
}

}  // namespace pgs::admission
