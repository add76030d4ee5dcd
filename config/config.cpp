// Loads pgsluice.toml into a Config: the entry points and the core sections
// ([proxy], [server], [databases], [auth], [users]); [limits] and [admission]
// are read in config_limits.cpp. toml++ is used only inside config/; every
// problem becomes a ConfigError with the place of the offending value.
#include "config/config.h"
#include "config/loader.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <utility>

namespace pgs::config {

const char* to_string(PoolMode m) {
  switch (m) {
    case PoolMode::Session: return "session";
    case PoolMode::Transaction: return "transaction";
  }
  return "unknown";
}

const char* to_string(AuthMethod m) {
  switch (m) {
    case AuthMethod::Trust: return "trust";
    case AuthMethod::Password: return "password";
    case AuthMethod::Md5: return "md5";
    case AuthMethod::ScramSha256: return "scram-sha-256";
  }
  return "unknown";
}

const char* to_string(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
  }
  return "unknown";
}

const char* to_string(LogFormat f) {
  switch (f) {
    case LogFormat::Logfmt: return "logfmt";
    case LogFormat::Json: return "json";
    case LogFormat::Text: return "text";
  }
  return "unknown";
}

const char* to_string(ClientKey k) {
  switch (k) {
    case ClientKey::Address: return "address";
    case ClientKey::User: return "user";
    case ClientKey::ApplicationName: return "application_name";
    case ClientKey::Database: return "database";
  }
  return "unknown";
}

const char* to_string(AdmissionMode m) {
  switch (m) {
    case AdmissionMode::Off: return "off";
    case AdmissionMode::Static: return "static";
    case AdmissionMode::Adaptive: return "adaptive";
  }
  return "unknown";
}

std::string ConfigError::to_string() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

namespace detail {
namespace {

constexpr std::string_view kTopLevelTables[] = {"proxy", "server", "databases", "auth", "users", "limits", "admission", "admin", "alerts"};
constexpr std::string_view kProxyKeys[] = {"listen",           "admin_listen",      "max_client_connections",
                                           "max_message_bytes", "login_timeout_ms", "shutdown_timeout_ms",
                                           "log_level",        "log_format",        "sched_slice_us"};
constexpr std::string_view kServerKeys[] = {"host",           "port",           "connect_timeout_ms",
                                            "idle_timeout_ms", "max_lifetime_ms", "reset_query",
                                            "max_prepared_statements"};
constexpr std::string_view kDatabaseKeys[] = {"dbname", "host", "port", "pool_mode", "pool_size"};
constexpr std::string_view kAuthKeys[] = {"method"};

constexpr Range kMaxClientConnections{1, 1000000};
constexpr Range kMaxMessageBytes{1024, 1073741824};
constexpr Range kLoginTimeoutMs{100, 3600000};
constexpr Range kSchedSliceUs{0, 100000};
constexpr Range kShutdownTimeoutMs{0, 86400000};
constexpr Range kPort{1, 65535};
constexpr Range kConnectTimeoutMs{100, 600000};
constexpr Range kIdleTimeoutMs{1000, 86400000};
constexpr Range kMaxLifetimeMs{1000, 604800000};
constexpr Range kPoolSize{1, 10000};
constexpr Range kMaxPreparedStatements{0, 100000};

constexpr EnumName<LogLevel> kLogLevels[] = {
    {"debug", LogLevel::Debug}, {"info", LogLevel::Info}, {"warn", LogLevel::Warn}, {"error", LogLevel::Error}};
constexpr EnumName<LogFormat> kLogFormats[] = {
    {"logfmt", LogFormat::Logfmt}, {"json", LogFormat::Json}, {"text", LogFormat::Text}};
constexpr EnumName<PoolMode> kPoolModes[] = {{"session", PoolMode::Session},
                                             {"transaction", PoolMode::Transaction}};
constexpr EnumName<AuthMethod> kAuthMethods[] = {{"trust", AuthMethod::Trust},
                                                 {"password", AuthMethod::Password},
                                                 {"md5", AuthMethod::Md5},
                                                 {"scram-sha-256", AuthMethod::ScramSha256}};

// Splits "host:port" or "[v6]:port". Returns what is wrong, or "" when it parsed.
std::string parse_endpoint(std::string_view text, Endpoint& out) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return "has \"[\" without a closing \"]\"";
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return "has no \":port\" after \"]\"";
    port = rest.substr(1);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "has no \":port\"";
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return "has an IPv6 address without brackets";
    port = text.substr(colon + 1);
  }
  if (host.empty()) return "has an empty host";
  if (port.empty()) return "has an empty port";
  bool digits = std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (!digits || ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
    return "has port " + quoted(port) + ", which is not a number in 1..65535";
  }
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(value);
  return "";
}

}  // namespace

