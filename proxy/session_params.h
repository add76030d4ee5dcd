// Session parameters a client asked for (startup packet, "options", and the
// server's later ParameterStatus reports), and the SQL that brings a server
// connection to them. Pure: no sockets, unit-tested.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgs {

// Parameter names compare case-insensitively, as PostgreSQL's GUC names do.
class ParamList {
 public:
  using Entry = std::pair<std::string, std::string>;

  const std::string* get(std::string_view name) const;
  void set(std::string_view name, std::string_view value);  // replaces, keeps first spelling
  bool erase(std::string_view name);
  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }
  bool operator==(const ParamList& o) const;

 private:
  std::vector<Entry> entries_;
};

// Splits a startup "options" value as PostgreSQL does (whitespace separates,
// backslash escapes the next character) and keeps "-c name=value",
// "-cname=value" and "--name=value" (dashes in names become underscores).
// Any other switch is an error: pgsluice cannot pass it to a pooled server.
[[nodiscard]] bool parse_startup_options(std::string_view options, ParamList& out,
                                         std::string& error);

// The statements that take a server connection whose session settings are
// `applied` (what pgsluice set on it for earlier clients) to `wanted` (this
// client's): SET for every differing value, RESET for settings the client
// did not ask for. Empty when nothing differs.
std::string build_sync_query(const ParamList& applied, const ParamList& wanted);

std::string quote_identifier(std::string_view name);
std::string quote_literal(std::string_view value);

}  // namespace pgs
