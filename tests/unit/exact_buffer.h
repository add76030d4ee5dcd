// A heap copy with no slack after the end, so AddressSanitizer sees any
// read past it: the protocol tests feed truncated input through this.
#pragma once

#include <cstring>
#include <memory>
#include <string_view>

namespace pgs::proto {

class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view s) : size_(s.size()), data_(new char[s.size()]) {
    if (!s.empty()) std::memcpy(data_.get(), s.data(), s.size());
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

}  // namespace pgs::proto
