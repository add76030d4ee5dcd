#include "proxy/pool.h"

#include <algorithm>
#include <utility>

#include "proxy/client_session.h"
#include "proxy/log.h"
#include "proxy/server_connection.h"
#include "proxy/worker.h"

namespace pgs {

// ---- ServerBudget ----

bool ServerBudget::try_acquire(const std::string& database, uint32_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t& n = in_use_[database];
  if (n >= limit) return false;
  ++n;
  return true;
}

void ServerBudget::release(const std::string& database) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_use_.find(database);
  if (it != in_use_.end() && it->second > 0) --it->second;
}

uint32_t ServerBudget::in_use(const std::string& database) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_use_.find(database);
  return it == in_use_.end() ? 0 : it->second;
}

// ---- Pool ----

Pool::Pool(Worker& worker, DatabaseState& db, std::string user)
    : worker_(worker), db_(db), user_(std::move(user)) {}

Pool::~Pool() = default;

void Pool::request_welcome(ClientSession* client) {
  if (have_params_) {
    client->welcome_ready(params_);
    return;
  }
  welcome_waiters_.push_back(client);
  client->wait_position = std::prev(welcome_waiters_.end());
  client->queued = true;
  try_launch();
}

ServerConnection* Pool::acquire(ClientSession* client) {
  uint64_t now = worker_.now_ms();
  while (!idle_.empty()) {
    ServerConnection* s = idle_.back();
    idle_.pop_back();
    if (stale(s, now)) {
      s->close();
      continue;
    }
    return s;
  }
  waiters_.push_back(client);
  client->wait_position = std::prev(waiters_.end());
  client->queued = true;
  try_launch();
  return nullptr;
}

void Pool::forget(ClientSession* client) {
  if (!client->queued) return;
  client->queued = false;
  if (client->state() == ClientSession::State::Welcome)
    welcome_waiters_.erase(client->wait_position);
  else
    waiters_.erase(client->wait_position);
}

ClientSession* Pool::pop(std::list<ClientSession*>& queue) {
  ClientSession* c = queue.front();
  queue.pop_front();
  c->queued = false;
  return c;
}

bool Pool::stale(ServerConnection* s, uint64_t now) const {
  const config::ServerSettings& ss = worker_.config().server;
  return s->generation() != db_.generation || db_.removed ||
         now - s->created_ms() > ss.max_lifetime_ms;
}

size_t Pool::connecting() const {
  size_t n = 0;
  for (ServerConnection* s : servers_)
    if (s->state() == ServerConnection::State::Connecting ||
        s->state() == ServerConnection::State::Login)
      ++n;
  return n;
}

size_t Pool::demand() const {
  return waiters_.size() + (!have_params_ && !welcome_waiters_.empty() ? 1 : 0);
}

void Pool::try_launch() {
  if (worker_.draining()) return;
  const size_t demand = this->demand();
  size_t pending = connecting() + incoming_;
  while (pending < demand) {
    if (!db_.address_ok) {
      proto::ErrorFields e;
      e.severity = "FATAL";
      e.sqlstate = "08001";
      e.message = "pgsluice cannot reach the server for database \"" + db_.settings.name +
                  "\": " + db_.address_error;
      fail_waiters(e);
      return;
    }
    if (!worker_.budget().try_acquire(db_.settings.name, db_.settings.pool_size)) {
      // Every slot is taken. An idle connection of another user's pool can
      // make room; its slot frees when it has closed.
      if (!evict_idle_elsewhere()) return;
      ++pending;
      continue;
    }
    launch();
    ++pending;
  }
}

void Pool::launch() {
  auto* s = new ServerConnection(worker_, *this, db_.generation);
  servers_.push_back(s);
  const UserAuth* auth = worker_.user(user_);
  s->connect(reinterpret_cast<const sockaddr*>(&db_.address), user_,
             auth != nullptr ? &auth->password : nullptr, db_.settings.dbname);
}

bool Pool::evict_idle_elsewhere() {
  for (auto& [name, pool] : db_.pools) {
    if (pool.get() == this || pool->idle_.empty()) continue;
    ServerConnection* s = pool->idle_.front();  // the coldest
    pool->idle_.erase(pool->idle_.begin());
    pool->give_slot(s, *this);
    return true;
  }
  return false;
}

void Pool::give_slot(ServerConnection* server, Pool& to) {
  server->slot_for = &to;
  ++to.incoming_;
  server->close();
}

