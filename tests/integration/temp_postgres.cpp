// TempPostgres: a throw-away cluster for one test binary run.
//
// initdb is the slow part (seconds on a small machine), and ctest runs every
// test case as its own process, so the initialised and populated cluster is
// built once per build tree as a template (under a file lock) and each
// process copies it into a fresh temporary directory.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "harness.h"
#include "harness_internal.h"

namespace pgs::it {

namespace fs = std::filesystem;

namespace {

// Bump when the template's contents change; old templates are then ignored.
constexpr const char* kTemplateVersion = "v4";

constexpr const char* kSetupSql = R"sql(
CREATE ROLE bench LOGIN PASSWORD 'bench';
CREATE ROLE app1 LOGIN PASSWORD 'app';
CREATE ROLE rawtrust LOGIN;
CREATE DATABASE bench OWNER bench;
GRANT CONNECT ON DATABASE bench TO app1, rawtrust;
)sql";

constexpr const char* kBenchDbSql = R"sql(
CREATE SCHEMA foo AUTHORIZATION bench;
CREATE SCHEMA other AUTHORIZATION bench;
GRANT USAGE ON SCHEMA public, foo, other TO app1, rawtrust;
DROP DATABASE postgres
)sql";

std::string bin(const std::string& tool) {
  std::string d = pg_bindir();
  return d.empty() ? tool : d + "/" + tool;
}

// Clusters live in memory when possible: copying the template there is several
// times faster than to disk ($PGSLUICE_IT_TMPDIR overrides).
std::string temp_base() {
  if (const char* d = std::getenv("PGSLUICE_IT_TMPDIR"); d && *d) return d;
  std::error_code ec;
  auto space = fs::space("/dev/shm", ec);
  if (!ec && space.available > (1ull << 30) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return "/tmp";
}

std::string make_temp_dir(const std::string& pattern) {
  std::string t = pattern;
  if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  ::chmod(t.c_str(), 0755);
  return t;
}

int spawn_postmaster(const std::string& data_dir, const std::string& socket_dir, uint16_t port,
                     const std::string& log_path) {
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path);
  SpawnOptions o;
  o.argv = {bin("postgres"),
            "-D", data_dir,
            "-p", std::to_string(port),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=" + socket_dir,
            "-c", "max_connections=200",
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            // Short, so that a silent client is dropped within a test's patience, yet long
            // enough for 50 driver logins at once on a busy 2-CPU machine.
            "-c", "authentication_timeout=5s",
            "-c", "logging_collector=off",
            "-c", "log_line_prefix=%m [%p] %u@%d %a ",
            "-c", "shared_buffers=64MB",
            // Few WAL segments (initdb --wal-segsize=1): less to copy per test.
            "-c", "min_wal_size=2MB",
            "-c", "max_wal_size=256MB"};
  o.output_fd = log_fd;
  o.run_as = postgres_user();
  o.cwd = socket_dir;
  int pid = spawn(o);
  ::close(log_fd);
  return pid;
}

// Waits until the postmaster accepts connections; false if it died or took too long.
bool wait_postmaster_ready(int pid, uint16_t port, milliseconds timeout) {
  const std::string ping = "host=127.0.0.1 port=" + std::to_string(port) +
                           " user=postgres dbname=template1 connect_timeout=2";
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    if (PQping(ping.c_str()) == PQPING_OK) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

bool wait_pid(int pid, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno == ECHILD)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

void run_sql(const std::string& conninfo, const char* sql) {
  auto o = try_connect(conninfo, 15s);
  if (!o.ok()) throw std::runtime_error("template setup: connect: " + o.error);
  // One statement at a time: CREATE DATABASE refuses a multi-statement string.
  std::string all(sql);
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find(';', start);
    if (end == std::string::npos) end = all.size();
    std::string stmt = all.substr(start, end - start);
    start = end + 1;
    if (stmt.find_first_not_of(" \n\t") == std::string::npos) continue;
    Result r(PQexec(o.conn.get(), stmt.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
      throw std::runtime_error("template setup: " + stmt + ": " + PQresultErrorMessage(r.get()));
  }
}

class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot open lock " + path);
    // Bounded: another process builds the template in well under this.
    for (int i = 0; i < 1800; ++i) {
      if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
      std::this_thread::sleep_for(100ms);
    }
    throw std::runtime_error("timed out waiting for " + path);
  }
  ~FileLock() { ::close(fd_); }

 private:
  int fd_ = -1;
};

