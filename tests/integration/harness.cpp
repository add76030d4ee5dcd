// Child processes and libpq helpers for the integration tests.
#include "harness.h"

#include "harness_internal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace pgs::it {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- files

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::string tail(std::string_view text, size_t lines) {
  if (text.empty()) return "";
  size_t pos = text.size();
  if (text.back() == '\n') --pos;  // a final newline does not start a line
  for (size_t i = 0; i < lines; ++i) {
    if (pos == 0) return std::string(text);
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string_view::npos) return std::string(text);
    pos = nl;
  }
  return std::string(text.substr(pos + 1));
}

std::string work_dir() {
  if (const char* d = std::getenv("PGSLUICE_IT_WORK_DIR"); d && *d) return d;
  return PGSLUICE_IT_WORK_DIR;
}

std::string pg_bindir() {
  if (const char* d = std::getenv("PGSLUICE_PG_BINDIR"); d && *d) return d;
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = e.path().filename().string();
    if (!fs::exists(e.path() / "bin" / "initdb")) continue;
    int v = std::atoi(name.c_str());
    if (v > best_version) {
      best_version = v;
      best = (e.path() / "bin").string();
    }
  }
  return best;  // "" means: rely on PATH
}

std::string current_test_file_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "no_test";
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-') ch = '_';
  return name;
}

// ---------------------------------------------------------------- processes

namespace {

std::mutex g_registry_mutex;
std::vector<int> g_children;        // killed by the watchdog
std::vector<std::string> g_dirs;    // removed by the watchdog
std::vector<std::string> g_logs;    // printed by the watchdog

}  // namespace

void register_child(int pid) {
  std::lock_guard lock(g_registry_mutex);
  g_children.push_back(pid);
}
void unregister_child(int pid) {
  std::lock_guard lock(g_registry_mutex);
  std::erase(g_children, pid);
}
void register_dir(const std::string& dir) {
  std::lock_guard lock(g_registry_mutex);
  g_dirs.push_back(dir);
}
void unregister_dir(const std::string& dir) {
  std::lock_guard lock(g_registry_mutex);
  std::erase(g_dirs, dir);
}
void register_log(const std::string& path) {
  std::lock_guard lock(g_registry_mutex);
  g_logs.push_back(path);
}
void unregister_log(const std::string& path) {
  std::lock_guard lock(g_registry_mutex);
  std::erase(g_logs, path);
}

void emergency_cleanup_and_exit(const std::string& why) {
  std::vector<int> children;
  std::vector<std::string> dirs, logs;
  {
    std::lock_guard lock(g_registry_mutex);
    children = g_children;
    dirs = g_dirs;
    logs = g_logs;
  }
  std::fprintf(stderr, "\n*** %s\n", why.c_str());
  for (const auto& l : logs)
    std::fprintf(stderr, "*** last lines of %s:\n%s\n", l.c_str(), tail(read_file(l), 80).c_str());
  for (int pid : children) ::kill(pid, SIGKILL);
  std::this_thread::sleep_for(200ms);
  for (const auto& d : dirs) {
    std::error_code ec;
    fs::remove_all(d, ec);
  }
  std::fflush(stderr);
  std::_Exit(1);
}

std::optional<RunAs> postgres_user() {
  if (::geteuid() != 0) return std::nullopt;
  const passwd* pw = ::getpwnam("postgres");
  if (!pw) throw std::runtime_error("running as root but there is no 'postgres' user");
  return RunAs{pw->pw_uid, pw->pw_gid};
}

void chown_to(const std::string& path, const std::optional<RunAs>& as) {
  if (!as) return;
  if (::chown(path.c_str(), as->uid, as->gid) != 0)
    throw std::runtime_error("chown " + path + ": " + std::strerror(errno));
}

