// ByteReader bounds and MessageWriter framing.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/byte_reader.h"
#include "protocol/message_writer.h"

#include "exact_buffer.h"

namespace pgs::proto {
namespace {

enum class Read { U8, I16, I32, U32, CString, Bytes3 };

// Sample: u8 0xAB, i16 -2, i32 -123456, u32 0xDEADBEEF, "hello", bytes "xyz".
std::string sample() {
  std::string out;
  MessageWriter w(out);
  w.put_u8(0xAB);
  w.put_i16(-2);
  w.put_i32(-123456);
  w.put_i32(static_cast<int32_t>(0xDEADBEEFu));
  w.put_cstring("hello");
  w.put_bytes("xyz");
  return out;
}

constexpr Read kSequence[] = {Read::U8, Read::I16, Read::I32, Read::U32, Read::CString, Read::Bytes3};
constexpr size_t kSizes[] = {1, 2, 4, 4, 6, 3};

bool do_read(ByteReader& r, Read what) {
  uint8_t u8 = 0;
  int16_t i16 = 0;
  int32_t i32 = 0;
  uint32_t u32 = 0;
  std::string_view s;
  switch (what) {
    case Read::U8: return r.read_u8(u8);
    case Read::I16: return r.read_i16(i16);
    case Read::I32: return r.read_i32(i32);
    case Read::U32: return r.read_u32(u32);
    case Read::CString: return r.read_cstring(s);
    case Read::Bytes3: return r.read_bytes(3, s);
  }
  return false;
}

TEST(ProtocolByteReader, ReadsSampleValues) {
  const std::string data = sample();
  ASSERT_EQ(data.size(), 20u);
  ByteReader r(data);
  uint8_t u8 = 0;
  int16_t i16 = 0;
  int32_t i32 = 0;
  uint32_t u32 = 0;
  std::string_view s;
  ASSERT_TRUE(r.read_u8(u8));
  EXPECT_EQ(u8, 0xAB);
  ASSERT_TRUE(r.read_i16(i16));
  EXPECT_EQ(i16, -2);
  ASSERT_TRUE(r.read_i32(i32));
  EXPECT_EQ(i32, -123456);
  ASSERT_TRUE(r.read_u32(u32));
  EXPECT_EQ(u32, 0xDEADBEEFu);
  ASSERT_TRUE(r.read_cstring(s));
  EXPECT_EQ(s, "hello");
  EXPECT_EQ(r.rest(), "xyz");
  ASSERT_TRUE(r.read_bytes(3, s));
  EXPECT_EQ(s, "xyz");
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.position(), 20u);
  EXPECT_FALSE(r.read_u8(u8));
  EXPECT_TRUE(r.read_bytes(0, s));
  EXPECT_TRUE(s.empty());
}

TEST(ProtocolByteReader, EveryReadAtEveryTruncationFailsWithoutMoving) {
  const std::string data = sample();
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    ExactBuffer buf(std::string_view(data).substr(0, cut));
    ByteReader r(buf.view());
    size_t expected_pos = 0;
    for (size_t i = 0; i < std::size(kSequence); ++i) {
      const bool fits = expected_pos + kSizes[i] <= cut;
      // Every kind of read tried here must fail unless it fits, and a failure never moves.
      for (Read other : kSequence) {
        ByteReader probe = r;
        const bool ok = do_read(probe, other);
        if (!ok) {
          EXPECT_EQ(probe.position(), expected_pos) << "cut " << cut;
        }
      }
      const bool ok = do_read(r, kSequence[i]);
      ASSERT_EQ(ok, fits) << "cut " << cut << " read " << i;
      if (!ok) {
        EXPECT_EQ(r.position(), expected_pos);
        EXPECT_EQ(r.remaining(), cut - expected_pos);
        break;
      }
      expected_pos += kSizes[i];
      EXPECT_EQ(r.position(), expected_pos);
    }
  }
}

TEST(ProtocolByteReader, FixedWidthReadsNeedTheirWholeWidth) {
  for (size_t n = 0; n < 4; ++n) {
    ExactBuffer buf(std::string(n, '\x7f'));
    ByteReader r(buf.view());
    int32_t i32 = 0;
    uint32_t u32 = 0;
    int16_t i16 = 0;
    uint8_t u8 = 0;
    std::string_view s;
    EXPECT_FALSE(r.read_i32(i32));
    EXPECT_FALSE(r.read_u32(u32));
    EXPECT_EQ(r.read_i16(i16), n >= 2);
    EXPECT_EQ(ByteReader(buf.view()).read_u8(u8), n >= 1);
    EXPECT_FALSE(ByteReader(buf.view()).read_bytes(n + 1, s));
    EXPECT_FALSE(ByteReader(buf.view()).read_bytes(static_cast<size_t>(-1), s));
  }
}

