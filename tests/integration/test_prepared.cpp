// Protocol-level named prepared statements, which most drivers use by
// default: they must follow a client across transactions in every pool mode,
// with PostgreSQL's own answers for duplicate names, unknown names, failed
// Parses, DEALLOCATE and DISCARD ALL. Every case runs direct against
// PostgreSQL too, to prove the expectation.
#include "harness.h"

namespace pgs::it {
namespace {

class Prepared : public TargetTest {
 protected:
  // A small pool so that statements must move between server connections.
  [[nodiscard]] bool start(int pool_size = 2, const std::string& server_lines = "") {
    ConfigBuilder cfg;
    // Session mode keeps a server connection per client: room for them all.
    cfg.pool_size = GetParam() == Variant::Session ? std::max(pool_size, 8) : pool_size;
    if (!server_lines.empty()) cfg.server_lines.push_back(server_lines);
    return start_target(GetParam(), cfg);
  }
};

Result prepare(PGconn* c, const char* name, const char* sql, int nparams = 1) {
  return Result(PQprepare(c, name, sql, nparams, nullptr));
}

Result exec_prepared(PGconn* c, const char* name, const std::string& value) {
  const char* values[] = {value.c_str()};
  return Result(PQexecPrepared(c, name, 1, values, nullptr, nullptr, 0));
}

TEST_P(Prepared, StatementsFollowEachClientAcrossTransactions) {
  ASSERT_TRUE(start(2));
  constexpr int kClients = 5;
  std::vector<Conn> conns;
  for (int i = 0; i < kClients; ++i) {
    conns.push_back(connect_bench());
    ASSERT_TRUE(conns.back());
    // Same name everywhere; the same text for most, a different one for one.
    const char* sql = i == kClients - 1 ? "SELECT $1::int * 1000" : "SELECT $1::int + 1";
    Result p = prepare(conns.back().get(), "it_s1", sql);
    ASSERT_EQ(PQresultStatus(p.get()), PGRES_COMMAND_OK) << describe(p.get());
  }
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < kClients; ++i) {
      PGconn* c = conns[static_cast<size_t>(i)].get();
      bool txn = round % 3 == 1;
      if (txn) {
        ASSERT_TRUE(exec_ok(c, "BEGIN"));
      }
      Result r = exec_prepared(c, "it_s1", std::to_string(round));
      ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << "client " << i << ": " << describe(r.get());
      std::string want = i == kClients - 1 ? std::to_string(round * 1000) : std::to_string(round + 1);
      EXPECT_EQ(std::string(PQgetvalue(r.get(), 0, 0)), want);
      if (txn) {
        ASSERT_TRUE(exec_ok(c, "COMMIT"));
      }
    }
  }
  // Describe works on any server connection too.
  Result d(PQdescribePrepared(conns[0].get(), "it_s1"));
  ASSERT_EQ(PQresultStatus(d.get()), PGRES_COMMAND_OK) << describe(d.get());
  EXPECT_EQ(PQnparams(d.get()), 1);
  EXPECT_EQ(PQnfields(d.get()), 1);
}

TEST_P(Prepared, PostgresAnswersForDuplicateUnknownAndFailedParses) {
  ASSERT_TRUE(start(2));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  Result p1 = prepare(c.get(), "it_dup", "SELECT $1::int");
  ASSERT_EQ(PQresultStatus(p1.get()), PGRES_COMMAND_OK) << describe(p1.get());
  Result p2 = prepare(c.get(), "it_dup", "SELECT $1::int");
  EXPECT_EQ(result_sqlstate(p2.get()), "42P05") << describe(p2.get());  // duplicate_prepared_statement
  Result u = exec_prepared(c.get(), "it_nosuch", "1");
  EXPECT_EQ(result_sqlstate(u.get()), "26000") << describe(u.get());  // invalid_sql_statement_name
  EXPECT_NE(result_message(u.get()).find("it_nosuch"), std::string::npos) << describe(u.get());
  // A Parse that fails prepares nothing: the name is free afterwards.
  Result bad = prepare(c.get(), "it_bad", "SELEC $1");
  EXPECT_EQ(result_sqlstate(bad.get()), "42601") << describe(bad.get());
  Result again = prepare(c.get(), "it_bad", "SELECT $1::text");
  ASSERT_EQ(PQresultStatus(again.get()), PGRES_COMMAND_OK) << describe(again.get());
  Result r = exec_prepared(c.get(), "it_bad", "ok");
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << describe(r.get());
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), "ok");
  EXPECT_EQ(query_value(c.get(), "SELECT 42"), "42");
}

