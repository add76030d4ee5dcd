// A TCP connection owned by pgsluice: the libuv handle, input that has not
// been consumed yet, and output the kernel has not taken yet.
//
// Lifetime: a Peer lives on the heap, is never copied or moved, and deletes
// itself in the close callback (a later loop pass), so code that called
// close() may keep using the object until it returns to the loop.
//
// Input: reads land in the worker's shared buffer; only bytes a subclass did
// not consume (a partial message, or input held while paused) are copied into
// a per-connection buffer, so an idle connection holds no buffer at all.
// Output: send() tries the kernel at once and queues only what it refused.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pgs {

class Worker;

constexpr size_t kHighWatermark = 256 * 1024;  // stop reading the source above this
constexpr size_t kLowWatermark = 64 * 1024;    // resume below this

class Peer {
 public:
  explicit Peer(Worker& worker);
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  uv_tcp_t* tcp() { return &tcp_; }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  Worker& worker() { return worker_; }

  void start_reading();
  void stop_reading();
  bool reading() const { return reading_; }

  // Queues bytes for the peer. False when the connection is closing or the
  // write failed (the connection is then being closed).
  bool send(std::string_view bytes);
  // The same for several pieces in order: one writev for them all.
  bool send(std::span<const std::string_view> pieces);
  size_t queued() const { return queued_bytes_; }
  bool over_high_watermark() const { return queued_bytes_ > kHighWatermark; }

  // Idempotent. Pending output is flushed by libuv before the close only if
  // it was already handed to it; callers that must deliver a final message
  // use close_after_flush().
  void close();
  // Stops reading and closes once everything queued has been written.
  void close_after_flush();
  bool closing() const { return closing_ || close_when_flushed_; }

  // Runs on_input() over input held while paused. Must not be called from
  // inside this peer's own on_input().
  void reprocess_input();
  bool has_buffered_input() const { return in_len_ > 0; }

  // Traffic on this connection (for the admin console's byte counts).
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  // The two ends of the TCP connection; false when the socket has none.
  bool peer_address(std::string& host, uint16_t& port);
  bool local_address(std::string& host, uint16_t& port);

 protected:
  virtual ~Peer();
  // All unconsumed input so far; returns how many bytes were consumed.
  virtual size_t on_input(std::string_view input) = 0;
  // EOF or a read/write error; called at most once, before close.
  virtual void on_disconnect(int status) = 0;
  // Output fell below the low watermark after having passed the high one.
  virtual void on_drained() {}
  // Called once from the close callback, just before delete.
  virtual void on_closed() {}

  Worker& worker_;

 private:
  static void alloc_cb(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void write_cb(uv_write_t* req, int status);
  static void close_cb(uv_handle_t* h);
  void start_write();
  void keep_leftover(const char* data, size_t n);
  void fail(int status);

  uv_tcp_t tcp_;
  char* in_buf_ = nullptr;  // leftovers only; nullptr when empty
  uint32_t in_cap_ = 0;
  uint32_t in_len_ = 0;
  bool reading_ = false;
  bool closing_ = false;
  bool close_when_flushed_ = false;
  bool write_in_flight_ = false;
  bool above_high_ = false;
  bool disconnected_ = false;
  bool in_input_ = false;
  std::string out_pending_;  // not yet handed to libuv
  size_t queued_bytes_ = 0;  // out_pending_ + the write in flight
  uint64_t bytes_read_ = 0;
  uint64_t bytes_sent_ = 0;  // accepted by send(), whether written yet or not
};

}  // namespace pgs
