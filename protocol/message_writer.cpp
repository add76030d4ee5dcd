#include "protocol/message_writer.h"

#include "protocol/byte_reader.h"

namespace pgs::proto {

void MessageWriter::begin(char type) {
  out_.push_back(type);
  begin_untyped();
}

void MessageWriter::begin_untyped() {
  length_at_ = out_.size();
  out_.append(4, '\0');
}

void MessageWriter::put_u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }

void MessageWriter::put_i16(int16_t v) {
  const auto u = static_cast<uint16_t>(v);
  out_.push_back(static_cast<char>(u >> 8));
  out_.push_back(static_cast<char>(u));
}

void MessageWriter::put_i32(int32_t v) {
  char buf[4];
  store_be32(buf, static_cast<uint32_t>(v));
  out_.append(buf, 4);
}

void MessageWriter::put_cstring(std::string_view s) {
  out_.append(s);
  out_.push_back('\0');
}

void MessageWriter::put_bytes(std::string_view s) { out_.append(s); }

void MessageWriter::finish() {
  store_be32(out_.data() + length_at_, static_cast<uint32_t>(out_.size() - length_at_));
}

}  // namespace pgs::proto
