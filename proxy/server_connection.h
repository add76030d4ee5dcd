// One connection from pgsluice to PostgreSQL: its own login (pgsluice speaks
// the client side of the protocol, including SCRAM), then relaying for
// whichever client it is attached to, tracking ReadyForQuery so the pool
// knows when a transaction has ended.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "protocol/auth.h"
#include "protocol/framer.h"
#include "protocol/messages.h"
#include "proxy/peer.h"
#include "proxy/pool.h"
#include "proxy/session_params.h"

namespace pgs {

class ClientSession;

class ServerConnection final : public Peer {
 public:
  enum class State { Connecting, Login, Idle, Syncing, Active, Resetting };

  ServerConnection(Worker& worker, Pool& pool, uint64_t generation);

  void connect(const sockaddr* address, const std::string& user, const std::string* password,
               const std::string& dbname);
  // Periodic: fails a login that is taking longer than the connect timeout.
  void check_connect_timeout(uint64_t now_ms, uint64_t timeout_ms);

  uint64_t id() const { return id_; }
  State state() const { return state_; }
  Pool& pool() { return pool_; }
  uint64_t generation() const { return generation_; }
  uint64_t created_ms() const { return created_ms_; }
  uint64_t idle_since_ms() const { return idle_since_ms_; }
  int32_t backend_pid() const { return backend_pid_; }
  int32_t backend_key() const { return backend_key_; }
  const ServerParams& reported() const { return reported_; }
  const ParamList& applied() const { return applied_; }
  ClientSession* client() const { return client_; }
  uint64_t last_used_ms() const { return last_used_ms_; }

  // Pool -> server.
  void set_idle(uint64_t now_ms);
  // Client takes this connection. Runs `sync_sql` first when not empty; the
  // client hears server_ready() once the connection is at its settings.
  void attach(ClientSession* client, const std::string& sync_sql, const ParamList& wanted);
  // The client is gone or done. Clean connections go back to the pool
  // (after the reset query in session mode); others are closed.
  void detach_from_client(bool run_reset);
  bool clean() const;  // no transaction, nothing outstanding
  // Shutdown: a polite Terminate to the server, then close.
  void terminate_and_close();

  // Client -> server relay bookkeeping, per message the client forwards.
  void note_client_message(char type);

  // Cancel requests sent for this connection's backend and not yet
  // acknowledged by the postmaster; the pool holds it back meanwhile.
  int cancels_pending = 0;
  bool parked = false;  // released while a cancel was pending

 private:
  size_t on_input(std::string_view input) override;
  void on_disconnect(int status) override;
  void on_drained() override;
  void on_closed() override;
  static void connect_cb(uv_connect_t* req, int status);

  size_t login_input(std::string_view in);
  size_t swallow_input(std::string_view in);
  size_t relay_input(std::string_view in);
  size_t idle_input(std::string_view in);
  bool handle_auth(std::string_view body);
  void login_error(const proto::ErrorFields& e);
  void note_parameter_status(std::string_view body);
  void lost(const char* why);
  void finish_swallow();
  void record_round();
  static bool is_congestion_error(std::string_view body);

  uint64_t id_;
  Pool& pool_;
  State state_ = State::Connecting;
  uint64_t generation_;
  uint64_t created_ms_;
  uint64_t idle_since_ms_ = 0;
  uint64_t last_used_ms_ = 0;  // last attached to a client
  uv_connect_t connect_req_{};
  proto::Framer framer_;
  std::string user_;
  std::string dbname_;
  std::string password_;
  bool have_password_ = false;
  bool login_failed_ = false;
  bool uv_tcp_connect_failed_ = false;
  int connect_error_ = 0;
  std::unique_ptr<proto::ScramClient> scram_;
  int32_t backend_pid_ = 0;
  int32_t backend_key_ = 0;
  ServerParams reported_;
  ParamList applied_;  // settings pgsluice SET on this connection for clients
  ParamList pending_applied_;
  ClientSession* client_ = nullptr;
  bool swallow_error_ = false;
  proto::ErrorFields swallowed_error_;

  // Relay state for the attached client.
  uint32_t expected_ready_ = 0;  // ReadyForQuery still owed for forwarded Query/Sync/FunctionCall
  bool batch_open_ = false;      // extended-protocol messages forwarded since the last Sync
  char txn_status_ = 'I';
  size_t pass_remaining_ = 0;    // bytes of a partly relayed server message
  uint64_t round_start_us_ = 0;  // first unanswered message forwarded (0: none)
  uint64_t xact_start_us_ = 0;   // first message of the current transaction (0: none)
  bool round_congested_ = false;
};

}  // namespace pgs
