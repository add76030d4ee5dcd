// How --check writes findings: one line each, or one JSON document.
#include "config/audit.h"

namespace pgs::config {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if there is none.
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  auto continuation = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) {
    unsigned b = byte(k);
    return i + k < s.size() && b >= lo && b <= hi;
  };
  unsigned lead = byte(0);
  if (lead >= 0xc2 && lead <= 0xdf) return continuation(1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    unsigned lo = lead == 0xe0 ? 0xa0 : 0x80, hi = lead == 0xed ? 0x9f : 0xbf;  // no overlongs, no surrogates
    return continuation(1, lo, hi) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    unsigned lo = lead == 0xf0 ? 0x90 : 0x80, hi = lead == 0xf4 ? 0x8f : 0xbf;
    return continuation(1, lo, hi) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string json_string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8_length(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

FindingCounts count(const std::vector<Finding>& findings) {
  FindingCounts n;
  for (const Finding& f : findings) {
    switch (f.severity) {
      case Severity::Error: ++n.errors; break;
      case Severity::Warning: ++n.warnings; break;
      case Severity::Info: ++n.infos; break;
    }
  }
  return n;
}

Finding as_finding(const ConfigError& e) { return {Severity::Error, "", {e.line, e.column}, e.message}; }

std::string to_text(const std::string& file, const Finding& f) {
  std::string place;
  if (f.place.line != 0) place = ":" + std::to_string(f.place.line) + ":" + std::to_string(f.place.column);
  return file + place + ": " + to_string(f.severity) + ": " + f.message;
}

std::string to_json(const std::string& file, const std::vector<Finding>& findings) {
  FindingCounts n = count(findings);
  std::string out = "{\"file\":" + json_string(file) + ",\"valid\":" + (n.errors == 0 ? "true" : "false") +
                    ",\"findings\":[";
  bool first = true;
  for (const Finding& f : findings) {
    auto number = [](uint32_t v) { return v == 0 ? std::string("null") : std::to_string(v); };
    out += first ? "" : ",";
    first = false;
    out += "{\"severity\":" + json_string(to_string(f.severity)) + ",\"file\":" + json_string(file) +
           ",\"line\":" + number(f.place.line) + ",\"column\":" + number(f.place.line == 0 ? 0 : f.place.column) +
           ",\"key\":" + (f.key.empty() ? std::string("null") : json_string(f.key)) +
           ",\"message\":" + json_string(f.message) + "}";
  }
  out += "],\"summary\":{\"errors\":" + std::to_string(n.errors) + ",\"warnings\":" + std::to_string(n.warnings) +
         ",\"infos\":" + std::to_string(n.infos) + "}}\n";
  return out;
}

}  // namespace pgs::config
