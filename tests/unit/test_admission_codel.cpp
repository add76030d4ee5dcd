// The admission policy under a fake clock: CoDel detection, LIFO, shedding
// and predicted rejections; the adaptive controller in a closed loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include "proxy/admission/admission.h"
#include "tests/unit/test_admission_util.h"

namespace pgs::admission {
namespace {

using namespace pgs::admission::test;  // NOLINT: test helpers

// A single key flooding a limit-1 database whose transactions take 10 ms:
// one request every 2 ms. Returns everything that happened.
struct Flood {
  std::vector<Outcome> outcomes;
  std::vector<Req> requests;
  std::vector<uint64_t> request_times;
};

void flood(AdmissionController& ac, KeyId k, uint64_t from, uint64_t to, uint64_t& next_finish,
           Flood& f) {
  for (uint64_t now = from; now < to; now += 1 * kMs) {
    if (now >= next_finish && ac.running() > 0) {
      ac.record_sample(10 * kMs, false, now);
      ac.finish(k, now);
      next_finish = UINT64_MAX;
    }
    if (now % (2 * kMs) == 0) {
      f.requests.push_back(request(ac, k, now));
      f.request_times.push_back(now);
      if (f.requests.back().verdict == Verdict::Admit) next_finish = now + 10 * kMs;
    }
    for (const Outcome& o : poll(ac, now)) {
      f.outcomes.push_back(o);
      if (o.admitted) next_finish = now + 10 * kMs;
    }
  }
}

TEST(AdmissionCodel, StandingQueueIsDetectedThenShedAndPredicted) {
  AdmissionController ac(static_settings(1));
  const KeyId k = ac.key("flood", policy());
  uint64_t next_finish = UINT64_MAX;
  Flood f;
  flood(ac, k, 0, 80 * kMs, next_finish, f);
  EXPECT_FALSE(ac.snapshot().keys[k].standing);  // waits above target, but not yet for an interval
  // A key is over its share once its smoothed demand (tau 1 s) passes 1.25x
  // the database's rate: from about 0.3 s into a 5x flood.
  flood(ac, k, 80 * kMs, 600 * kMs, next_finish, f);
  const Snapshot s = ac.snapshot();
  EXPECT_TRUE(s.keys[k].standing);
  // The backlog built before the state was detected is cut back to short waits...
  size_t shed = 0;
  for (const Outcome& o : f.outcomes) {
    if (!o.admitted && o.reason == RejectReason::Shed) {
      ++shed;
      EXPECT_GE(o.waited_us, 10 * kMs);
    }
  }
  EXPECT_GT(shed, 0u);
  // ...and from then on the excess is refused at the door.
  size_t predicted_in_tail = 0;
  for (size_t i = 0; i < f.requests.size(); ++i) {
    if (f.request_times[i] < 500 * kMs) continue;
    if (f.requests[i].verdict == Verdict::Reject && f.requests[i].reason == RejectReason::Predicted) {
      ++predicted_in_tail;
    }
  }
  EXPECT_GT(predicted_in_tail, 30u);  // ~50 requests, ~10 can run
  EXPECT_LE(s.keys[k].queued_now, 2u);

  // While standing, the shed time of a waiter behind another is a deadline
  // (the newest waiter is never shed: it takes the key's next slot).
  if (s.keys[k].queued_now > 1) {
    EXPECT_LE(ac.next_deadline_us(), 600 * kMs + 10 * kMs);
  }

  // Load stops: the queue drains and the state clears once the key's
  // smoothed demand (tau 1 s) has fallen back under 1.1x its share: from 5x
  // that takes ln(5 / 1.1) = 1.5 s.
  uint64_t now = 600 * kMs;
  while (ac.queued() > 0 || ac.running() > 0) {
    now += kMs;
    if (ac.running() > 0 && now >= next_finish) {
      ac.finish(k, now);
      next_finish = UINT64_MAX;
    }
    for (const Outcome& o : poll(ac, now)) {
      if (o.admitted) next_finish = now + 10 * kMs;
    }
  }
  now += 2000 * kMs;
  EXPECT_EQ(request(ac, k, now).verdict, Verdict::Admit);
  (void)poll(ac, now);
  EXPECT_FALSE(ac.snapshot().keys[k].standing);
}

TEST(AdmissionCodel, StandingQueueIsServedNewestFirst) {
  Settings s = static_settings(1);
  s.shed_wait_ms = 10'000;  // keep a long standing queue to look at its order
  AdmissionController ac(s);
  const KeyId k = ac.key("flood", policy(0, 1, 1000, 100'000));
  uint64_t next_finish = UINT64_MAX;
  Flood f;
  flood(ac, k, 0, 600 * kMs, next_finish, f);
  ASSERT_TRUE(ac.snapshot().keys[k].standing);
  ASSERT_GE(ac.queued(), 3u);
  TicketId newest = 0;
  for (size_t i = 0; i < f.requests.size(); ++i) {
    if (f.requests[i].verdict == Verdict::Queued) newest = f.requests[i].ticket;
  }
  // Finish the running one: the newest waiter goes first.
  const uint64_t now = std::max<uint64_t>(600 * kMs, next_finish);
  ac.finish(k, now);
  const auto out = poll(ac, now);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].admitted);
  EXPECT_EQ(out[0].ticket, newest);
}

TEST(AdmissionCodel, PredictedRejectionWithoutStandingQueue) {
  Settings s = static_settings(1);
  s.codel_target_ms = 1'000'000;  // CoDel out of the way: only the timeout bound
  AdmissionController ac(s);
  const KeyId k = ac.key("k", policy(0, 1, 64, 100));
  uint64_t next_finish = UINT64_MAX;
  Flood f;
  flood(ac, k, 0, 3000 * kMs, next_finish, f);
  // ~100/s are served; with a 100 ms timeout about 10 can wait. The rest is
  // refused at once, and almost nothing times out after waiting.
  // (The first ~100 ms, before the database's rate is known, are left out.)
  size_t predicted = 0, timeouts = 0;
  std::vector<TicketId> late_tickets;
  for (size_t i = 0; i < f.requests.size(); ++i) {
    const Req& r = f.requests[i];
    predicted += r.verdict == Verdict::Reject && r.reason == RejectReason::Predicted;
    if (r.verdict == Verdict::Queued && f.request_times[i] >= 500 * kMs) late_tickets.push_back(r.ticket);
  }
  for (const Outcome& o : f.outcomes) {
    if (!o.admitted && o.reason == RejectReason::Timeout &&
        std::find(late_tickets.begin(), late_tickets.end(), o.ticket) != late_tickets.end()) {
      ++timeouts;
    }
  }
  EXPECT_GT(predicted, 1000u);
  EXPECT_LT(timeouts, predicted / 50);
  EXPECT_FALSE(ac.snapshot().keys[k].standing);
}

// A flooding key and a well-behaved one share a limit-2 database (6 ms per
// transaction). The flood is shed; the well-behaved key never is.
TEST(AdmissionCodel, WellBehavedKeyIsNeverShed) {
  AdmissionController ac(static_settings(2));
  const KeyId hot = ac.key("hot", policy());
  const KeyId calm = ac.key("calm", policy());
  std::vector<std::pair<uint64_t, KeyId>> running;  // finish time, key
  uint64_t calm_rejected = 0, hot_rejected = 0, calm_admitted = 0, calm_requests = 0;
  uint64_t calm_worst_wait = 0;
  for (uint64_t now = 0; now < 10'000 * kMs; now += 500) {
    for (size_t i = 0; i < running.size();) {
      if (running[i].first <= now) {
        ac.record_sample(6 * kMs, false, now);
        ac.finish(running[i].second, now);
        running[i] = running.back();
        running.pop_back();
      } else {
        ++i;
      }
    }
    auto ask = [&](KeyId k) {
      const Req r = request(ac, k, now);
      if (r.verdict == Verdict::Admit) running.emplace_back(now + 6 * kMs, k);
      if (k == calm) ++calm_requests;
      if (r.verdict == Verdict::Reject) ++(k == calm ? calm_rejected : hot_rejected);
      if (r.verdict == Verdict::Admit && k == calm) ++calm_admitted;
    };
    if (now % kMs == 0) ask(hot);                 // 1000/s: 3x capacity
    if (now % (31 * kMs) == 0) ask(calm);         // ~32/s: 0.1x
    for (const Outcome& o : poll(ac, now)) {
      if (o.admitted) running.emplace_back(now + 6 * kMs, o.key);
      if (o.key == calm) {
        if (o.admitted) {
          ++calm_admitted;
          calm_worst_wait = std::max(calm_worst_wait, o.waited_us);
        } else {
          ++calm_rejected;
        }
      } else if (!o.admitted) {
        ++hot_rejected;
      }
    }
    ASSERT_LE(ac.running(), 2u);
  }
  EXPECT_EQ(calm_rejected, 0u);
  EXPECT_EQ(calm_admitted, calm_requests);
  EXPECT_LE(calm_worst_wait, 6 * kMs);  // at most one transaction's time
  EXPECT_GT(hot_rejected, 5000u);
  const Snapshot s = ac.snapshot();
  EXPECT_TRUE(s.keys[hot].standing);
  EXPECT_FALSE(s.keys[calm].standing);
  EXPECT_NEAR(s.keys[hot].demand_rate, 1000, 50);
  EXPECT_NEAR(s.keys[calm].served_rate, 32, 12);
  EXPECT_NEAR(s.throughput, 333, 20);
}

// App servers as the admission policy sees them: each a pool of `clients`
// connections in a closed loop (a connection asks again as soon as its
// transaction ends, or 0.5 ms after a refusal), each transaction taking `service`.
// Returns, per pool, how many transactions ended refused.
struct Pools {
  struct Pool {
    KeyId key;
    uint32_t clients;
    uint64_t every_us;  // 0: closed loop; else one request per this, if a connection is free
    uint32_t busy = 0;  // connections with a transaction queued or running
    uint64_t admitted = 0, rejected = 0;
  };
  AdmissionController ac;
  std::vector<Pool> pools;
  std::vector<std::pair<uint64_t, size_t>> running;  // finish time, pool
  uint64_t service_us;