// Double-quoted, with quotes, backslashes and control characters escaped so
// that whatever the user typed cannot break the one-line message.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// How a table name is written in a TOML header: bare if it can be, else quoted.
std::string toml_key(std::string_view s) {
  bool bare = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  return bare ? std::string(s) : quoted(s);
}

std::string describe(KeyRef k) { return quoted(k.key) + " in " + std::string(k.section); }

std::string range_text(Range r) { return std::to_string(r.min) + ".." + std::to_string(r.max); }

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "a value";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool Loader::read_endpoint(const toml::node& node, KeyRef k, Endpoint& out) {
  std::string text;
  if (!read_string(node, k, text, true)) return false;
  std::string problem = parse_endpoint(text, out);
  if (problem.empty()) return true;
  error(node, describe(k) + " " + problem + " (expected \"host:port\", IPv6 as \"[::1]:6432\")");
  return false;
}

void Loader::read_proxy(const toml::table& t, ProxySettings& p) {
  for (auto&& [key, node] : t) {
    KeyRef k{key.str(), "[proxy]"};
    if (k.key == "listen") {
      read_endpoint(node, k, p.listen);
    } else if (k.key == "admin_listen") {
      Endpoint e;
      if (read_endpoint(node, k, e)) p.admin_listen = std::move(e);
    } else if (k.key == "max_client_connections") {
      read_integer(node, k, kMaxClientConnections, p.max_client_connections);
    } else if (k.key == "max_message_bytes") {
      read_integer(node, k, kMaxMessageBytes, p.max_message_bytes);
    } else if (k.key == "login_timeout_ms") {
      read_integer(node, k, kLoginTimeoutMs, p.login_timeout_ms);
    } else if (k.key == "shutdown_timeout_ms") {
      read_integer(node, k, kShutdownTimeoutMs, p.shutdown_timeout_ms);
    } else if (k.key == "sched_slice_us") {
      read_integer(node, k, kSchedSliceUs, p.sched_slice_us);
    } else if (k.key == "log_level") {
      read_enum(node, k, kLogLevels, p.log_level);
    } else if (k.key == "log_format") {
      read_enum(node, k, kLogFormats, p.log_format);
    } else {
      unknown_key(node, k, kProxyKeys);
    }
  }
}

void Loader::read_server(const toml::table& t, ServerSettings& s) {
  for (auto&& [key, node] : t) {
    KeyRef k{key.str(), "[server]"};
    if (k.key == "host") {
      read_string(node, k, s.host, false);
    } else if (k.key == "port") {
      read_integer(node, k, kPort, s.port);
    } else if (k.key == "connect_timeout_ms") {
      read_integer(node, k, kConnectTimeoutMs, s.connect_timeout_ms);
    } else if (k.key == "idle_timeout_ms") {
      read_integer(node, k, kIdleTimeoutMs, s.idle_timeout_ms);
    } else if (k.key == "max_lifetime_ms") {
      read_integer(node, k, kMaxLifetimeMs, s.max_lifetime_ms);
    } else if (k.key == "reset_query") {
      read_string(node, k, s.reset_query, true);
    } else if (k.key == "max_prepared_statements") {
      read_integer(node, k, kMaxPreparedStatements, s.max_prepared_statements);
    } else {
      unknown_key(node, k, kServerKeys);
    }
  }
}

