// Skew alerts: one client key asking for far more than its weighted fair
// share of a database, for long enough to be a pattern rather than a burst
// (a load balancer gone wrong, a runaway job). Pure: time comes in as an
// argument; the worker feeds it every tick and logs/reports what it returns.
//
// A key's demand share is its demand rate over the database's total; its
// fair share is its weight over the weights of the keys that ask for
// anything. An alert is raised when share / fair share stays above `factor`
// for `for_us`, and clears when it has stayed at or below for as long (or
// the database's total demand has fallen below `min_rate` for as long).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pgs::admission {

struct KeyDemand {
  std::string_view name;
  double demand_rate = 0;  // requests per second, smoothed
  uint32_t weight = 1;
};

class SkewDetector {
 public:
  struct Settings {
    double factor = 2.0;
    uint64_t for_us = 5'000'000;
    double min_rate = 20;  // total requests/s below which nothing counts as skew
  };
  struct Alert {
    std::string key;
    bool active = false;
    uint64_t since_us = 0;    // raised at
    uint64_t cleared_us = 0;  // 0 while active
    double demand_share = 0;  // at the last update
    double fair_share = 0;
    double factor = 0;
  };
  // A change for the log: raised or cleared.
  struct Event {
    bool raised = false;
    Alert alert;
  };
  // A key counts as asking for something above this rate (requests/s): the
  // smoothed rates of idle keys decay towards zero but never reach it.
  static constexpr double kActiveRate = 0.5;
  static constexpr size_t kHistory = 32;  // cleared alerts kept for the record

  void update(uint64_t now_us, const std::vector<KeyDemand>& keys, const Settings& s,
              std::vector<Event>& events);

  // Active alerts, then cleared ones (most recent first).
  std::vector<Alert> alerts() const;
  bool active(std::string_view key) const;

 private:
  struct Track {
    uint64_t over_since_us = 0;   // share above the factor since (0: not over)
    uint64_t under_since_us = 0;  // at or below since, while an alert is active
    bool alerted = false;
    Alert alert;
    bool seen = false;  // in the latest update
  };
  std::map<std::string, Track, std::less<>> tracks_;
  std::vector<Alert> history_;  // cleared, oldest first
};

}  // namespace pgs::admission
