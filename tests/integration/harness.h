// The integration-test harness: a throw-away PostgreSQL cluster, the real
// pgsluice binary as a child process, bounded child-process and libpq helpers.
//
// Contracts:
// - Every wait is bounded. Besides the explicit timeouts, a watchdog ends the
//   whole test binary (killing its children) when one test runs too long, so a
//   hung proxy shows up as a clear failure instead of a stuck CI job.
// - Children (postgres, pgsluice, psql, pgbench) die with the test binary
//   (PR_SET_PDEATHSIG), so a crash leaves no stray processes behind.
// - Helpers that return values report problems with ADD_FAILURE and return an
//   empty value; tests ASSERT on the value.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace pgs::it {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---------------------------------------------------------------- processes

struct CommandResult {
  int exit_code = -1;  // exit status, or 128 + signal number
  bool timed_out = false;
  std::string output;  // stdout and stderr interleaved
};

// Runs argv[0] (searched in PATH) with extra "NAME=value" environment entries,
// killing its process group after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, milliseconds timeout,
                          const std::vector<std::string>& extra_env = {});

// As run_command, and sends `sig` to the command itself (not its group) once
// `after` has passed, as a person pressing Ctrl-C would.
CommandResult run_command_interrupted(const std::vector<std::string>& argv, milliseconds timeout,
                                      const std::vector<std::string>& extra_env, int sig,
                                      milliseconds after);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0).
uint16_t free_port();

// The directory holding initdb/postgres/psql/pgbench
// ($PGSLUICE_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin).
std::string pg_bindir();

// Where logs and the cached template cluster go (the build directory).
std::string work_dir();

// "Suite.Test/Param" of the running test, made safe for a file name.
std::string current_test_file_name();

std::string read_file(const std::string& path);
void write_file(const std::string& path, std::string_view text);
// The last `lines` lines of `text`.
std::string tail(std::string_view text, size_t lines);

// ---------------------------------------------------------------- libpq

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, PgConnDeleter>;
using Result = std::unique_ptr<PGresult, PgResultDeleter>;

// "host=... port=... user=... password=... dbname=... connect_timeout=10" + extra.
std::string make_conninfo(const std::string& host, uint16_t port, const std::string& user,
                          const std::string& password, const std::string& dbname,
                          const std::string& extra = "");

struct ConnectOutcome {
  Conn conn;              // set when the connection is up
  std::string error;      // PQerrorMessage on failure
  std::string sqlstate;   // SQLSTATE of the server's ErrorResponse, if any
  bool ok() const { return conn != nullptr; }
};

// Connects without blocking past `timeout`. Error messages are verbose, so a
// refusal's SQLSTATE is known even though libpq has no API for it.
ConnectOutcome try_connect(const std::string& conninfo, milliseconds timeout = 10s);

// Connects or records a failure and returns null.
Conn connect_or_fail(const std::string& conninfo, milliseconds timeout = 10s);

// Waits (bounded) for every result of what was just sent with PQsend*.
// Returns them in order; on timeout or a broken connection the last element
// is null and `error` says why.
std::vector<Result> collect_results(PGconn* c, milliseconds timeout, std::string* error);

// Like PQexec but bounded: sends `sql` as a simple query and returns the
// first error result, else the last result. Null on timeout or a dead
// connection (with a failure recorded unless `quiet`).
Result exec(PGconn* c, const std::string& sql, milliseconds timeout = 30s, bool quiet = false);
Result exec_params(PGconn* c, const std::string& sql, const std::vector<std::string>& params,
                   milliseconds timeout = 30s);

// The single value of a one-row, one-column query, or "ERROR <sqlstate>: <message>"
// (so that EXPECT_EQ prints something useful).
std::string query_value(PGconn* c, const std::string& sql, milliseconds timeout = 30s);
// The same for the query just sent with PQsendQuery: waits (bounded) for its
// results and reports the last as query_value does.
std::string sent_value(PGconn* c, milliseconds timeout = 10s);

// Runs `sql` and records a failure unless it succeeded.
bool exec_ok(PGconn* c, const std::string& sql, milliseconds timeout = 30s);

// PQparameterStatus as a string ("" when absent).
std::string parameter_status(PGconn* c, const char* name);

