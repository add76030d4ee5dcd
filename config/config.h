// The whole pgsluice configuration as a plain struct. No toml++ type leaves
// config/; the loader validates everything and reports problems with file,
// line and column.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgs::config {

enum class PoolMode { Session, Transaction };
enum class AuthMethod { Trust, Password, Md5, ScramSha256 };
enum class LogLevel { Debug, Info, Warn, Error };
enum class LogFormat { Logfmt, Json, Text };

const char* to_string(PoolMode m);    // "session" | "transaction"
const char* to_string(AuthMethod m);  // "trust" | "password" | "md5" | "scram-sha-256"
const char* to_string(LogLevel l);    // "debug" | "info" | "warn" | "error"
const char* to_string(LogFormat f);   // "logfmt" | "json" | "text"

struct Endpoint {
  std::string host;  // IPv4/IPv6 literal or name, without brackets
  uint16_t port = 0;

  bool operator==(const Endpoint&) const = default;
};

struct ProxySettings {
  Endpoint listen{"127.0.0.1", 6432};
  std::optional<Endpoint> admin_listen;
  uint32_t max_client_connections = 10000;
  uint32_t max_message_bytes = 64u << 20;  // longest client/server message accepted
  uint32_t login_timeout_ms = 15000;       // startup + authentication must finish within this
  uint32_t shutdown_timeout_ms = 30000;    // SIGTERM: how long running transactions may take
  uint32_t sched_slice_us = 0;             // Linux scheduler slice to request; 0: the kernel's default
  LogLevel log_level = LogLevel::Info;
  LogFormat log_format = LogFormat::Logfmt;  // one line per event either way

  bool operator==(const ProxySettings&) const = default;
};

struct ServerSettings {
  std::string host = "127.0.0.1";
  uint16_t port = 5432;
  uint32_t connect_timeout_ms = 5000;   // TCP connect + server login
  uint32_t idle_timeout_ms = 600000;    // close a server connection idle this long
  uint32_t max_lifetime_ms = 3600000;   // close a server connection this old once it is idle
  std::string reset_query = "DISCARD ALL";  // session mode, before a connection serves another client
  // Transaction mode: most protocol-level prepared statements one server
  // connection keeps (least recently used closed first); 0 turns the
  // statement tracking off (named statements then only work within one
  // transaction, as through PgBouncer before 1.21). Range 0..100000.
  uint32_t max_prepared_statements = 256;

  bool operator==(const ServerSettings&) const = default;
};

struct DatabaseSettings {
  std::string name;    // what clients ask for (the table name)
  std::string dbname;  // name on the server; defaults to `name`
  std::string host;    // defaults to [server] host
  uint16_t port = 0;   // defaults to [server] port
  PoolMode pool_mode = PoolMode::Transaction;
  uint32_t pool_size = 20;  // most server connections to this database, all users together

  bool operator==(const DatabaseSettings&) const = default;
};

// What "a client" is for admission control.
enum class ClientKey { Address, User, ApplicationName, Database };
enum class AdmissionMode { Off, Static, Adaptive };
const char* to_string(ClientKey k);      // "address" | "user" | "application_name" | "database"
const char* to_string(AdmissionMode m);  // "off" | "static" | "adaptive"

// [limits.clients.NAME]: overrides of the [limits] defaults for one client key.
struct ClientOverride {
  std::optional<uint32_t> max_concurrency;
  std::optional<uint32_t> weight;
  std::optional<uint32_t> max_queue;
  std::optional<uint32_t> queue_timeout_ms;

  bool operator==(const ClientOverride&) const = default;
};

struct LimitsSettings {
  ClientKey client_key = ClientKey::Address;
  uint32_t max_concurrency = 0;      // per key; 0 = no per-key limit. Range 0..10000
  uint32_t weight = 1;               // 1..1000
  uint32_t max_queue = 1000;         // 0..100000 (0: never wait)
  uint32_t queue_timeout_ms = 1000;  // 1..3600000
  std::map<std::string, ClientOverride> clients;  // by key value, e.g. "10.0.0.5" or "app1"
  // The timeout the applications themselves put on a query (driver or pool
  // setting), if known; queue_timeout_ms must stay well below it to be of
  // use. 0: unknown. Only --check reads it. Range 0..86400000.
  uint32_t client_timeout_ms = 0;

  bool operator==(const LimitsSettings&) const = default;
};

struct AdmissionSettings {
  // Off until the adaptive controller is validated on real overload (issue 3):
  // with "off", a key is limited only by [limits] and pool_size.
  AdmissionMode mode = AdmissionMode::Off;
  uint32_t min_limit = 2;            // 1..10000
  uint32_t max_limit = 0;            // 0..10000; 0 = each database's pool_size
  uint32_t initial_limit = 4;        // 1..10000
  uint32_t codel_target_ms = 5;      // 1..10000
  uint32_t codel_interval_ms = 100;  // 10..60000
  uint32_t shed_wait_ms = 10;        // 1..60000
  double latency_tolerance = 2.0;    // 1.1..10.0 (a float or an integer)

  bool operator==(const AdmissionSettings&) const = default;
};

// [admin]: who may use the admin console on [proxy] admin_listen. Console
// users log in with their [users] password.
struct AdminSettings {
  std::vector<std::string> users;        // may run every command
  std::vector<std::string> stats_users;  // SHOW commands only
  std::string http_user;                 // basic auth for HTTP; "" = no auth
  std::string http_password;

  bool operator==(const AdminSettings&) const = default;
};

// [alerts]: when to call a traffic pattern abnormal.
struct AlertSettings {
  // A key whose demand exceeds this multiple of its weighted fair share...
  double skew_factor = 2.0;  // 1.1..100.0
  // ...for this long raises a skew alert; it clears once the key has stayed
  // below the multiple for as long.
  uint32_t skew_for_ms = 5000;  // 1000..3600000
  // No skew alert while a database's total demand is below this many
  // transactions per second: a few queries are no pattern.
  uint32_t skew_min_rate = 20;  // 0..1000000

  bool operator==(const AlertSettings&) const = default;
};

// Equality compares every field, `path` included.
struct Config {
  std::string path;  // the file it was loaded from ("" for a string)
  ProxySettings proxy;
  ServerSettings server;
  std::map<std::string, DatabaseSettings> databases;
  AuthMethod auth_method = AuthMethod::ScramSha256;
  std::map<std::string, std::string> users;  // user name -> password
  LimitsSettings limits;
  AdmissionSettings admission;
  AdminSettings admin;
  AlertSettings alerts;

  bool operator==(const Config&) const = default;
};

struct ConfigError {
  std::string file;
  uint32_t line = 0;    // 1-based; 0 when the problem has no place in the file
  uint32_t column = 0;  // 1-based
  std::string message;
  std::string to_string() const;  // "FILE:LINE:COL: message"
};

// Where a value was written in the file (1-based).
struct Place {
  uint32_t line = 0;
  uint32_t column = 0;
};

// Each key written in the file, dotted as describe() names it
// ("limits.queue_timeout_ms", "databases.bench.pool_size",
// "limits.clients.\"10.0.0.5\".weight"; a table as "databases.bench", an array
// item as "admin.users[0]"), to the place of its value. Keys left at their
// default are absent. Kept beside Config, not in it: only --check needs it.
using KeyPlaces = std::map<std::string, Place>;

struct LoadResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // every problem found, in file order
  KeyPlaces places;                 // filled as far as the file was read
};

LoadResult load_config_file(const std::string& path);
LoadResult load_config_string(std::string_view toml_text, std::string_view source_name);

}  // namespace pgs::config
