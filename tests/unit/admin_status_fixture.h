// A hand-made Status for the admin formatter tests: two databases (one
// adaptive with two client keys, one with admission off and paused), two
// pools, three clients, two servers, two users, PgBouncer's lists, an active
// and a cleared alert for the same key, and a few settings.
#pragma once

#include <cstdint>

#include "proxy/admin/status.h"

namespace pgs::admin::testing {

// 2025-11-25 14:31:08.123456 UTC
inline constexpr uint64_t kNowUs = 1764081068123456;

inline ConnectionStatus make_connection(char type, uint64_t id, const char* user,
                                        const char* database, const char* state, uint64_t link) {
  ConnectionStatus c;
  c.type = type;
  c.id = id;
  c.user = user;
  c.database = database;
  c.state = state;
  c.link = link;
  return c;
}

inline Status make_status() {
  Status s;
  s.version = "pgsluice 0.1.0";
  s.now_unix_us = kNowUs;
  s.started_unix_us = kNowUs - 123400000;  // up 123.4 s
  s.client_key_kind = "address";
  s.max_client_connections = 10000;
  s.client_connections = 3;

  DatabaseStatus bench;
  bench.name = "bench";
  bench.host = "127.0.0.1";
  bench.port = 5432;
  bench.dbname = "benchdb";
  bench.pool_mode = "transaction";
  bench.pool_size = 20;
  bench.current_connections = 5;
  bench.totals = {1000, 2500, 123456, 654321, 9000000, 7000000, 300000, 40, 6};
  bench.averages = {10, 25, 1234, 6543, 900, 280, 30, 1};
  admission::Snapshot& a = bench.admission;
  a.mode = admission::Mode::Adaptive;
  a.limit = 4;
  a.running = 3;
  a.queued = 10;
  a.requests = 1000;
  a.admitted = 900;
  a.rejected[0] = 50;  // queue_full
  a.rejected[1] = 30;  // timeout
  a.rejected[2] = 15;  // shed
  a.rejected[3] = 4;   // predicted
  a.rejected[4] = 1;   // paused
  a.cancelled = 2;
  a.min_latency_ms = 6.1;
  a.recent_latency_ms = 8.0;
  a.throughput = 150.25;
  for (int i = 0; i < 90; ++i) a.latency.record(4000);   // 2.5..5 ms bucket
  for (int i = 0; i < 10; ++i) a.latency.record(40000);  // 25..50 ms bucket
  a.latency.record(20000000);                            // +Inf bucket
  admission::KeySnapshot k1;
  k1.name = "10.0.0.5";
  k1.policy = {0, 1, 64, 1000};
  k1.running = 2;
  k1.queued_now = 8;
  k1.standing = true;
  k1.demand_rate = 300.0;
  k1.served_rate = 120.0;
  k1.counters.requests = 700;
  k1.counters.admitted = 600;
  k1.counters.rejected[0] = 50;
  k1.counters.rejected[2] = 15;
  k1.counters.cancelled = 2;
  for (int i = 0; i < 50; ++i) k1.counters.wait.record(0);
  for (int i = 0; i < 50; ++i) k1.counters.wait.record(12000);
  k1.counters.reject_wait.record(100);
  admission::KeySnapshot k2;
  k2.name = "10.0.0.6";
  k2.policy = {2, 3, 16, 500};
  k2.running = 1;
  k2.queued_now = 2;
  k2.demand_rate = 100.0;
  k2.served_rate = 100.0;
  k2.counters.requests = 300;
  k2.counters.admitted = 300;
  for (int i = 0; i < 300; ++i) k2.counters.wait.record(50);
  a.keys = {k1, k2};
  a.wait.merge(k1.counters.wait);
  a.wait.merge(k2.counters.wait);
  a.reject_wait.merge(k1.counters.reject_wait);
  s.databases.push_back(bench);

  DatabaseStatus app;
  app.name = "app";
  app.host = "db.internal";
  app.port = 5433;
  app.dbname = "app";
  app.pool_mode = "session";
  app.pool_size = 10;
  app.current_connections = 1;
  app.paused = true;
  app.admission.mode = admission::Mode::Off;
  app.admission.limit = UINT32_MAX;
  app.admission.paused = true;
  admission::KeySnapshot k3;
  k3.name = "10.0.0.7";
  k3.queued_now = 1;
  app.admission.keys = {k3};
  s.databases.push_back(app);

  PoolStatus p1;
  p1.database = "bench";
  p1.user = "alice";
  p1.cl_active = 1;
  p1.cl_idle = 1;
  p1.sv_active = 1;
  p1.sv_idle = 3;
  p1.sv_login = 1;
  p1.maxwait_us = 2500000;
  p1.pool_mode = "transaction";
  PoolStatus p2;
  p2.database = "app";
  p2.user = "bob";
  p2.cl_waiting = 1;
  p2.sv_idle = 1;
  p2.pool_mode = "session";
  s.pools = {p1, p2};

  ConnectionStatus c1 = make_connection('C', 1, "alice", "bench", "active", 101);
  c1.addr = "10.0.0.5";
  c1.port = 40001;
  c1.local_addr = "127.0.0.1";
  c1.local_port = 6432;
  c1.connect_time_unix_us = kNowUs - 60000000;  // 14:30:08
  c1.request_time_unix_us = kNowUs - 1000000;   // 14:31:07
  c1.remote_pid = 77;
  c1.application_name = "pgbench";
  c1.client_key = "10.0.0.5";
  ConnectionStatus c2 = make_connection('C', 2, "alice", "bench", "idle", 0);
  c2.addr = "10.0.0.5";
  c2.port = 40002;
  c2.connect_time_unix_us = kNowUs - 30000000;
  c2.client_key = "10.0.0.5";
  ConnectionStatus c3 = make_connection('C', 3, "bob", "app", "waiting", 0);
  c3.addr = "10.0.0.7";
  c3.port = 40003;
  c3.connect_time_unix_us = kNowUs - 5000000;
  c3.wait_us = 2500000;
  c3.client_key = "10.0.0.7";
  s.clients = {c1, c2, c3};

  ConnectionStatus s1 = make_connection('S', 101, "alice", "bench", "active", 1);
  s1.addr = "127.0.0.1";
  s1.port = 5432;
  s1.local_addr = "127.0.0.1";
  s1.local_port = 50001;
  s1.connect_time_unix_us = kNowUs - 120000000;
  s1.request_time_unix_us = kNowUs - 1000000;
  s1.remote_pid = 4242;
  s1.application_name = "pgbench";
  ConnectionStatus s2 = make_connection('S', 102, "bob", "app", "idle", 0);
  s2.addr = "db.internal";
  s2.port = 5433;
  s2.remote_pid = 4343;
  s.servers = {s1, s2};

  s.users = {{"alice", "transaction", false, false}, {"bob", "", false, false}};
  s.lists = {{"databases", 2},    {"users", 2},        {"peers", 0},        {"pools", 2},
             {"peer_pools", 0},   {"free_clients", 0}, {"used_clients", 3}, {"login_clients", 0},
             {"free_servers", 0}, {"used_servers", 2}, {"dns_names", 0},    {"dns_zones", 0},
             {"dns_queries", 0},  {"dns_pending", 0}};

  AlertStatus active;
  active.kind = "skew";
  active.database = "bench";
  active.key = "10.0.0.5";
  active.active = true;
  active.since_unix_us = kNowUs - 8000000;
  active.demand_share = 0.75;
  active.fair_share = 0.25;
  active.factor = 3.0;
  active.message = "10.0.0.5 asks for 75% of bench's transactions; its fair share is 25%";
  AlertStatus cleared = active;
  cleared.active = false;
  cleared.since_unix_us = kNowUs - 600000000;
  cleared.cleared_unix_us = kNowUs - 500000000;
  s.alerts = {active, cleared};

  s.settings = {{"proxy.max_client_connections", "10000", "10000", false},
                {"limits.max_concurrency", "0", "0", true},
                {"databases.bench.pool_mode", "\"transaction\"", "\"transaction\"", true},
                {"limits.clients.\"10.0.0.5\".weight", "1", "", true}};
  return s;
}

}  // namespace pgs::admin::testing
