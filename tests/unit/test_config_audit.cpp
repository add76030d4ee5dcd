// config/audit: the findings of `pgsluice --check` (each with and without
// cause, its severity and where it points), the places the loader records
// for them, and the text and JSON output.
#include "config/audit.h"
#include "config/config.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace pgs::config {
namespace {

// Loads with one database and one user; adding nothing else yields only the
// "mode off" info.
constexpr const char* kBase = "[databases.db]\n[users]\nu = \"p\"\n";
// Quiet: a static limit, so not even that info.
constexpr const char* kQuiet = "[databases.db]\n[users]\nu = \"p\"\n[admission]\nmode = \"static\"\nmax_limit = 4\n";

std::string dump(const std::vector<Finding>& fs) {
  std::string out;
  for (const Finding& f : fs) out += to_text("a.toml", f) + "  [key " + f.key + "]\n";
  return out;
}

std::vector<Finding> audit_text(const std::string& text, const std::vector<ServerFacts>* online = nullptr) {
  LoadResult r = load_config_string(text, "a.toml");
  for (const ConfigError& e : r.errors) ADD_FAILURE() << "does not load: " << e.to_string() << "\n" << text;
  if (!r.config) return {};
  return audit(*r.config, r.places, online);
}

std::vector<Finding> containing(const std::vector<Finding>& fs, std::string_view needle) {
  std::vector<Finding> out;
  for (const Finding& f : fs)
    if (f.message.find(needle) != std::string::npos) out.push_back(f);
  return out;
}

// The one finding whose message contains `needle`.
Finding one(const std::vector<Finding>& fs, std::string_view needle) {
  std::vector<Finding> found = containing(fs, needle);
  EXPECT_EQ(found.size(), 1u) << "findings with \"" << needle << "\":\n" << dump(fs);
  return found.empty() ? Finding{} : found.front();
}

void none(const std::vector<Finding>& fs, std::string_view needle) {
  EXPECT_TRUE(containing(fs, needle).empty()) << "unexpected \"" << needle << "\":\n" << dump(fs);
}

void expect_at(const Finding& f, Severity s, const std::string& key, uint32_t line, uint32_t column) {
  EXPECT_EQ(f.severity, s) << f.message;
  EXPECT_EQ(f.key, key) << f.message;
  EXPECT_EQ(f.place.line, line) << f.message;
  EXPECT_EQ(f.place.column, column) << f.message;
}

// ---------------------------------------------------------------- places

TEST(ConfigPlaces, LoaderRecordsWhereEachKeyWasWritten) {
  LoadResult r = load_config_string(
      "[databases.db]\n"                      // 1
      "pool_size = 5\n"                       // 2
      "[users]\n"                             // 3
      "u = \"p\"\n"                           // 4
      "[limits]\n"                            // 5
      "queue_timeout_ms = 300\n"              // 6
      "[limits.clients.\"10.0.0.5\"]\n"       // 7
      "weight = 2\n"                          // 8
      "[admin]\n"                             // 9
      "users = [\"u\", \"u\"]\n"              // 10
      "[admission]\n"                         // 11
      "latency_tolerance = 1.5\n",            // 12
      "a.toml");
  ASSERT_TRUE(r.errors.empty());
  auto at = [&](const std::string& key) {
    auto it = r.places.find(key);
    return it == r.places.end() ? std::pair<uint32_t, uint32_t>{0, 0}
                                : std::pair{it->second.line, it->second.column};
  };
  EXPECT_EQ(at("databases.db.pool_size"), std::pair(2u, 13u));
  EXPECT_EQ(at("users.u"), std::pair(4u, 5u));
  EXPECT_EQ(at("limits.queue_timeout_ms"), std::pair(6u, 20u));
  EXPECT_EQ(at("limits.clients.\"10.0.0.5\".weight"), std::pair(8u, 10u));
  EXPECT_EQ(at("limits.clients.\"10.0.0.5\"").first, 7u);
  EXPECT_EQ(at("databases.db").first, 1u);
  EXPECT_EQ(at("admin.users"), std::pair(10u, 9u));
  EXPECT_EQ(at("admin.users[1]"), std::pair(10u, 15u));
  EXPECT_EQ(at("admission.latency_tolerance"), std::pair(12u, 21u));
  EXPECT_EQ(r.places.count("limits.weight"), 0u) << "a default was not written";
}

// ---------------------------------------------------------------- basics

TEST(ConfigAudit, QuietConfigHasNoFindings) { EXPECT_TRUE(audit_text(kQuiet).empty()) << dump(audit_text(kQuiet)); }

TEST(ConfigAudit, ModeOffIsAnInfo) {
  auto fs = audit_text(kBase);
  ASSERT_EQ(fs.size(), 1u) << dump(fs);
  expect_at(fs[0], Severity::Info, "admission.mode", 0, 0);
  EXPECT_NE(fs[0].message.find("no database-wide limit"), std::string::npos);
  EXPECT_NE(fs[0].message.find("per key only"), std::string::npos);

  fs = audit_text(std::string(kBase) + "[admission]\nmode = \"off\"\n");
  expect_at(one(fs, "mode is \"off\""), Severity::Info, "admission.mode", 5, 8);
}

TEST(ConfigAudit, ExampleConfigHasOnlyInfos) {
  LoadResult r = load_config_file(PGSLUICE_SOURCE_DIR "/config/pgsluice.example.toml");
  ASSERT_TRUE(r.config.has_value());
  auto fs = audit(*r.config, r.places);
  FindingCounts n = count(fs);
  EXPECT_EQ(n.errors, 0u) << dump(fs);
  EXPECT_EQ(n.warnings, 0u) << dump(fs);
  EXPECT_EQ(one(fs, "mode is \"off\"").message.find("weight"), std::string::npos) << "the example's weights are equal";
}

TEST(ConfigAudit, FindingsInFileOrderUnplacedLast) {
  auto fs = audit_text(
      "[databases.db]\n"
      "[users]\nu = \"p\"\n"
      "[limits]\nclient_timeout_ms = 1500\n"                     // 5: queue default 1000 > half
      "[admin]\nusers = [\"u\"]\n");                             // 7: no admin_listen
  ASSERT_EQ(fs.size(), 3u) << dump(fs);
  EXPECT_EQ(fs[0].place.line, 5u);
  EXPECT_EQ(fs[1].place.line, 7u);
  EXPECT_EQ(fs[2].place.line, 0u);  // mode off, by default
}

// ---------------------------------------------------------------- weights

TEST(ConfigAuditWeights, OneKeyFarHeavierThanTheLightestIsAWarning) {
  const std::string head = std::string(kQuiet) + "[limits]\nclient_key = \"user\"\n";
  auto fs = audit_text(head + "[limits.clients.u]\nweight = 101\n");  // line 10
  Finding f = one(fs, "more than 100 times");
  expect_at(f, Severity::Warning, "limits.clients.u.weight", 10, 10);
  EXPECT_NE(f.message.find("1 of every 102"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("starve"), std::string::npos) << f.message;

  EXPECT_TRUE(audit_text(head + "[limits.clients.u]\nweight = 100\n").empty());  // exactly 100x: fine
  // The default can be the light one...
  fs = audit_text(head + "weight = 1000\n[limits.clients.u]\nweight = 2\n");
  expect_at(one(fs, "more than 100 times"), Severity::Warning, "limits.weight", 9, 10);
  // ...and between two overrides too.
  fs = audit_text(head + "weight = 50\n[limits.clients.u]\nweight = 1\n[limits.clients.v]\nweight = 500\n");
  EXPECT_EQ(one(fs, "more than 100 times").key, "limits.clients.v.weight");
}

TEST(ConfigAuditWeights, NoEffectWithoutCompetition) {
  // Mode off: nothing is shared by weight (said in the mode's info).
  auto fs = audit_text(std::string(kBase) + "[limits]\nclient_key = \"user\"\n[limits.clients.u]\nweight = 500\n");
  none(fs, "more than 100 times");
  EXPECT_NE(one(fs, "mode is \"off\"").message.find("weight takes effect only"), std::string::npos);
  // One key per database.
  fs = audit_text(std::string(kQuiet) + "[limits]\nclient_key = \"database\"\n[limits.clients.db]\nweight = 500\n");
  none(fs, "more than 100 times");
  expect_at(one(fs, "has no effect"), Severity::Info, "limits.clients.db.weight", 10, 10);
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[limits]\nclient_key = \"database\"\n").empty());
  // Equal weights decide nothing either.
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[limits]\nclient_key = \"database\"\nweight = 5\n[limits.clients.db]\n"
                                               "weight = 5\n").empty());
  EXPECT_EQ(one(audit_text(std::string(kBase) + "[limits]\nweight = 7\n"), "mode is \"off\"").message.find("weight"),
            std::string::npos);
}

