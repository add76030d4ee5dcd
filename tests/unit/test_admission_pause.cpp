// PAUSE in the admission policy, and the histograms it keeps for the admin
// console: pure, under a fake clock.
#include <gtest/gtest.h>

#include "proxy/admission/admission.h"
#include "proxy/admission/histogram.h"
#include "tests/unit/test_admission_util.h"

namespace pgs::admission {
namespace {

using namespace pgs::admission::test;  // NOLINT: test helpers

TEST(AdmissionPause, PausedAdmitsNothingAndResumesInOrder) {
  AdmissionController ac(static_settings(4));
  const KeyId a = ac.key("a", policy());
  EXPECT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  ac.set_paused(true, 1 * kMs);
  EXPECT_TRUE(ac.paused());
  const Req q1 = request(ac, a, 2 * kMs);
  const Req q2 = request(ac, a, 3 * kMs);
  EXPECT_EQ(q1.verdict, Verdict::Queued);
  EXPECT_EQ(q2.verdict, Verdict::Queued);
  ac.finish(a, 4 * kMs);  // a running transaction still finishes
  EXPECT_TRUE(poll(ac, 5 * kMs).empty());
  EXPECT_EQ(ac.snapshot().running, 0u);
  EXPECT_TRUE(ac.snapshot().paused);
  ac.set_paused(false, 6 * kMs);
  const auto out = poll(ac, 6 * kMs);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].ticket, q1.ticket);
  EXPECT_TRUE(out[0].admitted);
  EXPECT_EQ(out[1].ticket, q2.ticket);
  EXPECT_TRUE(out[1].admitted);
}

TEST(AdmissionPause, WaitBeyondTheTimeoutIsRejectedAsPaused) {
  AdmissionController ac(static_settings(4));
  const KeyId a = ac.key("a", policy(/*max_concurrency=*/0, /*weight=*/1, /*max_queue=*/8, /*timeout_ms=*/100));
  ac.set_paused(true, 0);
  const Req q = request(ac, a, 0);
  ASSERT_EQ(q.verdict, Verdict::Queued);
  EXPECT_EQ(ac.next_deadline_us(), 100 * kMs);  // only the deadline: nothing can be admitted
  const auto out = poll(ac, 100 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].admitted);
  EXPECT_EQ(out[0].reason, RejectReason::Paused);
  const Snapshot s = ac.snapshot();
  EXPECT_EQ(s.rejected[static_cast<size_t>(RejectReason::Paused)], 1u);
  EXPECT_EQ(s.reject_wait.count(), 1u);
  EXPECT_EQ(s.reject_wait.percentile_us(1.0), 100 * kMs);
}

TEST(AdmissionHistograms, WaitsAndLatencyAreRecorded) {
  AdmissionController ac(static_settings(1));
  const KeyId a = ac.key("a", policy());
  EXPECT_EQ(request(ac, a, 0).verdict, Verdict::Admit);
  EXPECT_EQ(request(ac, a, 0).verdict, Verdict::Queued);
  ac.record_sample(3 * kMs, false, 3 * kMs);
  ac.finish(a, 3 * kMs);
  ASSERT_EQ(poll(ac, 3 * kMs).size(), 1u);
  const Snapshot s = ac.snapshot();
  EXPECT_EQ(s.wait.count(), 2u);
  EXPECT_LE(s.wait.percentile_us(0.5), 100u);  // the first one started at once: lowest bucket
  EXPECT_EQ(s.wait.sum_us(), 3 * kMs);
  EXPECT_EQ(s.latency.count(), 1u);
  EXPECT_EQ(s.latency.sum_us(), 3 * kMs);
  ASSERT_EQ(s.keys.size(), 1u);
  EXPECT_EQ(s.keys[0].counters.wait.count(), 2u);
}

TEST(Histogram, BucketsAndPercentiles) {
  Histogram h;
  EXPECT_EQ(h.percentile_us(0.99), 0u);
  for (int i = 0; i < 90; ++i) h.record(800);    // (500, 1000]
  for (int i = 0; i < 10; ++i) h.record(40000);  // (25000, 50000]
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.bucket(3), 90u);
  EXPECT_EQ(h.bucket(8), 10u);
  uint64_t p50 = h.percentile_us(0.5);
  EXPECT_GT(p50, 500u);
  EXPECT_LE(p50, 1000u);
  uint64_t p99 = h.percentile_us(0.99);
  EXPECT_GT(p99, 25000u);
  EXPECT_LE(p99, 50000u);
  h.record(60'000'000);  // beyond the last bound
  EXPECT_EQ(h.bucket(Histogram::kBuckets - 1), 1u);
  EXPECT_EQ(h.percentile_us(1.0), Histogram::kBoundsUs.back());
  Histogram g;
  g.merge(h);
  EXPECT_EQ(g.count(), 101u);
  EXPECT_EQ(g.sum_us(), h.sum_us());
}

}  // namespace
}  // namespace pgs::admission
