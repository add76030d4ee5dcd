// The worker's side of the admin console: a Status snapshot of everything
// it owns, the operator's controls (PAUSE, RESUME, KILL_CLIENT, RELOAD, SET),
// the admin listener, skew alerts and the stats period.
#include <sys/time.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "config/describe.h"
#include "proxy/admin/admin_connection.h"
#include "proxy/client_session.h"
#include "proxy/log.h"
#include "proxy/server_connection.h"
#include "proxy/version.h"
#include "proxy/worker.h"

namespace pgs {

namespace {

// An admin connection that has not logged in (or sent a whole HTTP request)
// within this is closed; an idle logged-in HTTP keep-alive connection too.
constexpr uint64_t kAdminHttpIdleMs = 120000;

const char* client_state(ClientSession& c) {
  switch (c.state()) {
    case ClientSession::State::Startup:
    case ClientSession::State::Auth:
    case ClientSession::State::Welcome: return "login";
    case ClientSession::State::WaitAdmission:
    case ClientSession::State::WaitServer: return "waiting";
    case ClientSession::State::WaitSync: return "active";
    case ClientSession::State::Ready: return c.server() != nullptr ? "active" : "idle";
  }
  return "idle";
}

const char* server_state(ServerConnection& s) {
  switch (s.state()) {
    case ServerConnection::State::Connecting:
    case ServerConnection::State::Login: return "new";
    case ServerConnection::State::Idle: return "idle";
    case ServerConnection::State::Syncing:
    case ServerConnection::State::Resetting: return "tested";
    case ServerConnection::State::Active: return s.client() != nullptr ? "active" : "used";
  }
  return "idle";
}

admin::TrafficTotals operator-(const admin::TrafficTotals& a, const admin::TrafficTotals& b) {
  admin::TrafficTotals d;
  d.xact_count = a.xact_count - b.xact_count;
  d.query_count = a.query_count - b.query_count;
  d.bytes_received = a.bytes_received - b.bytes_received;
  d.bytes_sent = a.bytes_sent - b.bytes_sent;
  d.xact_time_us = a.xact_time_us - b.xact_time_us;
  d.query_time_us = a.query_time_us - b.query_time_us;
  d.wait_time_us = a.wait_time_us - b.wait_time_us;
  d.server_assignment_count = a.server_assignment_count - b.server_assignment_count;
  d.server_login_count = a.server_login_count - b.server_login_count;
  return d;
}

std::string share_text(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f%%", v * 100);
  return b;
}

}  // namespace

uint64_t Worker::unix_us_of_ms(uint64_t loop_ms) const {
  // uv_now() and uv_hrtime() share CLOCK_MONOTONIC: ms -> us on that clock.
  return loop_ms == 0 ? 0 : loop_ms * 1000 + unix_offset_us_;
}

// ---- status ----

admin::Status Worker::collect_status(bool with_addresses) {
  const uint64_t now_us_mono = now_us();
  const uint64_t now_ms_loop = now_ms();
  admin::Status s;
  s.version = std::string("pgsluice ") + PGSLUICE_VERSION;
  s.now_unix_us = unix_us();
  s.started_unix_us = started_unix_us_;
  s.client_key_kind = config::to_string(config_->limits.client_key);
  s.max_client_connections = config_->proxy.max_client_connections;
  s.client_connections = static_cast<uint32_t>(clients_.size());

  // Live clients' bytes go into their database's totals; pools count their clients.
  std::map<const DatabaseState*, admin::TrafficTotals> live_bytes;
  std::map<std::pair<const DatabaseState*, std::string>, admin::PoolStatus> pools;
  uint64_t logging_in = 0;
  s.clients.reserve(clients_.size());
  for (auto& [id, c] : clients_) {
    DatabaseState* db = c->database();
    if (c->logging_in()) ++logging_in;
    admin::ConnectionStatus cs;
    cs.type = 'C';
    cs.id = id;
    cs.user = c->user();
    cs.database = db != nullptr ? db->settings.name : std::string();
    cs.state = client_state(*c);
    if (with_addresses) {
      c->peer_address(cs.addr, cs.port);
      c->local_address(cs.local_addr, cs.local_port);
    }
    cs.connect_time_unix_us = unix_us_of_ms(c->connected_ms());
    cs.request_time_unix_us = unix_us_of_ms(c->last_request_ms());
    if (c->wait_since_us() != 0 && cs.state == std::string_view("waiting"))
      cs.wait_us = now_us_mono - std::min(now_us_mono, c->wait_since_us());
    cs.link = c->server() != nullptr ? c->server()->id() : 0;
    cs.remote_pid = c->cancel_pid();
    if (const std::string* app = c->wanted_params().get("application_name")) cs.application_name = *app;
    cs.client_key = c->client_key();
    if (db != nullptr) {
      admin::TrafficTotals& t = live_bytes[db];
      t.bytes_received += c->bytes_read();
      t.bytes_sent += c->bytes_sent();
      admin::PoolStatus& p = pools[{db, c->user()}];
      if (cs.state == std::string_view("active")) ++p.cl_active;
      else if (cs.state == std::string_view("waiting")) {
        ++p.cl_waiting;
        p.maxwait_us = std::max(p.maxwait_us, cs.wait_us);
      } else if (cs.state == std::string_view("idle")) ++p.cl_idle;
    }
    s.clients.push_back(std::move(cs));
  }
  std::sort(s.clients.begin(), s.clients.end(), [](const auto& a, const auto& b) { return a.id < b.id; });

  uint64_t server_count = 0;
  for (auto& [name, db] : databases_) {
    admin::DatabaseStatus d;
    d.name = name;
    d.host = db->settings.host;
    d.port = db->settings.port;
    d.dbname = db->settings.dbname;
    d.pool_mode = config::to_string(db->settings.pool_mode);
    d.pool_size = db->settings.pool_size;
    d.removed = db->removed;
    d.totals = db->traffic;
    if (auto it = live_bytes.find(db.get()); it != live_bytes.end()) {
      d.totals.bytes_received += it->second.bytes_received;
      d.totals.bytes_sent += it->second.bytes_sent;
    }
    d.averages = db->averages;
    if (db->admission) {
      d.admission = db->admission->snapshot(now_us_mono);
      d.paused = db->admission->paused();
    }
    for (auto& [user, pool] : db->pools) {
      admin::PoolStatus& p = pools[{db.get(), user}];
      d.current_connections += static_cast<uint32_t>(pool->servers().size());
      for (ServerConnection* sc : pool->servers()) {
        ++server_count;
        std::string_view st = server_state(*sc);
        if (sc->parked || sc->cancels_pending > 0) ++p.sv_being_canceled;
        else if (st == "new") ++p.sv_login;
        else if (st == "idle") ++p.sv_idle;
        else if (st == "tested") ++p.sv_tested;
        else if (st == "used") ++p.sv_used;
        else ++p.sv_active;
        admin::ConnectionStatus cs;
        cs.type = 'S';
        cs.id = sc->id();
        cs.user = user;
        cs.database = name;
        cs.state = std::string(st);
        if (with_addresses) {
          sc->peer_address(cs.addr, cs.port);
          sc->local_address(cs.local_addr, cs.local_port);
        }
        cs.connect_time_unix_us = unix_us_of_ms(sc->created_ms());
        cs.request_time_unix_us = unix_us_of_ms(sc->last_used_ms());
        cs.link = sc->client() != nullptr ? sc->client()->id() : 0;
        cs.remote_pid = sc->backend_pid();
        s.servers.push_back(std::move(cs));
      }
    }
    for (const admission::SkewDetector::Alert& a : db->skew.alerts()) {
      admin::AlertStatus as;
      as.kind = "skew";
      as.database = name;
      as.key = a.key;
      as.active = a.active;
      as.since_unix_us = a.since_us + unix_offset_us_;
      as.cleared_unix_us = a.cleared_us == 0 ? 0 : a.cleared_us + unix_offset_us_;
      as.demand_share = a.demand_share;
      as.fair_share = a.fair_share;
      as.factor = a.factor;
      as.message = "client \"" + a.key + "\" asks for " + share_text(a.demand_share) + " of database \"" + name +
                   "\" against a fair share of " + share_text(a.fair_share);
      s.alerts.push_back(std::move(as));
    }
    s.databases.push_back(std::move(d));
  }
  std::stable_sort(s.alerts.begin(), s.alerts.end(), [](const auto& a, const auto& b) { return a.active > b.active; });
  for (auto& [key, p] : pools) {
    p.database = key.first->settings.name;
    p.user = key.second;
    p.pool_mode = config::to_string(key.first->settings.pool_mode);
    s.pools.push_back(std::move(p));
  }

  for (const auto& [name, password] : config_->users) {
    admin::UserStatus u;
    u.name = name;
    u.admin = std::find(config_->admin.users.begin(), config_->admin.users.end(), name) != config_->admin.users.end();
    u.stats = std::find(config_->admin.stats_users.begin(), config_->admin.stats_users.end(), name) !=
              config_->admin.stats_users.end();
    s.users.push_back(std::move(u));
  }
  size_t pool_count = 0;
  for (auto& [name, db] : databases_) pool_count += db->pools.size();
  s.lists = {{"databases", databases_.size()},
             {"users", config_->users.size()},
             {"pools", pool_count},
             {"free_clients", 0},
             {"used_clients", clients_.size()},
             {"login_clients", logging_in},
             {"free_servers", 0},
             {"used_servers", server_count},
             {"dns_names", 0},
             {"dns_zones", 0},
             {"dns_queries", 0},
             {"dns_pending", 0}};
  s.settings = config::describe(*config_);
  (void)now_ms_loop;
  return s;
}

// ---- controls ----

bool Worker::pause(std::string_view database, std::string& message) {
  size_t n = 0;
  for (auto& [name, db] : databases_) {
    if (!database.empty() && name != database) continue;
    if (db->removed || !db->admission) continue;
    db->admission->set_paused(true, now_us());
    ++n;
    message = "database \"" + name + "\" paused: new transactions wait (up to queue_timeout_ms), " +
              std::to_string(db->admission->running()) + " running may finish";
  }
  if (n == 0) {
    message = "no database \"" + std::string(database) + "\"; SHOW DATABASES lists them";
    return false;
  }
  if (database.empty()) message = std::to_string(n) + " database(s) paused: new transactions wait (up to queue_timeout_ms)";
  return true;
}

bool Worker::resume(std::string_view database, std::string& message) {
  size_t n = 0;
  for (auto& [name, db] : databases_) {
    if (!database.empty() && name != database) continue;
    if (!db->admission) continue;
    db->admission->set_paused(false, now_us());
    admission_poll(*db);
    ++n;
    message = "database \"" + name + "\" resumed";
  }
  if (n == 0) {
    message = "no database \"" + std::string(database) + "\"; SHOW DATABASES lists them";
    return false;
  }
  if (database.empty()) message = std::to_string(n) + " database(s) resumed";
  return true;
}

bool Worker::kill_client(uint64_t id, std::string& message) {
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    message = "no client with id " + std::to_string(id) + "; SHOW CLIENTS lists them (column ptr, in hex)";
    return false;
  }
  proto::ErrorFields e;
  e.severity = "FATAL";
  e.sqlstate = "57P01";
  e.message = "terminating connection due to administrator command (pgsluice KILL_CLIENT)";
  it->second->terminate(e);
  message = "client " + std::to_string(id) + " disconnected";
  return true;
}

