// config/describe: the settings list, the config back to TOML, and SET.
#include "config/describe.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgs::config {
namespace {

std::string all_errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.to_string() + "\n";
  return out;
}

std::string all_errors(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

Config loads_clean(const std::string& text) {
  LoadResult r = load_config_string(text, "test.toml");
  EXPECT_TRUE(r.errors.empty()) << all_errors(r.errors) << text;
  return r.config.value_or(Config{});
}

// to_toml, then load: the same Config (path aside, which a string has not).
void expect_round_trip(const Config& c) {
  std::string text = to_toml(c);
  LoadResult r = load_config_string(text, "to_toml");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r.errors) << text;
  Config back = *r.config;
  back.path = c.path;
  EXPECT_TRUE(back == c) << text;
  EXPECT_EQ(to_toml(back), text);
}

const SettingEntry* entry(const std::vector<SettingEntry>& entries, const std::string& key) {
  for (const auto& e : entries)
    if (e.key == key) return &e;
  return nullptr;
}

// Much of what a config can hold: several databases (one following [server],
// one with its own target, one with a name that needs quotes), client
// overrides with quoted names, admin arrays, floats, escapes.
constexpr const char* kRich = R"toml(
[proxy]
listen = "[::1]:7432"
admin_listen = "127.0.0.1:7433"
max_client_connections = 500
max_message_bytes = 1048576
login_timeout_ms = 2000
shutdown_timeout_ms = 0
log_level = "debug"
log_format = "json"

[server]
host = "db.internal"
port = 5433
connect_timeout_ms = 1000
idle_timeout_ms = 2000
max_lifetime_ms = 3000
reset_query = "SELECT \"x\"\t-- tab\\"

[databases.bench]
pool_size = 8

[databases.other]
dbname = "real_other"
host = "10.0.0.9"
port = 6000
pool_mode = "session"
pool_size = 12

[databases."my.db"]
pool_size = 9

[auth]
method = "md5"

[users]
bench = "bench"
"user with space" = "p\"w"
ops = ""

[limits]
client_key = "application_name"
max_concurrency = 5
weight = 3
max_queue = 7
queue_timeout_ms = 250
client_timeout_ms = 30000

[limits.clients."10.0.0.5"]
max_concurrency = 2
weight = 9

[limits.clients.app1]
queue_timeout_ms = 100

[limits.clients."empty override"]

[admission]
mode = "adaptive"
min_limit = 3
max_limit = 8
initial_limit = 5
codel_target_ms = 7
codel_interval_ms = 150
shed_wait_ms = 12
latency_tolerance = 1.75

[admin]
users = ["bench", "ops"]
stats_users = ["user with space"]
http_user = "web"
http_password = "s3cret"

[alerts]
skew_factor = 3.5
skew_for_ms = 2000
skew_min_rate = 0
)toml";

TEST(ConfigToToml, ExampleRoundTrips) {
  LoadResult r = load_config_file(PGSLUICE_SOURCE_DIR "/config/pgsluice.example.toml");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r.errors);
  expect_round_trip(*r.config);
}

TEST(ConfigToToml, RichConfigRoundTrips) {
  Config c = loads_clean(kRich);
  ASSERT_EQ(c.databases.size(), 3u);
  ASSERT_EQ(c.limits.clients.size(), 3u);
  expect_round_trip(c);
}

TEST(ConfigToToml, DefaultsAndOddValuesRoundTrip) {
  expect_round_trip(loads_clean("[databases.db]\n[auth]\nmethod = \"trust\"\n"));
  // Whole-number floats keep their decimal point; big ones their exponent.
  Config c = loads_clean("[databases.db]\n[auth]\nmethod = \"trust\"\n[alerts]\nskew_factor = 100\n"
                         "[admission]\nlatency_tolerance = 1.1000000000000001\n");
  std::string text = to_toml(c);
  EXPECT_NE(text.find("skew_factor = 100.0\n"), std::string::npos) << text;
  expect_round_trip(c);
  // Control characters and non-ASCII in names and values.
  Config odd = loads_clean("[databases.\"d\\u0001b\"]\n[users]\n\"\\u00e9t\\u00e9\" = \"a\\u007fb\\nc\"\n"
                           "[server]\nreset_query = \"\"\n");
  expect_round_trip(odd);
}

