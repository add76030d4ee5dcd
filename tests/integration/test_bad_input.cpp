// Hostile or broken clients on a raw TCP socket. Each must get an
// ErrorResponse or a closed connection, and must not disturb a well-behaved
// libpq client connected alongside.
#include "harness.h"

namespace pgs::it {
namespace {

class BadInput : public TargetTest {
 protected:
  void SetUp() override {
    ConfigBuilder cfg;
    cfg.proxy_lines = {"login_timeout_ms = 1000"};
    // trust: the raw post-login tests need no SCRAM client.
    cfg.auth_method = "trust";
    ASSERT_TRUE(start_target(GetParam(), cfg));
    bystander_ = connect_bench();
    ASSERT_TRUE(bystander_);
  }

  void expect_bystander_fine(const std::string& after) {
    EXPECT_EQ(query_value(bystander_.get(), "SELECT 'fine'"), "fine") << "after " << after;
    auto fresh = try_connect(conninfo());
    EXPECT_TRUE(fresh.ok()) << "new connection after " << after << ": " << fresh.error;
    if (!direct()) {
      EXPECT_TRUE(proxy()->running()) << "pgsluice died after " << after;
    }
  }

  // Sends `bytes` (optionally half-closing) and expects an ErrorResponse or a
  // close within `patience`. With `must_close`, an ErrorResponse must also be
  // followed by the close: the stream cannot be trusted any more.
  void expect_refused(const std::string& what, const std::string& bytes, bool half_close,
                      bool must_close = true, milliseconds patience = 6s, bool v3_error = true) {
    SCOPED_TRACE(what);
    RawSocket s;
    ASSERT_TRUE(s.connect("127.0.0.1", target_port()));
    if (!bytes.empty()) {
      ASSERT_TRUE(s.send_all(bytes));
    }
    if (half_close) s.shutdown_write();
    auto out = s.read_until_close(patience);
    if (out.bytes.empty()) {
      EXPECT_TRUE(out.closed) << "neither an answer nor a close within " << patience.count() << " ms";
    } else {
      ASSERT_EQ(out.bytes[0], 'E') << "first byte of the answer: 0x" << std::hex
                                   << int(static_cast<unsigned char>(out.bytes[0]));
      if (v3_error) check_error_response(out.bytes);
      if (must_close) {
        EXPECT_TRUE(out.closed) << "ErrorResponse sent but connection left open";
      }
    }
    expect_bystander_fine(what);
  }

  static void check_error_response(const std::string& bytes) {
    ASSERT_GE(bytes.size(), 5u);
    uint32_t len = read_be32(bytes, 1);
    ASSERT_GE(len, 4u);
    ASSERT_LE(len + 1, bytes.size()) << "truncated ErrorResponse";
    std::string body = bytes.substr(5, len - 4);
    EXPECT_EQ(error_field(body, 'C').size(), 5u) << "SQLSTATE field";
    EXPECT_FALSE(error_field(body, 'M').empty()) << "message field";
    std::printf("  ErrorResponse: %s %s: %s\n", error_field(body, 'S').c_str(),
                error_field(body, 'C').c_str(), error_field(body, 'M').c_str());
  }

  // Logs in on a raw socket (trust) and reads up to ReadyForQuery.
  bool raw_login(RawSocket& s) {
    if (!s.connect("127.0.0.1", target_port())) return false;
    const std::string user = direct() ? "rawtrust" : "bench";
    if (!s.send_all(startup_packet({{"user", user}, {"database", "bench"}}))) return false;
    for (int i = 0; i < 100; ++i) {
      auto m = s.read_message(5s);
      if (!m) return false;
      if (m->type == 'E') {
        ADD_FAILURE() << "raw login refused: " << error_field(m->body, 'M');
        return false;
      }
      if (m->type == 'R' && read_be32(m->body, 0) != 0) {
        ADD_FAILURE() << "raw login: trust expected, got auth request " << read_be32(m->body, 0);
        return false;
      }
      if (m->type == 'Z') return true;
    }
    return false;
  }

