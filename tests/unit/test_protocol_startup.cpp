// Untyped startup packets: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/byte_reader.h"
#include "protocol/message_writer.h"
#include "protocol/messages.h"
#include "protocol/startup.h"

#include "exact_buffer.h"

namespace pgs::proto {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

// A packet with the given code and raw payload; the length word is filled in.
std::string packet(int32_t code, std::string_view payload) {
  std::string out;
  MessageWriter w(out);
  w.begin_untyped();
  w.put_i32(code);
  w.put_bytes(payload);
  w.finish();
  return out;
}

std::string nul_joined(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    out.append(p);
    out.push_back('\0');
  }
  return out;
}

bool parse(std::string_view bytes, StartupPacket& out, std::string& error) {
  ExactBuffer exact(bytes);
  return parse_startup(exact.view(), out, error);
}

TEST(ProtocolStartup, StartupMessageRoundTrip) {
  const Params params = {{"user", "alice"},
                         {"database", "app db"},
                         {"application_name", ""},
                         {"options", "-c search_path=x,y"},
                         {"client_encoding", "UTF8"}};
  std::string bytes;
  write_startup_message(bytes, params);
  const StartupFrame f = peek_startup(bytes);
  ASSERT_EQ(f.status, FrameStatus::Message);
  ASSERT_EQ(f.length, bytes.size());
  StartupPacket p;
  std::string error;
  ASSERT_TRUE(parse(bytes, p, error)) << error;
  EXPECT_EQ(p.kind, StartupKind::Startup);
  EXPECT_EQ(p.protocol, kProtocol30);
  EXPECT_EQ(p.params, params);
  EXPECT_TRUE(p.unknown_protocol_options.empty());
  ASSERT_NE(p.param("user"), nullptr);
  EXPECT_EQ(*p.param("user"), "alice");
  ASSERT_NE(p.param("application_name"), nullptr);
  EXPECT_EQ(*p.param("application_name"), "");
  EXPECT_EQ(p.param("nope"), nullptr);
}

TEST(ProtocolStartup, ExactBytesOfStartupMessage) {
  std::string bytes;
  const Params params = {{"user", "u"}};
  write_startup_message(bytes, params);
  const std::string want = std::string("\0\0\0\x10\0\x03\0\0user\0u\0\0", 16);
  EXPECT_EQ(bytes, want);
}

TEST(ProtocolStartup, EverySplitOfAStartupMessage) {
  const Params params = {{"user", "bob"}, {"database", "postgres"}};
  std::string bytes;
  write_startup_message(bytes, params);
  for (size_t p = 0; p <= bytes.size(); ++p) {
    ExactBuffer prefix(std::string_view(bytes).substr(0, p));
    const StartupFrame f = peek_startup(prefix.view());
    if (p < 4) {
      ASSERT_EQ(f.status, FrameStatus::NeedMore);
      EXPECT_EQ(f.need, 4 - p);
      continue;
    }
    ASSERT_EQ(f.status, FrameStatus::Message);
    EXPECT_EQ(f.length, bytes.size());
    StartupPacket out;
    std::string error;
    if (p < f.length) {
      // A caller never does this, but a short packet must still be refused safely.
      EXPECT_FALSE(parse_startup(prefix.view(), out, error));
      EXPECT_FALSE(error.empty());
    } else {
      ASSERT_TRUE(parse_startup(prefix.view(), out, error)) << error;
      EXPECT_EQ(out.params, params);
    }
  }
}

TEST(ProtocolStartup, ParsingEveryTruncationOfThePayloadFails) {
  // The length word is rewritten to match, so only the layout is wrong.
  const std::string body = nul_joined({"user", "bob", "database", "db", ""});
  for (size_t cut = 0; cut < body.size(); ++cut) {
    const std::string bytes = packet(kProtocol30, std::string_view(body).substr(0, cut));
    StartupPacket out;
    std::string error;
    EXPECT_FALSE(parse(bytes, out, error)) << cut;
    EXPECT_FALSE(error.empty());
  }
}

TEST(ProtocolStartup, SslAndGssEncRequests) {
  const std::string ssl("\0\0\0\x08\x04\xd2\x16\x2f", 8);
  const std::string gss("\0\0\0\x08\x04\xd2\x16\x30", 8);
  StartupPacket p;
  std::string error;
  ASSERT_EQ(peek_startup(ssl).status, FrameStatus::Message);
  EXPECT_EQ(peek_startup(ssl).length, 8u);
  ASSERT_TRUE(parse(ssl, p, error)) << error;
  EXPECT_EQ(p.kind, StartupKind::SslRequest);
  ASSERT_TRUE(parse(gss, p, error)) << error;
  EXPECT_EQ(p.kind, StartupKind::GssEncRequest);
  EXPECT_FALSE(parse(packet(kSslRequestCode, "abcd"), p, error));
  EXPECT_FALSE(parse(packet(kGssEncRequestCode, "abcd"), p, error));
}

