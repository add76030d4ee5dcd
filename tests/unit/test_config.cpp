// config/: TOML -> Config, and every error the loader reports (message,
// line, column, order).
#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>
#include <unistd.h>

namespace pgs::config {
namespace {

// Enough for a config to load: one database, one user for the default auth.
constexpr const char* kMinimal = "[databases.db]\n[users]\nu = \"p\"\n";

LoadResult load(const std::string& text) { return load_config_string(text, "test.toml"); }

std::string all_errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

// Loads text that must produce exactly one error and returns it.
ConfigError single_error(const std::string& text) {
  LoadResult r = load(text);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors.size(), 1u) << all_errors(r);
  return r.errors.empty() ? ConfigError{} : r.errors.front();
}

Config loads_clean(const std::string& text) {
  LoadResult r = load(text);
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_TRUE(r.config.has_value());
  return r.config.value_or(Config{});
}

TEST(ConfigEnums, ToString) {
  EXPECT_STREQ(to_string(PoolMode::Session), "session");
  EXPECT_STREQ(to_string(PoolMode::Transaction), "transaction");
  EXPECT_STREQ(to_string(AuthMethod::Trust), "trust");
  EXPECT_STREQ(to_string(AuthMethod::Password), "password");
  EXPECT_STREQ(to_string(AuthMethod::Md5), "md5");
  EXPECT_STREQ(to_string(AuthMethod::ScramSha256), "scram-sha-256");
  EXPECT_STREQ(to_string(LogLevel::Debug), "debug");
  EXPECT_STREQ(to_string(LogLevel::Info), "info");
  EXPECT_STREQ(to_string(LogLevel::Warn), "warn");
  EXPECT_STREQ(to_string(LogLevel::Error), "error");
}

TEST(ConfigError, ToString) {
  EXPECT_EQ((ConfigError{"a.toml", 3, 7, "bad"}).to_string(), "a.toml:3:7: bad");
  EXPECT_EQ((ConfigError{"a.toml", 0, 0, "bad"}).to_string(), "a.toml: bad");
}

TEST(ConfigLoad, Defaults) {
  Config c = loads_clean("[databases.db]\n[auth]\nmethod = \"trust\"\n");
  EXPECT_EQ(c.path, "");
  EXPECT_EQ(c.proxy.listen.host, "127.0.0.1");
  EXPECT_EQ(c.proxy.listen.port, 6432);
  EXPECT_FALSE(c.proxy.admin_listen.has_value());
  EXPECT_EQ(c.proxy.max_client_connections, 10000u);
  EXPECT_EQ(c.proxy.max_message_bytes, 67108864u);
  EXPECT_EQ(c.proxy.login_timeout_ms, 15000u);
  EXPECT_EQ(c.proxy.shutdown_timeout_ms, 30000u);
  EXPECT_EQ(c.proxy.log_level, LogLevel::Info);
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 5432);
  EXPECT_EQ(c.server.connect_timeout_ms, 5000u);
  EXPECT_EQ(c.server.idle_timeout_ms, 600000u);
  EXPECT_EQ(c.server.max_lifetime_ms, 3600000u);
  EXPECT_EQ(c.server.reset_query, "DISCARD ALL");
  ASSERT_EQ(c.databases.size(), 1u);
  const DatabaseSettings& db = c.databases.at("db");
  EXPECT_EQ(db.name, "db");
  EXPECT_EQ(db.dbname, "db");
  EXPECT_EQ(db.host, "127.0.0.1");
  EXPECT_EQ(db.port, 5432);
  EXPECT_EQ(db.pool_mode, PoolMode::Transaction);
  EXPECT_EQ(db.pool_size, 20u);
  EXPECT_EQ(c.auth_method, AuthMethod::Trust);
  EXPECT_TRUE(c.users.empty());
}

TEST(ConfigLoad, DefaultAuthIsScramAndNeedsUsers) {
  Config c = loads_clean(kMinimal);
  EXPECT_EQ(c.auth_method, AuthMethod::ScramSha256);
  ASSERT_EQ(c.users.size(), 1u);
  EXPECT_EQ(c.users.at("u"), "p");

  ConfigError e = single_error("[databases.db]\n");
  EXPECT_EQ(e.line, 0u);
  EXPECT_EQ(e.to_string(),
            "test.toml: [auth] method is \"scram-sha-256\" but [users] lists no users; "
            "add at least one user = \"password\"");
}

TEST(ConfigLoad, EveryKeyParsed) {
  Config c = loads_clean(R"(
[proxy]
listen = "0.0.0.0:7000"
admin_listen = "[::1]:7001"
max_client_connections = 123
max_message_bytes = 4096
login_timeout_ms = 2500
shutdown_timeout_ms = 0
log_level = "debug"

[server]
host = "db.internal"
port = 5433
connect_timeout_ms = 1500
idle_timeout_ms = 60000
max_lifetime_ms = 7200000
reset_query = ""

[databases.app]
dbname = "app_prod"
host = "10.0.0.5"
port = 6000
pool_mode = "session"
pool_size = 7

[auth]
method = "md5"

[users]
alice = "secret"
bob = ""
)");
  EXPECT_EQ(c.proxy.listen.host, "0.0.0.0");
  EXPECT_EQ(c.proxy.listen.port, 7000);
  ASSERT_TRUE(c.proxy.admin_listen.has_value());
  EXPECT_EQ(c.proxy.admin_listen->host, "::1");
  EXPECT_EQ(c.proxy.admin_listen->port, 7001);
  EXPECT_EQ(c.proxy.max_client_connections, 123u);
  EXPECT_EQ(c.proxy.max_message_bytes, 4096u);
  EXPECT_EQ(c.proxy.login_timeout_ms, 2500u);
  EXPECT_EQ(c.proxy.shutdown_timeout_ms, 0u);
  EXPECT_EQ(c.proxy.log_level, LogLevel::Debug);
  EXPECT_EQ(c.server.host, "db.internal");
  EXPECT_EQ(c.server.port, 5433);
  EXPECT_EQ(c.server.connect_timeout_ms, 1500u);
  EXPECT_EQ(c.server.idle_timeout_ms, 60000u);
  EXPECT_EQ(c.server.max_lifetime_ms, 7200000u);
  EXPECT_EQ(c.server.reset_query, "");
  const DatabaseSettings& db = c.databases.at("app");
  EXPECT_EQ(db.name, "app");
  EXPECT_EQ(db.dbname, "app_prod");
  EXPECT_EQ(db.host, "10.0.0.5");
  EXPECT_EQ(db.port, 6000);
  EXPECT_EQ(db.pool_mode, PoolMode::Session);
  EXPECT_EQ(db.pool_size, 7u);
  EXPECT_EQ(c.auth_method, AuthMethod::Md5);
  EXPECT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.users.at("alice"), "secret");
  EXPECT_EQ(c.users.at("bob"), "");
}

TEST(ConfigLoad, EnumValues) {
  for (auto [text, level] : {std::pair{"debug", LogLevel::Debug}, std::pair{"info", LogLevel::Info},
                             std::pair{"warn", LogLevel::Warn}, std::pair{"error", LogLevel::Error}}) {
    Config c = loads_clean(std::string(kMinimal) + "[proxy]\nlog_level = \"" + text + "\"\n");
    EXPECT_EQ(c.proxy.log_level, level) << text;
  }
  for (auto [text, method] :
       {std::pair{"trust", AuthMethod::Trust}, std::pair{"password", AuthMethod::Password},
        std::pair{"md5", AuthMethod::Md5}, std::pair{"scram-sha-256", AuthMethod::ScramSha256}}) {
    Config c = loads_clean(std::string(kMinimal) + "[auth]\nmethod = \"" + text + "\"\n");
    EXPECT_EQ(c.auth_method, method) << text;
  }
  ConfigError e = single_error(std::string(kMinimal) + "[auth]\nmethod = \"SCRAM-SHA-256\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:10: \"method\" in [auth] is \"SCRAM-SHA-256\"; expected one of "
                           "\"trust\", \"password\", \"md5\", \"scram-sha-256\"");
  e = single_error("[databases.db]\npool_mode = \"statement\"\n[users]\nu = \"p\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:2:13: \"pool_mode\" in [databases.db] is \"statement\"; expected one of "
                           "\"session\", \"transaction\"");
}

