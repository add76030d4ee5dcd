// /metrics: the Prometheus text exposition format, checked by a small parser.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "admin_status_fixture.h"
#include "proxy/admin/metrics.h"

namespace pgs::admin {
namespace {

using testing::make_status;

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Family {
  std::string type;
  bool has_help = false;
  std::vector<Sample> samples;
};

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool is_name_char(char c) {
  return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

bool parse_value(std::string_view text, double& v) {
  if (text == "NaN") {
    v = NAN;
    return true;
  }
  if (text == "+Inf") {
    v = INFINITY;
    return true;
  }
  if (text == "-Inf") {
    v = -INFINITY;
    return true;
  }
  const std::string s(text);
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(v);
}

// name{a="x",b="y"} value — labels with escaped values (\\, \", \n).
bool parse_sample(std::string_view line, Sample& out, std::string& error) {
  size_t i = 0;
  if (line.empty() || !is_name_start(line[0])) {
    error = "bad metric name";
    return false;
  }
  while (i < line.size() && is_name_char(line[i])) ++i;
  out.name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (;;) {
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      const size_t start = i;
      while (i < line.size() && is_name_char(line[i])) ++i;
      const std::string label(line.substr(start, i - start));
      if (label.empty() || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
        error = "bad label";
        return false;
      }
      i += 2;
      std::string value;
      for (;;) {
        if (i >= line.size()) {
          error = "unterminated label value";
          return false;
        }
        const char c = line[i++];
        if (c == '"') break;
        if (c == '\n') {
          error = "raw newline in label value";
          return false;
        }
        if (c != '\\') {
          value += c;
          continue;
        }
        if (i >= line.size()) {
          error = "dangling backslash";
          return false;
        }
        const char e = line[i++];
        if (e == 'n') {
          value += '\n';
        } else if (e == '\\' || e == '"') {
          value += e;
        } else {
          error = "bad escape in label value";
          return false;
        }
      }
      if (!out.labels.emplace(label, value).second) {
        error = "label twice";
        return false;
      }
      if (i < line.size() && line[i] == ',') ++i;
    }
  }
  if (i >= line.size() || line[i] != ' ') {
    error = "no space before the value";
    return false;
  }
  if (!parse_value(line.substr(i + 1), out.value)) {
    error = "bad value";
    return false;
  }
  return true;
}

std::string series_key(const Sample& s, std::string_view without = {}) {
  std::string k = s.name + "{";
  for (const auto& [name, value] : s.labels) {
    if (name != without) k += name + "=" + value + ",";
  }
  return k + "}";
}

using Families = std::map<std::string, Family>;

// Parses and checks the whole exposition into `families` (by name).
void check_exposition(const std::string& text, Families& families) {
  std::string current;  // family of the last TYPE line
  std::set<std::string> series;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    SCOPED_TRACE("line " + std::to_string(line_no) + ": " + line);
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      EXPECT_FALSE(families[name].has_help) << "HELP twice for " << name;
      EXPECT_TRUE(families[name].type.empty()) << "HELP after TYPE for " << name;
      families[name].has_help = true;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      const std::string type = rest.substr(rest.find(' ') + 1);
      EXPECT_TRUE(type == "gauge" || type == "counter" || type == "histogram") << type;
      EXPECT_TRUE(families[name].type.empty()) << "TYPE twice for " << name;
      EXPECT_TRUE(families[name].samples.empty()) << "samples before TYPE for " << name;
      EXPECT_EQ(name.rfind("pgsluice_", 0), 0u) << name;
      if (type == "counter") {
        EXPECT_TRUE(name.ends_with("_total")) << name;
      }
      families[name].type = type;
      current = name;
      continue;
    }
    EXPECT_NE(line[0], '#') << "unknown comment";
    Sample s;
    std::string error;
    ASSERT_TRUE(parse_sample(line, s, error)) << error;
    ASSERT_FALSE(current.empty()) << "sample before any TYPE";
    const Family& f = families[current];
    if (f.type == "histogram") {
      EXPECT_TRUE(s.name == current + "_bucket" || s.name == current + "_sum" ||
                  s.name == current + "_count")
          << s.name << " in family " << current;
      if (s.name.ends_with("_bucket")) {
        EXPECT_EQ(s.labels.count("le"), 1u);
      }
    } else {
      EXPECT_EQ(s.name, current) << "sample outside its family";
    }
    EXPECT_TRUE(series.insert(series_key(s)).second) << "duplicate series " << series_key(s);
    families[current].samples.push_back(s);
  }
  for (const auto& [name, f] : families) {
    EXPECT_TRUE(f.has_help) << name;
    EXPECT_FALSE(f.type.empty()) << name;
    if (f.type != "histogram") continue;
    // Per label set: buckets in increasing le, cumulative, ending in +Inf == _count.
    std::map<std::string, std::vector<const Sample*>> buckets;
    std::map<std::string, double> counts, sums;
    for (const Sample& s : f.samples) {
      const std::string base = series_key(Sample{name, s.labels, 0}, "le");
      if (s.name.ends_with("_bucket")) buckets[base].push_back(&s);
      if (s.name.ends_with("_count")) counts[base] = s.value;
      if (s.name.ends_with("_sum")) sums[base] = s.value;
    }
    for (const auto& [base, bs] : buckets) {
      SCOPED_TRACE(base);
      ASSERT_FALSE(bs.empty());
      double last_le = -INFINITY, last_count = 0;
      for (const Sample* b : bs) {
        double le = 0;
        ASSERT_TRUE(parse_value(b->labels.at("le"), le) || b->labels.at("le") == "+Inf");
        EXPECT_GT(le, last_le);
        EXPECT_GE(b->value, last_count);
        last_le = le;
        last_count = b->value;
      }
      EXPECT_EQ(bs.back()->labels.at("le"), "+Inf");
      ASSERT_EQ(counts.count(base), 1u);
      ASSERT_EQ(sums.count(base), 1u);
      EXPECT_EQ(bs.back()->value, counts[base]);
    }
    EXPECT_EQ(buckets.size(), counts.size());
  }
}

