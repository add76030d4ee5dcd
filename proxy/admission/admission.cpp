// AdmissionController: the glue between the per-key queues (fair_queue.*)
// and the database-wide limit (controller.*). Pure policy; see admission.h.
//
// Fast shedding, the part that needs the most care: the excess of an
// overloading key should be refused at request() time, not after a wait.
//  * "Capacity" below is the database's completion rate measured only while
//    tickets wait (BacklogRate): the rate at which a waiter can expect slots.
//    Until about ten such completions are seen there is no estimate, and
//    neither shedding nor prediction happens (timeouts still bound waits).
//  * A key's queue is "standing" when its CoDel state says so *and* the key
//    is over its weighted share: its demand rate exceeds 1.25 x capacity x
//    weight / weight of the keys with waiters (the margin absorbs the
//    wander of a smoothed rate), or more than 8 of its transactions wait (a
//    closed-loop client, an app server's pool, cannot send faster than it
//    is served: its backlog, not its rate, shows the excess) while other
//    keys get at least kContested of the admissions. A pool alone (pgbench,
//    one app server) has no share to exceed and nobody to protect: its
//    backlog is its own pool, bounded, and waits its turn. A key under
//    its share is never treated as standing, so it is never shed, and never
//    refused early unless its queue really could not start within
//    queue_timeout_ms. Once standing, a key stays so while its demand is
//    over 1.1 x its share, even if its queue drained for a moment: a key at
//    2x its share, kept to one waiter, drains often, and every flicker of
//    the state let a queue grow that was then shed after 50-90 ms.
//  * While standing, waiters older than shed_wait_ms are shed, except the
//    newest, which takes the key's next slot (so the database never idles
//    for want of it).
//  * At request() a newcomer that is predicted not to start within the
//    allowed wait is refused (Predicted). The prediction is
//    (queue length + 1) / service rate, where the service rate is the larger
//    of the key's recent admission rate and its fair share of capacity
//    (what start-time fair queueing guarantees it while it waits).
//    While standing, the queue is served newest-first, so the newcomer
//    delays everybody: the test is then age of the oldest waiter +
//    (length + 1) / rate, i.e. whether the whole queue still starts in time.
//    Also while standing the bound is half of shed_wait_ms: shed_wait is short
//    against the jitter of one key's service gaps, and a ticket that would
//    start just inside the bound is likely to be shed late instead.
//  * The head of a queue is never refused by prediction: a key with nothing
//    waiting when its turn comes leaves the slot idle (not work-conserving).
#include "proxy/admission/admission.h"

#include <algorithm>
#include <cstdint>

#include "proxy/admission/controller.h"
#include "proxy/admission/fair_queue.h"
#include "proxy/admission/rate_meter.h"

namespace pgs::admission {

namespace {

constexpr double kStandingMargin = 0.5;
// A key counts as over its share only when its demand exceeds the share by
// this factor: a smoothed Poisson rate of 5-20/s wanders by 15-30% around its
// mean, and a well-behaved key near its share must never be shed for a
// burst. (At 1.5 a key at 1.6x its share crossed in and out, and every
// crossing in shed a queue that had grown meanwhile, after 30-60 ms.)...
constexpr double kOverShare = 1.25;
// Once its queue counts as standing, it keeps counting while its demand stays
// over this: if the state flickered off with the smoothed rate's wander,
// the key's queue would grow towards the queue_timeout_ms bound, then be shed
// late when it stood again.
constexpr double kStillOverShare = 1.1;
// ...or when more than this many of its transactions wait. An app server
// whose pool holds every connection in pgsluice's queue sends no more than
// it is served, so its demand looks like its share; the backlog shows it.
constexpr size_t kBacklogWaiters = 8;
// The backlog test applies only while the other keys get at least this
// fraction of the database's admissions; below it a key's backlog delays
// nobody but itself, and refusing a closed loop buys nothing but errors.
constexpr double kContested = 0.05;
// A key admitted at less than this fraction of its fair share is light: its
// bursts get a little credit in the fair queue (fair_queue.h). Not 1: keys at
// their share (even overload) wander around it and would take turns
// jumping the queue; a well-behaved key sharing with three others is at about
// 0.4 of its share.
constexpr double kLightShare = 0.75;

size_t idx(RejectReason r) { return static_cast<size_t>(r); }

}  // namespace

const char* to_string(Mode m) {
  switch (m) {
    case Mode::Off: return "off";
    case Mode::Static: return "static";
    case Mode::Adaptive: return "adaptive";
  }
  return "unknown";
}

const char* to_string(RejectReason r) {
  switch (r) {
    case RejectReason::QueueFull: return "queue_full";
    case RejectReason::Timeout: return "timeout";
    case RejectReason::Shed: return "shed";
    case RejectReason::Predicted: return "predicted";
    case RejectReason::Paused: return "paused";
  }
  return "unknown";
}

struct AdmissionController::Impl {
  explicit Impl(const Settings& s) : settings(s), ctrl(s) {}

