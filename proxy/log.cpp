#include "proxy/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace pgs {
namespace {

LogLevel g_level = LogLevel::Info;
LogFormat g_format = LogFormat::Logfmt;

// Messages longer than this are cut; a line has room for the message
// escaped and a few fields.
constexpr size_t kMessageBytes = 2048;
constexpr size_t kLineBytes = 4096;

int64_t unix_ms_now() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
}

void write_line(LogLevel level, std::string_view msg, std::span<const LogField> fields) {
  char line[kLineBytes];
  size_t n = format_log_line(line, sizeof line, g_format, level, unix_ms_now(), msg, fields);
  ssize_t ignored = write(STDERR_FILENO, line, n);
  (void)ignored;
}

}  // namespace

void set_log_level(LogLevel level) { g_level = level; }
void set_log_format(LogFormat format) { g_format = format; }
bool log_enabled(LogLevel level) { return static_cast<int>(level) >= static_cast<int>(g_level); }

void log_line(LogLevel level, const char* fmt, ...) {
  char msg[kMessageBytes];
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  size_t len = m < 0 ? 0 : std::min(static_cast<size_t>(m), sizeof msg - 1);
  write_line(level, std::string_view(msg, len), {});
}

void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  write_line(level, event, std::span<const LogField>(fields.begin(), fields.size()));
}

void log_alert(std::string_view alert, bool raised, std::initializer_list<LogField> fields) {
  LogLevel level = raised ? LogLevel::Warn : LogLevel::Info;
  if (!log_enabled(level)) return;
  // The fixed fields first, then the caller's: one array on the stack.
  constexpr size_t kMaxFields = 16;
  LogField all[kMaxFields] = {{"alert", alert}, {"state", raised ? "raised" : "cleared"}};
  size_t n = 2;
  for (const LogField& f : fields) {
    if (n == kMaxFields) break;
    all[n++] = f;
  }
  write_line(level, "alert", std::span<const LogField>(all, n));
}

}  // namespace pgs