TEST(ProtocolStartup, CancelRequest) {
  std::string bytes;
  write_cancel_request(bytes, 4242, -123456789);
  ASSERT_EQ(bytes.size(), 16u);
  ASSERT_EQ(peek_startup(bytes).length, 16u);
  StartupPacket p;
  std::string error;
  ASSERT_TRUE(parse(bytes, p, error)) << error;
  EXPECT_EQ(p.kind, StartupKind::Cancel);
  EXPECT_EQ(p.cancel_pid, 4242);
  EXPECT_EQ(p.cancel_key, -123456789);
  EXPECT_FALSE(parse(packet(kCancelRequestCode, "1234"), p, error));
  EXPECT_FALSE(parse(packet(kCancelRequestCode, "123456789012"), p, error));
  EXPECT_FALSE(parse(packet(kCancelRequestCode, ""), p, error));
}

TEST(ProtocolStartup, PeekLengthLimits) {
  auto len_word = [](uint32_t n) {
    std::string s(4, '\0');
    store_be32(s.data(), n);
    return s;
  };
  for (uint32_t n : {0u, 1u, 4u, 7u}) {
    const StartupFrame f = peek_startup(len_word(n));
    EXPECT_EQ(f.status, FrameStatus::Invalid) << n;
    EXPECT_GT(std::strlen(f.error), 0u);
  }
  EXPECT_EQ(peek_startup(len_word(8)).status, FrameStatus::Message);
  EXPECT_EQ(peek_startup(len_word(kMaxStartupPacket)).status, FrameStatus::Message);
  EXPECT_EQ(peek_startup(len_word(kMaxStartupPacket + 1)).status, FrameStatus::Invalid);
  EXPECT_EQ(peek_startup(len_word(0xffffffffu)).status, FrameStatus::Invalid);
}

TEST(ProtocolStartup, LengthWordMustMatchPacket) {
  std::string bytes;
  const Params params = {{"user", "bob"}};
  write_startup_message(bytes, params);
  StartupPacket p;
  std::string error;
  std::string longer = bytes + "x";
  EXPECT_FALSE(parse(longer, p, error));
  std::string lying = bytes;
  store_be32(lying.data(), static_cast<uint32_t>(bytes.size() + 1));
  EXPECT_FALSE(parse(lying, p, error));
  EXPECT_FALSE(parse("", p, error));
  EXPECT_FALSE(parse(std::string("\0\0\0\x04", 4), p, error));
}

TEST(ProtocolStartup, OversizedPacketIsRefused) {
  const std::string big(kMaxStartupPacket, 'a');
  const std::string bytes = packet(kProtocol30, nul_joined({"user", big, ""}));
  EXPECT_EQ(peek_startup(bytes).status, FrameStatus::Invalid);
  StartupPacket p;
  std::string error;
  EXPECT_FALSE(parse(bytes, p, error));
}

TEST(ProtocolStartup, MissingTerminator) {
  StartupPacket p;
  std::string error;
  EXPECT_FALSE(parse(packet(kProtocol30, nul_joined({"user", "bob"})), p, error));
  EXPECT_NE(error.find("terminator"), std::string::npos) << error;
  EXPECT_FALSE(parse(packet(kProtocol30, ""), p, error));  // no parameters, no terminator
  EXPECT_FALSE(parse(packet(kProtocol30, nul_joined({"user"})), p, error));  // name, no value
  EXPECT_FALSE(parse(packet(kProtocol30, std::string("user\0bob", 8)), p, error));
  // Bytes after the terminator.
  EXPECT_FALSE(parse(packet(kProtocol30, nul_joined({"user", "bob", "", "x"})), p, error));
  EXPECT_FALSE(parse(packet(kProtocol30, nul_joined({"user", "bob", "", ""})), p, error));
}

TEST(ProtocolStartup, MissingUser) {
  StartupPacket p;
  std::string error;
  EXPECT_FALSE(parse(packet(kProtocol30, nul_joined({"database", "db", ""})), p, error));
  EXPECT_EQ(error, "no PostgreSQL user name specified in startup packet");
  error.clear();
  EXPECT_FALSE(parse(packet(kProtocol30, nul_joined({""})), p, error));
  EXPECT_EQ(error, "no PostgreSQL user name specified in startup packet");
  error.clear();
  EXPECT_FALSE(parse(packet(kProtocol30, nul_joined({"user", "", ""})), p, error));
  EXPECT_EQ(error, "no PostgreSQL user name specified in startup packet");
}

