// One line per event on stderr, in the [proxy] log_format (logfmt, json or
// text; see log_format.h for each). Two ways to log:
//   LOG_INFO("printf-style %s", text)   the formatted text is the message;
//                                       the compiler checks the format
//   LOG_EVENT(level, "event_name", {{"database", db}, {"waited_ms", 12}})
//                                       an event operators filter on: the
//                                       name is the message, fields follow
// Neither allocates beyond stack buffers; arguments are evaluated only when
// the level is enabled.
#pragma once

#include <initializer_list>
#include <string_view>

#include "config/config.h"
#include "proxy/log_format.h"

namespace pgs {

void set_log_level(LogLevel level);
void set_log_format(LogFormat format);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields);

// An alert raised (warn) or cleared (info): event "alert" with
// alert=NAME state=raised|cleared and the given fields.
void log_alert(std::string_view alert, bool raised, std::initializer_list<LogField> fields);

#define PGS_LOG(level, ...)                                          \
  do {                                                               \
    if (::pgs::log_enabled(level)) ::pgs::log_line(level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) PGS_LOG(::pgs::LogLevel::Debug, __VA_ARGS__)
#define LOG_INFO(...) PGS_LOG(::pgs::LogLevel::Info, __VA_ARGS__)
#define LOG_WARN(...) PGS_LOG(::pgs::LogLevel::Warn, __VA_ARGS__)
#define LOG_ERROR(...) PGS_LOG(::pgs::LogLevel::Error, __VA_ARGS__)

// The fields go in braces; the macro takes them whole despite their commas.
#define LOG_EVENT(level, event, ...)                                            \
  do {                                                                          \
    if (::pgs::log_enabled(level)) ::pgs::log_event(level, event, __VA_ARGS__); \
  } while (0)

}  // namespace pgs
