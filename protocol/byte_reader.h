// Bounds-checked reader over a byte span. Every read says whether it fit and
// never reads past the end; a failed read leaves the position unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pgs::proto {

class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  [[nodiscard]] bool read_u8(uint8_t& out);
  [[nodiscard]] bool read_i16(int16_t& out);   // network byte order
  [[nodiscard]] bool read_i32(int32_t& out);   // network byte order
  [[nodiscard]] bool read_u32(uint32_t& out);  // network byte order
  // NUL-terminated string; `out` excludes the NUL. False if no NUL before the end.
  [[nodiscard]] bool read_cstring(std::string_view& out);
  [[nodiscard]] bool read_bytes(size_t n, std::string_view& out);

  size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  size_t position() const { return pos_; }
  std::string_view rest() const { return data_.substr(pos_); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Big-endian helpers for code that peeks at headers without a reader.
inline uint32_t load_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}
inline void store_be32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

}  // namespace pgs::proto
