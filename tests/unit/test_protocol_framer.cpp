// Framer: headers at every split, invalid lengths, sticky failure, garbage.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/byte_reader.h"
#include "protocol/framer.h"
#include "protocol/message_writer.h"
#include "protocol/messages.h"

#include "exact_buffer.h"

namespace pgs::proto {
namespace {

std::string header_bytes(char type, uint32_t length) {
  std::string h(5, '\0');
  h[0] = type;
  store_be32(h.data() + 1, length);
  return h;
}

struct Stream {
  std::string bytes;
  std::vector<FrameHeader> headers;
};

// Several concatenated messages of different shapes, with the headers they should frame to.
Stream sample_stream() {
  Stream s;
  auto add = [&s](const std::string& msg) {
    FrameHeader h;
    h.type = msg[0];
    h.length = static_cast<uint32_t>(msg.size() - 1);
    s.headers.push_back(h);
    s.bytes += msg;
  };
  std::string m;
  write_query(m, "SELECT 1");
  add(m);
  m.clear();
  write_sync(m);  // empty body
  add(m);
  m.clear();
  {
    MessageWriter w(m);
    w.begin('D');
    w.put_i16(1);
    w.put_i32(300);
    w.put_bytes(std::string(300, 'z'));
    w.finish();
  }
  add(m);
  m.clear();
  write_ready_for_query(m, 'I');
  add(m);
  m.clear();
  write_terminate(m);
  add(m);
  return s;
}

// A consumer that buffers input and takes every whole message, as the proxy would.
struct Consumer {
  explicit Consumer(uint32_t max) : framer(max) {}
  Framer framer;
  std::string buffer;
  std::vector<FrameHeader> seen;
  FrameResult last;