std::string result_sqlstate(const PGresult* r);
std::string result_message(const PGresult* r);
std::string describe(const PGresult* r);  // status, sqlstate and message for failure output

// Waits until the connection's socket is readable, then PQconsumeInput.
bool wait_readable(PGconn* c, Clock::time_point deadline);

// ---------------------------------------------------------------- raw sockets

// A blocking-with-deadline TCP client for feeding a server bytes libpq never sends.
class RawSocket {
 public:
  RawSocket() = default;
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connect(const std::string& host, uint16_t port, milliseconds timeout = 5s);
  bool send_all(std::string_view bytes);
  void shutdown_write();
  void close();
  int fd() const { return fd_; }

  // Reads what arrives until the peer closes, `max_bytes` have arrived, or
  // the timeout passes. `closed` tells whether EOF (or a reset) was seen.
  struct ReadOutcome {
    std::string bytes;
    bool closed = false;
    bool timed_out = false;
  };
  ReadOutcome read_until_close(milliseconds timeout, size_t max_bytes = 1 << 20);
  // Reads exactly n bytes or fails (closed or timed out).
  std::optional<std::string> read_exact(size_t n, milliseconds timeout);
  // Reads one typed message: type byte + body (without the length word).
  struct Message {
    char type = 0;
    std::string body;
  };
  std::optional<Message> read_message(milliseconds timeout);

 private:
  int fd_ = -1;
};

// Wire-format helpers for raw tests.
std::string be32(uint32_t v);
uint32_t read_be32(std::string_view s, size_t at);
std::string startup_packet(const std::vector<std::pair<std::string, std::string>>& params,
                           uint32_t protocol = 196608);
std::string typed_message(char type, std::string_view body);
// Field `code` ('C', 'M', 'S', ...) of an ErrorResponse body, or "".
std::string error_field(std::string_view body, char code);

// ---------------------------------------------------------------- PostgreSQL

// The cluster every test in this binary shares. Started on first use from a
// template cluster cached in the build directory (initdb runs once per build
// tree), in a fresh temporary directory, on a free port, 127.0.0.1 only.
//
// Roles: postgres/postgres (superuser), bench/bench, app1/app (LOGIN);
// rawtrust (LOGIN, trusted by pg_hba, for raw-protocol tests). Database bench
// owned by bench with schemas foo and other (there is no database "postgres":
// it would only make every copy bigger). Everything else uses
// scram-sha-256.
class TempPostgres {
 public:
  static TempPostgres& instance();  // starts the cluster; throws if it cannot
  static bool started();

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string conninfo(const std::string& user, const std::string& password,
                       const std::string& dbname = "bench", const std::string& extra = "") const;
  Conn superuser(const std::string& dbname = "bench");

  // pg_terminate_backend(pid) as postgres; true when the backend is gone.
  bool terminate_backend(int pid);
  // Client backends in pg_stat_activity for `user` (and application_name if given).
  int count_connections(const std::string& user, const std::string& application_name = "");
  std::string log_tail(size_t lines = 60) const;

  void stop();  // immediate shutdown (SIGQUIT, as pg_ctl -m immediate) and remove the dir
  ~TempPostgres();

 private:
  TempPostgres() = default;
  void start();

  std::string host_ = "127.0.0.1";
  uint16_t port_ = 0;
  std::string dir_;
  int postmaster_pid_ = -1;
  Conn admin_;  // superuser connection for the helpers above
};

inline TempPostgres& pg() { return TempPostgres::instance(); }

// ---------------------------------------------------------------- pgsluice

// Produces a complete pgsluice config with placeholders that PgsluiceProcess
// fills in (@LISTEN@, @LISTEN_PORT@, @SERVER_HOST@, @SERVER_PORT@, and
// @ADMIN_PORT@, a second free port, e.g. admin_listen = "127.0.0.1:@ADMIN_PORT@").
struct ConfigBuilder {
  std::string pool_mode = "transaction";
  int pool_size = 4;
  std::string auth_method = "scram-sha-256";
  std::vector<std::string> proxy_lines;     // extra "key = value" lines for [proxy]
  std::vector<std::string> server_lines;    // extra lines for [server]
  std::vector<std::string> database_lines;  // extra lines for [databases.bench]
  std::string extra;                        // raw TOML appended at the end
  std::string render() const;
};