// The loader caps a default min_limit at a small pool_size but would refuse
// a written one; to_toml must not turn the first into the second.
TEST(ConfigToToml, DefaultMinLimitAboveASmallPoolStaysUnwritten) {
  Config c = loads_clean("[databases.db]\npool_size = 1\n[auth]\nmethod = \"trust\"\n");
  EXPECT_EQ(to_toml(c).find("min_limit"), std::string::npos) << to_toml(c);
  expect_round_trip(c);
  // Nor when SET makes the pool that small.
  Config big = loads_clean("[databases.db]\n[auth]\nmethod = \"trust\"\n");
  SetResult r = with_setting(big, "databases.db.pool_size", "1");
  ASSERT_TRUE(r.config.has_value()) << all_errors(r.errors);
  EXPECT_EQ(r.config->databases.at("db").pool_size, 1u);
  // A min_limit that was set is written, and checked.
  SetResult m = with_setting(big, "admission.min_limit", "2");
  ASSERT_TRUE(m.config.has_value()) << all_errors(m.errors);
  SetResult both = with_setting(*r.config, "admission.min_limit", "2");
  EXPECT_FALSE(both.config.has_value());
}

// A database whose target is [server]'s is written without it, so it keeps
// following [server].
TEST(ConfigToToml, DatabasesFollowingServerAreWrittenWithoutTarget) {
  Config c = loads_clean(kRich);
  std::string text = to_toml(c);
  EXPECT_NE(text.find("[databases.bench]\npool_mode = \"transaction\"\npool_size = 8\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("[databases.other]\ndbname = \"real_other\"\nhost = \"10.0.0.9\"\nport = 6000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[databases.\"my.db\"]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("[limits.clients.\"10.0.0.5\"]\nmax_concurrency = 2\nweight = 9\n"), std::string::npos)
      << text;
}

TEST(ConfigDescribe, EverySettingInExampleOrder) {
  LoadResult r = load_config_file(PGSLUICE_SOURCE_DIR "/config/pgsluice.example.toml");
  ASSERT_TRUE(r.errors.empty());
  std::vector<std::string> keys;
  for (const auto& e : describe(*r.config)) keys.push_back(e.key);
  std::vector<std::string> expected = {
      "proxy.listen", "proxy.admin_listen", "proxy.max_client_connections", "proxy.max_message_bytes",
      "proxy.login_timeout_ms", "proxy.shutdown_timeout_ms", "proxy.sched_slice_us", "proxy.log_level", "proxy.log_format",
      "server.host", "server.port", "server.connect_timeout_ms", "server.idle_timeout_ms",
      "server.max_lifetime_ms", "server.reset_query", "server.max_prepared_statements", "databases.bench.dbname", "databases.bench.host",
      "databases.bench.port", "databases.bench.pool_mode", "databases.bench.pool_size", "auth.method",
      "users.bench", "limits.client_key", "limits.max_concurrency", "limits.weight", "limits.max_queue",
      "limits.queue_timeout_ms", "limits.client_timeout_ms", "admission.mode", "admission.min_limit",
      "admission.max_limit", "admission.initial_limit", "admission.codel_target_ms",
      "admission.codel_interval_ms", "admission.shed_wait_ms", "admission.latency_tolerance", "admin.users",
      "admin.stats_users", "admin.http_user", "admin.http_password", "alerts.skew_factor",
      "alerts.skew_for_ms", "alerts.skew_min_rate"};
  EXPECT_EQ(keys, expected);
  // The example shows every default: value and default agree wherever there is one.
  for (const auto& e : describe(*r.config)) {
    if (e.default_value.empty() || e.key == "users.bench") continue;
    EXPECT_EQ(e.value, e.default_value) << e.key;
  }
}

TEST(ConfigDescribe, ValuesAsTomlWritesThem) {
  auto entries = describe(loads_clean(kRich));
  auto value = [&](const std::string& key) {
    const SettingEntry* e = entry(entries, key);
    EXPECT_NE(e, nullptr) << key;
    return e != nullptr ? e->value : std::string("<missing>");
  };
  EXPECT_EQ(value("proxy.listen"), "\"[::1]:7432\"");
  EXPECT_EQ(value("proxy.admin_listen"), "\"127.0.0.1:7433\"");
  EXPECT_EQ(value("proxy.max_client_connections"), "500");
  EXPECT_EQ(value("proxy.log_format"), "\"json\"");
  EXPECT_EQ(value("server.reset_query"), "\"SELECT \\\"x\\\"\\t-- tab\\\\\"");
  EXPECT_EQ(value("databases.bench.host"), "\"db.internal\"");
  EXPECT_EQ(value("databases.bench.port"), "5433");
  EXPECT_EQ(value("databases.bench.dbname"), "\"bench\"");
  EXPECT_EQ(value("databases.\"my.db\".pool_size"), "9");
  EXPECT_EQ(value("limits.clients.\"10.0.0.5\".weight"), "9");
  EXPECT_EQ(value("limits.clients.\"10.0.0.5\".max_queue"), "");  // not set: follows [limits]
  EXPECT_EQ(entry(entries, "limits.clients.\"10.0.0.5\".max_queue")->default_value, "7");
  EXPECT_EQ(value("limits.clients.app1.queue_timeout_ms"), "100");
  EXPECT_EQ(value("admission.latency_tolerance"), "1.75");
  EXPECT_EQ(value("admin.users"), "[\"bench\", \"ops\"]");
  EXPECT_EQ(value("admin.stats_users"), "[\"user with space\"]");
  EXPECT_EQ(value("alerts.skew_factor"), "3.5");
  EXPECT_EQ(entry(entries, "alerts.skew_factor")->default_value, "2.0");
  EXPECT_EQ(entry(entries, "admin.users")->default_value, "[]");
}

TEST(ConfigDescribe, PasswordsAreMasked) {
  Config c = loads_clean(kRich);
  auto entries = describe(c);
  for (const auto& key : {"users.bench", "users.\"user with space\"", "users.ops", "admin.http_password"}) {
    const SettingEntry* e = entry(entries, key);
    ASSERT_NE(e, nullptr) << key;
    EXPECT_EQ(e->value, "********") << key;
  }
  for (const auto& e : entries) {
    EXPECT_EQ(e.value.find("s3cret"), std::string::npos) << e.key;
    EXPECT_EQ(e.default_value.find("s3cret"), std::string::npos) << e.key;
  }
  // No http_password: shown as what it is, the empty string.
  auto plain = describe(loads_clean("[databases.db]\n[auth]\nmethod = \"trust\"\n"));
  EXPECT_EQ(entry(plain, "admin.http_password")->value, "\"\"");
}

TEST(ConfigDescribe, WhatIsChangeable) {
  auto entries = describe(loads_clean(kRich));
  for (const auto& key : {"proxy.listen", "proxy.admin_listen"}) EXPECT_FALSE(entry(entries, key)->changeable) << key;
  for (const auto& key : {"proxy.log_level", "proxy.log_format", "proxy.max_client_connections", "server.host",
                          "databases.other.pool_size", "auth.method", "users.bench", "limits.max_queue",
                          "limits.clients.app1.weight", "admission.mode", "admission.latency_tolerance"})
    EXPECT_TRUE(entry(entries, key)->changeable) << key;
}

// ---- with_setting ----

class ConfigSet : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = loads_clean(kRich);
    base_.path = "/etc/pgsluice.toml";
  }

  // SET must succeed; returns the new config.
  Config set(const std::string& key, const std::string& value) {
    SetResult r = with_setting(base_, key, value);
    EXPECT_TRUE(r.errors.empty()) << "SET " << key << " = " << value << ":\n" << all_errors(r.errors);
    EXPECT_TRUE(r.config.has_value());
    return r.config.value_or(Config{});
  }

  // SET must fail with exactly one error; returns it.
  std::string refused(const std::string& key, const std::string& value) {
    SetResult r = with_setting(base_, key, value);
    EXPECT_FALSE(r.config.has_value()) << "SET " << key << " = " << value;
    EXPECT_EQ(r.errors.size(), 1u) << all_errors(r.errors);
    return r.errors.empty() ? std::string() : r.errors.front();
  }

  Config base_;
};

