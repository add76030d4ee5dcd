// PgsluiceProcess, config rendering and the Direct/through-pgsluice fixtures.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "harness.h"
#include "harness_internal.h"

namespace pgs::it {

namespace fs = std::filesystem;

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

std::string logs_dir() {
  std::string d = work_dir() + "/logs";
  fs::create_directories(d);
  return d;
}

// A file name under logs/ for this test; numbered when a test uses several.
std::string test_artifact(const std::string& suffix) {
  static std::map<std::string, int> used;  // main thread only
  std::string base = logs_dir() + "/" + current_test_file_name();
  int i = used[base + suffix]++;
  return base + (i == 0 ? "" : "-" + std::to_string(i)) + suffix;
}

const char* kSanitizerMarks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                 "runtime error:", "WARNING: ThreadSanitizer"};

}  // namespace

// ---------------------------------------------------------------- config

std::string ConfigBuilder::render() const {
  std::map<std::string, std::string> proxy{{"login_timeout_ms", "5000"},
                                           {"shutdown_timeout_ms", "3000"},
                                           {"log_level", "\"info\""}};
  std::map<std::string, std::string> server{{"connect_timeout_ms", "5000"}};
  auto split = [](std::map<std::string, std::string>& into, const std::vector<std::string>& lines) {
    for (const auto& l : lines) {
      auto eq = l.find('=');
      auto trim = [](std::string s) {
        s.erase(0, s.find_first_not_of(' '));
        s.erase(s.find_last_not_of(' ') + 1);
        return s;
      };
      into[trim(l.substr(0, eq))] = trim(l.substr(eq + 1));
    }
  };
  split(proxy, proxy_lines);
  split(server, server_lines);
  std::map<std::string, std::string> db{{"pool_mode", "\"" + pool_mode + "\""},
                                        {"pool_size", std::to_string(pool_size)}};
  split(db, database_lines);

  std::string s = "[proxy]\nlisten = \"@LISTEN@\"\n";
  for (const auto& [k, v] : proxy) s += k + " = " + v + "\n";
  s += "\n[server]\nhost = \"@SERVER_HOST@\"\nport = @SERVER_PORT@\n";
  for (const auto& [k, v] : server) s += k + " = " + v + "\n";
  s += "\n[databases.bench]\n";
  for (const auto& [k, v] : db) s += k + " = " + v + "\n";
  s += "\n[auth]\nmethod = \"" + auth_method + "\"\n";
  s += "\n[users]\nbench = \"bench\"\napp1 = \"app\"\n";
  if (!extra.empty()) s += "\n" + extra + "\n";
  return s;
}

// ---------------------------------------------------------------- PgsluiceProcess

PgsluiceProcess::PgsluiceProcess(std::string config_template)
    : config_template_(std::move(config_template)) {
  port_ = free_port();
  do admin_port_ = free_port();
  while (admin_port_ == port_);
  log_path_ = test_artifact(".log");
  config_path_ = log_path_.substr(0, log_path_.size() - 4) + ".toml";
}

std::string PgsluiceProcess::render(const std::string& config_template) const {
  std::string s = config_template;
  replace_all(s, "@LISTEN@", "127.0.0.1:" + std::to_string(port_));
  replace_all(s, "@LISTEN_PORT@", std::to_string(port_));
  replace_all(s, "@ADMIN_PORT@", std::to_string(admin_port_));
  if (s.find("@SERVER_") != std::string::npos) {
    replace_all(s, "@SERVER_HOST@", pg().host());
    replace_all(s, "@SERVER_PORT@", std::to_string(pg().port()));
  }
  return s;
}

void PgsluiceProcess::rewrite_config(const std::string& config_template) {
  // Write then rename, so the proxy never reads a half-written file.
  write_file(config_path_ + ".new", render(config_template));
  fs::rename(config_path_ + ".new", config_path_);
}

bool PgsluiceProcess::start(milliseconds ready_timeout) {
  write_file(config_path_, render(config_template_));
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    ADD_FAILURE() << "cannot open " << log_path_;
    return false;
  }
  SpawnOptions o;
  o.argv = {PGSLUICE_BINARY, "--config", config_path_};
  o.output_fd = log_fd;
  pid_ = spawn(o);
  ::close(log_fd);
  register_child(pid_);
  register_log(log_path_);

  std::vector<uint16_t> ports{port_};
  if (config_template_.find("@ADMIN_PORT@") != std::string::npos) ports.push_back(admin_port_);
  const auto deadline = Clock::now() + ready_timeout;
  while (Clock::now() < deadline) {
    if (!running()) {
      ADD_FAILURE() << "pgsluice " << describe_wait_status(*status_) << " during start-up; log "
                    << log_path_ << ":\n"
                    << tail(log(), 60) << "\nconfig:\n"
                    << read_file(config_path_);
      return false;
    }
    while (!ports.empty() && tcp_port_accepts(ports.back())) ports.pop_back();
    if (ports.empty()) return true;
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "pgsluice did not accept connections on " << (ports.back() == port_ ? "" : "admin ")
                << "port " << ports.back() << " within " << ready_timeout.count() << " ms; log:\n"
                << tail(log(), 60);
  return false;
}