bool Worker::reload(std::string& message) {
  const std::string& path = config_->path;
  if (path.empty()) {
    message = "the configuration was not loaded from a file; nothing to reload";
    return false;
  }
  config::LoadResult r = config::load_config_file(path);
  if (!r.errors.empty()) {
    for (const auto& e : r.errors) LOG_EVENT(LogLevel::Error, "config_error", {{"path", path}, {"error", e.to_string()}});
    LOG_EVENT(LogLevel::Error, "config_reload_refused",
              {{"path", path}, {"problems", r.errors.size()}, {"kept", "the running configuration"}});
    message = "config reload refused: " + path + " has " + std::to_string(r.errors.size()) +
              " problem(s); the running configuration stays. First: " + r.errors.front().to_string();
    return false;
  }
  apply_config(std::make_shared<const config::Config>(std::move(*r.config)));
  LOG_EVENT(LogLevel::Info, "config_reloaded", {{"path", path}});
  message = "configuration reloaded from " + path;
  return true;
}

bool Worker::set_setting(std::string_view key, std::string_view value, std::string& message) {
  config::SetResult r = config::with_setting(*config_, key, value);
  if (!r.config) {
    message.clear();
    for (const std::string& e : r.errors) message += (message.empty() ? "" : "; ") + e;
    return false;
  }
  apply_config(std::make_shared<const config::Config>(std::move(*r.config)));
  message = std::string(key) + " set to " + std::string(value);
  return true;
}