TEST_F(ConfigSet, ChangesExactlyOneField) {
  Config expected = base_;
  expected.limits.max_concurrency = 4;
  EXPECT_TRUE(set("limits.max_concurrency", "4") == expected);

  expected = base_;
  expected.admission.mode = AdmissionMode::Static;
  EXPECT_TRUE(set("admission.mode", "static") == expected);  // a bare word
  EXPECT_TRUE(set("admission.mode", "'static'") == expected);  // an SQL literal
  EXPECT_TRUE(set("admission.mode", "\"static\"") == expected);  // a TOML string
  EXPECT_TRUE(set("ADMISSION.Mode", "  static  ") == expected);  // any case, spaces around

  expected = base_;
  expected.databases.at("other").pool_size = 30;
  EXPECT_TRUE(set("databases.other.pool_size", "30") == expected);

  expected = base_;
  expected.databases.at("my.db").pool_mode = PoolMode::Session;
  EXPECT_TRUE(set("databases.\"my.db\".pool_mode", "session") == expected);

  expected = base_;
  expected.admission.latency_tolerance = 3.0;
  EXPECT_TRUE(set("admission.latency_tolerance", "3") == expected);

  // As in PostgreSQL, a quoted number is a number where a number is wanted...
  expected = base_;
  expected.limits.weight = 6;
  EXPECT_TRUE(set("limits.weight", "'6'") == expected);
  // ...and stays text where text is.
  expected = base_;
  expected.server.reset_query = "6";
  EXPECT_TRUE(set("server.reset_query", "'6'") == expected);

  expected = base_;
  expected.server.reset_query = "it's";
  EXPECT_TRUE(set("server.reset_query", "'it''s'") == expected);

  expected = base_;
  expected.users.at("user with space") = "new pw";
  EXPECT_TRUE(set("users.\"user with space\"", "'new pw'") == expected);

  expected = base_;
  expected.proxy.log_format = LogFormat::Text;
  Config text = set("proxy.log_format", "text");
  EXPECT_TRUE(text == expected);
  EXPECT_EQ(text.path, "/etc/pgsluice.toml");
}

