// Signals: SIGHUP reload (refused when broken), SIGTERM drain, SIGINT.
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>

#include "harness.h"

namespace pgs::it {
namespace {

class Signals : public ProxyTest {};

bool eventually(const std::function<bool()>& f, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return f();
}

TEST_F(Signals, ReloadWithBrokenConfigKeepsTheOldOne) {
  ConfigBuilder cfg;
  ASSERT_TRUE(start_proxy(cfg));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  const size_t log_before = proxy()->log().size();

  // A syntax error on line 3 and, separately, a bad value.
  proxy()->rewrite_config("[proxy]\nlisten = \"@LISTEN@\"\nthis is not toml\n");
  ASSERT_TRUE(proxy()->send_signal(SIGHUP));
  const std::string path = proxy()->config_path();
  EXPECT_TRUE(eventually([&] { return proxy()->log().substr(log_before).find(path) != std::string::npos; },
                         5s))
      << "the log should say the reload of " << path << " was refused; log since SIGHUP:\n"
      << proxy()->log().substr(log_before);
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(proxy()->running()) << "a broken config on SIGHUP must not stop pgsluice";
  EXPECT_EQ(query_value(c.get(), "SELECT 'old conn'"), "old conn");
  auto fresh = connect_bench();
  ASSERT_TRUE(fresh) << "new clients must still be served with the old config";
  EXPECT_EQ(query_value(fresh.get(), "SELECT 'new conn'"), "new conn");

  ConfigBuilder invalid = cfg;
  invalid.database_lines = {"pool_size = 0"};
  const size_t log_mid = proxy()->log().size();
  proxy()->rewrite_config(invalid.render());
  ASSERT_TRUE(proxy()->send_signal(SIGHUP));
  EXPECT_TRUE(eventually([&] { return proxy()->log().substr(log_mid).find(path) != std::string::npos; },
                         5s))
      << "log since second SIGHUP:\n" << proxy()->log().substr(log_mid);
  ASSERT_TRUE(proxy()->running());
  auto fresh2 = connect_bench();
  ASSERT_TRUE(fresh2);
  EXPECT_EQ(query_value(fresh2.get(), "SELECT 2"), "2");
}

// An operator who runs pgsluice under SCHED_FIFO (chrt, systemd's
// CPUSchedulingPolicy=) must not lose it to [proxy] sched_slice_us, whose
// sched_setattr names SCHED_OTHER.
TEST_F(Signals, ReloadWithASchedSliceKeepsARealtimePolicy) {
  ConfigBuilder cfg;  // sched_slice_us = 0: nothing is asked of the scheduler at start
  ASSERT_TRUE(start_proxy(cfg));
  const pid_t pid = proxy()->pid();
  sched_param fifo{};
  fifo.sched_priority = 1;
  if (sched_setscheduler(pid, SCHED_FIFO, &fifo) != 0) {
    GTEST_SKIP() << "cannot give pgsluice SCHED_FIFO here (" << std::strerror(errno)
                 << "); needs CAP_SYS_NICE";
  }
  const size_t log_before = proxy()->log().size();
  cfg.proxy_lines = {"sched_slice_us = 100"};
  proxy()->rewrite_config(cfg.render());
  ASSERT_TRUE(proxy()->send_signal(SIGHUP));
  EXPECT_TRUE(eventually(
      [&] { return proxy()->log().substr(log_before).find("sched_slice_us = 100 not applied") != std::string::npos; },
      5s))
      << "log since SIGHUP:\n" << proxy()->log().substr(log_before);
  EXPECT_EQ(sched_getscheduler(pid), SCHED_FIFO) << "the reload demoted pgsluice from SCHED_FIFO";
  auto c = connect_bench();
  ASSERT_TRUE(c);
  EXPECT_EQ(query_value(c.get(), "SELECT 'served'"), "served");
}

TEST_F(Signals, ReloadAddsADatabase) {
  ConfigBuilder cfg;
  ASSERT_TRUE(start_proxy(cfg));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  auto before = try_connect(conninfo("bench", "bench", "bench2"));
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.sqlstate, "3D000") << before.error;