// ---- the admin listener ----

// Not among the client listeners: a draining pgsluice can still be watched.
bool Worker::listen_admin(const config::Endpoint& ep, std::string& error) {
  admin_listener_ = bind_listener(ep, on_admin_connection, 128, error);
  return admin_listener_ != nullptr;
}

void Worker::on_admin_connection(uv_stream_t* listener, int status) {
  auto* self = static_cast<Worker*>(listener->data);
  if (status < 0) return;
  auto* a = new AdminConnection(*self, 0);
  if (uv_accept(listener, a->stream()) != 0) {
    a->close();
    return;
  }
  if (self->stopped_ || self->admins_.size() >= 64) {
    a->close();  // a handful of operators and scrapers; more is a mistake or an attack
    return;
  }
  self->admins_.emplace(a, self->now_ms());
  a->start(self->now_ms());
}

void Worker::admin_closed(AdminConnection* connection) { admins_.erase(connection); }

// ---- periodic ----

void Worker::check_alerts() {
  const config::AlertSettings& a = config_->alerts;
  admission::SkewDetector::Settings s;
  s.factor = a.skew_factor;
  s.for_us = uint64_t{a.skew_for_ms} * 1000;
  s.min_rate = a.skew_min_rate;
  std::vector<admission::SkewDetector::Event> events;
  const uint64_t now = now_us();
  for (auto& [name, db] : databases_) {
    if (!db->admission) continue;
    db->admission->key_demands(now, demands_);
    events.clear();
    db->skew.update(now, demands_, s, events);
    for (const auto& e : events)
      log_alert("skew", e.raised,
                {{"database", name},
                 {"key", e.alert.key},
                 {"demand_share", e.alert.demand_share},
                 {"fair_share", e.alert.fair_share},
                 {"factor", e.alert.factor}});
  }
  // Admin connections that never logged in, or HTTP ones left idle.
  const uint64_t now_ms_loop = now_ms();
  std::vector<AdminConnection*> late;
  for (auto& [c, since] : admins_) {
    if (c->closing()) continue;
    if (!c->logged_in() && !c->is_http() && now_ms_loop - since > config_->proxy.login_timeout_ms) late.push_back(c);
    else if (c->is_http() && now_ms_loop - c->last_activity_ms() > kAdminHttpIdleMs) late.push_back(c);
  }
  for (AdminConnection* c : late) c->terminate("08P01", "pgsluice: admin login did not finish within login_timeout_ms");
}

