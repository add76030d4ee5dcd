// The admission policy under a fake clock: limits, queues, fairness,
// deadlines and counters. CoDel shedding and the adaptive controller are in
// test_admission_codel.cpp; the controller in a simulated database in
// test_admission_sim.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include "proxy/admission/admission.h"
#include "proxy/admission/fair_queue.h"
#include "proxy/admission/rate_meter.h"
#include "tests/unit/test_admission_util.h"

namespace pgs::admission {
namespace {

using namespace pgs::admission::test;  // NOLINT: test helpers

TEST(AdmissionBasics, ReasonNames) {
  EXPECT_STREQ(to_string(RejectReason::QueueFull), "queue_full");
  EXPECT_STREQ(to_string(RejectReason::Timeout), "timeout");
  EXPECT_STREQ(to_string(RejectReason::Shed), "shed");
  EXPECT_STREQ(to_string(RejectReason::Predicted), "predicted");
  EXPECT_STREQ(to_string(RejectReason::Paused), "paused");
}

TEST(AdmissionBasics, AdmitsUnderLimitsThenQueues) {
  AdmissionController ac(static_settings(3));
  const KeyId a = ac.key("a", policy());
  EXPECT_EQ(ac.key("a", policy()), a);  // same name, same key
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  EXPECT_EQ(ac.running(), 3u);
  const Req r = request(ac, a, 0);
  EXPECT_EQ(r.verdict, Verdict::Queued);
  EXPECT_NE(r.ticket, 0u);
  EXPECT_EQ(ac.queued(), 1u);
  EXPECT_TRUE(poll(ac, 1).empty());
  ac.finish(a, 2 * kMs);
  const auto out = poll(ac, 2 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].admitted);
  EXPECT_EQ(out[0].ticket, r.ticket);
  EXPECT_EQ(out[0].key, a);
  EXPECT_EQ(out[0].waited_us, 2 * kMs);
  EXPECT_EQ(ac.running(), 3u);
  EXPECT_EQ(ac.queued(), 0u);
}

TEST(AdmissionBasics, UnknownKeyIsRejectedNotCrashed) {
  AdmissionController ac(static_settings(3));
  EXPECT_EQ(request(ac, 42, 0).verdict, Verdict::Reject);
  ac.finish(42, 0);     // ignored
  ac.cancel(12345, 0);  // ignored
  EXPECT_EQ(ac.running(), 0u);
}

TEST(AdmissionBasics, PerKeyLimitQueuesEvenWithoutDatabaseLimit) {
  Settings s;
  s.mode = Mode::Off;
  AdmissionController ac(s);
  EXPECT_EQ(ac.limit(), UINT32_MAX);
  const KeyId a = ac.key("a", policy(2));
  const KeyId b = ac.key("b", policy());
  EXPECT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  EXPECT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  const Req q = request(ac, a, 0);
  EXPECT_EQ(q.verdict, Verdict::Queued);
  // Another key is not held up by a's limit.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(request(ac, b, 0).verdict, Verdict::Admit);
  ac.finish(a, 5 * kMs);
  const auto out = poll(ac, 5 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ticket, q.ticket);
  EXPECT_EQ(ac.snapshot().keys[a].running, 2u);
}

TEST(AdmissionBasics, OffModeHasNoDatabaseLimit) {
  Settings s;
  s.mode = Mode::Off;
  AdmissionController ac(s);
  const KeyId a = ac.key("a", policy());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  EXPECT_EQ(ac.running(), 1000u);
  EXPECT_EQ(ac.snapshot().limit, UINT32_MAX);
}

TEST(AdmissionBasics, FifoWithinAKey) {
  AdmissionController ac(static_settings(1));
  const KeyId a = ac.key("a", policy());
  ASSERT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  std::vector<TicketId> tickets;
  for (int i = 0; i < 5; ++i) tickets.push_back(request(ac, a, (i + 1) * 100).ticket);
  for (int i = 0; i < 5; ++i) {
    const uint64_t now = 1000 + i * 100;
    ac.finish(a, now);
    const auto out = poll(ac, now);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ticket, tickets[i]);
  }
}

