// Session state that cannot follow a client between server connections. In
// transaction mode a LISTEN would register on a server connection that goes
// back to the pool when the transaction ends: its notifications would be lost
// or reach another client. pgsluice makes the server fail it with 0A000 and a
// hint, in the simple and the extended protocol, alone, inside a transaction
// or in a multi-statement query. Direct and in session mode LISTEN works, and
// the same cases prove it.
#include "harness.h"

namespace pgs::it {
namespace {

class SessionState : public TargetTest {
 protected:
  [[nodiscard]] bool start() { return start_target(GetParam()); }
  bool refused() const { return GetParam() == Variant::Transaction; }

  // LISTEN's outcome: refused with pgsluice's error in transaction mode,
  // accepted everywhere else.
  void expect_listen_outcome(const Result& r, const std::string& what) {
    if (refused()) {
      EXPECT_EQ(result_sqlstate(r.get()), "0A000") << what << ": " << describe(r.get());
      EXPECT_NE(result_message(r.get()).find("LISTEN is not supported in transaction pool mode"),
                std::string::npos)
          << what << ": " << describe(r.get());
      const char* hint = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_HINT);
      EXPECT_NE(std::string(hint ? hint : "").find("pool_mode = \"session\""), std::string::npos) << what;
    } else {
      EXPECT_EQ(PQresultStatus(r.get()), PGRES_COMMAND_OK) << what << ": " << describe(r.get());
    }
  }
};

// Waits up to 5 s for a notification on `c`.
std::optional<std::pair<std::string, std::string>> next_notification(PGconn* c) {
  auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    if (!PQconsumeInput(c)) return std::nullopt;
    if (PGnotify* n = PQnotifies(c)) {
      std::pair<std::string, std::string> got(n->relname, n->extra);
      PQfreemem(n);
      return got;
    }
    wait_readable(c, std::min(deadline, Clock::now() + 200ms));
  }
  return std::nullopt;
}

TEST_P(SessionState, ListenAloneIsRefusedOnlyInTransactionMode) {
  ASSERT_TRUE(start());
  auto listener = connect_bench();
  auto notifier = connect_bench();
  ASSERT_TRUE(listener && notifier);
  const std::string channel = unique_name("it_chan");
  Result r = exec(listener.get(), "LISTEN " + channel);
  expect_listen_outcome(r, "LISTEN");
  // The connection stays usable either way, and nothing listens on a server
  // connection in transaction mode.
  EXPECT_EQ(query_value(listener.get(), "SELECT count(*) FROM pg_listening_channels()"), refused() ? "0" : "1");
  ASSERT_TRUE(exec_ok(notifier.get(), "NOTIFY " + channel + ", 'hello'"));
  auto note = next_notification(listener.get());
  if (refused()) {
    EXPECT_FALSE(note.has_value());
  } else {
    ASSERT_TRUE(note.has_value());
    EXPECT_EQ(note->first, channel);
    EXPECT_EQ(note->second, "hello");
  }
  EXPECT_TRUE(exec_ok(listener.get(), "UNLISTEN *"));
}

