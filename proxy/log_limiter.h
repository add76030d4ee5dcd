// Keeps a repeated event from flooding the log: at most one line per key
// (e.g. database, client key, reason) per interval, and at most a fixed
// number of lines per interval over all keys. What it holds back is counted
// and reported on the key's next line (suppressed=N), with the key's total.
//
// Pure: the caller passes a monotonic now_ms; tests drive it with a fake
// clock. Memory is bounded: past max_keys distinct keys the table starts
// over (totals restart from the next event).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

namespace pgs {

class LogLimiter {
 public:
  struct Options {
    uint64_t interval_ms = 1000;
    uint32_t max_lines_per_interval = 50;  // over all keys
    size_t max_keys = 10000;
  };

  struct Decision {
    bool log = false;
    uint64_t suppressed = 0;  // when log: events of this key held back since its last line
    uint64_t total = 0;       // events of this key so far, this one included
  };

  LogLimiter() : LogLimiter(Options{}) {}
  explicit LogLimiter(Options options) : options_(options) {}

  // One event of key (a, b, c) at now_ms: log a line for it or not.
  Decision note(std::string_view a, std::string_view b, std::string_view c, uint64_t now_ms);

  size_t keys() const { return entries_.size(); }

 private:
  using View = std::tuple<std::string_view, std::string_view, std::string_view>;
  struct Key {
    std::string a, b, c;
    View view() const { return {a, b, c}; }
  };
  struct Less {
    using is_transparent = void;
    static View v(const Key& k) { return k.view(); }
    static const View& v(const View& k) { return k; }
    template <typename L, typename R>
    bool operator()(const L& l, const R& r) const {
      return v(l) < v(r);
    }
  };
  struct Entry {
    bool logged = false;  // a line was written for this key
    uint64_t last_line_ms = 0;
    uint64_t suppressed = 0;
    uint64_t total = 0;
  };

  Options options_;
  std::map<Key, Entry, Less> entries_;
  uint64_t window_start_ms_ = 0;
  uint32_t lines_in_window_ = 0;
};

}  // namespace pgs