// ---------------------------------------------------------------- client names

TEST(ConfigAuditClients, AddressKeysMustBeAddressesAsPgsluiceWritesThem) {
  const std::string head = std::string(kQuiet) + "[limits.clients.";
  auto fs = audit_text(head + "app1]\nweight = 2\n");  // client_key address by default
  expect_at(one(fs, "is not an IP address"), Severity::Warning, "limits.clients.app1", 7, 1);

  fs = audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"[::]:6432\"\n[limits.clients.\"2001:DB8:0:0::1\"]\nweight = 2\n");
  Finding f = one(fs, "writes this address as");
  EXPECT_EQ(f.severity, Severity::Warning);
  EXPECT_NE(f.message.find("\"2001:db8::1\""), std::string::npos) << f.message;

  EXPECT_TRUE(audit_text(head + "\"10.0.0.5\"]\nweight = 2\n").empty());
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"[::]:6432\"\n[limits.clients.\"2001:db8::1\"]\n"
                                               "weight = 2\n[limits.clients.\"::ffff:10.0.0.5\"]\nweight = 2\n")
                  .empty());
}

TEST(ConfigAuditClients, AddressFamilyMustMatchTheListener) {
  // Default listen 127.0.0.1: only IPv4 clients.
  auto fs = audit_text(std::string(kQuiet) + "[limits.clients.\"::1\"]\nweight = 2\n");
  EXPECT_EQ(one(fs, "is an IPv4 address").severity, Severity::Warning);
  fs = audit_text(std::string(kQuiet) + "[limits.clients.\"::ffff:10.0.0.5\"]\nweight = 2\n");
  one(fs, "is an IPv4 address");
  // [::] sees IPv4 clients as mapped addresses.
  fs = audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"[::]:6432\"\n[limits.clients.\"10.0.0.5\"]\nweight = 2\n");
  EXPECT_NE(one(fs, "IPv4-mapped").message.find("\"::ffff:10.0.0.5\""), std::string::npos);
  // A specific IPv6 address sees only IPv6 clients.
  fs = audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"[::1]:6432\"\n[limits.clients.\"10.0.0.5\"]\nweight = 2\n");
  one(fs, "is an IPv6 address");
  // A host name: unknown, so nothing.
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"localhost:6432\"\n[limits.clients.\"::1\"]\n"
                                               "weight = 2\n")
                  .empty());
}

