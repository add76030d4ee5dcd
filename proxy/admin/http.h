// The little HTTP/1.1 the admin port speaks: GET/HEAD requests parsed from a
// byte stream (bounded header size, keep-alive), responses with
// Content-Length, and basic auth. Pure: no sockets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pgs::admin {

// The first bytes of an admin connection: an HTTP method, or else the
// PostgreSQL protocol (whose first four bytes are a length).
enum class Sniff { NeedMore, Http, Postgres };
Sniff sniff_protocol(std::string_view first_bytes);

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string path;    // without the query string
  std::string query;   // after '?', may be empty
  std::string authorization;  // the Authorization header, if any
  bool keep_alive = true;     // HTTP/1.1 default unless "Connection: close"
};

enum class HttpParse { NeedMore, Ok, Bad, TooLarge };
constexpr size_t kMaxHttpHeader = 16 * 1024;

// Parses one request head from `in`; on Ok, `consumed` is its length (a
// request body, which GET and HEAD do not have, is not supported: a
// Content-Length other than 0 is Bad).
HttpParse parse_http_request(std::string_view in, HttpRequest& out, size_t& consumed, std::string& error);

// A complete response. `head_only` (HEAD) omits the body but keeps its length.
std::string http_response(int status, std::string_view content_type, std::string_view body, bool keep_alive,
                          bool head_only = false, std::string_view extra_headers = {});

// True when `authorization` is "Basic base64(user:password)" for these.
bool basic_auth_matches(std::string_view authorization, std::string_view user, std::string_view password);

}  // namespace pgs::admin