  Settings settings;
  LimitController ctrl;
  FairQueue fq;
  uint32_t running = 0;
  uint32_t queued = 0;
  uint32_t seq = 0;
  RateMeter throughput;
  RateMeter admissions;  // of every key
  BacklogRate capacity;  // completions per second while tickets wait
  RecentMax contenders;  // the weight of the keys with waiters, at its most recently
  uint64_t requests = 0;
  uint64_t admitted = 0;
  uint64_t rejected[kRejectReasons] = {};
  uint64_t cancelled = 0;
  uint64_t last_now = 0;  // latest time seen; snapshot() reads rates there
  bool paused = false;
  Histogram latency;

  void touch(uint64_t now) { last_now = std::max(last_now, now); }

  uint32_t limit() const {
    switch (settings.mode) {
      case Mode::Off: return UINT32_MAX;
      case Mode::Static: return settings.max_limit;
      case Mode::Adaptive: return ctrl.limit();
    }
    return UINT32_MAX;
  }
  uint64_t target_us() const { return uint64_t{settings.codel_target_ms} * 1000; }
  uint64_t interval_us() const { return std::max<uint64_t>(1, uint64_t{settings.codel_interval_ms} * 1000); }
  uint64_t shed_us() const { return uint64_t{settings.shed_wait_ms} * 1000; }

  TicketId next_ticket(KeyId k) {
    if (++seq == 0) seq = 1;
    return (TicketId{k} << 32) | seq;
  }

  // Key k's weighted share of the database's completion rate under backlog:
  // the rate fair queueing guarantees it while it waits. 0 while that rate
  // is unknown. The keys it shares with are those that had waiters at any
  // time over the last one to two CoDel intervals, k among them, not only
  // those waiting at this instant: a key kept to a short queue by shedding
  // is empty between its turns, and counting only the waiting keys would
  // make every key's share swing between a quarter and all of the database
  // from one request to the next, and with it whether its queue counts as
  // standing (which is what lets a long queue form and be shed late).
  double fair_share(KeyId k, uint64_t now) const {
    const KeyState& ks = fq.key(k);
    const double now_weight = fq.active_weight() + (ks.active_pos == SIZE_MAX ? ks.weight() : 0.0);
    const double weights = std::max(now_weight, contenders.get(now, interval_us()));
    return capacity.rate(now) * ks.weight() / weights;
  }

  // Re-reads key k's CoDel state and its rates against its share: whether
  // its queue is standing, and whether it is light.
  void refresh_key(KeyId k, uint64_t now) {
    KeyState& ks = fq.key(k);
    const double share = fair_share(k, now);
    const double over_by = ks.standing ? kStillOverShare : kOverShare;
    const bool over_share = share > 0 && ks.demand.rate(now) > share * over_by;
    ks.codel.check(now, interval_us(), ks.queue.empty(), over_share);
    ks.light = share > 0 && ks.served.rate(now) < share * kLightShare;
    const double all = admissions.rate(now);
    const bool contested = all > 0 && all - ks.served.rate(now) >= all * kContested;
    ks.standing = ks.codel.standing && share > 0 &&
                  (over_share || (contested && ks.queue.size() > kBacklogWaiters));
  }

  void wait_sample(KeyId k, uint64_t wait_us, uint64_t now) {
    KeyState& ks = fq.key(k);
    const bool was = ks.codel.standing;
    ks.codel.on_wait(wait_us, now, target_us(), interval_us());
    if (ks.codel.standing != was) refresh_key(k, now);
  }

  bool predicted_late(KeyId k, uint64_t now) const {
    const KeyState& ks = fq.key(k);
    const size_t len = ks.queue.size();
    if (len == 0) return false;
    const double share = fair_share(k, now);
    if (share <= 0) return false;  // no measure of the database yet: let timeouts decide
    const double rate = std::max(ks.served.rate(now), share);
    const double need_us = static_cast<double>(len + 1) / rate * 1e6;
    if (ks.standing) {
      const double oldest_us = static_cast<double>(now - std::min(now, ks.queue.front().enqueued_us));
      return oldest_us + need_us > static_cast<double>(shed_us()) * kStandingMargin;
    }
    return need_us > static_cast<double>(ks.policy.queue_timeout_ms) * 1000.0;
  }

  void admit(KeyId k, uint64_t now, uint64_t waited) {
    KeyState& ks = fq.key(k);
    ks.counters.wait.record(waited);
    ++running;
    ++ks.running;
    ++ks.counters.admitted;
    ++admitted;
    ks.served.add(now);
    admissions.add(now);
    fq.charge(k);
    ctrl.on_running(now, running);
  }

