// Query traffic: simple and extended protocol, pipelines, transactions, COPY,
// large results and parameters.
#include <poll.h>

#include "harness.h"

namespace pgs::it {
namespace {

class Queries : public TargetTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(start_target(GetParam()));
    c_ = connect_bench();
    ASSERT_TRUE(c_);
  }
  // A table created directly on the server (not through the target), dropped by the test end.
  std::string make_table(const std::string& columns) {
    std::string name = unique_name("it_q");
    auto admin = connect_or_fail(pg().conninfo("bench", "bench"));
    exec_ok(admin.get(), "CREATE TABLE " + name + " (" + columns + ")");
    return name;
  }
  Conn c_;
};

TEST_P(Queries, SimpleQuery) {
  auto r = exec(c_.get(), "SELECT 1 AS one, 'two'::text AS two, NULL::int AS three");
  ASSERT_TRUE(r);
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << describe(r.get());
  ASSERT_EQ(PQntuples(r.get()), 1);
  ASSERT_EQ(PQnfields(r.get()), 3);
  EXPECT_STREQ(PQfname(r.get(), 0), "one");
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), "1");
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 1), "two");
  EXPECT_TRUE(PQgetisnull(r.get(), 0, 2));
  // An empty query and a command without rows.
  auto e = exec(c_.get(), "");
  ASSERT_TRUE(e);
  EXPECT_EQ(PQresultStatus(e.get()), PGRES_EMPTY_QUERY);
  auto s = exec(c_.get(), "SET application_name = 'it_simple'");
  ASSERT_TRUE(s);
  EXPECT_EQ(PQresultStatus(s.get()), PGRES_COMMAND_OK);
  EXPECT_EQ(PQtransactionStatus(c_.get()), PQTRANS_IDLE);
}

TEST_P(Queries, MultiStatementQueryString) {
  ASSERT_TRUE(PQsendQuery(c_.get(), "SELECT 1; SELECT 2, 3; SELECT 'x' FROM generate_series(1,3)"));
  std::string error;
  auto results = collect_results(c_.get(), 10s, &error);
  ASSERT_EQ(results.size(), 3u) << error;
  for (auto& r : results) ASSERT_TRUE(r) << error;
  EXPECT_STREQ(PQgetvalue(results[0].get(), 0, 0), "1");
  EXPECT_STREQ(PQgetvalue(results[1].get(), 0, 1), "3");
  EXPECT_EQ(PQntuples(results[2].get()), 3);

  // A whole transaction in one string, and an error in the middle of one.
  std::string t = make_table("id int");
  ASSERT_TRUE(exec_ok(c_.get(), "BEGIN; INSERT INTO " + t + " VALUES (1); INSERT INTO " + t +
                                    " VALUES (2); COMMIT"));
  EXPECT_EQ(query_value(c_.get(), "SELECT count(*) FROM " + t), "2");
  auto bad = exec(c_.get(), "INSERT INTO " + t + " VALUES (3); SELECT 1/0; INSERT INTO " + t +
                                " VALUES (4)",
                  10s, true);
  ASSERT_TRUE(bad);
  EXPECT_EQ(result_sqlstate(bad.get()), "22012");
  // The implicit transaction rolled back as a whole.
  EXPECT_EQ(query_value(c_.get(), "SELECT count(*) FROM " + t), "2");
  EXPECT_EQ(PQtransactionStatus(c_.get()), PQTRANS_IDLE);
}

TEST_P(Queries, ExtendedProtocolParameters) {
  auto r = exec_params(c_.get(), "SELECT $1::int + $2::int, $3::text || '!'", {"2", "3", "hey"});
  ASSERT_TRUE(r);
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << describe(r.get());
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), "5");
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 1), "hey!");

  // A NULL parameter and a binary-format result.
  const char* values[] = {nullptr, "41"};
  Result b(PQexecParams(c_.get(), "SELECT $1::int IS NULL, $2::int4 + 1", 2, nullptr, values,
                        nullptr, nullptr, 1));
  ASSERT_EQ(PQresultStatus(b.get()), PGRES_TUPLES_OK) << describe(b.get());
  ASSERT_EQ(PQgetlength(b.get(), 0, 1), 4);
  EXPECT_EQ(read_be32(std::string_view(PQgetvalue(b.get(), 0, 1), 4), 0), 42u);
  EXPECT_EQ(PQgetvalue(b.get(), 0, 0)[0], 1);

  // An error in the extended protocol leaves the connection usable.
  auto e = exec_params(c_.get(), "SELECT $1::int", {"not a number"});
  ASSERT_TRUE(e);
  EXPECT_EQ(result_sqlstate(e.get()), "22P02");
  EXPECT_EQ(query_value(c_.get(), "SELECT 7"), "7");
}