int spawn(const SpawnOptions& o) {
  // Everything the child needs is prepared before fork: after fork only
  // async-signal-safe calls are allowed (the test binary has threads).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    auto name = entry.substr(0, entry.find('='));
    bool overridden = std::any_of(o.extra_env.begin(), o.extra_env.end(), [&](const std::string& x) {
      return std::string_view(x).substr(0, x.find('=')) == name;
    });
    if (!overridden) env_strings.emplace_back(entry);
  }
  for (const auto& x : o.extra_env) env_strings.push_back(x);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = o.argv;
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(devnull);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    int out = o.output_fd >= 0 ? o.output_fd : devnull;
    ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    if (o.new_process_group) ::setpgid(0, 0);
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(126);
    if (o.run_as) {
      gid_t g = o.run_as->gid;
      if (::setgroups(1, &g) != 0 || ::setgid(o.run_as->gid) != 0 || ::setuid(o.run_as->uid) != 0)
        ::_exit(126);
    }
    // After the uid change, which clears it. Dies with the thread that forked.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::execvpe(argv[0], argv.data(), envp.data());
    const char msg[] = "exec failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(devnull);
  return pid;
}

CommandResult run_command(const std::vector<std::string>& argv, milliseconds timeout,
                          const std::vector<std::string>& extra_env) {
  return run_command_as(argv, timeout, extra_env, std::nullopt, "");
}

CommandResult run_command_interrupted(const std::vector<std::string>& argv, milliseconds timeout,
                                      const std::vector<std::string>& extra_env, int sig,
                                      milliseconds after) {
  return run_command_as(argv, timeout, extra_env, std::nullopt, "", SignalAfter{sig, after});
}