TEST(AdmissionBasics, QueueFullIsImmediate) {
  AdmissionController ac(static_settings(1));
  const KeyId a = ac.key("a", policy(0, 1, 2));
  const KeyId never = ac.key("never", policy(0, 1, 0));
  ASSERT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  EXPECT_EQ(request(ac, a, 0).verdict, Verdict::Queued);
  EXPECT_EQ(request(ac, a, 0).verdict, Verdict::Queued);
  const Req r = request(ac, a, 0);
  EXPECT_EQ(r.verdict, Verdict::Reject);
  EXPECT_EQ(r.reason, RejectReason::QueueFull);
  const Req n = request(ac, never, 0);  // max_queue 0: never waits
  EXPECT_EQ(n.verdict, Verdict::Reject);
  EXPECT_EQ(n.reason, RejectReason::QueueFull);
  const Snapshot s = ac.snapshot();
  EXPECT_EQ(s.rejected[static_cast<size_t>(RejectReason::QueueFull)], 2u);
  EXPECT_EQ(s.keys[a].counters.rejected[static_cast<size_t>(RejectReason::QueueFull)], 1u);
}

TEST(AdmissionBasics, TimeoutExactlyAtTheDeadline) {
  AdmissionController ac(static_settings(1));
  const KeyId a = ac.key("a", policy(0, 1, 64, 100));
  ASSERT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  const Req r = request(ac, a, 7 * kMs);
  ASSERT_EQ(r.verdict, Verdict::Queued);
  EXPECT_EQ(ac.next_deadline_us(), 107 * kMs);
  EXPECT_TRUE(poll(ac, 107 * kMs - 1).empty());
  const auto out = poll(ac, 107 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].admitted);
  EXPECT_EQ(out[0].reason, RejectReason::Timeout);
  EXPECT_EQ(out[0].ticket, r.ticket);
  EXPECT_EQ(out[0].waited_us, 100 * kMs);
  EXPECT_EQ(ac.queued(), 0u);
  EXPECT_EQ(ac.next_deadline_us(), UINT64_MAX);
}

TEST(AdmissionBasics, CancelWithdrawsATicket) {
  AdmissionController ac(static_settings(1));
  const KeyId a = ac.key("a", policy());
  ASSERT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  const Req first = request(ac, a, 1);
  const Req second = request(ac, a, 2);
  ac.cancel(first.ticket, 3);
  ac.cancel(first.ticket, 3);  // twice is harmless
  EXPECT_EQ(ac.queued(), 1u);
  ac.finish(a, 10);
  const auto out = poll(ac, 10);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ticket, second.ticket);
  ac.cancel(second.ticket, 11);  // already admitted: nothing to withdraw
  const Snapshot s = ac.snapshot();
  EXPECT_EQ(s.keys[a].counters.cancelled, 1u);
  EXPECT_EQ(s.cancelled, 1u);
  EXPECT_EQ(s.running, 1u);
}

TEST(AdmissionFairness, FreedSlotGoesToTheKeyFurthestBelowItsShare) {
  AdmissionController ac(static_settings(1));
  const KeyId a = ac.key("a", policy());
  const KeyId b = ac.key("b", policy());
  ASSERT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  const TicketId a1 = request(ac, a, 1).ticket;
  const TicketId a2 = request(ac, a, 2).ticket;
  const TicketId b1 = request(ac, b, 3).ticket;
  std::vector<TicketId> order;
  for (int i = 0; i < 3; ++i) {
    ac.finish(order.empty() ? a : (order.back() == b1 ? b : a), 10 + i);
    for (const Outcome& o : poll(ac, 10 + i)) order.push_back(o.ticket);
  }
  EXPECT_EQ(order, (std::vector<TicketId>{b1, a1, a2}));
}

// Runs a backlogged contest on a limit-1 database: each round one finish,
// one admission; the queues are topped up so every key stays backlogged.
std::vector<int> contest(AdmissionController& ac, const std::vector<KeyId>& keys, int rounds,
                         uint64_t& now, KeyId& running_key) {
  std::vector<int> wins(keys.size());
  for (int i = 0; i < rounds; ++i) {
    for (KeyId k : keys) {
      while (ac.snapshot().keys[k].queued_now < 3) (void)request(ac, k, now);
    }
    now += kMs;
    ac.finish(running_key, now);
    const auto out = poll(ac, now);
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) break;
    running_key = out[0].key;
    ++wins[std::find(keys.begin(), keys.end(), out[0].key) - keys.begin()];
  }
  return wins;
}

TEST(AdmissionFairness, WeightsShareAdmissionsUnderContention) {
  Settings s = static_settings(1);
  s.codel_target_ms = 1'000'000;  // no shedding here
  AdmissionController ac(s);
  const KeyId heavy = ac.key("heavy", policy(0, 2, 64, 1'000'000));
  const KeyId light = ac.key("light", policy(0, 1, 64, 1'000'000));
  uint64_t now = 0;
  ASSERT_EQ(request(ac, light, now).verdict, Verdict::Admit);
  KeyId running_key = light;
  const auto wins = contest(ac, {heavy, light}, 300, now, running_key);
  EXPECT_NEAR(wins[0], 200, 2);
  EXPECT_NEAR(wins[1], 100, 2);
}

