// Real client programs: psql and pgbench.
#include "harness.h"

namespace pgs::it {
namespace {

std::string tool(const std::string& name) {
  std::string d = pg_bindir();
  return d.empty() ? name : d + "/" + name;
}

const std::vector<std::string> kBenchEnv{"PGPASSWORD=bench", "PGCONNECT_TIMEOUT=10"};

class Tools : public TargetTest {};

TEST_P(Tools, PsqlCommand) {
  ASSERT_TRUE(start_target(GetParam()));
  auto r = run_command({tool("psql"), "-X", "-h", "127.0.0.1", "-p", std::to_string(target_port()),
                        "-U", "bench", "-d", "bench", "-v", "ON_ERROR_STOP=1", "-At", "-c",
                        "select 1"},
                       30s, kBenchEnv);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "1\n");
}

TEST_P(Tools, PsqlScript) {
  ASSERT_TRUE(start_target(GetParam()));
  // Several statements, a transaction, \gset and a COPY through psql.
  const std::string script =
      "\\set ON_ERROR_STOP 1\n"
      "CREATE TABLE it_psql_t (a int, b text);\n"
      "BEGIN;\n"
      "INSERT INTO it_psql_t SELECT g, 'v' || g FROM generate_series(1, 100) g;\n"
      "COMMIT;\n"
      "\\copy it_psql_t FROM STDIN\n"
      "101\tv101\n"
      "\\.\n"
      "SELECT count(*) AS n FROM it_psql_t \\gset\n"
      "\\echo rows :n\n"
      "DROP TABLE it_psql_t;\n";
  const std::string file = work_dir() + "/logs/" + current_test_file_name() + ".sql";
  write_file(file, script);
  auto r = run_command({tool("psql"), "-X", "-q", "-h", "127.0.0.1", "-p",
                        std::to_string(target_port()), "-U", "bench", "-d", "bench", "-f", file},
                       60s, kBenchEnv);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rows 101"), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(All, Tools,
                         ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session),
                         variant_name);

struct PgbenchCase {
  Variant variant;
  const char* protocol;  // pgbench -M
};

void PrintTo(const PgbenchCase& c, std::ostream* os) {
  PrintTo(c.variant, os);
  *os << " -M " << c.protocol;
}

class Pgbench : public ::testing::TestWithParam<PgbenchCase>, public TargetHarness {
 protected:
  void TearDown() override { stop_target(); }
};

TEST_P(Pgbench, SelectOnlyRunHasNoFailures) {
  ConfigBuilder cfg;
  // Transaction mode shares 2 server connections among 4 clients; session mode
  // needs one per client.
  cfg.pool_size = GetParam().variant == Variant::Session ? 4 : 2;
  ASSERT_TRUE(start_target(GetParam().variant, cfg));
  auto init = run_command({tool("pgbench"), "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p",
                           std::to_string(pg().port()), "-U", "bench", "bench"},
                          120s, kBenchEnv);
  ASSERT_EQ(init.exit_code, 0) << init.output;
  auto r = run_command({tool("pgbench"), "-c", "4", "-j", "2", "-t", "200", "-S", "-M",
                        GetParam().protocol, "-h", "127.0.0.1", "-p", std::to_string(target_port()),
                        "-U", "bench", "bench"},
                       120s, kBenchEnv);
  EXPECT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("number of transactions actually processed: 800/800"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("number of failed transactions: 0 "), std::string::npos) << r.output;
}

TEST_P(Pgbench, TpcbLikeRunHasNoFailures) {
  ConfigBuilder cfg;
  cfg.pool_size = GetParam().variant == Variant::Session ? 4 : 2;
  ASSERT_TRUE(start_target(GetParam().variant, cfg));
  auto init = run_command({tool("pgbench"), "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p",
                           std::to_string(pg().port()), "-U", "bench", "bench"},
                          120s, kBenchEnv);
  ASSERT_EQ(init.exit_code, 0) << init.output;
  // The default script: BEGIN, updates, insert, COMMIT; read-write transactions.
  // One thread per client (-j 4): with -M prepared, pgbench prepares a
  // client's statements with a blocking PQprepare on its first transaction.
  // With two clients per thread, that wait can block the thread while its
  // other client sits inside BEGIN..COMMIT on one of the 2 server
  // connections. The Parse then waits for a server that only that stalled
  // transaction can free: a deadlock of pgbench's own, seen under load with
  // any pool smaller than the client count.
  auto r = run_command({tool("pgbench"), "-c", "4", "-j", "4", "-t", "50", "-M",
                        GetParam().protocol, "-h", "127.0.0.1", "-p", std::to_string(target_port()),
                        "-U", "bench", "bench"},
                       120s, kBenchEnv);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("number of transactions actually processed: 200/200"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("number of failed transactions: 0 "), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(All, Pgbench,
                         ::testing::Values(PgbenchCase{Variant::Direct, "prepared"},
                                           PgbenchCase{Variant::Transaction, "simple"},
                                           PgbenchCase{Variant::Transaction, "extended"},
                                           PgbenchCase{Variant::Transaction, "prepared"},
                                           PgbenchCase{Variant::Session, "prepared"},
                                           PgbenchCase{Variant::Session, "simple"}),
                         [](const ::testing::TestParamInfo<PgbenchCase>& p) {
                           return variant_name(::testing::TestParamInfo<Variant>(p.param.variant, 0)) +
                                  "_" + p.param.protocol;
                         });

}  // namespace
}  // namespace pgs::it