TEST(ConfigLoad, PerDatabaseOverridesAndServerDefaults) {
  // [server] comes after the databases in the file: defaults still apply.
  Config c = loads_clean(R"(
[databases.plain]
[databases.moved]
host = "other"
port = 7777
[databases.renamed]
dbname = "real_name"
[server]
host = "primary"
port = 5555
[auth]
method = "trust"
)");
  ASSERT_EQ(c.databases.size(), 3u);
  const DatabaseSettings& plain = c.databases.at("plain");
  EXPECT_EQ(plain.name, "plain");
  EXPECT_EQ(plain.dbname, "plain");
  EXPECT_EQ(plain.host, "primary");
  EXPECT_EQ(plain.port, 5555);
  const DatabaseSettings& moved = c.databases.at("moved");
  EXPECT_EQ(moved.dbname, "moved");
  EXPECT_EQ(moved.host, "other");
  EXPECT_EQ(moved.port, 7777);
  const DatabaseSettings& renamed = c.databases.at("renamed");
  EXPECT_EQ(renamed.name, "renamed");
  EXPECT_EQ(renamed.dbname, "real_name");
  EXPECT_EQ(renamed.host, "primary");
  EXPECT_EQ(renamed.port, 5555);
}

TEST(ConfigLoad, QuotedAndInlineDatabaseNames) {
  Config c = loads_clean(
      "[databases]\n\"my.db\" = {}\nshort = { pool_size = 3 }\n[auth]\nmethod = \"trust\"\n");
  EXPECT_EQ(c.databases.at("my.db").dbname, "my.db");
  EXPECT_EQ(c.databases.at("short").pool_size, 3u);

  ConfigError e = single_error("[databases.\"my.db\"]\npool_sise = 1\n[users]\nu = \"p\"\n");
  EXPECT_EQ(e.message, "unknown key \"pool_sise\" in [databases.\"my.db\"]; did you mean \"pool_size\"?");
}

struct IntegerKey {
  const char* section;  // table header, without brackets
  const char* key;
  int64_t min;
  int64_t max;
  std::function<int64_t(const Config&)> get;
};

std::vector<IntegerKey> integer_keys() {
  return {
      {"proxy", "max_client_connections", 1, 1000000, [](const Config& c) { return c.proxy.max_client_connections; }},
      {"proxy", "max_message_bytes", 1024, 1073741824, [](const Config& c) { return c.proxy.max_message_bytes; }},
      {"proxy", "login_timeout_ms", 100, 3600000, [](const Config& c) { return c.proxy.login_timeout_ms; }},
      {"proxy", "shutdown_timeout_ms", 0, 86400000, [](const Config& c) { return c.proxy.shutdown_timeout_ms; }},
      {"proxy", "sched_slice_us", 0, 100000, [](const Config& c) { return c.proxy.sched_slice_us; }},
      {"server", "port", 1, 65535, [](const Config& c) { return c.server.port; }},
      {"server", "connect_timeout_ms", 100, 600000, [](const Config& c) { return c.server.connect_timeout_ms; }},
      {"server", "idle_timeout_ms", 1000, 86400000, [](const Config& c) { return c.server.idle_timeout_ms; }},
      {"server", "max_lifetime_ms", 1000, 604800000, [](const Config& c) { return c.server.max_lifetime_ms; }},
      {"databases.db", "port", 1, 65535, [](const Config& c) { return c.databases.at("db").port; }},
      {"databases.db", "pool_size", 1, 10000, [](const Config& c) { return c.databases.at("db").pool_size; }},
      {"limits", "max_concurrency", 0, 10000, [](const Config& c) { return c.limits.max_concurrency; }},
      {"limits", "weight", 1, 1000, [](const Config& c) { return c.limits.weight; }},
      {"limits", "max_queue", 0, 100000, [](const Config& c) { return c.limits.max_queue; }},
      {"limits", "queue_timeout_ms", 1, 3600000, [](const Config& c) { return c.limits.queue_timeout_ms; }},
      {"limits.clients.\"10.0.0.5\"", "max_concurrency", 0, 10000,
       [](const Config& c) { return c.limits.clients.at("10.0.0.5").max_concurrency.value_or(99999); }},
      {"limits.clients.\"10.0.0.5\"", "weight", 1, 1000,
       [](const Config& c) { return c.limits.clients.at("10.0.0.5").weight.value_or(99999); }},
      {"limits.clients.\"10.0.0.5\"", "max_queue", 0, 100000,
       [](const Config& c) { return c.limits.clients.at("10.0.0.5").max_queue.value_or(999999); }},
      {"limits.clients.\"10.0.0.5\"", "queue_timeout_ms", 1, 3600000,
       [](const Config& c) { return c.limits.clients.at("10.0.0.5").queue_timeout_ms.value_or(9999999); }},
      {"admission", "min_limit", 1, 10000, [](const Config& c) { return c.admission.min_limit; }},
      {"admission", "max_limit", 0, 10000, [](const Config& c) { return c.admission.max_limit; }},
      {"admission", "initial_limit", 1, 10000, [](const Config& c) { return c.admission.initial_limit; }},
      {"admission", "codel_target_ms", 1, 10000, [](const Config& c) { return c.admission.codel_target_ms; }},
      {"admission", "codel_interval_ms", 10, 60000, [](const Config& c) { return c.admission.codel_interval_ms; }},
      {"admission", "shed_wait_ms", 1, 60000, [](const Config& c) { return c.admission.shed_wait_ms; }},
  };
}

// The key under test is always on line 2, right after its table header. The
// database's pool is as large as it gets so that [admission] limits at their
// top edge fit it.
std::string with_key(const IntegerKey& k, const std::string& value) {
  std::string text = "[" + std::string(k.section) + "]\n" + k.key + " = " + value + "\n";
  if (std::string(k.section) != "databases.db") text += "[databases.db]\npool_size = 10000\n";
  return text + "[users]\nu = \"p\"\n";
}

uint32_t value_column(const IntegerKey& k) { return static_cast<uint32_t>(std::string(k.key).size() + 4); }

TEST(ConfigRanges, EveryIntegerKeyAtItsEdges) {
  for (const IntegerKey& k : integer_keys()) {
    SCOPED_TRACE(std::string(k.section) + "." + k.key);
    for (int64_t inside : {k.min, k.max}) {
      Config c = loads_clean(with_key(k, std::to_string(inside)));
      EXPECT_EQ(k.get(c), inside);
    }
    std::string range = std::to_string(k.min) + ".." + std::to_string(k.max);
    for (int64_t outside : {k.min - 1, k.max + 1}) {
      ConfigError e = single_error(with_key(k, std::to_string(outside)));
      EXPECT_EQ(e.line, 2u);
      EXPECT_EQ(e.column, value_column(k));
      EXPECT_EQ(e.message, "\"" + std::string(k.key) + "\" in [" + k.section + "] is " + std::to_string(outside) +
                               ", outside the allowed range " + range);
    }
  }
}

TEST(ConfigRanges, HugeIntegersAreOutOfRangeNotWrapped) {
  ConfigError e = single_error(std::string(kMinimal) + "[proxy]\nmax_client_connections = 4294977296\n");
  EXPECT_EQ(e.message,
            "\"max_client_connections\" in [proxy] is 4294977296, outside the allowed range 1..1000000");
  e = single_error(std::string(kMinimal) + "[server]\nport = -9223372036854775808\n");
  EXPECT_NE(e.message.find("outside the allowed range 1..65535"), std::string::npos) << e.message;
}

