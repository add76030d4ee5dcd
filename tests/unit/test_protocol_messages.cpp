// Typed message builders and parsers.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/byte_reader.h"
#include "protocol/framer.h"
#include "protocol/messages.h"

#include "exact_buffer.h"

namespace pgs::proto {
namespace {

// Frames exactly one message and returns its body; fails the test otherwise.
std::string_view body_of(std::string_view msg, char type) {
  Framer f(1 << 20);
  const FrameResult r = f.next_header(msg);
  EXPECT_EQ(r.status, FrameStatus::Message);
  EXPECT_EQ(r.header.type, type);
  EXPECT_EQ(r.header.total(), msg.size());
  if (r.status != FrameStatus::Message || r.header.total() != msg.size()) return {};
  return msg.substr(kHeaderSize);
}

std::string z(std::string_view s) { return std::string(s) + std::string(1, '\0'); }

TEST(ProtocolMessages, ErrorResponseRoundTrip) {
  ErrorFields f;
  f.severity = "FATAL";
  f.sqlstate = "53300";
  f.message = "too many clients";
  f.detail = "pool \"app\" is full";
  f.hint = "raise max_client_conn";
  std::string out;
  write_error(out, f);
  ErrorFields back;
  ASSERT_TRUE(parse_error_fields(body_of(out, be::kErrorResponse), back));
  EXPECT_EQ(back.severity, f.severity);
  EXPECT_EQ(back.sqlstate, f.sqlstate);
  EXPECT_EQ(back.message, f.message);
  EXPECT_EQ(back.detail, f.detail);
  EXPECT_EQ(back.hint, f.hint);
}

TEST(ProtocolMessages, ErrorResponseExactBytesOmitEmptyFields) {
  ErrorFields f;
  f.severity = "ERROR";
  f.sqlstate = "08P01";
  f.message = "bad";
  std::string out;
  write_error(out, f);
  const std::string body = "S" + z("ERROR") + "V" + z("ERROR") + "C" + z("08P01") + "M" + z("bad") +
                           std::string(1, '\0');
  std::string want = "E" + std::string(4, '\0') + body;
  store_be32(want.data() + 1, static_cast<uint32_t>(4 + body.size()));
  EXPECT_EQ(out, want);
}

TEST(ProtocolMessages, NoticeRoundTrip) {
  ErrorFields f;
  f.severity = "NOTICE";
  f.sqlstate = "00000";
  f.message = "hello";
  f.hint = "only a hint";
  std::string out;
  write_notice(out, f);
  ErrorFields back;
  ASSERT_TRUE(parse_error_fields(body_of(out, be::kNoticeResponse), back));
  EXPECT_EQ(back.severity, "NOTICE");
  EXPECT_EQ(back.message, "hello");
  EXPECT_EQ(back.detail, "");
  EXPECT_EQ(back.hint, "only a hint");
}

TEST(ProtocolMessages, ParseErrorFieldsPrefersVAndIgnoresOthers) {
  const std::string localized = "S" + z("FEHLER") + "P" + z("12") + "V" + z("ERROR") + "C" +
                                z("42601") + "M" + z("syntax") + "W" + z("somewhere") +
                                std::string(1, '\0');
  ErrorFields f;
  ASSERT_TRUE(parse_error_fields(localized, f));
  EXPECT_EQ(f.severity, "ERROR");
  EXPECT_EQ(f.sqlstate, "42601");
  EXPECT_EQ(f.message, "syntax");
  const std::string old_server = "S" + z("FATAL") + "M" + z("m") + std::string(1, '\0');
  ASSERT_TRUE(parse_error_fields(old_server, f));
  EXPECT_EQ(f.severity, "FATAL");
  EXPECT_EQ(f.sqlstate, "");  // reset between calls
  EXPECT_TRUE(parse_error_fields(std::string(1, '\0'), f));
}

TEST(ProtocolMessages, ParseErrorFieldsRejectsEveryTruncation) {
  ErrorFields f;
  f.severity = "ERROR";
  f.sqlstate = "XX000";
  f.message = "m";
  f.detail = "d";
  std::string out;
  write_error(out, f);
  const std::string body(body_of(out, be::kErrorResponse));
  for (size_t cut = 0; cut < body.size(); ++cut) {
    ExactBuffer exact(std::string_view(body).substr(0, cut));
    ErrorFields back;
    EXPECT_FALSE(parse_error_fields(exact.view(), back)) << cut;
  }
  ErrorFields back;
  EXPECT_FALSE(parse_error_fields(body + "x", back));
}

TEST(ProtocolMessages, AuthenticationRequests) {
  std::string out;
  AuthRequest req;
  write_auth_ok(out);
  EXPECT_EQ(out, std::string("R\0\0\0\x08\0\0\0\0", 9));
  ASSERT_TRUE(parse_auth_request(body_of(out, be::kAuthentication), req));
  EXPECT_EQ(req.code, kAuthOk);
  EXPECT_TRUE(req.data.empty());

  out.clear();
  write_auth_cleartext(out);
  ASSERT_TRUE(parse_auth_request(body_of(out, be::kAuthentication), req));
  EXPECT_EQ(req.code, kAuthCleartext);

  out.clear();
  write_auth_md5(out, std::string_view("\x01\x00\xff\x7f", 4));
  ASSERT_TRUE(parse_auth_request(body_of(out, be::kAuthentication), req));
  EXPECT_EQ(req.code, kAuthMd5);
  EXPECT_EQ(req.data, std::string_view("\x01\x00\xff\x7f", 4));

  out.clear();
  const std::string_view mechs[] = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"};
  write_auth_sasl(out, mechs);
  ASSERT_TRUE(parse_auth_request(body_of(out, be::kAuthentication), req));
  EXPECT_EQ(req.code, kAuthSasl);
  std::vector<std::string_view> got;
  ASSERT_TRUE(parse_sasl_mechanisms(req.data, got));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], mechs[0]);
  EXPECT_EQ(got[1], mechs[1]);
  for (size_t cut = 0; cut < req.data.size(); ++cut) {
    ExactBuffer exact(req.data.substr(0, cut));
    EXPECT_FALSE(parse_sasl_mechanisms(exact.view(), got)) << cut;
  }