// Returns the template data directory, building it first if needed.
std::string ensure_template() {
  const std::string major = fs::path(pg_bindir()).parent_path().filename().string();
  const std::string tmpl =
      work_dir() + "/pg-template-" + (major.empty() ? "path" : major) + "-" + kTemplateVersion;
  if (fs::exists(tmpl + "/data/PG_VERSION")) return tmpl + "/data";
  fs::create_directories(work_dir());
  FileLock lock(work_dir() + "/pg-template.lock");
  if (fs::exists(tmpl + "/data/PG_VERSION")) return tmpl + "/data";

  const auto as = postgres_user();
  const std::string staging = make_temp_dir(temp_base() + "/pgsluice-it-init-XXXXXX");
  register_dir(staging);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
      unregister_dir(dir);
    }
  } cleanup{staging};
  chown_to(staging, as);
  write_file(staging + "/pwfile", "postgres\n");
  chown_to(staging + "/pwfile", as);

  auto r = run_command_as({bin("initdb"), "-D", staging + "/data", "-U", "postgres", "-A",
                           "scram-sha-256", "--pwfile=" + staging + "/pwfile", "-E", "UTF8",
                           "--locale=C", "-N", "--no-instructions", "--wal-segsize=1"},
                          180s, {}, as, staging);
  if (r.exit_code != 0) throw std::runtime_error("initdb failed:\n" + r.output);

  // rawtrust may log in without a password: raw-protocol tests need no SCRAM client.
  const std::string hba = staging + "/data/pg_hba.conf";
  write_file(hba, "host all rawtrust 127.0.0.1/32 trust\n" + read_file(hba));

  const uint16_t port = free_port();
  int pid = spawn_postmaster(staging + "/data", staging, port, staging + "/postgres.log");
  register_child(pid);
  const std::string ci = "host=127.0.0.1 port=" + std::to_string(port) + " user=postgres password=postgres";
  try {
    if (!wait_postmaster_ready(pid, port, 60s))
      throw std::runtime_error("template postgres did not start:\n" +
                               read_file(staging + "/postgres.log"));
    run_sql(ci + " dbname=postgres", kSetupSql);
    run_sql(ci + " dbname=bench", kBenchDbSql);
  } catch (...) {
    ::kill(pid, SIGKILL);
    wait_pid(pid, 10s);
    unregister_child(pid);
    throw;
  }
  ::kill(pid, SIGINT);  // fast shutdown: a clean checkpoint, so copies start quickly
  if (!wait_pid(pid, 60s)) {
    ::kill(pid, SIGKILL);
    wait_pid(pid, 10s);
    unregister_child(pid);
    throw std::runtime_error("template postgres did not shut down");
  }
  unregister_child(pid);

  const std::string tmp = make_temp_dir(work_dir() + "/pg-template-tmp-XXXXXX");
  auto cp = run_command({"cp", "-a", staging + "/data", tmp + "/data"}, 120s);
  if (cp.exit_code != 0) throw std::runtime_error("copying template failed: " + cp.output);
  std::error_code ec;
  fs::remove_all(tmpl, ec);
  fs::rename(tmp, tmpl);
  // Templates of other versions are stale now.
  for (const auto& e : fs::directory_iterator(work_dir(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("pg-template-", 0) == 0 && e.path().string() != tmpl &&
        name.find("lock") == std::string::npos && name.find("-tmp-") == std::string::npos)
      fs::remove_all(e.path(), ec);
  }
  return tmpl + "/data";
}

std::mutex g_instance_mutex;
TempPostgres* g_instance = nullptr;
std::string g_start_error;

}  // namespace

