// SHOW topics of the admin console: columns (names, order, types) as
// PgBouncer 1.21 has them, values mapped from a Status, and encode().
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin_status_fixture.h"
#include "protocol/byte_reader.h"
#include "protocol/messages.h"
#include "proxy/admin/show.h"

namespace pgs::admin {
namespace {

using testing::make_status;
constexpr int32_t T = type_oid::kText, I4 = type_oid::kInt4, I8 = type_oid::kInt8,
                  F8 = type_oid::kFloat8, B = type_oid::kBool, N = type_oid::kNumeric;
constexpr std::string_view kNull = "<NULL>";

ResultSet show_ok(const Status& s, std::string_view topic) {
  ResultSet rs;
  ErrorInfo err;
  EXPECT_TRUE(show(s, topic, rs, err)) << topic << ": " << err.message;
  EXPECT_EQ(rs.command_tag, "SHOW");
  for (const auto& row : rs.rows) EXPECT_EQ(row.size(), rs.columns.size()) << topic;
  return rs;
}

std::vector<std::pair<std::string, int32_t>> columns_of(const ResultSet& rs) {
  std::vector<std::pair<std::string, int32_t>> out;
  for (const Column& c : rs.columns) out.emplace_back(c.name, c.type_oid);
  return out;
}

using Columns = std::vector<std::pair<std::string, int32_t>>;
using Row = std::vector<std::string>;

Row row_of(const ResultSet& rs, size_t i) {
  Row out;
  for (const Value& v : rs.rows.at(i)) out.push_back(v ? *v : std::string(kNull));
  return out;
}

// Column lists below are written out from PgBouncer 1.21's doc/usage.md and
// src/admin.c / src/stats.c (names, order, and the type each column is sent as).

TEST(AdminShow, Version) {
  const ResultSet rs = show_ok(make_status(), "VERSION");
  EXPECT_EQ(columns_of(rs), (Columns{{"version", T}}));
  ASSERT_EQ(rs.rows.size(), 1u);
  EXPECT_EQ(row_of(rs, 0), (Row{"pgsluice 0.1.0"}));
}

TEST(AdminShow, TopicsAnyCase) {
  const Status s = make_status();
  EXPECT_EQ(show_ok(s, "version").rows.size(), 1u);
  EXPECT_EQ(show_ok(s, "Pools").rows.size(), 2u);
}

TEST(AdminShow, UnknownTopic) {
  ResultSet rs;
  ErrorInfo err;
  EXPECT_FALSE(show(make_status(), "nope", rs, err));
  EXPECT_EQ(err.sqlstate, "42704");
  EXPECT_NE(err.hint.find("ADMISSION"), std::string::npos);
  EXPECT_FALSE(show(make_status(), "FDS", rs, err));
  EXPECT_EQ(err.sqlstate, "0A000");
}

TEST(AdminShow, EveryListedTopicAnswers) {
  const Status s = make_status();
  ASSERT_EQ(show_topics().size(), 16u);
  for (std::string_view topic : show_topics()) {
    const ResultSet rs = show_ok(s, topic);
    EXPECT_FALSE(rs.columns.empty()) << topic;
  }
}

TEST(AdminShow, Help) {
  const ResultSet rs = show_ok(make_status(), "HELP");
  EXPECT_EQ(columns_of(rs), (Columns{{"help", T}}));
  std::string all;
  for (size_t i = 0; i < rs.rows.size(); ++i) all += row_of(rs, i)[0] + "\n";
  for (std::string_view word : {"SHOW", "SET key = value", "RELOAD", "PAUSE [db]", "RESUME [db]",
                                "KILL_CLIENT id", "SHUTDOWN"}) {
    EXPECT_NE(all.find(word), std::string::npos) << word;
  }
  for (std::string_view topic : show_topics()) {
    EXPECT_NE(all.find(topic), std::string::npos) << topic;
  }
}

TEST(AdminShow, Config) {
  const ResultSet rs = show_ok(make_status(), "CONFIG");
  EXPECT_EQ(columns_of(rs), (Columns{{"key", T}, {"value", T}, {"default", T}, {"changeable", T}}));
  ASSERT_EQ(rs.rows.size(), 6u);
  EXPECT_EQ(row_of(rs, 0), (Row{"proxy.max_client_connections", "10000", "10000", "no"}));
  EXPECT_EQ(row_of(rs, 1), (Row{"limits.max_concurrency", "0", "0", "yes"}));
  EXPECT_EQ(row_of(rs, 2),
            (Row{"databases.bench.pool_mode", "\"transaction\"", "\"transaction\"", "yes"}));
  EXPECT_EQ(row_of(rs, 3), (Row{"limits.clients.\"10.0.0.5\".weight", "1", "", "yes"}));
  // PgBouncer's names for what pgbouncer_exporter reads.
  EXPECT_EQ(row_of(rs, 4), (Row{"max_client_conn", "10000", "10000", "no"}));
  EXPECT_EQ(row_of(rs, 5), (Row{"max_user_connections", "0", "0", "no"}));
}

TEST(AdminShow, Databases) {
  const ResultSet rs = show_ok(make_status(), "DATABASES");
  EXPECT_EQ(columns_of(rs), (Columns{{"name", T},
                                     {"host", T},
                                     {"port", I4},
                                     {"database", T},
                                     {"force_user", T},
                                     {"pool_size", I4},
                                     {"min_pool_size", I4},
                                     {"reserve_pool", I4},
                                     {"pool_mode", T},
                                     {"max_connections", I4},
                                     {"current_connections", I4},
                                     {"paused", I4},
                                     {"disabled", I4}}));
  ASSERT_EQ(rs.rows.size(), 2u);
  EXPECT_EQ(row_of(rs, 0), (Row{"bench", "127.0.0.1", "5432", "benchdb", std::string(kNull), "20",
                                "0", "0", "transaction", "0", "5", "0", "0"}));
  EXPECT_EQ(row_of(rs, 1), (Row{"app", "db.internal", "5433", "app", std::string(kNull), "10", "0",
                                "0", "session", "0", "1", "1", "0"}));
}

TEST(AdminShow, Pools) {
  const ResultSet rs = show_ok(make_status(), "POOLS");
  EXPECT_EQ(columns_of(rs), (Columns{{"database", T},
                                     {"user", T},
                                     {"cl_active", I4},
                                     {"cl_waiting", I4},
                                     {"cl_active_cancel_req", I4},
                                     {"cl_waiting_cancel_req", I4},
                                     {"sv_active", I4},
                                     {"sv_active_cancel", I4},
                                     {"sv_being_canceled", I4},
                                     {"sv_idle", I4},
                                     {"sv_used", I4},
                                     {"sv_tested", I4},
                                     {"sv_login", I4},
                                     {"maxwait", I4},
                                     {"maxwait_us", I4},
                                     {"pool_mode", T}}));
  ASSERT_EQ(rs.rows.size(), 2u);
  // cl_active counts the idle client too, as PgBouncer's does.
  EXPECT_EQ(row_of(rs, 0), (Row{"bench", "alice", "2", "0", "0", "0", "1", "0", "0", "3", "0", "0",
                                "1", "2", "500000", "transaction"}));
  EXPECT_EQ(row_of(rs, 1), (Row{"app", "bob", "0", "1", "0", "0", "0", "0", "0", "1", "0", "0", "0",
                                "0", "0", "session"}));
}

const Columns kConnectionColumns = {{"type", T},
                                    {"user", T},
                                    {"database", T},
                                    {"state", T},
                                    {"addr", T},
                                    {"port", I4},
                                    {"local_addr", T},
                                    {"local_port", I4},
                                    {"connect_time", T},
                                    {"request_time", T},
                                    {"wait", I4},
                                    {"wait_us", I4},
                                    {"close_needed", I4},
                                    {"ptr", T},
                                    {"link", T},
                                    {"remote_pid", I4},
                                    {"tls", T},
                                    {"application_name", T},
                                    {"prepared_statements", I4}};

TEST(AdminShow, Clients) {
  const ResultSet rs = show_ok(make_status(), "CLIENTS");
  EXPECT_EQ(columns_of(rs), kConnectionColumns);
  ASSERT_EQ(rs.rows.size(), 3u);
  EXPECT_EQ(row_of(rs, 0), (Row{"C", "alice", "bench", "active", "10.0.0.5", "40001", "127.0.0.1",
                                "6432", "2025-11-25 14:30:08 UTC", "2025-11-25 14:31:07 UTC", "0",
                                "0", "0", "0x1", "0x65", "77", "", "pgbench", "0"}));
  // Unlinked: link is "" (PgBouncer); never requested: request_time NULL.
  EXPECT_EQ(row_of(rs, 2), (Row{"C", "bob", "app", "waiting", "10.0.0.7", "40003", "", "0",
                                "2025-11-25 14:31:03 UTC", std::string(kNull), "2", "500000", "0",
                                "0x3", "", "0", "", "", "0"}));
}

TEST(AdminShow, Servers) {
  const ResultSet rs = show_ok(make_status(), "SERVERS");
  EXPECT_EQ(columns_of(rs), kConnectionColumns);
  ASSERT_EQ(rs.rows.size(), 2u);
  EXPECT_EQ(row_of(rs, 0), (Row{"S", "alice", "bench", "active", "127.0.0.1", "5432", "127.0.0.1",
                                "50001", "2025-11-25 14:29:08 UTC", "2025-11-25 14:31:07 UTC", "0",
                                "0", "0", "0x65", "0x1", "4242", "", "pgbench", "0"}));
  EXPECT_EQ(row_of(rs, 1)[3], "idle");
  EXPECT_EQ(row_of(rs, 1)[8], kNull);  // connect_time unknown
  EXPECT_EQ(row_of(rs, 1)[15], "4343");
}

TEST(AdminShow, Users) {
  const ResultSet rs = show_ok(make_status(), "USERS");
  EXPECT_EQ(columns_of(rs), (Columns{{"name", T}, {"pool_mode", T}}));
  ASSERT_EQ(rs.rows.size(), 2u);
  EXPECT_EQ(row_of(rs, 0), (Row{"alice", "transaction"}));
  EXPECT_EQ(row_of(rs, 1), (Row{"bob", std::string(kNull)}));
}

TEST(AdminShow, Lists) {
  const ResultSet rs = show_ok(make_status(), "LISTS");
  EXPECT_EQ(columns_of(rs), (Columns{{"list", T}, {"items", I4}}));
  ASSERT_EQ(rs.rows.size(), 14u);
  EXPECT_EQ(row_of(rs, 0), (Row{"databases", "2"}));
  EXPECT_EQ(row_of(rs, 6), (Row{"used_clients", "3"}));
}

TEST(AdminShow, Stats) {
  const Status s = make_status();
  ResultSet rs = show_ok(s, "STATS");
  EXPECT_EQ(columns_of(rs), (Columns{{"database", T},
                                     {"total_xact_count", N},
                                     {"total_query_count", N},
                                     {"total_received", N},
                                     {"total_sent", N},
                                     {"total_xact_time", N},
                                     {"total_query_time", N},
                                     {"total_wait_time", N},
                                     {"avg_xact_count", N},
                                     {"avg_query_count", N},
                                     {"avg_recv", N},
                                     {"avg_sent", N},
                                     {"avg_xact_time", N},
                                     {"avg_query_time", N},
                                     {"avg_wait_time", N}}));
  ASSERT_EQ(rs.rows.size(), 2u);
  EXPECT_EQ(row_of(rs, 0), (Row{"bench", "1000", "2500", "123456", "654321", "9000000", "7000000",
                                "300000", "10", "25", "1234", "6543", "900", "280", "30"}));

  const Columns subset = {{"database", T},       {"xact_count", N}, {"query_count", N},
                          {"bytes_received", N}, {"bytes_sent", N}, {"xact_time", N},
                          {"query_time", N},     {"wait_time", N}};
  rs = show_ok(s, "STATS_TOTALS");
  EXPECT_EQ(columns_of(rs), subset);
  EXPECT_EQ(row_of(rs, 0),
            (Row{"bench", "1000", "2500", "123456", "654321", "9000000", "7000000", "300000"}));
  EXPECT_EQ(row_of(rs, 1), (Row{"app", "0", "0", "0", "0", "0", "0", "0"}));
  rs = show_ok(s, "STATS_AVERAGES");
  EXPECT_EQ(columns_of(rs), subset);
  EXPECT_EQ(row_of(rs, 0), (Row{"bench", "10", "25", "1234", "6543", "900", "280", "30"}));
}

TEST(AdminShow, Totals) {
  Status s = make_status();
  s.databases[1].totals.xact_count = 500;
  s.databases[1].averages.xact_count = 30;
  s.databases[1].averages.xact_time_us = 100;  // weighted with bench's 10/s at 900 us: 300
  const ResultSet rs = show_ok(s, "TOTALS");
  EXPECT_EQ(columns_of(rs), (Columns{{"name", T}, {"value", N}}));
  ASSERT_EQ(rs.rows.size(), 14u);
  EXPECT_EQ(row_of(rs, 0), (Row{"total_xact_count", "1500"}));
  EXPECT_EQ(row_of(rs, 2), (Row{"total_client_bytes", "123456"}));
  EXPECT_EQ(row_of(rs, 7), (Row{"avg_xact_count", "40"}));
  EXPECT_EQ(row_of(rs, 11), (Row{"avg_xact_time", "300"}));
  EXPECT_EQ(row_of(rs, 13), (Row{"avg_wait_time", "30"}));
}

TEST(AdminShow, Admission) {
  const ResultSet rs = show_ok(make_status(), "ADMISSION");
  EXPECT_EQ(columns_of(rs), (Columns{{"database", T},
                                     {"mode", T},
                                     {"limit", I8},
                                     {"running", I8},
                                     {"queued", I8},
                                     {"requests", I8},
                                     {"admitted", I8},
                                     {"rejected_queue_full", I8},
                                     {"rejected_timeout", I8},
                                     {"rejected_shed", I8},
                                     {"rejected_predicted", I8},
                                     {"rejected_paused", I8},
                                     {"cancelled", I8},
                                     {"min_latency_ms", F8},
                                     {"latency_ms", F8},
                                     {"latency_p50_ms", F8},
                                     {"latency_p90_ms", F8},
                                     {"latency_p99_ms", F8},
                                     {"wait_p50_ms", F8},
                                     {"wait_p99_ms", F8},
                                     {"throughput", F8},
                                     {"paused", B}}));
  ASSERT_EQ(rs.rows.size(), 2u);
  const Row bench = row_of(rs, 0);
  EXPECT_EQ(bench, (Row{"bench", "adaptive", "4",     "3",    "10",     "1000", "900", "50",
                        "30",    "15",       "4",     "1",    "2",      "6.1",  "8",   "3.902",
                        "27.25", "49.974",   "0.057", "23.8", "150.25", "f"}));
  const Row app = row_of(rs, 1);
  EXPECT_EQ(app[1], "off");
  EXPECT_EQ(app[2], kNull);  // no limit when admission is off
  EXPECT_EQ(app[15], "0");   // no samples: 0
  EXPECT_EQ(app[21], "t");
}

TEST(AdminShow, ClientKeys) {
  const ResultSet rs = show_ok(make_status(), "CLIENT_KEYS");
  EXPECT_EQ(columns_of(rs), (Columns{{"database", T},
                                     {"key", T},
                                     {"connections", I8},
                                     {"running", I8},
                                     {"queued", I8},
                                     {"limit", I8},
                                     {"weight", I8},
                                     {"max_queue", I8},
                                     {"queue_timeout_ms", I8},
                                     {"demand_rate", F8},
                                     {"served_rate", F8},
                                     {"demand_share", F8},
                                     {"admitted", I8},
                                     {"rejected_queue_full", I8},
                                     {"rejected_timeout", I8},
                                     {"rejected_shed", I8},
                                     {"rejected_predicted", I8},
                                     {"rejected_paused", I8},
                                     {"cancelled", I8},
                                     {"wait_p50_ms", F8},
                                     {"wait_p90_ms", F8},
                                     {"wait_p99_ms", F8},
                                     {"reject_wait_p99_ms", F8},
                                     {"standing", B}}));
  ASSERT_EQ(rs.rows.size(), 3u);
  const Row k1 = row_of(rs, 0);
  EXPECT_EQ(k1, (Row{"bench", "10.0.0.5", "2",    "2",    "8",     std::string(kNull),
                     "1",     "64",       "1000", "300",  "120",   "0.75",
                     "600",   "50",       "0",    "15",   "0",     "0",
                     "2",     "0.1",      "22",   "24.7", "0.099", "t"}));
  EXPECT_EQ(row_of(rs, 1), (Row{"bench", "10.0.0.6", "0",   "1",    "2",    "2",     "3", "16",
                                "500",   "100",      "100", "0.25", "300",  "0",     "0", "0",
                                "0",     "0",        "0",   "0.05", "0.09", "0.099", "0", "f"}));
  const Row k3 = row_of(rs, 2);
  EXPECT_EQ(k3[0], "app");
  EXPECT_EQ(k3[2], "1");   // one client of app with key 10.0.0.7
  EXPECT_EQ(k3[11], "0");  // no demand at all: share 0
}

TEST(AdminShow, Alerts) {
  const ResultSet rs = show_ok(make_status(), "ALERTS");
  EXPECT_EQ(columns_of(rs), (Columns{{"kind", T},
                                     {"database", T},
                                     {"key", T},
                                     {"active", B},
                                     {"since", T},
                                     {"cleared", T},
                                     {"demand_share", F8},
                                     {"fair_share", F8},
                                     {"factor", F8},
                                     {"message", T}}));
  ASSERT_EQ(rs.rows.size(), 2u);
  EXPECT_EQ(
      row_of(rs, 0),
      (Row{"skew", "bench", "10.0.0.5", "t", "2025-11-25 14:31:00 UTC", std::string(kNull), "0.75",
           "0.25", "3", "10.0.0.5 asks for 75% of bench's transactions; its fair share is 25%"}));
  EXPECT_EQ(row_of(rs, 1)[3], "f");
  EXPECT_EQ(row_of(rs, 1)[4], "2025-11-25 14:21:08 UTC");
  EXPECT_EQ(row_of(rs, 1)[5], "2025-11-25 14:22:48 UTC");
}

TEST(AdminShow, DecimalsAreStable) {
  Status s = make_status();
  s.databases[0].admission.throughput = 2.0 / 3.0;
  s.databases[0].admission.min_latency_ms = 0.0004;
  s.databases[0].admission.recent_latency_ms = 1234567.891;
  const Row row = row_of(show_ok(s, "ADMISSION"), 0);
  EXPECT_EQ(row[20], "0.667");
  EXPECT_EQ(row[13], "0");
  EXPECT_EQ(row[14], "1234567.891");
}

// ---- encode ----

struct Decoded {
  std::vector<std::string> names;
  std::vector<int32_t> oids;
  std::vector<int16_t> sizes;
  std::vector<std::vector<Value>> rows;
  std::string tag;
  bool ok = false;
};

// Reads RowDescription, DataRow*, CommandComplete back; fails the test on
// anything unexpected.
Decoded decode(std::string_view bytes) {
  Decoded d;
  proto::ByteReader r(bytes);
  bool have_description = false;
  while (!r.empty()) {
    uint8_t type = 0;
    int32_t length = 0;
    std::string_view body;
    if (!r.read_u8(type) || !r.read_i32(length) || length < 4 ||
        !r.read_bytes(static_cast<size_t>(length) - 4, body)) {
      ADD_FAILURE() << "truncated message";
      return d;
    }
    proto::ByteReader b(body);
    if (type == proto::be::kRowDescription) {
      EXPECT_FALSE(have_description);
      have_description = true;
      int16_t n = 0;
      EXPECT_TRUE(b.read_i16(n));
      for (int16_t i = 0; i < n; ++i) {
        std::string_view name;
        int32_t table = -1, oid = 0, typmod = 0;
        int16_t attnum = -1, size = 0, format = -1;
        if (!(b.read_cstring(name) && b.read_i32(table) && b.read_i16(attnum) && b.read_i32(oid) &&
              b.read_i16(size) && b.read_i32(typmod) && b.read_i16(format))) {
          ADD_FAILURE() << "bad RowDescription";
          return d;
        }
        EXPECT_EQ(format, 0);
        EXPECT_EQ(typmod, -1);
        d.names.emplace_back(name);
        d.oids.push_back(oid);
        d.sizes.push_back(size);
      }
      EXPECT_TRUE(b.empty());
    } else if (type == proto::be::kDataRow) {
      EXPECT_TRUE(have_description);
      EXPECT_TRUE(d.tag.empty());
      int16_t n = 0;
      EXPECT_TRUE(b.read_i16(n));
      std::vector<Value>& row = d.rows.emplace_back();
      for (int16_t i = 0; i < n; ++i) {
        int32_t len = 0;
        EXPECT_TRUE(b.read_i32(len));
        if (len == -1) {
          row.emplace_back(std::nullopt);
          continue;
        }
        std::string_view v;
        EXPECT_TRUE(b.read_bytes(static_cast<size_t>(len), v));
        row.emplace_back(std::string(v));
      }
      EXPECT_TRUE(b.empty());
    } else if (type == proto::be::kCommandComplete) {
      std::string_view tag;
      EXPECT_TRUE(proto::parse_command_complete(body, tag));
      d.tag = tag;
    } else {
      ADD_FAILURE() << "unexpected message " << static_cast<char>(type);
      return d;
    }
  }
  d.ok = have_description && !d.tag.empty();
  return d;
}

TEST(AdminShow, EncodeRoundTrip) {
  const Status s = make_status();
  for (std::string_view topic : show_topics()) {
    const ResultSet rs = show_ok(s, topic);
    const Decoded d = decode(encode(rs));
    ASSERT_TRUE(d.ok) << topic;
    ASSERT_EQ(d.names.size(), rs.columns.size()) << topic;
    for (size_t i = 0; i < rs.columns.size(); ++i) {
      EXPECT_EQ(d.names[i], rs.columns[i].name);
      EXPECT_EQ(d.oids[i], rs.columns[i].type_oid);
    }
    EXPECT_EQ(d.rows, rs.rows) << topic;
    EXPECT_EQ(d.tag, "SHOW");
  }
}

TEST(AdminShow, EncodeNullsSizesAndEmptySet) {
  ResultSet rs;
  rs.columns = {{"a", T}, {"b", I4}, {"c", I8}, {"d", F8}, {"e", B}, {"f", N}};
  rs.rows = {{"x", std::nullopt, "1", "2.5", "t", "7"}, {std::nullopt, "", "", "", "", ""}};
  Decoded d = decode(encode(rs));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.sizes, (std::vector<int16_t>{-1, 4, 8, 8, 1, -1}));
  EXPECT_EQ(d.rows, rs.rows);
  EXPECT_EQ(d.rows[0][1], std::nullopt);
  EXPECT_EQ(d.rows[1][1], std::optional<std::string>(""));  // empty is not NULL

  rs.rows.clear();
  rs.command_tag = "SHOW";
  d = decode(encode(rs));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.names.size(), 6u);
  EXPECT_TRUE(d.rows.empty());
}

}  // namespace
}  // namespace pgs::admin