class PgsluiceProcess {
 public:
  // `config_template` may use the placeholders above.
  explicit PgsluiceProcess(std::string config_template);
  ~PgsluiceProcess();  // SIGKILL if still running; prints the log tail if the test failed
  PgsluiceProcess(const PgsluiceProcess&) = delete;
  PgsluiceProcess& operator=(const PgsluiceProcess&) = delete;

  // Writes the config, starts the binary and waits until the port accepts
  // (and the admin port, when the config uses @ADMIN_PORT@).
  [[nodiscard]] bool start(milliseconds ready_timeout = 10s);

  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }
  int pid() const { return pid_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& log_path() const { return log_path_; }
  std::string log() const;

  // Rewrites the config file (same placeholders, same ports).
  void rewrite_config(const std::string& config_template);
  std::string render(const std::string& config_template) const;

  bool send_signal(int sig);
  bool running();
  // The raw wait status once the process has exited, or nullopt after `timeout`.
  std::optional<int> wait_exit(milliseconds timeout);
  std::optional<int> exit_status() const { return status_; }
  bool signalled() const { return signalled_; }  // the test sent it a signal
  // The test made it exit some other way (e.g. the admin console's SHUTDOWN)
  // and judges the exit itself, as after send_signal().
  void expect_exit() { signalled_ = true; }

  // SIGTERM and wait; records a failure unless it exits 0 in time and the log
  // is free of sanitizer reports.
  void stop_and_check(milliseconds timeout);

  // Records a failure if the log contains a sanitizer report.
  void check_log_clean();

 private:
  std::string config_template_;
  std::string config_path_;
  std::string log_path_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  int pid_ = -1;
  std::optional<int> status_;
  bool signalled_ = false;
};

// `pgsluice --check FILE` on a file holding `config_text` (placeholders
// rendered). `file_path` receives the path used.
CommandResult run_check(const std::string& config_text, std::string* file_path = nullptr);
// `pgsluice ARGS...`
CommandResult run_pgsluice(const std::vector<std::string>& args, milliseconds timeout = 10s);

// "exited 0", "exited 3", "killed by signal 11" for failure messages.
std::string describe_wait_status(int status);

// ---------------------------------------------------------------- fixtures

// Where a test's clients connect: straight to PostgreSQL (proves the test
// itself is right) or through pgsluice in one pool mode.
enum class Variant { Direct, Transaction, Session };
std::string variant_name(const ::testing::TestParamInfo<Variant>& info);
void PrintTo(Variant v, std::ostream* os);  // for gtest failure messages

// Starting and addressing the target of a test. Mixed into fixtures.
class TargetHarness {
 public:
  // Direct: nothing to start. Otherwise starts pgsluice with `cfg`
  // (pool_mode taken from the variant unless `keep_pool_mode`).
  [[nodiscard]] bool start_target(Variant v, ConfigBuilder cfg = {}, bool keep_pool_mode = false);
  bool direct() const { return variant_ == Variant::Direct; }
  Variant variant() const { return variant_; }
  uint16_t target_port() const;
  std::string target_host() const { return "127.0.0.1"; }
  std::string conninfo(const std::string& user = "bench", const std::string& password = "bench",
                       const std::string& dbname = "bench", const std::string& extra = "") const;
  Conn connect_bench(const std::string& extra = "");
  PgsluiceProcess* proxy() { return proxy_.get(); }
  // Stops pgsluice with SIGTERM and checks the exit (see stop_and_check).
  void stop_target();

 protected:
  Variant variant_ = Variant::Direct;
  std::unique_ptr<PgsluiceProcess> proxy_;
};

class TargetTest : public ::testing::TestWithParam<Variant>, public TargetHarness {
 protected:
  void TearDown() override { stop_target(); }
};

class ProxyTest : public ::testing::Test, public TargetHarness {
 protected:
  [[nodiscard]] bool start_proxy(ConfigBuilder cfg = {}) {
    return start_target(cfg.pool_mode == "session" ? Variant::Session : Variant::Transaction, cfg,
                        true);
  }
  void TearDown() override { stop_target(); }
};

// A name unique within this test binary, for tables and prepared statements.
std::string unique_name(const std::string& prefix);

}  // namespace pgs::it