TEST(ConfigTypes, WrongTypesForIntegerKeys) {
  for (const IntegerKey& k : integer_keys()) {
    SCOPED_TRACE(std::string(k.section) + "." + k.key);
    std::string range = std::to_string(k.min) + ".." + std::to_string(k.max);
    std::string expected =
        std::string(k.key).ends_with("_ms") ? "a whole number of milliseconds in " : "an integer in ";
    for (auto [value, type] : {std::pair{"\"100\"", "a string"}, std::pair{"1000.0", "a float"},
                               std::pair{"true", "a boolean"}, std::pair{"[1]", "an array"},
                               std::pair{"{}", "a table"}, std::pair{"1979-05-27", "a date"}}) {
      ConfigError e = single_error(with_key(k, value));
      EXPECT_EQ(e.line, 2u);
      EXPECT_EQ(e.column, value_column(k));
      EXPECT_EQ(e.message, "\"" + std::string(k.key) + "\" in [" + k.section + "] must be " + expected + range +
                               ", not " + type);
    }
  }
}

TEST(ConfigTypes, WrongTypesForStringsAndTables) {
  ConfigError e = single_error(std::string(kMinimal) + "[server]\nhost = 5\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:8: \"host\" in [server] must be a string, not an integer");
  e = single_error(std::string(kMinimal) + "[proxy]\nlog_level = 1\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:13: \"log_level\" in [proxy] must be one of \"debug\", \"info\", \"warn\", "
                           "\"error\", not an integer");
  e = single_error(std::string(kMinimal) + "[proxy]\nlisten = 6432\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:10: \"listen\" in [proxy] must be a string, not an integer");
  e = single_error(std::string(kMinimal) + "[server]\nreset_query = false\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:15: \"reset_query\" in [server] must be a string, not a boolean");
  e = single_error("[databases.db]\n[users]\nu = 1234\n");
  EXPECT_EQ(e.to_string(), "test.toml:3:5: the password of user \"u\" in [users] must be a string, not an integer");
  e = single_error(std::string("proxy = 1\n") + kMinimal);
  EXPECT_EQ(e.to_string(), "test.toml:1:9: [proxy] must be a table, not an integer");
  e = single_error("[databases]\ndb = \"db\"\nother = {}\n[users]\nu = \"p\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:2:6: [databases.db] must be a table, not a string");
  e = single_error("[[databases]]\nname = \"db\"\n[users]\nu = \"p\"\n");
  EXPECT_EQ(e.message, "[databases] must be a table, not an array");
  EXPECT_EQ(e.line, 1u);
}

TEST(ConfigStrings, EmptyNamesAndValues) {
  ConfigError e = single_error(std::string(kMinimal) + "[server]\nhost = \"\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:8: \"host\" in [server] must not be empty");
  e = single_error("[databases.db]\ndbname = \"\"\n[users]\nu = \"p\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:2:10: \"dbname\" in [databases.db] must not be empty");
  e = single_error("[databases.db]\nhost = \"\"\n[users]\nu = \"p\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:2:8: \"host\" in [databases.db] must not be empty");
  e = single_error("[databases.\"\"]\n[databases.ok]\n[users]\nu = \"p\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:1:1: a database name in [databases] must not be empty");
  e = single_error("[databases.db]\n[users]\n\"\" = \"p\"\nu = \"p\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:3:6: a user name in [users] must not be empty");
}

TEST(ConfigUnknown, KeyWithSuggestion) {
  ConfigError e = single_error(std::string(kMinimal) + "[proxy]\nmax_client_conections = 5\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:25: unknown key \"max_client_conections\" in [proxy]; "
                           "did you mean \"max_client_connections\"?");
  e = single_error(std::string(kMinimal) + "[server]\nidle_timeout = 5\n");
  EXPECT_EQ(e.message, "unknown key \"idle_timeout\" in [server]; did you mean \"idle_timeout_ms\"?");
  e = single_error("[databases.db]\npoolsize = 5\n[users]\nu = \"p\"\n");
  EXPECT_EQ(e.message, "unknown key \"poolsize\" in [databases.db]; did you mean \"pool_size\"?");
  e = single_error(std::string(kMinimal) + "[auth]\nmethd = \"md5\"\n");
  EXPECT_EQ(e.message, "unknown key \"methd\" in [auth]; did you mean \"method\"?");
}

TEST(ConfigUnknown, KeyWithoutSuggestion) {
  ConfigError e = single_error(std::string(kMinimal) + "[proxy]\nfrobnicate = 1\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:14: unknown key \"frobnicate\" in [proxy]");
  // Three edits away is too far to guess.
  e = single_error(std::string(kMinimal) + "[server]\nprt_x_y = 1\n");
  EXPECT_EQ(e.message, "unknown key \"prt_x_y\" in [server]");
}

TEST(ConfigUnknown, Tables) {
  ConfigError e = single_error(std::string(kMinimal) + "[proxi]\nlisten = \"a:1\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:4:1: unknown table [proxi]; did you mean [proxy]?");
  e = single_error(std::string(kMinimal) + "[metrics]\n");
  EXPECT_EQ(e.to_string(), "test.toml:4:1: unknown table [metrics]");
  e = single_error(std::string(kMinimal) + "[database.x]\n");
  EXPECT_EQ(e.message, "unknown table [database]; did you mean [databases]?");
  e = single_error(std::string("verbose = true\n") + kMinimal);
  EXPECT_EQ(e.to_string(), "test.toml:1:11: unknown key \"verbose\" at the top level");
  e = single_error("[databases.db.replica]\nhost = \"x\"\n[users]\nu = \"p\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:1:1: unknown key \"replica\" in [databases.db]");
}

TEST(ConfigSyntax, ErrorHasTomlPosition) {
  LoadResult r = load("[databases.db]\n[users]\nu = \"p\"\n[proxy]\nlisten = \n");
  ASSERT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].file, "test.toml");
  EXPECT_EQ(r.errors[0].line, 5u);
  EXPECT_EQ(r.errors[0].column, 10u);
  EXPECT_FALSE(r.errors[0].message.empty());

  r = load("[databases.db]\n[users]\nu = \"p\"\nu = \"q\"\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 4u);

  r = load("[proxy\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 1u);
  EXPECT_TRUE(r.errors[0].to_string().starts_with("test.toml:1:")) << r.errors[0].to_string();
}

TEST(ConfigErrors, AllReportedInFileOrder) {
  // Tables are iterated by name internally (auth < databases < proxy < server),
  // so file order here is deliberately different.
  LoadResult r = load(R"([server]
port = 0
[proxy]
listen = "nohost"
log_level = "loud"
max_message_bytes = 1.5
[databases]
a = { pool_size = 0, pool_mode = "bogus" }
[auth]
method = "kerberos"
[users]
u = "p"
)");
  ASSERT_FALSE(r.config.has_value());
  std::vector<std::string> got;
  for (const auto& e : r.errors) got.push_back(e.to_string());
  std::vector<std::string> want = {
      "test.toml:2:8: \"port\" in [server] is 0, outside the allowed range 1..65535",
      "test.toml:4:10: \"listen\" in [proxy] has no \":port\" (expected \"host:port\", IPv6 as \"[::1]:6432\")",
      "test.toml:5:13: \"log_level\" in [proxy] is \"loud\"; expected one of \"debug\", \"info\", \"warn\", \"error\"",
      "test.toml:6:21: \"max_message_bytes\" in [proxy] must be an integer in 1024..1073741824, not a float",
      "test.toml:8:19: \"pool_size\" in [databases.a] is 0, outside the allowed range 1..10000",
      "test.toml:8:34: \"pool_mode\" in [databases.a] is \"bogus\"; expected one of \"session\", \"transaction\"",
      "test.toml:10:10: \"method\" in [auth] is \"kerberos\"; expected one of \"trust\", \"password\", \"md5\", "
      "\"scram-sha-256\"",
  };
  EXPECT_EQ(got, want);
}

TEST(ConfigErrors, MissingDatabases) {
  ConfigError e = single_error("[auth]\nmethod = \"trust\"\n");
  EXPECT_EQ(e.line, 0u);
  EXPECT_EQ(e.column, 0u);
  EXPECT_EQ(e.to_string(), "test.toml: no databases configured; add at least one [databases.NAME] table");

  LoadResult r = load("");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);  // no databases, and scram-sha-256 without users
  EXPECT_EQ(r.errors[0].message, "no databases configured; add at least one [databases.NAME] table");

  e = single_error("[auth]\nmethod = \"trust\"\n[databases]\n");
  EXPECT_EQ(e.to_string(), "test.toml:3:1: no databases configured; add at least one [databases.NAME] table");
}

