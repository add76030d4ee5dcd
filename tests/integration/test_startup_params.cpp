// Startup parameters: what a client asked for at login is what it sees, even
// when its transactions run on server connections other clients also use.
#include <cstdlib>

#include "harness.h"

namespace pgs::it {
namespace {

struct ClientSettings {
  std::string application_name;
  std::string search_path;
  std::string timezone;
  std::string datestyle;
  std::string extra_float_digits;

  std::string conninfo_extra() const {
    return "application_name=" + application_name + " options='-c search_path=" + search_path +
           " -c TimeZone=" + timezone + " -c DateStyle=" + datestyle +
           " -c extra_float_digits=" + extra_float_digits + "'";
  }
};

const ClientSettings kA{"it_client_a", "foo", "Asia/Tokyo", "SQL, DMY", "1"};
const ClientSettings kB{"it_client_b", "other", "America/New_York", "German, DMY", "3"};

// "SQL, DMY" must be passed as "SQL,DMY" inside options (spaces separate -c words).
ClientSettings for_options(ClientSettings s) {
  std::erase(s.datestyle, ' ');
  return s;
}

void expect_settings(PGconn* c, const ClientSettings& s, const std::string& where) {
  SCOPED_TRACE(where + " (" + s.application_name + ")");
  EXPECT_EQ(query_value(c, "SHOW application_name"), s.application_name);
  EXPECT_EQ(query_value(c, "SHOW search_path"), s.search_path);
  EXPECT_EQ(query_value(c, "SELECT current_schema()"), s.search_path);
  EXPECT_EQ(query_value(c, "SHOW TimeZone"), s.timezone);
  EXPECT_EQ(query_value(c, "SHOW DateStyle"), s.datestyle);
  EXPECT_EQ(query_value(c, "SHOW extra_float_digits"), s.extra_float_digits);
  // The reported values (ParameterStatus) agree with the session.
  EXPECT_EQ(parameter_status(c, "application_name"), s.application_name);
  EXPECT_EQ(parameter_status(c, "TimeZone"), s.timezone);
  EXPECT_EQ(parameter_status(c, "DateStyle"), s.datestyle);
}

class StartupParams : public TargetTest {};

TEST_P(StartupParams, HonouredAtLogin) {
  ASSERT_TRUE(start_target(GetParam()));
  for (const auto* s : {&kA, &kB}) {
    auto c = connect_bench(for_options(*s).conninfo_extra());
    ASSERT_TRUE(c);
    expect_settings(c.get(), *s, "right after login");
    // Observable effects, not just SHOW.
    EXPECT_EQ(query_value(c.get(), "SELECT to_char(timestamptz '2024-01-02 03:04:05+00', 'HH24')"),
              s == &kA ? "12" : "22");
    EXPECT_EQ(query_value(c.get(), "SELECT date '2024-03-04'"),
              s == &kA ? "04/03/2024" : "04.03.2024");
  }
}

TEST_P(StartupParams, ClientEncodingFromConninfo) {
  ASSERT_TRUE(start_target(GetParam()));
  auto c = connect_bench("client_encoding=LATIN1");
  ASSERT_TRUE(c);
  EXPECT_EQ(query_value(c.get(), "SHOW client_encoding"), "LATIN1");
  EXPECT_EQ(parameter_status(c.get(), "client_encoding"), "LATIN1");
  // Byte 0xE9 is é in LATIN1: the server converts it to 2 UTF-8 bytes and back.
  EXPECT_EQ(query_value(c.get(), std::string("SELECT octet_length(convert_to('") + '\xe9' +
                                     "', 'UTF8'))"),
            "2");
  EXPECT_EQ(query_value(c.get(), "SELECT chr(233)"), std::string(1, '\xe9'));
  auto u = connect_bench();
  ASSERT_TRUE(u);
  EXPECT_EQ(query_value(u.get(), "SHOW client_encoding"), "UTF8");
}

TEST_P(StartupParams, EnvironmentVariablesPGTZAndPGDATESTYLE) {
  ASSERT_TRUE(start_target(GetParam()));
  // libpq turns these into the startup parameters "timezone" and "datestyle"
  // (lower case). Set only around the connect: the test is single-threaded here.
  ::setenv("PGTZ", "Europe/Helsinki", 1);
  ::setenv("PGDATESTYLE", "Postgres, MDY", 1);
  auto c = connect_bench();
  ::unsetenv("PGTZ");
  ::unsetenv("PGDATESTYLE");
  ASSERT_TRUE(c);
  EXPECT_EQ(query_value(c.get(), "SHOW TimeZone"), "Europe/Helsinki");
  EXPECT_EQ(query_value(c.get(), "SHOW DateStyle"), "Postgres, MDY");
  EXPECT_EQ(parameter_status(c.get(), "TimeZone"), "Europe/Helsinki");
}

INSTANTIATE_TEST_SUITE_P(All, StartupParams,
                         ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session),
                         variant_name);

// Two clients with different settings share one server connection
// (pool_size = 1) and interleave their transactions.
class SharedServerConnection : public TargetTest {};

TEST_P(SharedServerConnection, EachClientKeepsItsSettings) {
  ConfigBuilder cfg;
  cfg.pool_size = 1;
  ASSERT_TRUE(start_target(GetParam(), cfg));
  auto a = connect_bench(for_options(kA).conninfo_extra());
  auto b = connect_bench(for_options(kB).conninfo_extra());
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  for (int round = 0; round < 5; ++round) {
    const std::string r = " round " + std::to_string(round);
    ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
    expect_settings(a.get(), kA, "A in a transaction" + r);
    ASSERT_TRUE(exec_ok(a.get(), "COMMIT"));
    expect_settings(b.get(), kB, "B autocommit" + r);
    ASSERT_TRUE(exec_ok(b.get(), "BEGIN"));
    EXPECT_EQ(query_value(b.get(), "SHOW TimeZone"), kB.timezone) << r;
    ASSERT_TRUE(exec_ok(b.get(), "COMMIT"));
    expect_settings(a.get(), kA, "A autocommit" + r);
    if (HasFailure()) break;
  }
  if (!direct()) {
    EXPECT_LE(pg().count_connections("bench"), 1) << "pool_size = 1";
  }
}

TEST_P(SharedServerConnection, SetLocalDoesNotLeak) {
  ConfigBuilder cfg;
  cfg.pool_size = 1;
  ASSERT_TRUE(start_target(GetParam(), cfg));
  auto a = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  const std::string initial = query_value(b.get(), "SHOW work_mem");
  ASSERT_EQ(initial, "4MB");
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(a.get(), "SET LOCAL work_mem = '7MB'"));
  EXPECT_EQ(query_value(a.get(), "SHOW work_mem"), "7MB");
  ASSERT_TRUE(exec_ok(a.get(), "COMMIT"));
  EXPECT_EQ(query_value(b.get(), "SHOW work_mem"), initial);
  EXPECT_EQ(query_value(a.get(), "SHOW work_mem"), initial);
  // And a rolled-back SET does not stick either.
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(a.get(), "SET statement_timeout = '123s'"));
  ASSERT_TRUE(exec_ok(a.get(), "ROLLBACK"));
  EXPECT_EQ(query_value(b.get(), "SHOW statement_timeout"), "0");
  EXPECT_EQ(query_value(a.get(), "SHOW statement_timeout"), "0");
}

INSTANTIATE_TEST_SUITE_P(All, SharedServerConnection,
                         ::testing::Values(Variant::Direct, Variant::Transaction), variant_name);

}  // namespace
}  // namespace pgs::it
