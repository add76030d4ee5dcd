#include "proxy/admission/skew.h"

#include <algorithm>

namespace pgs::admission {

void SkewDetector::update(uint64_t now_us, const std::vector<KeyDemand>& keys, const Settings& s,
                          std::vector<Event>& events) {
  double total = 0;
  double weights = 0;
  for (const KeyDemand& k : keys) {
    if (k.demand_rate < kActiveRate) continue;
    total += k.demand_rate;
    weights += std::max<uint32_t>(k.weight, 1);
  }
  const bool busy = total >= s.min_rate && total > 0;
  for (auto& [name, t] : tracks_) t.seen = false;

  auto clear = [&](Track& t) {
    t.alerted = false;
    t.alert.active = false;
    t.alert.cleared_us = now_us;
    events.push_back(Event{false, t.alert});
    history_.push_back(t.alert);
    if (history_.size() > kHistory) history_.erase(history_.begin());
  };

  for (const KeyDemand& k : keys) {
    const bool active = k.demand_rate >= kActiveRate;
    auto it = tracks_.find(k.name);
    if (it == tracks_.end()) {
      if (!active || !busy) continue;  // nothing to track for a quiet key
      it = tracks_.emplace(std::string(k.name), Track{}).first;
    }
    Track& t = it->second;
    t.seen = true;
    const double share = (busy && active) ? k.demand_rate / total : 0;
    const double fair = (busy && active) ? std::max<uint32_t>(k.weight, 1) / weights : 0;
    const double factor = fair > 0 ? share / fair : 0;
    const bool over = busy && factor > s.factor;
    if (over) {
      if (t.over_since_us == 0) t.over_since_us = now_us;
      t.under_since_us = 0;
    } else {
      t.over_since_us = 0;
      if (t.under_since_us == 0) t.under_since_us = now_us;
    }
    if (t.alerted || over) {
      t.alert.demand_share = share;
      t.alert.fair_share = fair;
      t.alert.factor = factor;
    }
    if (!t.alerted && over && now_us - t.over_since_us >= s.for_us) {
      t.alerted = true;
      t.alert = Alert{std::string(k.name), true, now_us, 0, share, fair, factor};
      events.push_back(Event{true, t.alert});
    } else if (t.alerted && !over && now_us - t.under_since_us >= s.for_us) {
      clear(t);
    }
  }
  // Keys gone from the database (or never reported again) clear too.
  for (auto it = tracks_.begin(); it != tracks_.end();) {
    Track& t = it->second;
    if (!t.seen) {
      if (t.under_since_us == 0) t.under_since_us = now_us;
      t.over_since_us = 0;
      if (t.alerted && now_us - t.under_since_us >= s.for_us) clear(t);
    }
    if (!t.alerted && t.over_since_us == 0) {
      it = tracks_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<SkewDetector::Alert> SkewDetector::alerts() const {
  std::vector<Alert> out;
  for (const auto& [name, t] : tracks_)
    if (t.alerted) out.push_back(t.alert);
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) out.push_back(*it);
  return out;
}

bool SkewDetector::active(std::string_view key) const {
  auto it = tracks_.find(key);
  return it != tracks_.end() && it->second.alerted;
}

}  // namespace pgs::admission