TEST(ConfigErrors, UsersRequiredUnlessTrust) {
  for (const char* method : {"password", "md5", "scram-sha-256"}) {
    ConfigError e = single_error(std::string("[databases.db]\n[auth]\nmethod = \"") + method + "\"\n[users]\n");
    EXPECT_EQ(e.line, 3u);
    EXPECT_EQ(e.column, 10u);
    EXPECT_EQ(e.message, std::string("[auth] method is \"") + method +
                             "\" but [users] lists no users; add at least one user = \"password\"");
  }
  // Without [auth], the empty [users] table is the place to point at.
  ConfigError e = single_error("[databases.db]\n[users]\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_EQ(e.column, 1u);
  loads_clean("[databases.db]\n[auth]\nmethod = \"trust\"\n[users]\n");
  // A user whose password has the wrong type is reported once, not twice.
  e = single_error("[databases.db]\n[users]\nu = 1\n");
  EXPECT_EQ(e.line, 3u);
  // So is a bad method or a [users] that is not a table.
  e = single_error("[databases.db]\n[auth]\nmethod = \"none\"\n");
  EXPECT_EQ(e.line, 3u);
  e = single_error("users = 1\n[databases.db]\n");
  EXPECT_EQ(e.to_string(), "test.toml:1:9: [users] must be a table, not an integer");
}

struct EndpointCase {
  const char* text;
  const char* host;
  uint16_t port;
};

TEST(ConfigEndpoint, Valid) {
  for (const EndpointCase& c : {EndpointCase{"127.0.0.1:6432", "127.0.0.1", 6432},
                                EndpointCase{"[::1]:6432", "::1", 6432},
                                EndpointCase{"[::]:1", "::", 1},
                                EndpointCase{"[fe80::1%eth0]:65535", "fe80::1%eth0", 65535},
                                EndpointCase{"localhost:5", "localhost", 5},
                                EndpointCase{"0.0.0.0:06432", "0.0.0.0", 6432}}) {
    SCOPED_TRACE(c.text);
    for (const char* key : {"listen", "admin_listen"}) {
      Config cfg = loads_clean(std::string(kMinimal) + "[proxy]\n" + key + " = \"" + c.text + "\"\n");
      const Endpoint& e = std::string(key) == "listen" ? cfg.proxy.listen : cfg.proxy.admin_listen.value_or(Endpoint{});
      EXPECT_EQ(e.host, c.host);
      EXPECT_EQ(e.port, c.port);
    }
  }
}

TEST(ConfigEndpoint, Invalid) {
  struct Bad {
    const char* text;
    const char* problem;
  };
  for (const Bad& b : {Bad{"127.0.0.1", "has no \":port\""},
                       Bad{"", "has no \":port\""},
                       Bad{"127.0.0.1:", "has an empty port"},
                       Bad{":6432", "has an empty host"},
                       Bad{"[]:6432", "has an empty host"},
                       Bad{"[::1]6432", "has no \":port\" after \"]\""},
                       Bad{"[::1]", "has no \":port\" after \"]\""},
                       Bad{"[::1:6432", "has \"[\" without a closing \"]\""},
                       Bad{"::1:6432", "has an IPv6 address without brackets"},
                       Bad{"host:0", "has port \"0\", which is not a number in 1..65535"},
                       Bad{"host:65536", "has port \"65536\", which is not a number in 1..65535"},
                       Bad{"host:-1", "has port \"-1\", which is not a number in 1..65535"},
                       Bad{"host:+1", "has port \"+1\", which is not a number in 1..65535"},
                       Bad{"host:http", "has port \"http\", which is not a number in 1..65535"},
                       Bad{"host:64 32", "has port \"64 32\", which is not a number in 1..65535"},
                       Bad{"host:99999999999999999999999",
                           "has port \"99999999999999999999999\", which is not a number in 1..65535"}}) {
    SCOPED_TRACE(b.text);
    for (std::string key : {"listen", "admin_listen"}) {
      ConfigError e = single_error(std::string(kMinimal) + "[proxy]\n" + key + " = \"" + b.text + "\"\n");
      EXPECT_EQ(e.line, 5u);
      EXPECT_EQ(e.column, key.size() + 4);
      EXPECT_EQ(e.message, "\"" + key + "\" in [proxy] " + b.problem +
                               " (expected \"host:port\", IPv6 as \"[::1]:6432\")");
    }
  }
}

TEST(ConfigMessages, ControlCharactersAreEscaped) {
  ConfigError e = single_error(std::string(kMinimal) + "[proxy]\nlog_level = \"in\\nfo\\u0001\"\n");
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
  EXPECT_NE(e.message.find("\"in\\nfo\\x01\""), std::string::npos) << e.message;
}

TEST(ConfigFile, ExampleLoadsCleanAndDocumentsTheDefaults) {
  std::string path = PGSLUICE_SOURCE_DIR "/config/pgsluice.example.toml";
  LoadResult r = load_config_file(path);
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  ASSERT_TRUE(r.config.has_value());
  const Config& c = *r.config;
  EXPECT_EQ(c.path, path);
  // The example shows every default, so what it loads is the default.
  ProxySettings p;
  ServerSettings s;
  EXPECT_EQ(c.proxy.listen.host, p.listen.host);
  EXPECT_EQ(c.proxy.listen.port, p.listen.port);
  EXPECT_EQ(c.proxy.admin_listen.has_value(), p.admin_listen.has_value());
  EXPECT_EQ(c.proxy.max_client_connections, p.max_client_connections);
  EXPECT_EQ(c.proxy.max_message_bytes, p.max_message_bytes);
  EXPECT_EQ(c.proxy.login_timeout_ms, p.login_timeout_ms);
  EXPECT_EQ(c.proxy.shutdown_timeout_ms, p.shutdown_timeout_ms);
  EXPECT_EQ(c.proxy.sched_slice_us, p.sched_slice_us);
  EXPECT_EQ(c.proxy.log_level, p.log_level);
  EXPECT_EQ(c.proxy.log_format, p.log_format);
  EXPECT_EQ(c.server.host, s.host);
  EXPECT_EQ(c.server.port, s.port);
  EXPECT_EQ(c.server.connect_timeout_ms, s.connect_timeout_ms);
  EXPECT_EQ(c.server.idle_timeout_ms, s.idle_timeout_ms);
  EXPECT_EQ(c.server.max_lifetime_ms, s.max_lifetime_ms);
  EXPECT_EQ(c.server.reset_query, s.reset_query);
  EXPECT_EQ(c.server.max_prepared_statements, s.max_prepared_statements);
  ASSERT_EQ(c.databases.count("bench"), 1u);
  EXPECT_EQ(c.databases.at("bench").pool_mode, PoolMode::Transaction);
  EXPECT_EQ(c.databases.at("bench").pool_size, DatabaseSettings{}.pool_size);
  EXPECT_EQ(c.auth_method, AuthMethod::ScramSha256);
  EXPECT_EQ(c.users.at("bench"), "bench");
  LimitsSettings l;
  AdmissionSettings a;
  EXPECT_EQ(c.limits.client_key, l.client_key);
  EXPECT_EQ(c.limits.max_concurrency, l.max_concurrency);
  EXPECT_EQ(c.limits.weight, l.weight);
  EXPECT_EQ(c.limits.max_queue, l.max_queue);
  EXPECT_EQ(c.limits.queue_timeout_ms, l.queue_timeout_ms);
  EXPECT_TRUE(c.limits.clients.empty());  // the example's override is commented out
  EXPECT_EQ(c.limits.client_timeout_ms, l.client_timeout_ms);
  EXPECT_EQ(c.admission.mode, a.mode);
  EXPECT_EQ(c.admission.min_limit, a.min_limit);
  EXPECT_EQ(c.admission.max_limit, a.max_limit);
  EXPECT_EQ(c.admission.initial_limit, a.initial_limit);
  EXPECT_EQ(c.admission.codel_target_ms, a.codel_target_ms);
  EXPECT_EQ(c.admission.codel_interval_ms, a.codel_interval_ms);
  EXPECT_EQ(c.admission.shed_wait_ms, a.shed_wait_ms);
  EXPECT_EQ(c.admission.latency_tolerance, a.latency_tolerance);
  AdminSettings ad;
  AlertSettings al;
  EXPECT_EQ(c.admin.users, ad.users);
  EXPECT_EQ(c.admin.stats_users, ad.stats_users);
  EXPECT_EQ(c.admin.http_user, ad.http_user);
  EXPECT_EQ(c.admin.http_password, ad.http_password);
  EXPECT_EQ(c.alerts.skew_factor, al.skew_factor);
  EXPECT_EQ(c.alerts.skew_for_ms, al.skew_for_ms);
  EXPECT_EQ(c.alerts.skew_min_rate, al.skew_min_rate);
}

// Every prefix of the example is either a valid config or a list of errors
// with messages; the loader never throws or crashes on a torn file.
TEST(ConfigFile, EveryTruncationOfTheExampleIsHandled) {
  LoadResult full = load_config_file(PGSLUICE_SOURCE_DIR "/config/pgsluice.example.toml");
  ASSERT_TRUE(full.config.has_value());
  std::FILE* f = std::fopen(PGSLUICE_SOURCE_DIR "/config/pgsluice.example.toml", "rb");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
  std::fclose(f);
  for (size_t len = 0; len <= text.size(); ++len) {
    LoadResult r = load(text.substr(0, len));
    EXPECT_NE(r.config.has_value(), !r.errors.empty()) << len;
    for (const auto& e : r.errors) EXPECT_FALSE(e.message.empty()) << len;
  }
}

TEST(ConfigFile, Unreadable) {
  LoadResult r = load_config_file("/nonexistent/pgsluice.toml");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            "/nonexistent/pgsluice.toml: cannot read config file: No such file or directory");

  r = load_config_file("/");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), "/: cannot read config file: Is a directory");
}

