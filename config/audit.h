// `pgsluice --check`: consistency findings about a configuration that loaded
// cleanly. Every value is valid on its own (the loader saw to that); these
// are the combinations an operator would want to hear about before
// production. Each finding is certain from the config (and, with --online,
// the facts read from the servers): no guesses.
//
// Pure: no sockets, no libpq. The caller fetches ServerFacts and passes them in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace pgs::config {

enum class Severity { Error, Warning, Info };
const char* to_string(Severity s);  // "error" | "warning" | "info"

struct Finding {
  Severity severity = Severity::Info;
  // Dotted key as in KeyPlaces ("limits.queue_timeout_ms"), "" when the
  // finding is about no one key. When several keys are involved, the first
  // of them that was written in the file.
  std::string key;
  Place place;  // where `key` was written; line 0 when it was not (a default)
  std::string message;
};

// What the offline check assumes of a server: PostgreSQL's defaults.
inline constexpr uint32_t kDefaultMaxConnections = 100;
inline constexpr uint32_t kDefaultSuperuserReservedConnections = 3;

// A distinct PostgreSQL server of [databases], by host (as written, compared
// without case) and port.
struct ServerTarget {
  std::string host;
  uint16_t port = 0;
  std::vector<std::string> databases;  // [databases] names that point at it, sorted
};
std::vector<ServerTarget> database_servers(const Config& c);

// What --online read from one server.
struct ServerFacts {
  std::string host;  // as in ServerTarget
  uint16_t port = 0;
  std::string error;    // non-empty: nothing could be read; why (libpq's message)
  std::string user;     // the [users] entry that logged in
  std::string version;  // server_version
  uint32_t max_connections = 0;
  uint32_t superuser_reserved_connections = 0;
  uint32_t reserved_connections = 0;  // PostgreSQL 16+; 0 before
  uint64_t statement_timeout_ms = 0;  // for `user`; 0: none
  uint64_t idle_session_timeout_ms = 0;  // PostgreSQL 14+; 0: none
  std::vector<std::string> databases;  // that accept connections
  struct Role {
    std::string name;
    bool can_login = false;
  };
  std::vector<Role> roles;
};

// Findings in file order (those without a place last). `online`: facts for
// some or all of database_servers(c); a server without facts gets the
// offline checks.
std::vector<Finding> audit(const Config& c, const KeyPlaces& places,
                           const std::vector<ServerFacts>* online = nullptr);

// ---------------------------------------------------------------- output

struct FindingCounts {
  uint32_t errors = 0;
  uint32_t warnings = 0;
  uint32_t infos = 0;
};
FindingCounts count(const std::vector<Finding>& findings);

// A load error as a finding (an error, with its place and no key).
Finding as_finding(const ConfigError& e);

// "FILE:LINE:COL: SEVERITY: message", or "FILE: SEVERITY: message" without a place.
std::string to_text(const std::string& file, const Finding& f);

// {"file":..., "valid":..., "findings":[{"severity","file","line","column","key","message"}],
//  "summary":{"errors","warnings","infos"}}; valid means no errors.
std::string to_json(const std::string& file, const std::vector<Finding>& findings);

// `s` as a JSON string, with quotes; invalid UTF-8 becomes U+FFFD.
std::string json_string(std::string_view s);

}  // namespace pgs::config