TEST_P(Queries, PreparedStatementWithinTransaction) {
  const std::string stmt = unique_name("it_stmt");
  ASSERT_TRUE(exec_ok(c_.get(), "BEGIN"));
  Result p(PQprepare(c_.get(), stmt.c_str(), "SELECT $1::int * 2", 1, nullptr));
  ASSERT_EQ(PQresultStatus(p.get()), PGRES_COMMAND_OK) << describe(p.get());
  Result d(PQdescribePrepared(c_.get(), stmt.c_str()));
  ASSERT_EQ(PQresultStatus(d.get()), PGRES_COMMAND_OK) << describe(d.get());
  EXPECT_EQ(PQnparams(d.get()), 1);
  EXPECT_EQ(PQnfields(d.get()), 1);
  for (int i = 1; i <= 5; ++i) {
    std::string v = std::to_string(i);
    const char* values[] = {v.c_str()};
    Result r(PQexecPrepared(c_.get(), stmt.c_str(), 1, values, nullptr, nullptr, 0));
    ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << describe(r.get());
    EXPECT_EQ(std::string(PQgetvalue(r.get(), 0, 0)), std::to_string(i * 2));
  }
  ASSERT_TRUE(exec_ok(c_.get(), "DEALLOCATE " + stmt));
  ASSERT_TRUE(exec_ok(c_.get(), "COMMIT"));
}

TEST_P(Queries, PipelineMode) {
  std::string t = make_table("id int primary key, v text");
  PGconn* c = c_.get();
  ASSERT_EQ(PQenterPipelineMode(c), 1);
  const std::string insert = "INSERT INTO " + t + " VALUES ($1::int, $2::text)";
  for (int i = 1; i <= 20; ++i) {
    std::string id = std::to_string(i), v = "row" + id;
    const char* values[] = {id.c_str(), v.c_str()};
    ASSERT_EQ(PQsendQueryParams(c, insert.c_str(), 2, nullptr, values, nullptr, nullptr, 0), 1);
  }
  const std::string count = "SELECT count(*) FROM " + t;
  ASSERT_EQ(PQsendQueryParams(c, count.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0), 1);
  ASSERT_EQ(PQpipelineSync(c), 1);
  // A second batch: an error aborts the rest of its pipeline until the sync.
  const std::string dup = "INSERT INTO " + t + " VALUES (1, 'dup')";
  ASSERT_EQ(PQsendQueryParams(c, dup.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0), 1);
  ASSERT_EQ(PQsendQueryParams(c, "SELECT 1", 0, nullptr, nullptr, nullptr, nullptr, 0), 1);
  ASSERT_EQ(PQpipelineSync(c), 1);
  ASSERT_EQ(PQsendQueryParams(c, count.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0), 1);
  ASSERT_EQ(PQpipelineSync(c), 1);

  // Each query yields its result then a null; each sync a PIPELINE_SYNC result.
  std::vector<ExecStatusType> statuses;
  std::string last_count;
  const auto deadline = Clock::now() + 20s;
  int syncs = 0;
  while (syncs < 3 && Clock::now() < deadline) {
    while (PQisBusy(c))
      ASSERT_TRUE(wait_readable(c, deadline)) << "pipeline stalled: " << PQerrorMessage(c);
    Result r(PQgetResult(c));
    if (!r) continue;
    statuses.push_back(PQresultStatus(r.get()));
    if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQnfields(r.get()) == 1 &&
        std::string(PQfname(r.get(), 0)) == "count")
      last_count = PQgetvalue(r.get(), 0, 0);
    if (PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC) ++syncs;
  }
  ASSERT_EQ(syncs, 3);
  ASSERT_EQ(statuses.size(), 20u + 1 + 1 + 2 + 1 + 1 + 1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(statuses[i], PGRES_COMMAND_OK) << i;
  EXPECT_EQ(statuses[20], PGRES_TUPLES_OK);
  EXPECT_EQ(statuses[21], PGRES_PIPELINE_SYNC);
  EXPECT_EQ(statuses[22], PGRES_FATAL_ERROR);
  EXPECT_EQ(statuses[23], PGRES_PIPELINE_ABORTED);
  EXPECT_EQ(statuses[24], PGRES_PIPELINE_SYNC);
  EXPECT_EQ(statuses[25], PGRES_TUPLES_OK);
  EXPECT_EQ(statuses[26], PGRES_PIPELINE_SYNC);
  EXPECT_EQ(last_count, "20");
  ASSERT_EQ(PQexitPipelineMode(c), 1) << PQerrorMessage(c);
  EXPECT_EQ(query_value(c, "SELECT max(id) FROM " + t), "20");
}