  out.clear();
  write_auth_sasl_continue(out, "r=abc,s=xyz,i=4096");
  ASSERT_TRUE(parse_auth_request(body_of(out, be::kAuthentication), req));
  EXPECT_EQ(req.code, kAuthSaslContinue);
  EXPECT_EQ(req.data, "r=abc,s=xyz,i=4096");

  out.clear();
  write_auth_sasl_final(out, "v=abc");
  ASSERT_TRUE(parse_auth_request(body_of(out, be::kAuthentication), req));
  EXPECT_EQ(req.code, kAuthSaslFinal);
  EXPECT_EQ(req.data, "v=abc");

  for (size_t n = 0; n < 4; ++n) {
    ExactBuffer exact(std::string(n, '\0'));
    EXPECT_FALSE(parse_auth_request(exact.view(), req));
  }
}

TEST(ProtocolMessages, ParameterStatusAndBackendKeyData) {
  std::string out;
  write_parameter_status(out, "server_version", "16.2");
  std::string_view name, value;
  const std::string body(body_of(out, be::kParameterStatus));
  ASSERT_TRUE(parse_parameter_status(body, name, value));
  EXPECT_EQ(name, "server_version");
  EXPECT_EQ(value, "16.2");
  for (size_t cut = 0; cut < body.size(); ++cut) {
    ExactBuffer exact(std::string_view(body).substr(0, cut));
    EXPECT_FALSE(parse_parameter_status(exact.view(), name, value)) << cut;
  }
  EXPECT_FALSE(parse_parameter_status(body + "x", name, value));

  out.clear();
  write_backend_key_data(out, 31337, INT32_MIN);
  EXPECT_EQ(out.size(), 13u);
  int32_t pid = 0, key = 0;
  const std::string kbody(body_of(out, be::kBackendKeyData));
  ASSERT_TRUE(parse_backend_key_data(kbody, pid, key));
  EXPECT_EQ(pid, 31337);
  EXPECT_EQ(key, INT32_MIN);
  for (size_t cut = 0; cut < kbody.size(); ++cut) {
    ExactBuffer exact(std::string_view(kbody).substr(0, cut));
    EXPECT_FALSE(parse_backend_key_data(exact.view(), pid, key)) << cut;
  }
  EXPECT_FALSE(parse_backend_key_data(kbody + "x", pid, key));
}