TEST(AdmissionFairness, WorkConservingUpToTheKeysOwnLimit) {
  AdmissionController ac(static_settings(4));
  const KeyId alone = ac.key("alone", policy());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(request(ac, alone, 0).verdict, Verdict::Admit);
  EXPECT_EQ(request(ac, alone, 0).verdict, Verdict::Queued);

  AdmissionController ac2(static_settings(4));
  const KeyId capped = ac2.key("capped", policy(2));
  const KeyId other = ac2.key("other", policy());
  EXPECT_EQ(request(ac2, capped, 0).verdict, Verdict::Admit);
  EXPECT_EQ(request(ac2, capped, 0).verdict, Verdict::Admit);
  EXPECT_EQ(request(ac2, capped, 0).verdict, Verdict::Queued);
  // The capped key's waiter does not hold the two free slots.
  EXPECT_EQ(ac2.next_deadline_us(), 1000 * kMs);  // its timeout, not "now"
  EXPECT_EQ(request(ac2, other, 0).verdict, Verdict::Admit);
  EXPECT_EQ(request(ac2, other, 0).verdict, Verdict::Admit);
  EXPECT_EQ(request(ac2, other, 0).verdict, Verdict::Queued);
}

// A limit-1 database with no shedding and no timeouts in reach, where key
// `first` has run alone for `solo_rounds` contest rounds (1 ms each) before
// key `second` shows up.
struct SecondKeyArrives {
  explicit SecondKeyArrives(int solo_rounds) : ac(no_shedding()) {
    first = ac.key("first", policy(0, 1, 64, 1'000'000));
    second = ac.key("second", policy(0, 1, 64, 1'000'000));
    EXPECT_EQ(request(ac, first, now).verdict, Verdict::Admit);
    running_key = first;
    (void)contest(ac, {first}, solo_rounds, now, running_key);
  }
  static Settings no_shedding() {
    Settings s = static_settings(1);
    s.codel_target_ms = 1'000'000;
    return s;
  }

  AdmissionController ac;
  KeyId first = 0;
  KeyId second = 0;
  uint64_t now = 0;
  KeyId running_key = 0;
};

TEST(AdmissionFairness, IdleKeyDoesNotBankCredit) {
  // 200 admissions for `first` alone, some by waiting, some at once.
  SecondKeyArrives t(200);
  // Now `second` wakes up: it gets its turn at once and, being light
  // (admitted below its share), its admissions of credit; then the two
  // alternate. It does not get 200 in a row.
  const auto wins = contest(t.ac, {t.first, t.second}, 40, t.now, t.running_key);
  EXPECT_GE(wins[1], 20);
  EXPECT_LE(wins[1], 20 + static_cast<int>(FairQueue::kLightCredit));
}

// A quiet key's burst goes ahead of a flooding key's waiters: the quiet key
// is light and has credit, the flooding key is over its share and has none.
// Plain SFQ would interleave them (quiet, flood, quiet, flood, quiet).
TEST(AdmissionFairness, QuietKeysBurstGoesAheadOfTheFloodingKey) {
  // The flooding key alone, 1000/s for 2 s: well over half of the database.
  SecondKeyArrives t(2000);
  const KeyId flood = t.first;
  const KeyId quiet = t.second;
  // A burst of 3 from the quiet key while `flood` has 3 waiting.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(request(t.ac, quiet, t.now).verdict, Verdict::Queued);
  while (t.ac.snapshot().keys[flood].queued_now < 3) (void)request(t.ac, flood, t.now);
  std::vector<KeyId> order;
  for (int i = 0; i < 4; ++i) {
    t.now += kMs;
    t.ac.finish(t.running_key, t.now);
    const auto out = poll(t.ac, t.now);
    ASSERT_EQ(out.size(), 1u);
    t.running_key = out[0].key;
    order.push_back(out[0].key);
  }
  EXPECT_EQ(order, (std::vector<KeyId>{quiet, quiet, quiet, flood}));
}