CommandResult run_command_as(const std::vector<std::string>& argv, milliseconds timeout,
                             const std::vector<std::string>& extra_env,
                             const std::optional<RunAs>& as, const std::string& cwd,
                             std::optional<SignalAfter> signal) {
  CommandResult r;
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  SpawnOptions o;
  o.argv = argv;
  o.extra_env = extra_env;
  o.output_fd = pipefd[1];
  o.new_process_group = true;
  o.run_as = as;
  o.cwd = cwd;
  // dup2 clears O_CLOEXEC on the child's copy, so the write end reaches the child.
  int pid = spawn(o);
  ::close(pipefd[1]);
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  char buf[65536];
  for (;;) {
    const auto now = Clock::now();
    if (signal && now >= started + signal->after) {
      ::kill(pid, signal->sig);
      signal.reset();
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - now).count();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    long long wait_ms = std::min<long long>(left, 1000);
    if (signal)
      wait_ms = std::min<long long>(
          wait_ms, std::chrono::duration_cast<milliseconds>(started + signal->after - now).count() + 1);
    pollfd p{pipefd[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(wait_ms));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = ::read(pipefd[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // every writer closed: the command is done (or daemonized)
    r.output.append(buf, static_cast<size_t>(got));
  }
  ::close(pipefd[0]);
  if (r.timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  // The pipe closed, so the child is at most moments from exiting; still bounded.
  const auto reap_deadline = Clock::now() + (r.timed_out ? 5s : timeout + 5s);
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (Clock::now() > reap_deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      r.timed_out = true;
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  if (WIFEXITED(status))
    r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.exit_code = 128 + WTERMSIG(status);
  return r;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "wait status " + std::to_string(status);
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to port 0 failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool tcp_port_accepts(uint16_t port) {
  RawSocket s;
  return s.connect("127.0.0.1", port, 500ms);
}

// ---------------------------------------------------------------- libpq

std::string make_conninfo(const std::string& host, uint16_t port, const std::string& user,
                          const std::string& password, const std::string& dbname,
                          const std::string& extra) {
  auto quote = [](const std::string& v) {
    std::string out = "'";
    for (char ch : v) {
      if (ch == '\'' || ch == '\\') out += '\\';
      out += ch;
    }
    return out + "'";
  };
  std::string s = "host=" + host + " port=" + std::to_string(port) + " user=" + quote(user) +
                  " dbname=" + quote(dbname) + " connect_timeout=10";
  if (!password.empty()) s += " password=" + quote(password);
  if (!extra.empty()) s += " " + extra;
  return s;
}

// The SQLSTATE in a verbose libpq message: "...FATAL:  28P01: password ...".
static std::string verbose_sqlstate(const std::string& message) {
  for (const char* severity : {"FATAL:  ", "ERROR:  ", "PANIC:  "}) {
    for (size_t pos = message.find(severity); pos != std::string::npos;
         pos = message.find(severity, pos + 1)) {
      size_t at = pos + std::strlen(severity);
      if (at + 7 > message.size() || message.compare(at + 5, 2, ": ") != 0) continue;
      std::string code = message.substr(at, 5);
      if (std::all_of(code.begin(), code.end(),
                      [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) || std::isupper(static_cast<unsigned char>(ch)); }))
        return code;
    }
  }
  return "";
}

ConnectOutcome try_connect(const std::string& conninfo, milliseconds timeout) {
  ConnectOutcome out;
  Conn c(PQconnectStart(conninfo.c_str()));
  if (!c) {
    out.error = "PQconnectStart returned null";
    return out;
  }
  PQsetErrorVerbosity(c.get(), PQERRORS_VERBOSE);
  if (PQstatus(c.get()) == CONNECTION_BAD) {
    out.error = PQerrorMessage(c.get());
    return out;
  }
  const auto deadline = Clock::now() + timeout;
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  for (;;) {
    if (st == PGRES_POLLING_OK) {
      out.conn = std::move(c);
      return out;
    }
    if (st == PGRES_POLLING_FAILED) break;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      out.error = "connection attempt timed out after " + std::to_string(timeout.count()) + " ms";
      return out;
    }
    pollfd p{PQsocket(c.get()), static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT),
             0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) break;
    if (n == 0) continue;
    st = PQconnectPoll(c.get());
  }
  out.error = PQerrorMessage(c.get());
  out.sqlstate = verbose_sqlstate(out.error);
  return out;
}

Conn connect_or_fail(const std::string& conninfo, milliseconds timeout) {
  auto o = try_connect(conninfo, timeout);
  if (!o.ok()) ADD_FAILURE() << "connect failed (" << conninfo << "): " << o.error;
  return std::move(o.conn);
}

bool wait_readable(PGconn* c, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{PQsocket(c), POLLIN, 0};
    if (p.fd < 0) return false;
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) continue;
    return PQconsumeInput(c) == 1;
  }
}

std::vector<Result> collect_results(PGconn* c, milliseconds timeout, std::string* error) {
  std::vector<Result> results;
  const auto deadline = Clock::now() + timeout;
  // Blocking mode: PQsend* already flushed what it could; finish the flush.
  for (int i = 0; PQflush(c) == 1 && i < 100000; ++i) {
    pollfd p{PQsocket(c), POLLOUT | POLLIN, 0};
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    if (p.revents & POLLIN) PQconsumeInput(c);
  }
  for (;;) {
    while (PQisBusy(c)) {
      if (!wait_readable(c, deadline)) {
        if (error)
          *error = Clock::now() >= deadline
                       ? "no result within " + std::to_string(timeout.count()) + " ms"
                       : std::string("connection broken: ") + PQerrorMessage(c);
        results.emplace_back(nullptr);
        return results;
      }
    }
    PGresult* r = PQgetResult(c);
    if (!r) return results;
    const auto st = PQresultStatus(r);
    results.emplace_back(r);
    // COPY states and pipeline syncs hand control back to the caller.
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH ||
        st == PGRES_PIPELINE_SYNC)
      return results;
    if (PQstatus(c) == CONNECTION_BAD) {
      // libpq may hand out the error without a terminating null result.
      PGresult* more = PQgetResult(c);
      while (more) {
        results.emplace_back(more);
        more = PQgetResult(c);
      }
      return results;
    }
  }
}