void Loader::read_databases(const toml::table& t, std::map<std::string, DatabaseDraft>& drafts) {
  for (auto&& [key, node] : t) {
    std::string name(key.str());
    if (name.empty()) {
      error(node, "a database name in [databases] must not be empty");
      continue;
    }
    std::string section = "[databases." + toml_key(name) + "]";
    const toml::table* db = section_table(node, section);
    if (db == nullptr) continue;
    DatabaseDraft& d = drafts[name];
    d.settings.name = name;
    read_database(*db, section, d);
  }
}

void Loader::read_database(const toml::table& t, const std::string& section, DatabaseDraft& d) {
  for (auto&& [key, node] : t) {
    KeyRef k{key.str(), section};
    if (k.key == "dbname") {
      std::string v;
      if (read_string(node, k, v, false)) d.dbname = std::move(v);
    } else if (k.key == "host") {
      std::string v;
      if (read_string(node, k, v, false)) d.host = std::move(v);
    } else if (k.key == "port") {
      uint16_t v = 0;
      if (read_integer(node, k, kPort, v)) d.port = v;
    } else if (k.key == "pool_mode") {
      read_enum(node, k, kPoolModes, d.settings.pool_mode);
    } else if (k.key == "pool_size") {
      d.pool_size_rejected = !read_integer(node, k, kPoolSize, d.settings.pool_size);
    } else {
      unknown_key(node, k, kDatabaseKeys);
    }
  }
}

// Returns false when the method is present but invalid.
bool Loader::read_auth(const toml::table& t, AuthMethod& method) {
  bool method_ok = true;
  for (auto&& [key, node] : t) {
    KeyRef k{key.str(), "[auth]"};
    if (k.key == "method") {
      method_ok = read_enum(node, k, kAuthMethods, method);
    } else {
      unknown_key(node, k, kAuthKeys);
    }
  }
  return method_ok;
}

void Loader::read_users(const toml::table& t, std::map<std::string, std::string>& users) {
  for (auto&& [key, node] : t) {
    if (key.str().empty()) {
      error(node, "a user name in [users] must not be empty");
      continue;
    }
    note_place("users." + toml_key(key.str()), node);
    const auto* password = node.as_string();
    if (password == nullptr) {
      error(node, "the password of user " + quoted(key.str()) + " in [users] must be a string, not " +
                      type_name(node));
      continue;
    }
    users[std::string(key.str())] = password->get();
  }
}