  Pools(const Settings& s, uint64_t service) : ac(s), service_us(service) {}
  size_t add(const char* name, uint32_t clients, uint64_t every_us = 0) {
    pools.push_back(Pool{ac.key(name, policy()), clients, every_us});
    return pools.size() - 1;
  }
  size_t of(KeyId k) const {
    for (size_t i = 0; i < pools.size(); ++i) {
      if (pools[i].key == k) return i;
    }
    return SIZE_MAX;
  }
  void run(uint64_t until) {
    for (uint64_t now = 0; now < until; now += 500) {
      for (size_t i = 0; i < running.size();) {
        if (running[i].first <= now) {
          Pool& p = pools[running[i].second];
          ac.record_sample(service_us, false, now);
          ac.finish(p.key, now);
          --p.busy;
          running[i] = running.back();
          running.pop_back();
        } else {
          ++i;
        }
      }
      for (size_t i = 0; i < pools.size(); ++i) {
        Pool& p = pools[i];
        const bool due = p.every_us == 0 || now % p.every_us == 0;
        while (due && p.busy < p.clients) {
          const Req r = request(ac, p.key, now);
          if (r.verdict == Verdict::Reject) {
            ++p.rejected;
            break;  // it asks again at the next step
          }
          ++p.busy;
          if (r.verdict == Verdict::Admit) {
            ++p.admitted;
            running.emplace_back(now + service_us, i);
          }
          if (p.every_us != 0) break;
        }
      }
      for (const Outcome& o : poll(ac, now)) {
        Pool& p = pools[of(o.key)];
        if (o.admitted) {
          ++p.admitted;
          running.emplace_back(now + service_us, of(o.key));
        } else {
          ++p.rejected;
          --p.busy;
        }
      }
      ASSERT_LE(ac.running(), ac.limit());
    }
  }
};

// pgbench, or one app server alone, with more connections than the limit:
// its backlog is its own pool, it cannot send faster than it is served, and
// there is nobody to protect from it. Its transactions wait their turn
// (about 17 / 300 per second = 57 ms here) and none is refused.
TEST(AdmissionCodel, LonePoolLargerThanTheLimitWaitsAndIsNotShed) {
  Pools db(static_settings(3), 10 * kMs);
  const size_t app = db.add("app", 20);
  db.run(5000 * kMs);
  EXPECT_EQ(db.pools[app].rejected, 0u);
  EXPECT_GT(db.pools[app].admitted, 1400u);  // ~300/s: the database stays busy
  EXPECT_FALSE(db.ac.snapshot().keys[db.pools[app].key].standing);
}

// The same pool beside a light key (~10% of the database): now its backlog
// is over its share, and its standing queue is cut. The light key is never
// refused.
TEST(AdmissionCodel, PoolOverItsShareBesideAnotherKeyIsShed) {
  Pools db(static_settings(3), 10 * kMs);
  const size_t app = db.add("app", 20);
  const size_t calm = db.add("calm", 5, 31 * kMs);  // one request every 31 ms
  db.run(5000 * kMs);
  EXPECT_EQ(db.pools[calm].rejected, 0u);
  EXPECT_GT(db.pools[calm].admitted, 140u);
  EXPECT_GT(db.pools[app].rejected, 1000u);
  EXPECT_TRUE(db.ac.snapshot().keys[db.pools[app].key].standing);
}

// The adaptive controller, directly: a closed loop where every running
// transaction takes `latency(running)`.
struct Loop {
  AdmissionController ac;
  KeyId k;
  std::vector<uint64_t> finish_at;
  uint64_t now = 0;