void Worker::roll_stats_period() {
  const uint64_t now = now_ms();
  if (stats_period_start_ms_ == 0) {
    stats_period_start_ms_ = now;
    return;
  }
  const uint64_t elapsed_ms = now - stats_period_start_ms_;
  if (elapsed_ms < kStatsPeriodMs) return;
  stats_period_start_ms_ = now;
  for (auto& [name, db] : databases_) {
    admin::TrafficTotals cur = db->traffic;
    for (auto& [id, c] : clients_) {
      if (c->database() != db.get()) continue;
      cur.bytes_received += c->bytes_read();
      cur.bytes_sent += c->bytes_sent();
    }
    admin::TrafficTotals d = cur - db->traffic_at_period_start;
    auto per_s = [elapsed_ms](uint64_t v) { return v * 1000 / std::max<uint64_t>(elapsed_ms, 1); };
    admin::TrafficAverages& a = db->averages;
    a.xact_count = per_s(d.xact_count);
    a.query_count = per_s(d.query_count);
    a.recv = per_s(d.bytes_received);
    a.sent = per_s(d.bytes_sent);
    a.xact_time_us = d.xact_count == 0 ? 0 : d.xact_time_us / d.xact_count;
    a.query_time_us = d.query_count == 0 ? 0 : d.query_time_us / d.query_count;
    a.wait_time_us = d.xact_count == 0 ? 0 : d.wait_time_us / d.xact_count;
    a.server_assignment_count = per_s(d.server_assignment_count);
    db->traffic_at_period_start = cur;
  }
}

}  // namespace pgs
