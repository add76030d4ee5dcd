// Harness plumbing shared by the harness sources; tests use harness.h only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "harness.h"

namespace pgs::it {

struct RunAs {
  uid_t uid;
  gid_t gid;
};

// The postgres system user when running as root (initdb and postgres refuse
// root), else nullopt: run as ourselves.
std::optional<RunAs> postgres_user();
void chown_to(const std::string& path, const std::optional<RunAs>& as);

struct SpawnOptions {
  std::vector<std::string> argv;        // argv[0] searched in PATH
  std::vector<std::string> extra_env;   // "NAME=value", overriding the inherited value
  int output_fd = -1;                   // stdout and stderr; -1 means /dev/null
  bool new_process_group = false;
  std::optional<RunAs> run_as;
  std::string cwd;
};

// fork + exec. The child gets SIGKILL when the forking thread exits, so spawn
// long-lived children from the main thread only.
int spawn(const SpawnOptions& o);

// A signal for the command once `after` has passed.
struct SignalAfter {
  int sig;
  std::chrono::milliseconds after;
};

CommandResult run_command_as(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                             const std::vector<std::string>& extra_env,
                             const std::optional<RunAs>& as, const std::string& cwd,
                             std::optional<SignalAfter> signal = std::nullopt);

bool tcp_port_accepts(uint16_t port);

// What the watchdog cleans up when a test hangs.
void register_child(int pid);
void unregister_child(int pid);
void register_dir(const std::string& dir);
void unregister_dir(const std::string& dir);
void register_log(const std::string& path);
void unregister_log(const std::string& path);
[[noreturn]] void emergency_cleanup_and_exit(const std::string& why);

}  // namespace pgs::it
