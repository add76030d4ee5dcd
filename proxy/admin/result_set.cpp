#include "proxy/admin/result_set.h"

#include "protocol/messages.h"
#include "proxy/admin/format.h"

namespace pgs::admin {

namespace {

int16_t type_size(int32_t oid) {
  switch (oid) {
    case type_oid::kBool: return 1;
    case type_oid::kInt4: return 4;
    case type_oid::kInt8:
    case type_oid::kFloat8: return 8;
    default: return -1;
  }
}

}  // namespace

std::string encode(const ResultSet& rs) {
  std::string out;
  std::vector<proto::RowField> fields;
  fields.reserve(rs.columns.size());
  for (const Column& c : rs.columns) {
    fields.push_back(proto::RowField{c.name, c.type_oid, type_size(c.type_oid)});
  }
  proto::write_row_description(out, fields);

  std::vector<std::optional<std::string_view>> values;
  for (const std::vector<Value>& row : rs.rows) {
    values.clear();
    for (const Value& v : row) {
      if (v) {
        values.emplace_back(*v);
      } else {
        values.emplace_back(std::nullopt);
      }
    }
    proto::write_data_row(out, values);
  }
  proto::write_command_complete(out, rs.command_tag);
  return out;
}

RowWriter& RowWriter::text(std::string_view s) {
  row_.emplace_back(std::string(s));
  return *this;
}

RowWriter& RowWriter::integer(uint64_t v) {
  row_.emplace_back(std::to_string(v));
  return *this;
}

RowWriter& RowWriter::integer_signed(int64_t v) {
  row_.emplace_back(std::to_string(v));
  return *this;
}

RowWriter& RowWriter::decimal(double v) {
  row_.emplace_back(format_decimal(v));
  return *this;
}

RowWriter& RowWriter::boolean(bool v) {
  row_.emplace_back(v ? "t" : "f");
  return *this;
}

RowWriter& RowWriter::null() {
  row_.emplace_back(std::nullopt);
  return *this;
}

}  // namespace pgs::admin