TEST(ConfigAuditClients, UserAndDatabaseKeysMustExist) {
  auto fs = audit_text(std::string(kQuiet) + "[limits]\nclient_key = \"user\"\n[limits.clients.nobody]\nweight = 2\n");
  expect_at(one(fs, "is not in [users]"), Severity::Warning, "limits.clients.nobody", 9, 1);
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[limits]\nclient_key = \"user\"\n[limits.clients.u]\nweight = 2\n").empty());
  // With trust anyone may log in under any name.
  EXPECT_TRUE(audit_text("[databases.db]\n[auth]\nmethod = \"trust\"\n[admission]\nmode = \"static\"\nmax_limit = 4\n"
                         "[limits]\nclient_key = \"user\"\n[limits.clients.nobody]\nweight = 2\n")
                  .empty());

  fs = audit_text(std::string(kQuiet) + "[limits]\nclient_key = \"database\"\n[limits.clients.other]\nmax_queue = 2\n");
  EXPECT_EQ(one(fs, "is not in [databases]").severity, Severity::Warning);
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[limits]\nclient_key = \"database\"\n[limits.clients.db]\nmax_queue = 2\n").empty());
  // Any text can be an application_name.
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[limits]\nclient_key = \"application_name\"\n[limits.clients.\"x y\"]\n"
                                               "max_queue = 2\n")
                  .empty());
}

// ---------------------------------------------------------------- pool sizes