  void count_reject(KeyState& ks, RejectReason r, uint64_t waited) {
    ks.counters.reject_wait.record(waited);
    ++ks.counters.rejected[idx(r)];
    ++rejected[idx(r)];
  }

  void after_dequeue(KeyId k, uint64_t now) {
    KeyState& ks = fq.key(k);
    --queued;
    if (queued == 0) capacity.set_backlogged(now, false);
    if (ks.queue.empty()) {
      fq.deactivate(k);
      ks.codel.on_drained();
    }
  }

  // Timeouts and sheds, oldest first. The oldest waiter is at the front in
  // both FIFO and LIFO service, so only fronts need looking at.
  void expire(uint64_t now, std::vector<Outcome>& out) {
    const auto& active = fq.active();
    for (size_t i = active.size(); i-- > 0;) {
      const KeyId k = active[i];
      KeyState& ks = fq.key(k);
      refresh_key(k, now);
      while (!ks.queue.empty()) {
        const Waiter& w = ks.queue.front();
        RejectReason r;
        if (now >= w.deadline_us) {
          r = paused ? RejectReason::Paused : RejectReason::Timeout;
        } else if (!paused && ks.standing && ks.queue.size() > 1 && now >= w.enqueued_us + shed_us()) {
          // The newest waiter stays: it takes the key's next slot (served
          // newest-first), so the database never idles for want of it. The
          // door keeps the queue that short; a wait that ends in service is
          // better than a rejection after the same wait.
          r = RejectReason::Shed;
        } else {
          break;
        }
        const Waiter gone = ks.queue.pop_front();
        const uint64_t waited = now - std::min(now, gone.enqueued_us);
        count_reject(ks, r, waited);
        out.push_back(Outcome{gone.ticket, k, false, r, waited});
        wait_sample(k, waited, now);
        after_dequeue(k, now);  // may swap-remove active[i]; we walk backwards
      }
    }
  }

  void dispatch(uint64_t now, std::vector<Outcome>& out) {
    const uint32_t lim = limit();
    while (!paused && running < lim) {
      const KeyId k = fq.pick();
      if (k == FairQueue::kNone) break;
      KeyState& ks = fq.key(k);
      const Waiter w = ks.standing ? ks.queue.pop_back() : ks.queue.pop_front();
      const uint64_t waited = now - std::min(now, w.enqueued_us);
      admit(k, now, waited);
      ks.counters.wait_us_total += waited;
      out.push_back(Outcome{w.ticket, k, true, RejectReason::Timeout, waited});
      wait_sample(k, waited, now);
      after_dequeue(k, now);
    }
  }

