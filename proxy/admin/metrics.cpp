#include "proxy/admin/metrics.h"

#include <array>
#include <cmath>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "proxy/admin/format.h"

namespace pgs::admin {

namespace {

using admission::Histogram;
using admission::KeySnapshot;
using admission::RejectReason;
using Label = std::pair<std::string_view, std::string_view>;
using Labels = std::initializer_list<Label>;

constexpr RejectReason kReasons[] = {RejectReason::QueueFull, RejectReason::Timeout,
                                     RejectReason::Shed, RejectReason::Predicted,
                                     RejectReason::Paused};

// The le label of each histogram bucket: its upper bound in seconds, then +Inf.
const std::array<std::string, Histogram::kBuckets> kBucketLe = [] {
  std::array<std::string, Histogram::kBuckets> le;
  for (size_t i = 0; i < Histogram::kBoundsUs.size(); ++i) {
    le[i] = format_shortest(seconds_from_us(Histogram::kBoundsUs[i]), true);  // "0.0001", "2.5"
  }
  le.back() = "+Inf";
  return le;
}();

// Writes families one after the other; remembers the series of the current
// family so that none is written twice.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    series_.clear();
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (char c : help) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(Labels labels, uint64_t v) { sample_text(labels, std::to_string(v)); }
  void sample(Labels labels, uint32_t v) { sample(labels, uint64_t{v}); }
  void sample(Labels labels, bool v) { sample(labels, uint64_t{v ? 1u : 0u}); }
  void sample(Labels labels, double v) { sample_text(labels, number(v)); }

  void histogram(Labels labels, const Histogram& h) {
    const std::string base = label_text(labels, {});
    if (!series_.insert(base).second) return;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < Histogram::kBuckets; ++i) {
      cumulative += h.bucket(i);
      line("_bucket", label_text(labels, kBucketLe[i]), std::to_string(cumulative));
    }
    line("_sum", base, number(seconds_from_us(h.sum_us())));
    line("_count", base, std::to_string(cumulative));  // equal to the +Inf bucket by construction
  }

  std::string take() { return std::move(out_); }

 private:
  static std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return format_shortest(v);
  }

  static void append_label_value(std::string& out, std::string_view v) {
    std::string valid;
    append_valid_utf8(valid, v);
    for (char c : valid) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
  }

  // {a="x",b="y"} (and le="..." last when given); "" without labels.
  static std::string label_text(Labels labels, std::string_view le) {
    if (labels.size() == 0 && le.empty()) return {};
    std::string s = "{";
    bool first = true;
    const auto add = [&](std::string_view name, std::string_view value) {
      if (!first) s += ',';
      first = false;
      s += name;
      s += "=\"";
      append_label_value(s, value);
      s += '"';
    };
    for (const auto& [name, value] : labels) add(name, value);
    if (!le.empty()) add("le", le);
    s += '}';
    return s;
  }

  void sample_text(Labels labels, const std::string& value) {
    std::string labels_text = label_text(labels, {});
    if (!series_.insert(labels_text).second) return;
    line("", labels_text, value);
  }

  void line(std::string_view suffix, const std::string& labels, const std::string& value) {
    out_ += name_;
    out_ += suffix;
    out_ += labels;
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  std::string out_;
  std::string name_;
  std::set<std::string> series_;
};

// One sample per database of get(d).
template <typename Get>
void per_database(Exposition& e, const Status& s, std::string_view name, std::string_view type,
                  std::string_view help, Get get) {
  e.family(name, type, help);
  for (const DatabaseStatus& d : s.databases) e.sample({{"database", d.name}}, get(d));
}

// One sample per database and client key of get(key, demand_share).
template <typename Get>
void per_key(Exposition& e, const Status& s, std::string_view name, std::string_view type,
             std::string_view help, Get get) {
  e.family(name, type, help);
  for (const DatabaseStatus& d : s.databases) {
    const double demand = total_demand(d.admission);
    for (const KeySnapshot& k : d.admission.keys) {
      e.sample({{"database", d.name}, {"key", k.name}},
               get(k, demand_share(k.demand_rate, demand)));
    }
  }
}

