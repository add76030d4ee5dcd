// Admission control through the real proxy: a transaction over its client's
// limits waits or is rejected with ERROR 53300, and the connection stays usable.
#include <future>
#include <string>
#include <vector>

#include "harness.h"

namespace pgs::it {
namespace {

class Admission : public ProxyTest {
 protected:
  ConfigBuilder limits(int max_queue, int queue_timeout_ms) {
    ConfigBuilder cfg;
    cfg.extra = "[limits]\nclient_key = \"user\"\nmax_concurrency = 1\nmax_queue = " +
                std::to_string(max_queue) + "\nqueue_timeout_ms = " +
                std::to_string(queue_timeout_ms) + "\n";
    return cfg;
  }
};

TEST_F(Admission, RejectionIsAnErrorAndTheConnectionStays) {
  ASSERT_TRUE(start_proxy(limits(0, 1000)));
  auto a = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(a.get(), "SELECT 1"));  // a holds the user's only slot

  Result r = exec(b.get(), "SELECT 2", 10s, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(result_sqlstate(r.get()), "53300") << describe(r.get());
  std::string message = result_message(r.get());
  EXPECT_NE(message.find("pgsluice"), std::string::npos) << message;
  EXPECT_NE(message.find("\"bench\""), std::string::npos) << message;
  EXPECT_NE(message.find("queue is full"), std::string::npos) << message;
  const char* detail = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_DETAIL);
  ASSERT_NE(detail, nullptr);
  EXPECT_NE(std::string(detail).find("max_concurrency = 1"), std::string::npos) << detail;
  EXPECT_NE(PQresultErrorField(r.get(), PG_DIAG_MESSAGE_HINT), nullptr);
  EXPECT_STREQ(PQresultErrorField(r.get(), PG_DIAG_SEVERITY_NONLOCALIZED), "ERROR");

  // The extended protocol: the whole batch up to Sync is dropped, once.
  Result p = exec_params(b.get(), "SELECT $1::text", {"x"}, 10s);
  ASSERT_TRUE(p);
  EXPECT_EQ(result_sqlstate(p.get()), "53300") << describe(p.get());
  EXPECT_EQ(PQstatus(b.get()), CONNECTION_OK);

  ASSERT_TRUE(exec_ok(a.get(), "COMMIT"));
  EXPECT_EQ(query_value(b.get(), "SELECT 3"), "3");
  Result q = exec_params(b.get(), "SELECT $1::text", {"y"}, 10s);
  ASSERT_TRUE(q);
  EXPECT_EQ(PQresultStatus(q.get()), PGRES_TUPLES_OK) << describe(q.get());
}

TEST_F(Admission, QueuedTransactionStartsWhenTheSlotFrees) {
  ASSERT_TRUE(start_proxy(limits(4, 20000)));
  auto a = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(a.get(), "SELECT 1"));
  PGconn* bc = b.get();
  auto waiting = std::async(std::launch::async, [bc] { return query_value(bc, "SELECT 'b'"); });
  // While a's transaction holds the slot, b's cannot have run.
  EXPECT_EQ(waiting.wait_for(500ms), std::future_status::timeout);
  ASSERT_TRUE(exec_ok(a.get(), "COMMIT"));
  ASSERT_EQ(waiting.wait_for(15s), std::future_status::ready);
  EXPECT_EQ(waiting.get(), "b");
}

TEST_F(Admission, WaitPastTheQueueTimeoutIsRejected) {
  ASSERT_TRUE(start_proxy(limits(4, 300)));
  auto a = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(a.get(), "SELECT 1"));
  Result r = exec(b.get(), "SELECT 2", 10s, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(result_sqlstate(r.get()), "53300") << describe(r.get());
  EXPECT_NE(result_message(r.get()).find("queue_timeout_ms = 300"), std::string::npos)
      << result_message(r.get());
  ASSERT_TRUE(exec_ok(a.get(), "COMMIT"));
  EXPECT_EQ(query_value(b.get(), "SELECT 4"), "4");
}

// One client (pgbench, one app server) alone, with more connections busy than
// the database-wide limit: its transactions wait their turn and none is
// refused. Its backlog is its own pool and delays nobody else; before
// 404dfd0 more than 8 waiters counted as over its share and were shed.
TEST_F(Admission, LonePoolLargerThanTheLimitWaitsItsTurn) {
  ConfigBuilder cfg;
  cfg.extra = "[limits]\nclient_key = \"user\"\nqueue_timeout_ms = 60000\n\n"
              "[admission]\nmode = \"static\"\nmax_limit = 1\n";
  ASSERT_TRUE(start_proxy(cfg));
  constexpr int kConnections = 12;
  constexpr int kTransactions = 6;
  std::vector<Conn> conns;
  for (int i = 0; i < kConnections; ++i) {
    conns.push_back(connect_bench());
    ASSERT_TRUE(conns.back()) << "connection " << i;
  }
  std::vector<std::future<std::string>> loops;
  for (Conn& c : conns) {
    PGconn* pc = c.get();
    loops.push_back(std::async(std::launch::async, [pc] {
      for (int t = 0; t < kTransactions; ++t) {
        Result r = exec(pc, "SELECT pg_sleep(0.02)", 60s, true);
        if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) return describe(r.get());
      }
      return std::string();
    }));
  }
  for (auto& l : loops) EXPECT_EQ(l.get(), "");
}

}  // namespace
}  // namespace pgs::it
