// psql and pgbench in the driver matrix: the matrix's cases written as psql
// scripts (psql 15 has no \bind, so parameters go through SQL PREPARE/EXECUTE
// inside one transaction, as transaction pooling allows), and pgbench -S in
// each query protocol. Every run is an argv, no shell.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "drivers_matrix.h"

namespace pgs::it {
namespace {

const std::vector<std::string> kEnv{"PGPASSWORD=bench", "PGCONNECT_TIMEOUT=10"};
const std::string kPrefix = "drv_psql_" + std::to_string(::getpid());

std::string tool(const std::string& name) {
  std::string d = pg_bindir();
  return d.empty() ? name : d + "/" + name;
}

std::vector<std::string> psql_argv(uint16_t port) {
  return {tool("psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
          std::to_string(port), "-U", "bench", "-d", "bench"};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// Detail for a failed psql run: exit status and the end of its output.
std::string failure(const CommandResult& r, const std::string& why) {
  std::string out = tail(r.output, 3);
  for (char& ch : out)
    if (ch == '\n') ch = ' ';
  if (out.size() > 400) out = out.substr(0, 400) + "...";
  return why + " (exit " + std::to_string(r.exit_code) + (r.timed_out ? ", timed out" : "") +
         "): " + out;
}

class PsqlCases {
 public:
  explicit PsqlCases(uint16_t port) : port_(port) {}

  // Writes `text` to a file named after the test and case; returns its path.
  static std::string script_file(const std::string& name, const std::string& text) {
    const std::string file = matrix_log_path("." + name + ".sql");
    write_file(file, text);
    return file;
  }

  CommandResult run_file(const std::string& file, milliseconds timeout = 30s) const {
    auto argv = psql_argv(port_);
    argv.insert(argv.end(), {"-f", file});
    return run_command(argv, timeout, kEnv);
  }

  CommandResult script(const std::string& name, const std::string& text) const {
    return run_file(script_file(name, text));
  }

  CaseResult types() const {
    auto r = script("types",
                    "BEGIN;\nSET LOCAL TimeZone = 'UTC';\n"
                    "PREPARE matrix_types(int2, int4, int8, float8, numeric, text, bool, bytea, date,"
                    " timestamptz, interval, uuid, jsonb, int4[], text[], text) AS\n"
                    "  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16;\n"
                    "EXECUTE matrix_types(12345, -2000000000, 9000000000000000000, 3.25,"
                    " 12345678901234567890.123456789, 'héllo ✓ 日本 ''quoted'' \\ back', true,"
                    " '\\x000102ff', '2024-02-29', '2024-02-29 12:34:56.789+00', '3 days 2 hours',"
                    " '12345678-1234-5678-1234-567812345678', '{\"a\": [1, 2, {\"b\": null}], \"c\": \"d\"}',"
                    " '{1,2,3,NULL}', '{a,\"b,c\",\"d\\\"e\",\"\"}', NULL);\n"
                    "DEALLOCATE matrix_types;\nCOMMIT;\n");
    const std::string want =
        "12345|-2000000000|9000000000000000000|3.25|12345678901234567890.123456789|"
        "héllo ✓ 日本 'quoted' \\ back|t|\\x000102ff|2024-02-29|2024-02-29 12:34:56.789+00|"
        "3 days 02:00:00|12345678-1234-5678-1234-567812345678|"
        "{\"a\": [1, 2, {\"b\": null}], \"c\": \"d\"}|{1,2,3,NULL}|{a,\"b,c\",\"d\\\"e\",\"\"}|\n";
    if (r.exit_code != 0 || r.output != want) return fail("types", failure(r, "unexpected output"));
    return pass("types", "16 types through PREPARE/EXECUTE");
  }

  // One transaction: PREPARE, EXECUTE `runs` times, DEALLOCATE.
  static std::string reuse_script(const std::string& name, int runs, bool check_prepared) {
    std::string s = "BEGIN;\nPREPARE " + name + "(int4, int4, text) AS SELECT $1 + $2, $3;\n";
    for (int n = 0; n < runs; ++n)
      s += "EXECUTE " + name + "(" + std::to_string(1000 + n) + ", 1, 'r" + std::to_string(n) + "');\n";
    if (check_prepared)
      s += "SELECT count(*) FROM pg_prepared_statements WHERE name = '" + name + "';\n";
    return s + "DEALLOCATE " + name + ";\nCOMMIT;\n";
  }

  static std::string reuse_output(int runs, bool check_prepared) {
    std::string s;
    for (int n = 0; n < runs; ++n) s += std::to_string(1001 + n) + "|r" + std::to_string(n) + "\n";
    return check_prepared ? s + "1\n" : s;
  }

  CaseResult reuse() const {
    auto r = script("reuse", reuse_script("matrix_reuse", 12, true));
    if (r.exit_code != 0 || r.output != reuse_output(12, true))
      return fail("reuse", failure(r, "unexpected output"));
    return pass("reuse", "12 EXECUTEs of one PREPAREd statement in a transaction");
  }

  CaseResult same_name_many_clients() const {
    const std::string file = script_file("same_name", reuse_script("matrix_q1", 8, false));
    const std::string want = reuse_output(8, false);
    std::vector<std::string> errors = concurrently(20, [&](int) {
      auto r = run_file(file);
      return r.exit_code == 0 && r.output == want ? std::string() : failure(r, "unexpected output");
    });
    if (!errors.empty()) return fail("same_name_many_clients", summary(errors, 20));
    return pass("same_name_many_clients", "20 psql processes PREPARE matrix_q1 at once");
  }

  CaseResult transactions() const {
    const std::string t = kPrefix + "_tx";
    auto r = script("transactions",
                    "CREATE TABLE " + t + " (id int);\n"
                    "BEGIN;\nINSERT INTO " + t + " VALUES (1);\nCOMMIT;\n"
                    "BEGIN;\nINSERT INTO " + t + " VALUES (2);\nROLLBACK;\n"
                    "BEGIN;\nINSERT INTO " + t + " VALUES (3);\nSAVEPOINT s1;\n"
                    "INSERT INTO " + t + " VALUES (4);\nROLLBACK TO SAVEPOINT s1;\nCOMMIT;\n"
                    "SELECT string_agg(id::text, ',' ORDER BY id) FROM " + t + ";\n"
                    "DROP TABLE " + t + ";\n");
    if (r.exit_code != 0 || r.output != "1,3\n")
      return fail("transactions", failure(r, "wanted rows 1,3"));
    return pass("transactions", "committed rows stay, rolled back ones do not");
  }

  CaseResult error_recovery() const {
    const std::string t = kPrefix + "_err";
    auto r = script("error_recovery",
                    "\\set ON_ERROR_STOP 0\n"
                    "CREATE TABLE " + t + " (id int PRIMARY KEY);\n"
                    "BEGIN;\nINSERT INTO " + t + " VALUES (1);\nSELECT 1 / 0;\nSELECT 1;\nROLLBACK;\n"
                    "SELECT count(*) FROM " + t + ";\n"
                    "INSERT INTO " + t + " VALUES (1);\nINSERT INTO " + t + " VALUES (1);\n"
                    "SELECT 42;\nDROP TABLE " + t + ";\n");
    const bool ok = r.exit_code == 0 && contains(r.output, "ERROR:  division by zero") &&
                    contains(r.output, "ERROR:  current transaction is aborted") &&
                    contains(r.output, "ERROR:  duplicate key value") &&
                    contains(r.output, "\n0\n") && contains(r.output, "\n42\n");
    if (!ok) return fail("error_recovery", failure(r, "unexpected output"));
    return pass("error_recovery", "22012 then 25P02, rollback, 23505, session usable");
  }

  CaseResult copy_in() const {
    const std::string t = kPrefix + "_copyin";
    std::string text = "CREATE TABLE " + t + " (id int, v text);\nCOPY " + t + " (id, v) FROM STDIN;\n";
    for (int i = 0; i < 10000; ++i) text += std::to_string(i) + "\trow\\t" + std::to_string(i) + "\n";
    text += "\\.\nSELECT count(*), sum(id), max(v) FROM " + t + ";\nDROP TABLE " + t + ";\n";
    auto r = script("copy_in", text);
    if (r.exit_code != 0 || r.output != "10000|49995000|row\t9999\n")
      return fail("copy_in", failure(r, "unexpected output"));
    return pass("copy_in", "10000 rows");
  }

  CaseResult copy_out() const {
    auto r = script("copy_out",
                    "COPY (SELECT g, 'v' || g FROM generate_series(1, 10000) g) TO STDOUT;\n");
    auto lines = lines_of(r.output);
    if (r.exit_code != 0 || lines.size() != 10000 || lines.back() != "10000\tv10000")
      return fail("copy_out", failure(r, std::to_string(lines.size()) + " lines"));
    return pass("copy_out", "10000 rows");
  }

  CaseResult large_result() const {
    auto r = script("large_result", "SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g;\n");
    auto lines = lines_of(r.output);
    if (r.exit_code != 0 || lines.size() != 100000 || lines.back() != "100000|" + std::string(100, 'x'))
      return fail("large_result", failure(r, std::to_string(lines.size()) + " rows"));
    return pass("large_result", "100000 rows, 10 MB");
  }

  CaseResult large_param() const {
    // psql has no parameters: a 4 MB literal in the query text, echoed back.
    std::string big;
    for (int i = 0; i < 2 * 1024 * 1024; ++i) big += "ab";
    auto r = script("large_param", "\\set big '" + big + "'\n"
                    "SELECT length(:'big'), :'big' = repeat('ab', 2097152);\nSELECT :'big';\n");
    if (r.exit_code != 0 || r.output != "4194304|t\n" + big + "\n")
      return fail("large_param", failure(r, "unexpected output"));
    return pass("large_param", "4 MB literal both ways");
  }

  CaseResult notice() const {
    auto r = script("notice",
                    "DO $$ BEGIN RAISE NOTICE 'matrix notice %', 42; RAISE WARNING 'matrix warning'; END $$;\n");
    if (r.exit_code != 0 || !contains(r.output, "NOTICE:  matrix notice 42") ||
        !contains(r.output, "WARNING:  matrix warning"))
      return fail("notice", failure(r, "no notice"));
    return pass("notice", "NOTICE and WARNING received");
  }

  CaseResult cursor() const {
    // FETCH_COUNT makes psql read a query through its own cursor; then one by hand.
    auto r = script("cursor",
                    "\\set FETCH_COUNT 1000\nSELECT g FROM generate_series(1, 5000) g;\n\\unset FETCH_COUNT\n"
                    "BEGIN;\nDECLARE matrix_cur CURSOR FOR SELECT g FROM generate_series(1, 5000) g;\n"
                    "FETCH 1000 FROM matrix_cur;\nMOVE 3000 FROM matrix_cur;\nFETCH ALL FROM matrix_cur;\n"
                    "CLOSE matrix_cur;\nCOMMIT;\n");
    auto lines = lines_of(r.output);
    long sum = 0;
    for (const auto& l : lines) sum += std::atol(l.c_str());
    // 1..5000, then 1..1000 and 4001..5000
    if (r.exit_code != 0 || lines.size() != 7000 || sum != 12502500 + 500500 + 4500500)
      return fail("cursor", failure(r, std::to_string(lines.size()) + " rows"));
    return pass("cursor", "FETCH_COUNT 1000 and DECLARE/FETCH/MOVE");
  }

  CaseResult cancel() const {
    // Ctrl-C: psql sends a CancelRequest with the key it got at startup.
    auto argv = psql_argv(port_);
    argv.insert(argv.end(), {"-c", "SELECT pg_sleep(30)"});
    const auto started = Clock::now();
    auto r = run_command_interrupted(argv, 30s, kEnv, SIGINT, 1000ms);
    const double took = std::chrono::duration<double>(Clock::now() - started).count();
    if (!contains(r.output, "canceling statement due to user request") || took > 10)
      return fail("cancel", failure(r, "not cancelled within 10 s"));
    auto after = psql_argv(port_);
    after.insert(after.end(), {"-c", "SELECT 'after cancel'"});
    auto next = run_command(after, 30s, kEnv);
    if (next.exit_code != 0 || next.output != "after cancel\n")
      return fail("cancel", failure(next, "the next session failed"));
    char detail[64];
    std::snprintf(detail, sizeof detail, "57014 after %.1f s", took);
    return pass("cancel", detail);
  }

  CaseResult many_connections() const {
    std::vector<std::string> errors = concurrently(40, [&](int i) {
      // Started in four waves: 40 psql start-ups at once on a busy machine can
      // outlast the test cluster's 5 s authentication_timeout.
      std::this_thread::sleep_for(milliseconds(250 * (i % 4)));
      auto argv = psql_argv(port_);
      for (int n = 0; n < 5; ++n)
        argv.insert(argv.end(), {"-c", "SELECT " + std::to_string(i) + " + " + std::to_string(n)});
      auto r = run_command(argv, 30s, kEnv);
      std::string want;
      for (int n = 0; n < 5; ++n) want += std::to_string(i + n) + "\n";
      return r.exit_code == 0 && r.output == want ? std::string() : failure(r, "unexpected output");
    });
    if (!errors.empty()) return fail("many_connections", summary(errors, 40));
    return pass("many_connections", "40 psql processes at once");
  }

 private:
  static CaseResult pass(const std::string& name, const std::string& detail) {
    return {name, "PASS", detail};
  }
  static CaseResult fail(const std::string& name, const std::string& detail) {
    return {name, "FAIL", detail};
  }

  // Runs body(i) on n threads at once; returns the non-empty answers.
  static std::vector<std::string> concurrently(int n, const std::function<std::string(int)>& body) {
    std::vector<std::string> errors;
    std::mutex mutex;
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
      threads.emplace_back([&, i] {
        std::string e = body(i);
        if (e.empty()) return;
        std::lock_guard lock(mutex);
        errors.push_back("client " + std::to_string(i) + ": " + e);
      });
    for (auto& t : threads) t.join();
    return errors;
  }

  static std::string summary(const std::vector<std::string>& errors, int n) {
    return std::to_string(errors.size()) + " of " + std::to_string(n) + " clients failed; first: " +
           errors.front();
  }

  uint16_t port_;
};

}  // namespace

std::string matrix_log_path(const std::string& suffix) {
  const std::string dir = work_dir() + "/logs";
  std::filesystem::create_directories(dir);
  return dir + "/" + current_test_file_name() + suffix;
}

std::vector<CaseResult> run_psql_cases(uint16_t port) {
  const PsqlCases c(port);
  using Case = CaseResult (PsqlCases::*)() const;
  std::vector<CaseResult> results;
  for (Case run : {&PsqlCases::types, &PsqlCases::reuse, &PsqlCases::same_name_many_clients,
                   &PsqlCases::transactions, &PsqlCases::error_recovery, &PsqlCases::copy_in,
                   &PsqlCases::copy_out, &PsqlCases::large_result, &PsqlCases::large_param,
                   &PsqlCases::notice, &PsqlCases::cursor, &PsqlCases::cancel,
                   &PsqlCases::many_connections}) {
    const auto started = Clock::now();
    CaseResult r = (c.*run)();
    char took[32];
    std::snprintf(took, sizeof took, " (%.2f s)", std::chrono::duration<double>(Clock::now() - started).count());
    results.push_back({r.name, r.verdict, r.detail + took});
    if (r.name == "same_name_many_clients")
      results.push_back({"pipeline", "SKIP", "psql 15 sends one query at a time; pipeline mode came in psql 18"});
  }
  return results;
}

std::vector<CaseResult> run_pgbench_cases(uint16_t port, const std::string& protocol) {
  auto init = run_command({tool("pgbench"), "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p",
                           std::to_string(pg().port()), "-U", "bench", "bench"},
                          60s, kEnv);
  if (init.exit_code != 0) return {{"select_only", "FAIL", failure(init, "pgbench -i failed")}};
  // 8 clients over the 3 server connections of the transaction-mode pool.
  auto r = run_command({tool("pgbench"), "-c", "8", "-j", "2", "-T", "3", "-S", "-M", protocol, "-h",
                        "127.0.0.1", "-p", std::to_string(port), "-U", "bench", "bench"},
                       60s, kEnv);
  write_file(matrix_log_path(".pgbench.out"), r.output);
  const bool ok = r.exit_code == 0 && contains(r.output, "number of failed transactions: 0 ") &&
                  !contains(r.output, "number of transactions actually processed: 0");
  if (!ok) {
    // pgbench's first client error says more than its summary.
    std::string first_error;
    for (const auto& l : lines_of(r.output))
      if (contains(l, "error") || contains(l, "ERROR")) {
        first_error = l;
        break;
      }
    return {{"select_only", "FAIL",
             "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + ": " +
                 (first_error.empty() ? tail(r.output, 2) : first_error)}};
  }
  std::string tps;
  for (const auto& l : lines_of(r.output))
    if (l.rfind("tps = ", 0) == 0) tps = l.substr(0, l.find(' ', 6));
  return {{"select_only", "PASS", "-M " + protocol + ", 8 clients, 3 s, " + tps}};
}

}  // namespace pgs::it
