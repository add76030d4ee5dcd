// A console result set as plain data, and its wire form. SHOW builds one from
// a Status; encode() turns it into RowDescription, DataRow... and
// CommandComplete (text format; the console adds ReadyForQuery).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgs::admin {

// PostgreSQL type OIDs of the columns the console sends.
namespace type_oid {
inline constexpr int32_t kBool = 16;
inline constexpr int32_t kInt8 = 20;
inline constexpr int32_t kInt4 = 23;
inline constexpr int32_t kText = 25;
inline constexpr int32_t kFloat8 = 701;
inline constexpr int32_t kNumeric = 1700;  // PgBouncer's SHOW STATS counters
}  // namespace type_oid

struct Column {
  std::string name;
  int32_t type_oid = type_oid::kText;
};

using Value = std::optional<std::string>;  // std::nullopt is SQL NULL

struct ResultSet {
  std::vector<Column> columns;
  std::vector<std::vector<Value>> rows;
  std::string command_tag = "SHOW";
};

// RowDescription + one DataRow per row + CommandComplete.
std::string encode(const ResultSet& rs);

// Appends one row to `rs` value by value, in column order, formatting
// numbers the same way everywhere.
class RowWriter {
 public:
  explicit RowWriter(ResultSet& rs) : row_(rs.rows.emplace_back()) {
    row_.reserve(rs.columns.size());
  }
  RowWriter& text(std::string_view s);
  RowWriter& integer(uint64_t v);
  RowWriter& integer_signed(int64_t v);
  RowWriter& decimal(double v);  // at most 3 decimals (format_decimal)
  RowWriter& boolean(bool v);    // "t" / "f", as PostgreSQL prints bool
  RowWriter& null();

 private:
  std::vector<Value>& row_;
};

}  // namespace pgs::admin
