// Internal to config/: the Loader that reads a parsed toml++ document into a
// Config, and the helpers its section readers share. config.cpp holds the
// core sections, config_limits.cpp [limits] and [admission]. Never include
// this outside config/: toml++ types do not leave it.
#pragma once

#include "config/config.h"
#include "config/names.h"

#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgs::config::detail {

// Inclusive bounds of an integer key.
struct Range {
  int64_t min;
  int64_t max;
};

// Inclusive bounds of a key that takes a float (or an integer).
struct FloatRange {
  double min;
  double max;
};

// A key as the user wrote it and the table it sits in, e.g. "port" in [server].
struct KeyRef {
  std::string_view key;
  std::string_view section;  // "[proxy]", "[databases.bench]"
};

template <typename E>
struct EnumName {
  std::string_view name;
  E value;
};

std::string describe(KeyRef k);  // "\"port\" in [server]"
std::string range_text(Range r);
// Shortest text that reads back as `v`, always with a decimal point so that
// 10.0 does not look like an integer; "nan" and "inf" as they are (TOML's
// spelling too). config_limits.cpp.
std::string float_text(double v);
const char* type_name(const toml::node& n);  // "an integer", "a table", ...
size_t edit_distance(std::string_view a, std::string_view b);

// The known name closest to `unknown`, if one is within two edits. A
// duration written without its "_ms" suffix counts as a match too.
template <size_t N>
std::optional<std::string_view> closest(std::string_view unknown, const std::string_view (&known)[N]) {
  for (std::string_view k : known) {
    if (k.ends_with("_ms") && k.substr(0, k.size() - 3) == unknown) return k;
  }
  std::optional<std::string_view> best;
  size_t best_distance = 3;
  for (std::string_view k : known) {
    size_t d = edit_distance(unknown, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best;
}

// Per-database values before [server] defaults are filled in.
struct DatabaseDraft {
  DatabaseSettings settings;
  std::optional<std::string> dbname;
  std::optional<std::string> host;
  std::optional<uint16_t> port;
  bool pool_size_rejected = false;  // then it takes part in no cross-check
};

// How one value that other values are checked against was given: `node` is
// set when it was written and read cleanly, `rejected` when it was written
// but refused (already reported, so it takes part in no cross-check). Neither:
// the default applies.
struct ValueSource {
  const toml::node* node = nullptr;
  bool rejected = false;

  void note(const toml::node& at, bool ok) {
    if (ok) {
      node = &at;
    } else {
      rejected = true;
    }
  }
};

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  // Reads a parsed document into `config`; problems go to errors().
  void load(const toml::table& root, Config& config);

  std::vector<ConfigError>& errors() { return errors_; }
  KeyPlaces& places() { return places_; }

 private:
  // Remembers where `dotted` was written, for --check.
  void note_place(std::string dotted, const toml::node& at) {
    places_[std::move(dotted)] = {at.source().begin.line, at.source().begin.column};
  }
  // "[databases.bench]" + "pool_size" -> "databases.bench.pool_size"
  void note_place(KeyRef k, const toml::node& at) {
    std::string_view s = k.section.substr(1, k.section.size() - 2);
    note_place(std::string(s) + "." + toml_key(k.key), at);
  }

  void error(const toml::source_region& at, std::string message) {
    errors_.push_back({file_, at.begin.line, at.begin.column, std::move(message)});
  }
  void error(const toml::node& at, std::string message) { error(at.source(), std::move(message)); }

  template <size_t N>
  void unknown_key(const toml::node& at, KeyRef k, const std::string_view (&known)[N]) {
    std::string message = "unknown key " + quoted(k.key) + " in " + std::string(k.section);
    if (auto suggestion = closest(k.key, known)) message += "; did you mean " + quoted(*suggestion) + "?";
    error(at, std::move(message));
  }

  const toml::table* section_table(const toml::node& node, std::string_view section) {
    note_place(std::string(section.substr(1, section.size() - 2)), node);
    if (const toml::table* t = node.as_table()) return t;
    error(node, std::string(section) + " must be a table, not " + type_name(node));
    return nullptr;
  }

  template <typename T>
  bool read_integer(const toml::node& node, KeyRef k, Range r, T& out) {
    note_place(k, node);
    const char* what = k.key.ends_with("_ms") ? "a whole number of milliseconds" : "an integer";
    const auto* integer = node.as_integer();
    if (integer == nullptr) {
      error(node, describe(k) + " must be " + what + " in " + range_text(r) + ", not " + type_name(node));
      return false;
    }
    int64_t v = integer->get();
    if (v < r.min || v > r.max) {
      error(node, describe(k) + " is " + std::to_string(v) + ", outside the allowed range " + range_text(r));
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }

  // A float, or an integer taken as one.
  bool read_number(const toml::node& node, KeyRef k, FloatRange r, double& out);

  bool read_string(const toml::node& node, KeyRef k, std::string& out, bool allow_empty) {
    note_place(k, node);
    const auto* s = node.as_string();
    if (s == nullptr) {
      error(node, describe(k) + " must be a string, not " + type_name(node));
      return false;
    }
    if (!allow_empty && s->get().empty()) {
      error(node, describe(k) + " must not be empty");
      return false;
    }
    out = s->get();
    return true;
  }

  template <typename E, size_t N>
  bool read_enum(const toml::node& node, KeyRef k, const EnumName<E> (&names)[N], E& out) {
    note_place(k, node);
    std::string choices;
    for (const auto& n : names) choices += (choices.empty() ? "" : ", ") + quoted(n.name);
    const auto* s = node.as_string();
    if (s == nullptr) {
      error(node, describe(k) + " must be one of " + choices + ", not " + type_name(node));
      return false;
    }
    for (const auto& n : names) {
      if (s->get() == n.name) {
        out = n.value;
        return true;
      }
    }
    error(node, describe(k) + " is " + quoted(s->get()) + "; expected one of " + choices);
    return false;
  }

  bool read_endpoint(const toml::node& node, KeyRef k, Endpoint& out);

  // config.cpp
  void read_proxy(const toml::table& t, ProxySettings& p);
  void read_server(const toml::table& t, ServerSettings& s);
  void read_databases(const toml::table& t, std::map<std::string, DatabaseDraft>& drafts);
  void read_database(const toml::table& t, const std::string& section, DatabaseDraft& d);
  bool read_auth(const toml::table& t, AuthMethod& method);
  void read_users(const toml::table& t, std::map<std::string, std::string>& users);

  // config_limits.cpp
  void read_limits(const toml::table& t, LimitsSettings& l);
  void read_clients(const toml::table& t, std::map<std::string, ClientOverride>& clients);
  void read_client(const toml::table& t, const std::string& section, ClientOverride& o);
  void read_admission(const toml::table& t, AdmissionSettings& a);
  // config_admin.cpp
  void read_admin(const toml::table& t, AdminSettings& a);
  bool read_string_array(const toml::node& node, KeyRef k, std::vector<std::string>& out);
  void read_alerts(const toml::table& t, AlertSettings& a);
  // Once everything is read: console users must be known users.
  void check_admin(const Config& config);

  // Once everything is read: [admission] limits against each other and the
  // pool sizes, and per-client concurrency against max_limit.
  void check_admission(const Config& config, const std::map<std::string, DatabaseDraft>& drafts);
  void require_order(KeyRef low, uint32_t low_value, const ValueSource& low_source, KeyRef high,
                     uint32_t high_value, const ValueSource& high_source, bool blame_low, std::string_view why);

  std::string file_;
  std::vector<ConfigError> errors_;
  KeyPlaces places_;

  // For check_admission.
  ValueSource min_limit_;
  ValueSource max_limit_;
  ValueSource initial_limit_;
  struct ConcurrencyValue {
    std::string section;  // "[limits]", "[limits.clients.\"10.0.0.5\"]"
    const toml::node* node;
    uint32_t value;
  };
  std::vector<ConcurrencyValue> max_concurrency_;  // every max_concurrency read cleanly

  // For check_admin: each console user name and where it was written.
  std::vector<std::pair<std::string, const toml::node*>> admin_names_;
  const toml::node* http_user_node_ = nullptr;
  const toml::node* http_password_node_ = nullptr;
};

}  // namespace pgs::config::detail