void process_metrics(Exposition& e, const Status& s) {
  e.family("pgsluice_up", "gauge", "1 when pgsluice answered the scrape.");
  e.sample({}, uint64_t{1});
  e.family("pgsluice_info", "gauge", "pgsluice's version, as a label; always 1.");
  e.sample({{"version", s.version}}, uint64_t{1});
  e.family("pgsluice_uptime_seconds", "gauge", "Seconds since pgsluice started.");
  e.sample({}, uptime_seconds(s));
  e.family("pgsluice_client_connections", "gauge", "Client connections open now.");
  e.sample({}, s.client_connections);
  e.family("pgsluice_client_connections_max", "gauge",
           "Most client connections accepted at once ([proxy] max_client_connections).");
  e.sample({}, s.max_client_connections);
}

void database_metrics(Exposition& e, const Status& s) {
  using D = const DatabaseStatus&;
  per_database(e, s, "pgsluice_database_pool_size", "gauge",
               "Most server connections to the database, all users together.",
               [](D d) { return d.pool_size; });
  per_database(e, s, "pgsluice_database_server_connections", "gauge",
               "Server connections to the database now, all users together.",
               [](D d) { return d.current_connections; });
  per_database(e, s, "pgsluice_database_paused", "gauge", "1 while the database is paused (PAUSE).",
               [](D d) { return d.paused; });

  per_database(e, s, "pgsluice_transactions_total", "counter", "Transactions completed.",
               [](D d) { return d.totals.xact_count; });
  per_database(e, s, "pgsluice_queries_total", "counter",
               "Server round trips (a Query, or extended-protocol messages up to Sync).",
               [](D d) { return d.totals.query_count; });
  per_database(e, s, "pgsluice_received_bytes_total", "counter", "Bytes received from clients.",
               [](D d) { return d.totals.bytes_received; });
  per_database(e, s, "pgsluice_sent_bytes_total", "counter", "Bytes sent to clients.",
               [](D d) { return d.totals.bytes_sent; });
  per_database(e, s, "pgsluice_transaction_seconds_total", "counter",
               "Server time spent inside transactions.",
               [](D d) { return seconds_from_us(d.totals.xact_time_us); });
  per_database(e, s, "pgsluice_query_seconds_total", "counter", "Server time of round trips.",
               [](D d) { return seconds_from_us(d.totals.query_time_us); });
  per_database(e, s, "pgsluice_client_wait_seconds_total", "counter",
               "Time clients waited for admission or a server connection.",
               [](D d) { return seconds_from_us(d.totals.wait_time_us); });
  per_database(e, s, "pgsluice_server_assignments_total", "counter",
               "Server connections handed to clients.",
               [](D d) { return d.totals.server_assignment_count; });
  per_database(e, s, "pgsluice_server_logins_total", "counter",
               "Server connections opened and logged in: each one is a new PostgreSQL backend, so a "
               "rate well above zero in steady traffic means the pool is churning.",
               [](D d) { return d.totals.server_login_count; });
}

