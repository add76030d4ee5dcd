// A run of input relayed unchanged. Both relay directions walk their input
// message by message, extend the run over what passes through, and hand the
// whole run to the peer in one send when a message needs handling of its own
// or the input ends. A message cut off by the end of the input is forwarded
// as far as it goes; the caller keeps how many of its bytes are still to come.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "proxy/peer.h"

namespace pgs {

class ForwardRun {
 public:
  explicit ForwardRun(std::string_view in) : in_(in) {}

  size_t pos() const { return pos_; }
  size_t available() const { return in_.size() - pos_; }
  bool at_end() const { return pos_ == in_.size(); }
  std::string_view rest() const { return in_.substr(pos_); }

  // Relays the next n bytes (n <= available()).
  void take(size_t n) {
    if (start_ == std::string_view::npos) start_ = pos_;
    pos_ += n;
  }
  // Relays `remaining` bytes of a message, or as many as are here; returns
  // how many are still to come.
  size_t take_up_to(size_t remaining) {
    size_t n = std::min(remaining, available());
    take(n);
    return remaining - n;
  }
  // Ends the run: sends it to `to` (nullptr: nowhere to send, dropped).
  void flush(Peer* to) {
    if (start_ != std::string_view::npos && pos_ > start_ && to != nullptr)
      to->send(in_.substr(start_, pos_ - start_));
    start_ = std::string_view::npos;
  }
  // Consumes bytes that are not relayed; ends the run first.
  size_t skip_up_to(Peer* to, size_t remaining) {
    flush(to);
    size_t n = std::min(remaining, available());
    pos_ += n;
    return remaining - n;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  size_t start_ = std::string_view::npos;
};

}  // namespace pgs