  cfg.extra = "[databases.bench2]\ndbname = \"bench\"\npool_mode = \"session\"\npool_size = 2\n";
  proxy()->rewrite_config(cfg.render());
  ASSERT_TRUE(proxy()->send_signal(SIGHUP));
  Conn c2;
  std::string last_error;
  EXPECT_TRUE(eventually(
      [&] {
        auto o = try_connect(conninfo("bench", "bench", "bench2"));
        if (o.ok()) c2 = std::move(o.conn);
        else last_error = o.error;
        return c2 != nullptr;
      },
      5s))
      << "database bench2 not usable 5 s after SIGHUP: " << last_error;
  if (c2) {
    EXPECT_EQ(query_value(c2.get(), "SELECT current_database()"), "bench");
  }
  // Existing clients are undisturbed.
  EXPECT_EQ(query_value(c.get(), "SELECT 'still here'"), "still here");
  ASSERT_TRUE(proxy()->running());
}

TEST_F(Signals, SigtermDrainsRunningTransaction) {
  ConfigBuilder cfg;
  cfg.proxy_lines = {"shutdown_timeout_ms = 5000"};
  ASSERT_TRUE(start_proxy(cfg));
  const std::string table = unique_name("it_drain");
  auto direct_conn = connect_or_fail(pg().conninfo("bench", "bench"));
  ASSERT_TRUE(exec_ok(direct_conn.get(), "CREATE TABLE " + table + " (x int)"));

  auto a = connect_bench();
  ASSERT_TRUE(a);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(a.get(), "INSERT INTO " + table + " VALUES (1)"));
  ASSERT_TRUE(PQsendQuery(a.get(), "SELECT pg_sleep(2)"));
  std::this_thread::sleep_for(300ms);
  const auto sigterm_at = Clock::now();
  ASSERT_TRUE(proxy()->send_signal(SIGTERM));
  std::this_thread::sleep_for(300ms);

  auto late = try_connect(conninfo(), 3s);
  EXPECT_FALSE(late.ok()) << "a new client was accepted after SIGTERM";
  if (!late.ok()) std::printf("  new client after SIGTERM: %s\n", late.error.c_str());

  std::string error;
  auto results = collect_results(a.get(), 10s, &error);
  ASSERT_FALSE(results.empty());
  ASSERT_TRUE(results.back()) << error;
  EXPECT_EQ(PQresultStatus(results.back().get()), PGRES_TUPLES_OK) << describe(results.back().get());
  EXPECT_TRUE(exec_ok(a.get(), "COMMIT"));
  EXPECT_EQ(query_value(direct_conn.get(), "SELECT count(*) FROM " + table), "1")
      << "the drained transaction did not commit";
  a.reset();

  auto st = proxy()->wait_exit(5000ms + 5s - std::chrono::duration_cast<milliseconds>(Clock::now() - sigterm_at));
  ASSERT_TRUE(st) << "pgsluice still running 10 s after SIGTERM (shutdown_timeout_ms = 5000)";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << describe_wait_status(*st);
}

TEST_F(Signals, SigtermWithIdleClientsExitsZero) {
  ConfigBuilder cfg;
  cfg.proxy_lines = {"shutdown_timeout_ms = 3000"};
  ASSERT_TRUE(start_proxy(cfg));
  auto a = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(query_value(a.get(), "SELECT 1"), "1");
  ASSERT_TRUE(proxy()->send_signal(SIGTERM));
  auto st = proxy()->wait_exit(8s);
  ASSERT_TRUE(st) << "pgsluice still running 8 s after SIGTERM with only idle clients";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << describe_wait_status(*st);
}

TEST_F(Signals, SigtermTimeoutCutsOffLongTransaction) {
  ConfigBuilder cfg;
  cfg.proxy_lines = {"shutdown_timeout_ms = 1000"};
  ASSERT_TRUE(start_proxy(cfg));
  auto a = connect_bench();
  ASSERT_TRUE(a);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(PQsendQuery(a.get(), "SELECT pg_sleep(20)"));
  std::this_thread::sleep_for(300ms);
  const auto start = Clock::now();
  ASSERT_TRUE(proxy()->send_signal(SIGTERM));
  auto st = proxy()->wait_exit(6s);
  ASSERT_TRUE(st) << "pgsluice waited past shutdown_timeout_ms = 1000 (+5 s)";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << describe_wait_status(*st);
  EXPECT_LT(Clock::now() - start, 6s);
  std::string error;
  auto results = collect_results(a.get(), 5s, &error);
  EXPECT_TRUE(results.empty() || !results.back() ||
              PQresultStatus(results.back().get()) == PGRES_FATAL_ERROR)
      << "the cut-off client should see an error";
}

TEST_F(Signals, SigintExitsPromptly) {
  ConfigBuilder cfg;
  cfg.proxy_lines = {"shutdown_timeout_ms = 30000"};
  ASSERT_TRUE(start_proxy(cfg));
  auto a = connect_bench();
  ASSERT_TRUE(a);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(PQsendQuery(a.get(), "SELECT pg_sleep(20)"));
  std::this_thread::sleep_for(300ms);
  const auto start = Clock::now();
  ASSERT_TRUE(proxy()->send_signal(SIGINT));
  auto st = proxy()->wait_exit(3s);
  ASSERT_TRUE(st) << "pgsluice did not exit within 3 s of SIGINT";
  EXPECT_TRUE((WIFEXITED(*st) && WEXITSTATUS(*st) == 0) ||
              (WIFSIGNALED(*st) && WTERMSIG(*st) == SIGINT))
      << describe_wait_status(*st);
  EXPECT_LT(Clock::now() - start, 3s);
}

}  // namespace
}  // namespace pgs::it