TEST(ProtocolStartup, UnsupportedProtocolVersions) {
  StartupPacket p;
  std::string error;
  const std::string params = nul_joined({"user", "bob", ""});
  EXPECT_FALSE(parse(packet(2 << 16, params), p, error));
  EXPECT_EQ(error, "unsupported frontend protocol 2.0: server supports 3.0");
  EXPECT_FALSE(parse(packet((4 << 16) | 1, params), p, error));
  EXPECT_EQ(error, "unsupported frontend protocol 4.1: server supports 3.0");
  EXPECT_FALSE(parse(packet((1234 << 16) | 5681, params), p, error));
  EXPECT_EQ(error, "unsupported frontend protocol 1234.5681: server supports 3.0");
  EXPECT_FALSE(parse(packet(-1, params), p, error));
  EXPECT_EQ(error, "unsupported frontend protocol 65535.65535: server supports 3.0");
}

TEST(ProtocolStartup, NewerMinorWithProtocolOptions) {
  const int32_t v31 = kProtocol30 | 1;
  const std::string payload = nul_joined(
      {"user", "bob", "_pq_.compression", "on", "database", "db", "_pq_.other", "1", ""});
  StartupPacket p;
  std::string error;
  ASSERT_TRUE(parse(packet(v31, payload), p, error)) << error;
  EXPECT_EQ(p.protocol, v31);
  const Params want = {{"user", "bob"}, {"database", "db"}};
  EXPECT_EQ(p.params, want);
  const std::vector<std::string> opts = {"_pq_.compression", "_pq_.other"};
  EXPECT_EQ(p.unknown_protocol_options, opts);

  // The reply a caller builds from it.
  std::string reply;
  write_negotiate_protocol_version(reply, 0, p.unknown_protocol_options);
  const std::string expected = std::string("v\0\0\0\x28\0\0\0\0\0\0\0\x02", 13) +
                               nul_joined({"_pq_.compression", "_pq_.other"});
  EXPECT_EQ(reply, expected);
}

TEST(ProtocolStartup, DuplicateKeysKeepFirstPositionLastValue) {
  StartupPacket p;
  std::string error;
  ASSERT_TRUE(parse(packet(kProtocol30,
                           nul_joined({"user", "a", "database", "d", "user", "b", ""})),
                    p, error))
      << error;
  const Params want = {{"user", "b"}, {"database", "d"}};
  EXPECT_EQ(p.params, want);
}

TEST(ProtocolStartup, ParseResetsOutput) {
  StartupPacket p;
  std::string error;
  ASSERT_TRUE(parse(packet(kProtocol30 | 2, nul_joined({"user", "a", "_pq_.x", "1", ""})), p,
                    error));
  std::string cancel;
  write_cancel_request(cancel, 1, 2);
  ASSERT_TRUE(parse(cancel, p, error));
  EXPECT_EQ(p.kind, StartupKind::Cancel);
  EXPECT_TRUE(p.params.empty());
  EXPECT_TRUE(p.unknown_protocol_options.empty());
}

TEST(ProtocolStartup, RandomGarbageNeverCrashes) {
  std::mt19937 rng(777);
  const std::string valid = packet(kProtocol30, nul_joined({"user", "bob", "database", "x", ""}));
  for (int iter = 0; iter < 20000; ++iter) {
    std::string data;
    if (iter % 2 == 0) {
      data.resize(rng() % 40);
      for (char& ch : data) ch = static_cast<char>(rng() % 4 == 0 ? 0 : rng());
      if (data.size() >= 8) {
        store_be32(data.data(), static_cast<uint32_t>(data.size()));
        const int32_t codes[] = {kProtocol30, kProtocol30 | 1, kCancelRequestCode,
                                 kSslRequestCode, static_cast<int32_t>(rng())};
        store_be32(data.data() + 4, static_cast<uint32_t>(codes[rng() % 5]));
      }
    } else {
      data = valid;  // mutate a valid packet
      for (int k = 0; k < 3; ++k) data[rng() % data.size()] = static_cast<char>(rng());
      if (rng() % 2) data.resize(rng() % (data.size() + 1));
    }
    ExactBuffer exact(data);
    const StartupFrame f = peek_startup(exact.view());
    if (f.status == FrameStatus::Message) {
      EXPECT_GE(f.length, 8u);
    }
    StartupPacket p;
    std::string error;
    if (!parse_startup(exact.view(), p, error)) {
      EXPECT_FALSE(error.empty());
    } else if (p.kind == StartupKind::Startup) {
      EXPECT_NE(p.param("user"), nullptr);
    }
  }
}

}  // namespace
}  // namespace pgs::proto
