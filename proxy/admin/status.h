// Everything the admin console, /metrics, /api/status and the dashboard
// report, as plain data: the worker fills a Status on request; the
// formatters (console result sets, Prometheus text, JSON) only read it.
// No libuv, no sockets: formatters are tested with hand-made Status values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/describe.h"
#include "proxy/admission/admission.h"
#include "proxy/admission/histogram.h"

namespace pgs::admin {

// Traffic totals of one database since pgsluice started (PgBouncer's
// SHOW STATS_TOTALS vocabulary). Times in microseconds.
struct TrafficTotals {
  uint64_t xact_count = 0;      // transactions ended (ReadyForQuery idle after work)
  uint64_t query_count = 0;     // server round trips (Query, or a batch up to Sync)
  uint64_t bytes_received = 0;  // from clients
  uint64_t bytes_sent = 0;      // to clients
  uint64_t xact_time_us = 0;    // server time inside transactions
  uint64_t query_time_us = 0;   // server time of round trips
  uint64_t wait_time_us = 0;    // clients waiting for admission or a server connection
  uint64_t server_assignment_count = 0;  // server connections handed to clients
  uint64_t server_login_count = 0;  // server connections opened and logged in (new backends)
};

// Averages over the last stats period (PgBouncer's SHOW STATS avg_*):
// counts per second, times per transaction / per query in microseconds.
struct TrafficAverages {
  uint64_t xact_count = 0;
  uint64_t query_count = 0;
  uint64_t recv = 0;
  uint64_t sent = 0;
  uint64_t xact_time_us = 0;
  uint64_t query_time_us = 0;
  uint64_t wait_time_us = 0;
  uint64_t server_assignment_count = 0;
};

struct DatabaseStatus {
  std::string name;    // what clients ask for
  std::string host;
  uint16_t port = 0;
  std::string dbname;  // name on the server
  std::string pool_mode;  // "session" | "transaction"
  uint32_t pool_size = 0;
  uint32_t current_connections = 0;  // server connections, every user's pool
  bool paused = false;
  bool removed = false;  // gone from the config, still serving its clients
  TrafficTotals totals;
  TrafficAverages averages;
  admission::Snapshot admission;  // limit, running, queued, counters, histograms, per-key state
};

struct PoolStatus {
  std::string database;
  std::string user;
  uint32_t cl_active = 0;   // clients attached to a server connection
  uint32_t cl_waiting = 0;  // clients waiting for admission or a server connection
  uint32_t cl_idle = 0;     // logged in, no transaction (pgsluice: not in PgBouncer's SHOW POOLS)
  uint32_t cl_active_cancel_req = 0;
  uint32_t cl_waiting_cancel_req = 0;
  uint32_t sv_active = 0;   // attached to a client
  uint32_t sv_active_cancel = 0;
  uint32_t sv_being_canceled = 0;  // parked until a forwarded cancel is acknowledged
  uint32_t sv_idle = 0;
  uint32_t sv_used = 0;
  uint32_t sv_tested = 0;  // running the reset query or being brought to a client's settings
  uint32_t sv_login = 0;   // connecting or logging in
  uint64_t maxwait_us = 0;  // the longest current wait of a waiting client
  std::string pool_mode;
};

// One connection, client or server (PgBouncer's SHOW CLIENTS / SHOW SERVERS rows).
struct ConnectionStatus {
  char type = 'C';  // 'C' client, 'S' server
  uint64_t id = 0;  // clients: the id KILL_CLIENT takes; servers: pgsluice's server id
  std::string user;
  std::string database;
  std::string state;  // clients: "active" | "waiting" | "idle" | "login"; servers: "active" | "idle" | "used" | "tested" | "new"
  std::string addr;   // the peer's address
  uint16_t port = 0;
  std::string local_addr;
  uint16_t local_port = 0;
  uint64_t connect_time_unix_us = 0;
  uint64_t request_time_unix_us = 0;  // last transaction start (clients) / last use (servers)
  uint64_t wait_us = 0;               // clients: how long the current wait has lasted
  uint64_t link = 0;                  // id of the connection on the other side, 0 if none
  int32_t remote_pid = 0;             // servers: the backend's pid; clients: pgsluice's cancel pid
  std::string application_name;
  std::string client_key;             // clients: the admission key
};

struct UserStatus {
  std::string name;
  std::string pool_mode;  // "" when it differs between databases
  bool admin = false;
  bool stats = false;
};

// PgBouncer's SHOW LISTS, as (name, count) rows in its order.
struct ListEntry {
  std::string list;
  uint64_t items = 0;
};

struct AlertStatus {
  std::string kind;      // "skew"
  std::string database;
  std::string key;       // the client key
  bool active = false;   // false: cleared (kept a while for the record)
  uint64_t since_unix_us = 0;    // when it was raised
  uint64_t cleared_unix_us = 0;  // when it cleared (0 while active)
  double demand_share = 0;  // the key's share of the database's demand (0..1)
  double fair_share = 0;    // its weighted fair share (0..1)
  double factor = 0;        // demand_share / fair_share at the last check
  std::string message;      // one line for a person
};

struct Status {
  std::string version;          // "pgsluice 0.x.y"
  uint64_t now_unix_us = 0;
  uint64_t started_unix_us = 0;
  std::string client_key_kind;  // [limits] client_key: "address" | "user" | ...
  uint32_t max_client_connections = 0;
  uint32_t client_connections = 0;
  std::vector<DatabaseStatus> databases;
  std::vector<PoolStatus> pools;
  std::vector<ConnectionStatus> clients;
  std::vector<ConnectionStatus> servers;
  std::vector<UserStatus> users;
  std::vector<ListEntry> lists;
  std::vector<AlertStatus> alerts;  // active first, then recently cleared
  std::vector<config::SettingEntry> settings;  // SHOW CONFIG
};

}  // namespace pgs::admin
