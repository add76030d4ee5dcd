#include "proxy/sql_scan.h"

#include <cstring>

#include "proxy/ascii.h"

namespace pgs::sql {
namespace {

bool ident_start(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80; }
bool ident_char(unsigned char c) { return ident_start(c) || (c >= '0' && c <= '9') || c == '$'; }

// Each skip_* starts at the opening character and returns the position just
// past the construct (s.size() when it is not closed: the rest is inside it).

size_t skip_line_comment(std::string_view s, size_t i) {
  size_t end = s.find('\n', i);
  return end == std::string_view::npos ? s.size() : end + 1;
}

size_t skip_block_comment(std::string_view s, size_t i) {  // comments nest in PostgreSQL
  int depth = 0;
  while (i < s.size()) {
    if (s[i] == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      depth++;
      i += 2;
    } else if (s[i] == '*' && i + 1 < s.size() && s[i + 1] == '/') {
      i += 2;
      if (--depth == 0) return i;
    } else {
      i++;
    }
  }
  return s.size();
}

// 'text' or "ident", the quote doubled inside; with backslash escapes for E'text'.
size_t skip_quoted(std::string_view s, size_t i, bool backslash_escapes) {
  const char q = s[i++];
  while (i < s.size()) {
    if (backslash_escapes && s[i] == '\\') {
      i += 2;
    } else if (s[i] == q) {
      if (i + 1 < s.size() && s[i + 1] == q) {
        i += 2;
      } else {
        return i + 1;
      }
    } else {
      i++;
    }
  }
  return s.size();
}

// $tag$ ... $tag$. Returns 0 when the '$' at i opens no dollar quote (a
// parameter such as $1).
size_t skip_dollar_quoted(std::string_view s, size_t i) {
  size_t j = i + 1;
  if (j < s.size() && s[j] != '$') {
    if (!ident_start(static_cast<unsigned char>(s[j]))) return 0;
    while (j < s.size() && s[j] != '$') {
      unsigned char c = static_cast<unsigned char>(s[j]);
      if (!ident_start(c) && !(c >= '0' && c <= '9')) return 0;
      j++;
    }
  }
  if (j >= s.size()) return 0;
  std::string_view tag = s.substr(i, j + 1 - i);  // "$tag$"
  size_t end = s.find(tag, j + 1);
  return end == std::string_view::npos ? s.size() : end + tag.size();
}

}  // namespace

bool some_statement_starts_with(std::string_view s, std::string_view keyword) {
  // Runs on every query in transaction mode: a plain search rules out almost
  // all of them before the lexer has to look.
  if (!ascii_icontains(s, keyword)) return false;
  bool at_head = true;  // the next word begins a statement
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      i++;
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      i = skip_line_comment(s, i);
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      i = skip_block_comment(s, i);
    } else if (c == ';') {
      at_head = true;
      i++;
    } else if (ident_start(c)) {
      size_t start = i;
      while (i < s.size() && ident_char(static_cast<unsigned char>(s[i]))) i++;
      std::string_view word = s.substr(start, i - start);
      if (i < s.size() && s[i] == '\'' && (word == "E" || word == "e")) {
        i = skip_quoted(s, i, true);
      } else if (at_head && ascii_iequal(word, keyword)) {
        return true;
      }
      if (at_head) {
        at_head = false;
        // Almost every query is one statement: without a ';' further on,
        // no other statement can start.
        if (std::memchr(s.data() + i, ';', s.size() - i) == nullptr) return false;
      }
    } else if (c == '\'' || c == '"') {
      i = skip_quoted(s, i, false);
      at_head = false;
    } else if (c == '$') {
      size_t end = skip_dollar_quoted(s, i);
      i = end == 0 ? i + 1 : end;
      at_head = false;
    } else {
      i++;
      at_head = false;
    }
  }
  return false;
}

}  // namespace pgs::sql
