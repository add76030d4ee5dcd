#include "proxy/check.h"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "config/audit.h"
#include "config/config.h"
#include "proxy/server_facts.h"

namespace pgs {
namespace {

std::string counted(uint32_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

// "2 warnings, 1 info": the non-zero counts.
std::string summary(const config::FindingCounts& n) {
  std::string out;
  for (auto [value, what] :
       {std::pair{n.errors, "error"}, std::pair{n.warnings, "warning"}, std::pair{n.infos, "info"}}) {
    if (value != 0) out += (out.empty() ? "" : ", ") + counted(value, what);
  }
  return out;
}

int exit_code(const config::FindingCounts& n, bool strict) {
  if (n.errors != 0) return 1;
  if (strict && n.warnings != 0) return 2;
  return 0;
}

}  // namespace

bool parse_check_args(const std::vector<std::string>& args, CheckOptions& out, std::string& error) {
  bool have_file = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--online") {
      out.online = true;
    } else if (a == "--strict") {
      out.strict = true;
    } else if (a == "--format" || a.rfind("--format=", 0) == 0) {
      std::string value;
      if (a == "--format") {
        if (i + 1 == args.size()) {
          error = "--format needs a value: text or json";
          return false;
        }
        value = args[++i];
      } else {
        value = a.substr(9);
      }
      if (value != "text" && value != "json") {
        error = "--format is \"" + value + "\"; expected text or json";
        return false;
      }
      out.json = value == "json";
    } else if (a.rfind("--", 0) == 0 && a.size() > 2) {
      error = "unknown option " + a + " for --check";
      return false;
    } else if (have_file) {
      error = "--check takes one FILE, not both " + out.file + " and " + a;
      return false;
    } else {
      out.file = a;
      have_file = true;
    }
  }
  if (!have_file) {
    error = "--check needs a FILE";
    return false;
  }
  return true;
}

int run_check(const CheckOptions& o) {
  config::LoadResult r = config::load_config_file(o.file);
  std::vector<config::Finding> findings;
  if (!r.errors.empty()) {
    if (!o.json) {
      for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
      return 1;
    }
    for (const auto& e : r.errors) findings.push_back(config::as_finding(e));
  } else {
    std::vector<config::ServerFacts> facts;
    if (o.online) {
      for (const config::ServerTarget& t : config::database_servers(*r.config))
        facts.push_back(read_server_facts(*r.config, t));
    }
    findings = config::audit(*r.config, r.places, o.online ? &facts : nullptr);
  }

  const config::FindingCounts n = config::count(findings);
  if (o.json) {
    std::fputs(config::to_json(o.file, findings).c_str(), stdout);
    return exit_code(n, o.strict);
  }
  for (const config::Finding& f : findings) std::printf("%s\n", config::to_text(o.file, f).c_str());
  if (n.errors != 0) {
    std::printf("%s: configuration is not fit to run: %s\n", o.file.c_str(), summary(n).c_str());
  } else if (o.strict && n.warnings != 0) {
    std::printf("%s: configuration is valid, but --strict fails it: %s\n", o.file.c_str(), summary(n).c_str());
  } else if (findings.empty()) {
    std::printf("%s: configuration is valid\n", o.file.c_str());
  } else {
    std::printf("%s: configuration is valid (%s)\n", o.file.c_str(), summary(n).c_str());
  }
  return exit_code(n, o.strict);
}

}  // namespace pgs