TEST_P(Queries, CommitAndRollbackVisibility) {
  std::string t = make_table("id int");
  auto other = connect_bench();
  ASSERT_TRUE(other);
  ASSERT_TRUE(exec_ok(c_.get(), "BEGIN"));
  EXPECT_EQ(PQtransactionStatus(c_.get()), PQTRANS_INTRANS);
  ASSERT_TRUE(exec_ok(c_.get(), "INSERT INTO " + t + " VALUES (1)"));
  EXPECT_EQ(query_value(c_.get(), "SELECT count(*) FROM " + t), "1");
  EXPECT_EQ(query_value(other.get(), "SELECT count(*) FROM " + t), "0") << "uncommitted row seen";
  ASSERT_TRUE(exec_ok(c_.get(), "COMMIT"));
  EXPECT_EQ(PQtransactionStatus(c_.get()), PQTRANS_IDLE);
  EXPECT_EQ(query_value(other.get(), "SELECT count(*) FROM " + t), "1");

  ASSERT_TRUE(exec_ok(c_.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(c_.get(), "INSERT INTO " + t + " VALUES (2)"));
  ASSERT_TRUE(exec_ok(c_.get(), "ROLLBACK"));
  EXPECT_EQ(query_value(other.get(), "SELECT count(*) FROM " + t), "1");
  EXPECT_EQ(query_value(c_.get(), "SELECT count(*) FROM " + t), "1");

  // Savepoints are just statements inside the transaction.
  ASSERT_TRUE(exec_ok(c_.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(c_.get(), "INSERT INTO " + t + " VALUES (3)"));
  ASSERT_TRUE(exec_ok(c_.get(), "SAVEPOINT s1"));
  ASSERT_TRUE(exec_ok(c_.get(), "INSERT INTO " + t + " VALUES (4)"));
  ASSERT_TRUE(exec_ok(c_.get(), "ROLLBACK TO SAVEPOINT s1"));
  ASSERT_TRUE(exec_ok(c_.get(), "COMMIT"));
  EXPECT_EQ(query_value(other.get(), "SELECT string_agg(id::text, ',' ORDER BY id) FROM " + t),
            "1,3");
}

TEST_P(Queries, ErrorInsideTransactionThenRollback) {
  ASSERT_TRUE(exec_ok(c_.get(), "BEGIN"));
  auto e = exec(c_.get(), "SELECT 1/0", 10s, true);
  ASSERT_TRUE(e);
  EXPECT_EQ(result_sqlstate(e.get()), "22012");
  EXPECT_EQ(PQtransactionStatus(c_.get()), PQTRANS_INERROR);
  auto aborted = exec(c_.get(), "SELECT 1", 10s, true);
  ASSERT_TRUE(aborted);
  EXPECT_EQ(result_sqlstate(aborted.get()), "25P02");
  ASSERT_TRUE(exec_ok(c_.get(), "ROLLBACK"));
  EXPECT_EQ(PQtransactionStatus(c_.get()), PQTRANS_IDLE);
  EXPECT_EQ(query_value(c_.get(), "SELECT 2"), "2");
  // An error outside a transaction block, then more work.
  auto e2 = exec(c_.get(), "SELECT * FROM no_such_table_anywhere", 10s, true);
  ASSERT_TRUE(e2);
  EXPECT_EQ(result_sqlstate(e2.get()), "42P01");
  EXPECT_EQ(query_value(c_.get(), "SELECT 3"), "3");
}

namespace {

// Waits for a COPY OUT row (or the end) without blocking past the deadline.
int get_copy_data(PGconn* c, char** buf, Clock::time_point deadline) {
  for (;;) {
    int n = PQgetCopyData(c, buf, 1);
    if (n != 0) return n;
    if (!wait_readable(c, deadline)) return -2;
  }
}

}  // namespace

TEST_P(Queries, CopyInAndOut) {
  std::string t = make_table("id int primary key, name text, note text");
  std::string data;
  for (int i = 1; i <= 10000; ++i)
    data += std::to_string(i) + "\tname " + std::to_string(i * 7) + "\t" +
            (i % 10 == 0 ? "\\N" : "note with tab\\there " + std::to_string(i)) + "\n";

  auto r = exec(c_.get(), "COPY " + t + " FROM STDIN");
  ASSERT_TRUE(r);
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_COPY_IN) << describe(r.get());
  // Uneven chunks, so message boundaries never line up with rows.
  for (size_t pos = 0; pos < data.size();) {
    size_t n = std::min<size_t>(data.size() - pos, 1000 + pos % 7777);
    ASSERT_EQ(PQputCopyData(c_.get(), data.data() + pos, static_cast<int>(n)), 1);
    pos += n;
  }
  ASSERT_EQ(PQputCopyEnd(c_.get(), nullptr), 1);
  std::string error;
  auto done = collect_results(c_.get(), 30s, &error);
  ASSERT_FALSE(done.empty());
  ASSERT_TRUE(done.back()) << error;
  ASSERT_EQ(PQresultStatus(done.back().get()), PGRES_COMMAND_OK) << describe(done.back().get());
  EXPECT_STREQ(PQcmdTuples(done.back().get()), "10000");

  auto o = exec(c_.get(), "COPY (SELECT * FROM " + t + " ORDER BY id) TO STDOUT");
  ASSERT_TRUE(o);
  ASSERT_EQ(PQresultStatus(o.get()), PGRES_COPY_OUT) << describe(o.get());
  std::string out;
  const auto deadline = Clock::now() + 30s;
  int rows = 0;
  for (;;) {
    char* buf = nullptr;
    int n = get_copy_data(c_.get(), &buf, deadline);
    if (n == -1) break;
    ASSERT_GT(n, 0) << "COPY OUT failed or stalled: " << PQerrorMessage(c_.get());
    out.append(buf, static_cast<size_t>(n));
    PQfreemem(buf);
    ++rows;
  }
  auto end = collect_results(c_.get(), 10s, &error);
  ASSERT_FALSE(end.empty());
  ASSERT_TRUE(end.back()) << error;
  EXPECT_EQ(PQresultStatus(end.back().get()), PGRES_COMMAND_OK);
  EXPECT_EQ(rows, 10000);
  EXPECT_EQ(out.size(), data.size());
  EXPECT_TRUE(out == data) << "COPY OUT differs from what COPY IN sent";

  // A COPY the client aborts leaves the table untouched and the connection usable.
  auto r2 = exec(c_.get(), "COPY " + t + " FROM STDIN");
  ASSERT_TRUE(r2);
  ASSERT_EQ(PQresultStatus(r2.get()), PGRES_COPY_IN);
  ASSERT_EQ(PQputCopyData(c_.get(), "20001\tx\ty\n", 11), 1);
  ASSERT_EQ(PQputCopyEnd(c_.get(), "client changed its mind"), 1);
  auto failed = collect_results(c_.get(), 10s, &error);
  ASSERT_FALSE(failed.empty());
  ASSERT_TRUE(failed.back()) << error;
  EXPECT_EQ(result_sqlstate(failed.back().get()), "57014");
  EXPECT_EQ(query_value(c_.get(), "SELECT count(*) FROM " + t), "10000");
}

TEST_P(Queries, LargeResult) {
  const std::string sql =
      "SELECT g, repeat(chr(65 + g % 26), 60) FROM generate_series(1, 100000) g ORDER BY g";
  auto r = exec(c_.get(), sql, 60s);
  ASSERT_TRUE(r);
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << describe(r.get());
  ASSERT_EQ(PQntuples(r.get()), 100000);
  long long sum = 0;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    sum += std::atoll(PQgetvalue(r.get(), i, 0));
    if (i % 9973 == 0) {
      int g = i + 1;
      ASSERT_EQ(std::string(PQgetvalue(r.get(), i, 1)), std::string(60, static_cast<char>(65 + g % 26)));
    }
  }
  EXPECT_EQ(sum, 100000LL * 100001 / 2);
  EXPECT_EQ(query_value(c_.get(), "SELECT 'after'"), "after");
}