std::string PgsluiceProcess::log() const { return read_file(log_path_); }

bool PgsluiceProcess::send_signal(int sig) {
  if (pid_ <= 0 || status_) return false;
  signalled_ = true;
  return ::kill(pid_, sig) == 0;
}

bool PgsluiceProcess::running() {
  if (pid_ <= 0 || status_) return false;
  int status = 0;
  pid_t w = ::waitpid(pid_, &status, WNOHANG);
  if (w == pid_) {
    status_ = status;
    unregister_child(pid_);
    return false;
  }
  return true;
}

std::optional<int> PgsluiceProcess::wait_exit(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!running()) return status_;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

void PgsluiceProcess::check_log_clean() {
  const std::string text = log();
  for (const char* mark : kSanitizerMarks) {
    auto pos = text.find(mark);
    if (pos != std::string::npos) {
      ADD_FAILURE() << "pgsluice log " << log_path_ << " contains a sanitizer report:\n"
                    << text.substr(pos > 2000 ? pos - 2000 : 0, 12000);
      return;
    }
  }
}

void PgsluiceProcess::stop_and_check(milliseconds timeout) {
  if (running()) {
    send_signal(SIGTERM);
    auto st = wait_exit(timeout);
    if (!st) {
      ADD_FAILURE() << "pgsluice did not exit within " << timeout.count()
                    << " ms of SIGTERM at the end of the test";
    } else if (!WIFEXITED(*st) || WEXITSTATUS(*st) != 0) {
      ADD_FAILURE() << "pgsluice " << describe_wait_status(*st)
                    << " after SIGTERM at the end of the test";
    }
  }
  check_log_clean();
}

PgsluiceProcess::~PgsluiceProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
  }
  if (pid_ > 0) unregister_child(pid_);
  unregister_log(log_path_);
  if (::testing::Test::HasFailure())
    std::fprintf(stderr, "---- pgsluice log %s (last lines) ----\n%s\n---- end of pgsluice log ----\n",
                 log_path_.c_str(), tail(log(), 80).c_str());
}

CommandResult run_pgsluice(const std::vector<std::string>& args, milliseconds timeout) {
  std::vector<std::string> argv{PGSLUICE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout);
}

CommandResult run_check(const std::string& config_text, std::string* file_path) {
  std::string path = test_artifact(".toml");
  write_file(path, config_text);
  if (file_path) *file_path = path;
  return run_pgsluice({"--check", path});
}

// ---------------------------------------------------------------- fixtures

std::string variant_name(const ::testing::TestParamInfo<Variant>& info) {
  switch (info.param) {
    case Variant::Direct: return "Direct";
    case Variant::Transaction: return "Transaction";
    case Variant::Session: return "Session";
  }
  return "Unknown";
}

void PrintTo(Variant v, std::ostream* os) {
  *os << variant_name(::testing::TestParamInfo<Variant>(v, 0));
}

bool TargetHarness::start_target(Variant v, ConfigBuilder cfg, bool keep_pool_mode) {
  // Starting the cluster here keeps it a child of the main thread (see spawn()).
  pg();
  variant_ = v;
  if (v == Variant::Direct) return true;
  if (!keep_pool_mode) cfg.pool_mode = v == Variant::Session ? "session" : "transaction";
  proxy_ = std::make_unique<PgsluiceProcess>(cfg.render());
  return proxy_->start();
}

uint16_t TargetHarness::target_port() const { return proxy_ ? proxy_->port() : pg().port(); }

std::string TargetHarness::conninfo(const std::string& user, const std::string& password,
                                    const std::string& dbname, const std::string& extra) const {
  return make_conninfo(target_host(), target_port(), user, password, dbname, extra);
}

Conn TargetHarness::connect_bench(const std::string& extra) {
  return connect_or_fail(conninfo("bench", "bench", "bench", extra));
}

void TargetHarness::stop_target() {
  if (!proxy_) return;
  if (proxy_->signalled() && !proxy_->running()) {
    // The test itself stopped it and judged the exit.
    proxy_->check_log_clean();
  } else if (!proxy_->running()) {
    ADD_FAILURE() << "pgsluice exited unexpectedly during the test: "
                  << describe_wait_status(*proxy_->exit_status());
    proxy_->check_log_clean();
  } else {
    proxy_->stop_and_check(10s);
  }
  proxy_.reset();
}

}  // namespace pgs::it
