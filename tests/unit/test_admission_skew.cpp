// Skew alerts under a fake clock: the skewed-balancer pattern raises one
// within the configured time, even load never does, and alerts clear.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/admission/skew.h"

namespace pgs::admission {
namespace {

constexpr uint64_t kSec = 1'000'000;

struct SkewRun {
  SkewDetector d;
  SkewDetector::Settings s;
  std::vector<SkewDetector::Event> events;
  // Feeds the same demand every 200 ms from `from` to `to` (seconds).
  void feed(double from, double to, const std::vector<KeyDemand>& keys) {
    for (double t = from; t <= to + 1e-9; t += 0.2) d.update(static_cast<uint64_t>(t * kSec), keys, s, events);
  }
};

TEST(SkewDetector, SkewedBalancerRaisesAfterTheConfiguredTime) {
  SkewRun r;
  r.s.factor = 2.0;
  r.s.for_us = 5 * kSec;
  // One key at 3x capacity, three at 0.1x (capacity ~300/s).
  std::vector<KeyDemand> keys = {{"app1", 900, 1}, {"app2", 30, 1}, {"app3", 30, 1}, {"app4", 30, 1}};
  r.feed(0, 4.8, keys);
  EXPECT_TRUE(r.events.empty());
  r.feed(5.0, 5.2, keys);
  ASSERT_EQ(r.events.size(), 1u);
  const auto& e = r.events[0];
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.alert.key, "app1");
  EXPECT_NEAR(e.alert.demand_share, 900.0 / 990.0, 1e-9);
  EXPECT_NEAR(e.alert.fair_share, 0.25, 1e-9);
  EXPECT_GT(e.alert.factor, 3.5);
  EXPECT_TRUE(r.d.active("app1"));
  EXPECT_FALSE(r.d.active("app2"));
  ASSERT_EQ(r.d.alerts().size(), 1u);
}

TEST(SkewDetector, EvenLoadNeverAlerts) {
  SkewRun r;
  std::vector<KeyDemand> keys = {{"a", 230, 1}, {"b", 220, 1}, {"c", 240, 1}, {"d", 225, 1}};
  r.feed(0, 60, keys);
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.d.alerts().empty());
}

TEST(SkewDetector, WeightsDefineTheFairShare) {
  SkewRun r;
  // b has weight 4: 80% of the demand is its fair share, no alert.
  std::vector<KeyDemand> keys = {{"a", 100, 1}, {"b", 400, 4}};
  r.feed(0, 30, keys);
  EXPECT_TRUE(r.events.empty());
}

TEST(SkewDetector, ABurstShorterThanTheWindowDoesNotAlert) {
  SkewRun r;
  std::vector<KeyDemand> even = {{"a", 100, 1}, {"b", 100, 1}, {"c", 100, 1}};
  std::vector<KeyDemand> burst = {{"a", 2000, 1}, {"b", 100, 1}, {"c", 100, 1}};
  r.feed(0, 10, even);
  r.feed(10.2, 14, burst);
  r.feed(14.2, 30, even);
  EXPECT_TRUE(r.events.empty());
}

TEST(SkewDetector, ClearsWhenThePatternEndsAndKeepsTheRecord) {
  SkewRun r;
  std::vector<KeyDemand> skewed = {{"a", 1000, 1}, {"b", 10, 1}, {"c", 10, 1}};
  std::vector<KeyDemand> even = {{"a", 100, 1}, {"b", 100, 1}, {"c", 100, 1}};
  r.feed(0, 6, skewed);
  ASSERT_EQ(r.events.size(), 1u);
  r.feed(6.2, 10.8, even);
  EXPECT_EQ(r.events.size(), 1u);  // not yet: below for less than for_us
  r.feed(11.0, 11.4, even);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_FALSE(r.events[1].raised);
  EXPECT_EQ(r.events[1].alert.key, "a");
  EXPECT_FALSE(r.d.active("a"));
  auto alerts = r.d.alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_FALSE(alerts[0].active);
  EXPECT_GT(alerts[0].cleared_us, alerts[0].since_us);
}

TEST(SkewDetector, QuietDatabaseAndLoneKeyAreNoSkew) {
  SkewRun r;
  r.s.min_rate = 20;
  // Below min_rate in total: a few queries are no pattern.
  r.feed(0, 20, {{"a", 15, 1}, {"b", 0.6, 1}});
  // A key alone is exactly its fair share.
  r.feed(20.2, 40, {{"a", 5000, 1}});
  // Idle keys (decayed rates) do not dilute the fair share.
  r.feed(40.2, 60, {{"a", 5000, 1}, {"b", 0.01, 1}, {"c", 0.2, 1}});
  EXPECT_TRUE(r.events.empty());
}

TEST(SkewDetector, AnAlertedKeyThatVanishesClears) {
  SkewRun r;
  r.feed(0, 6, {{"a", 1000, 1}, {"b", 10, 1}, {"c", 10, 1}});
  ASSERT_TRUE(r.d.active("a"));
  r.feed(6.2, 12, {{"b", 10, 1}, {"c", 10, 1}});
  EXPECT_FALSE(r.d.active("a"));
  ASSERT_EQ(r.events.size(), 2u);
}

}  // namespace
}  // namespace pgs::admission
