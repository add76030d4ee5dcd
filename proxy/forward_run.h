// A run of input relayed to one peer. Both relay directions walk their input
// message by message, extend the run over what passes through, and hand the
// whole run to the peer in one send (one writev) when a message needs
// handling of its own or the input ends. A rewritten message stays inside the
// run: drop() leaves out the client's bytes and insert() puts pgsluice's in
// their place, so a rewritten Bind and the Execute and Sync after it still
// reach the server in one system call. A message cut off by the end of the
// input is forwarded as far as it goes; the caller keeps how many of its
// bytes are still to come.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/peer.h"

namespace pgs {

class ForwardRun {
 public:
  explicit ForwardRun(std::string_view in) : in_(in) {}
  ForwardRun(const ForwardRun&) = delete;
  ForwardRun& operator=(const ForwardRun&) = delete;

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
  // Consumes the next n bytes (n <= available()) without relaying them; the
  // run goes on after them. Only for a peer that stays the same until flush().
  void drop(Peer* to, size_t n) {
    close_segment(to);
    pos_ += n;
  }
  // Relays bytes of pgsluice's own at this point of the run: `write(out)`
  // appends them to `out`, the run's own buffer (no copy on the way).
  template <class Write>
  void insert(Peer* to, Write&& write) {
    close_segment(to);
    if (pieces_ == kMaxPieces) flush(to);
    const size_t at = own_.size();
    write(own_);
    if (own_.size() > at) pieces_at_[pieces_++] = Piece{true, at, own_.size() - at};
  }
  // Ends the run: sends it to `to` (nullptr: nowhere to send, dropped).
  void flush(Peer* to) {
    close_segment(to);
    if (pieces_ > 0 && to != nullptr) {
      std::array<std::string_view, kMaxPieces> views;
      for (size_t i = 0; i < pieces_; ++i) {
        const Piece& p = pieces_at_[i];
        views[i] = p.own ? std::string_view(own_).substr(p.off, p.len) : in_.substr(p.off, p.len);
      }
      to->send(std::span<const std::string_view>(views.data(), pieces_));
    }
    pieces_ = 0;
    own_.clear();
  }
  // Consumes bytes that are not relayed; ends the run first.
  size_t skip_up_to(Peer* to, size_t remaining) {
    flush(to);
    size_t n = std::min(remaining, available());
    pos_ += n;
    return remaining - n;
  }

 private:
  static constexpr size_t kMaxPieces = 8;
  struct Piece {
    bool own = false;  // in own_, else in in_
    size_t off = 0;
    size_t len = 0;
  };

  // The bytes taken since the last piece become a piece.
  void close_segment(Peer* to) {
    if (start_ == std::string_view::npos) return;
    if (pos_ > start_) {
      if (pieces_ == kMaxPieces) {
        const size_t start = start_;
        start_ = std::string_view::npos;
        flush(to);
        start_ = start;
      }
      pieces_at_[pieces_++] = Piece{false, start_, pos_ - start_};
    }
    start_ = std::string_view::npos;
  }

  std::string_view in_;
  size_t pos_ = 0;
  size_t start_ = std::string_view::npos;
  std::array<Piece, kMaxPieces> pieces_at_;
  size_t pieces_ = 0;
  std::string own_;
};

}  // namespace pgs
