// Appends PostgreSQL messages to a caller-owned buffer and fills in the length
// when the message is finished.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgs::proto {

class MessageWriter {
 public:
  explicit MessageWriter(std::string& out) : out_(out) {}

  void begin(char type);   // typed message: type byte and a length placeholder
  void begin_untyped();    // startup-style packet: length placeholder only
  void put_u8(uint8_t v);
  void put_i16(int16_t v);
  void put_i32(int32_t v);
  void put_cstring(std::string_view s);  // bytes then NUL
  void put_bytes(std::string_view s);
  void finish();           // writes the length (which counts itself, not the type byte)

 private:
  std::string& out_;
  size_t length_at_ = 0;
};

}  // namespace pgs::proto
