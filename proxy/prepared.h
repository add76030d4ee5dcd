// Protocol-level prepared statements in transaction mode. A client's named
// statement (Parse "s1") may be used on whichever server connection serves
// its next transaction, so pgsluice keeps the client's view (name ->
// statement) and each server connection's (which statements it has
// prepared, under pgsluice's own names), and rewrites the names in between.
//
// A statement is its content: the query text and parameter types of the
// Parse, after the name. Equal content from any client is one Statement with
// one server-side name ("pgsluice_<id>"), so a statement prepared on a server
// connection for one client serves every client that prepares the same text.
//
// Pure: no sockets. The relay code in client_session.cpp and
// server_connection.cpp drives it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pgs::prepared {

struct Statement {
  uint64_t id = 0;
  std::string server_name;  // "pgsluice_<id>"
  std::string content;      // Parse body after the name: query\0, int16 n, n x int32 type OIDs
};
using StatementRef = std::shared_ptr<const Statement>;

// One Statement per distinct content, alive while a client or a server
// connection refers to it.
class Registry {
 public:
  StatementRef intern(std::string_view content);
  size_t size() const { return by_content_.size(); }

 private:
  void purge();
  std::unordered_map<std::string, std::weak_ptr<const Statement>> by_content_;
  uint64_t next_id_ = 1;
  size_t purge_at_ = 1024;
};

// The statements one server connection has prepared, least recently used
// first out.
class ServerCache {
 public:
  bool contains(uint64_t id) const { return index_.count(id) != 0; }
  void touch(uint64_t id);
  // Adds `s` (most recently used). When that makes more than `capacity`,
  // returns the statement to close on the server.
  std::optional<StatementRef> add(StatementRef s, size_t capacity);
  void erase(uint64_t id);
  void clear();
  size_t size() const { return index_.size(); }

 private:
  std::list<StatementRef> lru_;  // front: most recent
  std::unordered_map<uint64_t, std::list<StatementRef>::iterator> index_;
};

// ---- the messages that carry statement names ----

// Parse: name, then the content.
[[nodiscard]] bool split_parse(std::string_view body, std::string_view& name, std::string_view& content);
// Bind: the byte offset just past the statement name, and the names. Works on
// a prefix of the body (`complete` false when the prefix ends before the
// statement name does: more bytes are needed).
[[nodiscard]] bool split_bind_prefix(std::string_view body_prefix, std::string_view& portal,
                                     std::string_view& statement, size_t& names_end, bool& complete);
// Describe and Close: 'S' or 'P', then a name.
[[nodiscard]] bool split_target(std::string_view body, char& kind, std::string_view& name);

void write_parse(std::string& out, std::string_view name, std::string_view content);
// A Bind's header and names, for a body of `rest_size` more bytes after them.
void write_bind_head(std::string& out, std::string_view portal, std::string_view statement, size_t rest_size);
void write_target(std::string& out, char type, char kind, std::string_view name);  // Describe / Close

// Simple-query commands that act on the client's statements.
enum class SqlCommand { Other, Deallocate, DeallocateAll, DiscardAll };
// DEALLOCATE [PREPARE] name | ALL, DISCARD ALL (case-insensitive, optional
// trailing semicolon, comments not understood). `name` is unquoted.
SqlCommand classify_query(std::string_view sql, std::string& name);

}  // namespace pgs::prepared
