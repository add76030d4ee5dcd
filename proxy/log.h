// One line per event on stderr: time, level, message. printf-style because
// the compiler checks the format; no allocation beyond a stack buffer.
#pragma once

#include "config/config.h"

namespace pgs {

using config::LogLevel;

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define PGS_LOG(level, ...)                                          \
  do {                                                               \
    if (::pgs::log_enabled(level)) ::pgs::log_line(level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) PGS_LOG(::pgs::LogLevel::Debug, __VA_ARGS__)
#define LOG_INFO(...) PGS_LOG(::pgs::LogLevel::Info, __VA_ARGS__)
#define LOG_WARN(...) PGS_LOG(::pgs::LogLevel::Warn, __VA_ARGS__)
#define LOG_ERROR(...) PGS_LOG(::pgs::LogLevel::Error, __VA_ARGS__)

}  // namespace pgs
