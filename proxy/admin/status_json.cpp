#include "proxy/admin/status_json.h"

#include "proxy/admin/format.h"
#include "proxy/admin/json_writer.h"

namespace pgs::admin {

namespace {

using admission::RejectReason;

void write_rejected(JsonWriter& w, const uint64_t (&rejected)[admission::kRejectReasons]) {
  w.key("rejected").begin_object();
  for (RejectReason r : {RejectReason::QueueFull, RejectReason::Timeout, RejectReason::Shed,
                         RejectReason::Predicted, RejectReason::Paused}) {
    w.field(admission::to_string(r), rejected[static_cast<size_t>(r)]);
  }
  w.end_object();
  w.field("rejected_total", rejected_total(rejected));
}

void write_admission(JsonWriter& w, const admission::Snapshot& a) {
  w.key("admission").begin_object();
  w.field("mode", admission::to_string(a.mode));
  w.key("limit");
  if (has_limit(a)) {
    w.value(a.limit);
  } else {
    w.null();
  }
  w.field("running", a.running).field("queued", a.queued);
  w.field("requests", a.requests).field("admitted", a.admitted).field("cancelled", a.cancelled);
  write_rejected(w, a.rejected);
  w.field("min_latency_ms", a.min_latency_ms)
      .field("latency_ms", a.recent_latency_ms)
      .field("throughput", a.throughput);
  w.field("latency_p50_ms", percentile_ms(a.latency, 0.5))
      .field("latency_p90_ms", percentile_ms(a.latency, 0.9))
      .field("latency_p99_ms", percentile_ms(a.latency, 0.99));
  w.field("wait_p50_ms", percentile_ms(a.wait, 0.5))
      .field("wait_p99_ms", percentile_ms(a.wait, 0.99))
      .field("reject_wait_p99_ms", percentile_ms(a.reject_wait, 0.99));
  w.end_object();
}

void write_totals(JsonWriter& w, const TrafficTotals& t) {
  w.key("totals").begin_object();
  w.field("xact_count", t.xact_count)
      .field("query_count", t.query_count)
      .field("bytes_received", t.bytes_received)
      .field("bytes_sent", t.bytes_sent)
      .field("xact_time_us", t.xact_time_us)
      .field("query_time_us", t.query_time_us)
      .field("wait_time_us", t.wait_time_us)
      .field("server_assignment_count", t.server_assignment_count)
      .field("server_login_count", t.server_login_count);
  w.end_object();
}

void write_keys(JsonWriter& w, const DatabaseStatus& d, const KeyConnections& connections) {
  const double demand = total_demand(d.admission);
  w.key("keys").begin_array();
  for (const admission::KeySnapshot& k : d.admission.keys) {
    w.begin_object();
    w.field("name", k.name)
        .field("weight", k.policy.weight)
        .field("max_concurrency", k.policy.max_concurrency)
        .field("max_queue", k.policy.max_queue)
        .field("queue_timeout_ms", k.policy.queue_timeout_ms);
    w.field("running", k.running).field("queued", k.queued_now).field("standing", k.standing);
    w.field("demand_rate", k.demand_rate)
        .field("served_rate", k.served_rate)
        .field("demand_share", demand_share(k.demand_rate, demand));
    w.field("requests", k.counters.requests)
        .field("admitted", k.counters.admitted)
        .field("cancelled", k.counters.cancelled);
    write_rejected(w, k.counters.rejected);
    w.field("wait_p50_ms", percentile_ms(k.counters.wait, 0.5))
        .field("wait_p99_ms", percentile_ms(k.counters.wait, 0.99))
        .field("reject_wait_p99_ms", percentile_ms(k.counters.reject_wait, 0.99));
    // Beyond the schema: client connections with this key.
    w.field("connections", key_connections(connections, d.name, k.name));
    w.end_object();
  }
  w.end_array();
}

void write_database(JsonWriter& w, const DatabaseStatus& d, const KeyConnections& connections) {
  w.begin_object();
  w.field("name", d.name)
      .field("dbname", d.dbname)
      .field("host", d.host)
      .field("port", d.port)
      .field("pool_mode", d.pool_mode)
      .field("pool_size", d.pool_size)
      .field("server_connections", d.current_connections)
      .field("paused", d.paused)
      .field("removed", d.removed);
  write_admission(w, d.admission);
  write_totals(w, d.totals);
  write_keys(w, d, connections);
  w.end_object();
}

void write_alert(JsonWriter& w, const AlertStatus& a) {
  w.begin_object();
  w.field("kind", a.kind).field("database", a.database).field("key", a.key);
  w.field("active", a.active).field("since_ms", a.since_unix_us / 1000);
  w.key("cleared_ms");
  if (a.cleared_unix_us == 0) {
    w.null();
  } else {
    w.value(a.cleared_unix_us / 1000);
  }
  w.field("demand_share", a.demand_share)
      .field("fair_share", a.fair_share)
      .field("factor", a.factor)
      .field("message", a.message);
  w.end_object();
}

}  // namespace

std::string status_json(const Status& s) {
  JsonWriter w;
  w.begin_object();
  w.field("version", s.version);
  w.field("now_ms", s.now_unix_us / 1000);
  w.field("uptime_s", uptime_seconds(s));
  w.field("client_key", s.client_key_kind);
  w.key("clients").begin_object();
  w.field("connections", s.client_connections).field("max", s.max_client_connections);
  w.end_object();

  const KeyConnections connections = count_key_connections(s);
  w.key("databases").begin_array();
  for (const DatabaseStatus& d : s.databases) write_database(w, d, connections);
  w.end_array();

  w.key("alerts").begin_array();
  for (const AlertStatus& a : s.alerts) write_alert(w, a);
  w.end_array();
  w.end_object();
  return w.take();
}

}  // namespace pgs::admin
