// Where the loader says each key was written (for `pgsluice --check`).
#include "config/config.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace pgs::config {
namespace {

// ---------------------------------------------------------------- places

TEST(ConfigPlaces, LoaderRecordsWhereEachKeyWasWritten) {
  LoadResult r = load_config_string(
      "[databases.db]\n"                      // 1
      "pool_size = 5\n"                       // 2
      "[users]\n"                             // 3
      "u = \"p\"\n"                           // 4
      "[limits]\n"                            // 5
      "queue_timeout_ms = 300\n"              // 6
      "[limits.clients.\"10.0.0.5\"]\n"       // 7
      "weight = 2\n"                          // 8
      "[admin]\n"                             // 9
      "users = [\"u\", \"u\"]\n"              // 10
      "[admission]\n"                         // 11
      "latency_tolerance = 1.5\n",            // 12
      "a.toml");
  ASSERT_TRUE(r.errors.empty());
  auto at = [&](const std::string& key) {
    auto it = r.places.find(key);
    return it == r.places.end() ? std::pair<uint32_t, uint32_t>{0, 0}
                                : std::pair{it->second.line, it->second.column};
  };
  EXPECT_EQ(at("databases.db.pool_size"), std::pair(2u, 13u));
  EXPECT_EQ(at("users.u"), std::pair(4u, 5u));
  EXPECT_EQ(at("limits.queue_timeout_ms"), std::pair(6u, 20u));
  EXPECT_EQ(at("limits.clients.\"10.0.0.5\".weight"), std::pair(8u, 10u));
  EXPECT_EQ(at("limits.clients.\"10.0.0.5\"").first, 7u);
  EXPECT_EQ(at("databases.db").first, 1u);
  EXPECT_EQ(at("admin.users"), std::pair(10u, 9u));
  EXPECT_EQ(at("admin.users[1]"), std::pair(10u, 15u));
  EXPECT_EQ(at("admission.latency_tolerance"), std::pair(12u, 21u));
  EXPECT_EQ(r.places.count("limits.weight"), 0u) << "a default was not written";
}

}  // namespace
}  // namespace pgs::config