TEST(ProtocolByteReader, CStringWithoutNulFails) {
  ExactBuffer buf("abc");
  ByteReader r(buf.view());
  std::string_view s = "untouched";
  EXPECT_FALSE(r.read_cstring(s));
  EXPECT_EQ(r.position(), 0u);
  ByteReader empty_string(std::string_view("\0x", 2));
  ASSERT_TRUE(empty_string.read_cstring(s));
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(empty_string.position(), 1u);
}

TEST(ProtocolByteReader, SignedValuesAndEndianness) {
  const char raw[] = {'\x80', '\x00', '\xff', '\xff', '\xff', '\xfe', '\x01', '\x02', '\x03', '\x04'};
  ByteReader r(std::string_view(raw, sizeof raw));
  int16_t i16 = 0;
  int32_t i32 = 0;
  uint32_t u32 = 0;
  ASSERT_TRUE(r.read_i16(i16));
  EXPECT_EQ(i16, INT16_MIN);
  ASSERT_TRUE(r.read_i32(i32));
  EXPECT_EQ(i32, -2);  // 0xfffffffe
  ByteReader r2(std::string_view(raw + 6, 4));
  ASSERT_TRUE(r2.read_u32(u32));
  EXPECT_EQ(u32, 0x01020304u);
  EXPECT_EQ(load_be32(raw + 6), 0x01020304u);
  char out[4];
  store_be32(out, 0xA1B2C3D4u);
  EXPECT_EQ(load_be32(out), 0xA1B2C3D4u);
}

TEST(ProtocolMessageWriter, TypedMessageLengthCountsItselfNotType) {
  std::string out = "prefix";
  MessageWriter w(out);
  w.begin('Q');
  w.put_cstring("SELECT 1");
  w.finish();
  ASSERT_EQ(out.size(), 6u + 1 + 4 + 9);
  EXPECT_EQ(out[6], 'Q');
  EXPECT_EQ(load_be32(out.data() + 7), 4u + 9);
  EXPECT_EQ(out.substr(11), std::string("SELECT 1\0", 9));
}

TEST(ProtocolMessageWriter, UntypedAndConsecutiveMessages) {
  std::string out;
  MessageWriter w(out);
  w.begin_untyped();
  w.put_i32(80877103);
  w.finish();
  w.begin('S');
  w.finish();
  w.begin('d');
  w.put_bytes(std::string(1000, 'x'));
  w.put_i16(-1);
  w.put_u8(7);
  w.finish();
  ASSERT_EQ(out.size(), 8u + 5 + 5 + 1003);
  EXPECT_EQ(load_be32(out.data()), 8u);
  EXPECT_EQ(out.substr(8, 5), std::string("S\0\0\0\4", 5));
  EXPECT_EQ(out[13], 'd');
  EXPECT_EQ(load_be32(out.data() + 14), 1007u);
  ByteReader r(std::string_view(out).substr(18 + 1000));
  int16_t i16 = 0;
  uint8_t u8 = 0;
  ASSERT_TRUE(r.read_i16(i16));
  ASSERT_TRUE(r.read_u8(u8));
  EXPECT_EQ(i16, -1);
  EXPECT_EQ(u8, 7);
  EXPECT_TRUE(r.empty());
}

TEST(ProtocolMessageWriter, RoundTripThroughReader) {
  std::string out;
  MessageWriter w(out);
  w.begin('X');
  w.put_i32(INT32_MIN);
  w.put_i32(INT32_MAX);
  w.put_i16(INT16_MIN);
  w.put_i16(INT16_MAX);
  w.put_u8(255);
  w.put_cstring("");
  w.put_cstring(std::string_view("a\xff", 2));
  w.finish();
  ByteReader r(out);
  uint8_t type = 0;
  uint32_t length = 0;
  int32_t a = 0, b = 0;
  int16_t c = 0, d = 0;
  uint8_t e = 0;
  std::string_view s1, s2;
  ASSERT_TRUE(r.read_u8(type));
  ASSERT_TRUE(r.read_u32(length));
  EXPECT_EQ(type, 'X');
  EXPECT_EQ(length, out.size() - 1);
  ASSERT_TRUE(r.read_i32(a) && r.read_i32(b) && r.read_i16(c) && r.read_i16(d) && r.read_u8(e));
  ASSERT_TRUE(r.read_cstring(s1) && r.read_cstring(s2));
  EXPECT_EQ(a, INT32_MIN);
  EXPECT_EQ(b, INT32_MAX);
  EXPECT_EQ(c, INT16_MIN);
  EXPECT_EQ(d, INT16_MAX);
  EXPECT_EQ(e, 255);
  EXPECT_EQ(s1, "");
  EXPECT_EQ(s2, "a\xff");
  EXPECT_TRUE(r.empty());
}

}  // namespace
}  // namespace pgs::proto