TEST(ConfigAuditPools, OfflineAssumesPostgresDefaults) {
  const std::string tail = "[users]\nu = \"p\"\n[admission]\nmode = \"static\"\nmax_limit = 4\n";
  auto fs = audit_text("[databases.a]\npool_size = 60\n[databases.b]\npool_size = 38\n" + tail);
  Finding f = one(fs, "add up to 98");
  expect_at(f, Severity::Warning, "databases.a.pool_size", 2, 13);
  for (const char* s : {"127.0.0.1:5432", "max_connections 100", "superuser_reserved_connections 3", "assumed",
                        "--online", "[databases.a] 60, [databases.b] 38"})
    EXPECT_NE(f.message.find(s), std::string::npos) << s << " in " << f.message;

  EXPECT_TRUE(audit_text("[databases.a]\npool_size = 60\n[databases.b]\npool_size = 37\n" + tail).empty());
  // Different servers add up separately; host names compare without case.
  EXPECT_TRUE(audit_text("[databases.a]\npool_size = 60\n[databases.b]\npool_size = 60\nport = 5433\n" + tail).empty());
  fs = audit_text("[databases.a]\nhost = \"DB.example\"\npool_size = 60\n[databases.b]\nhost = \"db.example\"\n"
                  "pool_size = 60\n" + tail);
  EXPECT_NE(one(fs, "add up to 120").message.find("DB.example:5432"), std::string::npos);
}

ServerFacts facts(uint32_t max_connections, uint32_t reserved = 3) {
  ServerFacts f;
  f.host = "127.0.0.1";
  f.port = 5432;
  f.user = "u";
  f.version = "15.4";
  f.max_connections = max_connections;
  f.superuser_reserved_connections = reserved;
  f.databases = {"db"};
  f.roles = {{"u", true}};
  return f;
}

TEST(ConfigAuditPools, OnlineUsesTheServersLimits) {
  const std::string text = std::string(kQuiet);  // pool_size 20 by default
  std::vector<ServerFacts> online{facts(22)};
  auto fs = audit_text(text, &online);
  Finding f = one(fs, "add up to 20");
  EXPECT_EQ(f.severity, Severity::Error);
  // pool_size was not written: at the table of the database with the largest pool.
  EXPECT_EQ(f.key, "databases.db");
  EXPECT_EQ(f.place.line, 1u);
  EXPECT_NE(f.message.find("the 19 the server allows (max_connections 22 - superuser_reserved_connections 3)"),
            std::string::npos) << f.message;

  online = {facts(23)};
  fs = audit_text(text, &online);
  f = one(fs, "add up to 20");
  EXPECT_EQ(f.severity, Severity::Info);
  EXPECT_NE(f.message.find("(PostgreSQL 15.4, as user \"u\")"), std::string::npos) << f.message;
  EXPECT_EQ(count(fs).errors + count(fs).warnings, 0u) << dump(fs);

  // PostgreSQL 16's reserved_connections counts too.
  online = {facts(25)};
  online[0].reserved_connections = 3;
  fs = audit_text(text, &online);
  EXPECT_NE(one(fs, "add up to 20").message.find("- reserved_connections 3"), std::string::npos);
  EXPECT_EQ(count(fs).errors, 1u) << dump(fs);

  // Online, the offline assumption is not repeated; a server without facts keeps it.
  online = {facts(1000)};
  fs = audit_text("[databases.db]\npool_size = 200\n[databases.far]\nport = 5433\npool_size = 200\n"
                  "[users]\nu = \"p\"\n",
                  &online);
  EXPECT_EQ(one(fs, "assumed").key, "databases.far.pool_size");
}

