// A minimal streaming JSON writer: objects, arrays, strings, numbers, bools,
// null. Commas are placed by the writer; strings are escaped (control
// characters as \u00XX) and invalid UTF-8 becomes U+FFFD; non-finite doubles
// are written as null. The caller keeps begin/end balanced.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgs::admin {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);  // inside an object, before each value

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(double d);
  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonWriter& value(T n) {
    separate();
    out_ += std::to_string(n);
    return *this;
  }
  JsonWriter& null();

  // key(k).value(v) in one call.
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    return key(k).value(v);
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();  // a comma before every element but the first
  void append_string(std::string_view s);

  std::string out_;
  std::vector<bool> has_element_;  // per open container
  bool after_key_ = false;
};

}  // namespace pgs::admin
