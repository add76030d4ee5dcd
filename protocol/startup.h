// The untyped packets a client may send before the typed stream starts:
// StartupMessage, SSLRequest, GSSENCRequest and CancelRequest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/framer.h"

namespace pgs::proto {

constexpr int32_t kProtocol30 = 3 << 16;  // 196608
constexpr int32_t kCancelRequestCode = 80877102;
constexpr int32_t kSslRequestCode = 80877103;
constexpr int32_t kGssEncRequestCode = 80877104;
constexpr uint32_t kMaxStartupPacket = 10000;  // as PostgreSQL's MAX_STARTUP_PACKET_LENGTH

enum class StartupKind { Startup, SslRequest, GssEncRequest, Cancel };

struct StartupPacket {
  StartupKind kind = StartupKind::Startup;
  int32_t protocol = 0;  // Startup: major << 16 | minor as sent
  // Startup: every name/value pair except those starting with "_pq_.", in order.
  std::vector<std::pair<std::string, std::string>> params;
  // Startup: names of "_pq_." protocol options, which pgsluice does not support.
  std::vector<std::string> unknown_protocol_options;
  int32_t cancel_pid = 0;  // Cancel
  int32_t cancel_key = 0;  // Cancel

  // The value of a startup parameter, or nullptr.
  const std::string* param(std::string_view name) const;
};

struct StartupFrame {
  FrameStatus status = FrameStatus::NeedMore;
  uint32_t length = 0;  // Message: the whole packet, length word included
  size_t need = 0;      // NeedMore: bytes still missing for the length word
  const char* error = "";
};

// Reads the length word at the start of `buf`: below 8 or above
// kMaxStartupPacket is Invalid.
StartupFrame peek_startup(std::string_view buf);

// Parses a whole packet (`packet` is exactly `length` bytes, length word
// included). On a malformed packet returns false with a message a person can
// act on in `error`. Rules: protocol major version must be 3 (a higher minor
// version is accepted; the caller answers it with NegotiateProtocolVersion);
// "user" must be present in a StartupMessage; the parameter list ends with an
// empty name; a CancelRequest is exactly 16 bytes, SSLRequest/GSSENCRequest 8.
[[nodiscard]] bool parse_startup(std::string_view packet, StartupPacket& out, std::string& error);

}  // namespace pgs::proto
