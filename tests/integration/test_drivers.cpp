// The driver matrix of issue 5: every driver, with its default settings, runs
// the same cases straight against PostgreSQL (Direct: proves each case right),
// and through pgsluice in transaction and session mode. The driver programs are
// in tests/drivers/ and print `CASE <name> PASS|FAIL|SKIP <detail>` lines; psql
// and pgbench are run from drivers_tools.cpp. Most drivers prepare statements
// at the protocol level by default, which transaction pooling must survive.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <tuple>

#include "drivers_matrix.h"

namespace pgs::it {
namespace {

const std::string kDriversDir = std::string(PGSLUICE_SOURCE_DIR) + "/tests/drivers";
// Debian's python, where python3-psycopg and python3-asyncpg install (a python3
// earlier in PATH, e.g. pyenv's, does not see them).
constexpr const char* kPython = "/usr/bin/python3";

enum class Driver { Psycopg, Asyncpg, Pgjdbc, NodePg, Postgresjs, Psql, PgbenchSimple, PgbenchExtended, PgbenchPrepared };

std::string driver_name(Driver d) {
  switch (d) {
    case Driver::Psycopg: return "psycopg";
    case Driver::Asyncpg: return "asyncpg";
    case Driver::Pgjdbc: return "pgjdbc";
    case Driver::NodePg: return "node_pg";
    case Driver::Postgresjs: return "postgresjs";
    case Driver::Psql: return "psql";
    case Driver::PgbenchSimple: return "pgbench_simple";
    case Driver::PgbenchExtended: return "pgbench_extended";
    case Driver::PgbenchPrepared: return "pgbench_prepared";
  }
  return "?";
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  return false;
}

std::string python_module_missing(const std::string& module, const std::string& package) {
  if (::access(kPython, X_OK) != 0) return std::string(" ") + kPython + " (Debian: python3)";
  auto r = run_command({kPython, "-c", "import " + module}, 30s);
  return r.exit_code == 0 ? "" : " " + module + " for " + kPython + " (Debian: " + package + ")";
}

std::string node_modules_missing(const std::vector<std::string>& modules) {
  std::string missing;
  if (!in_path("node")) missing += " node (Debian: nodejs)";
  for (const auto& m : modules)
    if (!exists(kDriversDir + "/node_modules/" + m))
      missing += " " + kDriversDir + "/node_modules/" + m + " (npm ci in tests/drivers)";
  return missing;
}

// What a driver needs and is not there, or "".
std::string missing_for(Driver d) {
  switch (d) {
    case Driver::Psycopg: return python_module_missing("psycopg", "python3-psycopg");
    case Driver::Asyncpg: return python_module_missing("asyncpg", "python3-asyncpg");
    case Driver::Pgjdbc: {
      std::string missing;
      if (!exists(PGSLUICE_JDBC_JAR))
        missing += std::string(" ") + PGSLUICE_JDBC_JAR + " (Debian: libpostgresql-jdbc-java)";
      if (std::string(PGSLUICE_JDBC_CLASSES).empty())
        missing += " JdbcMatrix.class (cmake found no javac or no postgresql.jar; Debian: "
                   "default-jdk-headless, then configure again)";
      else if (!exists(std::string(PGSLUICE_JDBC_CLASSES) + "/JdbcMatrix.class"))
        missing += std::string(" ") + PGSLUICE_JDBC_CLASSES + "/JdbcMatrix.class (build target jdbc_matrix)";
      if (!in_path("java")) missing += " java (Debian: default-jdk-headless)";
      return missing;
    }
    case Driver::NodePg: return node_modules_missing({"pg", "pg-cursor", "pg-copy-streams"});
    case Driver::Postgresjs: return node_modules_missing({"postgres"});
    case Driver::Psql:
    case Driver::PgbenchSimple:
    case Driver::PgbenchExtended:
    case Driver::PgbenchPrepared: return "";
  }
  return "";
}

std::vector<std::string> program_argv(Driver d) {
  switch (d) {
    case Driver::Psycopg: return {kPython, kDriversDir + "/psycopg_matrix.py"};
    case Driver::Asyncpg: return {kPython, kDriversDir + "/asyncpg_matrix.py"};
    case Driver::Pgjdbc:
      return {"java", "-cp", std::string(PGSLUICE_JDBC_CLASSES) + ":" + PGSLUICE_JDBC_JAR, "JdbcMatrix"};
    case Driver::NodePg: return {"node", kDriversDir + "/node_pg_matrix.mjs"};
    case Driver::Postgresjs: return {"node", kDriversDir + "/postgresjs_matrix.mjs"};
    default: return {};
  }
}

std::vector<CaseResult> parse_cases(const std::string& output) {
  std::vector<CaseResult> cases;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("CASE ", 0) != 0) continue;
    std::istringstream words(line.substr(5));
    CaseResult c;
    words >> c.name >> c.verdict;
    std::getline(words >> std::ws, c.detail);
    cases.push_back(c);
  }
  return cases;
}

