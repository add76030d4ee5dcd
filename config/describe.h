// The configuration as a flat list of settings (for SHOW CONFIG and the
// admin console's SET), and back to TOML: a run-time change is validated by
// writing the whole configuration with the one value replaced and loading
// that text exactly as a config file is loaded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace pgs::config {

struct SettingEntry {
  std::string key;            // dotted: "limits.max_concurrency", "databases.bench.pool_size",
                              // "limits.clients.\"10.0.0.5\".weight"
  std::string value;          // as TOML would write it: 4, "transaction", 2.0, ["a", "b"]
  std::string default_value;  // same form; "" when the key has no default (e.g. databases.X.dbname)
  bool changeable = false;    // may be changed at run time (SET, reload) without a restart
};

// Every setting of `c`, in the order of the example config, each database and
// client override expanded. Passwords ([users], [admin] http_password) are
// shown as "********" (never their text).
std::vector<SettingEntry> describe(const Config& c);

// `c` written back as TOML that load_config_string() reads into an equal
// Config (passwords included).
std::string to_toml(const Config& c);

// `c` with one setting replaced: `key` as in describe() (case-insensitive),
// `value_text` as the user typed it after "SET key =": a TOML value, except
// that a bare word (transaction, adaptive, info) is taken as a string.
// The result is validated exactly as a config file is; on failure `errors`
// says why (an unknown key or one that is not changeable also fails, with a
// message naming what is accepted).
struct SetResult {
  std::optional<Config> config;
  std::vector<std::string> errors;
};
SetResult with_setting(const Config& c, std::string_view key, std::string_view value_text);

}  // namespace pgs::config
