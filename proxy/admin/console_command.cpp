#include "proxy/admin/console_command.h"

#include <array>
#include <charconv>

#include "proxy/admin/show.h"

namespace pgs::admin {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_word_char(char c) { return is_alnum(c) || c == '_'; }
// Bare database names may also hold '-', '.' and '$' (bench-2, app.eu).
bool is_name_char(char c) { return is_word_char(c) || c == '-' || c == '.' || c == '$'; }
// TOML bare key characters.
bool is_key_char(char c) { return is_word_char(c) || c == '-'; }

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return u;
}

// User text quoted in a message, cut short so that an error stays one line.
std::string quoted(std::string_view text) {
  constexpr size_t kMax = 60;
  if (text.size() <= kMax) return "\"" + std::string(text) + "\"";
  return "\"" + std::string(text.substr(0, kMax)) + "...\"";
}

ParsedCommand failure(std::string_view sqlstate, std::string message,
                      std::string hint = std::string(commands_hint())) {
  ParsedCommand p;
  p.error = console_error(sqlstate, std::move(message), std::move(hint));
  return p;
}

ParsedCommand syntax_error(std::string message) {
  return failure(kSyntaxError, "syntax error: " + std::move(message));
}

// A cursor over the command text (already stripped of surrounding whitespace
// and semicolons).
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool at_end() const { return pos_ == s_.size(); }
  char peek() const { return s_[pos_]; }
  std::string_view rest() const { return s_.substr(pos_); }
  void advance() { ++pos_; }
  void skip_space() {
    while (!at_end() && is_space(peek())) ++pos_;
  }
  std::string_view take_while(bool (*pred)(char)) {
    const size_t start = pos_;
    while (!at_end() && pred(peek())) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  // A bare name or a "quoted" one ("" inside is one "). Sets `error` on a
  // bad quoted name; returns false without error when there is no name.
  bool name(std::string& out, std::string& error) {
    out.clear();
    if (at_end()) return false;
    if (peek() != '"') {
      out = take_while(is_name_char);
      return !out.empty();
    }
    for (size_t i = pos_ + 1; i < s_.size(); ++i) {
      if (s_[i] != '"') {
        out.push_back(s_[i]);
        continue;
      }
      if (i + 1 < s_.size() && s_[i + 1] == '"') {
        out.push_back('"');
        ++i;
        continue;
      }
      pos_ = i + 1;
      if (out.empty()) error = "zero-length quoted name \"\"";
      return error.empty();
    }
    error = "unterminated quoted name " + quoted(rest());
    return false;
  }

  // A dotted TOML key (bare, "basic" or 'literal' parts), returned as typed.
  bool key(std::string_view& out, std::string& error) {
    const size_t start = pos_;
    for (;;) {
      if (at_end()) break;
      const char c = peek();
      if (c == '"' || c == '\'') {
        if (!skip_quoted(c)) {
          error = "unterminated quoted part in setting name " + quoted(s_.substr(start));
          return false;
        }
      } else if (take_while(is_key_char).empty()) {
        break;
      }
      if (at_end() || peek() != '.') break;
      ++pos_;
    }
    out = s_.substr(start, pos_ - start);
    if (out.empty() || out.back() == '.') {
      error = out.empty() ? "SET needs a setting name (SHOW CONFIG lists them)"
                          : "setting name " + quoted(out) + " ends with a dot";
      return false;
    }
    return true;
  }

  // Moves past a '...' (no escapes) or "..." (backslash escapes) string
  // starting at the current position; false if it does not end.
  bool skip_quoted(char quote) {
    for (size_t i = pos_ + 1; i < s_.size(); ++i) {
      if (quote == '"' && s_[i] == '\\') {
        ++i;
        continue;
      }
      if (s_[i] == quote) {
        pos_ = i + 1;
        return true;
      }
    }
    return false;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

// Nothing may follow a complete command (but whitespace).
bool expect_end(Scanner& sc, std::string_view command, ParsedCommand& error) {
  sc.skip_space();
  if (sc.at_end()) return true;
  if (sc.peek() == ';') {
    error = syntax_error("one command per query; found more after " + std::string(command));
  } else {
    error = syntax_error("unexpected " + quoted(sc.rest()) + " after " + std::string(command));
  }
  return false;
}

bool parse_client_id(std::string_view text, uint64_t& id) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;  // as SHOW CLIENTS prints it in ptr
    text.remove_prefix(2);
  }
  if (text.empty()) return false;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), id, base);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

// Checks that every quote in a SET value ends and that no second command
// follows it; the value itself is left as typed for the config layer.
bool check_set_value(std::string_view value, ParsedCommand& error) {
  Scanner sc(value);
  while (!sc.at_end()) {
    const char c = sc.peek();
    if (c == '\'' || c == '"') {
      if (!sc.skip_quoted(c)) {
        error = syntax_error("unterminated quoted string in SET value " + quoted(value));
        return false;
      }
      continue;
    }
    if (c == ';') {
      error = syntax_error("one command per query; found more after SET");
      return false;
    }
    sc.take_while([](char ch) { return ch != '\'' && ch != '"' && ch != ';'; });
  }
  return true;
}