TempPostgres& TempPostgres::instance() {
  std::lock_guard lock(g_instance_mutex);
  if (g_instance) return *g_instance;
  if (!g_start_error.empty()) throw std::runtime_error(g_start_error);
  auto* p = new TempPostgres();
  try {
    p->start();
  } catch (const std::exception& e) {
    g_start_error = std::string("TempPostgres failed to start: ") + e.what();
    delete p;
    throw std::runtime_error(g_start_error);
  }
  g_instance = p;
  return *g_instance;
}

bool TempPostgres::started() {
  std::lock_guard lock(g_instance_mutex);
  return g_instance != nullptr;
}

void stop_temp_postgres() {
  std::lock_guard lock(g_instance_mutex);
  delete g_instance;
  g_instance = nullptr;
}

void TempPostgres::start() {
  const bool timing = std::getenv("PGSLUICE_IT_TIMING") != nullptr;
  auto t0 = Clock::now();
  auto phase = [&](const char* what) {
    if (timing)
      std::fprintf(stderr, "TempPostgres: %s after %lld ms\n", what,
                   static_cast<long long>(
                       std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count()));
  };
  const std::string tmpl = ensure_template();
  dir_ = make_temp_dir(temp_base() + "/pgsluice-it-XXXXXX");
  register_dir(dir_);
  const auto as = postgres_user();
  auto cp = run_command({"cp", "-a", tmpl, dir_ + "/data"}, 120s);
  if (cp.exit_code != 0) throw std::runtime_error("copying the template cluster: " + cp.output);
  // Copies made by root keep the postgres owner; copies made by a user are theirs.
  chown_to(dir_, as);
  phase("copied");
  port_ = free_port();
  postmaster_pid_ = spawn_postmaster(dir_ + "/data", dir_, port_, dir_ + "/postgres.log");
  register_child(postmaster_pid_);
  if (!wait_postmaster_ready(postmaster_pid_, port_, 60s))
    throw std::runtime_error("postgres did not start:\n" + log_tail(40));
  phase("accepting connections");
  admin_ = superuser("bench");
  if (!admin_) throw std::runtime_error("cannot connect as postgres:\n" + log_tail(40));
  phase("connected");
}

std::string TempPostgres::conninfo(const std::string& user, const std::string& password,
                                   const std::string& dbname, const std::string& extra) const {
  return make_conninfo(host_, port_, user, password, dbname, extra);
}

Conn TempPostgres::superuser(const std::string& dbname) {
  return connect_or_fail(conninfo("postgres", "postgres", dbname, "application_name=it_admin"));
}

bool TempPostgres::terminate_backend(int pid) {
  // Runs on its own connection so that tests may call it from any thread.
  auto c = superuser("bench");
  if (!c) return false;
  return query_value(c.get(), "SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)") ==
         "t";
}

int TempPostgres::count_connections(const std::string& user, const std::string& application_name) {
  auto c = superuser("bench");
  std::string sql =
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND usename = '" +
      user + "'";
  if (!application_name.empty()) sql += " AND application_name = '" + application_name + "'";
  std::string v = query_value(c.get(), sql);
  return std::isdigit(static_cast<unsigned char>(v[0])) ? std::stoi(v) : -1;
}

std::string TempPostgres::log_tail(size_t lines) const {
  return tail(read_file(dir_ + "/postgres.log"), lines);
}

void TempPostgres::stop() {
  admin_.reset();
  if (postmaster_pid_ > 0) {
    // What pg_ctl -m immediate sends; the postmaster is our child, so we reap it.
    ::kill(postmaster_pid_, SIGQUIT);
    if (!wait_pid(postmaster_pid_, 15s)) {
      ::kill(postmaster_pid_, SIGKILL);
      wait_pid(postmaster_pid_, 5s);
    }
    unregister_child(postmaster_pid_);
    postmaster_pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    unregister_dir(dir_);
    dir_.clear();
  }
}

TempPostgres::~TempPostgres() { stop(); }

}  // namespace pgs::it
