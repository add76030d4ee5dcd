#include "proxy/session_params.h"

#include "proxy/ascii.h"

namespace pgs {

const std::string* ParamList::get(std::string_view name) const {
  for (const auto& e : entries_)
    if (ascii_iequal(e.first, name)) return &e.second;
  return nullptr;
}

void ParamList::set(std::string_view name, std::string_view value) {
  for (auto& e : entries_)
    if (ascii_iequal(e.first, name)) {
      e.second.assign(value);
      return;
    }
  entries_.emplace_back(std::string(name), std::string(value));
}

bool ParamList::erase(std::string_view name) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if (ascii_iequal(it->first, name)) {
      entries_.erase(it);
      return true;
    }
  return false;
}

bool ParamList::operator==(const ParamList& o) const {
  if (entries_.size() != o.entries_.size()) return false;
  for (const auto& e : entries_) {
    const std::string* v = o.get(e.first);
    if (v == nullptr || *v != e.second) return false;
  }
  return true;
}

namespace {

std::vector<std::string> split_options(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_token = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_token) out.push_back(std::move(cur));
      cur.clear();
      in_token = false;
      continue;
    }
    in_token = true;
    if (c == '\\' && i + 1 < s.size()) c = s[++i];
    cur.push_back(c);
  }
  if (in_token) out.push_back(std::move(cur));
  return out;
}

bool add_assignment(std::string_view text, ParamList& out, std::string& error) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    error = "invalid startup option \"" + std::string(text) + "\": expected name=value";
    return false;
  }
  std::string name(text.substr(0, eq));
  for (char& c : name)
    if (c == '-') c = '_';
  out.set(name, text.substr(eq + 1));
  return true;
}

}  // namespace

bool parse_startup_options(std::string_view options, ParamList& out, std::string& error) {
  std::vector<std::string> tokens = split_options(options);
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view t = tokens[i];
    if (t == "-c") {
      if (i + 1 >= tokens.size()) {
        error = "startup option -c needs name=value";
        return false;
      }
      if (!add_assignment(tokens[++i], out, error)) return false;
    } else if (t.size() > 2 && t.substr(0, 2) == "-c") {
      if (!add_assignment(t.substr(2), out, error)) return false;
    } else if (t.size() > 2 && t.substr(0, 2) == "--") {
      if (!add_assignment(t.substr(2), out, error)) return false;
    } else {
      error = "startup option \"" + std::string(t) +
              "\" is not supported by pgsluice: only -c name=value and --name=value";
      return false;
    }
  }
  return true;
}

std::string quote_identifier(std::string_view name) {
  std::string q = "\"";
  for (char c : name) {
    if (c == '"') q.push_back('"');
    q.push_back(c);
  }
  q.push_back('"');
  return q;
}

std::string quote_literal(std::string_view value) {
  bool backslash = value.find('\\') != std::string_view::npos;
  std::string q = backslash ? "E'" : "'";
  for (char c : value) {
    if (c == '\'') q.push_back('\'');
    if (c == '\\') q.push_back('\\');
    q.push_back(c);
  }
  q.push_back('\'');
  return q;
}

std::string build_sync_query(const ParamList& applied, const ParamList& wanted) {
  // The common case, a connection last used by a client with the same
  // settings, is decided without folding case or building strings.
  if (applied.entries() == wanted.entries()) return {};
  // set_config() takes the value as the startup packet does: for list
  // settings such as search_path, SET ... TO 'a,b' would make one quoted name.
  std::string sets;
  for (const auto& [name, value] : wanted.entries()) {
    const std::string* have = applied.get(name);
    if (have != nullptr && *have == value) continue;
    sets += sets.empty() ? "SELECT " : ", ";
    sets += "pg_catalog.set_config(" + quote_literal(name) + ", " + quote_literal(value) + ", false)";
  }
  std::string sql;
  if (!sets.empty()) sql = sets + ";";
  for (const auto& [name, value] : applied.entries()) {
    if (wanted.get(name) != nullptr) continue;
    sql += "RESET " + quote_identifier(name) + ";";
  }
  return sql;
}

}  // namespace pgs
