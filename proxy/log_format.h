// One log line in each [proxy] log_format, written into a caller's buffer:
// pure (no clock, no globals, no allocation), so tests check the exact text.
// log.cpp adds the time and writes the line to stderr.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/config.h"

namespace pgs {

using config::LogFormat;
using config::LogLevel;

// One key=value of an event. Holds views: what it refers to must outlive the
// log call (it always does for `LOG_EVENT(..., {{"key", value}, ...})`).
class LogField {
 public:
  enum class Kind : uint8_t { Text, Signed, Unsigned, Real, Boolean };

  LogField() : kind_(Kind::Text) {}
  LogField(std::string_view key, std::string_view text) : key_(key), text_(text), kind_(Kind::Text) {}
  LogField(std::string_view key, const char* text) : LogField(key, std::string_view(text != nullptr ? text : "")) {}
  LogField(std::string_view key, const std::string& text) : LogField(key, std::string_view(text)) {}
  template <std::signed_integral T>
  LogField(std::string_view key, T v) : key_(key), signed_(v), kind_(Kind::Signed) {}
  template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>)
  LogField(std::string_view key, T v) : key_(key), unsigned_(v), kind_(Kind::Unsigned) {}
  LogField(std::string_view key, double v) : key_(key), real_(v), kind_(Kind::Real) {}
  LogField(std::string_view key, bool v) : key_(key), unsigned_(v ? 1 : 0), kind_(Kind::Boolean) {}

  std::string_view key() const { return key_; }
  Kind kind() const { return kind_; }
  std::string_view text() const { return text_; }
  int64_t signed_value() const { return signed_; }
  uint64_t unsigned_value() const { return unsigned_; }
  double real_value() const { return real_; }

 private:
  std::string_view key_;
  std::string_view text_;
  union {
    int64_t signed_;
    uint64_t unsigned_ = 0;
    double real_;
  };
  Kind kind_;
};

// The shortest buffer format_log_line accepts.
constexpr size_t kMinLogLine = 128;

// Writes one line, its newline included, into out[0, cap) and returns its
// length. cap >= kMinLogLine. A line that does not fit is cut inside a value
// (marked "...") or before a field, and stays well formed: one line, valid
// JSON. Text that is not valid UTF-8 comes out with U+FFFD in its place in
// logfmt and JSON; control characters are escaped there (\n, \u0001).
//   logfmt: ts=2026-11-25T14:31:08.123Z level=info msg="a b" key=value ...
//           (a value is quoted when empty or holding spaces, quotes, =, \ or
//           control characters)
//   json:   {"ts":"2026-11-25T14:31:08.123Z","level":"info","msg":"a b","key":"value",...}
//           (numbers and booleans unquoted)
//   text:   2026-11-25T14:31:08.123Z INFO  a b key=value ...
size_t format_log_line(char* out, size_t cap, LogFormat format, LogLevel level, int64_t unix_ms,
                       std::string_view msg, std::span<const LogField> fields);

}  // namespace pgs
