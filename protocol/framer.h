// Incremental framing of a typed PostgreSQL message stream (everything after
// the startup phase, in both directions). The framer looks only at headers:
// the caller decides whether to buffer a whole message or forward its bytes
// as they arrive. Once it has seen an invalid header it stays failed and
// never tries to resynchronise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pgs::proto {

constexpr size_t kHeaderSize = 5;  // type byte + int32 length

enum class FrameStatus { NeedMore, Message, Invalid };

struct FrameHeader {
  char type = 0;
  uint32_t length = 0;  // as on the wire: counts the 4 length bytes, not the type byte
  size_t total() const { return 1 + static_cast<size_t>(length); }  // whole message size
  size_t body_size() const { return static_cast<size_t>(length) - 4; }
};

struct FrameResult {
  FrameStatus status = FrameStatus::NeedMore;
  FrameHeader header;      // valid when status == Message
  size_t need = 0;         // NeedMore: bytes still missing for a header
  const char* error = "";  // Invalid: a static description, e.g. "message length 3 is below 4"
};

class Framer {
 public:
  explicit Framer(uint32_t max_length) : max_length_(max_length) {}

  // Reads the header at the start of `buf`. A length below 4 or above the
  // configured maximum is Invalid, before anything is buffered.
  FrameResult next_header(std::string_view buf);
  bool failed() const { return failed_; }
  void set_max_length(uint32_t n) { max_length_ = n; }
  uint32_t max_length() const { return max_length_; }

 private:
  uint32_t max_length_;
  bool failed_ = false;
};

}  // namespace pgs::proto