TEST(ConfigFile, ErrorsNameTheFile) {
  char path[] = "/tmp/pgsluice_config_test_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = "[databases.db]\npool_size = 0\n[users]\nu = \"p\"\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  LoadResult r = load_config_file(path);
  std::remove(path);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            std::string(path) + ":2:13: \"pool_size\" in [databases.db] is 0, outside the allowed range 1..10000");
}

// ---- [limits] and [admission] ----

TEST(ConfigEnums, LimitsAndAdmissionToString) {
  EXPECT_STREQ(to_string(ClientKey::Address), "address");
  EXPECT_STREQ(to_string(ClientKey::User), "user");
  EXPECT_STREQ(to_string(ClientKey::ApplicationName), "application_name");
  EXPECT_STREQ(to_string(ClientKey::Database), "database");
  EXPECT_STREQ(to_string(AdmissionMode::Off), "off");
  EXPECT_STREQ(to_string(AdmissionMode::Static), "static");
  EXPECT_STREQ(to_string(AdmissionMode::Adaptive), "adaptive");
}

void expect_default_limits(const Config& c) {
  EXPECT_EQ(c.limits.client_key, ClientKey::Address);
  EXPECT_EQ(c.limits.max_concurrency, 0u);
  EXPECT_EQ(c.limits.weight, 1u);
  EXPECT_EQ(c.limits.max_queue, 1000u);
  EXPECT_EQ(c.limits.queue_timeout_ms, 1000u);
  EXPECT_TRUE(c.limits.clients.empty());
  EXPECT_EQ(c.admission.mode, AdmissionMode::Off);
  EXPECT_EQ(c.admission.min_limit, 2u);
  EXPECT_EQ(c.admission.max_limit, 0u);
  EXPECT_EQ(c.admission.initial_limit, 4u);
  EXPECT_EQ(c.admission.codel_target_ms, 5u);
  EXPECT_EQ(c.admission.codel_interval_ms, 100u);
  EXPECT_EQ(c.admission.shed_wait_ms, 10u);
  EXPECT_EQ(c.admission.latency_tolerance, 2.0);
}

TEST(ConfigLimits, Defaults) {
  expect_default_limits(loads_clean(kMinimal));
  expect_default_limits(loads_clean(std::string(kMinimal) + "[limits]\n[limits.clients]\n[admission]\n"));
}

TEST(ConfigLimits, EveryKeyParsed) {
  Config c = loads_clean(std::string(kMinimal) + R"(
[limits]
client_key = "user"
max_concurrency = 8
weight = 3
max_queue = 0
queue_timeout_ms = 250

[limits.clients."10.0.0.5"]
max_concurrency = 4
weight = 2
max_queue = 16
queue_timeout_ms = 500

[admission]
mode = "static"
min_limit = 3
max_limit = 16
initial_limit = 5
codel_target_ms = 7
codel_interval_ms = 200
shed_wait_ms = 20
latency_tolerance = 2.5
)");
  EXPECT_EQ(c.limits.client_key, ClientKey::User);
  EXPECT_EQ(c.limits.max_concurrency, 8u);
  EXPECT_EQ(c.limits.weight, 3u);
  EXPECT_EQ(c.limits.max_queue, 0u);
  EXPECT_EQ(c.limits.queue_timeout_ms, 250u);
  ASSERT_EQ(c.limits.clients.size(), 1u);
  const ClientOverride& o = c.limits.clients.at("10.0.0.5");
  EXPECT_EQ(o.max_concurrency, 4u);
  EXPECT_EQ(o.weight, 2u);
  EXPECT_EQ(o.max_queue, 16u);
  EXPECT_EQ(o.queue_timeout_ms, 500u);
  EXPECT_EQ(c.admission.mode, AdmissionMode::Static);
  EXPECT_EQ(c.admission.min_limit, 3u);
  EXPECT_EQ(c.admission.max_limit, 16u);
  EXPECT_EQ(c.admission.initial_limit, 5u);
  EXPECT_EQ(c.admission.codel_target_ms, 7u);
  EXPECT_EQ(c.admission.codel_interval_ms, 200u);
  EXPECT_EQ(c.admission.shed_wait_ms, 20u);
  EXPECT_EQ(c.admission.latency_tolerance, 2.5);
}

TEST(ConfigLimits, EnumValues) {
  for (auto [text, key] : {std::pair{"address", ClientKey::Address}, std::pair{"user", ClientKey::User},
                           std::pair{"application_name", ClientKey::ApplicationName},
                           std::pair{"database", ClientKey::Database}}) {
    Config c = loads_clean(std::string(kMinimal) + "[limits]\nclient_key = \"" + text + "\"\n");
    EXPECT_EQ(c.limits.client_key, key) << text;
  }
  for (auto [text, mode] : {std::pair{"off", AdmissionMode::Off}, std::pair{"static", AdmissionMode::Static},
                            std::pair{"adaptive", AdmissionMode::Adaptive}}) {
    Config c = loads_clean(std::string(kMinimal) + "[admission]\nmode = \"" + text + "\"\n");
    EXPECT_EQ(c.admission.mode, mode) << text;
  }
  ConfigError e = single_error(std::string(kMinimal) + "[limits]\nclient_key = \"ip\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:14: \"client_key\" in [limits] is \"ip\"; expected one of \"address\", "
                           "\"user\", \"application_name\", \"database\"");
  e = single_error(std::string(kMinimal) + "[limits]\nclient_key = \"application-name\"\n");
  EXPECT_EQ(e.line, 5u);
  e = single_error(std::string(kMinimal) + "[admission]\nmode = \"Adaptive\"\n");
  EXPECT_EQ(e.to_string(),
            "test.toml:5:8: \"mode\" in [admission] is \"Adaptive\"; expected one of \"off\", \"static\", \"adaptive\"");
  e = single_error(std::string(kMinimal) + "[admission]\nmode = false\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:8: \"mode\" in [admission] must be one of \"off\", \"static\", "
                           "\"adaptive\", not a boolean");
  e = single_error(std::string(kMinimal) + "[limits]\nclient_key = 1\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:14: \"client_key\" in [limits] must be one of \"address\", \"user\", "
                           "\"application_name\", \"database\", not an integer");
}

