// ASCII helpers for protocol keywords (SQL commands, HTTP header names):
// no locale, no allocation.
#pragma once

#include <string_view>

namespace pgs {

// Equal when ASCII letters are folded to lower case; other bytes must match.
inline bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x | 0x20);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y | 0x20);
    if (x != y) return false;
  }
  return true;
}

}  // namespace pgs
