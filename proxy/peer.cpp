#include "proxy/peer.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

#include "proxy/worker.h"

namespace pgs {
namespace {

struct WriteRequest {
  uv_write_t req;
  std::string data;
};

}  // namespace

Peer::Peer(Worker& worker) : worker_(worker) {
  uv_tcp_init(worker.loop(), &tcp_);
  tcp_.data = this;
}

Peer::~Peer() { std::free(in_buf_); }

void Peer::start_reading() {
  if (reading_ || closing()) return;
  if (uv_read_start(stream(), alloc_cb, read_cb) == 0) reading_ = true;
}

void Peer::stop_reading() {
  if (!reading_) return;
  uv_read_stop(stream());
  reading_ = false;
}

void Peer::alloc_cb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Peer*>(h->data);
  if (self->in_len_ == 0) {
    *buf = uv_buf_init(self->worker_.read_buffer(), Worker::kReadBufferSize);
    return;
  }
  // Leftovers exist: read after them so the message stays contiguous.
  constexpr uint32_t kMinSpace = 16 * 1024;
  if (self->in_cap_ - self->in_len_ < kMinSpace) {
    uint32_t cap = std::max<uint32_t>(self->in_cap_ * 2, self->in_len_ + 64 * 1024);
    char* grown = static_cast<char*>(std::realloc(self->in_buf_, cap));
    if (grown == nullptr) {
      *buf = uv_buf_init(nullptr, 0);  // libuv reports UV_ENOBUFS
      return;
    }
    self->in_buf_ = grown;
    self->in_cap_ = cap;
  }
  *buf = uv_buf_init(self->in_buf_ + self->in_len_, self->in_cap_ - self->in_len_);
}

void Peer::read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Peer*>(s->data);
  if (nread == 0) return;
  if (nread < 0) {
    self->fail(static_cast<int>(nread));
    return;
  }
  if (self->closing_) return;
  size_t n = static_cast<size_t>(nread);
  self->bytes_read_ += n;
  self->in_input_ = true;
  if (buf->base == self->worker_.read_buffer()) {
    size_t used = self->on_input(std::string_view(buf->base, n));
    if (used < n && !self->closing_) self->keep_leftover(buf->base + used, n - used);
  } else {
    self->in_len_ += static_cast<uint32_t>(n);
    size_t used = self->on_input(std::string_view(self->in_buf_, self->in_len_));
    self->keep_leftover(self->in_buf_ + used, self->in_len_ - used);
  }
  self->in_input_ = false;
}

void Peer::reprocess_input() {
  if (in_len_ == 0 || closing_ || in_input_) return;
  in_input_ = true;
  size_t used = on_input(std::string_view(in_buf_, in_len_));
  keep_leftover(in_buf_ + used, in_len_ - used);
  in_input_ = false;
}

// Moves the unconsumed tail to the front of the own buffer (from the shared
// buffer, or within the own buffer). Frees the buffer when nothing is left.
void Peer::keep_leftover(const char* data, size_t n) {
  if (n == 0) {
    std::free(in_buf_);
    in_buf_ = nullptr;
    in_cap_ = in_len_ = 0;
    return;
  }
  if (in_buf_ == nullptr || in_cap_ < n) {
    uint32_t cap = static_cast<uint32_t>(std::max<size_t>(n, 4096));
    char* fresh = static_cast<char*>(std::malloc(cap));
    if (fresh == nullptr) {
      fail(UV_ENOMEM);
      return;
    }
    std::memcpy(fresh, data, n);
    std::free(in_buf_);
    in_buf_ = fresh;
    in_cap_ = cap;
  } else if (data != in_buf_) {
    std::memmove(in_buf_, data, n);
  }
  in_len_ = static_cast<uint32_t>(n);
}

bool Peer::send(std::string_view bytes) { return send(std::span<const std::string_view>(&bytes, 1)); }

bool Peer::send(std::span<const std::string_view> pieces) {
  if (closing_ || disconnected_) return false;
  constexpr size_t kMaxBufs = 16;
  std::array<uv_buf_t, kMaxBufs> bufs;
  size_t nbufs = 0, total = 0;
  for (std::string_view p : pieces) {
    if (p.empty()) continue;
    total += p.size();
    if (nbufs < kMaxBufs) bufs[nbufs] = uv_buf_init(const_cast<char*>(p.data()), static_cast<unsigned>(p.size()));
    ++nbufs;
  }
  if (total == 0) return true;
  bytes_sent_ += total;
  size_t written = 0;
  if (!write_in_flight_ && out_pending_.empty() && nbufs <= kMaxBufs) {
    int n = uv_try_write(stream(), bufs.data(), static_cast<unsigned>(nbufs));
    if (n == static_cast<int>(total)) return true;
    if (n < 0 && n != UV_EAGAIN) {
      fail(n);
      return false;
    }
    if (n > 0) written = static_cast<size_t>(n);
  }
  // What the kernel did not take waits in order behind what is queued.
  size_t skip = written;
  for (std::string_view p : pieces) {
    const size_t s = std::min(skip, p.size());
    skip -= s;
    out_pending_.append(p.substr(s));
  }
  queued_bytes_ += total - written;
  if (queued_bytes_ > kHighWatermark) above_high_ = true;
  if (!write_in_flight_) start_write();
  return !closing_;
}

void Peer::start_write() {
  auto* w = new WriteRequest;
  w->data.swap(out_pending_);
  w->req.data = this;
  uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, stream(), &b, 1, write_cb);
  if (rc != 0) {
    queued_bytes_ -= w->data.size();
    delete w;
    fail(rc);
    return;
  }
  write_in_flight_ = true;
}

void Peer::write_cb(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteRequest*>(req);
  if (status == UV_ECANCELED) {  // the handle is closing; touch nothing else
    delete w;
    return;
  }
  auto* self = static_cast<Peer*>(req->data);
  self->queued_bytes_ -= w->data.size();
  delete w;
  self->write_in_flight_ = false;
  if (status < 0) {
    self->fail(status);
    return;
  }
  if (!self->out_pending_.empty()) {
    self->start_write();
    return;
  }
  if (self->close_when_flushed_) {
    self->close();
    return;
  }
  if (self->above_high_ && self->queued_bytes_ < kLowWatermark) {
    self->above_high_ = false;
    self->on_drained();
  }
}

void Peer::fail(int status) {
  if (disconnected_ || closing_) return;
  disconnected_ = true;
  stop_reading();
  on_disconnect(status);
  close();
}

void Peer::close_after_flush() {
  if (closing_) return;
  stop_reading();
  if (!write_in_flight_ && out_pending_.empty()) {
    close();
    return;
  }
  close_when_flushed_ = true;
}

void Peer::close() {
  if (closing_) return;
  closing_ = true;
  reading_ = false;
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_)))
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), close_cb);
}

void Peer::close_cb(uv_handle_t* h) {
  auto* self = static_cast<Peer*>(h->data);
  self->on_closed();
  delete self;
}

namespace {

bool address_of(const sockaddr_storage& ss, std::string& host, uint16_t& port) {
  char name[64] = {0};
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    uv_ip6_name(a, name, sizeof name);
    port = ntohs(a->sin6_port);
  } else if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    uv_ip4_name(a, name, sizeof name);
    port = ntohs(a->sin_port);
  } else {
    return false;
  }
  host = name;
  return true;
}

}  // namespace

bool Peer::peer_address(std::string& host, uint16_t& port) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  return address_of(ss, host, port);
}

bool Peer::local_address(std::string& host, uint16_t& port) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  return address_of(ss, host, port);
}

}  // namespace pgs