void Pool::logged_in(ServerConnection* server) {
  ++db_.traffic.server_login_count;
  params_ = server->reported();
  if (!have_params_) {
    have_params_ = true;
    while (!welcome_waiters_.empty()) {
      ClientSession* c = pop(welcome_waiters_);
      c->welcome_ready(params_);
    }
  }
  hand_out(server);
}

void Pool::login_failed(ServerConnection* server, const proto::ErrorFields& error) {
  while (!welcome_waiters_.empty()) {
    ClientSession* c = pop(welcome_waiters_);
    c->welcome_failed(error);
  }
  // Waiters fail only when nothing else could serve them.
  bool others = std::any_of(servers_.begin(), servers_.end(),
                            [&](ServerConnection* s) { return s != server && !s->closing(); });
  if (!others) {
    proto::ErrorFields e = error;
    e.severity = "ERROR";
    fail_waiters(e);
  }
}

void Pool::fail_waiters(const proto::ErrorFields& error) {
  while (!welcome_waiters_.empty()) {
    ClientSession* c = pop(welcome_waiters_);
    proto::ErrorFields e = error;
    e.severity = "FATAL";
    c->welcome_failed(e);
  }
  while (!waiters_.empty()) {
    ClientSession* c = pop(waiters_);
    c->wait_failed(error);
  }
}

void Pool::release(ServerConnection* server) {
  if (server->cancels_pending > 0) {
    server->parked = true;  // back once the postmaster has taken the cancel
    server->set_idle(worker_.now_ms());
    return;
  }
  server->parked = false;
  hand_out(server);
}

void Pool::hand_out(ServerConnection* server) {
  uint64_t now = worker_.now_ms();
  if (worker_.draining() || stale(server, now)) {
    server->close();
    return;
  }
  if (!waiters_.empty()) {
    ClientSession* c = pop(waiters_);
    c->attach_server(server);
    return;
  }
  // Another user's pool of this database is starved, its clients waiting
  // with no slot left to open a connection for them: give it this one's slot.
  // Only then. A pool that could still open a connection, or whose waiters a
  // login in flight will serve, is not starved; closing for it would make
  // this user's next transaction log in anew, and under load every such login
  // (a backend fork and SCRAM, many times a query's CPU) starts the next one.
  if (worker_.budget().in_use(db_.settings.name) >= db_.settings.pool_size) {
    for (auto& [name, pool] : db_.pools) {
      if (pool.get() != this && pool->starved()) {
        give_slot(server, *pool);
        return;
      }
    }
  }
  server->set_idle(now);
  idle_.push_back(server);
}

void Pool::closed(ServerConnection* server) {
  // Settled first, whatever else happens: a promise left standing would
  // make its pool wait for a slot that never comes.
  Pool* to = std::exchange(server->slot_for, nullptr);
  if (to != nullptr) --to->incoming_;
  auto it = std::find(servers_.begin(), servers_.end(), server);
  if (it == servers_.end()) return;
  servers_.erase(it);
  auto idle = std::find(idle_.begin(), idle_.end(), server);
  if (idle != idle_.end()) idle_.erase(idle);
  worker_.budget().release(db_.settings.name);
  // The pool this slot was freed for gets the first chance at it.
  if (to != nullptr && to->has_waiters()) to->try_launch();
  for (auto& [name, pool] : db_.pools)
    if (pool.get() != to && pool->has_waiters()) pool->try_launch();
}

void Pool::close_idle() {
  std::vector<ServerConnection*> idle;
  idle.swap(idle_);
  for (ServerConnection* s : idle) s->close();
}

void Pool::tick(uint64_t now) {
  const config::ServerSettings& ss = worker_.config().server;
  for (size_t i = 0; i < idle_.size();) {
    ServerConnection* s = idle_[i];
    if (now - s->idle_since_ms() > ss.idle_timeout_ms || stale(s, now)) {
      idle_.erase(idle_.begin() + static_cast<long>(i));
      s->close();
      continue;
    }
    ++i;
  }
  std::vector<ServerConnection*> snapshot = servers_;
  for (ServerConnection* s : snapshot) {
    if (s->closing()) continue;
    s->check_connect_timeout(now, ss.connect_timeout_ms);
    // A cancel the postmaster never acknowledged must not strand a connection.
    if (s->parked && now - s->idle_since_ms() > 10000) {
      s->cancels_pending = 0;
      release(s);
    }
  }
}

}  // namespace pgs
