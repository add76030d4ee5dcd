// The admin console's command parser.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "proxy/admin/console_command.h"

namespace pgs::admin {
namespace {

ConsoleCommand parse_ok(std::string_view sql) {
  const ParsedCommand p = parse_command(sql);
  EXPECT_TRUE(p.ok) << "query: " << sql << "\nerror: " << p.error.message;
  return p.command;
}

ErrorInfo parse_error(std::string_view sql) {
  const ParsedCommand p = parse_command(sql);
  EXPECT_FALSE(p.ok) << "query: " << sql;
  EXPECT_EQ(p.error.severity, "ERROR");
  EXPECT_FALSE(p.error.message.empty());
  EXPECT_FALSE(p.error.hint.empty()) << "query: " << sql;
  return p.error;
}

TEST(AdminCommand, EmptyQuery) {
  for (std::string_view sql : {"", " ", ";", " ; ;\n\t", ";;;"}) {
    EXPECT_EQ(parse_ok(sql).kind, CommandKind::Empty) << sql;
  }
}

TEST(AdminCommand, ShowAnyCaseWithSemicolonsAndWhitespace) {
  for (std::string_view sql : {"SHOW POOLS", "show pools", "Show Pools;", "  SHOW\tpools ;  ",
                               "\nshow\n\"pools\";;", "SHOW \"POOLS\"", "; SHOW POOLS"}) {
    const ConsoleCommand c = parse_ok(sql);
    EXPECT_EQ(c.kind, CommandKind::Show) << sql;
    EXPECT_EQ(c.topic, "POOLS") << sql;
  }
  EXPECT_EQ(parse_ok("show stats_totals").topic, "STATS_TOTALS");
  EXPECT_EQ(parse_ok("SHOW client_keys;").topic, "CLIENT_KEYS");
  EXPECT_EQ(parse_ok("show help").topic, "HELP");
}

TEST(AdminCommand, EveryShowTopic) {
  for (std::string_view topic :
       {"HELP", "VERSION", "CONFIG", "DATABASES", "POOLS", "CLIENTS", "SERVERS", "USERS", "LISTS",
        "STATS", "STATS_TOTALS", "STATS_AVERAGES", "TOTALS", "ADMISSION", "CLIENT_KEYS",
        "ALERTS"}) {
    EXPECT_EQ(parse_ok("SHOW " + std::string(topic)).topic, topic);
  }
}

TEST(AdminCommand, UnknownShowTopic) {
  const ErrorInfo e = parse_error("SHOW frobnicate");
  EXPECT_EQ(e.sqlstate, "42704");
  EXPECT_NE(e.message.find("frobnicate"), std::string::npos);
  EXPECT_NE(e.hint.find("CLIENT_KEYS"), std::string::npos);
  EXPECT_NE(e.hint.find("STATS_TOTALS"), std::string::npos);
}

TEST(AdminCommand, PgBouncerTopicsPgsluiceLacks) {
  for (std::string_view sql : {"SHOW FDS", "show mem", "SHOW DNS_HOSTS", "SHOW sockets"}) {
    const ErrorInfo e = parse_error(sql);
    EXPECT_EQ(e.sqlstate, "0A000") << sql;
    EXPECT_NE(e.hint.find("POOLS"), std::string::npos);
  }
}

TEST(AdminCommand, ShowErrors) {
  EXPECT_EQ(parse_error("SHOW").sqlstate, "42601");
  EXPECT_EQ(parse_error("SHOW ;").sqlstate, "42601");
  EXPECT_NE(parse_error("SHOW").hint.find("VERSION"), std::string::npos);
  EXPECT_EQ(parse_error("SHOW POOLS extra").sqlstate, "42601");
  EXPECT_EQ(parse_error("SHOW POOLS; SHOW STATS").sqlstate, "42601");
  EXPECT_EQ(parse_error("SHOW \"pools").sqlstate, "42601");
  EXPECT_EQ(parse_error("SHOW \"\"").sqlstate, "42601");
  EXPECT_EQ(parse_error("SHOWPOOLS").sqlstate, "42601");
}

TEST(AdminCommand, PauseAndResume) {
  ConsoleCommand c = parse_ok("PAUSE");
  EXPECT_EQ(c.kind, CommandKind::Pause);
  EXPECT_EQ(c.database, "");
  c = parse_ok("pause bench;");
  EXPECT_EQ(c.kind, CommandKind::Pause);
  EXPECT_EQ(c.database, "bench");
  c = parse_ok("Pause Bench");
  EXPECT_EQ(c.database, "Bench");  // taken as typed, as PgBouncer does
  c = parse_ok("PAUSE \"my db\"\"x\"");
  EXPECT_EQ(c.database, "my db\"x");
  c = parse_ok("pause bench-2");
  EXPECT_EQ(c.database, "bench-2");
  c = parse_ok("resume");
  EXPECT_EQ(c.kind, CommandKind::Resume);
  EXPECT_EQ(c.database, "");
  c = parse_ok("RESUME app ;");
  EXPECT_EQ(c.kind, CommandKind::Resume);
  EXPECT_EQ(c.database, "app");

  EXPECT_EQ(parse_error("PAUSE a b").sqlstate, "42601");
  EXPECT_EQ(parse_error("RESUME \"app").sqlstate, "42601");
  EXPECT_EQ(parse_error("PAUSE a; RESUME a").sqlstate, "42601");
}

TEST(AdminCommand, ReloadShutdown) {
  EXPECT_EQ(parse_ok("RELOAD").kind, CommandKind::Reload);
  EXPECT_EQ(parse_ok("reload;").kind, CommandKind::Reload);
  EXPECT_EQ(parse_ok(" Shutdown ; ").kind, CommandKind::Shutdown);
  EXPECT_EQ(parse_error("RELOAD now").sqlstate, "42601");
  EXPECT_EQ(parse_error("SHUTDOWN immediate").sqlstate, "42601");
}

TEST(AdminCommand, KillClient) {
  ConsoleCommand c = parse_ok("KILL_CLIENT 42");
  EXPECT_EQ(c.kind, CommandKind::KillClient);
  EXPECT_EQ(c.client_id, 42u);
  EXPECT_EQ(parse_ok("kill_client 18446744073709551615;").client_id, UINT64_MAX);
  EXPECT_EQ(parse_ok("kill_client 0x1f").client_id, 31u);  // as SHOW CLIENTS ptr prints it

  for (std::string_view sql : {"KILL_CLIENT", "KILL_CLIENT abc", "KILL_CLIENT -1",
                               "KILL_CLIENT 1.5", "KILL_CLIENT 18446744073709551616",
                               "KILL_CLIENT 0x", "KILL_CLIENT 1 2", "KILL_CLIENT 12abc"}) {
    EXPECT_EQ(parse_error(sql).sqlstate, "42601") << sql;
  }
}

TEST(AdminCommand, SetValues) {
  ConsoleCommand c = parse_ok("SET limits.max_concurrency = 4");
  EXPECT_EQ(c.kind, CommandKind::Set);
  EXPECT_EQ(c.key, "limits.max_concurrency");
  EXPECT_EQ(c.value, "4");

  c = parse_ok("set admission.mode=adaptive;");
  EXPECT_EQ(c.key, "admission.mode");
  EXPECT_EQ(c.value, "adaptive");

  c = parse_ok("SET proxy.log_level = 'info' ;");
  EXPECT_EQ(c.value, "'info'");
  c = parse_ok("SET databases.bench.pool_mode = \"session\"");
  EXPECT_EQ(c.value, "\"session\"");
  c = parse_ok("SET admission.latency_tolerance =   2.5  ");
  EXPECT_EQ(c.value, "2.5");
  c = parse_ok("SET admin.users = [\"a\", 'b;c']");
  EXPECT_EQ(c.value, "[\"a\", 'b;c']");
  c = parse_ok("SET server.reset_query = 'DISCARD ALL; '");
  EXPECT_EQ(c.value, "'DISCARD ALL; '");
  c = parse_ok("SET x.y = \"a\\\"b;\"");
  EXPECT_EQ(c.value, "\"a\\\"b;\"");
  c = parse_ok("SET limits.weight TO 3");  // PgBouncer's spelling
  EXPECT_EQ(c.key, "limits.weight");
  EXPECT_EQ(c.value, "3");
}

TEST(AdminCommand, SetQuotedKeyParts) {
  ConsoleCommand c = parse_ok("SET limits.clients.\"10.0.0.5\".weight = 2");
  EXPECT_EQ(c.key, "limits.clients.\"10.0.0.5\".weight");
  EXPECT_EQ(c.value, "2");
  c = parse_ok("set Limits.Clients.'app 1'.max_queue=0;");
  EXPECT_EQ(c.key,
            "Limits.Clients.'app 1'.max_queue");  // as typed; keys compare case-insensitively later
  EXPECT_EQ(c.value, "0");
  c = parse_ok("SET limits.clients.\"a = b\".weight = 5");
  EXPECT_EQ(c.key, "limits.clients.\"a = b\".weight");
  EXPECT_EQ(c.value, "5");
}

TEST(AdminCommand, SetErrors) {
  for (std::string_view sql :
       {"SET", "SET = 4", "SET limits.max_concurrency", "SET limits.max_concurrency 4",
        "SET limits.max_concurrency =", "SET limits.max_concurrency = ;",
        "SET limits.clients.\"10.0.0.5.weight = 1", "SET limits. = 1", "SET a = 'unterminated",
        "SET a = \"unterminated", "SET a = 1; SHOW POOLS", "SET a TO", "SET a TOO 1"}) {
    EXPECT_EQ(parse_error(sql).sqlstate, "42601") << sql;
  }
}

TEST(AdminCommand, UnknownAndUnsupportedCommands) {
  ErrorInfo e = parse_error("SELECT 1");
  EXPECT_EQ(e.sqlstate, "0A000");
  for (std::string_view sql :
       {"DISABLE bench", "enable bench", "KILL bench", "RECONNECT", "SUSPEND", "WAIT_CLOSE"}) {
    EXPECT_EQ(parse_error(sql).sqlstate, "0A000") << sql;
  }
  e = parse_error("FROBNICATE");
  EXPECT_EQ(e.sqlstate, "42601");
  EXPECT_NE(e.message.find("FROBNICATE"), std::string::npos);
  // The hint names every command.
  for (std::string_view word :
       {"SHOW", "SET", "RELOAD", "PAUSE", "RESUME", "KILL_CLIENT", "SHUTDOWN", "SHOW HELP"}) {
    EXPECT_NE(e.hint.find(word), std::string::npos) << word;
  }
  EXPECT_EQ(parse_error("(SHOW POOLS)").sqlstate, "42601");
  EXPECT_EQ(parse_error("SHOW(POOLS)").sqlstate, "42601");
}

}  // namespace
}  // namespace pgs::admin
