#include "proxy/log_limiter.h"

namespace pgs {

LogLimiter::Decision LogLimiter::note(std::string_view a, std::string_view b, std::string_view c,
                                      uint64_t now_ms) {
  if (now_ms < window_start_ms_ || now_ms - window_start_ms_ >= options_.interval_ms) {
    window_start_ms_ = now_ms;
    lines_in_window_ = 0;
  }
  View view{a, b, c};
  auto it = entries_.find(view);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_keys) entries_.clear();
    it = entries_.emplace(Key{std::string(a), std::string(b), std::string(c)}, Entry{}).first;
  }
  Entry& e = it->second;
  ++e.total;
  bool due = !e.logged || now_ms < e.last_line_ms || now_ms - e.last_line_ms >= options_.interval_ms;
  Decision d;
  d.total = e.total;
  if (due && lines_in_window_ < options_.max_lines_per_interval) {
    d.log = true;
    d.suppressed = e.suppressed;
    e.suppressed = 0;
    e.logged = true;
    e.last_line_ms = now_ms;
    ++lines_in_window_;
  } else {
    ++e.suppressed;
  }
  return d;
}

}  // namespace pgs