Families parsed(const std::string& text) {
  Families families;
  check_exposition(text, families);
  return families;
}

double value_of(const Families& fams, const std::string& name,
                const std::map<std::string, std::string>& labels) {
  const auto it = fams.find(name);
  if (it == fams.end()) {
    ADD_FAILURE() << "no family " << name;
    return NAN;
  }
  for (const Sample& s : it->second.samples) {
    if (s.labels == labels && (s.name == name || it->second.type == "histogram")) return s.value;
  }
  ADD_FAILURE() << "no sample " << name << " with those labels";
  return NAN;
}

TEST(AdminMetrics, ValidExposition) {
  const std::string text = prometheus_text(make_status());
  const Families fams = parsed(text);

  EXPECT_EQ(value_of(fams, "pgsluice_up", {}), 1);
  EXPECT_EQ(value_of(fams, "pgsluice_info", {{"version", "pgsluice 0.1.0"}}), 1);
  EXPECT_DOUBLE_EQ(value_of(fams, "pgsluice_uptime_seconds", {}), 123.4);
  EXPECT_EQ(value_of(fams, "pgsluice_client_connections", {}), 3);
  EXPECT_EQ(value_of(fams, "pgsluice_client_connections_max", {}), 10000);

  EXPECT_EQ(fams.at("pgsluice_admission_limit").type, "gauge");
  EXPECT_EQ(value_of(fams, "pgsluice_admission_limit", {{"database", "bench"}}), 4);
  EXPECT_EQ(fams.at("pgsluice_admission_limit").samples.size(), 1u);  // none for "app" (off)
  EXPECT_EQ(value_of(fams, "pgsluice_admission_mode", {{"database", "app"}, {"mode", "off"}}), 1);
  EXPECT_EQ(value_of(fams, "pgsluice_admission_running", {{"database", "bench"}}), 3);
  EXPECT_EQ(value_of(fams, "pgsluice_admission_queued", {{"database", "bench"}}), 10);
  EXPECT_EQ(value_of(fams, "pgsluice_admission_paused", {{"database", "app"}}), 1);
  EXPECT_DOUBLE_EQ(
      value_of(fams, "pgsluice_admission_min_latency_seconds", {{"database", "bench"}}), 0.0061);
  EXPECT_DOUBLE_EQ(value_of(fams, "pgsluice_admission_throughput", {{"database", "bench"}}),
                   150.25);
  EXPECT_EQ(fams.at("pgsluice_admission_requests_total").type, "counter");
  EXPECT_EQ(value_of(fams, "pgsluice_admission_requests_total", {{"database", "bench"}}), 1000);
  EXPECT_EQ(value_of(fams, "pgsluice_admission_rejected_total",
                     {{"database", "bench"}, {"reason", "queue_full"}}),
            50);
  EXPECT_EQ(value_of(fams, "pgsluice_admission_rejected_total",
                     {{"database", "bench"}, {"reason", "paused"}}),
            1);
  EXPECT_EQ(value_of(fams, "pgsluice_admission_cancelled_total", {{"database", "bench"}}), 2);

  const std::map<std::string, std::string> k1 = {{"database", "bench"}, {"key", "10.0.0.5"}};
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_connections", k1), 2);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_running", k1), 2);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_queued", k1), 8);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_weight", k1), 1);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_max_concurrency", k1), 0);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_demand_rate", k1), 300);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_served_rate", k1), 120);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_demand_share", k1), 0.75);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_standing", k1), 1);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_requests_total", k1), 700);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_admitted_total", k1), 600);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_rejected_total",
                     {{"database", "bench"}, {"key", "10.0.0.5"}, {"reason", "shed"}}),
            15);
  EXPECT_EQ(value_of(fams, "pgsluice_client_key_cancelled_total", k1), 2);

  // Histograms: seconds, cumulative.
  EXPECT_EQ(fams.at("pgsluice_query_latency_seconds").type, "histogram");
  EXPECT_EQ(
      value_of(fams, "pgsluice_query_latency_seconds", {{"database", "bench"}, {"le", "0.005"}}),
      90);
  EXPECT_EQ(value_of(fams, "pgsluice_query_latency_seconds", {{"database", "bench"}, {"le", "10"}}),
            100);
  EXPECT_EQ(
      value_of(fams, "pgsluice_query_latency_seconds", {{"database", "bench"}, {"le", "+Inf"}}),
      101);
  EXPECT_EQ(fams.at("pgsluice_admission_wait_seconds").type, "histogram");
  EXPECT_EQ(value_of(fams, "pgsluice_admission_wait_seconds",
                     {{"database", "bench"}, {"key", "10.0.0.5"}, {"le", "0.0001"}}),
            50);
  bool found_sum = false;
  for (const Sample& s : fams.at("pgsluice_query_latency_seconds").samples) {
    if (s.name == "pgsluice_query_latency_seconds_sum" && s.labels.at("database") == "bench") {
      EXPECT_DOUBLE_EQ(s.value, (90 * 4000 + 10 * 40000 + 20000000) / 1e6);
      found_sum = true;
    }
  }
  EXPECT_TRUE(found_sum);

  // Pools, traffic, alerts.
  EXPECT_EQ(value_of(fams, "pgsluice_pool_clients",
                     {{"database", "bench"}, {"user", "alice"}, {"state", "active"}}),
            1);
  EXPECT_EQ(value_of(fams, "pgsluice_pool_clients",
                     {{"database", "app"}, {"user", "bob"}, {"state", "waiting"}}),
            1);
  EXPECT_EQ(value_of(fams, "pgsluice_pool_servers",
                     {{"database", "bench"}, {"user", "alice"}, {"state", "idle"}}),
            3);
  EXPECT_EQ(value_of(fams, "pgsluice_pool_servers",
                     {{"database", "bench"}, {"user", "alice"}, {"state", "login"}}),
            1);
  EXPECT_EQ(
      value_of(fams, "pgsluice_pool_maxwait_seconds", {{"database", "bench"}, {"user", "alice"}}),
      2.5);
  EXPECT_EQ(value_of(fams, "pgsluice_transactions_total", {{"database", "bench"}}), 1000);
  EXPECT_EQ(value_of(fams, "pgsluice_queries_total", {{"database", "bench"}}), 2500);
  EXPECT_EQ(value_of(fams, "pgsluice_server_logins_total", {{"database", "bench"}}), 6);
  EXPECT_EQ(value_of(fams, "pgsluice_received_bytes_total", {{"database", "bench"}}), 123456);
  EXPECT_EQ(value_of(fams, "pgsluice_sent_bytes_total", {{"database", "bench"}}), 654321);
  EXPECT_EQ(value_of(fams, "pgsluice_transaction_seconds_total", {{"database", "bench"}}), 9);
  EXPECT_EQ(value_of(fams, "pgsluice_query_seconds_total", {{"database", "bench"}}), 7);
  EXPECT_EQ(value_of(fams, "pgsluice_client_wait_seconds_total", {{"database", "bench"}}), 0.3);
  // The active and the cleared alert of the same key are one series: active.
  EXPECT_EQ(fams.at("pgsluice_alert_active").samples.size(), 1u);
  EXPECT_EQ(value_of(fams, "pgsluice_alert_active",
                     {{"kind", "skew"}, {"database", "bench"}, {"key", "10.0.0.5"}}),
            1);

  // For checking by hand with other parsers (see the report of this change).
  if (const char* dump = std::getenv("PGSLUICE_DUMP_METRICS")) std::ofstream(dump) << text;
}

