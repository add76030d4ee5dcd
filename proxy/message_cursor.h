// Walks whole messages in a typed stream buffer, for the phases where every
// message is small and must be read (login, swallowed replies, idle chatter).
#pragma once

#include <string_view>

#include "protocol/framer.h"

namespace pgs {

enum class Next { Message, NeedMore, Invalid };

// On Message: `type` and `body` are set and `pos` moved past the message.
inline Next next_message(proto::Framer& framer, std::string_view in, size_t& pos, char& type,
                         std::string_view& body, const char** error) {
  proto::FrameResult fr = framer.next_header(in.substr(pos));
  if (fr.status == proto::FrameStatus::NeedMore) return Next::NeedMore;
  if (fr.status == proto::FrameStatus::Invalid) {
    *error = fr.error;
    return Next::Invalid;
  }
  if (in.size() - pos < fr.header.total()) return Next::NeedMore;
  type = fr.header.type;
  body = in.substr(pos + proto::kHeaderSize, fr.header.body_size());
  pos += fr.header.total();
  return Next::Message;
}

}  // namespace pgs