TEST(ConfigLimits, LatencyToleranceTakesFloatsAndIntegers) {
  for (auto [text, value] : {std::pair{"1.1", 1.1}, std::pair{"10.0", 10.0}, std::pair{"10", 10.0},
                             std::pair{"2", 2.0}, std::pair{"3.75", 3.75}, std::pair{"15e-1", 1.5}}) {
    Config c = loads_clean(std::string(kMinimal) + "[admission]\nlatency_tolerance = " + text + "\n");
    EXPECT_EQ(c.admission.latency_tolerance, value) << text;
  }
  for (auto [text, shown] : {std::pair{"1.0999", "1.0999"}, std::pair{"10.000001", "10.000001"},
                             std::pair{"1", "1"}, std::pair{"11", "11"}, std::pair{"0.0", "0.0"},
                             std::pair{"-2.0", "-2.0"}, std::pair{"1e300", "1e+300"}, std::pair{"nan", "nan"},
                             std::pair{"inf", "inf"}, std::pair{"-inf", "-inf"}}) {
    ConfigError e = single_error(std::string(kMinimal) + "[admission]\nlatency_tolerance = " + text + "\n");
    EXPECT_EQ(e.to_string(), std::string("test.toml:5:21: \"latency_tolerance\" in [admission] is ") + shown +
                                 ", outside the allowed range 1.1..10.0");
  }
  for (auto [text, type] : {std::pair{"\"2.0\"", "a string"}, std::pair{"true", "a boolean"},
                            std::pair{"[2.0]", "an array"}, std::pair{"{}", "a table"}}) {
    ConfigError e = single_error(std::string(kMinimal) + "[admission]\nlatency_tolerance = " + text + "\n");
    EXPECT_EQ(e.to_string(), std::string("test.toml:5:21: \"latency_tolerance\" in [admission] must be a number "
                                         "in 1.1..10.0, not ") + type);
  }
}

TEST(ConfigLimits, ClientOverrides) {
  Config c = loads_clean(std::string(kMinimal) + R"(
[limits]
max_queue = 8
[limits.clients."10.0.0.5"]
weight = 2
[limits.clients."::1"]
max_queue = 3
[limits.clients."my app"]
queue_timeout_ms = 9
[limits.clients.app1]
[limits.clients."caf\u00e9"]
max_concurrency = 0
)");
  EXPECT_EQ(c.limits.max_queue, 8u);
  ASSERT_EQ(c.limits.clients.size(), 5u);
  // Fields that are not written stay unset: the proxy falls back to [limits].
  const ClientOverride& addr = c.limits.clients.at("10.0.0.5");
  EXPECT_EQ(addr.weight, 2u);
  EXPECT_FALSE(addr.max_concurrency.has_value());
  EXPECT_FALSE(addr.max_queue.has_value());
  EXPECT_FALSE(addr.queue_timeout_ms.has_value());
  EXPECT_EQ(c.limits.clients.at("::1").max_queue, 3u);
  EXPECT_EQ(c.limits.clients.at("my app").queue_timeout_ms, 9u);
  const ClientOverride& bare = c.limits.clients.at("app1");
  EXPECT_FALSE(bare.max_concurrency || bare.weight || bare.max_queue || bare.queue_timeout_ms);
  EXPECT_EQ(c.limits.clients.at("caf\xc3\xa9").max_concurrency, 0u);

  // Inline tables and dotted keys say the same thing.
  c = loads_clean(std::string(kMinimal) + "[limits]\nclients = { \"a.b\" = { weight = 5 }, c = {} }\n");
  EXPECT_EQ(c.limits.clients.at("a.b").weight, 5u);
  EXPECT_EQ(c.limits.clients.count("c"), 1u);
  c = loads_clean(std::string(kMinimal) + "[limits]\nclients.\"10.0.0.6\".max_queue = 1\n");
  EXPECT_EQ(c.limits.clients.at("10.0.0.6").max_queue, 1u);
}

TEST(ConfigLimits, ClientOverrideErrors) {
  // Quoted names appear quoted in messages.
  ConfigError e = single_error(std::string(kMinimal) + "[limits.clients.\"my app\"]\nweight = 0\n");
  EXPECT_EQ(e.to_string(),
            "test.toml:5:10: \"weight\" in [limits.clients.\"my app\"] is 0, outside the allowed range 1..1000");
  e = single_error(std::string(kMinimal) + "[limits.clients.\"10.0.0.5\"]\nmax_queue = \"16\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:13: \"max_queue\" in [limits.clients.\"10.0.0.5\"] must be an integer "
                           "in 0..100000, not a string");
  // An unquoted address is four nested tables.
  e = single_error(std::string(kMinimal) + "[limits.clients.10.0.0.5]\nweight = 2\n");
  EXPECT_EQ(e.to_string(), "test.toml:4:1: unknown key \"0\" in [limits.clients.10]; a client name with dots "
                           "must be quoted, as in [limits.clients.\"10.0.0.5\"]");
  e = single_error(std::string(kMinimal) + "[limits.clients.\"\"]\nweight = 2\n");
  EXPECT_EQ(e.to_string(), "test.toml:4:1: a client name in [limits.clients] must not be empty");
  e = single_error(std::string(kMinimal) + "[limits.clients]\n\"\" = {}\nok = {}\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:6: a client name in [limits.clients] must not be empty");
  // clients must be a table of tables.
  e = single_error(std::string(kMinimal) + "[limits.clients]\napp = 3\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:7: [limits.clients.app] must be a table, not an integer");
  e = single_error(std::string(kMinimal) + "[limits.clients]\n\"10.0.0.5\" = \"x\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:14: [limits.clients.\"10.0.0.5\"] must be a table, not a string");
  e = single_error(std::string(kMinimal) + "[limits]\nclients = \"app\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:11: [limits.clients] must be a table, not a string");
  e = single_error(std::string(kMinimal) + "[[limits.clients]]\nweight = 1\n");
  EXPECT_EQ(e.message, "[limits.clients] must be a table, not an array");
  EXPECT_EQ(e.line, 4u);
  e = single_error(std::string("limits = 1\n") + kMinimal);
  EXPECT_EQ(e.to_string(), "test.toml:1:10: [limits] must be a table, not an integer");
  e = single_error(std::string("admission = \"adaptive\"\n") + kMinimal);
  EXPECT_EQ(e.to_string(), "test.toml:1:13: [admission] must be a table, not a string");
}

// [databases.db] has pool_size 20 throughout; [admission] is on line 4.
std::string with_admission(const std::string& lines) {
  return std::string(kMinimal) + "[admission]\n" + lines;
}

TEST(ConfigConsistency, MinAndMaxLimit) {
  ConfigError e = single_error(with_admission("max_limit = 8\nmin_limit = 9\n"));
  EXPECT_EQ(e.to_string(), "test.toml:6:13: \"min_limit\" in [admission] is 9, above max_limit 8: the "
                           "concurrency limit stays within min_limit..max_limit");
  // The default min_limit (2) is never blamed: the written max_limit is.
  e = single_error(with_admission("max_limit = 1\n"));
  EXPECT_EQ(e.to_string(), "test.toml:5:13: \"max_limit\" in [admission] is 1, below min_limit 2 (the default): "
                           "the concurrency limit stays within min_limit..max_limit");
  loads_clean(with_admission("min_limit = 8\nmax_limit = 8\ninitial_limit = 8\n"));
  // max_limit 0 is each database's pool_size: nothing to compare here.
  loads_clean(with_admission("min_limit = 20\nmax_limit = 0\ninitial_limit = 1\n"));
}

