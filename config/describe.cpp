// The configuration as a flat list of settings and back to TOML. Both come
// from one list of Setting rows in the order of the example config, so
// describe(), to_toml() and with_setting() cannot disagree about a key.
#include "config/describe.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <utility>

#include "config/loader.h"

namespace pgs::config {
namespace {

constexpr std::string_view kMask = "********";

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          static constexpr char kHex[] = "0123456789ABCDEF";
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// A key or table name as TOML writes it: bare when it can be, else a basic string.
std::string key_name(std::string_view s) {
  bool bare = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  return bare ? std::string(s) : toml_string(s);
}

std::string endpoint_text(const Endpoint& e) {
  bool v6 = e.host.find(':') != std::string::npos;
  return toml_string((v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port));
}

std::string array_text(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const std::string& s : items) out += (out.size() > 1 ? ", " : "") + toml_string(s);
  return out + "]";
}

std::string number(uint64_t v) { return std::to_string(v); }

std::string optional_number(const std::optional<uint32_t>& v) { return v ? number(*v) : std::string(); }

// One setting: where it sits in the TOML, its value, and how describe() shows it.
struct Setting {
  std::string table;  // the TOML table header without brackets: "proxy", "databases.bench"
  std::string name;   // the key within that table
  std::string value;  // as TOML writes it; "" when not set
  std::string default_value;
  bool changeable = false;
  bool secret = false;  // describe() shows kMask instead of the value
  bool write = true;    // to_toml() writes it (false: not set, or equal to what it would follow)

