#include "proxy/admin/format.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace pgs::admin {

std::string format_decimal(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%.3f", v);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return format_shortest(v);  // |v| > ~1e59
  std::string s(buf, static_cast<size_t>(n));
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string format_shortest(double v, bool fixed) {
  char buf[400];  // fixed notation of DBL_MAX needs 309 digits
  const auto r = fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string format_utc_time(uint64_t unix_us) {
  const auto secs = static_cast<std::time_t>(unix_us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return std::string(buf, n);
}

std::string format_hex_id(uint64_t id) {
  char buf[24];
  const int n = std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(id));
  return std::string(buf, static_cast<size_t>(n));
}

namespace {

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not
// one (overlong forms, surrogates and code points past U+10FFFF are invalid).
size_t utf8_sequence_length(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (size_t i = 2; i < len; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  }
  return len;
}

}  // namespace

void append_valid_utf8(std::string& out, std::string_view s) {
  while (!s.empty()) {
    const size_t len = utf8_sequence_length(s);
    if (len == 0) {
      out.append("\xEF\xBF\xBD");  // U+FFFD for one bad byte, then resynchronise
      s.remove_prefix(1);
      continue;
    }
    out.append(s.substr(0, len));
    s.remove_prefix(len);
  }
}

double total_demand(const admission::Snapshot& db) {
  double sum = 0;
  for (const admission::KeySnapshot& k : db.keys) sum += k.demand_rate;
  return sum;
}

KeyConnections count_key_connections(const Status& s) {
  KeyConnections counts;
  for (const ConnectionStatus& c : s.clients) ++counts[{c.database, c.client_key}];
  return counts;
}

uint64_t key_connections(const KeyConnections& counts, std::string_view database,
                         std::string_view key) {
  const auto it = counts.find({database, key});
  return it == counts.end() ? 0 : it->second;
}

}  // namespace pgs::admin