TEST(ConfigConsistency, InitialLimitWithinMinAndMax) {
  ConfigError e = single_error(with_admission("max_limit = 8\ninitial_limit = 9\n"));
  EXPECT_EQ(e.to_string(), "test.toml:6:17: \"initial_limit\" in [admission] is 9, above max_limit 8: the "
                           "concurrency limit starts at initial_limit, within min_limit..max_limit");
  e = single_error(with_admission("min_limit = 5\nmax_limit = 8\ninitial_limit = 4\n"));
  EXPECT_EQ(e.to_string(), "test.toml:7:17: \"initial_limit\" in [admission] is 4, below min_limit 5: the "
                           "concurrency limit starts at initial_limit, within min_limit..max_limit");
  // The default initial_limit (4) outside: the written bound is blamed.
  e = single_error(with_admission("max_limit = 3\n"));
  EXPECT_EQ(e.to_string(), "test.toml:5:13: \"max_limit\" in [admission] is 3, below initial_limit 4 (the "
                           "default): the concurrency limit starts at initial_limit, within min_limit..max_limit");
  e = single_error(with_admission("min_limit = 6\nmax_limit = 8\n"));
  EXPECT_EQ(e.to_string(), "test.toml:5:13: \"min_limit\" in [admission] is 6, above initial_limit 4 (the "
                           "default): the concurrency limit starts at initial_limit, within min_limit..max_limit");
  // Both edges are inside.
  loads_clean(with_admission("min_limit = 3\nmax_limit = 8\ninitial_limit = 3\n"));
  loads_clean(with_admission("min_limit = 3\nmax_limit = 8\ninitial_limit = 8\n"));
  // min_limit above max_limit leaves no valid initial_limit: one complaint, not two.
  e = single_error(with_admission("min_limit = 9\nmax_limit = 8\ninitial_limit = 20\n"));
  EXPECT_EQ(e.line, 5u);
}

TEST(ConfigConsistency, StaticLimitIgnoresTheControllersBounds) {
  // A static limit is max_limit: min_limit and initial_limit steer only the
  // adaptive controller, so they cannot conflict with it.
  loads_clean(with_admission("mode = \"static\"\nmax_limit = 1\n"));
  loads_clean(with_admission("mode = \"static\"\nmax_limit = 3\nmin_limit = 9\ninitial_limit = 12\n"));
  ConfigError e = single_error(with_admission("mode = \"adaptive\"\nmax_limit = 3\n"));
  EXPECT_EQ(e.line, 6u);
}

TEST(ConfigConsistency, LimitsAgainstPoolSizes) {
  const std::string dbs = "[databases.bench]\npool_size = 20\n[auth]\nmethod = \"trust\"\n[admission]\n";
  ConfigError e = single_error(dbs + "max_limit = 30\n");
  EXPECT_EQ(e.to_string(), "test.toml:6:13: \"max_limit\" in [admission] is 30, above pool_size 20 of "
                           "[databases.bench]: pgsluice cannot run more transactions than it has server connections");
  e = single_error(dbs + "min_limit = 21\n");
  EXPECT_EQ(e.to_string(), "test.toml:6:13: \"min_limit\" in [admission] is 21, above pool_size 20 of "
                           "[databases.bench]: pgsluice cannot run more transactions than it has server connections");
  loads_clean(dbs + "min_limit = 20\nmax_limit = 20\ninitial_limit = 20\n");

  // Every database that is too small is named; quoted names stay quoted.
  const std::string two = dbs + "max_limit = 25\n[databases.\"my.db\"]\npool_size = 10\n";
  LoadResult r = load(two);
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(), "test.toml:6:13: \"max_limit\" in [admission] is 25, above pool_size 20 of "
                                     "[databases.bench]: pgsluice cannot run more transactions than it has server "
                                     "connections");
  EXPECT_EQ(r.errors[1].to_string(), "test.toml:6:13: \"max_limit\" in [admission] is 25, above pool_size 10 of "
                                     "[databases.\"my.db\"]: pgsluice cannot run more transactions than it has "
                                     "server connections");
  e = single_error(dbs + "max_limit = 15\n[databases.\"my.db\"]\npool_size = 10\n");
  EXPECT_NE(e.message.find("above pool_size 10 of [databases.\"my.db\"]"), std::string::npos) << e.message;

  // The default min_limit (2) is simply capped by a smaller pool: existing
  // configs with pool_size = 1 keep loading.
  Config c = loads_clean("[databases.db]\npool_size = 1\n[auth]\nmethod = \"trust\"\n");
  EXPECT_EQ(c.admission.min_limit, 2u);
  loads_clean("[databases.db]\npool_size = 1\n[auth]\nmethod = \"trust\"\n[admission]\nmin_limit = 1\n");
}

TEST(ConfigConsistency, ClientConcurrencyAgainstMaxLimit) {
  ConfigError e = single_error(with_admission("max_limit = 8\n[limits.clients.\"10.0.0.5\"]\nmax_concurrency = 9\n"));
  EXPECT_EQ(e.to_string(), "test.toml:7:19: \"max_concurrency\" in [limits.clients.\"10.0.0.5\"] is 9, above "
                           "max_limit 8 in [admission]: one client cannot run more transactions than all clients "
                           "together");
  // The [limits] default for every key likewise.
  e = single_error(with_admission("max_limit = 8\n[limits]\nmax_concurrency = 9\n"));
  EXPECT_EQ(e.to_string(), "test.toml:7:19: \"max_concurrency\" in [limits] is 9, above max_limit 8 in "
                           "[admission]: one client cannot run more transactions than all clients together");
  loads_clean(with_admission("max_limit = 8\n[limits.clients.app]\nmax_concurrency = 8\n"));
  // max_limit 0: the pool size applies per database; nothing to compare here.
  loads_clean(with_admission("max_limit = 0\n[limits.clients.app]\nmax_concurrency = 10000\n"));
  loads_clean(std::string(kMinimal) + "[limits.clients.app]\nmax_concurrency = 10000\n");
}

TEST(ConfigConsistency, RejectedValuesTakePartInNoCheck) {
  // Each is reported once, for what is wrong with it, and never compared
  // with anything while it stands at its default.
  ConfigError e = single_error(with_admission("max_limit = 20000\n"));
  EXPECT_EQ(e.message, "\"max_limit\" in [admission] is 20000, outside the allowed range 0..10000");
  e = single_error(with_admission("min_limit = \"9\"\nmax_limit = 8\n"));
  EXPECT_EQ(e.message, "\"min_limit\" in [admission] must be an integer in 1..10000, not a string");
  e = single_error(with_admission("max_limit = 8\ninitial_limit = 0\n"));
  EXPECT_EQ(e.message, "\"initial_limit\" in [admission] is 0, outside the allowed range 1..10000");
  e = single_error("[databases.db]\npool_size = 0\n[auth]\nmethod = \"trust\"\n[admission]\nmax_limit = 30\n");
  EXPECT_EQ(e.message, "\"pool_size\" in [databases.db] is 0, outside the allowed range 1..10000");
  e = single_error(with_admission("max_limit = 8\n[limits.clients.app]\nmax_concurrency = 20000\n"));
  EXPECT_EQ(e.message, "\"max_concurrency\" in [limits.clients.app] is 20000, outside the allowed range 0..10000");
  e = single_error(with_admission("max_limit = \"eight\"\n[limits.clients.app]\nmax_concurrency = 9\n"));
  EXPECT_EQ(e.line, 5u);
}