  std::string key() const { return table + "." + name; }
};

// What apply_config applies without a restart. [proxy] listen and
// admin_listen are bound at start. [admin] and [alerts] are read by code that
// does not take part in a reload yet: not changeable until it does.
std::vector<Setting> settings_of(const Config& c) {
  std::vector<Setting> out;
  auto add = [&out](std::string table, std::string name, std::string value, std::string default_value,
                    bool changeable) -> Setting& {
    out.push_back({std::move(table), std::move(name), std::move(value), std::move(default_value), changeable});
    return out.back();
  };

  const ProxySettings dp;
  const ProxySettings& p = c.proxy;
  add("proxy", "listen", endpoint_text(p.listen), endpoint_text(dp.listen), false);
  add("proxy", "admin_listen", p.admin_listen ? endpoint_text(*p.admin_listen) : "", "", false).write =
      p.admin_listen.has_value();
  add("proxy", "max_client_connections", number(p.max_client_connections), number(dp.max_client_connections), true);
  add("proxy", "max_message_bytes", number(p.max_message_bytes), number(dp.max_message_bytes), true);
  add("proxy", "login_timeout_ms", number(p.login_timeout_ms), number(dp.login_timeout_ms), true);
  add("proxy", "shutdown_timeout_ms", number(p.shutdown_timeout_ms), number(dp.shutdown_timeout_ms), true);
  add("proxy", "sched_slice_us", number(p.sched_slice_us), number(dp.sched_slice_us), true);
  add("proxy", "log_level", toml_string(to_string(p.log_level)), toml_string(to_string(dp.log_level)), true);
  add("proxy", "log_format", toml_string(to_string(p.log_format)), toml_string(to_string(dp.log_format)), true);

  const ServerSettings ds;
  const ServerSettings& s = c.server;
  add("server", "host", toml_string(s.host), toml_string(ds.host), true);
  add("server", "port", number(s.port), number(ds.port), true);
  add("server", "connect_timeout_ms", number(s.connect_timeout_ms), number(ds.connect_timeout_ms), true);
  add("server", "idle_timeout_ms", number(s.idle_timeout_ms), number(ds.idle_timeout_ms), true);
  add("server", "max_lifetime_ms", number(s.max_lifetime_ms), number(ds.max_lifetime_ms), true);
  add("server", "reset_query", toml_string(s.reset_query), toml_string(ds.reset_query), true);
  add("server", "max_prepared_statements", number(s.max_prepared_statements), number(ds.max_prepared_statements),
      true);

  // dbname, host and port are written only where they differ from what they
  // default to, so that a database that follows [server] keeps following it
  // when [server] changes.
  const DatabaseSettings dd;
  for (const auto& [name, d] : c.databases) {
    std::string table = "databases." + key_name(name);
    add(table, "dbname", toml_string(d.dbname), "", true).write = d.dbname != name;
    add(table, "host", toml_string(d.host), "", true).write = d.host != s.host;
    add(table, "port", number(d.port), "", true).write = d.port != s.port;
    add(table, "pool_mode", toml_string(to_string(d.pool_mode)), toml_string(to_string(dd.pool_mode)), true);
    add(table, "pool_size", number(d.pool_size), number(dd.pool_size), true);
  }

  add("auth", "method", toml_string(to_string(c.auth_method)), toml_string(to_string(Config{}.auth_method)), true);
  for (const auto& [name, password] : c.users) add("users", key_name(name), toml_string(password), "", true).secret = true;

  const LimitsSettings dl;
  const LimitsSettings& l = c.limits;
  add("limits", "client_key", toml_string(to_string(l.client_key)), toml_string(to_string(dl.client_key)), true);
  add("limits", "max_concurrency", number(l.max_concurrency), number(dl.max_concurrency), true);
  add("limits", "weight", number(l.weight), number(dl.weight), true);
  add("limits", "max_queue", number(l.max_queue), number(dl.max_queue), true);
  add("limits", "queue_timeout_ms", number(l.queue_timeout_ms), number(dl.queue_timeout_ms), true);
  add("limits", "client_timeout_ms", number(l.client_timeout_ms), number(dl.client_timeout_ms), true);
  // An override that is not set follows [limits]: that is its default.
  for (const auto& [name, o] : l.clients) {
    std::string table = "limits.clients." + key_name(name);
    add(table, "max_concurrency", optional_number(o.max_concurrency), number(l.max_concurrency), true).write =
        o.max_concurrency.has_value();
    add(table, "weight", optional_number(o.weight), number(l.weight), true).write = o.weight.has_value();
    add(table, "max_queue", optional_number(o.max_queue), number(l.max_queue), true).write = o.max_queue.has_value();
    add(table, "queue_timeout_ms", optional_number(o.queue_timeout_ms), number(l.queue_timeout_ms), true).write =
        o.queue_timeout_ms.has_value();
  }

  const AdmissionSettings da;
  const AdmissionSettings& a = c.admission;
  add("admission", "mode", toml_string(to_string(a.mode)), toml_string(to_string(da.mode)), true);
  // The loader caps a default min_limit at a smaller pool_size but refuses a
  // written one: the default stays unwritten, so that it loads again, also
  // after SET makes a pool smaller.
  add("admission", "min_limit", number(a.min_limit), number(da.min_limit), true).write =
      a.min_limit != da.min_limit;
  add("admission", "max_limit", number(a.max_limit), number(da.max_limit), true);
  add("admission", "initial_limit", number(a.initial_limit), number(da.initial_limit), true);
  add("admission", "codel_target_ms", number(a.codel_target_ms), number(da.codel_target_ms), true);
  add("admission", "codel_interval_ms", number(a.codel_interval_ms), number(da.codel_interval_ms), true);
  add("admission", "shed_wait_ms", number(a.shed_wait_ms), number(da.shed_wait_ms), true);
  add("admission", "latency_tolerance", detail::float_text(a.latency_tolerance),
      detail::float_text(da.latency_tolerance), true);

  const AdminSettings dad;
  const AdminSettings& ad = c.admin;
  add("admin", "users", array_text(ad.users), array_text(dad.users), true);
  add("admin", "stats_users", array_text(ad.stats_users), array_text(dad.stats_users), true);
  add("admin", "http_user", toml_string(ad.http_user), toml_string(dad.http_user), true);
  add("admin", "http_password", toml_string(ad.http_password), toml_string(dad.http_password), true).secret =
      !ad.http_password.empty();

  const AlertSettings dal;
  const AlertSettings& al = c.alerts;
  add("alerts", "skew_factor", detail::float_text(al.skew_factor), detail::float_text(dal.skew_factor), true);
  add("alerts", "skew_for_ms", number(al.skew_for_ms), number(dal.skew_for_ms), true);
  add("alerts", "skew_min_rate", number(al.skew_min_rate), number(dal.skew_min_rate), true);
  return out;
}

std::string write_toml(const std::vector<Setting>& settings) {
  std::string out;
  const std::string* table = nullptr;
  for (const Setting& s : settings) {
    // Every table gets its header, even with nothing written in it: an
    // override table with no field set still names a client.
    if (table == nullptr || *table != s.table) {
      out += (out.empty() ? "[" : "\n[") + s.table + "]\n";
      table = &s.table;
    }
    if (s.write) out += s.name + " = " + s.value + "\n";
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// A word such as adaptive, scram-sha-256 or 10.0.0.5: taken as a string.
bool bare_word(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == ':' || c == '/' || c == '@' || c == '+' || static_cast<unsigned char>(c) >= 0x80;
  });
}

// Whether `text` is one TOML value on one line, which can smuggle in nothing
// else; `problem` says why not.
bool one_toml_value(const std::string& text, std::string& problem) {
  if (text.find_first_of("\r\n") != std::string::npos) {
    problem = "it is not on one line";
    return false;
  }
  try {
    toml::table t = toml::parse("v = " + text);
    if (t.size() == 1 && t.contains("v")) return true;
    problem = "it is more than one value";
  } catch (const toml::parse_error& e) {
    problem = std::string(e.description());
  }
  return false;
}

// value_text as TOML, or why it is none: TOML, or a bare word taken as a
// string. A single-quoted value is an SQL literal ('' is one quote): a
// string, or, as PostgreSQL's SET reads '4' for a number, what its text
// reads as in TOML (the second candidate).
bool value_toml(const std::string& key, std::string_view value_text, std::vector<std::string>& candidates,
                std::string& error) {
  std::string text = trim(value_text);
  if (text.empty()) {
    error = "SET " + key + " needs a value";
    return false;
  }
  if (text.find_first_of("\r\n") != std::string::npos) {
    error = "the value for " + key + " must be on one line";
    return false;
  }
  if (text.front() == '\'') {
    std::string literal;
    size_t i = 1;
    for (; i < text.size(); ++i) {
      if (text[i] != '\'') {
        literal += text[i];
      } else if (i + 1 < text.size() && text[i + 1] == '\'') {
        literal += '\'';
        ++i;
      } else {
        break;
      }
    }
    if (i != text.size() - 1) {
      error = "the value for " + key + " starts a quoted string but does not end with one: " + text;
      return false;
    }
    candidates.push_back(toml_string(literal));
    std::string ignored;
    std::string unquoted = trim(literal);
    if (!unquoted.empty() && unquoted.front() != '"' && unquoted.front() != '\'' && one_toml_value(unquoted, ignored))
      candidates.push_back(unquoted);
    return true;
  }
  std::string problem;
  if (one_toml_value(text, problem)) {
    candidates.push_back(text);
    return true;
  }
  if (bare_word(text)) {
    candidates.push_back(toml_string(text));
    return true;
  }
  error = "the value for " + key + " is not a value pgsluice can read (" + problem +
          "); write a number, a word, a 'quoted string', true/false or an array such as [\"a\", \"b\"]";
  return false;
}

// The settings closest to an unknown key: by edit distance of the whole key,
// or, for a key given without its table, of the last part.
std::vector<std::string> close_keys(std::string_view wanted, const std::vector<Setting>& settings) {
  std::string w = lower(wanted);
  bool has_table = w.find('.') != std::string::npos;
  std::vector<std::pair<size_t, std::string>> scored;
  for (const Setting& s : settings) {
    std::string k = lower(s.key());
    size_t d = detail::edit_distance(w, k);
    if (!has_table) d = std::min(d, detail::edit_distance(w, lower(s.name)));
    if (d <= std::max<size_t>(2, w.size() / 5)) scored.emplace_back(d, s.key());
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (const auto& [d, k] : scored) {
    if (out.size() == 3) break;
    out.push_back(k);
  }
  return out;
}

std::string unknown_key_error(std::string_view key, const std::vector<Setting>& settings) {
  std::string message = "unknown setting " + detail::quoted(key);
  std::string k = lower(key);
  for (std::string_view table : {"databases.", "users.", "limits.clients."}) {
    if (k.starts_with(table)) {
      message += ": SET changes only databases, users and client overrides the config file already has; "
                 "add new ones to the file and reload";
      break;
    }
  }
  std::vector<std::string> close = close_keys(key, settings);
  if (!close.empty()) {
    message += "; did you mean ";
    for (size_t i = 0; i < close.size(); ++i)
      message += (i == 0 ? "" : i + 1 == close.size() ? " or " : ", ") + detail::quoted(close[i]);
    message += "?";
  }
  return message + " (SHOW CONFIG lists every setting)";
}

}  // namespace

std::vector<SettingEntry> describe(const Config& c) {
  std::vector<SettingEntry> out;
  for (Setting& s : settings_of(c)) {
    std::string key = s.key();
    std::string value = s.secret ? std::string(kMask) : std::move(s.value);
    out.push_back({std::move(key), std::move(value), std::move(s.default_value), s.changeable});
  }
  return out;
}

std::string to_toml(const Config& c) { return write_toml(settings_of(c)); }

SetResult with_setting(const Config& c, std::string_view key, std::string_view value_text) {
  SetResult result;
  try {
    std::vector<Setting> settings = settings_of(c);
    std::string wanted = lower(trim(key));
    Setting* found = nullptr;
    for (Setting& s : settings) {
      if (s.key() == trim(key)) {
        found = &s;
        break;
      }
    }
    if (found == nullptr) {
      for (Setting& s : settings) {
        if (lower(s.key()) != wanted) continue;
        if (found != nullptr) {
          result.errors.push_back("setting " + detail::quoted(key) + " is ambiguous: " +
                                  detail::quoted(found->key()) + " and " + detail::quoted(s.key()) +
                                  " differ only in case; write the key exactly");
          return result;
        }
        found = &s;
      }
    }
    if (found == nullptr) {
      result.errors.push_back(unknown_key_error(trim(key), settings));
      return result;
    }
    if (!found->changeable) {
      result.errors.push_back(detail::quoted(found->key()) +
                              " cannot be changed at run time: it needs a restart (edit the config file and "
                              "restart pgsluice)");
      return result;
    }
    std::vector<std::string> candidates;
    std::string error;
    if (!value_toml(found->key(), value_text, candidates, error)) {
      result.errors.push_back(std::move(error));
      return result;
    }
    found->write = true;
    // The first candidate that loads wins; otherwise the first one's errors.
    for (size_t i = 0; i < candidates.size(); ++i) {
      found->value = candidates[i];
      LoadResult loaded = load_config_string(write_toml(settings), "SET");
      if (loaded.config) {
        result.errors.clear();
        result.config = std::move(loaded.config);
        result.config->path = c.path;
        break;
      }
      // Places in the generated document mean nothing to whoever typed SET.
      if (i == 0)
        for (const ConfigError& e : loaded.errors) result.errors.push_back(e.message);
    }
  } catch (const std::exception& e) {
    result.config.reset();
    result.errors.push_back(std::string("internal error while applying SET: ") + e.what());
  }
  return result;
}

}  // namespace pgs::config