namespace {

Result pick(std::vector<Result>& results, const std::string& what, const std::string& error,
            bool quiet) {
  if (results.empty() || !results.back()) {
    if (!quiet) ADD_FAILURE() << what << ": " << (error.empty() ? "no result" : error);
    return nullptr;
  }
  for (auto& r : results)
    if (PQresultStatus(r.get()) == PGRES_FATAL_ERROR) return std::move(r);
  return std::move(results.back());
}

}  // namespace

Result exec(PGconn* c, const std::string& sql, milliseconds timeout, bool quiet) {
  if (!c) {
    if (!quiet) ADD_FAILURE() << "exec on a null connection: " << sql;
    return nullptr;
  }
  if (!PQsendQuery(c, sql.c_str())) {
    if (!quiet) ADD_FAILURE() << "PQsendQuery(" << sql << "): " << PQerrorMessage(c);
    return nullptr;
  }
  std::string error;
  auto results = collect_results(c, timeout, &error);
  return pick(results, sql, error, quiet);
}

Result exec_params(PGconn* c, const std::string& sql, const std::vector<std::string>& params,
                   milliseconds timeout) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const auto& p : params) {
    values.push_back(p.c_str());
    lengths.push_back(static_cast<int>(p.size()));
  }
  if (!PQsendQueryParams(c, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                         lengths.data(), nullptr, 0)) {
    ADD_FAILURE() << "PQsendQueryParams(" << sql << "): " << PQerrorMessage(c);
    return nullptr;
  }
  std::string error;
  auto results = collect_results(c, timeout, &error);
  return pick(results, sql, error, false);
}

std::string parameter_status(PGconn* c, const char* name) {
  const char* v = c ? PQparameterStatus(c, name) : nullptr;
  return v ? v : "";
}

std::string result_sqlstate(const PGresult* r) {
  if (!r) return "";
  const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  return s ? s : "";
}

std::string result_message(const PGresult* r) {
  if (!r) return "";
  const char* s = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  return s ? s : PQresultErrorMessage(r);
}

std::string describe(const PGresult* r) {
  if (!r) return "(no result)";
  std::string s = PQresStatus(PQresultStatus(r));
  if (PQresultStatus(r) == PGRES_FATAL_ERROR || PQresultStatus(r) == PGRES_NONFATAL_ERROR)
    s += " " + result_sqlstate(r) + ": " + result_message(r);
  return s;
}

namespace {

std::string single_value(PGconn* c, const Result& r) {
  if (!r) return "ERROR (no result: " + std::string(c ? PQerrorMessage(c) : "null conn") + ")";
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
    return "ERROR " + result_sqlstate(r.get()) + ": " + result_message(r.get());
  if (PQntuples(r.get()) != 1 || PQnfields(r.get()) != 1)
    return "ERROR: " + std::to_string(PQntuples(r.get())) + " rows x " +
           std::to_string(PQnfields(r.get())) + " columns";
  return PQgetisnull(r.get(), 0, 0) ? "NULL" : PQgetvalue(r.get(), 0, 0);
}

}  // namespace

std::string query_value(PGconn* c, const std::string& sql, milliseconds timeout) {
  return single_value(c, exec(c, sql, timeout, true));
}

std::string sent_value(PGconn* c, milliseconds timeout) {
  std::string error;
  auto results = collect_results(c, timeout, &error);
  if (results.empty()) return "ERROR (no result)";
  if (!results.back()) return "ERROR (no result: " + error + ")";
  return single_value(c, results.back());
}

bool exec_ok(PGconn* c, const std::string& sql, milliseconds timeout) {
  auto r = exec(c, sql, timeout, true);
  if (r && (PQresultStatus(r.get()) == PGRES_COMMAND_OK ||
            PQresultStatus(r.get()) == PGRES_TUPLES_OK))
    return true;
  ADD_FAILURE() << "query failed: " << sql << " -> "
                << (r ? describe(r.get()) : std::string("no result: ") +
                                                (c ? PQerrorMessage(c) : "null conn"));
  return false;
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

}  // namespace pgs::it