TEST(AdminMetrics, EscapesLabelsAndDropsDuplicateSeries) {
  Status s = make_status();
  s.version = "v\"1\\2\n3\xff";
  s.databases[1].name = "bench";  // the same name twice (a removed and a new database)
  s.alerts.clear();
  s.clients.clear();
  const std::string text = prometheus_text(s);
  const Families fams = parsed(text);
  EXPECT_NE(text.find("pgsluice_info{version=\"v\\\"1\\\\2\\n3\xEF\xBF\xBD\"} 1\n"),
            std::string::npos)
      << text.substr(0, 400);
  EXPECT_EQ(fams.at("pgsluice_transactions_total").samples.size(), 1u);
  EXPECT_EQ(value_of(fams, "pgsluice_transactions_total", {{"database", "bench"}}),
            1000);  // first wins
  EXPECT_TRUE(fams.at("pgsluice_alert_active").samples.empty());
}

TEST(AdminMetrics, EmptyStatusIsValid) {
  Status s;
  const Families fams = parsed(prometheus_text(s));
  EXPECT_EQ(value_of(fams, "pgsluice_up", {}), 1);
  EXPECT_TRUE(fams.at("pgsluice_query_latency_seconds").samples.empty());
}

TEST(AdminMetrics, NonFiniteValues) {
  Status s = make_status();
  s.databases[0].admission.throughput = NAN;
  s.databases[0].admission.keys[0].demand_rate = INFINITY;
  const std::string text = prometheus_text(s);
  parsed(text);
  EXPECT_NE(text.find("pgsluice_admission_throughput{database=\"bench\"} NaN\n"),
            std::string::npos);
  EXPECT_NE(
      text.find("pgsluice_client_key_demand_rate{database=\"bench\",key=\"10.0.0.5\"} +Inf\n"),
      std::string::npos);
}

}  // namespace
}  // namespace pgs::admin