// The bound on one driver run: below the harness watchdog (PGSLUICE_IT_TEST_TIMEOUT_S),
// which would otherwise end the whole binary first.
milliseconds run_timeout() {
  long budget = 120;
  if (const char* b = std::getenv("PGSLUICE_IT_TEST_TIMEOUT_S"); b && std::atol(b) > 0)
    budget = std::atol(b);
  return std::chrono::seconds(std::clamp(budget - 20, 30L, 120L));
}

using MatrixParam = std::tuple<Driver, Variant>;

class DriverMatrix : public ::testing::TestWithParam<MatrixParam>, public TargetHarness {
 protected:
  void TearDown() override { stop_target(); }
};

TEST_P(DriverMatrix, AllCasesPass) {
  const auto [driver, variant] = GetParam();
  if (std::string missing = missing_for(driver); !missing.empty()) {
    const char* allow = std::getenv("PGSLUICE_ALLOW_SKIP");
    if (allow && std::string(allow) == "1") GTEST_SKIP() << "missing:" << missing;
    FAIL() << "the " << driver_name(driver) << " driver matrix needs:" << missing
           << ". tests/run.sh installs them; PGSLUICE_ALLOW_SKIP=1 skips this test instead.";
  }

  ConfigBuilder cfg;
  // Transaction mode: many clients over a few server connections, where a
  // statement prepared on one connection meets another. Session mode holds a
  // server connection per client, and the cases open up to 40 at once.
  cfg.pool_size = variant == Variant::Session ? 50 : 3;
  // 40 clients queue for 3 connections: what is tested here is the drivers'
  // protocol use, not admission, so no transaction should time out waiting.
  cfg.extra = "[limits]\nqueue_timeout_ms = 10000\n";
  ASSERT_TRUE(start_target(variant, cfg));

  std::vector<CaseResult> cases;
  std::string output;
  bool timed_out = false;
  int exit_code = 0;
  const auto started = Clock::now();
  switch (driver) {
    case Driver::Psql: cases = run_psql_cases(target_port()); break;
    case Driver::PgbenchSimple: cases = run_pgbench_cases(target_port(), "simple"); break;
    case Driver::PgbenchExtended: cases = run_pgbench_cases(target_port(), "extended"); break;
    case Driver::PgbenchPrepared: cases = run_pgbench_cases(target_port(), "prepared"); break;
    default: {
      const std::string port = std::to_string(target_port());
      CommandResult r = run_command(program_argv(driver), run_timeout(),
                                    {"PGHOST=127.0.0.1", "PGPORT=" + port, "PGUSER=bench",
                                     "PGPASSWORD=bench", "PGDATABASE=bench", "PGCONNECT_TIMEOUT=10"});
      output = r.output;
      timed_out = r.timed_out;
      exit_code = r.exit_code;
      cases = parse_cases(output);
    }
  }
  if (output.empty())  // psql and pgbench: the CASE lines made here
    for (const auto& c : cases) output += c.line() + "\n";
  const std::string log = matrix_log_path(".out");
  write_file(log, output);
  const double took = std::chrono::duration<double>(Clock::now() - started).count();

  // Every line, passing or not: the matrix is read from these.
  std::string failing;
  for (const auto& c : cases) {
    std::printf("%s\n", c.line().c_str());
    if (c.verdict != "PASS" && c.verdict != "SKIP") failing += "  " + c.line() + "\n";
  }
  std::printf("%s %s: %.1f s\n", driver_name(driver).c_str(),
              variant_name(::testing::TestParamInfo<Variant>(variant, 0)).c_str(), took);

  EXPECT_FALSE(timed_out) << driver_name(driver) << " ran past " << run_timeout().count()
                          << " ms; its output is in " << log;
  EXPECT_TRUE(failing.empty()) << "failing cases (the whole output is in "
                               << log << "):\n" << failing;
  if (failing.empty()) {  // an exit that no CASE line explains
    EXPECT_EQ(exit_code, 0) << "output (last lines):\n" << tail(output, 40);
  }
  const bool pgbench = driver == Driver::PgbenchSimple || driver == Driver::PgbenchExtended ||
                       driver == Driver::PgbenchPrepared;
  for (const auto& name : pgbench ? std::vector<std::string>{"select_only"} : kMatrixCases) {
    EXPECT_TRUE(std::any_of(cases.begin(), cases.end(), [&](const CaseResult& c) { return c.name == name; }))
        << "case " << name << " did not report";
  }
}

std::string matrix_param_name(const ::testing::TestParamInfo<MatrixParam>& p) {
  // Variant first, so that ctest -E '/Direct' leaves out the Direct runs.
  return variant_name(::testing::TestParamInfo<Variant>(std::get<1>(p.param), 0)) + "_" +
         driver_name(std::get<0>(p.param));
}

INSTANTIATE_TEST_SUITE_P(
    Drivers, DriverMatrix,
    ::testing::Combine(::testing::Values(Driver::Psycopg, Driver::Asyncpg, Driver::Pgjdbc, Driver::NodePg,
                                         Driver::Postgresjs, Driver::Psql, Driver::PgbenchSimple,
                                         Driver::PgbenchExtended, Driver::PgbenchPrepared),
                       ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session)),
    matrix_param_name);

}  // namespace
}  // namespace pgs::it
