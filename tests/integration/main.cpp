// main() of integration_tests: the shared PostgreSQL cluster's lifetime and a
// per-test watchdog.
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "harness.h"
#include "harness_internal.h"

namespace pgs::it {
void stop_temp_postgres();  // temp_postgres.cpp
}

namespace {

using namespace pgs::it;

// Stops the cluster after the last test (it is started lazily by the first
// test that needs it).
class PostgresEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (TempPostgres::started() && ::testing::UnitTest::GetInstance()->failed_test_count() > 0)
      std::fprintf(stderr, "---- postgres log (last lines) ----\n%s\n---- end ----\n",
                   pg().log_tail(40).c_str());
    stop_temp_postgres();
  }
};

// Ends the binary when one test runs past its budget: a hung proxy becomes a
// readable failure with logs instead of a ctest kill with none.
class Watchdog : public ::testing::EmptyTestEventListener {
 public:
  explicit Watchdog(std::chrono::seconds budget) : budget_(budget) {
    thread_ = std::thread([this] { run(); });
  }
  ~Watchdog() override {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void OnTestStart(const ::testing::TestInfo& info) override {
    std::lock_guard lock(mutex_);
    name_ = std::string(info.test_suite_name()) + "." + info.name();
    deadline_ = Clock::now() + budget_;
    armed_ = true;
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    std::lock_guard lock(mutex_);
    armed_ = false;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!quit_) {
      cv_.wait_for(lock, 200ms);
      if (armed_ && Clock::now() > deadline_) {
        std::string why = "WATCHDOG: test " + name_ + " still running after " +
                          std::to_string(budget_.count()) + " s; aborting the test binary";
        lock.unlock();
        emergency_cleanup_and_exit(why);
      }
    }
  }

  std::chrono::seconds budget_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string name_;
  Clock::time_point deadline_{};
  bool armed_ = false;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // A peer closing a socket mid-write must not kill the test binary.
  ::signal(SIGPIPE, SIG_IGN);
  long budget = 120;
  if (const char* b = std::getenv("PGSLUICE_IT_TEST_TIMEOUT_S"); b && std::atol(b) > 0)
    budget = std::atol(b);
  ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);
  // The listener list owns the watchdog and deletes it at exit.
  ::testing::UnitTest::GetInstance()->listeners().Append(
      new Watchdog(std::chrono::seconds(budget)));
  return RUN_ALL_TESTS();
}