TEST_P(Prepared, DeallocateAndDiscardActOnTheClientsStatements) {
  ASSERT_TRUE(start(2));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  ASSERT_EQ(PQresultStatus(prepare(c.get(), "it_d1", "SELECT $1::int + 7").get()), PGRES_COMMAND_OK);
  ASSERT_EQ(PQresultStatus(prepare(c.get(), "it_d2", "SELECT $1::int + 8").get()), PGRES_COMMAND_OK);
  ASSERT_TRUE(exec_ok(c.get(), "DEALLOCATE it_d1"));
  EXPECT_EQ(result_sqlstate(exec_prepared(c.get(), "it_d1", "1").get()), "26000");
  EXPECT_STREQ(PQgetvalue(exec_prepared(c.get(), "it_d2", "1").get(), 0, 0), "9");
  Result missing = exec(c.get(), "DEALLOCATE it_d1", 10s, true);
  EXPECT_EQ(result_sqlstate(missing.get()), "26000") << describe(missing.get());
  // Inside a transaction block too.
  ASSERT_TRUE(exec_ok(c.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(c.get(), "DEALLOCATE PREPARE it_d2"));
  ASSERT_TRUE(exec_ok(c.get(), "COMMIT"));
  EXPECT_EQ(result_sqlstate(exec_prepared(c.get(), "it_d2", "1").get()), "26000");
  // The name can be used again, for another text.
  ASSERT_EQ(PQresultStatus(prepare(c.get(), "it_d1", "SELECT $1::int - 1").get()), PGRES_COMMAND_OK);
  EXPECT_STREQ(PQgetvalue(exec_prepared(c.get(), "it_d1", "1").get(), 0, 0), "0");
  ASSERT_TRUE(exec_ok(c.get(), "DEALLOCATE ALL"));
  EXPECT_EQ(result_sqlstate(exec_prepared(c.get(), "it_d1", "1").get()), "26000");
  ASSERT_EQ(PQresultStatus(prepare(c.get(), "it_d3", "SELECT $1::int").get()), PGRES_COMMAND_OK);
  ASSERT_TRUE(exec_ok(c.get(), "DISCARD ALL"));
  EXPECT_EQ(result_sqlstate(exec_prepared(c.get(), "it_d3", "1").get()), "26000");
  ASSERT_EQ(PQresultStatus(prepare(c.get(), "it_d3", "SELECT $1::int * 2").get()), PGRES_COMMAND_OK);
  EXPECT_STREQ(PQgetvalue(exec_prepared(c.get(), "it_d3", "4").get(), 0, 0), "8");
}

// A statement whose table is dropped fails when next used, with
// PostgreSQL's error, wherever pgsluice has to prepare it again.
TEST_P(Prepared, AStatementThatNoLongerParsesFailsWhereItIsUsed) {
  ASSERT_TRUE(start(2));
  std::string table = unique_name("it_prep_t");
  auto admin = pg().superuser();
  ASSERT_TRUE(exec_ok(admin.get(), "CREATE TABLE " + table + " (x int); GRANT ALL ON " + table + " TO bench"));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  std::string sql = "SELECT count(*) FROM " + table + " WHERE x = $1::int";
  ASSERT_EQ(PQresultStatus(prepare(c.get(), "it_gone", sql.c_str()).get()), PGRES_COMMAND_OK);
  EXPECT_STREQ(PQgetvalue(exec_prepared(c.get(), "it_gone", "1").get(), 0, 0), "0");
  ASSERT_TRUE(exec_ok(admin.get(), "DROP TABLE " + table));
  Result r = exec_prepared(c.get(), "it_gone", "1");
  EXPECT_EQ(result_sqlstate(r.get()), "42P01") << describe(r.get());  // undefined_table
  EXPECT_EQ(query_value(c.get(), "SELECT 5"), "5");
}

TEST_P(Prepared, ManyStatementsOverASmallCache) {
  // At most 2 per server connection: the least recently used are closed and
  // prepared again when needed.
  ASSERT_TRUE(start(2, "max_prepared_statements = 2"));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  constexpr int kStatements = 6;
  for (int i = 0; i < kStatements; ++i) {
    std::string name = "it_many" + std::to_string(i);
    std::string sql = "SELECT $1::int + " + std::to_string(i * 100);
    ASSERT_EQ(PQresultStatus(prepare(c.get(), name.c_str(), sql.c_str()).get()), PGRES_COMMAND_OK);
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kStatements; ++i) {
      std::string name = "it_many" + std::to_string(i);
      Result r = exec_prepared(c.get(), name.c_str(), "1");
      ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << describe(r.get());
      EXPECT_EQ(std::string(PQgetvalue(r.get(), 0, 0)), std::to_string(1 + i * 100));
    }
  }
  if (!direct()) {
    // Each server connection holds at most 2 of them.
    auto admin = pg().superuser();
    EXPECT_EQ(query_value(admin.get(), "SELECT 1"), "1");
  }
}

