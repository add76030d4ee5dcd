#include "proxy/admin/show.h"

#include <array>
#include <string>

#include "proxy/admin/format.h"
#include "proxy/admin/show_admission.h"

namespace pgs::admin {

namespace {

using namespace type_oid;

// ---- HELP ----

// PgBouncer answers SHOW HELP with a NOTICE; pgsluice answers with a
// one-column result set so that every SHOW is a plain query result.
constexpr std::array<std::string_view, 9> kHelpLines = {
    "SHOW HELP|VERSION|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|LISTS",
    "SHOW STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS",
    "SHOW ADMISSION|CLIENT_KEYS|ALERTS",
    "SET key = value -- change a setting at run time (SHOW CONFIG: changeable)",
    "RELOAD -- read the configuration file again",
    "PAUSE [db] -- admit no new transactions (they queue until RESUME or their queue timeout)",
    "RESUME [db] -- admit again after PAUSE",
    "KILL_CLIENT id -- close one client connection (id: SHOW CLIENTS ptr)",
    "SHUTDOWN -- stop pgsluice",
};

void show_help(const Status&, ResultSet& out) {
  out.columns = {{"help", kText}};
  for (std::string_view line : kHelpLines) RowWriter(out).text(line);
}

void show_version(const Status& s, ResultSet& out) {
  out.columns = {{"version", kText}};
  RowWriter(out).text(s.version);
}

// ---- CONFIG ----

const config::SettingEntry* find_setting(const Status& s, std::string_view key) {
  for (const config::SettingEntry& e : s.settings) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

void show_config(const Status& s, ResultSet& out) {
  out.columns = {{"key", kText}, {"value", kText}, {"default", kText}, {"changeable", kText}};
  for (const config::SettingEntry& e : s.settings) {
    RowWriter(out)
        .text(e.key)
        .text(e.value)
        .text(e.default_value)
        .text(e.changeable ? "yes" : "no");
  }
  // PgBouncer's names for the two settings pgbouncer_exporter reads, so its
  // pgbouncer_config_* gauges work: max_client_conn is
  // proxy.max_client_connections; pgsluice has no per-user server limit (0,
  // PgBouncer's "unlimited").
  const config::SettingEntry* max_client = find_setting(s, "proxy.max_client_connections");
  RowWriter(out)
      .text("max_client_conn")
      .integer(s.max_client_connections)
      .text(max_client ? max_client->default_value : "")
      .text(max_client && max_client->changeable ? "yes" : "no");
  RowWriter(out).text("max_user_connections").text("0").text("0").text("no");
}

// ---- DATABASES, POOLS, USERS, LISTS ----

void show_databases(const Status& s, ResultSet& out) {
  out.columns = {{"name", kText},
                 {"host", kText},
                 {"port", kInt4},
                 {"database", kText},
                 {"force_user", kText},
                 {"pool_size", kInt4},
                 {"min_pool_size", kInt4},
                 {"reserve_pool", kInt4},
                 {"pool_mode", kText},
                 {"max_connections", kInt4},
                 {"current_connections", kInt4},
                 {"paused", kInt4},
                 {"disabled", kInt4}};
  for (const DatabaseStatus& d : s.databases) {
    RowWriter row(out);
    row.text(d.name).text(d.host).integer(d.port).text(d.dbname);
    row.null();  // force_user: pgsluice logs in as the client's user
    row.integer(d.pool_size).integer(0).integer(0);  // no min_pool_size, no reserve pool
    if (d.pool_mode.empty()) {
      row.null();
    } else {
      row.text(d.pool_mode);
    }
    row.integer(0);  // max_connections: no max_db_connections (0 = unlimited, as PgBouncer)
    row.integer(d.current_connections).integer(d.paused ? 1 : 0).integer(0);
  }
}

void show_pools(const Status& s, ResultSet& out) {
  out.columns = {{"database", kText},
                 {"user", kText},
                 {"cl_active", kInt4},
                 {"cl_waiting", kInt4},
                 {"cl_active_cancel_req", kInt4},
                 {"cl_waiting_cancel_req", kInt4},
                 {"sv_active", kInt4},
                 {"sv_active_cancel", kInt4},
                 {"sv_being_canceled", kInt4},
                 {"sv_idle", kInt4},
                 {"sv_used", kInt4},
                 {"sv_tested", kInt4},
                 {"sv_login", kInt4},
                 {"maxwait", kInt4},
                 {"maxwait_us", kInt4},
                 {"pool_mode", kText}};
  for (const PoolStatus& p : s.pools) {
    RowWriter row(out);
    row.text(p.database).text(p.user);
    // PgBouncer's cl_active counts idle clients too ("linked to server
    // connections or idle with no queries waiting").
    row.integer(uint64_t{p.cl_active} + p.cl_idle).integer(p.cl_waiting);
    row.integer(p.cl_active_cancel_req).integer(p.cl_waiting_cancel_req);
    row.integer(p.sv_active).integer(p.sv_active_cancel).integer(p.sv_being_canceled);
    row.integer(p.sv_idle).integer(p.sv_used).integer(p.sv_tested).integer(p.sv_login);
    row.integer(p.maxwait_us / 1000000).integer(p.maxwait_us % 1000000);
    row.text(p.pool_mode);
  }
}

void show_users(const Status& s, ResultSet& out) {
  out.columns = {{"name", kText}, {"pool_mode", kText}};
  for (const UserStatus& u : s.users) {
    RowWriter row(out);
    row.text(u.name);
    if (u.pool_mode.empty()) {
      row.null();  // PgBouncer: NULL when the user has no pool_mode of its own
    } else {
      row.text(u.pool_mode);
    }
  }
}

void show_lists(const Status& s, ResultSet& out) {
  out.columns = {{"list", kText}, {"items", kInt4}};
  for (const ListEntry& l : s.lists) RowWriter(out).text(l.list).integer(l.items);
}

// ---- CLIENTS, SERVERS ----

void set_connection_columns(ResultSet& out) {
  out.columns = {{"type", kText},
                 {"user", kText},
                 {"database", kText},
                 {"state", kText},
                 {"addr", kText},
                 {"port", kInt4},
                 {"local_addr", kText},
                 {"local_port", kInt4},
                 {"connect_time", kText},
                 {"request_time", kText},
                 {"wait", kInt4},
                 {"wait_us", kInt4},
                 {"close_needed", kInt4},
                 {"ptr", kText},
                 {"link", kText},
                 {"remote_pid", kInt4},
                 {"tls", kText},
                 {"application_name", kText},
                 {"prepared_statements", kInt4}};
}

void time_or_null(RowWriter& row, uint64_t unix_us) {
  if (unix_us == 0) {
    row.null();  // not happened yet
  } else {
    row.text(format_utc_time(unix_us));
  }
}

void connection_row(ResultSet& out, const ConnectionStatus& c) {
  RowWriter row(out);
  row.text(std::string_view(&c.type, 1));
  row.text(c.user.empty() ? std::string_view("(nouser)") : std::string_view(c.user));
  row.text(c.database.empty() ? std::string_view("(nodb)") : std::string_view(c.database));
  row.text(c.state).text(c.addr).integer(c.port).text(c.local_addr).integer(c.local_port);
  time_or_null(row, c.connect_time_unix_us);
  time_or_null(row, c.request_time_unix_us);
  row.integer(c.wait_us / 1000000).integer(c.wait_us % 1000000);
  row.integer(0);  // close_needed
  row.text(format_hex_id(c.id));
  row.text(c.link == 0 ? std::string() : format_hex_id(c.link));  // PgBouncer: "" when unlinked
  row.integer_signed(c.remote_pid);
  row.text("");  // tls: pgsluice does not speak TLS
  row.text(c.application_name);
  row.integer(0);  // prepared_statements: pgsluice does not track them
}

void show_clients(const Status& s, ResultSet& out) {
  set_connection_columns(out);
  for (const ConnectionStatus& c : s.clients) connection_row(out, c);
}

void show_servers(const Status& s, ResultSet& out) {
  set_connection_columns(out);
  for (const ConnectionStatus& c : s.servers) connection_row(out, c);
}

// ---- STATS, STATS_TOTALS, STATS_AVERAGES, TOTALS ----
// PgBouncer sends these counters as numeric.

void add_totals(RowWriter& row, const TrafficTotals& t) {
  row.integer(t.xact_count).integer(t.query_count).integer(t.bytes_received).integer(t.bytes_sent);
  row.integer(t.xact_time_us).integer(t.query_time_us).integer(t.wait_time_us);
}

void add_averages(RowWriter& row, const TrafficAverages& a) {
  row.integer(a.xact_count).integer(a.query_count).integer(a.recv).integer(a.sent);
  row.integer(a.xact_time_us).integer(a.query_time_us).integer(a.wait_time_us);
}

void show_stats(const Status& s, ResultSet& out) {
  out.columns = {{"database", kText},
                 {"total_xact_count", kNumeric},
                 {"total_query_count", kNumeric},
                 {"total_received", kNumeric},
                 {"total_sent", kNumeric},
                 {"total_xact_time", kNumeric},
                 {"total_query_time", kNumeric},
                 {"total_wait_time", kNumeric},
                 {"avg_xact_count", kNumeric},
                 {"avg_query_count", kNumeric},
                 {"avg_recv", kNumeric},
                 {"avg_sent", kNumeric},
                 {"avg_xact_time", kNumeric},
                 {"avg_query_time", kNumeric},
                 {"avg_wait_time", kNumeric}};
  for (const DatabaseStatus& d : s.databases) {
    RowWriter row(out);
    row.text(d.name);
    add_totals(row, d.totals);
    add_averages(row, d.averages);
  }
}

void set_stats_subset_columns(ResultSet& out) {
  out.columns = {{"database", kText},          {"xact_count", kNumeric}, {"query_count", kNumeric},
                 {"bytes_received", kNumeric}, {"bytes_sent", kNumeric}, {"xact_time", kNumeric},
                 {"query_time", kNumeric},     {"wait_time", kNumeric}};
}

void show_stats_totals(const Status& s, ResultSet& out) {
  set_stats_subset_columns(out);
  for (const DatabaseStatus& d : s.databases) {
    RowWriter row(out);
    row.text(d.name);
    add_totals(row, d.totals);
  }
}

void show_stats_averages(const Status& s, ResultSet& out) {
  set_stats_subset_columns(out);
  for (const DatabaseStatus& d : s.databases) {
    RowWriter row(out);
    row.text(d.name);
    add_averages(row, d.averages);
  }
}

// Every database together, one (name, value) row per figure, in PgBouncer's
// names. Rates add up; the per-transaction and per-query times are averaged
// weighted by each database's rate.
void show_totals(const Status& s, ResultSet& out) {
  out.columns = {{"name", kText}, {"value", kNumeric}};
  TrafficTotals t;
  TrafficAverages a;
  double xact_time_weighted = 0, query_time_weighted = 0;
  for (const DatabaseStatus& d : s.databases) {
    t.xact_count += d.totals.xact_count;
    t.query_count += d.totals.query_count;
    t.bytes_received += d.totals.bytes_received;
    t.bytes_sent += d.totals.bytes_sent;
    t.xact_time_us += d.totals.xact_time_us;
    t.query_time_us += d.totals.query_time_us;
    t.wait_time_us += d.totals.wait_time_us;
    a.xact_count += d.averages.xact_count;
    a.query_count += d.averages.query_count;
    a.recv += d.averages.recv;
    a.sent += d.averages.sent;
    a.wait_time_us += d.averages.wait_time_us;
    xact_time_weighted +=
        static_cast<double>(d.averages.xact_time_us) * static_cast<double>(d.averages.xact_count);
    query_time_weighted +=
        static_cast<double>(d.averages.query_time_us) * static_cast<double>(d.averages.query_count);
  }
  if (a.xact_count > 0) {
    a.xact_time_us = static_cast<uint64_t>(xact_time_weighted / static_cast<double>(a.xact_count));
  }
  if (a.query_count > 0) {
    a.query_time_us =
        static_cast<uint64_t>(query_time_weighted / static_cast<double>(a.query_count));
  }
  const std::pair<std::string_view, uint64_t> rows[] = {{"total_xact_count", t.xact_count},
                                                        {"total_query_count", t.query_count},
                                                        {"total_client_bytes", t.bytes_received},
                                                        {"total_server_bytes", t.bytes_sent},
                                                        {"total_xact_time", t.xact_time_us},
                                                        {"total_query_time", t.query_time_us},
                                                        {"total_wait_time", t.wait_time_us},
                                                        {"avg_xact_count", a.xact_count},
                                                        {"avg_query_count", a.query_count},
                                                        {"avg_client_bytes", a.recv},
                                                        {"avg_server_bytes", a.sent},
                                                        {"avg_xact_time", a.xact_time_us},
                                                        {"avg_query_time", a.query_time_us},
                                                        {"avg_wait_time", a.wait_time_us}};
  for (const auto& [name, value] : rows) RowWriter(out).text(name).integer(value);
}

// ---- the topic table ----

struct Topic {
  std::string_view name;  // upper case
  void (*fill)(const Status&, ResultSet&);
};

constexpr std::array<Topic, 16> kTopics = {{
    {"HELP", show_help},
    {"VERSION", show_version},
    {"CONFIG", show_config},
    {"DATABASES", show_databases},
    {"POOLS", show_pools},
    {"CLIENTS", show_clients},
    {"SERVERS", show_servers},
    {"USERS", show_users},
    {"LISTS", show_lists},
    {"STATS", show_stats},
    {"STATS_TOTALS", show_stats_totals},
    {"STATS_AVERAGES", show_stats_averages},
    {"TOTALS", show_totals},
    {"ADMISSION", detail::show_admission},
    {"CLIENT_KEYS", detail::show_client_keys},
    {"ALERTS", detail::show_alerts},
}};

const std::array<std::string_view, kTopics.size()> kTopicNames = [] {
  std::array<std::string_view, kTopics.size()> names{};
  for (size_t i = 0; i < kTopics.size(); ++i) names[i] = kTopics[i].name;
  return names;
}();

// PgBouncer topics that have no meaning in pgsluice.
constexpr std::array<std::string_view, 9> kPgBouncerOnlyTopics = {
    "FDS",       "SOCKETS",   "ACTIVE_SOCKETS", "MEM",       "STATE",
    "DNS_HOSTS", "DNS_ZONES", "PEERS",          "PEER_POOLS"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

const Topic* find_topic(std::string_view name) {
  for (const Topic& t : kTopics) {
    if (iequals(t.name, name)) return &t;
  }
  return nullptr;
}

}  // namespace

std::string show_topics_hint() {
  std::string hint = "SHOW takes one of: ";
  for (size_t i = 0; i < kTopics.size(); ++i) {
    if (i > 0) hint += ", ";
    hint += kTopics[i].name;
  }
  hint += ".";
  return hint;
}

std::span<const std::string_view> show_topics() { return kTopicNames; }

bool check_show_topic(std::string_view topic, ErrorInfo& err) {
  if (find_topic(topic) != nullptr) return true;
  for (std::string_view name : kPgBouncerOnlyTopics) {
    if (iequals(name, topic)) {
      err = console_error(
          kFeatureNotSupported,
          "SHOW " + std::string(name) + " is a PgBouncer command pgsluice does not have",
          show_topics_hint());
      return false;
    }
  }
  err = console_error(kUndefinedObject, "unknown SHOW topic \"" + std::string(topic) + "\"",
                      show_topics_hint());
  return false;
}

bool show(const Status& s, std::string_view topic, ResultSet& out, ErrorInfo& err) {
  const Topic* t = find_topic(topic);
  if (t == nullptr) {
    (void)check_show_topic(topic, err);  // fills err
    return false;
  }
  out = ResultSet{};
  t->fill(s, out);
  return true;
}

std::string_view commands_hint() {
  return "Commands: SHOW topic, SET key = value, RELOAD, PAUSE [db], RESUME [db], "
         "KILL_CLIENT id, SHUTDOWN. SHOW HELP lists them and the SHOW topics.";
}

}  // namespace pgs::admin
