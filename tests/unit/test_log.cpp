// proxy/log_format and proxy/log_limiter: the exact text of a log line in
// each format, escaping, cutting long lines, and rate limiting under a fake clock.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "proxy/log_format.h"
#include "proxy/log_limiter.h"

namespace pgs {
namespace {

// 2026-11-25T14:31:08.123Z
constexpr int64_t kTs = 1795617068123;

std::string line(LogFormat f, std::string_view msg, std::initializer_list<LogField> fields = {},
                 LogLevel level = LogLevel::Info, size_t cap = 4096) {
  std::vector<char> buf(cap);
  size_t n = format_log_line(buf.data(), cap, f, level, kTs, msg,
                             std::span<const LogField>(fields.begin(), fields.size()));
  EXPECT_LE(n, cap);
  return std::string(buf.data(), n);
}

// A small JSON checker: one object of string keys and string, number,
// true/false values, strings with only valid escapes and no raw control
// characters. Returns "" or what is wrong.
class JsonCheck {
 public:
  explicit JsonCheck(std::string_view s) : s_(s) {}
  std::string run() {
    if (!object()) return error_.empty() ? "bad object at " + std::to_string(i_) : error_;
    if (i_ != s_.size()) return "trailing bytes at " + std::to_string(i_);
    return "";
  }

 private:
  bool object() {
    if (!eat('{')) return false;
    if (eat('}')) return true;
    do {
      if (!string() || !eat(':') || !value()) return false;
    } while (eat(','));
    return eat('}');
  }
  bool value() {
    if (i_ < s_.size() && s_[i_] == '"') return string();
    for (std::string_view word : {"true", "false"})
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return true;
      }
    size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    while (i_ < s_.size() && ((s_[i_] >= '0' && s_[i_] <= '9') || s_[i_] == '.' || s_[i_] == 'e')) ++i_;
    return i_ > start;
  }
  bool string() {
    if (!eat('"')) return false;
    while (i_ < s_.size() && s_[i_] != '"') {
      auto u = static_cast<unsigned char>(s_[i_]);
      if (u < 0x20) return fail("raw control character");
      if (s_[i_] == '\\') {
        ++i_;
        if (i_ >= s_.size()) return fail("cut escape");
        char e = s_[i_];
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k)
            if (i_ + k >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_ + k]))) return fail("bad \\u");
          i_ += 4;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return fail("bad escape");
        }
      }
      ++i_;
    }
    return eat('"');
  }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool fail(const char* why) {
    error_ = std::string(why) + " at " + std::to_string(i_);
    return false;
  }
  std::string_view s_;
  size_t i_ = 0;
  std::string error_;
};

std::string json_problem(const std::string& l) {
  if (l.empty() || l.back() != '\n') return "no newline at the end";
  std::string body = l.substr(0, l.size() - 1);
  if (body.find('\n') != std::string::npos) return "a raw newline inside";
  return JsonCheck(body).run();
}

TEST(LogFormat, Logfmt) {
  EXPECT_EQ(line(LogFormat::Logfmt, "pgsluice stopped"),
            "ts=2026-11-25T14:31:08.123Z level=info msg=\"pgsluice stopped\"\n");
  EXPECT_EQ(line(LogFormat::Logfmt, "admission_reject",
                 {{"database", "bench"}, {"key", "10.0.0.5"}, {"suppressed", uint64_t{12}}, {"limit", 4u},
                  {"delta", -3}, {"ok", true}, {"latency_ms", 1.25}},
                 LogLevel::Warn),
            "ts=2026-11-25T14:31:08.123Z level=warn msg=admission_reject database=bench key=10.0.0.5 "
            "suppressed=12 limit=4 delta=-3 ok=true latency_ms=1.25\n");
}