TEST(ConfigAuditPools, OnlineUnreachableServerIsAnError) {
  ServerFacts down;
  down.host = "127.0.0.1";
  down.port = 5432;
  down.error = "connection to server failed: Connection refused";
  std::vector<ServerFacts> online{down};
  auto fs = audit_text(std::string(kQuiet) + "[server]\nhost = \"127.0.0.1\"\n", &online);
  Finding f = one(fs, "cannot connect to 127.0.0.1:5432");
  expect_at(f, Severity::Error, "server.host", 8, 8);
  EXPECT_NE(f.message.find("(the server of [databases.db])"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("Connection refused"), std::string::npos) << f.message;
}

TEST(ConfigAuditOnline, StatementTimeoutAgainstQueueTimeout) {
  std::vector<ServerFacts> online{facts(100)};
  online[0].statement_timeout_ms = 1000;
  const std::string text = std::string(kQuiet) + "[limits]\nqueue_timeout_ms = 1000\n[limits.clients.\"10.0.0.5\"]\n"
                                                 "queue_timeout_ms = 999\n";
  auto fs = audit_text(text, &online);
  Finding f = one(fs, "statement_timeout 1000");
  expect_at(f, Severity::Warning, "limits.queue_timeout_ms", 8, 20);
  EXPECT_NE(f.message.find("as user \"u\""), std::string::npos) << f.message;

  online[0].statement_timeout_ms = 0;  // none
  none(audit_text(text, &online), "statement_timeout");
}

TEST(ConfigAuditOnline, IdleSessionTimeoutDatabasesAndRoles) {
  std::vector<ServerFacts> online{facts(100)};
  online[0].idle_session_timeout_ms = 60000;  // below the default idle_timeout_ms 600000
  online[0].databases = {"other"};
  online[0].roles = {{"u", false}};
  auto fs = audit_text("[databases.db]\n[users]\nu = \"p\"\nv = \"p\"\n[admission]\nmode = \"static\"\nmax_limit = 4\n",
                  &online);
  EXPECT_EQ(one(fs, "idle_session_timeout 60000").severity, Severity::Warning);
  expect_at(one(fs, "database \"db\" of [databases.db] does not exist"), Severity::Error, "databases.db", 1, 1);
  expect_at(one(fs, "NOLOGIN"), Severity::Warning, "users.u", 3, 5);
  expect_at(one(fs, "there is no role \"v\""), Severity::Warning, "users.v", 4, 5);

  online = {facts(100)};
  online[0].idle_session_timeout_ms = 600000;
  fs = audit_text(std::string(kQuiet), &online);
  EXPECT_EQ(count(fs).errors + count(fs).warnings, 0u) << dump(fs);
}

// ---------------------------------------------------------------- timeouts

TEST(ConfigAuditTimeouts, QueueTimeoutWellBelowClientTimeout) {
  const std::string head = std::string(kQuiet) + "[limits]\nclient_timeout_ms = 2000\n";
  auto fs = audit_text(head + "queue_timeout_ms = 2000\n");
  Finding f = one(fs, "is not below client_timeout_ms 2000");
  expect_at(f, Severity::Error, "limits.queue_timeout_ms", 9, 20);
  EXPECT_NE(f.message.find("53300"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("client-side timeout"), std::string::npos) << f.message;

  f = one(audit_text(head + "queue_timeout_ms = 1001\n"), "more than half");
  expect_at(f, Severity::Warning, "limits.queue_timeout_ms", 9, 20);
  EXPECT_TRUE(audit_text(head + "queue_timeout_ms = 1000\n").empty());

  // The default queue_timeout_ms 1000 is blamed where client_timeout_ms was written.
  f = one(audit_text(std::string(kQuiet) + "[limits]\nclient_timeout_ms = 1000\n"), "is not below");
  expect_at(f, Severity::Error, "limits.client_timeout_ms", 8, 21);
  // Each override on its own.
  fs = audit_text(head + "queue_timeout_ms = 100\n[limits.clients.\"10.0.0.5\"]\nqueue_timeout_ms = 1500\n");
  expect_at(one(fs, "more than half"), Severity::Warning, "limits.clients.\"10.0.0.5\".queue_timeout_ms", 11, 20);
  // Unknown client timeout: nothing to compare with.
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[limits]\nqueue_timeout_ms = 3600000\n").empty());
}

// ---------------------------------------------------------------- admission

TEST(ConfigAuditAdmission, PerKeyConcurrencyAbovePoolSize) {
  const std::string dbs = "[databases.a]\npool_size = 5\n[databases.b]\npool_size = 50\n[users]\nu = \"p\"\n";
  auto fs = audit_text(dbs + "[limits]\nmax_concurrency = 10\n");
  Finding f = one(fs, "is above pool_size of [databases.a] 5:");
  expect_at(f, Severity::Warning, "limits.max_concurrency", 8, 19);
  EXPECT_EQ(f.message.find("[databases.b]"), std::string::npos) << f.message;
  none(audit_text(dbs + "[limits]\nmax_concurrency = 5\n"), "is above pool_size");
  // An override of a database key concerns its own database only.
  fs = audit_text(dbs + "[limits]\nclient_key = \"database\"\n[limits.clients.b]\nmax_concurrency = 10\n");
  none(fs, "is above pool_size");
  fs = audit_text(dbs + "[limits]\nclient_key = \"database\"\n[limits.clients.a]\nmax_concurrency = 10\n");
  EXPECT_EQ(one(fs, "is above pool_size").key, "limits.clients.a.max_concurrency");
}

TEST(ConfigAuditAdmission, EffectiveLimitsAreStated) {
  const std::string dbs = "[databases.a]\npool_size = 3\n[databases.b]\npool_size = 50\n[users]\nu = \"p\"\n";
  auto fs = audit_text(dbs + "[admission]\nmode = \"static\"\n");
  Finding f = one(fs, "static limit of each database is its pool_size");
  expect_at(f, Severity::Info, "admission.mode", 8, 8);
  EXPECT_NE(f.message.find("[databases.a] 3, [databases.b] 50"), std::string::npos) << f.message;

  fs = audit_text(dbs + "[admission]\nmode = \"adaptive\"\nmax_limit = 0\nmin_limit = 1\n");
  f = one(fs, "adaptive limit of each database moves");
  expect_at(f, Severity::Info, "admission.max_limit", 9, 13);
  EXPECT_NE(f.message.find("[databases.a] 1..3, [databases.b] 1..50"), std::string::npos) << f.message;
  expect_at(one(fs, "min_limit is 1"), Severity::Info, "admission.min_limit", 10, 13);
  // initial_limit 4 (default) is above pool_size 3 of a.
  f = one(fs, "initial_limit 4 is above the pool_size of [databases.a] 3");
  expect_at(f, Severity::Info, "admission.mode", 8, 8);
  EXPECT_EQ(count(fs).warnings + count(fs).errors, 0u) << dump(fs);

  // min_limit 1 matters only to the adaptive controller; a set max_limit needs no explanation.
  fs = audit_text("[databases.a]\npool_size = 3\n[users]\nu = \"p\"\n[admission]\nmode = \"static\"\nmax_limit = 3\n"
                  "min_limit = 1\ninitial_limit = 2\n");
  EXPECT_TRUE(fs.empty()) << dump(fs);
  fs = audit_text("[databases.a]\npool_size = 8\n[users]\nu = \"p\"\n[admission]\nmode = \"adaptive\"\nmax_limit = 8\n");
  EXPECT_TRUE(fs.empty()) << dump(fs);
}

// ---------------------------------------------------------------- admin console

TEST(ConfigAuditAdmin, ConsoleSettingsWithoutAConsole) {
  const std::string users = "[databases.db]\n[users]\nu = \"p\"\nv = \"p\"\n";
  auto fs = audit_text(users + "[admin]\nusers = [\"u\"]\nstats_users = [\"v\"]\nhttp_user = \"x\"\nhttp_password = \"y\"\n");
  expect_at(one(fs, "[admin] users lists"), Severity::Warning, "admin.users", 6, 9);
  expect_at(one(fs, "[admin] stats_users lists"), Severity::Warning, "admin.stats_users", 7, 15);
  expect_at(one(fs, "http_user is set"), Severity::Warning, "admin.http_user", 8, 13);
  fs = audit_text(users + "[proxy]\nadmin_listen = \"127.0.0.1:6433\"\n[admin]\nusers = [\"u\"]\nstats_users = [\"v\"]\n");
  none(fs, "admin_listen is not set");
}

TEST(ConfigAuditAdmin, UserInBothLists) {
  auto fs = audit_text(
      "[databases.db]\n[users]\nu = \"p\"\nv = \"p\"\n[proxy]\nadmin_listen = \"127.0.0.1:6433\"\n"
      "[admin]\nusers = [\"u\"]\nstats_users = [\"v\", \"u\"]\n");  // line 9
  expect_at(one(fs, "is in both users and stats_users"), Severity::Warning, "admin.stats_users[1]", 9, 21);
}

TEST(ConfigAuditAdmin, AdminListenMustDifferFromListen) {
  auto fs = audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"127.0.0.1:6432\"\nadmin_listen = \"127.0.0.1:6432\"\n");
  expect_at(one(fs, "same address as listen"), Severity::Error, "proxy.admin_listen", 9, 16);
  fs = audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"0.0.0.0:6432\"\nadmin_listen = \"127.0.0.1:6432\"\n");
  EXPECT_EQ(one(fs, "overlapping addresses").severity, Severity::Error);
  fs = audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"[::1]:6432\"\nadmin_listen = \"[0:0::1]:6432\"\n");
  EXPECT_EQ(one(fs, "overlapping addresses").severity, Severity::Error);
  // [::] is dual-stack: it takes IPv4 addresses too.
  fs = audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"[::]:6432\"\nadmin_listen = \"127.0.0.1:6432\"\n");
  EXPECT_EQ(one(fs, "overlapping addresses").severity, Severity::Error);
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[proxy]\nadmin_listen = \"127.0.0.1:6433\"\n").empty());
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"[::1]:6432\"\nadmin_listen = \"127.0.0.1:6432\"\n").empty());
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"0.0.0.0:6432\"\nadmin_listen = \"[::1]:6432\"\n").empty());
}

