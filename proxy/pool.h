// Server connections to one database for one user, and the clients waiting
// for them. At most `pool_size` server connections exist per database across
// all users' pools; that budget sits behind ServerBudget so that several
// event loops could later share it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "protocol/messages.h"
#include "proxy/admin/status.h"
#include "proxy/admission/admission.h"
#include "proxy/admission/skew.h"

namespace pgs {

class ClientSession;
class ServerConnection;
class Worker;
class Pool;

// Database-wide server-connection budget: the one piece of pool state every
// event loop must share. Narrow on purpose.
class ServerBudget {
 public:
  bool try_acquire(const std::string& database, uint32_t limit);
  void release(const std::string& database);
  uint32_t in_use(const std::string& database) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint32_t, std::less<>> in_use_;
};

struct DatabaseState {
  config::DatabaseSettings settings;
  sockaddr_storage address{};
  bool address_ok = false;
  std::string address_error;
  uint64_t generation = 0;  // bumped when a change makes existing server connections stale
  bool removed = false;     // gone from the config; serves its current clients only
  std::map<std::string, std::unique_ptr<Pool>, std::less<>> pools;  // by user
  // Decides when each transaction may start on this database.
  std::unique_ptr<admission::AdmissionController> admission;
  uint64_t stats_logged_requests = 0;
  admission::SkewDetector skew;
  // Traffic since start; bytes of live clients are added when reported.
  admin::TrafficTotals traffic;
  admin::TrafficTotals traffic_at_period_start;  // for the averages
  admin::TrafficAverages averages;                // over the last full stats period
};

using ServerParams = std::vector<std::pair<std::string, std::string>>;

class Pool {
 public:
  Pool(Worker& worker, DatabaseState& db, std::string user);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  const std::string& user() const { return user_; }
  DatabaseState& database() { return db_; }

  // Login: the client has authenticated and needs the server's parameters.
  // Calls client->welcome_ready() now or later, or welcome_failed().
  void request_welcome(ClientSession* client);
  // A transaction is starting: returns an idle server at once, or queues
  // the client, which later gets attach_server() or wait_failed().
  ServerConnection* acquire(ClientSession* client);
  // Forget a queued or welcome-waiting client (it is going away).
  void forget(ClientSession* client);

  // Server connection events.
  void release(ServerConnection* server);  // clean and detached
  void logged_in(ServerConnection* server);
  void login_failed(ServerConnection* server, const proto::ErrorFields& error);
  void closed(ServerConnection* server);  // from its close callback

  // Periodic: idle timeout, lifetime, connect timeout.
  void tick(uint64_t now_ms);
  // A slot may have freed up in the database-wide budget.
  void try_launch();
  void close_idle();  // all idle server connections (reload, drain)
  bool has_waiters() const { return !waiters_.empty() || !welcome_waiters_.empty(); }
  // More clients wait than the logins in flight, and the slots other pools
  // are freeing for this one, will serve.
  bool starved() const { return demand() > connecting() + incoming_; }
  // For the admin console.
  const std::vector<ServerConnection*>& servers() const { return servers_; }
  size_t idle_count() const { return idle_.size(); }
  size_t waiter_count() const { return waiters_.size() + welcome_waiters_.size(); }

 private:
  void launch();
  static ClientSession* pop(std::list<ClientSession*>& queue);
  bool stale(ServerConnection* s, uint64_t now) const;
  size_t connecting() const;
  size_t demand() const;  // server connections the waiting clients need
  void hand_out(ServerConnection* server);
  bool evict_idle_elsewhere();
  // Closes `server` (of this pool) so that its budget slot goes to `to`.
  void give_slot(ServerConnection* server, Pool& to);
  void fail_waiters(const proto::ErrorFields& error);

  Worker& worker_;
  DatabaseState& db_;
  std::string user_;
  bool have_params_ = false;
  ServerParams params_;
  std::vector<ServerConnection*> servers_;  // every live one, any state
  std::vector<ServerConnection*> idle_;     // LIFO: the warmest first, extras idle out
  std::list<ClientSession*> waiters_;       // FIFO
  std::list<ClientSession*> welcome_waiters_;
  size_t connecting_ = 0;
  // Other pools' server connections closing to free a slot for this one. A
  // slot frees only once its connection has closed; until then this keeps
  // a second release (or eviction) from closing another for the same need.
  size_t incoming_ = 0;
};

}  // namespace pgs