TEST_P(Queries, LargeParameterRoundTrip) {
  std::string big(8 << 20, '\0');
  uint32_t x = 12345;
  for (char& ch : big) {
    x = x * 1103515245u + 12345u;
    ch = static_cast<char>('a' + (x >> 16) % 26);
  }
  auto r = exec_params(c_.get(), "SELECT length($1::text), $1::text", {big}, 60s);
  ASSERT_TRUE(r);
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << describe(r.get());
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), std::to_string(big.size()).c_str());
  ASSERT_EQ(static_cast<size_t>(PQgetlength(r.get(), 0, 1)), big.size());
  EXPECT_TRUE(std::string_view(PQgetvalue(r.get(), 0, 1), big.size()) == big)
      << "8 MB parameter came back different";
  // A large simple query, too.
  auto q = exec(c_.get(), "SELECT length('" + big.substr(0, 4 << 20) + "')", 60s);
  ASSERT_TRUE(q);
  EXPECT_STREQ(PQgetvalue(q.get(), 0, 0), std::to_string(4 << 20).c_str());
}

TEST_P(Queries, NoticesAndNotifications) {
  auto other = connect_bench();
  ASSERT_TRUE(other);
  std::vector<std::string> notices;
  PQsetNoticeReceiver(
      c_.get(),
      [](void* arg, const PGresult* res) {
        static_cast<std::vector<std::string>*>(arg)->push_back(result_message(res));
      },
      &notices);
  ASSERT_TRUE(exec_ok(c_.get(), "DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$"));
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0], "hello from plpgsql");
  if (GetParam() == Variant::Transaction) return;  // LISTEN needs a session
  ASSERT_TRUE(exec_ok(c_.get(), "LISTEN it_chan"));
  ASSERT_TRUE(exec_ok(other.get(), "NOTIFY it_chan, 'payload'"));
  const auto deadline = Clock::now() + 5s;
  PGnotify* n = nullptr;
  while (!(n = PQnotifies(c_.get())) && Clock::now() < deadline) wait_readable(c_.get(), deadline);
  ASSERT_TRUE(n) << "no notification within 5 s";
  EXPECT_STREQ(n->relname, "it_chan");
  EXPECT_STREQ(n->extra, "payload");
  PQfreemem(n);
}