// ---------------------------------------------------------------- listeners and exposure

TEST(ConfigAuditListen, ListenOnTheDatabaseServersAddress) {
  auto fs = audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"127.0.0.1:5432\"\n");
  Finding f = one(fs, "connect to itself");
  expect_at(f, Severity::Error, "proxy.listen", 8, 10);
  EXPECT_NE(f.message.find("[databases.db] (127.0.0.1:5432)"), std::string::npos) << f.message;
  one(audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"0.0.0.0:5432\"\n"), "connect to itself");
  one(audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"[::]:5432\"\n"), "connect to itself");
  // A wildcard listener and a server elsewhere on the same port: fine.
  none(audit_text(std::string(kQuiet) + "[server]\nhost = \"10.0.0.9\"\n[proxy]\nlisten = \"0.0.0.0:5432\"\n"), "itself");
  one(audit_text(std::string(kQuiet) + "[proxy]\nadmin_listen = \"127.0.0.1:5432\"\n"), "one of them cannot listen");
  none(audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"127.0.0.1:5433\"\n"), "itself");
}

TEST(ConfigAuditListen, ExposedListenerWithoutPasswordsOrTls) {
  const std::string trust = "[databases.db]\n[auth]\nmethod = \"trust\"\n[admission]\nmode = \"static\"\nmax_limit = 4\n";
  auto fs = audit_text(trust + "[proxy]\nlisten = \"0.0.0.0:6432\"\n");
  expect_at(one(fs, "without a password"), Severity::Warning, "auth.method", 3, 10);
  EXPECT_TRUE(audit_text(trust + "[proxy]\nlisten = \"127.0.0.2:6432\"\n").empty());
  EXPECT_TRUE(audit_text(trust + "[proxy]\nlisten = \"localhost:6432\"\n").empty());
  EXPECT_TRUE(audit_text(trust + "[proxy]\nlisten = \"db-proxy.internal:6432\"\n").empty());  // unknown: no guess

  const std::string password = "[databases.db]\n[users]\nu = \"p\"\n[auth]\nmethod = \"password\"\n"
                               "[admission]\nmode = \"static\"\nmax_limit = 4\n";
  fs = audit_text(password + "[proxy]\nlisten = \"10.0.0.1:6432\"\n");
  EXPECT_EQ(one(fs, "clear text").severity, Severity::Warning);
  EXPECT_TRUE(audit_text(password).empty());
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[proxy]\nlisten = \"10.0.0.1:6432\"\n").empty());  // scram

  fs = audit_text(std::string(kQuiet) + "[proxy]\nadmin_listen = \"0.0.0.0:6433\"\n");
  expect_at(one(fs, "answer anyone"), Severity::Warning, "proxy.admin_listen", 8, 16);
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[proxy]\nadmin_listen = \"0.0.0.0:6433\"\n[admin]\nhttp_user = \"a\"\n"
                                               "http_password = \"b\"\n")
                  .empty());
}

