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

}  // namespace
}  // namespace pgs::it
