#include "protocol/framer.h"

#include "protocol/byte_reader.h"

namespace pgs::proto {

namespace {

// Static strings so the error can name the offending length without allocating.
const char* const kBelowFour[4] = {
    "message length 0 is below 4",
    "message length 1 is below 4",
    "message length 2 is below 4",
    "message length 3 is below 4",
};

}  // namespace

FrameResult Framer::next_header(std::string_view buf) {
  FrameResult r;
  if (failed_) {
    r.status = FrameStatus::Invalid;
    r.error = "stream already failed on an invalid message header";
    return r;
  }
  if (buf.size() < kHeaderSize) {
    r.status = FrameStatus::NeedMore;
    r.need = kHeaderSize - buf.size();
    return r;
  }
  const uint32_t length = load_be32(buf.data() + 1);
  if (length < 4) {
    failed_ = true;
    r.status = FrameStatus::Invalid;
    r.error = kBelowFour[length];
    return r;
  }
  if (length > max_length_) {
    failed_ = true;
    r.status = FrameStatus::Invalid;
    r.error = "message length exceeds the configured maximum";
    return r;
  }
  r.status = FrameStatus::Message;
  r.header.type = buf[0];
  r.header.length = length;
  return r;
}

}  // namespace pgs::proto
