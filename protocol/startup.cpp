#include "protocol/startup.h"

#include "protocol/byte_reader.h"

namespace pgs::proto {

const std::string* StartupPacket::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

StartupFrame peek_startup(std::string_view buf) {
  StartupFrame f;
  if (buf.size() < 4) {
    f.status = FrameStatus::NeedMore;
    f.need = 4 - buf.size();
    return f;
  }
  const uint32_t length = load_be32(buf.data());
  if (length < 8) {
    f.status = FrameStatus::Invalid;
    f.error = "invalid length of startup packet: below 8 bytes";
    return f;
  }
  if (length > kMaxStartupPacket) {
    f.status = FrameStatus::Invalid;
    f.error = "invalid length of startup packet: above 10000 bytes";
    return f;
  }
  f.status = FrameStatus::Message;
  f.length = length;
  return f;
}

namespace {

bool parse_params(ByteReader& r, StartupPacket& out, std::string& error) {
  for (;;) {
    std::string_view name;
    if (!r.read_cstring(name)) {
      error = "invalid startup packet layout: expected terminator as last byte";
      return false;
    }
    if (name.empty()) {
      if (!r.empty()) {
        error = "invalid startup packet layout: expected terminator as last byte";
        return false;
      }
      return true;
    }
    std::string_view value;
    if (!r.read_cstring(value)) {
      error = "invalid startup packet layout: parameter \"" + std::string(name) +
              "\" has no value";
      return false;
    }
    if (name.starts_with("_pq_.")) {
      bool seen = false;
      for (const auto& o : out.unknown_protocol_options) seen = seen || o == name;
      if (!seen) out.unknown_protocol_options.emplace_back(name);
      continue;
    }
    // A repeated name keeps its first position and takes the last value.
    bool replaced = false;
    for (auto& [key, v] : out.params) {
      if (key == name) {
        v.assign(value);
        replaced = true;
        break;
      }
    }
    if (!replaced) out.params.emplace_back(std::string(name), std::string(value));
  }
}

}  // namespace

bool parse_startup(std::string_view packet, StartupPacket& out, std::string& error) {
  out = StartupPacket{};
  ByteReader r(packet);
  uint32_t length = 0;
  int32_t code = 0;
  if (!r.read_u32(length) || !r.read_i32(code) || length != packet.size()) {
    error = "invalid length of startup packet";
    return false;
  }
  if (length > kMaxStartupPacket) {
    error = "invalid length of startup packet: above 10000 bytes";
    return false;
  }
  switch (code) {
    case kCancelRequestCode:
      if (length != 16 || !r.read_i32(out.cancel_pid) || !r.read_i32(out.cancel_key)) {
        error = "invalid length of cancel request packet";
        return false;
      }
      out.kind = StartupKind::Cancel;
      return true;
    case kSslRequestCode:
    case kGssEncRequestCode:
      if (length != 8) {
        error = code == kSslRequestCode ? "invalid length of SSL request packet"
                                        : "invalid length of GSSENC request packet";
        return false;
      }
      out.kind = code == kSslRequestCode ? StartupKind::SslRequest : StartupKind::GssEncRequest;
      return true;
    default:
      break;
  }
  const auto version = static_cast<uint32_t>(code);
  if ((version >> 16) != 3) {
    error = "unsupported frontend protocol " + std::to_string(version >> 16) + "." +
            std::to_string(version & 0xffff) + ": server supports 3.0";
    return false;
  }
  out.kind = StartupKind::Startup;
  out.protocol = code;
  if (!parse_params(r, out, error)) return false;
  const std::string* user = out.param("user");
  if (user == nullptr || user->empty()) {
    error = "no PostgreSQL user name specified in startup packet";
    return false;
  }
  return true;
}

}  // namespace pgs::proto
