// `pgsluice --check FILE [--online] [--format text|json] [--strict]`: load
// the config, audit it, print every finding, and say by the exit code
// whether it is fit to run.
#pragma once

#include <string>
#include <vector>

namespace pgs {

struct CheckOptions {
  std::string file;
  bool online = false;  // also ask each database server for its limits
  bool json = false;
  bool strict = false;  // warnings fail too
};

// `args`: what follows "--check". False with `error` set on bad usage.
bool parse_check_args(const std::vector<std::string>& args, CheckOptions& out, std::string& error);

// Exit codes: 0 no errors (and, with strict, no warnings); 1 errors
// (the file does not load, or the audit found some); 2 warnings under strict.
int run_check(const CheckOptions& options);

}  // namespace pgs
