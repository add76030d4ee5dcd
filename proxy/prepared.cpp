#include "proxy/prepared.h"

#include <algorithm>
#include <cctype>

#include "protocol/byte_reader.h"
#include "protocol/message_writer.h"
#include "proxy/ascii.h"

namespace pgs::prepared {

// ---- Registry ----

StatementRef Registry::intern(std::string_view content) {
  std::string key(content);
  auto it = by_content_.find(key);
  if (it != by_content_.end()) {
    if (StatementRef s = it->second.lock()) return s;
  }
  auto s = std::make_shared<Statement>();
  s->id = next_id_++;
  s->server_name = "pgsluice_" + std::to_string(s->id);
  s->content = key;
  by_content_[std::move(key)] = s;
  if (by_content_.size() >= purge_at_) purge();
  return s;
}

void Registry::purge() {
  for (auto it = by_content_.begin(); it != by_content_.end();) {
    if (it->second.expired()) {
      it = by_content_.erase(it);
    } else {
      ++it;
    }
  }
  purge_at_ = std::max<size_t>(1024, by_content_.size() * 2);
}

// ---- ServerCache ----

void ServerCache::touch(uint64_t id) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  lru_.splice(lru_.begin(), lru_, it->second);
}

std::optional<StatementRef> ServerCache::add(StatementRef s, size_t capacity) {
  if (contains(s->id)) {
    touch(s->id);
    return std::nullopt;
  }
  uint64_t id = s->id;
  lru_.push_front(std::move(s));
  index_[id] = lru_.begin();
  if (capacity == 0 || index_.size() <= capacity) return std::nullopt;
  StatementRef out = lru_.back();
  index_.erase(out->id);
  lru_.pop_back();
  return out;
}

void ServerCache::erase(uint64_t id) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

void ServerCache::clear() {
  lru_.clear();
  index_.clear();
}

// ---- messages ----

bool split_parse(std::string_view body, std::string_view& name, std::string_view& content) {
  proto::ByteReader r(body);
  if (!r.read_cstring(name)) return false;
  content = r.rest();
  // The content must at least hold the query and the parameter count.
  proto::ByteReader c(content);
  std::string_view query;
  int16_t n = 0;
  return c.read_cstring(query) && c.read_i16(n) && n >= 0 && c.remaining() == static_cast<size_t>(n) * 4;
}

bool split_bind_prefix(std::string_view body_prefix, std::string_view& portal, std::string_view& statement,
                       size_t& names_end, bool& complete) {
  complete = false;
  size_t a = body_prefix.find('\0');
  if (a == std::string_view::npos) return true;  // need more
  size_t b = body_prefix.find('\0', a + 1);
  if (b == std::string_view::npos) return true;
  portal = body_prefix.substr(0, a);
  statement = body_prefix.substr(a + 1, b - a - 1);
  names_end = b + 1;
  complete = true;
  return true;
}

bool split_target(std::string_view body, char& kind, std::string_view& name) {
  proto::ByteReader r(body);
  uint8_t k = 0;
  if (!r.read_u8(k) || (k != 'S' && k != 'P') || !r.read_cstring(name) || !r.empty()) return false;
  kind = static_cast<char>(k);
  return true;
}

void write_parse(std::string& out, std::string_view name, std::string_view content) {
  proto::MessageWriter w(out);
  w.begin('P');
  w.put_cstring(name);
  w.put_bytes(content);
  w.finish();
}

void write_bind_head(std::string& out, std::string_view portal, std::string_view statement, size_t rest_size) {
  const size_t length = 4 + portal.size() + 1 + statement.size() + 1 + rest_size;
  out.push_back('B');
  char len[4];
  proto::store_be32(len, static_cast<uint32_t>(length));
  out.append(len, 4);
  out.append(portal);
  out.push_back('\0');
  out.append(statement);
  out.push_back('\0');
}

void write_target(std::string& out, char type, char kind, std::string_view name) {
  proto::MessageWriter w(out);
  w.begin(type);
  w.put_u8(static_cast<uint8_t>(kind));
  w.put_cstring(name);
  w.finish();
}

namespace {

// Splits off the next word (letters, digits, _ or a "quoted identifier").
bool next_token(std::string_view& s, std::string& token, bool& quoted) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  token.clear();
  quoted = false;
  if (s.empty()) return false;
  if (s.front() == '"') {
    quoted = true;
    s.remove_prefix(1);
    while (!s.empty()) {
      if (s.front() == '"') {
        if (s.size() > 1 && s[1] == '"') {
          token.push_back('"');
          s.remove_prefix(2);
          continue;
        }
        s.remove_prefix(1);
        return true;
      }
      token.push_back(s.front());
      s.remove_prefix(1);
    }
    return false;  // unterminated
  }
  while (!s.empty() && (std::isalnum(static_cast<unsigned char>(s.front())) || s.front() == '_' ||
                        static_cast<unsigned char>(s.front()) >= 0x80)) {
    token.push_back(s.front());
    s.remove_prefix(1);
  }
  return !token.empty();
}

// Nothing but whitespace and semicolons left.
bool at_end(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ';' || std::isspace(static_cast<unsigned char>(c)) || c == '\0'; });
}

}  // namespace

SqlCommand classify_query(std::string_view sql, std::string& name) {
  // Every query passes here: only DISCARD and DEALLOCATE need the tokenizer.
  size_t head = 0;
  while (head < sql.size() && std::isspace(static_cast<unsigned char>(sql[head]))) head++;
  if (head == sql.size() || ascii_lower(sql[head]) != 'd') return SqlCommand::Other;
  std::string token;
  bool quoted = false;
  if (!next_token(sql, token, quoted) || quoted) return SqlCommand::Other;
  if (ascii_iequal(token, "DISCARD")) {
    if (next_token(sql, token, quoted) && !quoted && ascii_iequal(token, "ALL") && at_end(sql))
      return SqlCommand::DiscardAll;
    return SqlCommand::Other;
  }
  if (!ascii_iequal(token, "DEALLOCATE")) return SqlCommand::Other;
  if (!next_token(sql, token, quoted)) return SqlCommand::Other;
  if (!quoted && ascii_iequal(token, "PREPARE") && !(sql.empty() || at_end(sql))) {
    if (!next_token(sql, token, quoted)) return SqlCommand::Other;
  }
  if (!at_end(sql)) return SqlCommand::Other;
  if (!quoted && ascii_iequal(token, "ALL")) return SqlCommand::DeallocateAll;
  if (!quoted) {
    // Unquoted identifiers fold to lower case, as PostgreSQL does.
    std::transform(token.begin(), token.end(), token.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  }
  name = token;
  return SqlCommand::Deallocate;
}

}  // namespace pgs::prepared