// A key that is optional and not set can be set.
TEST_F(ConfigSet, SetsAnAbsentOptionalKey) {
  Config expected = base_;
  expected.limits.clients.at("10.0.0.5").max_queue = 3;
  EXPECT_TRUE(set("limits.clients.\"10.0.0.5\".max_queue", "3") == expected);
  expected = base_;
  expected.limits.clients.at("empty override").weight = 5;
  EXPECT_TRUE(set("limits.clients.\"empty override\".weight", "5") == expected);
}

// Databases that follow [server] follow a change of it; one with its own
// target keeps it.
TEST_F(ConfigSet, ServerTargetIsFollowed) {
  Config c = set("server.port", "5499");
  EXPECT_EQ(c.databases.at("bench").port, 5499);
  EXPECT_EQ(c.databases.at("my.db").port, 5499);
  EXPECT_EQ(c.databases.at("other").port, 6000);
}

TEST_F(ConfigSet, BadValuesNameTheKeyAndWhatIsAccepted) {
  EXPECT_EQ(refused("limits.max_concurrency", "-1"),
            "\"max_concurrency\" in [limits] is -1, outside the allowed range 0..10000");
  EXPECT_EQ(refused("limits.max_concurrency", "many"),
            "\"max_concurrency\" in [limits] must be an integer in 0..10000, not a string");
  EXPECT_EQ(refused("limits.clients.\"10.0.0.5\".weight", "0"),
            "\"weight\" in [limits.clients.\"10.0.0.5\"] is 0, outside the allowed range 1..1000");
  EXPECT_EQ(refused("admission.mode", "fast"),
            "\"mode\" in [admission] is \"fast\"; expected one of \"off\", \"static\", \"adaptive\"");
  EXPECT_EQ(refused("admission.latency_tolerance", "20.5"),
            "\"latency_tolerance\" in [admission] is 20.5, outside the allowed range 1.1..10.0");
  EXPECT_EQ(refused("server.connect_timeout_ms", "[1, 2]"),
            "\"connect_timeout_ms\" in [server] must be a whole number of milliseconds in 100..600000, not an array");
  std::string syntax = refused("limits.weight", "3 4");
  EXPECT_NE(syntax.find("limits.weight"), std::string::npos) << syntax;
  EXPECT_NE(syntax.find("not a value"), std::string::npos) << syntax;
  std::string open = refused("server.reset_query", "'abc");
  EXPECT_NE(open.find("server.reset_query"), std::string::npos) << open;
  EXPECT_NE(refused("limits.weight", "").find("needs a value"), std::string::npos);
}