TEST(ProtocolMessages, ReadyForQuery) {
  for (char s : {'I', 'T', 'E'}) {
    std::string out;
    write_ready_for_query(out, s);
    EXPECT_EQ(out, std::string("Z\0\0\0\x05", 5) + s);
    char back = 0;
    ASSERT_TRUE(parse_ready_for_query(body_of(out, be::kReadyForQuery), back));
    EXPECT_EQ(back, s);
  }
  char back = 0;
  EXPECT_FALSE(parse_ready_for_query("", back));
  EXPECT_FALSE(parse_ready_for_query("II", back));
  EXPECT_FALSE(parse_ready_for_query("X", back));
}

TEST(ProtocolMessages, SimpleBackendMessagesExactBytes) {
  std::string out;
  write_command_complete(out, "SELECT 1");
  EXPECT_EQ(out, std::string("C\0\0\0\x0d", 5) + z("SELECT 1"));
  std::string_view tag;
  ASSERT_TRUE(parse_command_complete(body_of(out, be::kCommandComplete), tag));
  EXPECT_EQ(tag, "SELECT 1");
  EXPECT_FALSE(parse_command_complete("SELECT 1", tag));
  EXPECT_FALSE(parse_command_complete(z("A") + "B", tag));

  out.clear();
  write_empty_query_response(out);
  EXPECT_EQ(out, std::string("I\0\0\0\x04", 5));
}

// A RowDescription message whose columns are `want`, each sent in text
// format with no table, attribute or type modifier.
void expect_row_description(std::string_view msg, std::span<const RowField> want) {
  ByteReader r(body_of(msg, be::kRowDescription));
  int16_t count = 0;
  ASSERT_TRUE(r.read_i16(count));
  ASSERT_EQ(count, static_cast<int16_t>(want.size()));
  for (const RowField& w : want) {
    std::string_view name;
    int32_t table = 1, type = 0, typmod = 0;
    int16_t attnum = 1, typlen = 0, format = 1;
    ASSERT_TRUE(r.read_cstring(name) && r.read_i32(table) && r.read_i16(attnum) &&
                r.read_i32(type) && r.read_i16(typlen) && r.read_i32(typmod) &&
                r.read_i16(format));
    EXPECT_EQ(name, w.name);
    EXPECT_EQ(table, 0);
    EXPECT_EQ(attnum, 0);
    EXPECT_EQ(type, w.type_oid);
    EXPECT_EQ(typlen, w.type_size);
    EXPECT_EQ(typmod, -1);
    EXPECT_EQ(format, 0);
  }
  EXPECT_TRUE(r.empty());
}

TEST(ProtocolMessages, RowDescriptionAndDataRow) {
  std::string out;
  const std::string_view cols[] = {"database", "clients"};
  write_row_description(out, cols);
  const RowField text_columns[] = {{"database", 25, -1}, {"clients", 25, -1}};
  expect_row_description(out, text_columns);

  out.clear();
  const std::optional<std::string_view> values[] = {"abc", std::nullopt, ""};
  write_data_row(out, values);
  const std::string body = std::string("\0\x03", 2) + std::string("\0\0\0\x03", 4) + "abc" +
                           std::string("\xff\xff\xff\xff", 4) + std::string("\0\0\0\0", 4);
  std::string want = "D" + std::string(4, '\0') + body;
  store_be32(want.data() + 1, static_cast<uint32_t>(4 + body.size()));
  EXPECT_EQ(out, want);
}