  explicit Loop(const Settings& s) : ac(s), k(ac.key("k", policy(0, 1, 1000, 100'000))) {}

  // Keeps `demand` transactions in the system (running or queued).
  template <typename Latency>
  void run(uint64_t until, uint32_t demand, Latency latency, bool congestion = false) {
    for (; now < until; now += 200) {
      for (size_t i = 0; i < finish_at.size();) {
        if (finish_at[i] <= now) {
          ac.record_sample(latency(ac.running()), congestion, now);
          ac.finish(k, now);
          finish_at[i] = finish_at.back();
          finish_at.pop_back();
        } else {
          ++i;
        }
      }
      while (ac.running() + ac.queued() < demand) {
        TicketId t;
        RejectReason r;
        const Verdict v = ac.request(k, now, t, r);
        if (v == Verdict::Admit) finish_at.push_back(now + latency(ac.running()));
        if (v == Verdict::Reject) break;
      }
      std::vector<Outcome> out;
      ac.poll(now, out);
      for (const Outcome& o : out) {
        if (o.admitted) finish_at.push_back(now + latency(ac.running()));
      }
      ASSERT_LE(ac.running(), std::max(ac.limit(), static_cast<uint32_t>(finish_at.size())));
    }
  }
};

TEST(AdmissionAdaptive, DoesNotGrowWhenTheLimitIsNotTheBottleneck) {
  Settings s;
  s.initial_limit = 4;
  Loop loop(s);
  loop.run(5000 * kMs, 2, [](uint32_t) { return 5 * kMs; });
  EXPECT_EQ(loop.ac.limit(), 4u);
  EXPECT_NEAR(loop.ac.snapshot().min_latency_ms, 5.0, 0.3);
}

TEST(AdmissionAdaptive, GrowsWhileThroughputGrowsThenStops) {
  // Latency is flat up to 12 running (throughput grows with the limit), then
  // grows linearly (throughput flat).
  Settings s;
  s.initial_limit = 2;
  s.max_limit = 50;
  Loop loop(s);
  auto latency = [](uint32_t c) { return c <= 12 ? 5 * kMs : 5 * kMs * c / 12; };
  loop.run(20'000 * kMs, 100, latency);
  EXPECT_GE(loop.ac.limit(), 10u);
  EXPECT_LE(loop.ac.limit(), 16u);
}

TEST(AdmissionAdaptive, ShrinksWhenLatencyRisesAndOnCongestion) {
  Settings s;
  s.initial_limit = 10;
  Loop loop(s);
  // Learn the uncontended latency with light load.
  loop.run(2000 * kMs, 2, [](uint32_t) { return 5 * kMs; });
  EXPECT_EQ(loop.ac.limit(), 10u);
  // Now every transaction is slow (4x): the limit must come down.
  loop.run(3000 * kMs, 100, [](uint32_t c) { return 5 * kMs * std::max<uint32_t>(1, c / 2); });
  const uint32_t after_latency = loop.ac.limit();
  EXPECT_LE(after_latency, 5u);
  // Congestion errors with fast latency still shrink it, to the floor.
  loop.run(5000 * kMs, 100, [](uint32_t) { return 5 * kMs; }, true);
  EXPECT_EQ(loop.ac.limit(), s.min_limit);
}

TEST(AdmissionAdaptive, StaysWithinBounds) {
  Settings s;
  s.min_limit = 3;
  s.max_limit = 6;
  s.initial_limit = 100;
  Loop loop(s);
  EXPECT_EQ(loop.ac.limit(), 6u);
  loop.run(3000 * kMs, 100, [](uint32_t) { return 5 * kMs; }, true);
  EXPECT_EQ(loop.ac.limit(), 3u);
  s.mode = Mode::Static;
  loop.ac.set_settings(s);
  EXPECT_EQ(loop.ac.limit(), 6u);
}

}  // namespace
}  // namespace pgs::admission
