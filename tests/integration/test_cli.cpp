// The command line: --version, --help, --check.
#include <filesystem>

#include "harness.h"

namespace pgs::it {
namespace {

// Whether `output` has a line "PATH:LINE:COL: message" (COL >= 1, message non-empty).
bool has_located_message(const std::string& output, const std::string& path, int line) {
  const std::string prefix = path + ":" + std::to_string(line) + ":";
  for (size_t pos = output.find(prefix); pos != std::string::npos;
       pos = output.find(prefix, pos + 1)) {
    size_t i = pos + prefix.size(), digits = 0;
    while (i < output.size() && std::isdigit(static_cast<unsigned char>(output[i]))) ++i, ++digits;
    if (digits == 0 || output[pos + prefix.size()] == '0') continue;
    if (output.compare(i, 2, ": ") == 0 && i + 2 < output.size() && output[i + 2] != '\n')
      return true;
  }
  return false;
}

TEST(Cli, Version) {
  auto r = run_pgsluice({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind(std::string("pgsluice ") + PGSLUICE_VERSION, 0), 0u) << r.output;
}

TEST(Cli, Help) {
  auto r = run_pgsluice({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("--config"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--check"), std::string::npos) << r.output;
  for (const char* option : {"--online", "--format text|json", "--strict"})
    EXPECT_NE(r.output.find(option), std::string::npos) << option << " in\n" << r.output;
}

TEST(Cli, UnknownOptionFails) {
  auto r = run_pgsluice({"--no-such-option"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.output.empty()) << "an unknown option deserves a message";
}

TEST(Cli, CheckGoodConfig) {
  ConfigBuilder cfg;
  std::string text = cfg.render();
  // --check must not need a running server: fixed ports.
  for (auto [from, to] : {std::pair{"@LISTEN@", "127.0.0.1:6432"}, std::pair{"@SERVER_HOST@", "127.0.0.1"},
                          std::pair{"@SERVER_PORT@", "5432"}})
    text.replace(text.find(from), std::string(from).size(), to);
  auto r = run_check(text);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\nconfig:\n" << text;
}

TEST(Cli, CheckExampleConfig) {
  const std::string example = std::string(PGSLUICE_SOURCE_DIR) + "/config/pgsluice.example.toml";
  ASSERT_TRUE(std::filesystem::exists(example)) << example;
  auto r = run_pgsluice({"--check", example});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Cli, CheckBadConfigReportsEveryProblem) {
  const std::string text =
      "[proxy]\n"                                   // 1
      "listen = \"127.0.0.1:6432\"\n"               // 2
      "no_such_key = 5\n"                           // 3
      "\n"                                          // 4
      "[server]\n"                                  // 5
      "host = \"127.0.0.1\"\n"                      // 6
      "port = 70000\n"                              // 7
      "\n"                                          // 8
      "[databases.bench]\n"                         // 9
      "pool_mode = \"statement_mode_of_sorts\"\n"   // 10
      "pool_size = 0\n"                             // 11
      "\n"                                          // 12
      "[auth]\n"                                    // 13
      "method = \"scram-sha-256\"\n"                // 14
      "\n"                                          // 15
      "[users]\n"                                   // 16
      "bench = \"bench\"\n";                        // 17
  std::string path;
  auto r = run_check(text, &path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  for (int line : {3, 7, 10, 11}) {
    EXPECT_TRUE(has_located_message(r.output, path, line))
        << "no FILE:" << line << ":COL: message for line " << line << " in:\n" << r.output;
  }
  EXPECT_NE(r.output.find("no_such_key"), std::string::npos) << r.output;
}

TEST(Cli, CheckSyntaxErrorHasAPosition) {
  std::string path;
  auto r = run_check("[proxy]\nlisten = \"127.0.0.1:6432\"\nmax_client_connections = = 3\n", &path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(path + ":3:"), std::string::npos) << r.output;
}

TEST(Cli, CheckMissingFile) {
  const std::string missing = work_dir() + "/logs/definitely-missing.toml";
  auto r = run_pgsluice({"--check", missing});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(missing), std::string::npos) << r.output;
}

TEST(Cli, RunWithBrokenConfigFailsToStart) {
  std::string path;
  run_check("[proxy]\nlisten = 12\n", &path);
  auto r = run_pgsluice({"--config", path});
  EXPECT_FALSE(r.timed_out) << "pgsluice started with a broken config";
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(path + ":2:"), std::string::npos) << r.output;
}

// ---------------------------------------------------------------- the audit

// A config that loads, with [limits] lines of the caller's and a quiet
// admission setup (a static limit: no "mode off" info). Fixed ports: --check
// needs no server unless --online.
std::string audit_config(const std::string& limits_lines, const std::string& server = "127.0.0.1",
                         uint16_t port = 5432, int pool_size = 4) {
  return "[proxy]\n"                                        // 1
         "listen = \"127.0.0.1:6432\"\n"                    // 2
         "[server]\n"                                       // 3
         "host = \"" + server + "\"\n"                       // 4
         "port = " + std::to_string(port) + "\n"             // 5
         "[databases.bench]\n"                              // 6
         "pool_size = " + std::to_string(pool_size) + "\n"   // 7
         "[users]\n"                                        // 8
         "bench = \"bench\"\n"                               // 9
         "[admission]\n"                                    // 10
         "mode = \"static\"\n"                               // 11
         "max_limit = 4\n"                                  // 12
         "[limits]\n"                                       // 13
         + limits_lines;                                     // 14...
}

CommandResult check_with(const std::string& text, const std::vector<std::string>& options, std::string* path) {
  run_check(text, path);  // writes the file (and checks it once without options)
  std::vector<std::string> args{"--check", *path};
  args.insert(args.end(), options.begin(), options.end());
  return run_pgsluice(args, 20s);
}

TEST(Cli, CheckAuditWarningsAndStrict) {
  // queue_timeout_ms more than half of client_timeout_ms: a warning at line 14.
  const std::string text = audit_config("queue_timeout_ms = 600\nclient_timeout_ms = 1000\n");
  std::string path;
  auto r = check_with(text, {}, &path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(path + ":14:20: warning: queue_timeout_ms 600 in [limits] is more than half of "
                                 "client_timeout_ms 1000"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(path + ": configuration is valid (1 warning)"), std::string::npos) << r.output;

  r = check_with(text, {"--strict"}, &path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--strict fails it: 1 warning"), std::string::npos) << r.output;

  // A clean file passes --strict.
  r = check_with(audit_config(""), {"--strict"}, &path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(path + ": configuration is valid\n"), std::string::npos) << r.output;

  // Infos never fail, not even under --strict.
  std::string with_info = audit_config("");
  with_info.replace(with_info.find("mode = \"static\""), 15, "mode = \"off\"");
  r = check_with(with_info, {"--strict"}, &path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(path + ":11:8: info: [admission] mode is \"off\""), std::string::npos) << r.output;
}

TEST(Cli, CheckAuditErrorsFail) {
  std::string path;
  auto r = check_with(audit_config("queue_timeout_ms = 1000\nclient_timeout_ms = 1000\n"), {}, &path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(path + ":14:20: error: queue_timeout_ms 1000 in [limits] is not below client_timeout_ms 1000"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("configuration is not fit to run: 1 error"), std::string::npos) << r.output;
}

TEST(Cli, CheckBadOptions) {
  std::string path;
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"--format", "xml"}, {"--format"}, {"--nope"}}) {
    auto r = check_with(audit_config(""), bad, &path);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(r.output.rfind("pgsluice: ", 0), 0u) << r.output;
  }
  auto r = run_pgsluice({"--check"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--check needs a FILE"), std::string::npos) << r.output;
}

// Parses pgsluice's JSON with Python's json module and prints the fields a
// tool would read, one per line.
std::string json_fields(const std::string& json) {
  const std::string file = work_dir() + "/logs/" + current_test_file_name() + ".json";
  write_file(file, json);
  const char* script =
      "import json, sys\n"
      "d = json.load(open(sys.argv[1]))\n"
      "print('file', d['file'])\n"
      "print('valid', d['valid'])\n"
      "s = d['summary']\n"
      "print('summary', s['errors'], s['warnings'], s['infos'])\n"
      "for f in d['findings']:\n"
      "    print(f['severity'], f['line'], f['column'], f['key'], f['file'] == d['file'], f['message'][:40])\n";
  auto r = run_command({"/usr/bin/python3", "-c", script, file}, 20s);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\nJSON:\n" << json;
  return r.output;
}

TEST(Cli, CheckJsonOutput) {
  std::string path;
  auto r = check_with(audit_config("queue_timeout_ms = 1000\nclient_timeout_ms = 1500\n"
                                   "[limits.clients.\"10.0.0.5\"]\nqueue_timeout_ms = 1500\n"),
                      {"--format", "json"}, &path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(json_fields(r.output),
            "file " + path + "\n"
            "valid False\n"
            "summary 1 1 0\n"
            "warning 14 20 limits.queue_timeout_ms True queue_timeout_ms 1000 in [limits] is mor\n"
            "error 17 20 limits.clients.\"10.0.0.5\".queue_timeout_ms True queue_timeout_ms 1500 in [limits.clients\n");

  // --strict decides the exit code only.
  r = check_with(audit_config("queue_timeout_ms = 1000\nclient_timeout_ms = 1500\n"), {"--format=json", "--strict"},
                 &path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(json_fields(r.output).find("valid True\nsummary 0 1 0\n"), std::string::npos);

  // A file that does not load is still one JSON object; load errors have no key.
  r = check_with("[proxy]\nlisten = 12\n", {"--format", "json"}, &path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  std::string fields = json_fields(r.output);
  EXPECT_NE(fields.find("valid False\n"), std::string::npos) << fields;
  EXPECT_NE(fields.find("error 2 10 None True \"listen\" in [proxy] must be a string"), std::string::npos) << fields;
  EXPECT_NE(fields.find("error None None None True no databases configured"), std::string::npos) << fields;
}

TEST(Cli, CheckOnlineAgainstTheServersLimits) {
  // The harness's server runs with max_connections 200 and 3 reserved for superusers.
  const std::string host = pg().host();
  const uint16_t port = pg().port();
  const std::string server = host + ":" + std::to_string(port);
  std::string path;

  auto r = check_with(audit_config("", host, port, 198), {"--online"}, &path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(path + ":7:13: error: the pools on " + server + " add up to 198 connections"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("more than the 197 the server allows (max_connections 200 - superuser_reserved_connections 3)"),
            std::string::npos)
      << r.output;

  // Offline, the same file only gets a warning about PostgreSQL's defaults.
  r = check_with(audit_config("", host, port, 198), {}, &path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(":7:13: warning: the pools on " + server), std::string::npos) << r.output;

  // Fits: clean even under --strict, and says what it found.
  r = check_with(audit_config("", host, port, 197), {"--online", "--strict"}, &path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("info: " + server + " (PostgreSQL "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("as user \"bench\"): the pools add up to 197 of the 197 connections"), std::string::npos)
      << r.output;
}

TEST(Cli, CheckOnlineLogsInAsTheFirstUserThatWorks) {
  const std::string host = pg().host();
  const uint16_t port = pg().port();
  std::string text = audit_config("", host, port);
  // "aaa" sorts first and has no role; bench works.
  text.replace(text.find("bench = \"bench\""), 15, "aaa = \"x\"\nbench = \"bench\"");
  std::string path;
  auto r = check_with(text, {"--online"}, &path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("as user \"bench\")"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(path + ":9:7: warning: there is no role \"aaa\""), std::string::npos) << r.output;
}

TEST(Cli, CheckOnlineStatementTimeout) {
  // As the server sees it for the user pgsluice logs in as.
  const std::string host = pg().host();
  const uint16_t port = pg().port();
  auto su = pg().superuser();
  ASSERT_TRUE(su);
  ASSERT_TRUE(exec_ok(su.get(), "ALTER ROLE app1 SET statement_timeout = '500ms'"));
  std::string text = audit_config("queue_timeout_ms = 500\n", host, port);
  text.replace(text.find("bench = \"bench\""), 15, "app1 = \"app\"");
  std::string path;
  auto r = check_with(text, {"--online"}, &path);
  exec_ok(su.get(), "ALTER ROLE app1 RESET statement_timeout");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(path + ":14:20: warning: queue_timeout_ms 500 in [limits] is not below statement_timeout "
                                 "500 ms on " + host + ":" + std::to_string(port) + " (as user \"app1\")"),
            std::string::npos)
      << r.output;
}

TEST(Cli, CheckOnlineUnreachableServer) {
  const uint16_t port = free_port();
  std::string path;
  auto r = check_with(audit_config("", "127.0.0.1", port), {"--online"}, &path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(path + ":4:8: error: cannot connect to 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("Connection refused"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace pgs::it
