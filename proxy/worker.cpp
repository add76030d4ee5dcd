#include "proxy/worker.h"

#include <netdb.h>

#include <algorithm>
#include <cstring>

#include <sys/time.h>

#include "proxy/admin/admin_connection.h"
#include "proxy/cancel.h"
#include "proxy/client_session.h"
#include "proxy/log.h"
#include "proxy/server_connection.h"

namespace pgs {

namespace {

constexpr uint64_t kTickMs = 200;
// Connections past max_client_connections still get a startup packet read
// and a proper FATAL; beyond this margin they are closed at accept.
constexpr size_t kAcceptHeadroom = 64;

bool resolve(const std::string& host, uint16_t port, sockaddr_storage& out, std::string& error) {
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (uv_ip4_addr(host.c_str(), port, v4) == 0) return true;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (uv_ip6_addr(host.c_str(), port, v6) == 0) return true;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    error = "cannot resolve host \"" + host + "\": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return true;
}

}  // namespace

Worker::Worker(uv_loop_t* loop, ServerBudget& budget)
    : loop_(loop), budget_(budget), read_buffer_(new char[kReadBufferSize]) {
  uv_timer_init(loop_, &tick_timer_);
  tick_timer_.data = this;
  uv_idle_init(loop_, &resume_idle_);
  resume_idle_.data = this;
  uv_timer_init(loop_, &drain_timer_);
  drain_timer_.data = this;
  uv_timer_init(loop_, &admission_timer_);
  admission_timer_.data = this;
  mock_verifier_ = proto::make_scram_verifier(proto::random_bytes(24));
  timeval tv;
  gettimeofday(&tv, nullptr);
  started_unix_us_ = static_cast<uint64_t>(tv.tv_sec) * 1000000 + static_cast<uint64_t>(tv.tv_usec);
  unix_offset_us_ = started_unix_us_ - now_us();
}

Worker::~Worker() = default;

bool Worker::start(std::shared_ptr<const config::Config> cfg, std::string& error) {
  apply_config(std::move(cfg));
  if (!listen_on(config_->proxy.listen, error)) return false;
  if (config_->proxy.admin_listen && !listen_admin(*config_->proxy.admin_listen, error)) return false;
  uv_timer_start(&tick_timer_, on_tick, kTickMs, kTickMs);
  LOG_INFO("pgsluice listening on %s:%u", config_->proxy.listen.host.c_str(),
           config_->proxy.listen.port);
  if (config_->proxy.admin_listen)
    LOG_INFO("admin console and HTTP on %s:%u", config_->proxy.admin_listen->host.c_str(),
             config_->proxy.admin_listen->port);
  return true;
}

bool Worker::listen_on(const config::Endpoint& ep, std::string& error) {
  uv_tcp_t* l = bind_listener(ep, on_connection, 4096, error);
  if (l == nullptr) return false;
  listeners_.push_back(l);
  return true;
}

uv_tcp_t* Worker::bind_listener(const config::Endpoint& ep, uv_connection_cb cb, int backlog, std::string& error) {
  sockaddr_storage addr;
  if (!resolve(ep.host, ep.port, addr, error)) return nullptr;
  auto* l = new uv_tcp_t;
  uv_tcp_init(loop_, l);
  l->data = this;
  int rc = uv_tcp_bind(l, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(l), backlog, cb);
  if (rc != 0) {
    error = "cannot listen on " + ep.host + ":" + std::to_string(ep.port) + ": " + uv_strerror(rc);
    uv_close(reinterpret_cast<uv_handle_t*>(l), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    return nullptr;
  }
  return l;
}

void Worker::on_connection(uv_stream_t* listener, int status) {
  auto* self = static_cast<Worker*>(listener->data);
  if (status < 0) {
    // Out of descriptors (libuv has already shed the pending connection) or
    // another accept error: log at most once a second, never spin.
    uint64_t now = self->now_ms();
    if (now - self->accept_errors_logged_ms_ >= 1000) {
      self->accept_errors_logged_ms_ = now;
      LOG_WARN("cannot accept a client connection: %s", uv_strerror(status));
    }
    return;
  }
  self->accept_client(listener);
}

void Worker::accept_client(uv_stream_t* listener) {
  auto* c = new ClientSession(*this, next_client_id_++);
  if (uv_accept(listener, c->stream()) != 0) {
    c->close();
    return;
  }
  clients_.emplace(c->id(), c);
  if (draining_ || clients_.size() > config_->proxy.max_client_connections + kAcceptHeadroom) {
    proto::ErrorFields e;
    e.severity = "FATAL";
    e.sqlstate = draining_ ? "57P01" : "53300";
    e.message = draining_ ? "pgsluice is shutting down"
                          : "too many client connections: pgsluice accepts at most "
                            "max_client_connections = " +
                                std::to_string(config_->proxy.max_client_connections);
    c->terminate(e);
    return;
  }
  c->start(now_ms());
}

void Worker::client_closed(ClientSession* client) {
  clients_.erase(client->id());
  if (client->cancel_pid() != 0) {
    auto it = by_cancel_pid_.find(client->cancel_pid());
    if (it != by_cancel_pid_.end() && it->second == client) by_cancel_pid_.erase(it);
  }
  if (draining_ && clients_.empty()) stop_now();
}

void Worker::assign_cancel_key(ClientSession* client, int32_t& pid, int32_t& key) {
  // Positive pids that never repeat among live clients; keys are random.
  do {
    next_cancel_pid_ = next_cancel_pid_ >= 0x7ffffff0 ? 1 : next_cancel_pid_ + 1;
  } while (by_cancel_pid_.count(next_cancel_pid_) != 0);
  pid = next_cancel_pid_;
  std::string r = proto::random_bytes(4);
  std::memcpy(&key, r.data(), 4);
  by_cancel_pid_[pid] = client;
}

void Worker::forward_cancel(int32_t pid, int32_t key) {
  auto it = by_cancel_pid_.find(pid);
  if (it == by_cancel_pid_.end()) {
    LOG_DEBUG("cancel request for unknown backend pid %d ignored", pid);
    return;
  }
  ClientSession* c = it->second;
  int32_t want = c->cancel_key();
  if (!proto::secrets_equal(std::string_view(reinterpret_cast<const char*>(&key), 4),
                            std::string_view(reinterpret_cast<const char*>(&want), 4))) {
    LOG_INFO("cancel request with a wrong key for backend pid %d ignored", pid);
    return;
  }
  c->cancel_requested();
}

uint64_t Worker::register_server(ServerConnection* server) {
  uint64_t id = next_server_id_++;
  servers_.emplace(id, server);
  return id;
}

void Worker::unregister_server(uint64_t id) { servers_.erase(id); }

void Worker::send_cancel(ServerConnection* server) {
  if (server->backend_pid() == 0) return;
  DatabaseState& db = server->pool().database();
  auto* cc = new CancelConnection(*this, server->id(), server->backend_pid(), server->backend_key());
  ++server->cancels_pending;
  LOG_INFO("forwarding cancel to backend pid %d", server->backend_pid());
  cc->connect(reinterpret_cast<const sockaddr*>(&db.address));
}

void Worker::cancel_finished(uint64_t server_id) {
  auto it = servers_.find(server_id);
  if (it == servers_.end()) return;
  ServerConnection* s = it->second;
  if (s->cancels_pending > 0) --s->cancels_pending;
  if (s->cancels_pending == 0 && s->parked && !s->closing()) s->pool().release(s);
}

void Worker::defer_resume(ClientSession* client) {
  if (resume_queue_.empty()) uv_idle_start(&resume_idle_, on_idle);
  resume_queue_.push_back(client->id());
}

void Worker::on_idle(uv_idle_t* h) {
  auto* self = static_cast<Worker*>(h->data);
  std::vector<uint64_t> batch;
  batch.swap(self->resume_queue_);
  for (uint64_t id : batch) {
    auto it = self->clients_.find(id);
    if (it != self->clients_.end()) it->second->resume();
  }
  if (self->resume_queue_.empty()) uv_idle_stop(&self->resume_idle_);
}

DatabaseState* Worker::database(std::string_view name) {
  auto it = databases_.find(name);
  return it == databases_.end() ? nullptr : it->second.get();
}

const UserAuth* Worker::user(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

Pool& Worker::pool_for(DatabaseState& db, const std::string& user) {
  auto it = db.pools.find(user);
  if (it != db.pools.end()) return *it->second;
  auto [ins, ok] = db.pools.emplace(user, std::make_unique<Pool>(*this, db, user));
  return *ins->second;
}

void Worker::apply_config(std::shared_ptr<const config::Config> cfg) {
  if (config_ && (cfg->proxy.listen.host != config_->proxy.listen.host ||
                  cfg->proxy.listen.port != config_->proxy.listen.port))
    LOG_WARN("[proxy] listen changed: takes effect only after a restart");
  if (config_) {
    const auto& was = config_->proxy.admin_listen;
    const auto& now = cfg->proxy.admin_listen;
    if (was.has_value() != now.has_value() ||
        (was && now && (was->host != now->host || was->port != now->port)))
      LOG_WARN("[proxy] admin_listen changed: takes effect only after a restart");
  }
  config_ = std::move(cfg);
  set_log_level(config_->proxy.log_level);
  set_log_format(config_->proxy.log_format);
  rebuild_users();
  for (auto& [name, db] : databases_) {
    if (config_->databases.count(name) == 0 && !db->removed) {
      db->removed = true;
      LOG_INFO("database \"%s\" removed from the config: serving its current clients only",
               name.c_str());
      for (auto& [u, pool] : db->pools) pool->close_idle();
    }
  }
  for (const auto& [name, settings] : config_->databases) {
    auto& slot = databases_[name];
    if (!slot) slot = std::make_unique<DatabaseState>();
    DatabaseState& db = *slot;
    bool target_changed = db.settings.dbname != settings.dbname ||
                          db.settings.host != settings.host || db.settings.port != settings.port;
    db.removed = false;
    db.settings = settings;
    admission::Settings as = admission_settings(settings);
    if (!db.admission) {
      db.admission = std::make_unique<admission::AdmissionController>(as);
    } else {
      db.admission->set_settings(as);
      for (const auto& k : db.admission->snapshot().keys) db.admission->key(k.name, key_policy(k.name));
    }
    if (target_changed) {
      ++db.generation;  // connections to the old target close when next idle
      db.address_ok = resolve(settings.host, settings.port, db.address, db.address_error);
      if (!db.address_ok) LOG_WARN("database \"%s\": %s", name.c_str(), db.address_error.c_str());
      for (auto& [u, pool] : db.pools) pool->close_idle();
    }
    for (auto& [u, pool] : db.pools)
      if (pool->has_waiters()) pool->try_launch();  // pool_size may have grown
  }
}

admission::Settings Worker::admission_settings(const config::DatabaseSettings& db) const {
  const config::AdmissionSettings& a = config_->admission;
  admission::Settings s;
  switch (a.mode) {
    case config::AdmissionMode::Off: s.mode = admission::Mode::Off; break;
    case config::AdmissionMode::Static: s.mode = admission::Mode::Static; break;
    case config::AdmissionMode::Adaptive: s.mode = admission::Mode::Adaptive; break;
  }
  // Never more transactions than server connections.
  s.max_limit = a.max_limit == 0 ? db.pool_size : std::min(a.max_limit, db.pool_size);
  s.min_limit = std::min(a.min_limit, s.max_limit);
  s.initial_limit = std::clamp(a.initial_limit, s.min_limit, s.max_limit);
  s.codel_target_ms = a.codel_target_ms;
  s.codel_interval_ms = a.codel_interval_ms;
  s.shed_wait_ms = a.shed_wait_ms;
  s.latency_tolerance = a.latency_tolerance;
  return s;
}

admission::KeyPolicy Worker::key_policy(const std::string& key) const {
  const config::LimitsSettings& l = config_->limits;
  admission::KeyPolicy p;
  p.max_concurrency = l.max_concurrency;
  p.weight = l.weight;
  p.max_queue = l.max_queue;
  p.queue_timeout_ms = l.queue_timeout_ms;
  auto it = l.clients.find(key);
  if (it != l.clients.end()) {
    const config::ClientOverride& o = it->second;
    if (o.max_concurrency) p.max_concurrency = *o.max_concurrency;
    if (o.weight) p.weight = *o.weight;
    if (o.max_queue) p.max_queue = *o.max_queue;
    if (o.queue_timeout_ms) p.queue_timeout_ms = *o.queue_timeout_ms;
  }
  return p;
}

void Worker::admission_wait(admission::TicketId ticket, ClientSession* client) {
  tickets_[ticket] = client->id();
}

void Worker::admission_forget(admission::TicketId ticket) { tickets_.erase(ticket); }

void Worker::admission_poll(DatabaseState& db) {
  for (int round = 0; round < 4; ++round) {
    outcomes_.clear();
    db.admission->poll(now_us(), outcomes_);
    for (const admission::Outcome& o : outcomes_) {
      auto t = tickets_.find(o.ticket);
      if (t == tickets_.end()) {
        if (o.admitted) db.admission->finish(o.key, now_us());  // its client is gone
        continue;
      }
      uint64_t client_id = t->second;
      tickets_.erase(t);
      auto c = clients_.find(client_id);
      if (c == clients_.end()) {
        if (o.admitted) db.admission->finish(o.key, now_us());
        continue;
      }
      c->second->admission_decided(o);
    }
    if (db.admission->next_deadline_us() != 0) break;
  }
  arm_admission_timer();
}

void Worker::arm_admission_timer() {
  if (stopped_) return;
  uint64_t earliest = UINT64_MAX;
  for (auto& [name, db] : databases_)
    if (db->admission) earliest = std::min(earliest, db->admission->next_deadline_us());
  if (earliest == UINT64_MAX) {
    uv_timer_stop(&admission_timer_);
    return;
  }
  uint64_t now = now_us();
  uint64_t delay_ms = earliest <= now ? 0 : (earliest - now + 999) / 1000;
  uv_timer_start(&admission_timer_, on_admission_timer, delay_ms, 0);
}

void Worker::on_admission_timer(uv_timer_t* t) {
  auto* self = static_cast<Worker*>(t->data);
  for (auto& [name, db] : self->databases_) {
    if (!db->admission) continue;
    self->admission_poll(*db);
  }
  self->arm_admission_timer();
}

void Worker::rebuild_users() {
  std::map<std::string, UserAuth, std::less<>> fresh;
  for (const auto& [name, password] : config_->users) {
    UserAuth ua;
    ua.password = password;
    auto old = users_.find(name);
    // Keep the verifier (and its salt) while the password is unchanged.
    if (old != users_.end() && old->second.password == password)
      ua.verifier = old->second.verifier;
    else if (config_->auth_method == config::AuthMethod::ScramSha256)
      ua.verifier = proto::make_scram_verifier(password);
    fresh.emplace(name, std::move(ua));
  }
  if (config_->auth_method == config::AuthMethod::ScramSha256)
    for (auto& [name, ua] : fresh)
      if (ua.verifier.salt.empty()) ua.verifier = proto::make_scram_verifier(ua.password);
  users_.swap(fresh);
}

void Worker::on_tick(uv_timer_t* t) { static_cast<Worker*>(t->data)->tick(); }

void Worker::tick() {
  uint64_t now = now_ms();
  uint64_t login_timeout = config_->proxy.login_timeout_ms;
  std::vector<ClientSession*> late;
  for (auto& [id, c] : clients_)
    if ((c->logging_in() || c->state() == ClientSession::State::Welcome) && !c->closing() &&
        now - c->connected_ms() > login_timeout)
      late.push_back(c);
  for (ClientSession* c : late) c->login_timed_out();
  for (auto& [name, db] : databases_)
    for (auto& [u, pool] : db->pools) pool->tick(now);
  check_alerts();
  roll_stats_period();
  if (now - last_stats_log_ms_ >= kStatsLogMs) {
    last_stats_log_ms_ = now;
    log_admission_stats();
  }
}

// One line per database every few seconds while it has traffic: enough to
// follow the controller in a log, never a flood.
void Worker::log_admission_stats() {
  for (auto& [name, db] : databases_) {
    if (!db->admission) continue;
    admission::Snapshot s = db->admission->snapshot();
    uint64_t rejected = 0;
    for (uint64_t r : s.rejected) rejected += r;
    if (s.requests == db->stats_logged_requests) continue;
    db->stats_logged_requests = s.requests;
    LOG_EVENT(LogLevel::Info, "admission_stats",
              {{"database", name}, {"limit", s.limit}, {"running", s.running}, {"queued", s.queued},
               {"requests", s.requests}, {"admitted", s.admitted}, {"rejected", rejected},
               {"min_latency_ms", s.min_latency_ms}, {"latency_ms", s.recent_latency_ms},
               {"throughput", s.throughput}});
  }
}

// Under overload every transaction of a key may be rejected: one line per
// (database, key, reason) per second, carrying how many were held back.
void Worker::log_rejection(DatabaseState& db, const std::string& client_key, admission::RejectReason reason) {
  if (!log_enabled(LogLevel::Info)) return;
  const char* why = admission::to_string(reason);
  LogLimiter::Decision d = rejection_log_.note(db.settings.name, client_key, why, now_ms());
  if (!d.log) return;
  LOG_EVENT(LogLevel::Info, "admission_reject",
            {{"database", db.settings.name}, {"client_key", config::to_string(config_->limits.client_key)},
             {"key", client_key}, {"reason", why}, {"limit", db.admission->limit()},
             {"running", db.admission->running()}, {"queued", db.admission->queued()},
             {"suppressed", d.suppressed}, {"total", d.total}});
}

void Worker::begin_drain() {
  if (draining_ || stopped_) return;
  draining_ = true;
  LOG_INFO("SIGTERM: draining: no new clients; running transactions may finish within %u ms",
           config_->proxy.shutdown_timeout_ms);
  for (uv_tcp_t* l : listeners_)
    uv_close(reinterpret_cast<uv_handle_t*>(l), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  listeners_.clear();
  std::vector<ClientSession*> all;
  for (auto& [id, c] : clients_) all.push_back(c);
  for (ClientSession* c : all) c->drain();
  for (auto& [name, db] : databases_)
    for (auto& [u, pool] : db->pools) pool->close_idle();
  uv_timer_start(
      &drain_timer_,
      [](uv_timer_t* t) {
        LOG_WARN("shutdown_timeout_ms reached: closing the remaining connections");
        static_cast<Worker*>(t->data)->stop_now();
      },
      config_->proxy.shutdown_timeout_ms, 0);
  if (clients_.empty()) stop_now();
}

void Worker::stop_now() {
  if (stopped_) return;
  stopped_ = true;
  draining_ = true;
  for (uv_tcp_t* l : listeners_)
    uv_close(reinterpret_cast<uv_handle_t*>(l), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  listeners_.clear();
  std::vector<ClientSession*> all;
  for (auto& [id, c] : clients_) all.push_back(c);
  for (ClientSession* c : all) c->close();
  std::vector<ServerConnection*> servers;
  for (auto& [id, s] : servers_) servers.push_back(s);
  for (ServerConnection* s : servers) s->terminate_and_close();
  if (admin_listener_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(admin_listener_), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    admin_listener_ = nullptr;
  }
  std::vector<AdminConnection*> admins;
  for (auto& [a, since] : admins_) admins.push_back(a);
  for (AdminConnection* a : admins) a->terminate("57P01", "pgsluice is shutting down");
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&resume_idle_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&admission_timer_), nullptr);
  if (on_stopped_) on_stopped_();
}

}  // namespace pgs
