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

const char* to_string(PoolMode m);    // "session" | "transaction"
const char* to_string(AuthMethod m);  // "trust" | "password" | "md5" | "scram-sha-256"
const char* to_string(LogLevel l);    // "debug" | "info" | "warn" | "error"

struct Endpoint {
  std::string host;  // IPv4/IPv6 literal or name, without brackets
  uint16_t port = 0;
};

struct ProxySettings {
  Endpoint listen{"127.0.0.1", 6432};
  std::optional<Endpoint> admin_listen;
  uint32_t max_client_connections = 10000;
  uint32_t max_message_bytes = 64u << 20;  // longest client/server message accepted
  uint32_t login_timeout_ms = 15000;       // startup + authentication must finish within this
  uint32_t shutdown_timeout_ms = 30000;    // SIGTERM: how long running transactions may take
  LogLevel log_level = LogLevel::Info;
};

struct ServerSettings {
  std::string host = "127.0.0.1";
  uint16_t port = 5432;
  uint32_t connect_timeout_ms = 5000;   // TCP connect + server login
  uint32_t idle_timeout_ms = 600000;    // close a server connection idle this long
  uint32_t max_lifetime_ms = 3600000;   // close a server connection this old once it is idle
  std::string reset_query = "DISCARD ALL";  // session mode, before a connection serves another client
};

struct DatabaseSettings {
  std::string name;    // what clients ask for (the table name)
  std::string dbname;  // name on the server; defaults to `name`
  std::string host;    // defaults to [server] host
  uint16_t port = 0;   // defaults to [server] port
  PoolMode pool_mode = PoolMode::Transaction;
  uint32_t pool_size = 20;  // most server connections to this database, all users together
};

struct Config {
  std::string path;  // the file it was loaded from ("" for a string)
  ProxySettings proxy;
  ServerSettings server;
  std::map<std::string, DatabaseSettings> databases;
  AuthMethod auth_method = AuthMethod::ScramSha256;
  std::map<std::string, std::string> users;  // user name -> password
};

struct ConfigError {
  std::string file;
  uint32_t line = 0;    // 1-based; 0 when the problem has no place in the file
  uint32_t column = 0;  // 1-based
  std::string message;
  std::string to_string() const;  // "FILE:LINE:COL: message"
};

struct LoadResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // every problem found, in file order
};

LoadResult load_config_file(const std::string& path);
LoadResult load_config_string(std::string_view toml_text, std::string_view source_name);

}  // namespace pgs::config