void admission_metrics(Exposition& e, const Status& s) {
  using D = const DatabaseStatus&;
  e.family("pgsluice_admission_mode", "gauge",
           "Admission mode of the database, as a label (off, static, adaptive); always 1.");
  for (D d : s.databases) {
    e.sample({{"database", d.name}, {"mode", admission::to_string(d.admission.mode)}}, uint64_t{1});
  }
  e.family("pgsluice_admission_limit", "gauge",
           "Transactions the database may run at once; no sample when admission is off.");
  for (D d : s.databases) {
    if (has_limit(d.admission)) e.sample({{"database", d.name}}, d.admission.limit);
  }
  per_database(e, s, "pgsluice_admission_running", "gauge", "Admitted transactions not yet ended.",
               [](D d) { return d.admission.running; });
  per_database(e, s, "pgsluice_admission_queued", "gauge", "Transactions waiting for admission.",
               [](D d) { return d.admission.queued; });
  per_database(e, s, "pgsluice_admission_paused", "gauge",
               "1 while admission is paused (PAUSE): requests queue.",
               [](D d) { return d.admission.paused; });
  per_database(e, s, "pgsluice_admission_min_latency_seconds", "gauge",
               "The controller's estimate of the uncontended server latency.",
               [](D d) { return d.admission.min_latency_ms / 1000.0; });
  per_database(e, s, "pgsluice_admission_latency_seconds", "gauge",
               "Recent server latency, smoothed.",
               [](D d) { return d.admission.recent_latency_ms / 1000.0; });
  per_database(e, s, "pgsluice_admission_throughput", "gauge",
               "Finished transactions per second, smoothed.",
               [](D d) { return d.admission.throughput; });

  per_database(e, s, "pgsluice_admission_requests_total", "counter",
               "Transactions that asked to start.", [](D d) { return d.admission.requests; });
  per_database(e, s, "pgsluice_admission_admitted_total", "counter",
               "Transactions admitted, at once or after waiting.",
               [](D d) { return d.admission.admitted; });
  e.family("pgsluice_admission_rejected_total", "counter",
           "Transactions rejected, by reason (queue_full, timeout, shed, predicted, paused).");
  for (D d : s.databases) {
    for (RejectReason r : kReasons) {
      e.sample({{"database", d.name}, {"reason", admission::to_string(r)}},
               d.admission.rejected[static_cast<size_t>(r)]);
    }
  }
  per_database(e, s, "pgsluice_admission_cancelled_total", "counter",
               "Transactions withdrawn while queued.", [](D d) { return d.admission.cancelled; });

  e.family("pgsluice_query_latency_seconds", "histogram",
           "Server round trip latency, time queued in pgsluice excluded.");
  for (D d : s.databases) e.histogram({{"database", d.name}}, d.admission.latency);
}

void key_metrics(Exposition& e, const Status& s) {
  using K = const KeySnapshot&;
  e.family("pgsluice_client_key_connections", "gauge",
           "Client connections with this admission key.");
  const KeyConnections connections = count_key_connections(s);
  for (const DatabaseStatus& d : s.databases) {
    for (K k : d.admission.keys) {
      e.sample({{"database", d.name}, {"key", k.name}},
               key_connections(connections, d.name, k.name));
    }
  }
  per_key(e, s, "pgsluice_client_key_running", "gauge",
          "Admitted transactions of the key not yet ended.", [](K k, double) { return k.running; });
  per_key(e, s, "pgsluice_client_key_queued", "gauge",
          "Transactions of the key waiting for admission.",
          [](K k, double) { return k.queued_now; });
  per_key(e, s, "pgsluice_client_key_weight", "gauge",
          "The key's share of a contended database limit, relative to other keys.",
          [](K k, double) { return k.policy.weight; });
  per_key(e, s, "pgsluice_client_key_max_concurrency", "gauge",
          "Most transactions of the key running at once; 0 = no per-key limit.",
          [](K k, double) { return k.policy.max_concurrency; });
  per_key(e, s, "pgsluice_client_key_max_queue", "gauge",
          "Most transactions of the key waiting at once.",
          [](K k, double) { return k.policy.max_queue; });
  per_key(e, s, "pgsluice_client_key_queue_timeout_seconds", "gauge",
          "How long a transaction of the key may wait for admission.",
          [](K k, double) { return k.policy.queue_timeout_ms / 1000.0; });
  per_key(e, s, "pgsluice_client_key_demand_rate", "gauge",
          "Transactions per second the key asks to start, smoothed.",
          [](K k, double) { return k.demand_rate; });
  per_key(e, s, "pgsluice_client_key_served_rate", "gauge",
          "Transactions per second of the key admitted, smoothed.",
          [](K k, double) { return k.served_rate; });
  per_key(e, s, "pgsluice_client_key_demand_share", "gauge",
          "The key's share of the database's demand (0..1).",
          [](K, double share) { return share; });
  per_key(e, s, "pgsluice_client_key_standing", "gauge",
          "1 while the key's queue is standing (CoDel) and the key is over its share.",
          [](K k, double) { return k.standing; });

  per_key(e, s, "pgsluice_client_key_requests_total", "counter",
          "Transactions of the key that asked to start.",
          [](K k, double) { return k.counters.requests; });
  per_key(e, s, "pgsluice_client_key_admitted_total", "counter",
          "Transactions of the key admitted.", [](K k, double) { return k.counters.admitted; });
  e.family("pgsluice_client_key_rejected_total", "counter",
           "Transactions of the key rejected, by reason.");
  for (const DatabaseStatus& d : s.databases) {
    for (K k : d.admission.keys) {
      for (RejectReason r : kReasons) {
        e.sample({{"database", d.name}, {"key", k.name}, {"reason", admission::to_string(r)}},
                 k.counters.rejected[static_cast<size_t>(r)]);
      }
    }
  }
  per_key(e, s, "pgsluice_client_key_cancelled_total", "counter",
          "Transactions of the key withdrawn while queued.",
          [](K k, double) { return k.counters.cancelled; });

  e.family("pgsluice_admission_wait_seconds", "histogram",
           "Time from asking to start to admission, every admitted transaction (0 when at once).");
  for (const DatabaseStatus& d : s.databases) {
    for (K k : d.admission.keys)
      e.histogram({{"database", d.name}, {"key", k.name}}, k.counters.wait);
  }
  e.family("pgsluice_admission_reject_wait_seconds", "histogram",
           "Time from asking to start to rejection, every rejected transaction.");
  for (const DatabaseStatus& d : s.databases) {
    for (K k : d.admission.keys) {
      e.histogram({{"database", d.name}, {"key", k.name}}, k.counters.reject_wait);
    }
  }
}