TEST(ConfigUnknown, LimitsAndAdmissionKeys) {
  ConfigError e = single_error(std::string(kMinimal) + "[limits]\nmaxconcurrency = 1\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:18: unknown key \"maxconcurrency\" in [limits]; "
                           "did you mean \"max_concurrency\"?");
  e = single_error(std::string(kMinimal) + "[limits]\nqueue_timeout = 5\n");
  EXPECT_EQ(e.message, "unknown key \"queue_timeout\" in [limits]; did you mean \"queue_timeout_ms\"?");
  e = single_error(std::string(kMinimal) + "[limits]\nclientkey = \"user\"\n");
  EXPECT_EQ(e.message, "unknown key \"clientkey\" in [limits]; did you mean \"client_key\"?");
  e = single_error(std::string(kMinimal) + "[limits.client.app]\nweight = 1\n");
  EXPECT_EQ(e.to_string(), "test.toml:4:1: unknown key \"client\" in [limits]; did you mean \"clients\"?");
  e = single_error(std::string(kMinimal) + "[limits]\nfrobnicate = 1\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:14: unknown key \"frobnicate\" in [limits]");

  e = single_error(std::string(kMinimal) + "[limits.clients.\"10.0.0.5\"]\nwieght = 2\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:10: unknown key \"wieght\" in [limits.clients.\"10.0.0.5\"]; "
                           "did you mean \"weight\"?");
  e = single_error(std::string(kMinimal) + "[limits.clients.app]\nqueue_timeout = 2\n");
  EXPECT_EQ(e.message, "unknown key \"queue_timeout\" in [limits.clients.app]; did you mean \"queue_timeout_ms\"?");
  e = single_error(std::string(kMinimal) + "[limits.clients.app]\nclient_key = \"user\"\n");
  EXPECT_EQ(e.message, "unknown key \"client_key\" in [limits.clients.app]");

  e = single_error(std::string(kMinimal) + "[admission]\nmod = \"off\"\n");
  EXPECT_EQ(e.to_string(), "test.toml:5:7: unknown key \"mod\" in [admission]; did you mean \"mode\"?");
  e = single_error(std::string(kMinimal) + "[admission]\ncodel_target = 5\n");
  EXPECT_EQ(e.message, "unknown key \"codel_target\" in [admission]; did you mean \"codel_target_ms\"?");
  e = single_error(std::string(kMinimal) + "[admission]\nlatency_tolerence = 2.0\n");
  EXPECT_EQ(e.message, "unknown key \"latency_tolerence\" in [admission]; did you mean \"latency_tolerance\"?");
  e = single_error(std::string(kMinimal) + "[admission]\nmaxlimit = 8\n");
  EXPECT_EQ(e.message, "unknown key \"maxlimit\" in [admission]; did you mean \"max_limit\"?");
  e = single_error(std::string(kMinimal) + "[admission]\nlimit = 8\n");
  EXPECT_EQ(e.message, "unknown key \"limit\" in [admission]");

  e = single_error(std::string(kMinimal) + "[limit]\n");
  EXPECT_EQ(e.to_string(), "test.toml:4:1: unknown table [limit]; did you mean [limits]?");
  e = single_error(std::string(kMinimal) + "[admision]\n");
  EXPECT_EQ(e.to_string(), "test.toml:4:1: unknown table [admision]; did you mean [admission]?");
}

TEST(ConfigErrors, LimitsAndAdmissionReportedInFileOrder) {
  LoadResult r = load(R"([admission]
max_limit = 30
mode = "fast"
latency_tolerance = 0.5
[limits]
client_key = "host"
weight = 0
[limits.clients."10.0.0.5"]
max_concurrency = 31
[databases.db]
pool_size = 20
[users]
u = "p"
)");
  ASSERT_FALSE(r.config.has_value());
  std::vector<std::string> got;
  for (const auto& e : r.errors) got.push_back(e.to_string());
  std::vector<std::string> want = {
      "test.toml:2:13: \"max_limit\" in [admission] is 30, above pool_size 20 of [databases.db]: pgsluice cannot "
      "run more transactions than it has server connections",
      "test.toml:3:8: \"mode\" in [admission] is \"fast\"; expected one of \"off\", \"static\", \"adaptive\"",
      "test.toml:4:21: \"latency_tolerance\" in [admission] is 0.5, outside the allowed range 1.1..10.0",
      "test.toml:6:14: \"client_key\" in [limits] is \"host\"; expected one of \"address\", \"user\", "
      "\"application_name\", \"database\"",
      "test.toml:7:10: \"weight\" in [limits] is 0, outside the allowed range 1..1000",
      "test.toml:9:19: \"max_concurrency\" in [limits.clients.\"10.0.0.5\"] is 31, above max_limit 30 in "
      "[admission]: one client cannot run more transactions than all clients together",
  };
  EXPECT_EQ(got, want);
}

// The [limits.clients."10.0.0.5"] block the example shows commented out
// loads as documented once uncommented.
TEST(ConfigFile, ExampleClientOverrideLoadsWhenUncommented) {
  std::FILE* f = std::fopen(PGSLUICE_SOURCE_DIR "/config/pgsluice.example.toml", "rb");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
  std::fclose(f);
  size_t at = text.find("# [limits.clients.\"10.0.0.5\"]\n");
  ASSERT_NE(at, std::string::npos);
  for (int line = 0; line < 5; ++line) {
    ASSERT_EQ(text.compare(at, 2, "# "), 0) << text.substr(at, 40);
    text.erase(at, 2);
    at = text.find('\n', at) + 1;
  }
  Config c = loads_clean(text);
  ASSERT_EQ(c.limits.clients.size(), 1u);
  const ClientOverride& o = c.limits.clients.at("10.0.0.5");
  EXPECT_EQ(o.max_concurrency, 4u);
  EXPECT_EQ(o.weight, 2u);
  EXPECT_EQ(o.max_queue, 16u);
  EXPECT_EQ(o.queue_timeout_ms, 500u);
}

TEST(ConfigAdmin, ConsoleUsersMustBeKnownAndHttpAuthComesInPairs) {
  LoadResult r = load_config_string(
      "[databases.app]\n"
      "[users]\n"
      "admin = \"secret\"\n"
      "[admin]\n"
      "users = [\"admin\", \"nobody\"]\n"
      "stats_users = [3]\n"
      "http_user = \"ops\"\n",
      "t.toml");
  ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 5u);
  EXPECT_NE(r.errors[0].message.find("\"nobody\" is not in [users]"), std::string::npos) << r.errors[0].message;
  EXPECT_EQ(r.errors[1].line, 6u);
  EXPECT_NE(r.errors[1].message.find("non-empty strings"), std::string::npos) << r.errors[1].message;
  EXPECT_EQ(r.errors[2].line, 7u);
  EXPECT_NE(r.errors[2].message.find("http_user and http_password go together"), std::string::npos);
}

TEST(ConfigAdmin, ReadsAdminAlertsAndLogFormat) {
  LoadResult r = load_config_string(
      "[proxy]\nlog_format = \"json\"\n"
      "[databases.app]\n"
      "[auth]\nmethod = \"trust\"\n"
      "[limits]\nclient_timeout_ms = 30000\n"
      "[admin]\nusers = [\"root\"]\nstats_users = [\"watcher\"]\n"
      "http_user = \"ops\"\nhttp_password = \"pw\"\n"
      "[alerts]\nskew_factor = 3\nskew_for_ms = 2000\nskew_min_rate = 0\n",
      "t.toml");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.proxy.log_format, LogFormat::Json);
  EXPECT_EQ(c.limits.client_timeout_ms, 30000u);
  EXPECT_EQ(c.admin.users, std::vector<std::string>{"root"});
  EXPECT_EQ(c.admin.stats_users, std::vector<std::string>{"watcher"});
  EXPECT_EQ(c.admin.http_user, "ops");
  EXPECT_EQ(c.admin.http_password, "pw");
  EXPECT_EQ(c.alerts.skew_factor, 3.0);
  EXPECT_EQ(c.alerts.skew_for_ms, 2000u);
  EXPECT_EQ(c.alerts.skew_min_rate, 0u);
}

TEST(ConfigAdmin, RangesAndTypos) {
  LoadResult r = load_config_string(
      "[databases.app]\n[auth]\nmethod = \"trust\"\n"
      "[alerts]\nskew_factor = 1.0\nskew_for = 100\n"
      "[proxy]\nlog_format = \"xml\"\n",
      "t.toml");
  ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
  EXPECT_NE(r.errors[0].message.find("outside the allowed range 1.1..100.0"), std::string::npos)
      << r.errors[0].message;
  EXPECT_NE(r.errors[1].message.find("did you mean \"skew_for_ms\""), std::string::npos) << r.errors[1].message;
  EXPECT_NE(r.errors[2].message.find("expected one of \"logfmt\", \"json\", \"text\""), std::string::npos)
      << r.errors[2].message;
}

}  // namespace
}  // namespace pgs::config