INSTANTIATE_TEST_SUITE_P(All, Queries,
                         ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session),
                         variant_name);

// Prepared statements outlive transactions only when the client owns its
// server connection.
class SessionQueries : public TargetTest {};

TEST_P(SessionQueries, PreparedStatementAcrossTransactions) {
  ASSERT_TRUE(start_target(GetParam()));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  Result p(PQprepare(c.get(), "it_across", "SELECT $1::int + 100", 1, nullptr));
  ASSERT_EQ(PQresultStatus(p.get()), PGRES_COMMAND_OK) << describe(p.get());
  for (int i = 0; i < 4; ++i) {
    if (i % 2 == 1) {
      ASSERT_TRUE(exec_ok(c.get(), "BEGIN"));
    }
    std::string v = std::to_string(i);
    const char* values[] = {v.c_str()};
    Result r(PQexecPrepared(c.get(), "it_across", 1, values, nullptr, nullptr, 0));
    ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << describe(r.get());
    EXPECT_EQ(std::string(PQgetvalue(r.get(), 0, 0)), std::to_string(100 + i));
    if (i % 2 == 1) {
      ASSERT_TRUE(exec_ok(c.get(), "COMMIT"));
    }
  }
  // SQL-level PREPARE too, and a temp table that lives for the session.
  ASSERT_TRUE(exec_ok(c.get(), "PREPARE it_sql(int) AS SELECT $1 * 3"));
  ASSERT_TRUE(exec_ok(c.get(), "CREATE TEMP TABLE it_session_tmp (x int)"));
  ASSERT_TRUE(exec_ok(c.get(), "INSERT INTO it_session_tmp VALUES (1)"));
  EXPECT_EQ(query_value(c.get(), "EXECUTE it_sql(5)"), "15");
  EXPECT_EQ(query_value(c.get(), "SELECT count(*) FROM it_session_tmp"), "1");
}

INSTANTIATE_TEST_SUITE_P(All, SessionQueries, ::testing::Values(Variant::Direct, Variant::Session),
                         variant_name);

}  // namespace
}  // namespace pgs::it