void pool_metrics(Exposition& e, const Status& s) {
  e.family("pgsluice_pool_clients", "gauge",
           "Client connections of a (database, user) pool by state: active (attached to a server"
           " connection), waiting (for admission or a server connection), idle.");
  for (const PoolStatus& p : s.pools) {
    const std::pair<std::string_view, uint32_t> states[] = {
        {"active", p.cl_active}, {"waiting", p.cl_waiting}, {"idle", p.cl_idle}};
    for (const auto& [state, n] : states) {
      e.sample({{"database", p.database}, {"user", p.user}, {"state", state}}, n);
    }
  }
  e.family("pgsluice_pool_servers", "gauge",
           "Server connections of a (database, user) pool by state: active (attached to a"
           " client), idle, used, tested (being reset), login (connecting).");
  for (const PoolStatus& p : s.pools) {
    const std::pair<std::string_view, uint32_t> states[] = {{"active", p.sv_active},
                                                            {"idle", p.sv_idle},
                                                            {"used", p.sv_used},
                                                            {"tested", p.sv_tested},
                                                            {"login", p.sv_login}};
    for (const auto& [state, n] : states) {
      e.sample({{"database", p.database}, {"user", p.user}, {"state", state}}, n);
    }
  }
  e.family("pgsluice_pool_maxwait_seconds", "gauge",
           "How long the longest-waiting client of the pool has waited.");
  for (const PoolStatus& p : s.pools) {
    e.sample({{"database", p.database}, {"user", p.user}}, seconds_from_us(p.maxwait_us));
  }
}

void alert_metrics(Exposition& e, const Status& s) {
  // Active alerts first: a key with an active and a cleared alert of the
  // same kind shows 1 (the later, duplicate series is dropped).
  e.family("pgsluice_alert_active", "gauge",
           "1 while an alert is raised, 0 for a recently cleared one (kind: skew).");
  for (bool active : {true, false}) {
    for (const AlertStatus& a : s.alerts) {
      if (a.active != active) continue;
      e.sample({{"kind", a.kind}, {"database", a.database}, {"key", a.key}}, a.active);
    }
  }
}

}  // namespace

std::string prometheus_text(const Status& s) {
  Exposition e;
  process_metrics(e, s);
  database_metrics(e, s);
  admission_metrics(e, s);
  key_metrics(e, s);
  pool_metrics(e, s);
  alert_metrics(e, s);
  return e.take();
}

}  // namespace pgs::admin