// A value cannot smuggle in more TOML.
TEST_F(ConfigSet, ValueCannotInjectTables) {
  std::string e = refused("limits.weight", "3\n[users]\nevil = \"x\"");
  EXPECT_NE(e.find("one line"), std::string::npos) << e;
  SetResult r = with_setting(base_, "server.reset_query", "\"a\" \n evil = 1");
  EXPECT_FALSE(r.config.has_value());
}

TEST_F(ConfigSet, UnknownKeysGetSuggestions) {
  std::string e = refused("limits.max_concurency", "3");
  EXPECT_NE(e.find("unknown setting \"limits.max_concurency\""), std::string::npos) << e;
  EXPECT_NE(e.find("\"limits.max_concurrency\""), std::string::npos) << e;
  EXPECT_NE(e.find("SHOW CONFIG"), std::string::npos) << e;
  // Without its table, the key's own name is matched.
  e = refused("pool_size", "3");
  EXPECT_NE(e.find("\"databases.bench.pool_size\""), std::string::npos) << e;
  // Nothing close: no suggestion, still the pointer to SHOW CONFIG.
  e = refused("zzzzzzzzzzzzzzzz", "3");
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;
  EXPECT_NE(e.find("SHOW CONFIG"), std::string::npos) << e;
}

TEST_F(ConfigSet, NewTablesAreRefusedClearly) {
  std::string e = refused("limits.clients.\"10.0.0.6\".weight", "3");
  EXPECT_NE(e.find("already has"), std::string::npos) << e;
  EXPECT_NE(e.find("\"limits.clients.\\\"10.0.0.5\\\".weight\""), std::string::npos) << e;
  e = refused("databases.newdb.pool_size", "3");
  EXPECT_NE(e.find("already has"), std::string::npos) << e;
}

TEST_F(ConfigSet, NotChangeableNeedsARestart) {
  std::string e = refused("proxy.listen", "\"127.0.0.1:1\"");
  EXPECT_NE(e.find("\"proxy.listen\""), std::string::npos) << e;
  EXPECT_NE(e.find("restart"), std::string::npos) << e;
  EXPECT_NE(refused("proxy.admin_listen", "'127.0.0.1:1'").find("restart"), std::string::npos);
}

TEST_F(ConfigSet, CrossChecksAreApplied) {
  // base_: min_limit 3, max_limit 8, initial_limit 5, pool sizes 8, 12, 9.
  SetResult r = with_setting(base_, "admission.min_limit", "9");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors.front(),
            "\"min_limit\" in [admission] is 9, above max_limit 8: the concurrency limit stays within "
            "min_limit..max_limit");
  std::string e = refused("limits.clients.\"10.0.0.5\".max_concurrency", "9");
  EXPECT_NE(e.find("above max_limit 8"), std::string::npos) << e;
  r = with_setting(base_, "databases.bench.pool_size", "4");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors.front().find("above pool_size 4 of [databases.bench]"), std::string::npos)
      << all_errors(r.errors);
  e = refused("admin.http_user", "\"\"");
  EXPECT_NE(e.find("go together"), std::string::npos) << e;  // http_password is still set
}

TEST_F(ConfigSet, CaseDifferencesAreAmbiguousOnlyWhenTwoKeysMatch) {
  Config c = loads_clean("[databases.Db]\n[databases.db]\n[auth]\nmethod = \"trust\"\n");
  SetResult exact = with_setting(c, "databases.Db.pool_size", "3");
  ASSERT_TRUE(exact.config.has_value()) << all_errors(exact.errors);
  EXPECT_EQ(exact.config->databases.at("Db").pool_size, 3u);
  EXPECT_EQ(exact.config->databases.at("db").pool_size, 20u);
  SetResult ambiguous = with_setting(c, "databases.DB.pool_size", "3");
  EXPECT_FALSE(ambiguous.config.has_value());
  ASSERT_EQ(ambiguous.errors.size(), 1u);
  EXPECT_NE(ambiguous.errors[0].find("ambiguous"), std::string::npos) << ambiguous.errors[0];
}

}  // namespace
}  // namespace pgs::config
