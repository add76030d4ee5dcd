// Small conversions every admin formatter (console result sets, Prometheus
// text, JSON) shares, so the three agree on what a number or a share means.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "proxy/admin/status.h"

namespace pgs::admin {

// At most three decimals, no trailing zeros: "6.1", "8", "0.333", "-2.5".
// Non-finite values as PostgreSQL's float8 prints them: "NaN", "Infinity", "-Infinity".
std::string format_decimal(double v);

// The shortest text that reads back as the same double ("0.1", "1e-05",
// "1234.5"); for machine consumers (Prometheus, JSON). `v` must be finite.
// `fixed`: never an exponent ("0.0001"), as histogram bucket bounds are
// conventionally written.
std::string format_shortest(double v, bool fixed = false);

// "2025-11-25 14:31:08 UTC" (PgBouncer's connect_time form, in UTC).
std::string format_utc_time(uint64_t unix_us);

// "0x1f": how SHOW CLIENTS / SERVERS print a connection id in ptr and link
// (PgBouncer prints an object address there).
std::string format_hex_id(uint64_t id);

// Appends `s` with every invalid UTF-8 sequence replaced by U+FFFD, so that
// JSON and Prometheus label values are always valid UTF-8.
void append_valid_utf8(std::string& out, std::string_view s);

inline double ms_from_us(uint64_t us) { return static_cast<double>(us) / 1000.0; }
inline double seconds_from_us(uint64_t us) { return static_cast<double>(us) / 1e6; }

inline double uptime_seconds(const Status& s) {
  return s.now_unix_us > s.started_unix_us ? seconds_from_us(s.now_unix_us - s.started_unix_us) : 0;
}

// The q-quantile of `h` in milliseconds (0 when empty).
inline double percentile_ms(const admission::Histogram& h, double q) {
  return ms_from_us(h.percentile_us(q));
}

inline uint64_t rejected_total(const uint64_t (&rejected)[admission::kRejectReasons]) {
  uint64_t sum = 0;
  for (uint64_t n : rejected) sum += n;
  return sum;
}

// The database-wide limit, or false when there is none (mode off).
inline bool has_limit(const admission::Snapshot& a) {
  return a.mode != admission::Mode::Off && a.limit != UINT32_MAX;
}

// demand_share of a key: its demand_rate over the sum of demand_rate of its
// database's keys (total_demand), 0 when that sum is 0.
double total_demand(const admission::Snapshot& db);
inline double demand_share(double demand_rate, double total) {
  return total > 0 ? demand_rate / total : 0;
}

// Client connections per (database, client key), counted once over Status.clients.
using KeyConnections = std::map<std::pair<std::string_view, std::string_view>, uint64_t>;
KeyConnections count_key_connections(const Status& s);
uint64_t key_connections(const KeyConnections& counts, std::string_view database,
                         std::string_view key);

}  // namespace pgs::admin
