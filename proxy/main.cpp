// pgsluice: command line, signals, and the event loop.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/check.h"
#include "proxy/log.h"
#include "proxy/sched_slice.h"
#include "proxy/version.h"
#include "proxy/worker.h"

namespace {

void print_help() {
  std::printf(
      "pgsluice %s: a pooling PostgreSQL proxy\n"
      "\n"
      "Usage:\n"
      "  pgsluice --config FILE   run in the foreground, logging to stderr\n"
      "  pgsluice --check FILE [--online] [--format text|json] [--strict]\n"
      "                           validate FILE, then audit it: settings that are valid alone\n"
      "                           but do not fit together (timeouts, pool sizes against the\n"
      "                           server, weights, client names, admin console, exposure)\n"
      "  pgsluice --version       print the version\n"
      "  pgsluice --help          this text\n"
      "\n"
      "--check prints each problem as FILE:LINE:COL: message (the file does not load), or each\n"
      "finding as FILE:LINE:COL: error|warning|info: message.\n"
      "  --online        log in to each database server (as the first [users] entry that\n"
      "                  works) and check pool sizes against its max_connections and\n"
      "                  queue_timeout_ms against its statement_timeout; otherwise the\n"
      "                  PostgreSQL defaults are assumed (max_connections 100, 3 reserved)\n"
      "  --format json   one JSON object on stdout: file, valid, findings, summary\n"
      "  --strict        warnings fail too\n"
      "Exit: 0 no errors, 1 errors, 2 warnings under --strict (or a bad command line).\n"
      "\n"
      "Signals: SIGHUP reloads the config (a config that fails validation is refused and\n"
      "the running one stays); SIGTERM drains (stop accepting, let running transactions\n"
      "finish within [proxy] shutdown_timeout_ms, exit 0); SIGINT exits promptly.\n",
      PGSLUICE_VERSION);
}

// Open files: as many as the hard limit allows, since every client and
// server connection costs one.
void raise_fd_limit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
      LOG_INFO("open files limit raised from %llu to %llu", static_cast<unsigned long long>(before),
               static_cast<unsigned long long>(rl.rlim_max));
  }
}

// [proxy] sched_slice_us (see proxy/sched_slice.h); at start and on reload.
void apply_sched_slice(uint32_t slice_us) {
  static uint32_t applied = 0;
  if (slice_us == applied) return;
  if (int e = pgs::request_sched_slice(slice_us); e == pgs::kSchedRealtimeKept) {
    LOG_INFO("sched_slice_us = %u not applied: pgsluice runs under a real-time scheduling policy, "
             "which already runs ahead of the database's backends",
             static_cast<unsigned>(slice_us));
    return;  // not recorded as applied: a reload looks again
  } else if (e != 0) {
    LOG_WARN("sched_slice_us = %u: sched_setattr failed (%s); the kernel's default slice stays",
             static_cast<unsigned>(slice_us), std::strerror(e));
    return;
  }
  applied = slice_us;
  LOG_INFO("scheduler slice: %s", slice_us == 0 ? "the kernel's default" : (std::to_string(slice_us) + " us").c_str());
}

struct Program {
  std::string config_path;
  uv_loop_t* loop = nullptr;
  pgs::Worker* worker = nullptr;
  uv_signal_t sighup, sigterm, sigint;
};

void on_signal(uv_signal_t* h, int signum) {
  auto* p = static_cast<Program*>(h->data);
  if (signum == SIGHUP) {
    std::string message;
    p->worker->reload(message);  // logs either way
    apply_sched_slice(p->worker->config().proxy.sched_slice_us);
  } else if (signum == SIGTERM) {
    p->worker->begin_drain();
  } else if (signum == SIGINT) {
    LOG_INFO("SIGINT: exiting now");
    p->worker->stop_now();
  }
}

int run(const std::string& path) {
  pgs::config::LoadResult r = pgs::config::load_config_file(path);
  if (!r.errors.empty()) {
    for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 1;
  }
  auto cfg = std::make_shared<const pgs::config::Config>(std::move(*r.config));
  pgs::set_log_level(cfg->proxy.log_level);
  pgs::set_log_format(cfg->proxy.log_format);
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  apply_sched_slice(cfg->proxy.sched_slice_us);

  Program p;
  p.config_path = path;
  p.loop = uv_default_loop();
  pgs::ServerBudget budget;
  pgs::Worker worker(p.loop, budget);
  p.worker = &worker;
  for (uv_signal_t* s : {&p.sighup, &p.sigterm, &p.sigint}) {
    uv_signal_init(p.loop, s);
    s->data = &p;
  }
  uv_signal_start(&p.sighup, on_signal, SIGHUP);
  uv_signal_start(&p.sigterm, on_signal, SIGTERM);
  uv_signal_start(&p.sigint, on_signal, SIGINT);
  worker.set_on_stopped([&p]() {
    for (uv_signal_t* s : {&p.sighup, &p.sigterm, &p.sigint})
      uv_close(reinterpret_cast<uv_handle_t*>(s), nullptr);
  });

  std::string error;
  if (!worker.start(cfg, error)) {
    LOG_ERROR("%s", error.c_str());
    worker.stop_now();
    uv_run(p.loop, UV_RUN_DEFAULT);
    uv_loop_close(p.loop);
    return 1;
  }
  LOG_INFO("pgsluice %s started (pid %d)", PGSLUICE_VERSION, static_cast<int>(getpid()));
  uv_run(p.loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(p.loop);
  if (rc != 0) LOG_WARN("event loop closed with handles still open: %s", uv_strerror(rc));
  LOG_INFO("pgsluice stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-V") == 0)) {
    std::printf("pgsluice %s\n", PGSLUICE_VERSION);
    return 0;
  }
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    print_help();
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--check") == 0) {
    pgs::CheckOptions options;
    std::string error;
    if (pgs::parse_check_args(std::vector<std::string>(argv + 2, argv + argc), options, error))
      return pgs::run_check(options);
    std::fprintf(stderr, "pgsluice: %s\n", error.c_str());
    print_help();
    return 2;
  }
  if (argc == 3 && std::strcmp(argv[1], "--config") == 0) return run(argv[2]);
  std::fprintf(stderr, "pgsluice: expected --config FILE, --check FILE, --version or --help\n");
  print_help();
  return 2;
}
