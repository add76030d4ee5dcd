// The admin dashboard in a real browser: pgsluice serves the page and
// /api/status on admin_listen while libpq clients under several client keys
// run transactions through it; tests/browser/dashboard_check.mjs opens the
// page in Debian's Chromium and checks that it polls, plots and shows them.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <thread>

#include "harness.h"

namespace pgs::it {
namespace {

const std::string kBrowserDir = std::string(PGSLUICE_SOURCE_DIR) + "/tests/browser";
constexpr const char* kChromium = "/usr/bin/chromium";

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

bool in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && executable(dir + "/" + name)) return true;
  return false;
}

// What the browser check needs, or "" when all of it is there.
std::string missing_browser_tools() {
  std::string missing;
  if (!in_path("node")) missing += " node (Debian: nodejs)";
  if (!executable(kChromium)) missing += std::string(" ") + kChromium + " (Debian: chromium)";
  struct stat st {};
  if (::stat((kBrowserDir + "/node_modules/playwright-core").c_str(), &st) != 0)
    missing += " " + kBrowserDir + "/node_modules (npm ci in tests/browser)";
  return missing;
}

// Clients that keep running short transactions, each under its own
// application_name (the client key here), until stopped or a bound is hit.
class Load {
 public:
  Load(std::vector<Conn> conns, milliseconds max_time, int max_per_client)
      : conns_(std::move(conns)) {
    const auto deadline = Clock::now() + max_time;
    for (size_t i = 0; i < conns_.size(); ++i) {
      // Different sleeps give the keys different throughputs on the chart.
      const std::string sql = "SELECT pg_sleep(0.00" + std::to_string(i + 1) + ")";
      threads_.emplace_back([this, c = conns_[i].get(), sql, deadline, max_per_client] {
        for (int n = 0; n < max_per_client && !stop_ && Clock::now() < deadline; ++n) {
          Result r = exec(c, sql, 10s, true);
          if (!r) return;  // timed out or the connection broke: the count tells
          (PQresultStatus(r.get()) == PGRES_TUPLES_OK ? ok_ : failed_)++;
        }
      });
    }
  }
  ~Load() { stop(); }
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }

 private:
  std::vector<Conn> conns_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
};

class Dashboard : public ProxyTest {};

TEST_F(Dashboard, ShowsLiveLoadInChromium) {
  if (std::string missing = missing_browser_tools(); !missing.empty()) {
    const char* allow = std::getenv("PGSLUICE_ALLOW_SKIP");
    if (allow && std::string(allow) == "1") GTEST_SKIP() << "missing:" << missing;
    FAIL() << "the dashboard test needs:" << missing
           << ". tests/run.sh installs them; PGSLUICE_ALLOW_SKIP=1 skips this test instead.";
  }

  ConfigBuilder cfg;
  cfg.pool_size = 8;
  cfg.proxy_lines = {"admin_listen = \"127.0.0.1:@ADMIN_PORT@\""};
  cfg.extra = "[limits]\nclient_key = \"application_name\"\n\n[admission]\nmode = \"adaptive\"\n";
  ASSERT_TRUE(start_proxy(cfg));

  std::vector<Conn> conns;
  for (const char* key : {"dash-a", "dash-b", "dash-c", "dash-d"}) {
    conns.push_back(connect_bench(std::string("application_name=") + key));
    ASSERT_TRUE(conns.back()) << key;
  }
  // Bounded either way: the browser check ends the load when it is done.
  Load load(std::move(conns), 45s, 20000);

  const std::string url = "http://127.0.0.1:" + std::to_string(proxy()->admin_port()) + "/";
  const std::string screenshot = work_dir() + "/dashboard.png";
  std::remove(screenshot.c_str());
  CommandResult check =
      run_command({"node", kBrowserDir + "/dashboard_check.mjs", url, screenshot}, 75s);
  load.stop();
  std::printf("%s", check.output.c_str());  // the check's one-line summary

  EXPECT_FALSE(check.timed_out) << check.output;
  EXPECT_EQ(check.exit_code, 0) << "dashboard_check.mjs " << url << ":\n" << check.output;
  struct stat st {};
  ASSERT_EQ(::stat(screenshot.c_str(), &st), 0) << "no screenshot at " << screenshot;
  EXPECT_GT(st.st_size, 10 * 1024) << screenshot << " is too small to show the page";
  EXPECT_GT(load.ok(), 0) << "no transaction went through pgsluice (" << load.failed() << " failed)";
}

}  // namespace
}  // namespace pgs::it
