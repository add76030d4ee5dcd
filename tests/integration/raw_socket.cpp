// RawSocket and wire-format helpers: bytes libpq would never send.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "harness.h"

namespace pgs::it {

// ---------------------------------------------------------------- raw sockets

RawSocket::~RawSocket() { close(); }

void RawSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawSocket::connect(const std::string& host, uint16_t port, milliseconds timeout) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (rc != 0 && errno != EINPROGRESS) {
    close();
    return false;
  }
  if (rc != 0) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      close();
      return false;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      close();
      return false;
    }
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return true;
}

bool RawSocket::send_all(std::string_view bytes) {
  const auto deadline = Clock::now() + 10s;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      ::poll(&p, 1, static_cast<int>(left));
      continue;
    }
    return false;
  }
  return true;
}

void RawSocket::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

RawSocket::ReadOutcome RawSocket::read_until_close(milliseconds timeout, size_t max_bytes) {
  ReadOutcome out;
  const auto deadline = Clock::now() + timeout;
  char buf[65536];
  while (out.bytes.size() < max_bytes) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      out.timed_out = true;
      return out;
    }
    pollfd p{fd_, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, max_bytes - out.bytes.size()), 0);
    if (got > 0) {
      out.bytes.append(buf, static_cast<size_t>(got));
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    out.closed = true;  // EOF or reset
    return out;
  }
  return out;
}

std::optional<std::string> RawSocket::read_exact(size_t n, milliseconds timeout) {
  std::string out;
  const auto deadline = Clock::now() + timeout;
  char buf[65536];
  while (out.size() < n) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
    if (got > 0) {
      out.append(buf, static_cast<size_t>(got));
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    return std::nullopt;
  }
  return out;
}

std::optional<RawSocket::Message> RawSocket::read_message(milliseconds timeout) {
  auto header = read_exact(5, timeout);
  if (!header) return std::nullopt;
  uint32_t len = read_be32(*header, 1);
  if (len < 4 || len > (64u << 20)) return std::nullopt;
  auto body = read_exact(len - 4, timeout);
  if (!body) return std::nullopt;
  return Message{(*header)[0], std::move(*body)};
}

std::string be32(uint32_t v) {
  std::string s(4, '\0');
  s[0] = static_cast<char>(v >> 24);
  s[1] = static_cast<char>(v >> 16);
  s[2] = static_cast<char>(v >> 8);
  s[3] = static_cast<char>(v);
  return s;
}

uint32_t read_be32(std::string_view s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::string startup_packet(const std::vector<std::pair<std::string, std::string>>& params,
                           uint32_t protocol) {
  std::string body = be32(protocol);
  for (const auto& [k, v] : params) {
    body += k;
    body += '\0';
    body += v;
    body += '\0';
  }
  body += '\0';
  return be32(static_cast<uint32_t>(body.size() + 4)) + body;
}

std::string typed_message(char type, std::string_view body) {
  return std::string(1, type) + be32(static_cast<uint32_t>(body.size() + 4)) + std::string(body);
}

std::string error_field(std::string_view body, char code) {
  size_t i = 0;
  while (i < body.size() && body[i] != '\0') {
    char c = body[i++];
    size_t end = body.find('\0', i);
    if (end == std::string_view::npos) return "";
    if (c == code) return std::string(body.substr(i, end - i));
    i = end + 1;
  }
  return "";
}

}  // namespace pgs::it