void Loader::load(const toml::table& root, Config& config) {
  const toml::node* databases_node = nullptr;
  const toml::node* method_node = nullptr;
  bool method_ok = true;
  const toml::node* users_node = nullptr;
  const toml::table* users_table = nullptr;
  std::map<std::string, DatabaseDraft> drafts;

  for (auto&& [key, node] : root) {
    std::string_view name = key.str();
    std::string section = "[" + toml_key(name) + "]";
    if (name == "proxy") {
      if (const auto* t = section_table(node, section)) read_proxy(*t, config.proxy);
    } else if (name == "server") {
      if (const auto* t = section_table(node, section)) read_server(*t, config.server);
    } else if (name == "databases") {
      databases_node = &node;
      if (const auto* t = section_table(node, section)) read_databases(*t, drafts);
    } else if (name == "auth") {
      if (const auto* t = section_table(node, section)) {
        method_node = t->get("method");
        method_ok = read_auth(*t, config.auth_method);
      }
    } else if (name == "users") {
      users_node = &node;
      users_table = section_table(node, section);
      if (users_table != nullptr) read_users(*users_table, config.users);
    } else if (name == "limits") {
      if (const auto* t = section_table(node, section)) read_limits(*t, config.limits);
    } else if (name == "admission") {
      if (const auto* t = section_table(node, section)) read_admission(*t, config.admission);
    } else if (name == "admin") {
      if (const auto* t = section_table(node, section)) read_admin(*t, config.admin);
    } else if (name == "alerts") {
      if (const auto* t = section_table(node, section)) read_alerts(*t, config.alerts);
    } else if (node.is_table()) {
      std::string message = "unknown table " + section;
      if (auto suggestion = closest(name, kTopLevelTables)) message += "; did you mean [" + std::string(*suggestion) + "]?";
      error(node, std::move(message));
    } else {
      std::string message = "unknown key " + quoted(name) + " at the top level";
      if (auto suggestion = closest(name, kTopLevelTables)) message += "; did you mean [" + std::string(*suggestion) + "]?";
      error(node, std::move(message));
    }
  }

  // Only when [databases] holds nothing at all: a database with errors has
  // already been reported and needs no second complaint.
  const toml::table* databases_table = databases_node != nullptr ? databases_node->as_table() : nullptr;
  if (databases_node == nullptr) {
    errors_.push_back({file_, 0, 0, "no databases configured; add at least one [databases.NAME] table"});
  } else if (databases_table != nullptr && databases_table->empty()) {
    error(*databases_node, "no databases configured; add at least one [databases.NAME] table");
  }

  // Skipped when [auth] method or [users] is itself wrong: already reported.
  bool users_missing = users_node == nullptr || (users_table != nullptr && users_table->empty());
  if (method_ok && config.auth_method != AuthMethod::Trust && users_missing) {
    std::string message = std::string("[auth] method is ") + quoted(to_string(config.auth_method)) +
                          " but [users] lists no users; add at least one user = \"password\"";
    if (method_node != nullptr) {
      error(*method_node, std::move(message));
    } else if (users_table != nullptr) {
      error(*users_table, std::move(message));
    } else {
      errors_.push_back({file_, 0, 0, std::move(message)});
    }
  }

  check_admission(config, drafts);
  check_admin(config);

  // Resolve per-database defaults now so the proxy never has to.
  for (auto& [name, d] : drafts) {
    DatabaseSettings s = std::move(d.settings);
    s.dbname = d.dbname.value_or(name);
    s.host = d.host.value_or(config.server.host);
    s.port = d.port.value_or(config.server.port);
    config.databases.emplace(name, std::move(s));
  }
}

}  // namespace detail

namespace {

LoadResult load(std::string_view text, const std::string& error_file, const std::string& config_path) {
  LoadResult result;
  try {
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(error_file));
    } catch (const toml::parse_error& e) {
      const toml::source_position& at = e.source().begin;
      result.errors.push_back({error_file, at.line, at.column, std::string(e.description())});
      return result;
    }
    Config config;
    config.path = config_path;
    detail::Loader loader(error_file);
    loader.load(root, config);
    result.errors = std::move(loader.errors());
    result.places = std::move(loader.places());
    std::stable_sort(result.errors.begin(), result.errors.end(), [](const ConfigError& a, const ConfigError& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    if (result.errors.empty()) result.config = std::move(config);
  } catch (const std::exception& e) {
    // Out of memory and the like: still an answer, never an exception.
    result.config.reset();
    result.errors.push_back({error_file, 0, 0, std::string("internal error while loading: ") + e.what()});
  }
  return result;
}

}  // namespace

LoadResult load_config_file(const std::string& path) {
  std::string text;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  int read_errno = 0;
  if (f == nullptr) {
    read_errno = errno;
  } else {
    char buffer[65536];
    size_t n = 0;
    errno = 0;
    try {
      while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
    } catch (const std::exception&) {
      read_errno = ENOMEM;
    }
    if (read_errno == 0 && std::ferror(f)) read_errno = errno != 0 ? errno : EIO;
    std::fclose(f);
  }
  if (read_errno != 0) {
    LoadResult result;
    result.errors.push_back({path, 0, 0, std::string("cannot read config file: ") + std::strerror(read_errno)});
    return result;
  }
  return load(text, path, path);
}

LoadResult load_config_string(std::string_view toml_text, std::string_view source_name) {
  return load(toml_text, std::string(source_name), "");
}

}  // namespace pgs::config
