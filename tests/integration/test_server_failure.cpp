// A server backend dies under a client: that client gets an error, everyone
// else carries on, and the pool recovers.
#include <thread>

#include "harness.h"

namespace pgs::it {
namespace {

class ServerFailure : public TargetTest {};

TEST_P(ServerFailure, BackendKilledMidTransaction) {
  ConfigBuilder cfg;
  cfg.pool_size = 2;
  ASSERT_TRUE(start_target(GetParam(), cfg));
  auto a = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  const std::string pid = query_value(a.get(), "SELECT pg_backend_pid()");
  ASSERT_TRUE(!pid.empty() && std::isdigit(static_cast<unsigned char>(pid[0]))) << pid;
  EXPECT_EQ(query_value(b.get(), "SELECT 'b before'"), "b before");

  ASSERT_TRUE(pg().terminate_backend(std::stoi(pid)));

  auto r = exec(a.get(), "SELECT 'a after'", 10s, true);
  const bool failed = !r || PQresultStatus(r.get()) == PGRES_FATAL_ERROR ||
                      PQstatus(a.get()) == CONNECTION_BAD;
  EXPECT_TRUE(failed) << "A's transaction died with its server connection, yet: " << describe(r.get());
  if (r) std::printf("  A sees: %s\n", describe(r.get()).c_str());
  a.reset();  // whatever A still holds is released

  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(query_value(b.get(), "SELECT " + std::to_string(i)), std::to_string(i))
        << "B broke after A's server connection was killed";
  ASSERT_TRUE(exec_ok(b.get(), "BEGIN"));
  EXPECT_EQ(query_value(b.get(), "SELECT 'b in txn'"), "b in txn");
  ASSERT_TRUE(exec_ok(b.get(), "COMMIT"));

  // New clients get working server connections (pool back to two).
  std::vector<Conn> fresh;
  for (int i = 0; i < 4; ++i) {
    auto o = try_connect(conninfo());
    ASSERT_TRUE(o.ok()) << "client " << i << " after the kill: " << o.error;
    EXPECT_EQ(query_value(o.conn.get(), "SELECT 'fresh'"), "fresh") << i;
    if (GetParam() != Variant::Session) fresh.push_back(std::move(o.conn));
  }
  b.reset();
  auto c = connect_bench();
  ASSERT_TRUE(c);
  EXPECT_EQ(query_value(c.get(), "SELECT 'pool recovered'"), "pool recovered");
}

TEST_P(ServerFailure, IdleServerConnectionKilled) {
  ConfigBuilder cfg;
  cfg.pool_size = 1;
  ASSERT_TRUE(start_target(GetParam(), cfg));
  auto a = connect_bench();
  ASSERT_TRUE(a);
  const std::string pid = query_value(a.get(), "SELECT pg_backend_pid()");
  ASSERT_TRUE(!pid.empty() && std::isdigit(static_cast<unsigned char>(pid[0]))) << pid;
  ASSERT_TRUE(pg().terminate_backend(std::stoi(pid)));
  std::this_thread::sleep_for(200ms);
  if (GetParam() == Variant::Transaction) {
    // Between transactions the client holds no server connection: the next
    // transaction must run on a fresh one.
    EXPECT_EQ(query_value(a.get(), "SELECT 'next txn'"), "next txn");
  } else {
    // The client owned that connection: it gets an error...
    auto r = exec(a.get(), "SELECT 1", 10s, true);
    EXPECT_TRUE(!r || PQresultStatus(r.get()) == PGRES_FATAL_ERROR || PQstatus(a.get()) == CONNECTION_BAD);
    a.reset();
  }
  // ...and a new client works either way.
  auto b = connect_bench();
  ASSERT_TRUE(b);
  EXPECT_EQ(query_value(b.get(), "SELECT 'b ok'"), "b ok");
}

INSTANTIATE_TEST_SUITE_P(All, ServerFailure,
                         ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session),
                         variant_name);

}  // namespace
}  // namespace pgs::it
