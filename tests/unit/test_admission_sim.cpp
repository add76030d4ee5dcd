// The admission policy in the loop with a simulated database, in simulated
// time (deterministic: fixed seeds, no clocks).
//
// Database model: 2 "cores". A transaction that reaches the database while c
// transactions (itself included) are there takes
//     s(c) = s0                                  for c <= 2
//     s(c) = s0 * c/2 * (1 + 0.05 * (c - 2))     for c > 2
// times a uniform jitter in [0.9, 1.1], with s0 = 6 ms: beyond two cores
// extra concurrency only adds latency and contention. The service time is
// fixed when the transaction reaches the database. Between admission and
// the database, and back, is the proxy's hop, h = 1 ms in all: the
// transaction holds its slot but no core. bench/overload.sh measured what
// that costs on a real 2-CPU machine: with the limit held at 2, 16% of the
// machine idled (2% at 3), and h / (h + s0) = 14%. So the model's best
// static limit is 3, not 2: model_throughput() measures 143, 283, 290, 286,
// 280 and 271/s at limits 1..6 (printed by ModelHasItsBestAtThree).
// Arrivals per key are Poisson. The controller gets one
// latency sample per transaction (hop and service: what pgsluice measures,
// forwarding to ReadyForQuery) and start = admission.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <queue>
#include <random>
#include <unordered_map>
#include <vector>

#include "proxy/admission/admission.h"