  bool dispatchable() const {
    if (paused || running >= limit()) return false;
    for (KeyId k : fq.active()) {
      if (fq.key(k).has_room()) return true;
    }
    return false;
  }
};

AdmissionController::AdmissionController(const Settings& settings)
    : impl_(std::make_unique<Impl>(settings)) {}

AdmissionController::~AdmissionController() = default;

void AdmissionController::set_settings(const Settings& settings) {
  const bool restart = settings.mode == Mode::Adaptive && impl_->settings.mode != Mode::Adaptive;
  impl_->settings = settings;
  impl_->ctrl.configure(settings, restart);
}

const Settings& AdmissionController::settings() const { return impl_->settings; }

KeyId AdmissionController::key(std::string_view name, const KeyPolicy& policy) {
  return impl_->fq.find_or_add(name, policy);
}

Verdict AdmissionController::request(KeyId key, uint64_t now_us, TicketId& ticket, RejectReason& reason) {
  Impl& m = *impl_;
  m.touch(now_us);
  if (!m.fq.valid(key)) {
    reason = RejectReason::QueueFull;  // not a key of ours: nothing to queue it on
    return Verdict::Reject;
  }
  KeyState& ks = m.fq.key(key);
  ++ks.counters.requests;
  ++m.requests;
  ks.demand.add(now_us);
  ticket = 0;
  m.refresh_key(key, now_us);

  if (!m.paused && ks.queue.empty() && ks.has_room() && m.running < m.limit() &&
      !m.fq.someone_ahead_of(key)) {
    m.admit(key, now_us, 0);
    return Verdict::Admit;
  }

  if (ks.queue.size() >= ks.policy.max_queue) {
    reason = RejectReason::QueueFull;
  } else if (!m.paused && m.predicted_late(key, now_us)) {
    reason = RejectReason::Predicted;
  } else {
    ticket = m.next_ticket(key);
    ks.queue.push_back(Waiter{ticket, now_us, now_us + uint64_t{ks.policy.queue_timeout_ms} * 1000});
    m.fq.activate(key);
    m.contenders.add(now_us, m.fq.active_weight(), m.interval_us());
    ++ks.counters.queued;
    ++m.queued;
    m.capacity.set_backlogged(now_us, true);
    return Verdict::Queued;
  }
  m.count_reject(ks, reason, 0);
  ks.codel.on_door_reject(now_us);
  return Verdict::Reject;
}

void AdmissionController::cancel(TicketId ticket, uint64_t now_us) {
  Impl& m = *impl_;
  m.touch(now_us);
  const auto k = static_cast<KeyId>(ticket >> 32);
  if (!m.fq.valid(k)) return;
  KeyState& ks = m.fq.key(k);
  if (!ks.queue.erase(ticket)) return;  // already decided, or never ours
  ++ks.counters.cancelled;
  ++m.cancelled;
  m.after_dequeue(k, now_us);
}

void AdmissionController::finish(KeyId key, uint64_t now_us) {
  Impl& m = *impl_;
  m.touch(now_us);
  if (!m.fq.valid(key)) return;
  KeyState& ks = m.fq.key(key);
  if (ks.running == 0 || m.running == 0) return;  // unmatched finish: ignore
  --ks.running;
  --m.running;
  ++ks.counters.finished;
  m.throughput.add(now_us);
  m.capacity.on_finish(now_us);
  m.ctrl.on_finish();
  m.ctrl.on_running(now_us, m.running);
}

void AdmissionController::record_sample(uint64_t latency_us, bool congestion, uint64_t now_us) {
  impl_->touch(now_us);
  impl_->ctrl.maybe_update(now_us);
  impl_->ctrl.on_sample(latency_us, congestion);
  impl_->latency.record(latency_us);
}

void AdmissionController::set_paused(bool paused, uint64_t now_us) {
  impl_->touch(now_us);
  impl_->paused = paused;
}

bool AdmissionController::paused() const { return impl_->paused; }

void AdmissionController::poll(uint64_t now_us, std::vector<Outcome>& out) {
  Impl& m = *impl_;
  m.touch(now_us);
  m.ctrl.maybe_update(now_us);
  if (m.queued == 0) return;
  m.expire(now_us, out);
  m.dispatch(now_us, out);
}

uint64_t AdmissionController::next_deadline_us() const {
  const Impl& m = *impl_;
  if (m.queued == 0) return UINT64_MAX;
  if (m.dispatchable()) return 0;  // work now: freed or added capacity
  uint64_t best = UINT64_MAX;
  for (KeyId k : m.fq.active()) {
    const KeyState& ks = m.fq.key(k);
    const Waiter& w = ks.queue.front();
    best = std::min(best, w.deadline_us);
    if (ks.standing && ks.queue.size() > 1) best = std::min(best, w.enqueued_us + m.shed_us());
  }
  if (m.settings.mode == Mode::Adaptive && m.ctrl.ready()) best = std::min(best, m.ctrl.due_at());
  return best;
}

void AdmissionController::key_demands(uint64_t now_us, std::vector<KeyDemand>& out) const {
  const Impl& m = *impl_;
  const uint64_t at = std::max(now_us, m.last_now);
  out.clear();
  for (const KeyState& ks : m.fq.keys()) out.push_back(KeyDemand{ks.name, ks.demand.rate(at), ks.policy.weight});
}

uint32_t AdmissionController::limit() const { return impl_->limit(); }
uint32_t AdmissionController::running() const { return impl_->running; }
uint32_t AdmissionController::queued() const { return impl_->queued; }

Snapshot AdmissionController::snapshot(uint64_t now_us) const {
  const Impl& m = *impl_;
  const uint64_t at = std::max(now_us, m.last_now);
  Snapshot s;
  s.mode = m.settings.mode;
  s.limit = m.limit();
  s.running = m.running;
  s.queued = m.queued;
  s.requests = m.requests;
  s.admitted = m.admitted;
  std::copy(std::begin(m.rejected), std::end(m.rejected), std::begin(s.rejected));
  s.cancelled = m.cancelled;
  s.min_latency_ms = m.ctrl.min_latency_ms();
  s.recent_latency_ms = m.ctrl.recent_latency_ms();
  s.paused = m.paused;
  s.latency = m.latency;
  s.throughput = m.throughput.rate(at);
  s.keys.reserve(m.fq.keys().size());
  for (const KeyState& ks : m.fq.keys()) {
    KeySnapshot k;
    k.name = ks.name;
    k.policy = ks.policy;
    k.running = ks.running;
    k.queued_now = static_cast<uint32_t>(ks.queue.size());
    k.standing = ks.standing;
    k.counters = ks.counters;
    k.demand_rate = ks.demand.rate(at);
    k.served_rate = ks.served.rate(at);
    s.wait.merge(ks.counters.wait);
    s.reject_wait.merge(ks.counters.reject_wait);
    s.keys.push_back(std::move(k));
  }
  return s;
}

}  // namespace pgs::admission