TEST(ConfigAuditSession, EmptyResetQueryInSessionMode) {
  auto fs = audit_text(
      "[databases.db]\npool_mode = \"session\"\n[databases.t]\n[users]\nu = \"p\"\n[server]\nreset_query = \"\"\n"
      "[admission]\nmode = \"static\"\nmax_limit = 4\n");
  Finding f = one(fs, "inherits the session state");
  expect_at(f, Severity::Warning, "server.reset_query", 7, 15);
  EXPECT_NE(f.message.find("[databases.db] pool"), std::string::npos) << f.message;
  EXPECT_TRUE(audit_text(std::string(kQuiet) + "[server]\nreset_query = \"\"\n").empty());  // transaction mode
  EXPECT_TRUE(audit_text("[databases.db]\npool_mode = \"session\"\n[users]\nu = \"p\"\n[admission]\nmode = \"static\"\n"
                         "max_limit = 4\n")
                  .empty());
}

// ---------------------------------------------------------------- output

TEST(ConfigAuditOutput, Text) {
  EXPECT_EQ(to_text("a.toml", {Severity::Warning, "k", {3, 7}, "bad"}), "a.toml:3:7: warning: bad");
  EXPECT_EQ(to_text("a.toml", {Severity::Info, "", {}, "fyi"}), "a.toml: info: fyi");
  EXPECT_EQ(to_text("a.toml", as_finding({"a.toml", 2, 1, "broken"})), "a.toml:2:1: error: broken");
}

