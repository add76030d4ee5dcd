#include "proxy/log_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace pgs {
namespace {

// Room kept back for what closes a cut line: `..."}` and the newline.
constexpr size_t kReserve = 8;

const char* level_word(LogLevel l) { return config::to_string(l); }  // "info"

const char* level_upper(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "DEBUG";
    case LogLevel::Info: return "INFO";
    case LogLevel::Warn: return "WARN";
    case LogLevel::Error: return "ERROR";
  }
  return "?";
}

// The length of the valid UTF-8 sequence at s[i], or 0 when the byte there
// does not start one (stray continuation, overlong form, surrogate, past
// U+10FFFF, cut short).
size_t utf8_length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = at(i);
  if (b < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (at(i + k) < 0x80 || at(i + k) > 0xbf) return 0;
  return n;
}

// Appends to a fixed buffer; a piece that does not fit is not written at
// all, and the line is full from then on.
class LineWriter {
 public:
  LineWriter(char* out, size_t cap) : out_(out), limit_(cap - kReserve) {}

  bool put(std::string_view s) {
    if (full_ || len_ + s.size() > limit_) {
      full_ = true;
      return false;
    }
    for (char c : s) out_[len_++] = c;
    return true;
  }
  bool put(char c) { return put(std::string_view(&c, 1)); }
  // Past the limit, into the reserve: only for closing a cut line.
  void close(std::string_view s) {
    for (char c : s) out_[len_++] = c;
  }
  bool full() const { return full_; }
  size_t size() const { return len_; }
  void rewind(size_t len) { len_ = len; }

 private:
  char* out_;
  size_t limit_;
  size_t len_ = 0;
  bool full_ = false;
};

constexpr char kHex[] = "0123456789abcdef";

// One character of a quoted value, escaped for JSON or logfmt (which reads
// escapes as Go's strconv.Unquote does). Returns the bytes consumed.
size_t put_escaped_char(LineWriter& w, std::string_view s, size_t i) {
  char c = s[i];
  auto u = static_cast<unsigned char>(c);
  switch (c) {
    case '"': w.put("\\\""); return 1;
    case '\\': w.put("\\\\"); return 1;
    case '\n': w.put("\\n"); return 1;
    case '\r': w.put("\\r"); return 1;
    case '\t': w.put("\\t"); return 1;
    default: break;
  }
  if (u < 0x20 || u == 0x7f) {
    char e[6] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
    w.put(std::string_view(e, 6));
    return 1;
  }
  size_t n = utf8_length(s, i);
  if (n == 0) {
    w.put("\\ufffd");
    return 1;
  }
  w.put(s.substr(i, n));  // never split: the whole sequence or nothing
  return n;
}

void put_quoted(LineWriter& w, std::string_view s) {
  if (!w.put('"')) {
    w.close("\"...\"");
    return;
  }
  for (size_t i = 0; i < s.size() && !w.full();) i += put_escaped_char(w, s, i);
  w.close(w.full() ? "...\"" : "\"");
}

bool logfmt_needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (size_t i = 0; i < s.size();) {
    auto u = static_cast<unsigned char>(s[i]);
    if (u <= 0x20 || u == '"' || u == '=' || u == '\\' || u == 0x7f) return true;
    size_t n = utf8_length(s, i);
    if (n == 0) return true;
    i += n;
  }
  return false;
}

void put_logfmt_value(LineWriter& w, std::string_view s) {
  if (logfmt_needs_quotes(s)) {
    put_quoted(w, s);
    return;
  }
  for (size_t i = 0; i < s.size() && !w.full();) {
    size_t n = utf8_length(s, i);
    w.put(s.substr(i, n));
    i += n;
  }
  if (w.full()) w.close("...");
}

// The text format keeps the message as it was, newlines folded.
void put_raw_folded(LineWriter& w, std::string_view s) {
  for (char c : s) {
    if (!w.put(c == '\n' || c == '\r' ? ' ' : c)) {
      w.close("...");
      return;
    }
  }
}

// A number or boolean as text; "" for Text fields.
std::string_view scalar_text(const LogField& f, char (&buf)[32]) {
  char* end = buf;
  switch (f.kind()) {
    case LogField::Kind::Text: return {};
    case LogField::Kind::Signed: end = std::to_chars(buf, buf + sizeof buf, f.signed_value()).ptr; break;
    case LogField::Kind::Unsigned: end = std::to_chars(buf, buf + sizeof buf, f.unsigned_value()).ptr; break;
    case LogField::Kind::Boolean: return f.unsigned_value() != 0 ? "true" : "false";
    case LogField::Kind::Real: {
      double v = f.real_value();
      if (std::isnan(v)) return "nan";
      if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
      end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 3).ptr;
      // 12.500 -> 12.5, 3.000 -> 3
      while (end > buf && end[-1] == '0') --end;
      if (end > buf && end[-1] == '.') --end;
      break;
    }
  }
  return {buf, static_cast<size_t>(end - buf)};
}

// A field whose key does not fit is left out whole.
void put_field(LineWriter& w, LogFormat format, const LogField& f) {
  if (w.full()) return;
  size_t start = w.size();
  char buf[32];
  std::string_view scalar = scalar_text(f, buf);
  bool text = f.kind() == LogField::Kind::Text;
  if (format == LogFormat::Json) {
    // Keys come from code, but are escaped all the same.
    bool ok = w.put(',');
    if (ok) {
      put_quoted(w, f.key());
      ok = !w.full() && w.put(':');
    }
    // nan and inf are no JSON numbers.
    bool as_string = text || scalar == "nan" || scalar == "inf" || scalar == "-inf";
    if (ok && !as_string) ok = w.put(scalar);
    if (ok && as_string) ok = w.put('"');  // at least the opening quote, or nothing
    if (!ok) {
      w.rewind(start);
      return;
    }
    w.rewind(w.size() - (as_string ? 1 : 0));
    if (as_string) put_quoted(w, text ? f.text() : scalar);
    return;
  }
  if (!w.put(' ') || !w.put(f.key()) || !w.put('=')) {
    w.rewind(start);
    return;
  }
  put_logfmt_value(w, text ? f.text() : scalar);
}

void put_time(LineWriter& w, int64_t unix_ms) {
  time_t secs = static_cast<time_t>(unix_ms / 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1,
                        t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(unix_ms % 1000));
  w.put(std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0));
}

}  // namespace

size_t format_log_line(char* out, size_t cap, LogFormat format, LogLevel level, int64_t unix_ms,
                       std::string_view msg, std::span<const LogField> fields) {
  LineWriter w(out, cap);
  switch (format) {
    case LogFormat::Json:
      w.put("{\"ts\":\"");
      put_time(w, unix_ms);
      w.put("\",\"level\":\"");
      w.put(level_word(level));
      w.put("\",\"msg\":");
      put_quoted(w, msg);
      break;
    case LogFormat::Logfmt:
      w.put("ts=");
      put_time(w, unix_ms);
      w.put(" level=");
      w.put(level_word(level));
      w.put(" msg=");
      put_logfmt_value(w, msg);
      break;
    case LogFormat::Text: {
      put_time(w, unix_ms);
      char lvl[8];
      int n = std::snprintf(lvl, sizeof lvl, " %-5s ", level_upper(level));
      w.put(std::string_view(lvl, n > 0 ? static_cast<size_t>(n) : 0));
      put_raw_folded(w, msg);
      break;
    }
  }
  for (const LogField& f : fields) put_field(w, format, f);
  w.close(format == LogFormat::Json ? "}\n" : "\n");
  return w.size();
}

}  // namespace pgs