  Conn bystander_;
};

TEST_P(BadInput, HttpRequestInsteadOfStartup) {
  expect_refused("HTTP request", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", false);
}

TEST_P(BadInput, StartupLengthFour) { expect_refused("length 4", be32(4), false); }

TEST_P(BadInput, StartupLengthTwoToThe31) {
  expect_refused("length 2^31", be32(0x80000000u) + be32(196608), false);
}

TEST_P(BadInput, StartupLengthJustOverLimit) {
  expect_refused("length 10001", be32(10001) + be32(196608) + std::string(200, 'x'), false);
}

TEST_P(BadInput, TruncatedStartupThenClose) {
  std::string full = startup_packet({{"user", "bench"}, {"database", "bench"}});
  expect_refused("truncated startup", full.substr(0, full.size() / 2), true);
}

TEST_P(BadInput, RandomBytes) {
  uint32_t x = 42;
  for (int round = 0; round < 5; ++round) {
    std::string junk(300, '\0');
    for (char& ch : junk) {
      x = x * 1664525u + 1013904223u;
      ch = static_cast<char>(x >> 24);
    }
    // A plausible length so the junk is read as a startup packet body.
    junk.replace(0, 4, be32(static_cast<uint32_t>(junk.size())));
    expect_refused("random bytes round " + std::to_string(round), junk, round % 2 == 0);
  }
}

TEST_P(BadInput, UnsupportedProtocolVersion) {
  // PostgreSQL answers a 2.0 client in the 2.0 format ('E' + text, no length word).
  expect_refused("protocol 2.0", startup_packet({{"user", "bench"}, {"database", "bench"}}, 2 << 16),
                 false, true, 6s, false);
  expect_refused("protocol 4.0", startup_packet({{"user", "bench"}, {"database", "bench"}}, 4 << 16),
                 false);
}

TEST_P(BadInput, StartupWithoutUser) {
  RawSocket s;
  ASSERT_TRUE(s.connect("127.0.0.1", target_port()));
  ASSERT_TRUE(s.send_all(startup_packet({{"database", "bench"}})));
  auto out = s.read_until_close(5s);
  ASSERT_FALSE(out.bytes.empty()) << "a startup packet without user deserves an ErrorResponse";
  ASSERT_EQ(out.bytes[0], 'E');
  std::string body = out.bytes.substr(5, read_be32(out.bytes, 1) - 4);
  // PostgreSQL says 28000; a protocol violation (08P01) is as fair.
  const std::string code = error_field(body, 'C');
  EXPECT_TRUE(code == "28000" || code == "08P01") << code << " " << error_field(body, 'M');
  EXPECT_TRUE(out.closed);
  expect_bystander_fine("startup without user");
}

TEST_P(BadInput, UnterminatedParameterList) {
  // Claims 8 + 10 bytes; the parameters are never terminated.
  std::string p = be32(18) + be32(196608) + std::string("user\0bench", 10);
  expect_refused("unterminated parameters", p, false);
}

TEST_P(BadInput, SilentClientIsDisconnected) {
  // login_timeout_ms = 1000 through pgsluice; authentication_timeout = 5s direct.
  const auto start = Clock::now();
  expect_refused("silent client", "", false, true, 9s);
  EXPECT_LT(Clock::now() - start, 9s);
}

TEST_P(BadInput, SilentAfterSslRequestIsDisconnected) {
  RawSocket s;
  ASSERT_TRUE(s.connect("127.0.0.1", target_port()));
  ASSERT_TRUE(s.send_all(be32(8) + be32(80877103)));
  auto n = s.read_exact(1, 5s);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, "N");
  auto out = s.read_until_close(9s);
  EXPECT_TRUE(out.closed) << "a client silent after SSLRequest must be dropped by the login timeout";
  expect_bystander_fine("silent after SSLRequest");
}

TEST_P(BadInput, SslRequestAnsweredWithN) {
  RawSocket s;
  ASSERT_TRUE(s.connect("127.0.0.1", target_port()));
  ASSERT_TRUE(s.send_all(be32(8) + be32(80877103)));
  auto n = s.read_exact(1, 5s);
  ASSERT_TRUE(n) << "no answer to SSLRequest";
  EXPECT_EQ(*n, "N");
  // Exactly one byte, then the server waits for the startup packet...
  auto more = s.read_until_close(300ms);
  EXPECT_EQ(more.bytes, "");
  EXPECT_FALSE(more.closed);
  // ...which then proceeds normally.
  const std::string user = direct() ? "rawtrust" : "bench";
  ASSERT_TRUE(s.send_all(startup_packet({{"user", user}, {"database", "bench"}})));
  auto m = s.read_message(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, 'R');
}

TEST_P(BadInput, GssEncRequestAnsweredWithN) {
  RawSocket s;
  ASSERT_TRUE(s.connect("127.0.0.1", target_port()));
  ASSERT_TRUE(s.send_all(be32(8) + be32(80877104)));
  auto n = s.read_exact(1, 5s);
  ASSERT_TRUE(n) << "no answer to GSSENCRequest";
  // pgsluice has no GSSAPI: 'N'. A PostgreSQL built with GSSAPI says 'G'.
  if (direct()) {
    EXPECT_TRUE(*n == "N" || *n == "G") << *n;
  } else {
    EXPECT_EQ(*n, "N");
    // And the client may go on with a normal startup.
    ASSERT_TRUE(s.send_all(startup_packet({{"user", "bench"}, {"database", "bench"}})));
    auto m = s.read_message(5s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type, 'R');
  }
}

TEST_P(BadInput, TwoSslRequests) {
  RawSocket s;
  ASSERT_TRUE(s.connect("127.0.0.1", target_port()));
  ASSERT_TRUE(s.send_all(be32(8) + be32(80877103)));
  ASSERT_EQ(s.read_exact(1, 5s).value_or(""), "N");
  ASSERT_TRUE(s.send_all(be32(8) + be32(80877103)));
  auto out = s.read_until_close(6s);
  // PostgreSQL refuses a second negotiation; anything but a hang is fine.
  EXPECT_TRUE(out.closed || (!out.bytes.empty() && (out.bytes[0] == 'E' || out.bytes[0] == 'N')));
  expect_bystander_fine("two SSLRequests");
}

TEST_P(BadInput, BadMessageLengthAfterLogin) {
  for (uint32_t len : {0u, 3u, 0x7fffffffu, 0xffffffffu}) {
    SCOPED_TRACE("length " + std::to_string(len));
    RawSocket s;
    ASSERT_TRUE(raw_login(s));
    ASSERT_TRUE(s.send_all("Q" + be32(len) + "SELECT 1"));
    auto out = s.read_until_close(6s);
    if (!out.bytes.empty()) {
      EXPECT_EQ(out.bytes[0], 'E');
      check_error_response(out.bytes);
    }
    EXPECT_TRUE(out.closed) << "connection with an invalid message length left open";
    expect_bystander_fine("message length " + std::to_string(len));
  }
}

TEST_P(BadInput, UnknownMessageTypeAfterLogin) {
  RawSocket s;
  ASSERT_TRUE(raw_login(s));
  ASSERT_TRUE(s.send_all(typed_message('z', "whatever")));
  auto out = s.read_until_close(6s, 1 << 16);
  // An ErrorResponse, possibly followed by a close; either way, no hang and no crash.
  EXPECT_TRUE(out.closed || (!out.bytes.empty() && out.bytes[0] == 'E'))
      << "unknown message type: no answer";
  if (!out.bytes.empty()) {
    EXPECT_EQ(out.bytes[0], 'E');
  }
  expect_bystander_fine("unknown message type");
}

TEST_P(BadInput, TruncatedQueryThenClose) {
  RawSocket s;
  ASSERT_TRUE(raw_login(s));
  std::string q = typed_message('Q', std::string("SELECT pg_sleep(0.1)\0", 21));
  ASSERT_TRUE(s.send_all(q.substr(0, 9)));
  s.close();
  expect_bystander_fine("truncated query then close");
  // And a complete query, then close without reading the answer.
  RawSocket s2;
  ASSERT_TRUE(raw_login(s2));
  ASSERT_TRUE(s2.send_all(typed_message('Q', std::string("SELECT 1\0", 9))));
  s2.close();
  expect_bystander_fine("query then close without reading");
}

TEST_P(BadInput, RawQueryRoundTrip) {
  // The raw client itself is right: a proper query gets a proper answer.
  RawSocket s;
  ASSERT_TRUE(raw_login(s));
  ASSERT_TRUE(s.send_all(typed_message('Q', std::string("SELECT 40 + 2\0", 14))));
  std::string value;
  for (int i = 0; i < 20; ++i) {
    auto m = s.read_message(5s);
    ASSERT_TRUE(m);
    if (m->type == 'D') value = m->body.substr(6);
    if (m->type == 'Z') break;
  }
  EXPECT_EQ(value, "42");
  ASSERT_TRUE(s.send_all(typed_message('X', "")));
  auto out = s.read_until_close(5s);
  EXPECT_TRUE(out.closed);
}

INSTANTIATE_TEST_SUITE_P(All, BadInput,
                         ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session),
                         variant_name);

}  // namespace
}  // namespace pgs::it