  void feed(std::string_view chunk) {
    buffer.append(chunk);
    for (;;) {
      ExactBuffer exact(buffer);  // no slack, so overreads are caught
      last = framer.next_header(exact.view());
      if (last.status != FrameStatus::Message) return;
      if (buffer.size() < last.header.total()) return;
      seen.push_back(last.header);
      buffer.erase(0, last.header.total());
    }
  }
};

void expect_headers(const std::vector<FrameHeader>& got, const std::vector<FrameHeader>& want,
                    size_t count) {
  ASSERT_EQ(got.size(), count);
  for (size_t i = 0; i < count; ++i) {
    EXPECT_EQ(got[i].type, want[i].type) << i;
    EXPECT_EQ(got[i].length, want[i].length) << i;
  }
}

TEST(ProtocolFramer, HeaderFields) {
  Framer f(1 << 20);
  std::string m;
  write_query(m, "SELECT 1");
  const FrameResult r = f.next_header(m);
  ASSERT_EQ(r.status, FrameStatus::Message);
  EXPECT_EQ(r.header.type, 'Q');
  EXPECT_EQ(r.header.length, 4u + 9);
  EXPECT_EQ(r.header.total(), m.size());
  EXPECT_EQ(r.header.body_size(), 9u);
  EXPECT_FALSE(f.failed());
}

TEST(ProtocolFramer, GrowingPrefixesOfAStream) {
  const Stream s = sample_stream();
  for (size_t p = 0; p <= s.bytes.size(); ++p) {
    const std::string_view prefix = std::string_view(s.bytes).substr(0, p);
    Framer f(1 << 20);
    size_t off = 0;
    size_t complete = 0;
    for (;;) {
      ExactBuffer exact(prefix.substr(off));
      const FrameResult r = f.next_header(exact.view());
      const size_t avail = p - off;
      if (complete == s.headers.size()) {
        ASSERT_EQ(r.status, FrameStatus::NeedMore);
        EXPECT_EQ(r.need, kHeaderSize);
        break;
      }
      if (avail < kHeaderSize) {
        ASSERT_EQ(r.status, FrameStatus::NeedMore) << "prefix " << p;
        EXPECT_EQ(r.need, kHeaderSize - avail);
        break;
      }
      ASSERT_EQ(r.status, FrameStatus::Message) << "prefix " << p;
      EXPECT_EQ(r.header.type, s.headers[complete].type);
      EXPECT_EQ(r.header.length, s.headers[complete].length);
      if (avail < r.header.total()) break;  // header known, body still arriving
      off += r.header.total();
      ++complete;
    }
    EXPECT_FALSE(f.failed());
  }
}

TEST(ProtocolFramer, EveryTwoWaySplit) {
  const Stream s = sample_stream();
  for (size_t split = 0; split <= s.bytes.size(); ++split) {
    Consumer c(1 << 20);
    c.feed(std::string_view(s.bytes).substr(0, split));
    c.feed(std::string_view(s.bytes).substr(split));
    expect_headers(c.seen, s.headers, s.headers.size());
    EXPECT_TRUE(c.buffer.empty());
    EXPECT_EQ(c.last.status, FrameStatus::NeedMore);
  }
}

TEST(ProtocolFramer, OneByteAtATime) {
  const Stream s = sample_stream();
  Consumer c(1 << 20);
  size_t fed = 0;
  for (char ch : s.bytes) {
    c.feed(std::string_view(&ch, 1));
    ++fed;
    // Whole messages in the first `fed` bytes are exactly the ones seen.
    size_t total = 0, count = 0;
    for (const auto& h : s.headers) {
      if (total + h.total() > fed) break;
      total += h.total();
      ++count;
    }
    expect_headers(c.seen, s.headers, count);
  }
  EXPECT_EQ(c.seen.size(), s.headers.size());
}

TEST(ProtocolFramer, LengthsBelowFourAreInvalid) {
  for (uint32_t len = 0; len < 4; ++len) {
    Framer f(1 << 20);
    const FrameResult r = f.next_header(header_bytes('Q', len));
    EXPECT_EQ(r.status, FrameStatus::Invalid) << len;
    EXPECT_TRUE(f.failed());
    EXPECT_NE(std::string(r.error).find(std::to_string(len)), std::string::npos) << r.error;
  }
  Framer f(1 << 20);
  EXPECT_EQ(f.next_header(header_bytes('S', 4)).status, FrameStatus::Message);
}

TEST(ProtocolFramer, OverMaximumIsInvalidBeforeTheBody) {
  Framer f(100);
  EXPECT_EQ(f.next_header(header_bytes('d', 100)).status, FrameStatus::Message);
  const FrameResult r = f.next_header(header_bytes('d', 101));  // header only, no body yet
  EXPECT_EQ(r.status, FrameStatus::Invalid);
  EXPECT_GT(std::strlen(r.error), 0u);
  EXPECT_TRUE(f.failed());

  Framer huge(0x7fffffff);
  EXPECT_EQ(huge.next_header(header_bytes('d', 0xffffffffu)).status, FrameStatus::Invalid);
  Framer raised(100);
  raised.set_max_length(200);
  EXPECT_EQ(raised.max_length(), 200u);
  EXPECT_EQ(raised.next_header(header_bytes('d', 150)).status, FrameStatus::Message);
}

TEST(ProtocolFramer, FailureIsSticky) {
  Framer f(1000);
  ASSERT_EQ(f.next_header(header_bytes('Q', 2)).status, FrameStatus::Invalid);
  std::string good;
  write_sync(good);
  for (int i = 0; i < 3; ++i) {
    const FrameResult r = f.next_header(good);
    EXPECT_EQ(r.status, FrameStatus::Invalid);
    EXPECT_GT(std::strlen(r.error), 0u);
    EXPECT_EQ(f.next_header("").status, FrameStatus::Invalid);
    EXPECT_TRUE(f.failed());
  }
  f.set_max_length(1 << 20);
  EXPECT_EQ(f.next_header(good).status, FrameStatus::Invalid);
}

TEST(ProtocolFramer, InvalidMidStreamAfterGoodMessages) {
  std::string stream;
  write_query(stream, "x");
  write_sync(stream);
  stream += header_bytes('Q', 3);
  write_sync(stream);
  Consumer c(1 << 20);
  c.feed(stream);
  ASSERT_EQ(c.seen.size(), 2u);
  EXPECT_EQ(c.last.status, FrameStatus::Invalid);
  EXPECT_TRUE(c.framer.failed());
}

TEST(ProtocolFramer, RandomGarbageNeverCrashes) {
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 5000; ++iter) {
    std::string data(rng() % 64, '\0');
    for (char& ch : data) ch = static_cast<char>(rng());
    // Bias some lengths toward plausible values so bodies are exercised too.
    if (data.size() >= 5 && iter % 2 == 0) store_be32(data.data() + 1, 4 + rng() % 20);
    const uint32_t max = 4 + rng() % 64;
    Framer f(max);
    size_t off = 0;
    for (;;) {
      ExactBuffer exact(std::string_view(data).substr(off));
      const FrameResult r = f.next_header(exact.view());
      if (r.status == FrameStatus::NeedMore) {
        EXPECT_EQ(r.need, kHeaderSize - (data.size() - off));
        break;
      }
      if (r.status == FrameStatus::Invalid) {
        const uint32_t len = load_be32(data.data() + off + 1);
        EXPECT_TRUE(len < 4 || len > max);
        EXPECT_TRUE(f.failed());
        break;
      }
      EXPECT_GE(r.header.length, 4u);
      EXPECT_LE(r.header.length, max);
      if (data.size() - off < r.header.total()) break;
      off += r.header.total();
    }
  }
}

}  // namespace
}  // namespace pgs::proto