TEST(LogFormat, LogfmtQuotesWhatNeedsIt) {
  auto value = [](std::string_view v) {
    std::string l = line(LogFormat::Logfmt, "e", {{"k", v}});
    size_t at = l.find(" k=");
    EXPECT_NE(at, std::string::npos) << l;
    return l.substr(at + 3, l.size() - at - 4);  // without the newline
  };
  EXPECT_EQ(value("plain"), "plain");
  EXPECT_EQ(value(""), "\"\"");
  EXPECT_EQ(value("two words"), "\"two words\"");
  EXPECT_EQ(value("a=b"), "\"a=b\"");
  EXPECT_EQ(value("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(value("back\\slash"), "\"back\\\\slash\"");
  EXPECT_EQ(value("line\nbreak\r\tx"), "\"line\\nbreak\\r\\tx\"");
  EXPECT_EQ(value(std::string_view("nul\0bell\a", 9)), "\"nul\\u0000bell\\u0007\"");
  EXPECT_EQ(value("caf\xc3\xa9"), "caf\xc3\xa9");          // valid UTF-8 stays as it is
  EXPECT_EQ(value("bad\xff"), "\"bad\\ufffd\"");           // invalid bytes are replaced
  EXPECT_EQ(value("/tmp/x.toml:3:1"), "/tmp/x.toml:3:1");
}

TEST(LogFormat, Json) {
  EXPECT_EQ(line(LogFormat::Json, "config_reloaded", {{"path", "/etc/p.toml"}, {"problems", size_t{0}}}),
            "{\"ts\":\"2026-11-25T14:31:08.123Z\",\"level\":\"info\",\"msg\":\"config_reloaded\","
            "\"path\":\"/etc/p.toml\",\"problems\":0}\n");
  EXPECT_EQ(line(LogFormat::Json, "x", {{"b", false}, {"r", 0.5}, {"n", -7}}, LogLevel::Error),
            "{\"ts\":\"2026-11-25T14:31:08.123Z\",\"level\":\"error\",\"msg\":\"x\",\"b\":false,\"r\":0.5,"
            "\"n\":-7}\n");
}

TEST(LogFormat, JsonEscapesControlCharactersAndInvalidUtf8) {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes += static_cast<char>(c);
  std::string l = line(LogFormat::Json, all_bytes, {{"v", all_bytes}, {"q", "\"\\"}});
  EXPECT_EQ(json_problem(l), "") << l;
  EXPECT_NE(l.find("\\u0001"), std::string::npos) << l;
  EXPECT_NE(l.find("\\u001f"), std::string::npos) << l;
  EXPECT_NE(l.find("\\u007f"), std::string::npos) << l;
  EXPECT_NE(l.find("\\n"), std::string::npos) << l;
  EXPECT_NE(l.find("\\ufffd"), std::string::npos) << l;
  EXPECT_NE(l.find("\"q\":\"\\\"\\\\\""), std::string::npos) << l;
  // No byte >= 0x80 survives alone: each is one replacement.
  for (char c : l) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << l;

  EXPECT_EQ(line(LogFormat::Json, "\xe2\x82\xac \xe2\x82 \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80"),
            "{\"ts\":\"2026-11-25T14:31:08.123Z\",\"level\":\"info\",\"msg\":\"\xe2\x82\xac \\ufffd\\ufffd "
            "\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\\ufffd\"}\n");
  // nan and inf are no JSON numbers: written as strings.
  EXPECT_NE(line(LogFormat::Json, "x", {{"r", 0.0 / 0.0}}).find("\"r\":\"nan\""), std::string::npos);
}

TEST(LogFormat, TextIsTheOldFormatWithFields) {
  EXPECT_EQ(line(LogFormat::Text, "client 3: FATAL 3D000 database \"x\"\ndoes not exist"),
            "2026-11-25T14:31:08.123Z INFO  client 3: FATAL 3D000 database \"x\" does not exist\n");
  EXPECT_EQ(line(LogFormat::Text, "admission_reject", {{"key", "a b"}, {"n", 1}}, LogLevel::Error),
            "2026-11-25T14:31:08.123Z ERROR admission_reject key=\"a b\" n=1\n");
}

// Every cut of a long line is still one well-formed line.
TEST(LogFormat, LongLinesAreCutAndStayWellFormed) {
  std::string long_text(5000, 'x');
  std::string escapes;
  for (int i = 0; i < 1000; ++i) escapes += "\"\x01\xe2\x82\xac\xff";
  for (size_t cap = kMinLogLine; cap <= 700; cap += 7) {
    for (const std::string* text : {&long_text, &escapes}) {
      std::string j = line(LogFormat::Json, *text, {{"a", *text}, {"n", 5}}, LogLevel::Info, cap);
      EXPECT_LE(j.size(), cap);
      EXPECT_EQ(json_problem(j), "") << "cap " << cap << ": " << j;
      EXPECT_NE(j.find("..."), std::string::npos) << j;
      std::string short_msg = line(LogFormat::Json, "m", {{"a", *text}, {"n", 5}}, LogLevel::Info, cap);
      EXPECT_EQ(json_problem(short_msg), "") << "cap " << cap << ": " << short_msg;
      for (LogFormat f : {LogFormat::Logfmt, LogFormat::Text}) {
        std::string l = line(f, *text, {{"a", *text}}, LogLevel::Info, cap);
        EXPECT_LE(l.size(), cap);
        EXPECT_EQ(l.find('\n'), l.size() - 1) << l;
      }
      std::string q = line(LogFormat::Logfmt, "m", {{"a", *text}}, LogLevel::Info, cap);
      if (text == &escapes) {
        // A quoted value cut short still ends with its quote.
        EXPECT_EQ(q.substr(q.size() - 5), "...\"\n") << q;
      }
    }
  }
}

TEST(LogFormat, UnicodeIsNeverSplitWhenCut) {
  std::string euros;
  for (int i = 0; i < 200; ++i) euros += "\xe2\x82\xac";
  for (size_t cap = kMinLogLine; cap < 300; ++cap) {
    std::string l = line(LogFormat::Json, euros, {}, LogLevel::Info, cap);
    EXPECT_EQ(json_problem(l), "") << l;
    size_t start = l.find("\"msg\":\"") + 7;
    size_t end = l.find("...\"}");
    ASSERT_NE(end, std::string::npos) << l;
    EXPECT_EQ((end - start) % 3, 0u) << "cap " << cap;
  }
}

// ---- LogLimiter ----

TEST(LogLimiter, OneLinePerKeyPerIntervalWithSuppressedCounts) {
  LogLimiter limiter;  // 1000 ms
  LogLimiter::Decision d = limiter.note("bench", "10.0.0.5", "queue_full", 10'000);
  EXPECT_TRUE(d.log);
  EXPECT_EQ(d.suppressed, 0u);
  EXPECT_EQ(d.total, 1u);
  for (int i = 0; i < 99; ++i) EXPECT_FALSE(limiter.note("bench", "10.0.0.5", "queue_full", 10'000 + i * 10).log);
  // Other keys, reasons and databases have their own line.
  EXPECT_TRUE(limiter.note("bench", "10.0.0.6", "queue_full", 10'500).log);
  EXPECT_TRUE(limiter.note("bench", "10.0.0.5", "timeout", 10'500).log);
  EXPECT_TRUE(limiter.note("other", "10.0.0.5", "queue_full", 10'500).log);
  EXPECT_FALSE(limiter.note("bench", "10.0.0.5", "queue_full", 10'999).log);
  d = limiter.note("bench", "10.0.0.5", "queue_full", 11'000);
  EXPECT_TRUE(d.log);
  EXPECT_EQ(d.suppressed, 100u);
  EXPECT_EQ(d.total, 102u);
  d = limiter.note("bench", "10.0.0.5", "queue_full", 60'000);  // quiet since: nothing held back
  EXPECT_TRUE(d.log);
  EXPECT_EQ(d.suppressed, 0u);
  EXPECT_EQ(d.total, 103u);
}

TEST(LogLimiter, KeyPartsDoNotRunTogether) {
  LogLimiter limiter;
  EXPECT_TRUE(limiter.note("ab", "c", "r", 0).log);
  EXPECT_TRUE(limiter.note("a", "bc", "r", 0).log);
  EXPECT_EQ(limiter.keys(), 2u);
}

TEST(LogLimiter, GlobalCapHoldsBackManyDistinctKeys) {
  LogLimiter limiter({.interval_ms = 1000, .max_lines_per_interval = 3, .max_keys = 100});
  int logged = 0;
  for (int i = 0; i < 10; ++i) logged += limiter.note("db", "k" + std::to_string(i), "shed", 5'000).log;
  EXPECT_EQ(logged, 3);
  // Next interval: a held-back key gets its line, with its count.
  LogLimiter::Decision d = limiter.note("db", "k7", "shed", 6'000);
  EXPECT_TRUE(d.log);
  EXPECT_EQ(d.suppressed, 1u);
  EXPECT_EQ(d.total, 2u);
}

TEST(LogLimiter, MemoryIsBounded) {
  LogLimiter limiter({.interval_ms = 1000, .max_lines_per_interval = 1000000, .max_keys = 50});
  for (int i = 0; i < 1000; ++i) limiter.note("db", "k" + std::to_string(i), "timeout", static_cast<uint64_t>(i));
  EXPECT_LE(limiter.keys(), 50u);
}

TEST(LogLimiter, ClockGoingBackDoesNotSilenceAKey) {
  LogLimiter limiter;
  EXPECT_TRUE(limiter.note("db", "k", "r", 50'000).log);
  EXPECT_TRUE(limiter.note("db", "k", "r", 1'000).log);
}

}  // namespace
}  // namespace pgs