TEST(ConfigAuditOutput, JsonStringsAreEscaped) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a\"b\\c\n\t\r\x01\x7f"), "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u007f\"");
  EXPECT_EQ(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(json_string("\xff"), "\"\\ufffd\"");
  EXPECT_EQ(json_string("\xc3"), "\"\\ufffd\"");            // truncated
  EXPECT_EQ(json_string("\xc0\xaf"), "\"\\ufffd\\ufffd\"");  // overlong
  EXPECT_EQ(json_string("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
}

TEST(ConfigAuditOutput, Json) {
  std::vector<Finding> fs{{Severity::Error, "limits.queue_timeout_ms", {4, 20}, "too \"long\""},
                          {Severity::Info, "", {}, "fyi"},
                          {Severity::Warning, "admission.mode", {}, "w"}};
  EXPECT_EQ(to_json("dir/a \"x\".toml", fs),
            "{\"file\":\"dir/a \\\"x\\\".toml\",\"valid\":false,\"findings\":["
            "{\"severity\":\"error\",\"file\":\"dir/a \\\"x\\\".toml\",\"line\":4,\"column\":20,"
            "\"key\":\"limits.queue_timeout_ms\",\"message\":\"too \\\"long\\\"\"},"
            "{\"severity\":\"info\",\"file\":\"dir/a \\\"x\\\".toml\",\"line\":null,\"column\":null,\"key\":null,"
            "\"message\":\"fyi\"},"
            "{\"severity\":\"warning\",\"file\":\"dir/a \\\"x\\\".toml\",\"line\":null,\"column\":null,"
            "\"key\":\"admission.mode\",\"message\":\"w\"}],"
            "\"summary\":{\"errors\":1,\"warnings\":1,\"infos\":1}}\n");
  EXPECT_EQ(to_json("a.toml", {}),
            "{\"file\":\"a.toml\",\"valid\":true,\"findings\":[],\"summary\":{\"errors\":0,\"warnings\":0,\"infos\":0}}\n");
}

TEST(ConfigAuditOutput, DatabaseServersGroupByHostAndPort) {
  LoadResult r = load_config_string(
      "[server]\nhost = \"h1\"\n[databases.a]\n[databases.b]\nhost = \"H1\"\n[databases.c]\nport = 5433\n"
      "[auth]\nmethod = \"trust\"\n",
      "a.toml");
  ASSERT_TRUE(r.config.has_value());
  std::vector<ServerTarget> servers = database_servers(*r.config);
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_EQ(servers[0].host, "h1");
  EXPECT_EQ(servers[0].port, 5432);
  EXPECT_EQ(servers[0].databases, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(servers[1].port, 5433);
  EXPECT_EQ(servers[1].databases, (std::vector<std::string>{"c"}));
}

}  // namespace
}  // namespace pgs::config
