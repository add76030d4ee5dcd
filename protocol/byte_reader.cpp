#include "protocol/byte_reader.h"

namespace pgs::proto {

bool ByteReader::read_u8(uint8_t& out) {
  if (remaining() < 1) return false;
  out = static_cast<uint8_t>(data_[pos_]);
  pos_ += 1;
  return true;
}

bool ByteReader::read_i16(int16_t& out) {
  if (remaining() < 2) return false;
  const auto* u = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
  out = static_cast<int16_t>(static_cast<uint16_t>((u[0] << 8) | u[1]));
  pos_ += 2;
  return true;
}

bool ByteReader::read_u32(uint32_t& out) {
  if (remaining() < 4) return false;
  out = load_be32(data_.data() + pos_);
  pos_ += 4;
  return true;
}

bool ByteReader::read_i32(int32_t& out) {
  uint32_t u = 0;
  if (!read_u32(u)) return false;
  out = static_cast<int32_t>(u);  // two's complement, well-defined since C++20
  return true;
}

bool ByteReader::read_cstring(std::string_view& out) {
  const size_t nul = data_.find('\0', pos_);
  if (nul == std::string_view::npos) return false;
  out = data_.substr(pos_, nul - pos_);
  pos_ = nul + 1;
  return true;
}

bool ByteReader::read_bytes(size_t n, std::string_view& out) {
  if (n > remaining()) return false;
  out = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

}  // namespace pgs::proto