ParsedCommand parse_show(Scanner& sc) {
  sc.skip_space();
  std::string topic, error;
  if (!sc.name(topic, error)) {
    return failure(kSyntaxError, "syntax error: " + (error.empty() ? "SHOW needs a topic" : error),
                   show_topics_hint());
  }
  ParsedCommand p;
  if (!check_show_topic(topic, p.error)) return p;
  if (!expect_end(sc, "SHOW " + topic, p)) return p;
  p.ok = true;
  p.command.kind = CommandKind::Show;
  p.command.topic = upper(topic);
  return p;
}

ParsedCommand parse_optional_database(Scanner& sc, CommandKind kind, std::string_view word) {
  sc.skip_space();
  ParsedCommand p;
  std::string error;
  if (!sc.name(p.command.database, error) && !error.empty()) return syntax_error(error);
  if (!expect_end(sc, word, p)) {
    p.error.message += " (" + std::string(word) + " takes at most one database name)";
    return p;
  }
  p.ok = true;
  p.command.kind = kind;
  return p;
}

ParsedCommand parse_set(Scanner& sc) {
  sc.skip_space();
  std::string_view key;
  std::string error;
  if (!sc.key(key, error)) return syntax_error(error);
  sc.skip_space();
  if (!sc.at_end() && sc.peek() == '=') {
    sc.advance();
  } else {
    // PgBouncer also accepts SET key TO value.
    const std::string_view word = sc.take_while(is_word_char);
    if (upper(word) != "TO" || sc.at_end() || !is_space(sc.peek())) {
      return syntax_error("SET needs \"=\" after the setting name " + quoted(key));
    }
  }
  sc.skip_space();
  const std::string_view value = sc.rest();
  if (value.empty()) return syntax_error("SET " + quoted(key) + " = needs a value");
  ParsedCommand p;
  if (!check_set_value(value, p)) return p;
  p.ok = true;
  p.command.kind = CommandKind::Set;
  p.command.key = key;
  p.command.value = value;
  return p;
}

ParsedCommand parse_kill_client(Scanner& sc) {
  sc.skip_space();
  const std::string_view text = sc.take_while(is_word_char);
  ParsedCommand p;
  if (!parse_client_id(text, p.command.client_id)) {
    std::string message =
        "KILL_CLIENT takes a client id (decimal, or 0x hex as SHOW CLIENTS prints it in ptr)";
    if (!text.empty()) message += ", not " + quoted(text);
    return syntax_error(message);
  }
  if (!expect_end(sc, "KILL_CLIENT " + quoted(text), p)) return p;
  p.ok = true;
  p.command.kind = CommandKind::KillClient;
  return p;
}

ParsedCommand parse_no_argument(Scanner& sc, CommandKind kind, std::string_view word) {
  ParsedCommand p;
  if (!expect_end(sc, word, p)) return p;
  p.ok = true;
  p.command.kind = kind;
  return p;
}

// PgBouncer console commands that pgsluice does not have.
constexpr std::array<std::string_view, 6> kPgBouncerOnlyCommands = {
    "DISABLE", "ENABLE", "KILL", "RECONNECT", "SUSPEND", "WAIT_CLOSE"};

}  // namespace

ParsedCommand parse_command(std::string_view sql) {
  const auto skippable = [](char c) { return is_space(c) || c == ';'; };
  while (!sql.empty() && skippable(sql.front())) sql.remove_prefix(1);
  while (!sql.empty() && skippable(sql.back())) sql.remove_suffix(1);
  if (sql.empty()) {
    ParsedCommand p;
    p.ok = true;
    return p;
  }

  Scanner sc(sql);
  const std::string word = upper(sc.take_while(is_word_char));
  if (word.empty()) {
    return syntax_error("a command starts with a word, not " + quoted(sql));
  }
  if (!sc.at_end() && !is_space(sc.peek())) {
    return syntax_error("unexpected " + quoted(sc.rest()) + " after " + word);
  }

  if (word == "SHOW") return parse_show(sc);
  if (word == "PAUSE") return parse_optional_database(sc, CommandKind::Pause, word);
  if (word == "RESUME") return parse_optional_database(sc, CommandKind::Resume, word);
  if (word == "RELOAD") return parse_no_argument(sc, CommandKind::Reload, word);
  if (word == "SHUTDOWN") return parse_no_argument(sc, CommandKind::Shutdown, word);
  if (word == "SET") return parse_set(sc);
  if (word == "KILL_CLIENT") return parse_kill_client(sc);
  if (word == "SELECT") {  // PgBouncer's alias of SHOW; SQL tools send it too
    return failure(kFeatureNotSupported, "the admin console runs no SQL; use SHOW topic");
  }
  for (std::string_view w : kPgBouncerOnlyCommands) {
    if (word == w) {
      return failure(kFeatureNotSupported,
                     word + " is a PgBouncer console command pgsluice does not have");
    }
  }
  return syntax_error("unknown command " + quoted(word));
}

}  // namespace pgs::admin
