#include "proxy/admin/show_admission.h"

#include "proxy/admin/format.h"

namespace pgs::admin::detail {

namespace {

using namespace type_oid;
using admission::RejectReason;

// The rejection counters in the order the columns name them.
void add_rejected(RowWriter& row, const uint64_t (&rejected)[admission::kRejectReasons]) {
  for (RejectReason r : {RejectReason::QueueFull, RejectReason::Timeout, RejectReason::Shed,
                         RejectReason::Predicted, RejectReason::Paused}) {
    row.integer(rejected[static_cast<size_t>(r)]);
  }
}

}  // namespace

void show_admission(const Status& s, ResultSet& out) {
  out.columns = {{"database", kText},
                 {"mode", kText},
                 {"limit", kInt8},
                 {"running", kInt8},
                 {"queued", kInt8},
                 {"requests", kInt8},
                 {"admitted", kInt8},
                 {"rejected_queue_full", kInt8},
                 {"rejected_timeout", kInt8},
                 {"rejected_shed", kInt8},
                 {"rejected_predicted", kInt8},
                 {"rejected_paused", kInt8},
                 {"cancelled", kInt8},
                 {"min_latency_ms", kFloat8},
                 {"latency_ms", kFloat8},
                 {"latency_p50_ms", kFloat8},
                 {"latency_p90_ms", kFloat8},
                 {"latency_p99_ms", kFloat8},
                 {"wait_p50_ms", kFloat8},
                 {"wait_p99_ms", kFloat8},
                 {"throughput", kFloat8},
                 {"paused", kBool}};
  for (const DatabaseStatus& d : s.databases) {
    const admission::Snapshot& a = d.admission;
    RowWriter row(out);
    row.text(d.name).text(admission::to_string(a.mode));
    if (has_limit(a)) {
      row.integer(a.limit);
    } else {
      row.null();
    }
    row.integer(a.running).integer(a.queued).integer(a.requests).integer(a.admitted);
    add_rejected(row, a.rejected);
    row.integer(a.cancelled);
    row.decimal(a.min_latency_ms).decimal(a.recent_latency_ms);
    row.decimal(percentile_ms(a.latency, 0.5))
        .decimal(percentile_ms(a.latency, 0.9))
        .decimal(percentile_ms(a.latency, 0.99));
    row.decimal(percentile_ms(a.wait, 0.5)).decimal(percentile_ms(a.wait, 0.99));
    row.decimal(a.throughput).boolean(a.paused);
  }
}

void show_client_keys(const Status& s, ResultSet& out) {
  out.columns = {{"database", kText},
                 {"key", kText},
                 {"connections", kInt8},
                 {"running", kInt8},
                 {"queued", kInt8},
                 {"limit", kInt8},
                 {"weight", kInt8},
                 {"max_queue", kInt8},
                 {"queue_timeout_ms", kInt8},
                 {"demand_rate", kFloat8},
                 {"served_rate", kFloat8},
                 {"demand_share", kFloat8},
                 {"admitted", kInt8},
                 {"rejected_queue_full", kInt8},
                 {"rejected_timeout", kInt8},
                 {"rejected_shed", kInt8},
                 {"rejected_predicted", kInt8},
                 {"rejected_paused", kInt8},
                 {"cancelled", kInt8},
                 {"wait_p50_ms", kFloat8},
                 {"wait_p90_ms", kFloat8},
                 {"wait_p99_ms", kFloat8},
                 {"reject_wait_p99_ms", kFloat8},
                 {"standing", kBool}};
  const KeyConnections connections = count_key_connections(s);
  for (const DatabaseStatus& d : s.databases) {
    const double demand = total_demand(d.admission);
    for (const admission::KeySnapshot& k : d.admission.keys) {
      RowWriter row(out);
      row.text(d.name).text(k.name).integer(key_connections(connections, d.name, k.name));
      row.integer(k.running).integer(k.queued_now);
      if (k.policy.max_concurrency == 0) {
        row.null();  // no per-key limit
      } else {
        row.integer(k.policy.max_concurrency);
      }
      row.integer(k.policy.weight).integer(k.policy.max_queue).integer(k.policy.queue_timeout_ms);
      row.decimal(k.demand_rate).decimal(k.served_rate);
      row.decimal(demand_share(k.demand_rate, demand));
      row.integer(k.counters.admitted);
      add_rejected(row, k.counters.rejected);
      row.integer(k.counters.cancelled);
      row.decimal(percentile_ms(k.counters.wait, 0.5))
          .decimal(percentile_ms(k.counters.wait, 0.9))
          .decimal(percentile_ms(k.counters.wait, 0.99));
      row.decimal(percentile_ms(k.counters.reject_wait, 0.99));
      row.boolean(k.standing);
    }
  }
}

void show_alerts(const Status& s, ResultSet& out) {
  out.columns = {{"kind", kText},           {"database", kText},     {"key", kText},
                 {"active", kBool},         {"since", kText},        {"cleared", kText},
                 {"demand_share", kFloat8}, {"fair_share", kFloat8}, {"factor", kFloat8},
                 {"message", kText}};
  for (const AlertStatus& a : s.alerts) {
    RowWriter row(out);
    row.text(a.kind).text(a.database).text(a.key).boolean(a.active);
    row.text(format_utc_time(a.since_unix_us));
    if (a.cleared_unix_us == 0) {
      row.null();  // still active
    } else {
      row.text(format_utc_time(a.cleared_unix_us));
    }
    row.decimal(a.demand_share).decimal(a.fair_share).decimal(a.factor).text(a.message);
  }
}

}  // namespace pgs::admin::detail
