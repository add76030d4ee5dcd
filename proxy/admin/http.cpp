#include "proxy/admin/http.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "protocol/auth.h"
#include "proxy/ascii.h"

namespace pgs::admin {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
  }
  return "Error";
}

}  // namespace

Sniff sniff_protocol(std::string_view first) {
  static constexpr std::string_view kMethods[] = {"GET ", "HEAD", "POST", "PUT ", "DELE", "OPTI", "PATC", "CONN", "TRAC"};
  if (first.size() < 4) {
    // A PostgreSQL packet starts with a length whose first byte is 0 for
    // anything a client sends; letters mean HTTP is still possible.
    if (!first.empty() && first[0] == '\0') return Sniff::Postgres;
    return Sniff::NeedMore;
  }
  for (std::string_view m : kMethods)
    if (first.substr(0, 4) == m) return Sniff::Http;
  return Sniff::Postgres;
}

HttpParse parse_http_request(std::string_view in, HttpRequest& out, size_t& consumed, std::string& error) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (in.size() > kMaxHttpHeader) {
      error = "request header too large";
      return HttpParse::TooLarge;
    }
    return HttpParse::NeedMore;
  }
  if (end + 4 > kMaxHttpHeader) {
    error = "request header too large";
    return HttpParse::TooLarge;
  }
  std::string_view head = in.substr(0, end);
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
    error = "malformed request line";
    return HttpParse::Bad;
  }
  std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    error = "unsupported HTTP version";
    return HttpParse::Bad;
  }
  out = HttpRequest{};
  out.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  if (out.path.empty() || out.path[0] != '/') {
    error = "request target must be a path";
    return HttpParse::Bad;
  }
  out.keep_alive = version == "HTTP/1.1";
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    size_t colon = h.find(':');
    if (colon == std::string_view::npos) {
      error = "malformed header line";
      return HttpParse::Bad;
    }
    std::string_view name = trim(h.substr(0, colon));
    std::string_view value = trim(h.substr(colon + 1));
    if (ascii_iequal(name, "Authorization")) {
      out.authorization = std::string(value);
    } else if (ascii_iequal(name, "Connection")) {
      if (ascii_iequal(value, "close")) out.keep_alive = false;
      if (ascii_iequal(value, "keep-alive")) out.keep_alive = true;
    } else if (ascii_iequal(name, "Content-Length")) {
      if (value != "0") {
        error = "request bodies are not accepted";
        return HttpParse::Bad;
      }
    } else if (ascii_iequal(name, "Transfer-Encoding")) {
      error = "request bodies are not accepted";
      return HttpParse::Bad;
    }
  }
  consumed = end + 4;
  return HttpParse::Ok;
}

std::string http_response(int status, std::string_view content_type, std::string_view body, bool keep_alive,
                          bool head_only, std::string_view extra_headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += extra_headers;
  out += "\r\n";
  if (!head_only) out += body;
  return out;
}

bool basic_auth_matches(std::string_view authorization, std::string_view user, std::string_view password) {
  if (authorization.size() < 6 || !ascii_iequal(authorization.substr(0, 6), "Basic ")) return false;
  std::string raw;
  if (!proto::base64_decode(trim(authorization.substr(6)), raw)) return false;
  std::string want = std::string(user) + ":" + std::string(password);
  return proto::secrets_equal(raw, want);
}

}  // namespace pgs::admin
