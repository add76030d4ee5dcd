// Pooling: many clients on few server connections, and what a client leaves
// behind on a server connection another client gets next.
#include <signal.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "harness.h"

namespace pgs::it {
namespace {

class Pooling : public TargetTest {};

// In session mode a waiting client waits for another client's whole session,
// which is longer than the default [limits] queue_timeout_ms (1000): these
// tests are about sharing, so session mode gets a generous queue timeout.
// Transaction mode runs with the defaults.
void allow_long_session_waits(Variant v, ConfigBuilder& cfg) {
  if (v == Variant::Session) cfg.extra = "[limits]\nqueue_timeout_ms = 30000\n";
}

TEST_P(Pooling, TwentyClientsShareTwoServerConnections) {
  ConfigBuilder cfg;
  cfg.pool_size = 2;
  allow_long_session_waits(GetParam(), cfg);
  ASSERT_TRUE(start_target(GetParam(), cfg));
  const std::string table = unique_name("it_pool");
  {
    // As postgres, so that every 'bench' backend seen below belongs to pgsluice.
    auto admin = pg().superuser();
    ASSERT_TRUE(exec_ok(admin.get(), "CREATE TABLE " + table + " (client int, n int)"));
    ASSERT_TRUE(exec_ok(admin.get(), "ALTER TABLE " + table + " OWNER TO bench"));
  }
  constexpr int kClients = 20, kTransactions = 10;
  std::atomic<bool> stop{false};
  std::atomic<int> max_seen{0}, samples{0};
  std::string max_detail;  // sampler thread only until joined
  std::thread sampler([&] {
    auto admin = connect_or_fail(pg().conninfo("postgres", "postgres"));
    const std::string sql =
        "SELECT pid, application_name, state, backend_start, left(query, 60) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND usename = 'bench'";
    for (int i = 0; i < 3000 && !stop; ++i) {  // bounded: 3000 * 10 ms
      auto r = exec(admin.get(), sql, 10s, true);
      if (r && PQresultStatus(r.get()) == PGRES_TUPLES_OK) {
        const int n = PQntuples(r.get());
        if (n > max_seen) {
          max_seen = n;
          max_detail.clear();
          for (int row = 0; row < n; ++row) {
            for (int col = 0; col < PQnfields(r.get()); ++col)
              max_detail += std::string(PQgetvalue(r.get(), row, col)) + " | ";
            max_detail += "\n";
          }
        }
        ++samples;
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  std::atomic<int> committed{0};
  std::vector<std::thread> clients;
  for (int id = 0; id < kClients; ++id) {
    clients.emplace_back([&, id] {
      auto record = [&](const std::string& e) {
        std::lock_guard lock(errors_mutex);
        errors.push_back("client " + std::to_string(id) + ": " + e);
      };
      auto o = try_connect(conninfo(), 20s);
      if (!o.ok()) return record("connect: " + o.error);
      PGconn* c = o.conn.get();
      for (int n = 0; n < kTransactions; ++n) {
        for (const std::string& sql :
             {std::string("BEGIN"),
              "INSERT INTO " + table + " VALUES (" + std::to_string(id) + ", " + std::to_string(n) + ")",
              std::string("SELECT pg_sleep(0.005)"), std::string("COMMIT")}) {
          auto r = exec(c, sql, 30s, true);
          if (!r || (PQresultStatus(r.get()) != PGRES_COMMAND_OK &&
                     PQresultStatus(r.get()) != PGRES_TUPLES_OK))
            return record(sql + ": " + (r ? describe(r.get()) : PQerrorMessage(c)));
        }
        ++committed;
      }
    });
  }
  for (auto& t : clients) t.join();
  stop = true;
  sampler.join();
  for (const auto& e : errors) ADD_FAILURE() << e;
  EXPECT_EQ(committed.load(), kClients * kTransactions);
  auto admin = connect_or_fail(pg().conninfo("bench", "bench"));
  EXPECT_EQ(query_value(admin.get(), "SELECT count(*) FROM " + table),
            std::to_string(kClients * kTransactions));
  EXPECT_GT(samples.load(), 0);
  if (!direct()) {
    EXPECT_LE(max_seen.load(), 2) << "more server connections than pool_size; at the peak:\n"
                                  << max_detail;
    EXPECT_GE(max_seen.load(), 1);
  }
}

// In session mode a client's SET lasts for its session, and the reset query
// (DISCARD ALL) runs before the server connection serves anyone else.
class SessionReset : public TargetTest {};

TEST_P(SessionReset, SessionStateIsResetBeforeTheNextClient) {
  ConfigBuilder cfg;
  cfg.pool_size = 1;
  ASSERT_TRUE(start_target(GetParam(), cfg));
  std::string pid_a;
  {
    auto a = connect_bench();
    ASSERT_TRUE(a);
    ASSERT_TRUE(exec_ok(a.get(), "SET work_mem = '7MB'"));
    EXPECT_EQ(query_value(a.get(), "SHOW work_mem"), "7MB");
    ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
    EXPECT_EQ(query_value(a.get(), "SHOW work_mem"), "7MB");
    ASSERT_TRUE(exec_ok(a.get(), "COMMIT"));
    EXPECT_EQ(query_value(a.get(), "SHOW work_mem"), "7MB") << "SET must persist in a session";
    ASSERT_TRUE(exec_ok(a.get(), "PREPARE it_left_behind AS SELECT 1"));
    ASSERT_TRUE(exec_ok(a.get(), "CREATE TEMP TABLE it_left_behind (x int)"));
    pid_a = query_value(a.get(), "SELECT pg_backend_pid()");
  }
  auto b = connect_bench();
  ASSERT_TRUE(b);
  EXPECT_EQ(query_value(b.get(), "SHOW work_mem"), "4MB");
  EXPECT_EQ(query_value(b.get(), "SELECT count(*) FROM pg_prepared_statements"), "0");
  EXPECT_EQ(query_value(b.get(), "SELECT to_regclass('pg_temp.it_left_behind') IS NULL"), "t");
  const std::string pid_b = query_value(b.get(), "SELECT pg_backend_pid()");
  if (!direct()) {
    // pool_size = 1: B normally reuses A's server connection, which is what
    // makes the checks above meaningful.
    if (pid_a != pid_b)
      std::printf("note: B got a new server connection (A's pid %s, B's %s)\n", pid_a.c_str(),
                  pid_b.c_str());
    EXPECT_LE(pg().count_connections("bench"), 1);
  }
}

INSTANTIATE_TEST_SUITE_P(All, SessionReset, ::testing::Values(Variant::Direct, Variant::Session),
                         variant_name);

TEST_P(Pooling, ClientsQueueForTheOnlyServerConnection) {
  ConfigBuilder cfg;
  cfg.pool_size = 1;
  allow_long_session_waits(GetParam(), cfg);
  ASSERT_TRUE(start_target(GetParam(), cfg));
  // Five clients each run a transaction that waits a little; with one server
  // connection they take turns rather than fail (the last waits ~0.4 s).
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::mutex m;
  std::vector<std::string> errors;
  const std::string ci = conninfo();
  for (int i = 0; i < 5; ++i)
    threads.emplace_back([&] {
      auto o = try_connect(ci, 20s);
      if (!o.ok()) {
        std::lock_guard lock(m);
        errors.push_back(o.error);
        return;
      }
      auto r = exec(o.conn.get(), "BEGIN; SELECT pg_sleep(0.1); COMMIT", 30s, true);
      if (r && PQresultStatus(r.get()) == PGRES_COMMAND_OK) {
        ++ok;
      } else {
        std::lock_guard lock(m);
        errors.push_back(r ? describe(r.get()) : PQerrorMessage(o.conn.get()));
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) ADD_FAILURE() << e;
  EXPECT_EQ(ok.load(), 5);
}

// Two users' pools share the database's budget of server connections. When
// the budget has room, one user's clients waiting for a login must not make
// the other user's pool close its connections: each close makes that user's
// next transaction log in anew, which makes it wait in turn, and the two
// pools then close each other's connections after nearly every transaction.
// Two clients per user and a budget of four: each user needs two server
// connections, so after the first logins none should ever be opened again.
TEST_P(Pooling, UsersSharingTheBudgetKeepTheirServerConnections) {
  ConfigBuilder cfg;
  cfg.pool_size = 4;
  ASSERT_TRUE(start_target(GetParam(), cfg));
  constexpr int kPerUser = 2, kQueries = 300;
  std::mutex m;
  std::set<std::string> pids;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (const auto& [user, password] : {std::pair{"bench", "bench"}, std::pair{"app1", "app"}})
    for (int i = 0; i < kPerUser; ++i)
      threads.emplace_back([&, user = std::string(user), password = std::string(password)] {
        auto o = try_connect(conninfo(user, password), 20s);
        if (!o.ok()) {
          std::lock_guard lock(m);
          errors.push_back(user + ": " + o.error);
          return;
        }
        for (int q = 0; q < kQueries; ++q) {
          auto r = exec(o.conn.get(), "SELECT pg_backend_pid()", 30s, true);
          std::lock_guard lock(m);
          if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
            errors.push_back(user + ": " + (r ? describe(r.get()) : PQerrorMessage(o.conn.get())));
            return;
          }
          pids.insert(PQgetvalue(r.get(), 0, 0));
        }
      });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) ADD_FAILURE() << e;
  // Direct and session mode: one backend per client. Transaction mode: a
  // connection is back in its pool before the client sees ReadyForQuery, so
  // a user's two clients never need more than two.
  EXPECT_LE(pids.size(), static_cast<size_t>(2 * kPerUser))
      << "distinct server backends served " << 2 * kPerUser * kQueries << " queries";
}

// The other side of the rule above: when the budget is spent, a user whose
// clients wait gets the slot of the next connection another user's pool
// frees, rather than waiting for that pool's idle timeout.
TEST_P(Pooling, AWaitingUserGetsTheSlotAnotherUsersTransactionFrees) {
  if (GetParam() == Variant::Session) GTEST_SKIP() << "a session keeps its server connection";
  ConfigBuilder cfg;
  cfg.pool_size = 1;
  ASSERT_TRUE(start_target(GetParam(), cfg));
  auto a = connect_bench();
  auto b = connect_or_fail(conninfo("app1", "app"));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(a.get(), "SELECT 1"));  // a holds the only server connection
  ASSERT_EQ(PQsendQuery(b.get(), "SELECT current_user"), 1);
  if (!direct()) {
    // b waits while a's transaction is open.
    EXPECT_FALSE(wait_readable(b.get(), Clock::now() + 300ms)) << "app1's query ran beside bench's transaction";
  }
  ASSERT_TRUE(exec_ok(a.get(), "COMMIT"));
  EXPECT_EQ(sent_value(b.get()), "app1");
}

// Two transactions of one user end in the same event-loop turn while another
// user waits with the budget spent. One closed connection is enough for the
// waiter; the other must stay with its user. (A closing connection's slot
// frees only once it has closed, so without counting slots in transit both
// releases saw the waiter starved and closed, and the user's next transaction
// had to log in anew.) pgsluice is stopped while both transactions end, so
// that it reads both ends in one turn.
TEST_P(Pooling, OneWaiterCostsAnotherUserOneServerConnection) {
  if (GetParam() == Variant::Session) GTEST_SKIP() << "a session keeps its server connection";
  ConfigBuilder cfg;
  cfg.pool_size = 2;
  cfg.extra = "[limits]\nqueue_timeout_ms = 30000\n";
  ASSERT_TRUE(start_target(GetParam(), cfg));
  auto a1 = connect_bench();
  auto a2 = connect_bench();
  auto b = connect_or_fail(conninfo("app1", "app"));
  ASSERT_TRUE(a1 && a2 && b);
  const char* sleep_sql = "SELECT pg_backend_pid() FROM pg_sleep(1)";
  ASSERT_EQ(PQsendQuery(a1.get(), sleep_sql), 1);
  ASSERT_EQ(PQsendQuery(a2.get(), sleep_sql), 1);
  std::this_thread::sleep_for(200ms);  // both hold a server connection
  ASSERT_EQ(PQsendQuery(b.get(), "SELECT current_user"), 1);  // waits: the budget is spent
  std::this_thread::sleep_for(200ms);
  if (!direct()) {
    ASSERT_EQ(::kill(proxy()->pid(), SIGSTOP), 0);
  }
  std::this_thread::sleep_for(1200ms);  // both sleeps end; their replies wait in the sockets
  if (!direct()) {
    ASSERT_EQ(::kill(proxy()->pid(), SIGCONT), 0);
  }
  std::set<std::string> a_pids;
  for (PGconn* a : {a1.get(), a2.get()}) {
    std::string pid = sent_value(a);
    ASSERT_EQ(pid.rfind("ERROR", 0), std::string::npos) << pid;
    a_pids.insert(pid);
  }
  EXPECT_EQ(sent_value(b.get()), "app1");
  // bench kept one of its two server connections.
  EXPECT_EQ(a_pids.count(query_value(a1.get(), "SELECT pg_backend_pid()")), 1u)
      << "bench's next transaction ran on a new server connection";
}

INSTANTIATE_TEST_SUITE_P(All, Pooling,
                         ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session),
                         variant_name);

}  // namespace
}  // namespace pgs::it