namespace pgs::admission {
namespace {

constexpr double kS0Us = 6000;
constexpr double kHopUs = 1000;
constexpr double kCapacity = 2.0 / (kS0Us / 1e6);  // 333.3 transactions/s: both cores always busy

double service_us(double c) {
  if (c <= 2) return kS0Us;
  return kS0Us * c / 2 * (1 + 0.05 * (c - 2));
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

struct KeyStats {
  uint64_t requests = 0;
  uint64_t admitted = 0;
  uint64_t rejected_at_request = 0;
  uint64_t rejected_late = 0;
  uint64_t late_by_reason[kRejectReasons] = {};  // rejected_late, by RejectReason
  std::vector<double> latency_ms;      // queue wait + service, admitted ones
  std::vector<double> reject_after_ms;  // time from request to rejection
};

struct Phase {
  uint64_t until_us;
  std::vector<double> rates;  // arrivals per second, per key
};

class Simulation {
 public:
  Simulation(const Settings& settings, size_t keys, uint64_t seed)
      : ac_(settings), rng_(seed), stats_(keys) {
    for (size_t i = 0; i < keys; ++i) {
      ids_.push_back(ac_.key("key" + std::to_string(i), KeyPolicy{}));
    }
  }

  // Runs the phases back to back; statistics are collected from `measure_from_us`.
  void run(const std::vector<Phase>& phases, uint64_t measure_from_us) {
    measure_from_us_ = measure_from_us;
    size_t phase = 0;
    end_us_ = phases.back().until_us;
    for (size_t k = 0; k < ids_.size(); ++k) schedule_arrival(k, 0, phases[0].rates[k]);
    std::vector<Outcome> outcomes;
    uint64_t spins = 0;
    while (true) {
      const uint64_t t_event = events_.empty() ? UINT64_MAX : events_.top().at;
      const uint64_t t_dead = ac_.next_deadline_us();
      const uint64_t t = std::max(now_, std::min(t_event, t_dead));
      if (t == UINT64_MAX) break;  // arrivals stopped at the end, and all is decided
      spins = (t == now_) ? spins + 1 : 0;
      ASSERT_LT(spins, 100000u) << "no progress at " << now_;
      now_ = t;
      while (phase + 1 < phases.size() && now_ >= phases[phase].until_us) {
        ++phase;
        for (size_t k = 0; k < ids_.size(); ++k) rates_changed(k, phases[phase].rates[k]);
      }
      if (t_event <= t_dead) {
        const Event e = events_.top();
        events_.pop();
        handle(e, phases[phase]);
      }
      outcomes.clear();
      ac_.poll(now_, outcomes);
      for (const Outcome& o : outcomes) on_outcome(o);
      limit_trace_.emplace_back(now_, ac_.limit());
    }
  }

  const KeyStats& stats(size_t k) const { return stats_[k]; }
  // Finished transactions per second between the start of measuring and the
  // end of arrivals.
  double goodput() const {
    return static_cast<double>(finished_between(measure_from_us_, end_us_)) /
           (static_cast<double>(end_us_ - measure_from_us_) / 1e6);
  }
  uint32_t max_running_over_limit() const { return over_limit_; }
  const std::vector<std::pair<uint64_t, uint32_t>>& limit_trace() const { return limit_trace_; }
  // Seconds spent at each limit (index; limits above 19 count as 19) in [from, until).
  std::vector<double> seconds_at_limit(uint64_t from, uint64_t until = UINT64_MAX) const {
    std::vector<double> at(20, 0);
    for (size_t i = 1; i < limit_trace_.size(); ++i) {
      const auto [t, l] = limit_trace_[i - 1];
      if (t < from || t >= until) continue;
      at[std::min<uint32_t>(l, 19)] += static_cast<double>(limit_trace_[i].first - t) / 1e6;
    }
    return at;
  }
  uint64_t finished_between(uint64_t from, uint64_t to) const {
    return static_cast<uint64_t>(std::count_if(finish_times_.begin(), finish_times_.end(),
                                               [&](uint64_t t) { return t >= from && t < to; }));
  }
  AdmissionController& controller() { return ac_; }
  // Between `from` and `until` every transaction that reaches the database
  // takes `factor` times as long: the host's slow spells (steal, a noisy
  // neighbour) that bench/overload.sh meets on a shared machine.
  void slow_spell(uint64_t from, uint64_t until, double factor) {
    slow_from_ = from;
    slow_until_ = until;
    slow_factor_ = factor;
  }

 private:
  enum class Kind { Arrival, Reach, Leave, Completion };
  struct Event {
    uint64_t at;
    Kind kind;
    size_t key;
    uint64_t requested_at;  // reach, completion: when the transaction asked
    uint64_t service;       // completion: its hop and service time
    uint64_t seq;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  double uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

  void schedule_arrival(size_t k, uint64_t from, double rate) {
    if (rate <= 0) return;
    const double gap_s = -std::log(1 - uniform()) / rate;
    const uint64_t at = from + static_cast<uint64_t>(gap_s * 1e6) + 1;
    if (at < end_us_) push(Event{at, Kind::Arrival, k, 0, 0, 0});
  }
  void rates_changed(size_t k, double rate) {
    // Arrivals are memoryless: rebuild every key's next arrival at the new rate.
    std::vector<Event> keep;
    while (!events_.empty()) {
      if (events_.top().kind != Kind::Arrival || events_.top().key != k) keep.push_back(events_.top());
      events_.pop();
    }
    for (const Event& e : keep) events_.push(e);
    schedule_arrival(k, now_, rate);
  }
  void push(Event e) {
    e.seq = ++seq_;
    events_.push(e);
  }

  bool measuring() const { return now_ >= measure_from_us_; }

  void start(size_t k, uint64_t requested_at) {
    if (ac_.running() > ac_.limit()) ++over_limit_;
    push(Event{now_ + static_cast<uint64_t>(kHopUs / 2), Kind::Reach, k, requested_at, 0, 0});
  }

  void reach(const Event& e) {
    const uint32_t c = ++db_running_;
    double jitter = 0.9 + 0.2 * uniform();
    if (now_ >= slow_from_ && now_ < slow_until_) jitter *= slow_factor_;
    const auto s = static_cast<uint64_t>(service_us(c) * jitter);
    const auto back = static_cast<uint64_t>(kHopUs / 2);
    push(Event{now_ + s + back, Kind::Completion, e.key, e.requested_at, back * 2 + s, 0});
    // The core is free after s; the slot only when the answer is back.
    push(Event{now_ + s, Kind::Leave, e.key, 0, 0, 0});
  }

  void handle(const Event& e, const Phase& phase) {
    if (e.kind == Kind::Arrival) {
      schedule_arrival(e.key, now_, phase.rates[e.key]);
      KeyStats& st = stats_[e.key];
      if (measuring()) ++st.requests;
      TicketId ticket = 0;
      RejectReason reason{};
      switch (ac_.request(ids_[e.key], now_, ticket, reason)) {
        case Verdict::Admit:
          if (measuring()) ++st.admitted;
          start(e.key, now_);
          break;
        case Verdict::Queued:
          waiting_[ticket] = {e.key, now_};
          break;
        case Verdict::Reject:
          if (measuring()) {
            ++st.rejected_at_request;
            st.reject_after_ms.push_back(0);
          }
          break;
      }
      return;
    }
    if (e.kind == Kind::Reach) {
      reach(e);
      return;
    }
    if (e.kind == Kind::Leave) {
      --db_running_;
      return;
    }
    ac_.record_sample(e.service, false, now_);
    ac_.finish(ids_[e.key], now_);
    if (measuring()) {
      ++finished_;
      stats_[e.key].latency_ms.push_back(static_cast<double>(now_ - e.requested_at) / 1000.0);
    }
    finish_times_.push_back(now_);
  }

  void on_outcome(const Outcome& o) {
    auto it = waiting_.find(o.ticket);
    ASSERT_NE(it, waiting_.end());
    const auto [k, requested_at] = it->second;
    waiting_.erase(it);
    const bool counted = requested_at >= measure_from_us_;
    KeyStats& st = stats_[k];
    if (o.admitted) {
      if (counted) ++st.admitted;
      start(k, requested_at);
    } else if (counted) {
      ++st.rejected_late;
      ++st.late_by_reason[static_cast<size_t>(o.reason)];
      st.reject_after_ms.push_back(static_cast<double>(now_ - requested_at) / 1000.0);
    }
  }

  AdmissionController ac_;
  std::mt19937_64 rng_;
  std::vector<KeyId> ids_;
  std::vector<KeyStats> stats_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::unordered_map<TicketId, std::pair<size_t, uint64_t>> waiting_;
  std::vector<std::pair<uint64_t, uint32_t>> limit_trace_;
  std::vector<uint64_t> finish_times_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  uint64_t measure_from_us_ = 0;
  uint64_t end_us_ = 0;
  uint64_t finished_ = 0;
  uint32_t db_running_ = 0;
  uint32_t over_limit_ = 0;
  uint64_t slow_from_ = 0;
  uint64_t slow_until_ = 0;
  double slow_factor_ = 1;
};

constexpr uint64_t kSec = 1'000'000;

// The model's throughput with the limit held at `limit` (static mode) under
// overload: one key at 3x capacity, 8 s, the first second not counted.
// Measured by running the model, so that it includes what a formula would
// miss (jitter, the hops, the discrete number of transactions in the
// database). Cached: the sweep is the same for every test.
double model_throughput(uint32_t limit) {
  static std::vector<double> cache(17, -1);
  if (limit < cache.size() && cache[limit] >= 0) return cache[limit];
  Settings s;
  s.mode = Mode::Static;
  s.max_limit = limit;
  Simulation sim(s, 1, 1234);
  sim.run({{8 * kSec, {3 * kCapacity}}}, 1 * kSec);
  const double x = sim.goodput();
  if (limit < cache.size()) cache[limit] = x;
  return x;
}
double best_throughput() {
  double best = 0;
  for (uint32_t l = 1; l <= 16; ++l) best = std::max(best, model_throughput(l));
  return best;
}

void print_seconds_at(const char* what, const std::vector<double>& seconds_at) {
  std::printf("%s:", what);
  for (size_t l = 0; l < seconds_at.size(); ++l) {
    if (seconds_at[l] > 0) std::printf(" %zu: %.2f", l, seconds_at[l]);
  }
  std::printf("\n");
}

TEST(AdmissionSimulation, ModelHasItsBestAtThree) {
  std::printf("[model] throughput at limit 1..6:");
  for (uint32_t l = 1; l <= 6; ++l) std::printf(" %.0f", model_throughput(l));
  std::printf("/s\n");
  EXPECT_EQ(best_throughput(), model_throughput(3));
  EXPECT_LT(model_throughput(2), 0.98 * best_throughput());  // a core idles during hops
  EXPECT_LT(model_throughput(6), 0.95 * best_throughput());
  EXPECT_LT(best_throughput(), kCapacity);
}

// (a) A step from 0.5x to 3x capacity: within 2 s the limit sits where the
// model's throughput is within 10% of its best, and stays there.
TEST(AdmissionSimulation, StepSettlesNearBestThroughput) {
  Settings s;  // adaptive, defaults
  Simulation sim(s, 4, 42);
  const double lo = 0.5 * kCapacity / 4;
  const double hi = 3.0 * kCapacity / 4;
  const uint64_t step = 5 * kSec;
  sim.run({{step, {lo, lo, lo, lo}}, {step + 8 * kSec, {hi, hi, hi, hi}}}, step);

  uint32_t worst = UINT32_MAX;
  uint32_t hi_limit = 0;
  uint64_t first_bad = 0;
  for (auto [t, l] : sim.limit_trace()) {
    if (t < step + 2 * kSec) continue;
    if (model_throughput(l) < 0.9 * best_throughput() && first_bad == 0) first_bad = t;
    worst = std::min(worst, l);
    hi_limit = std::max(hi_limit, l);
  }
  std::printf("[sim a] limit after settling in [%u, %u]; goodput %.1f/s (best static limit %.1f/s)\n", worst,
              hi_limit, sim.goodput(), best_throughput());
  print_seconds_at("[sim a] seconds at each limit", sim.seconds_at_limit(step + 2 * kSec));
  for (uint64_t w = step + 2 * kSec; w < step + 8 * kSec; w += kSec) {
    const double x = static_cast<double>(sim.finished_between(w, w + kSec));
    std::printf("[sim a]   %.0f-%.0f s: %.0f/s\n", static_cast<double>(w) / 1e6,
                static_cast<double>(w + kSec) / 1e6, x);
    EXPECT_GE(x, 0.9 * best_throughput());
  }
  EXPECT_EQ(first_bad, 0u) << "limit left the good region at t=" << first_bad;
  EXPECT_EQ(sim.max_running_over_limit(), 0u);
}

// (a2) A slow spell under overload: for half a second every transaction
// takes 3x as long, so the controller cuts the limit. Once the spell is over
// the limit must be free to grow again within about a second. Before the
// fix it waited out the up-probe back-off, which failed probes from the best
// level (3 -> 4 buys nothing) had doubled to 8 s; bench/overload.sh round 3
// at 211860b sat at limit 2 for 3.5 s after such a spell, with a third of
// the machine's throughput lost and the well-behaved keys queueing.
TEST(AdmissionSimulation, LimitRecoversSoonAfterASlowSpell) {
  Settings s;  // adaptive, defaults
  Simulation sim(s, 4, 42);
  const double hi = 3.0 * kCapacity / 4;
  const uint64_t spell = 14 * kSec, spell_end = spell + kSec / 2, end = 24 * kSec;
  sim.slow_spell(spell, spell_end, 3.0);
  sim.run({{end, {hi, hi, hi, hi}}}, 1 * kSec);

  uint32_t before = 0, lowest = UINT32_MAX;
  uint64_t cut_at = 0, back_at = 0;
  for (auto [t, l] : sim.limit_trace()) {
    if (t < spell) before = l;
    if (t >= spell && t < spell_end + kSec) {
      if (l < lowest) cut_at = t;
      lowest = std::min(lowest, l);
    }
    if (t >= spell_end && back_at == 0 && cut_at != 0 && t > cut_at && l > lowest) back_at = t;
  }
  std::printf("[sim a2] limit %u before the spell, cut to %u at %.2f s, up again at %.2f s (spell %.1f-%.1f s)\n",
              before, lowest, static_cast<double>(cut_at) / 1e6, static_cast<double>(back_at) / 1e6,
              static_cast<double>(spell) / 1e6, static_cast<double>(spell_end) / 1e6);
  print_seconds_at("[sim a2] seconds at each limit after the spell", sim.seconds_at_limit(spell_end));
  ASSERT_LT(lowest, before) << "the spell did not cut the limit: the test shows nothing";
  ASSERT_NE(back_at, 0u) << "the limit never grew again";
  EXPECT_LE(back_at, std::max(cut_at, spell_end) + 3 * kSec / 2);
  EXPECT_EQ(sim.max_running_over_limit(), 0u);
}

// (a3) A long slow spell: for 8 s every transaction takes 2.5x as long (a
// host losing CPU to its neighbours). The latency learned before it is then
// out of reach at any limit; the controller must re-base rather than hold the
// limit at its minimum for the whole spell, since a higher limit still buys
// throughput (the model's hops idle a core at limits 1 and 2).
TEST(AdmissionSimulation, LongSlowSpellDoesNotPinTheLimitAtItsMinimum) {
  Settings s;  // adaptive, defaults
  Simulation sim(s, 4, 42);
  const double hi = 3.0 * kCapacity / 4;
  const uint64_t spell = 10 * kSec, spell_end = spell + 8 * kSec, end = 22 * kSec;
  sim.slow_spell(spell, spell_end, 2.5);
  sim.run({{end, {hi, hi, hi, hi}}}, 1 * kSec);

  const uint32_t lo = std::max<uint32_t>(1, s.min_limit);
  // From 2 s into the spell to its end.
  const std::vector<double> seconds_at = sim.seconds_at_limit(spell + 2 * kSec, spell_end);
  const double at_min = std::accumulate(seconds_at.begin(), seconds_at.begin() + lo + 1, 0.0);
  const double total = std::accumulate(seconds_at.begin(), seconds_at.end(), 0.0);
  const double during = static_cast<double>(sim.finished_between(spell + 2 * kSec, spell_end)) / 6.0;
  const double after = static_cast<double>(sim.finished_between(spell_end + 2 * kSec, end)) / 2.0;
  std::printf("[sim a3] 2-8 s into the spell: %.2f of %.2f s at the minimum limit %u, %.0f/s; "
              "2-4 s after it: %.0f/s (best static limit unslowed %.0f/s)\n",
              at_min, total, lo, during, after, best_throughput());
  EXPECT_LE(at_min, 0.25 * total);
  EXPECT_GE(after, 0.9 * best_throughput());
  EXPECT_EQ(sim.max_running_over_limit(), 0u);
}

// (a4) A base learned while the machine was quieter. With min_limit 2, as in
// bench/overload.sh, the uncontended latency is first measured while the load
// is light; the overload then costs the machine half as much time again per
// transaction for its whole length (the proxy and the clients share the
// CPUs). Latency at min_limit is then about 1.5x that base: under the 2.0x
// tolerance, so the over-tolerance re-base never fired, yet limit 3 read as
// over tolerance and every step up was cut back. In bench/overload.sh (a
// sweep at c35e52c, even round 2) the limit sat at 2 for 37 of 52 polls this
// way. At min_limit nothing pgsluice does lowers latency further, so the
// latency measured there must become the base.
TEST(AdmissionSimulation, BaseLearnedOnAQuieterMachineIsReplacedAtMinLimit) {
  Settings s;  // adaptive, defaults but the floor
  s.min_limit = 2;
  Simulation sim(s, 4, 42);
  const double light = 0.3 * kCapacity / 4;
  const double hi = 3.0 * kCapacity / 4;
  const uint64_t load = 3 * kSec, end = 20 * kSec;
  sim.run({{load, {light, light, light, light}}}, 0);  // the light phase alone: the base it learns
  const double before = sim.controller().snapshot(load).min_latency_ms;
  Simulation loaded(s, 4, 42);
  loaded.slow_spell(load, end, 1.5);
  loaded.run({{load, {light, light, light, light}}, {end, {hi, hi, hi, hi}}}, 1 * kSec);
  const double after = loaded.controller().snapshot(end).min_latency_ms;
  const std::vector<double> seconds_at = loaded.seconds_at_limit(load + 5 * kSec, end);
  const double total = std::accumulate(seconds_at.begin(), seconds_at.end(), 0.0);
  std::printf("[sim a4] base %.2f ms after the light phase, %.2f ms at the end of the loaded one; "
              "%.2f of %.2f s at limit 2 from 5 s into the load\n", before, after, seconds_at[2], total);
  print_seconds_at("[sim a4] seconds at each limit", seconds_at);
  ASSERT_GT(before, 0);
  EXPECT_GE(after, 1.3 * before);
  EXPECT_EQ(loaded.max_running_over_limit(), 0u);
}

struct SkewResult {
  double wb_p99_ms = 0;
  double wb_admitted = 0;
  double hot_fast_rejects = 0;
  double hot_reject_p99_ms = 0;
  double goodput = 0;
  double hot_admitted_rate = 0;
  uint32_t over_limit = 0;
};

SkewResult run_skew(bool with_hot, uint64_t seed) {
  Settings s;
  Simulation sim(s, 4, seed);
  const double wb = 0.1 * kCapacity;
  const double hot = with_hot ? 3.0 * kCapacity : 0.0;
  const uint64_t end = 20 * kSec;
  const uint64_t from = 1 * kSec;
  sim.run({{end, {hot, wb, wb, wb}}}, from);
  SkewResult r;
  std::vector<double> lat;
  uint64_t req = 0, adm = 0;
  for (size_t k = 1; k < 4; ++k) {
    const KeyStats& st = sim.stats(k);
    lat.insert(lat.end(), st.latency_ms.begin(), st.latency_ms.end());
    req += st.requests;
    adm += st.admitted;
  }
  r.wb_p99_ms = percentile(lat, 0.99);
  r.wb_admitted = static_cast<double>(adm) / static_cast<double>(req);
  const KeyStats& h = sim.stats(0);
  const uint64_t rejects = h.rejected_at_request + h.rejected_late;
  r.hot_fast_rejects = rejects ? static_cast<double>(h.rejected_at_request) / static_cast<double>(rejects) : 1;
  r.hot_reject_p99_ms = percentile(h.reject_after_ms, 0.99);
  r.goodput = sim.goodput();
  r.hot_admitted_rate = static_cast<double>(h.admitted) / (static_cast<double>(end - from) / 1e6);
  r.over_limit = sim.max_running_over_limit();
  return r;
}

// (b) One key at 3x capacity, three at 0.1x each.
TEST(AdmissionSimulation, SkewedOverloadProtectsWellBehavedKeys) {
  const SkewResult base = run_skew(false, 7);
  const SkewResult r = run_skew(true, 7);
  std::printf(
      "[sim b] well-behaved p99 %.2f ms (unloaded %.2f ms), admitted %.4f%%; hot key: %.2f%% of "
      "rejections at request time, rejection p99 %.2f ms, admitted %.0f/s; goodput %.1f/s "
      "(%.1f%% of the best static limit)\n",
      r.wb_p99_ms, base.wb_p99_ms, 100 * r.wb_admitted, 100 * r.hot_fast_rejects,
      r.hot_reject_p99_ms, r.hot_admitted_rate, r.goodput, 100 * r.goodput / best_throughput());
  EXPECT_GE(r.wb_admitted, 0.999);
  // bench/overload.sh asks for at most 2x. The well-behaved keys pay, under
  // overload, for the third transaction in the database that keeps both
  // cores busy across the proxy's hops (s(3) is 1.6x s(2)) and for the wait
  // for the next freed slot; their bursts go ahead of the hot key (light-key
  // credit, fair_queue.h). 1.5-1.65x over five seeds; 2.2x without the credit.
  EXPECT_LE(r.wb_p99_ms, 2.0 * base.wb_p99_ms);
  EXPECT_GE(r.hot_fast_rejects, 0.99);
  EXPECT_LE(r.hot_reject_p99_ms, 5.0);
  EXPECT_GE(r.goodput, 0.9 * best_throughput());
  EXPECT_EQ(r.over_limit, 0u);
  EXPECT_EQ(base.over_limit, 0u);
}

// (c) Even overload: four keys at 0.75x each share equally, keep goodput, and
// have their excess refused quickly: every key is over its share, so every
// key's queue is standing, and its rejections come at the door or after at
// most shed_wait_ms. Run with the defaults and with the benchmark's shorter
// shed bound (bench/overload.sh: shed_wait_ms = 4).
void run_even(uint32_t shed_wait_ms, uint64_t seed, double each_of_capacity = 0.75,
              uint64_t warm_up = 1 * kSec) {
  Settings s;
  s.shed_wait_ms = shed_wait_ms;
  Simulation sim(s, 4, seed);
  const double each = each_of_capacity * kCapacity;
  sim.run({{15 * kSec, {each, each, each, each}}}, warm_up);
  double total = 0;
  for (size_t k = 0; k < 4; ++k) total += static_cast<double>(sim.stats(k).admitted);
  std::printf("[sim c] %.2fx each, shed_wait_ms %u: goodput %.1f/s (%.1f%% of the best static limit); share, "
              "rejected at request time, rejection p99 per key:",
              each_of_capacity, shed_wait_ms, sim.goodput(), 100 * sim.goodput() / best_throughput());
  for (size_t k = 0; k < 4; ++k) {
    const KeyStats& st = sim.stats(k);
    const double share = static_cast<double>(st.admitted) / total;
    const uint64_t rejects = st.rejected_at_request + st.rejected_late;
    const double at_door =
        rejects ? static_cast<double>(st.rejected_at_request) / static_cast<double>(rejects) : 1;
    const double p99 = percentile(st.reject_after_ms, 0.99);
    std::printf(" [%.3f %.2f%% %.2f ms", share, 100 * at_door, p99);
    for (size_t r = 0; r < kRejectReasons; ++r) {
      if (st.late_by_reason[r]) std::printf(" %s %llu", to_string(static_cast<RejectReason>(r)),
                                            static_cast<unsigned long long>(st.late_by_reason[r]));
    }
    std::printf("]");
    EXPECT_NEAR(share, 0.25, 0.25 * 0.15);
    EXPECT_GE(at_door, 0.99) << "key " << k;
    EXPECT_LE(p99, std::min(5.0, static_cast<double>(shed_wait_ms))) << "key " << k;
  }
  std::printf("\n");
  EXPECT_GE(sim.goodput(), 0.9 * best_throughput());
  EXPECT_EQ(sim.max_running_over_limit(), 0u);
}

TEST(AdmissionSimulation, EvenOverloadSharesEquallyAndShedsFast) {
  run_even(Settings{}.shed_wait_ms, 99);
  run_even(4, 99);
  run_even(4, 5);
}

// The same at 1.6x and 2x (each key at 0.4x, 0.5x), measured after the
// onset (the smoothed demand needs a second or two to show the excess). A
// key this near its share is served often enough that its queue drains now
// and then. bench/overload.sh met this when a low capacity check made its
// 3x a 2.1-2.6x: the key's queue stopped counting as standing, grew towards
// the 1 s queue timeout, and was shed once it stood again, so refusals came
// after 20-90 ms. A standing key now stays standing while its demand is over
// 1.1x its share.
TEST(AdmissionSimulation, ModerateEvenOverloadShedsFast) {
  for (const double each : {0.4, 0.5}) {
    for (uint64_t seed = 1; seed <= 6; ++seed) run_even(seed % 2 ? 4 : 10, seed, each, 3 * kSec);
  }
}

}  // namespace
}  // namespace pgs::admission