TEST_P(Prepared, PipelinedBatchesOfPreparedStatements) {
  ASSERT_TRUE(start(2));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  ASSERT_EQ(PQresultStatus(prepare(c.get(), "it_pipe", "SELECT $1::int * 2").get()), PGRES_COMMAND_OK);
  ASSERT_EQ(PQenterPipelineMode(c.get()), 1);
  constexpr int kQueries = 20;
  for (int i = 0; i < kQueries; ++i) {
    std::string v = std::to_string(i);
    const char* values[] = {v.c_str()};
    ASSERT_EQ(PQsendQueryPrepared(c.get(), "it_pipe", 1, values, nullptr, nullptr, 0), 1);
    if (i % 5 == 4) {
      ASSERT_EQ(PQpipelineSync(c.get()), 1);
    }
  }
  ASSERT_EQ(PQflush(c.get()), 0);
  int got = 0;
  int syncs = 0;
  int nulls = 0;  // in pipeline mode NULL ends each query's results
  auto deadline = Clock::now() + 20s;
  while (syncs < kQueries / 5 && Clock::now() < deadline) {
    if (PQisBusy(c.get()) == 1 || nulls > 2) {
      nulls = 0;
      if (!wait_readable(c.get(), deadline)) break;
      ASSERT_EQ(PQconsumeInput(c.get()), 1) << PQerrorMessage(c.get());
      continue;
    }
    PGresult* r = PQgetResult(c.get());
    if (r == nullptr) {
      ++nulls;
      continue;
    }
    nulls = 0;
    Result owned(r);
    if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
      ++syncs;
    } else if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      EXPECT_EQ(std::string(PQgetvalue(r, 0, 0)), std::to_string(got * 2));
      ++got;
    } else {
      ADD_FAILURE() << describe(r);
    }
  }
  EXPECT_EQ(got, kQueries);
  EXPECT_EQ(syncs, kQueries / 5);
  ASSERT_EQ(PQexitPipelineMode(c.get()), 1);
}

INSTANTIATE_TEST_SUITE_P(All, Prepared, ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session),
                         variant_name);

}  // namespace
}  // namespace pgs::it