TEST(AdmissionLimits, StaticModeNeverExceedsTheLimit) {
  AdmissionController ac(static_settings(5));
  std::vector<KeyId> keys;
  for (int i = 0; i < 4; ++i) keys.push_back(ac.key("k" + std::to_string(i), policy(i == 0 ? 2 : 0)));
  std::mt19937_64 rng(1);
  std::deque<KeyId> running;
  std::vector<TicketId> waiting;
  uint64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    now += rng() % 500;
    const uint64_t dice = rng() % 10;
    if (dice < 5) {
      const KeyId k = keys[rng() % keys.size()];
      const Req r = request(ac, k, now);
      if (r.verdict == Verdict::Admit) running.push_back(k);
      if (r.verdict == Verdict::Queued) waiting.push_back(r.ticket);
    } else if (dice < 9 && !running.empty()) {
      ac.finish(running.front(), now);
      running.pop_front();
    } else if (!waiting.empty()) {
      ac.cancel(waiting[rng() % waiting.size()], now);
    }
    for (const Outcome& o : poll(ac, now)) {
      if (o.admitted) running.push_back(o.key);
    }
    ASSERT_LE(ac.running(), 5u);
    ASSERT_EQ(ac.running(), running.size());
    ASSERT_LE(std::count(running.begin(), running.end(), keys[0]), 2);
  }
  // Counters add up for every key.
  const Snapshot s = ac.snapshot();
  uint64_t requests = 0, admitted = 0;
  for (const KeySnapshot& k : s.keys) {
    EXPECT_EQ(k.counters.requests,
              k.counters.admitted + total_rejected(k.counters) + k.queued_now + k.counters.cancelled);
    EXPECT_EQ(k.running, k.counters.admitted - k.counters.finished);
    EXPECT_LE(k.counters.queued, k.counters.requests);
    requests += k.counters.requests;
    admitted += k.counters.admitted;
  }
  EXPECT_EQ(s.requests, requests);
  EXPECT_EQ(s.admitted, admitted);
  uint64_t rejected = 0;
  for (uint64_t r : s.rejected) rejected += r;
  EXPECT_EQ(s.requests, s.admitted + rejected + s.queued + s.cancelled);
}

TEST(AdmissionLimits, LoweringTheLimitKeepsRunningWork) {
  AdmissionController ac(static_settings(4));
  const KeyId a = ac.key("a", policy());
  for (int i = 0; i < 4; ++i) ASSERT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  ac.set_settings(static_settings(2));
  EXPECT_EQ(ac.limit(), 2u);
  EXPECT_EQ(ac.running(), 4u);
  const Req r = request(ac, a, 1);
  EXPECT_EQ(r.verdict, Verdict::Queued);
  ac.finish(a, 2);
  ac.finish(a, 2);
  EXPECT_TRUE(poll(ac, 2).empty());  // 2 running: at the new limit
  ac.finish(a, 3);
  EXPECT_EQ(poll(ac, 3).size(), 1u);
}

TEST(AdmissionDeadlines, NextDeadlineTracksWhatPollWouldDo) {
  AdmissionController ac(static_settings(1));
  const KeyId a = ac.key("a", policy(0, 1, 64, 50));
  const KeyId b = ac.key("b", policy(0, 1, 64, 30));
  EXPECT_EQ(ac.next_deadline_us(), UINT64_MAX);
  ASSERT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  EXPECT_EQ(ac.next_deadline_us(), UINT64_MAX);  // nothing waits
  ASSERT_EQ(request(ac, a, 10 * kMs).verdict, Verdict::Queued);
  EXPECT_EQ(ac.next_deadline_us(), 60 * kMs);
  ASSERT_EQ(request(ac, b, 20 * kMs).verdict, Verdict::Queued);
  EXPECT_EQ(ac.next_deadline_us(), 50 * kMs);  // b's is earlier
  ac.finish(a, 25 * kMs);
  EXPECT_EQ(ac.next_deadline_us(), 0u);  // a free slot and a waiter: poll now
  const auto out = poll(ac, 25 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, b);  // b has not run yet: furthest below its share
  EXPECT_EQ(ac.next_deadline_us(), 60 * kMs);
}

TEST(RecentMax, HoldsTheLargestValueForOneToTwoWindows) {
  RecentMax m;
  const uint64_t w = 100 * kMs;
  EXPECT_EQ(m.get(0, w), 0);
  m.add(10 * kMs, 3, w);
  m.add(20 * kMs, 1, w);
  EXPECT_EQ(m.get(50 * kMs, w), 3);
  m.add(150 * kMs, 2, w);  // next window: the 3 is still recent
  EXPECT_EQ(m.get(150 * kMs, w), 3);
  EXPECT_EQ(m.get(250 * kMs, w), 2);  // the 3 has aged out, the 2 not yet
  EXPECT_EQ(m.get(350 * kMs, w), 0);  // both gone
  m.add(520 * kMs, 4, w);  // after a gap, nothing old survives
  EXPECT_EQ(m.get(520 * kMs, w), 4);
  m.add(530 * kMs, 1, w);
  EXPECT_EQ(m.get(530 * kMs, w), 4);
}

}  // namespace
}  // namespace pgs::admission
