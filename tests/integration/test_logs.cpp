// pgsluice's own log: with log_format = "json" every line is a JSON object
// with ts, level and msg, whatever clients send; admission rejections under
// load are rate-limited and count what they held back.
#include <signal.h>

#include <chrono>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"

namespace pgs::it {
namespace {

class Logs : public ProxyTest {};

bool eventually(const std::function<bool()>& f, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return f();
}

// Prints every line's msg; fails (exit 1, with the line) on one that is not
// a JSON object with string ts, level and msg.
constexpr const char* kJsonCheck = R"py(
import json, sys
for number, line in enumerate(open(sys.argv[1], encoding="utf-8", errors="strict"), 1):
    try:
        o = json.loads(line)
    except ValueError as e:
        sys.exit("line %d is not JSON (%s): %r" % (number, e, line))
    if not isinstance(o, dict):
        sys.exit("line %d is not an object: %r" % (number, line))
    for key in ("ts", "level", "msg"):
        if not isinstance(o.get(key), str):
            sys.exit("line %d has no string %s: %r" % (number, key, line))
    print(o["msg"])
)py";

TEST_F(Logs, JsonFormatIsOneObjectPerLine) {
  ConfigBuilder cfg;
  cfg.proxy_lines = {"log_format = \"json\"", "log_level = \"debug\""};
  ASSERT_TRUE(start_proxy(cfg));

  auto c = connect_bench();
  ASSERT_TRUE(c);
  EXPECT_EQ(query_value(c.get(), "SELECT 'a\nb \"quoted\"'"), "a\nb \"quoted\"");
  auto wrong = try_connect(conninfo("bench", "wrong password"));
  EXPECT_FALSE(wrong.ok());
  // A startup packet whose user and database hold a newline, quotes,
  // control characters and bytes that are not UTF-8.
  {
    RawSocket s;
    ASSERT_TRUE(s.connect("127.0.0.1", proxy()->port()));
    ASSERT_TRUE(s.send_all(startup_packet({{"user", "evil\"\n\x01user\xff\xfe"}, {"database", "no\\db\r\xc3("}})));
    auto out = s.read_until_close(5s);
    EXPECT_TRUE(out.closed);
  }
  // A reload that works and one that is refused.
  ASSERT_TRUE(proxy()->send_signal(SIGHUP));
  ASSERT_TRUE(eventually([&] { return proxy()->log().find("config_reloaded") != std::string::npos; }, 5s));
  proxy()->rewrite_config("[proxy]\nlisten = \"@LISTEN@\"\nthis is \"not\" toml\n");
  ASSERT_TRUE(proxy()->send_signal(SIGHUP));
  ASSERT_TRUE(eventually([&] { return proxy()->log().find("config_reload_refused") != std::string::npos; }, 5s));
  c.reset();
  proxy()->stop_and_check(10s);

  auto r = run_command({"/usr/bin/python3", "-c", kJsonCheck, proxy()->log_path()}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* msg : {"auth_failed", "client_fatal", "config_reloaded", "config_error", "config_reload_refused"})
    EXPECT_NE(r.output.find(std::string(msg) + "\n"), std::string::npos) << msg << " missing; msgs:\n" << r.output;
  EXPECT_NE(r.output.find("pgsluice stopped\n"), std::string::npos) << r.output;
}

// Every line of the rejection event for one (database, key, reason).
struct RejectLine {
  uint64_t suppressed = 0;
  uint64_t total = 0;
};

std::vector<RejectLine> reject_lines(const std::string& log) {
  std::vector<RejectLine> out;
  std::istringstream in(log);
  std::string line;
  static const std::regex kFields(R"( suppressed=(\d+) total=(\d+)$)");
  while (std::getline(in, line)) {
    if (line.find(" msg=admission_reject ") == std::string::npos) continue;
    EXPECT_NE(line.find(" database=bench "), std::string::npos) << line;
    EXPECT_NE(line.find(" client_key=user key=bench reason=queue_full "), std::string::npos) << line;
    EXPECT_NE(line.find("level=info"), std::string::npos) << line;
    std::smatch m;
    if (!std::regex_search(line, m, kFields)) {
      ADD_FAILURE() << "no suppressed= and total= at the end of: " << line;
      continue;
    }
    out.push_back({std::stoull(m[1]), std::stoull(m[2])});
  }
  return out;
}

TEST_F(Logs, RejectionsAreRateLimited) {
  ConfigBuilder cfg;  // logfmt, the default
  cfg.extra = "[limits]\nclient_key = \"user\"\nmax_concurrency = 1\nmax_queue = 0\n";
  ASSERT_TRUE(start_proxy(cfg));
  auto holder = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(holder && b);
  ASSERT_TRUE(exec_ok(holder.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(holder.get(), "SELECT 1"));  // holds the user's only slot

  // Rejections as fast as one connection can ask, for 1.5 s...
  int rejected = 0;
  auto reject_once = [&] {
    Result r = exec(b.get(), "SELECT 2", 10s, true);
    ASSERT_TRUE(r);
    ASSERT_EQ(result_sqlstate(r.get()), "53300") << describe(r.get());
    ++rejected;
  };
  const auto until = Clock::now() + 1500ms;
  while (Clock::now() < until) {
    reject_once();
    if (HasFatalFailure()) return;
  }
  // ...and one more once the second is over, which must be logged with the
  // count of everything held back since the previous line.
  std::this_thread::sleep_for(1100ms);
  reject_once();
  ASSERT_GT(rejected, 20) << "too few rejections to show rate limiting";

  std::vector<RejectLine> lines = reject_lines(proxy()->log());
  ASSERT_FALSE(lines.empty()) << proxy()->log();
  EXPECT_LT(lines.size(), 5u) << rejected << " rejections";
  EXPECT_LT(lines.size(), static_cast<size_t>(rejected));
  uint64_t accounted = 0;
  uint64_t suppressed = 0;
  for (const RejectLine& l : lines) {
    accounted += 1 + l.suppressed;
    suppressed += l.suppressed;
    EXPECT_EQ(l.total, accounted) << "a line's total counts every rejection so far";
  }
  EXPECT_EQ(lines.front().suppressed, 0u);
  EXPECT_GT(suppressed, 0u);
  EXPECT_EQ(lines.back().total, static_cast<uint64_t>(rejected)) << proxy()->log();

  ASSERT_TRUE(exec_ok(holder.get(), "COMMIT"));
  EXPECT_EQ(query_value(b.get(), "SELECT 3"), "3");
}

}  // namespace
}  // namespace pgs::it