TEST(ProtocolMessages, RowDescriptionWithTypes) {
  std::string out;
  const RowField fields[] = {{"name", 25, -1}, {"items", 23, 4}, {"total", 20, 8}};
  write_row_description(out, fields);
  expect_row_description(out, fields);
}

TEST(ProtocolMessages, FrontendMessages) {
  std::string out;
  write_query(out, "SELECT 1");
  EXPECT_EQ(out, std::string("Q\0\0\0\x0d", 5) + z("SELECT 1"));
  out.clear();
  write_terminate(out);
  EXPECT_EQ(out, std::string("X\0\0\0\x04", 5));
  out.clear();
  write_sync(out);
  EXPECT_EQ(out, std::string("S\0\0\0\x04", 5));

  out.clear();
  write_password_message(out, "md5abc");
  std::string_view password;
  ASSERT_TRUE(parse_password_message(body_of(out, fe::kPassword), password));
  EXPECT_EQ(password, "md5abc");
  EXPECT_FALSE(parse_password_message("no-nul", password));
  EXPECT_FALSE(parse_password_message(z("a") + "b", password));

  out.clear();
  write_sasl_initial_response(out, "SCRAM-SHA-256", "n,,n=,r=abc");
  std::string_view mech, data;
  const std::string body(body_of(out, fe::kPassword));
  ASSERT_TRUE(parse_sasl_initial_response(body, mech, data));
  EXPECT_EQ(mech, "SCRAM-SHA-256");
  EXPECT_EQ(data, "n,,n=,r=abc");
  for (size_t cut = 0; cut < body.size(); ++cut) {
    ExactBuffer exact(std::string_view(body).substr(0, cut));
    EXPECT_FALSE(parse_sasl_initial_response(exact.view(), mech, data)) << cut;
  }
  EXPECT_FALSE(parse_sasl_initial_response(body + "x", mech, data));
  const std::string no_data = z("SCRAM-SHA-256") + std::string("\xff\xff\xff\xff", 4);
  ASSERT_TRUE(parse_sasl_initial_response(no_data, mech, data));
  EXPECT_TRUE(data.empty());
  EXPECT_FALSE(parse_sasl_initial_response(z("M") + std::string("\xff\xff\xff\xfe", 4), mech, data));
  EXPECT_FALSE(parse_sasl_initial_response(z("M") + std::string("\x7f\xff\xff\xff", 4), mech, data));

  out.clear();
  write_sasl_response(out, "c=biws,r=x,p=y");
  EXPECT_EQ(body_of(out, fe::kPassword), "c=biws,r=x,p=y");
}

TEST(ProtocolMessages, RandomGarbageNeverCrashesParsers) {
  std::mt19937 rng(4242);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string data(rng() % 24, '\0');
    for (char& ch : data) ch = static_cast<char>(rng() % 3 == 0 ? 0 : rng());
    ExactBuffer exact(data);
    const std::string_view v = exact.view();
    ErrorFields f;
    std::string_view a, b;
    int32_t i = 0, j = 0;
    char c = 0;
    AuthRequest req;
    std::vector<std::string_view> list;
    (void)parse_error_fields(v, f);
    (void)parse_parameter_status(v, a, b);
    (void)parse_backend_key_data(v, i, j);
    (void)parse_ready_for_query(v, c);
    if (parse_auth_request(v, req)) (void)parse_sasl_mechanisms(req.data, list);
    (void)parse_sasl_mechanisms(v, list);
    (void)parse_password_message(v, a);
    if (parse_sasl_initial_response(v, a, b)) {
      EXPECT_LE(a.size() + b.size(), v.size());
    }
    (void)parse_command_complete(v, a);
  }
}

}  // namespace
}  // namespace pgs::proto