TEST_P(SessionState, ListenInsideATransactionFailsTheTransaction) {
  ASSERT_TRUE(start());
  auto c = connect_bench();
  ASSERT_TRUE(c);
  const std::string table = unique_name("it_listen_txn");
  ASSERT_TRUE(exec_ok(c.get(), "CREATE TABLE " + table + " (v int)"));
  ASSERT_TRUE(exec_ok(c.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(c.get(), "INSERT INTO " + table + " VALUES (1)"));
  Result r = exec(c.get(), "LISTEN " + unique_name("it_chan"));
  expect_listen_outcome(r, "LISTEN in a transaction");
  EXPECT_EQ(PQtransactionStatus(c.get()), refused() ? PQTRANS_INERROR : PQTRANS_INTRANS);
  Result commit = exec(c.get(), "COMMIT");
  ASSERT_EQ(PQresultStatus(commit.get()), PGRES_COMMAND_OK) << describe(commit.get());
  // After an error PostgreSQL answers COMMIT with ROLLBACK: the insert is gone.
  EXPECT_STREQ(PQcmdStatus(commit.get()), refused() ? "ROLLBACK" : "COMMIT");
  EXPECT_EQ(query_value(c.get(), "SELECT count(*) FROM " + table), refused() ? "0" : "1");
  EXPECT_TRUE(exec_ok(c.get(), "DROP TABLE " + table));
}

TEST_P(SessionState, ListenInTheExtendedProtocolAndInMultiStatementQueries) {
  ASSERT_TRUE(start());
  auto c = connect_bench();
  ASSERT_TRUE(c);
  // Unnamed statement (PQexecParams: Parse, Bind, Execute, Sync).
  expect_listen_outcome(exec_params(c.get(), "LISTEN " + unique_name("it_chan"), {}), "LISTEN, extended");
  // A named statement: Parse succeeds, as it does on PostgreSQL; Execute fails.
  Result p(PQprepare(c.get(), "it_listen_stmt", ("listen " + unique_name("it_chan")).c_str(), 0, nullptr));
  ASSERT_EQ(PQresultStatus(p.get()), PGRES_COMMAND_OK) << describe(p.get());
  for (int i = 0; i < 2; ++i) {
    Result e(PQexecPrepared(c.get(), "it_listen_stmt", 0, nullptr, nullptr, nullptr, 0));
    expect_listen_outcome(e, "named LISTEN statement, execution " + std::to_string(i + 1));
  }
  // A LISTEN after another statement of the same query string.
  Result multi = exec(c.get(), "SELECT 1; /* next */ Listen " + unique_name("it_chan"));
  expect_listen_outcome(multi, "LISTEN second in a query string");
  EXPECT_TRUE(exec_ok(c.get(), "UNLISTEN *"));
  EXPECT_EQ(query_value(c.get(), "SELECT count(*) FROM pg_listening_channels()"), "0");
}

TEST_P(SessionState, LookAlikesOfListenAreNotRefused) {
  ASSERT_TRUE(start());
  auto c = connect_bench();
  ASSERT_TRUE(c);
  EXPECT_EQ(query_value(c.get(), "SELECT 'LISTEN x; LISTEN y'"), "LISTEN x; LISTEN y");
  EXPECT_EQ(query_value(c.get(), "/* LISTEN x; */ SELECT 2"), "2");
  EXPECT_EQ(query_value(c.get(), "SELECT $tag$; LISTEN x$tag$ AS \"LISTEN\""), "; LISTEN x");
  EXPECT_EQ(query_value(c.get(), "-- ; LISTEN x\nSELECT 3"), "3");
  EXPECT_EQ(query_value(c.get(), "SELECT E'\\'; LISTEN x'"), "'; LISTEN x");
  EXPECT_TRUE(exec_ok(c.get(), "UNLISTEN " + unique_name("it_chan")));
  EXPECT_TRUE(exec_ok(c.get(), "NOTIFY " + unique_name("it_chan")));
}

INSTANTIATE_TEST_SUITE_P(All, SessionState,
                         ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session),
                         variant_name);

// With statement tracking off, a named LISTEN statement takes the other path
// through the relay: it is refused all the same.
class SessionStateUntracked : public ProxyTest {};

TEST_F(SessionStateUntracked, NamedListenStatementIsRefusedWithoutStatementTracking) {
  ConfigBuilder cfg;
  cfg.pool_size = 1;  // untracked statements live on one server connection: keep it the only one
  cfg.server_lines.push_back("max_prepared_statements = 0");
  ASSERT_TRUE(start_proxy(cfg));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  Result p(PQprepare(c.get(), "it_listen_untracked", "LISTEN it_untracked", 0, nullptr));
  ASSERT_EQ(PQresultStatus(p.get()), PGRES_COMMAND_OK) << describe(p.get());
  Result e(PQexecPrepared(c.get(), "it_listen_untracked", 0, nullptr, nullptr, nullptr, 0));
  EXPECT_EQ(result_sqlstate(e.get()), "0A000") << describe(e.get());
  EXPECT_EQ(query_value(c.get(), "SELECT count(*) FROM pg_listening_channels()"), "0");
}

}  // namespace
}  // namespace pgs::it
