// The driver matrix (issue 5): what test_drivers.cpp and the psql/pgbench
// cases in drivers_tools.cpp share.
#pragma once

#include <string>
#include <vector>

#include "harness.h"

namespace pgs::it {

// Every case a driver program runs, in its order (tests/drivers/*).
inline const std::vector<std::string> kMatrixCases{
    "types",        "reuse",       "same_name_many_clients", "pipeline", "transactions",
    "error_recovery", "copy_in",   "copy_out",               "large_result", "large_param",
    "notice",       "cursor",      "cancel",                 "many_connections"};

// One `CASE <name> PASS|FAIL|SKIP <detail>` line.
struct CaseResult {
  std::string name;
  std::string verdict;  // "PASS", "FAIL" or "SKIP"
  std::string detail;
  std::string line() const { return "CASE " + name + " " + verdict + " " + detail; }
};

// logs/<test><suffix> in the build directory (created if need be).
std::string matrix_log_path(const std::string& suffix);

// The psql cases against 127.0.0.1:`port` as bench/bench, run as argv (no shell).
std::vector<CaseResult> run_psql_cases(uint16_t port);

// pgbench -S with `protocol` (-M simple|extended|prepared) for a few seconds
// against `port`, after initialising its tables on PostgreSQL itself.
std::vector<CaseResult> run_pgbench_cases(uint16_t port, const std::string& protocol);

}  // namespace pgs::it
