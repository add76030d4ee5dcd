// ASCII helpers for protocol keywords (SQL commands, HTTP header names):
// no locale, no allocation.
#pragma once

#include <string_view>

namespace pgs {

inline unsigned char ascii_lower(char c) {
  unsigned char x = static_cast<unsigned char>(c);
  return x >= 'A' && x <= 'Z' ? static_cast<unsigned char>(x | 0x20) : x;
}

// Equal when ASCII letters are folded to lower case; other bytes must match.
inline bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// `needle` occurs somewhere in `hay`, ASCII letters folded.
inline bool ascii_icontains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  const unsigned char first = ascii_lower(needle[0]);
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (ascii_lower(hay[i]) == first && ascii_iequal(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

}  // namespace pgs
