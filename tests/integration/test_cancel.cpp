// Query cancellation through the target.
#include <thread>

#include "harness.h"

namespace pgs::it {
namespace {

class Cancel : public TargetTest {};

// PostgreSQL's postmaster answers one CancelRequest by sending SIGINT twice,
// to the backend and then to its process group (signal_child in
// postmaster.c). The first cancels the statement; the second usually lands
// while the backend is idle and is ignored, but if the client's next
// statement is already there when it lands, that statement is cancelled too.
// Through a proxy the next statement arrives within microseconds, so give the
// second signal time to land before sending one (CI saw ROLLBACK cancelled).
void let_the_second_sigint_land() { std::this_thread::sleep_for(200ms); }

TEST_P(Cancel, CancelsALongQuery) {
  ASSERT_TRUE(start_target(GetParam()));
  auto a = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  ASSERT_TRUE(PQsendQuery(a.get(), "SELECT pg_sleep(30)"));
  std::this_thread::sleep_for(300ms);  // let the query reach the server
  const auto start = Clock::now();
  PGcancel* cancel = PQgetCancel(a.get());
  ASSERT_TRUE(cancel);
  char errbuf[256] = {0};
  EXPECT_EQ(PQcancel(cancel, errbuf, sizeof errbuf), 1) << errbuf;
  PQfreeCancel(cancel);
  std::string error;
  auto results = collect_results(a.get(), 10s, &error);
  const auto took = Clock::now() - start;
  ASSERT_FALSE(results.empty());
  ASSERT_TRUE(results.back()) << error;
  EXPECT_EQ(result_sqlstate(results.back().get()), "57014") << describe(results.back().get());
  EXPECT_LT(took, 10s);
  let_the_second_sigint_land();
  // Both connections keep working.
  EXPECT_EQ(query_value(a.get(), "SELECT 'a alive'"), "a alive");
  EXPECT_EQ(query_value(b.get(), "SELECT 'b alive'"), "b alive");
  // A cancel of an idle connection is harmless.
  cancel = PQgetCancel(a.get());
  PQcancel(cancel, errbuf, sizeof errbuf);
  PQfreeCancel(cancel);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(query_value(a.get(), "SELECT 'still alive'"), "still alive");
}

TEST_P(Cancel, CancelInsideTransaction) {
  ASSERT_TRUE(start_target(GetParam()));
  auto a = connect_bench();
  ASSERT_TRUE(a);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(PQsendQuery(a.get(), "SELECT pg_sleep(30)"));
  std::this_thread::sleep_for(300ms);
  PGcancel* cancel = PQgetCancel(a.get());
  char errbuf[256] = {0};
  EXPECT_EQ(PQcancel(cancel, errbuf, sizeof errbuf), 1) << errbuf;
  PQfreeCancel(cancel);
  std::string error;
  auto results = collect_results(a.get(), 10s, &error);
  ASSERT_FALSE(results.empty());
  ASSERT_TRUE(results.back()) << error;
  EXPECT_EQ(result_sqlstate(results.back().get()), "57014");
  EXPECT_EQ(PQtransactionStatus(a.get()), PQTRANS_INERROR);
  let_the_second_sigint_land();
  ASSERT_TRUE(exec_ok(a.get(), "ROLLBACK"));
  EXPECT_EQ(query_value(a.get(), "SELECT 1"), "1");
}

TEST_P(Cancel, WrongKeyCancelsNothing) {
  ASSERT_TRUE(start_target(GetParam()));
  auto a = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  const int pid_a = PQbackendPID(a.get());
  const int pid_b = PQbackendPID(b.get());
  ASSERT_TRUE(PQsendQuery(a.get(), "SELECT pg_sleep(1.5), 'a finished'"));
  ASSERT_TRUE(PQsendQuery(b.get(), "SELECT pg_sleep(1.5), 'b finished'"));
  std::this_thread::sleep_for(300ms);
  // CancelRequests with the right pids but keys nobody was given (the real
  // keys are random 32-bit values; these collide with probability ~2^-30).
  for (int pid : {pid_a, pid_b}) {
    for (uint32_t key : {0u, 0xffffffffu, 0x12345678u}) {
      RawSocket s;
      ASSERT_TRUE(s.connect("127.0.0.1", target_port()));
      ASSERT_TRUE(s.send_all(be32(16) + be32(80877102) + be32(static_cast<uint32_t>(pid)) + be32(key)));
      auto out = s.read_until_close(3s);
      EXPECT_TRUE(out.closed) << "the cancel connection should be closed";
      EXPECT_EQ(out.bytes, "") << "a CancelRequest gets no answer";
    }
  }
  // A cancel for a pid nobody has.
  {
    RawSocket s;
    ASSERT_TRUE(s.connect("127.0.0.1", target_port()));
    ASSERT_TRUE(s.send_all(be32(16) + be32(80877102) + be32(999999) + be32(1)));
    s.read_until_close(3s);
  }
  for (auto* c : {a.get(), b.get()}) {
    std::string error;
    auto results = collect_results(c, 10s, &error);
    ASSERT_FALSE(results.empty());
    ASSERT_TRUE(results.back()) << error;
    EXPECT_EQ(PQresultStatus(results.back().get()), PGRES_TUPLES_OK)
        << "query was cancelled by a CancelRequest with a wrong key: " << describe(results.back().get());
  }
}

INSTANTIATE_TEST_SUITE_P(All, Cancel,
                         ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session),
                         variant_name);

}  // namespace
}  // namespace pgs::it
