// What the admin console answers with when a command cannot be carried out:
// the fields of a PostgreSQL ErrorResponse (severity ERROR), ready for
// proto::write_error.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "protocol/messages.h"

namespace pgs::admin {

using ErrorInfo = proto::ErrorFields;

inline ErrorInfo console_error(std::string_view sqlstate, std::string message,
                               std::string hint = {}) {
  ErrorInfo e;
  e.severity = "ERROR";
  e.sqlstate = std::string(sqlstate);
  e.message = std::move(message);
  e.hint = std::move(hint);
  return e;
}

// SQLSTATEs the console uses.
inline constexpr std::string_view kSyntaxError = "42601";
inline constexpr std::string_view kFeatureNotSupported = "0A000";
inline constexpr std::string_view kUndefinedObject = "42704";

}  // namespace pgs::admin
