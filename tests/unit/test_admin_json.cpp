// /api/status JSON and the JSON writer. The output is read back by Python's
// json module (strict: NaN/Infinity refused) and checked field by field
// against the schema in proxy/admin/status_json.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include "admin_status_fixture.h"
#include "proxy/admin/json_writer.h"
#include "proxy/admin/status_json.h"

namespace pgs::admin {
namespace {

using testing::make_status;

// Writes `json` to a file and runs `python_check` on it as `d` (the parsed
// document); true if Python parsed it and every assert held.
bool python_accepts(const std::string& json, const std::string& python_check,
                    const std::string& name) {
  const std::string path = ::testing::TempDir() + "pgsluice_" + name + ".json";
  std::ofstream(path, std::ios::binary) << json;
  const std::string script_path = ::testing::TempDir() + "pgsluice_" + name + ".py";
  std::ofstream(script_path)
      << "import json, sys\n"
         "def refuse(c): raise ValueError('non-finite number ' + c)\n"
         "d = json.load(open(sys.argv[1], encoding='utf-8'), parse_constant=refuse)\n"
      << python_check << "\n";
  const std::string cmd = "/usr/bin/python3 " + script_path + " " + path;
  return std::system(cmd.c_str()) == 0;
}

TEST(AdminJson, StatusFollowsTheSchema) {
  const std::string json = status_json(make_status());
  EXPECT_TRUE(python_accepts(json, R"PY(
assert d["version"] == "pgsluice 0.1.0"
assert d["now_ms"] == 1764081068123 and isinstance(d["now_ms"], int)
assert abs(d["uptime_s"] - 123.4) < 1e-9
assert d["client_key"] == "address"
assert d["clients"] == {"connections": 3, "max": 10000}
assert [db["name"] for db in d["databases"]] == ["bench", "app"]
b = d["databases"][0]
for k, v in {"name": "bench", "dbname": "benchdb", "host": "127.0.0.1", "port": 5432,
             "pool_mode": "transaction", "pool_size": 20, "server_connections": 5,
             "paused": False, "removed": False}.items():
    assert b[k] == v and type(b[k]) == type(v), (k, b[k])
a = b["admission"]
assert a["mode"] == "adaptive" and a["limit"] == 4
assert (a["running"], a["queued"], a["requests"], a["admitted"], a["cancelled"]) == (3, 10, 1000, 900, 2)
assert a["rejected"] == {"queue_full": 50, "timeout": 30, "shed": 15, "predicted": 4, "paused": 1}
assert a["rejected_total"] == 100
assert a["min_latency_ms"] == 6.1 and a["latency_ms"] == 8.0 and a["throughput"] == 150.25
assert a["latency_p50_ms"] == 3.902 and a["latency_p90_ms"] == 27.25 and a["latency_p99_ms"] == 49.974
assert a["wait_p50_ms"] == 0.057 and a["wait_p99_ms"] == 23.8 and a["reject_wait_p99_ms"] == 0.099
assert b["totals"] == {"xact_count": 1000, "query_count": 2500, "bytes_received": 123456,
                       "bytes_sent": 654321, "xact_time_us": 9000000, "query_time_us": 7000000,
                       "wait_time_us": 300000, "server_assignment_count": 40,
                       "server_login_count": 6}
k = b["keys"][0]
schema_key_fields = ["name", "weight", "max_concurrency", "max_queue", "queue_timeout_ms", "running",
                     "queued", "standing", "demand_rate", "served_rate", "demand_share", "requests",
                     "admitted", "cancelled", "rejected", "rejected_total", "wait_p50_ms",
                     "wait_p99_ms", "reject_wait_p99_ms"]
for f in schema_key_fields:
    assert f in k, f
assert k["name"] == "10.0.0.5" and k["weight"] == 1 and k["max_concurrency"] == 0
assert k["max_queue"] == 64 and k["queue_timeout_ms"] == 1000
assert k["running"] == 2 and k["queued"] == 8 and k["standing"] is True
assert k["demand_rate"] == 300 and k["served_rate"] == 120 and k["demand_share"] == 0.75
assert k["requests"] == 700 and k["admitted"] == 600 and k["cancelled"] == 2
assert k["rejected"] == {"queue_full": 50, "timeout": 0, "shed": 15, "predicted": 0, "paused": 0}
assert k["rejected_total"] == 65
assert k["wait_p50_ms"] == 0.1 and k["wait_p99_ms"] == 24.7 and k["reject_wait_p99_ms"] == 0.099
assert k["connections"] == 2
assert b["keys"][1]["demand_share"] == 0.25
app = d["databases"][1]
assert app["admission"]["mode"] == "off" and app["admission"]["limit"] is None
assert app["paused"] is True
assert app["keys"][0]["demand_share"] == 0
assert len(d["alerts"]) == 2
al = d["alerts"][0]
assert al == {"kind": "skew", "database": "bench", "key": "10.0.0.5", "active": True,
              "since_ms": 1764081060123, "cleared_ms": None, "demand_share": 0.75,
              "fair_share": 0.25, "factor": 3.0,
              "message": "10.0.0.5 asks for 75% of bench's transactions; its fair share is 25%"}, al
assert d["alerts"][1]["active"] is False and d["alerts"][1]["cleared_ms"] == 1764080568123
)PY",
                             "status"));
  // The limit of a database with admission off, and NaN, are null.
  EXPECT_NE(json.find("\"mode\":\"off\",\"limit\":null"), std::string::npos);
}

TEST(AdminJson, NonFiniteNumbersAreNull) {
  Status s = make_status();
  s.databases[0].admission.throughput = NAN;
  s.databases[0].admission.min_latency_ms = INFINITY;
  s.alerts[0].factor = -INFINITY;
  const std::string json = status_json(s);
  EXPECT_NE(json.find("\"min_latency_ms\":null"), std::string::npos);
  EXPECT_NE(json.find("\"throughput\":null"), std::string::npos);
  EXPECT_NE(json.find("\"factor\":null"), std::string::npos);
  EXPECT_TRUE(python_accepts(json, "assert d['databases'][0]['admission']['throughput'] is None",
                             "nonfinite"));
}

TEST(AdminJson, EmptyStatus) {
  const std::string json = status_json(Status{});
  EXPECT_TRUE(python_accepts(json, "assert d['databases'] == [] and d['alerts'] == []", "empty"));
}

TEST(AdminJson, StringEscaping) {
  JsonWriter w;
  w.begin_array();
  w.value("quote\" backslash\\ slash/");
  w.value(std::string("nl\n cr\r tab\t bs\b ff\f nul") + std::string(1, '\0') + "\x01\x1f\x7f");
  w.value("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");  // valid UTF-8 passes through
  w.value("bad \xff end");                               // lone invalid byte
  w.value("cut \xE2\x82");                               // truncated sequence
  w.value("overlong \xC0\xAF surrogate \xED\xA0\x80 big \xF4\x90\x80\x80");
  w.end_array();
  const std::string json = w.str();
  EXPECT_EQ(
      json,
      "[\"quote\\\" backslash\\\\ slash/\","
      "\"nl\\n cr\\r tab\\t bs\\b ff\\f nul\\u0000\\u0001\\u001f\x7f\","
      "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\","
      "\"bad \xEF\xBF\xBD end\","
      "\"cut \xEF\xBF\xBD\xEF\xBF\xBD\","
      "\"overlong \xEF\xBF\xBD\xEF\xBF\xBD surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD big "
      "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"]");
  EXPECT_TRUE(python_accepts(json, R"PY(
assert d[1] == "nl\n cr\r tab\t bs\b ff\f nul\x00\x01\x1f\x7f"
assert d[2] == "caf\u00e9 \u20ac \U0001F600"
assert d[3] == "bad \ufffd end"
)PY",
                             "escaping"));
}

TEST(AdminJson, WriterStructure) {
  JsonWriter w;
  w.begin_object();
  w.field("a", 1).field("b", -2).field("c", 2.5).field("d", true).field("e", "x");
  w.key("f")
      .begin_array()
      .value(uint64_t{18446744073709551615u})
      .null()
      .begin_object()
      .end_object();
  w.end_array();
  w.key("g").begin_object().field("h", false).end_object();
  w.end_object();
  EXPECT_EQ(w.str(),
            "{\"a\":1,\"b\":-2,\"c\":2.5,\"d\":true,\"e\":\"x\","
            "\"f\":[18446744073709551615,null,{}],\"g\":{\"h\":false}}");
}

TEST(AdminJson, StatusEscapesNames) {
  Status s = make_status();
  s.databases[0].name = "we\"ird\n\xff";
  s.alerts[0].message = "tab\there";
  EXPECT_TRUE(python_accepts(status_json(s), R"PY(
assert d["databases"][0]["name"] == "we\"ird\n\ufffd"
assert d["alerts"][0]["message"] == "tab\there"
)PY",
                             "names"));
}

}  // namespace
}  // namespace pgs::admin
