// The admin port's HTTP layer: protocol sniffing, request parsing split at
// every byte, responses and basic auth.
#include <gtest/gtest.h>

#include <string>

#include "protocol/auth.h"
#include "proxy/admin/http.h"

namespace pgs::admin {
namespace {

TEST(AdminHttp, SniffTellsHttpFromPostgres) {
  EXPECT_EQ(sniff_protocol("GE"), Sniff::NeedMore);
  EXPECT_EQ(sniff_protocol("GET /metrics"), Sniff::Http);
  EXPECT_EQ(sniff_protocol("HEAD / HTTP/1.1"), Sniff::Http);
  EXPECT_EQ(sniff_protocol(std::string("\0\0\0\x08\x04\xd2\x16\x2f", 8)), Sniff::Postgres);
  EXPECT_EQ(sniff_protocol(std::string("\0", 1)), Sniff::Postgres);
  EXPECT_EQ(sniff_protocol("xyzw"), Sniff::Postgres);  // then refused as a bad startup packet
}

TEST(AdminHttp, ParsesARequestSplitAtEveryByte) {
  const std::string req =
      "GET /api/status?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic YTpi\r\n"
      "Connection: keep-alive\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n";
  for (size_t cut = 0; cut < req.size(); ++cut) {
    HttpRequest r;
    size_t used = 0;
    std::string error;
    HttpParse p = parse_http_request(std::string_view(req).substr(0, cut), r, used, error);
    size_t first_end = req.find("\r\n\r\n") + 4;
    if (cut < first_end) {
      EXPECT_EQ(p, HttpParse::NeedMore) << cut;
    } else {
      ASSERT_EQ(p, HttpParse::Ok) << cut << " " << error;
      EXPECT_EQ(used, first_end);
      EXPECT_EQ(r.method, "GET");
      EXPECT_EQ(r.path, "/api/status");
      EXPECT_EQ(r.query, "x=1");
      EXPECT_EQ(r.authorization, "Basic YTpi");
      EXPECT_TRUE(r.keep_alive);
    }
  }
}

TEST(AdminHttp, RefusesWhatItDoesNotServe) {
  HttpRequest r;
  size_t used = 0;
  std::string error;
  EXPECT_EQ(parse_http_request("GET / HTTP/2\r\n\r\n", r, used, error), HttpParse::Bad);
  EXPECT_EQ(parse_http_request("GET\r\n\r\n", r, used, error), HttpParse::Bad);
  EXPECT_EQ(parse_http_request("GET http://x/ HTTP/1.1\r\n\r\n", r, used, error), HttpParse::Bad);
  EXPECT_EQ(parse_http_request("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", r, used, error), HttpParse::Bad);
  EXPECT_EQ(parse_http_request("GET / HTTP/1.1\r\nbroken\r\n\r\n", r, used, error), HttpParse::Bad);
  std::string huge = "GET / HTTP/1.1\r\nX: " + std::string(kMaxHttpHeader, 'a');
  EXPECT_EQ(parse_http_request(huge, r, used, error), HttpParse::TooLarge);
  ASSERT_EQ(parse_http_request("GET / HTTP/1.0\r\n\r\n", r, used, error), HttpParse::Ok);
  EXPECT_FALSE(r.keep_alive);
  ASSERT_EQ(parse_http_request("GET / HTTP/1.1\r\nconnection: Close\r\n\r\n", r, used, error), HttpParse::Ok);
  EXPECT_FALSE(r.keep_alive);
}

TEST(AdminHttp, ResponsesCarryLengthAndHeadOmitsTheBody) {
  std::string r = http_response(200, "text/plain", "hello", true);
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(r.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_NE(r.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 9), "\r\n\r\nhello");
  std::string h = http_response(404, "text/plain", "nope", false, true);
  EXPECT_NE(h.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_EQ(h.substr(h.size() - 4), "\r\n\r\n");
}

TEST(AdminHttp, BasicAuth) {
  std::string good = "Basic " + proto::base64_encode("ops:s3cret");
  EXPECT_TRUE(basic_auth_matches(good, "ops", "s3cret"));
  EXPECT_TRUE(basic_auth_matches("basic " + proto::base64_encode("ops:s3cret"), "ops", "s3cret"));
  EXPECT_FALSE(basic_auth_matches(good, "ops", "other"));
  EXPECT_FALSE(basic_auth_matches("Basic !!!", "ops", "s3cret"));
  EXPECT_FALSE(basic_auth_matches("Bearer abc", "ops", "s3cret"));
  EXPECT_FALSE(basic_auth_matches("", "ops", "s3cret"));
}

}  // namespace
}  // namespace pgs::admin
