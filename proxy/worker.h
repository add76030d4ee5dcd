// Everything one event loop owns: listeners, client sessions, pools, the
// periodic janitor. Several workers could later run on several loops; what
// they would share (the database-wide server budget) is passed in.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "protocol/auth.h"
#include "proxy/admin/status.h"
#include "proxy/log_limiter.h"
#include "proxy/pool.h"
#include "proxy/prepared.h"

namespace pgs {

class ClientSession;
class ServerConnection;
class AdminConnection;

struct UserAuth {
  std::string password;
  proto::ScramVerifier verifier;
};

class Worker {
 public:
  static constexpr unsigned kReadBufferSize = 64 * 1024;

  Worker(uv_loop_t* loop, ServerBudget& budget);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds the listeners. False with `error` when that fails.
  bool start(std::shared_ptr<const config::Config> cfg, std::string& error);
  void apply_config(std::shared_ptr<const config::Config> cfg);
  // SIGTERM: stop accepting, let transactions finish, then stop the loop.
  void begin_drain();
  // SIGINT or drain timeout: close everything now.
  void stop_now();
  bool draining() const { return draining_; }

  uv_loop_t* loop() const { return loop_; }
  char* read_buffer() { return read_buffer_.get(); }
  const config::Config& config() const { return *config_; }
  uint64_t now_ms() const { return uv_now(loop_); }
  ServerBudget& budget() { return budget_; }

  DatabaseState* database(std::string_view name);
  const UserAuth* user(std::string_view name) const;
  Pool& pool_for(DatabaseState& db, const std::string& user);
  const proto::ScramVerifier& mock_verifier() const { return mock_verifier_; }
  prepared::Registry& statement_registry() { return statement_registry_; }

  // Clients.
  void client_closed(ClientSession* client);
  size_t client_count() const { return clients_.size(); }
  void assign_cancel_key(ClientSession* client, int32_t& pid, int32_t& key);
  void forward_cancel(int32_t pid, int32_t key);
  void defer_resume(ClientSession* client);

  // Server connections, by id (cancel forwarding refers to them by id).
  uint64_t register_server(ServerConnection* server);
  void unregister_server(uint64_t id);
  void send_cancel(ServerConnection* server);
  void cancel_finished(uint64_t server_id);
  config::PoolMode pool_mode_of(Pool& pool) const { return pool.database().settings.pool_mode; }
  void set_on_stopped(std::function<void()> f) { on_stopped_ = std::move(f); }

  // Admission: microsecond clock, ticket bookkeeping, and polling the
  // controllers when something changed or a deadline is due.
  static uint64_t now_us() { return uv_hrtime() / 1000; }
  void admission_wait(admission::TicketId ticket, ClientSession* client);
  void admission_forget(admission::TicketId ticket);
  void admission_poll(DatabaseState& db);
  admission::KeyPolicy key_policy(const std::string& key) const;
  // An admission_reject log event, rate-limited per (database, key, reason).
  void log_rejection(DatabaseState& db, const std::string& client_key, admission::RejectReason reason);

  // Admin console and HTTP (worker_admin.cpp). Operations return false with
  // a message for the operator when they cannot be done.
  admin::Status collect_status(bool with_connections);
  bool pause(std::string_view database, std::string& message);   // "" = every database
  bool resume(std::string_view database, std::string& message);
  bool kill_client(uint64_t id, std::string& message);
  bool reload(std::string& message);  // re-reads the config file, as SIGHUP
  bool set_setting(std::string_view key, std::string_view value, std::string& message);
  void admin_closed(AdminConnection* connection);
  uint64_t unix_us() const { return now_us() + unix_offset_us_; }
  uint64_t unix_us_of_ms(uint64_t loop_ms) const;  // a uv_now() time as unix microseconds

 private:
  bool listen_admin(const config::Endpoint& ep, std::string& error);
  static void on_admin_connection(uv_stream_t* server, int status);
  void check_alerts();
  void roll_stats_period();
  static constexpr uint64_t kStatsPeriodMs = 15000;
  uint64_t stats_period_start_ms_ = 0;
  uv_tcp_t* admin_listener_ = nullptr;
  std::unordered_map<AdminConnection*, uint64_t> admins_;  // -> connected at (loop ms)
  uint64_t unix_offset_us_ = 0;
  uint64_t started_unix_us_ = 0;
  std::vector<admission::KeyDemand> demands_;  // reused by check_alerts

  static void on_connection(uv_stream_t* server, int status);
  static void on_tick(uv_timer_t* t);
  static void on_idle(uv_idle_t* h);
  static void on_admission_timer(uv_timer_t* t);
  void arm_admission_timer();
  admission::Settings admission_settings(const config::DatabaseSettings& db) const;
  bool listen_on(const config::Endpoint& ep, std::string& error);
  uv_tcp_t* bind_listener(const config::Endpoint& ep, uv_connection_cb cb, int backlog, std::string& error);
  void accept_client(uv_stream_t* listener);
  void tick();
  void log_admission_stats();
  static constexpr uint64_t kStatsLogMs = 5000;
  uint64_t last_stats_log_ms_ = 0;
  void rebuild_users();

  uv_loop_t* loop_;
  ServerBudget& budget_;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<char[]> read_buffer_;
  std::vector<uv_tcp_t*> listeners_;
  uv_timer_t tick_timer_;
  uv_idle_t resume_idle_;
  uv_timer_t drain_timer_;
  uv_timer_t admission_timer_;
  std::unordered_map<admission::TicketId, uint64_t> tickets_;  // ticket -> client id
  std::vector<admission::Outcome> outcomes_;  // reused by admission_poll
  std::map<std::string, std::unique_ptr<DatabaseState>, std::less<>> databases_;
  std::map<std::string, UserAuth, std::less<>> users_;
  proto::ScramVerifier mock_verifier_;
  prepared::Registry statement_registry_;  // every statement any client prepared, by content  // for unknown users: fail at the proof, reveal nothing
  std::unordered_map<uint64_t, ClientSession*> clients_;
  std::unordered_map<int32_t, ClientSession*> by_cancel_pid_;
  std::vector<uint64_t> resume_queue_;  // client ids
  std::unordered_map<uint64_t, ServerConnection*> servers_;
  uint64_t next_server_id_ = 1;
  std::function<void()> on_stopped_;
  uint64_t next_client_id_ = 1;
  int32_t next_cancel_pid_ = 0;
  bool draining_ = false;
  bool stopped_ = false;
  uint64_t accept_errors_logged_ms_ = 0;
  LogLimiter rejection_log_;
};

}  // namespace pgs
