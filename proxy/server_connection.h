// One connection from pgsluice to PostgreSQL: its own login (pgsluice speaks
// the client side of the protocol, including SCRAM), then relaying for
// whichever client it is attached to, tracking ReadyForQuery so the pool
// knows when a transaction has ended.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "protocol/auth.h"
#include "protocol/framer.h"
#include "protocol/messages.h"
#include "proxy/peer.h"
#include "proxy/pool.h"
#include "proxy/prepared.h"
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

  // Transaction-mode prepared statements (see prepared.h). While tracking,
  // every forwarded message that the server answers has an entry in
  // pending_, in order, so that replies to pgsluice's own messages are
  // dropped and replies pgsluice gives itself are sent where the client
  // expects them.
  bool tracking() const { return tracking_; }
  prepared::ServerCache& statements() { return statements_; }
  // The client forwarded a Parse of `stmt` under its name `client_name`:
  // rolled back (on both sides) if the server refuses or skips it.
  void note_client_parse(const prepared::StatementRef& stmt, const std::string& client_name);
  // pgsluice's own Parse or Close: the server's reply is dropped.
  void note_own_message(char type, uint64_t stmt_id);
  // A reply pgsluice gives itself: `bytes`, then ReadyForQuery with the
  // transaction status of that moment if `ready`. Sent at once when nothing
  // is owed before it.
  void add_own_reply(std::string bytes, bool ready);
  // A DISCARD ALL forwarded: when it succeeds, this connection's statements
  // and settings are gone.
  void note_discard_all();
  // Extended-protocol messages answered by pgsluice still open a batch.
  void open_batch() { batch_open_ = true; }

  // Cancel requests sent for this connection's backend and not yet
  // acknowledged by the postmaster; the pool holds it back meanwhile.
  int cancels_pending = 0;
  bool parked = false;  // released while a cancel was pending
  // Closed to free its budget slot for this pool (of the same database).
  Pool* slot_for = nullptr;

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
  struct Pending {
    char type = 0;          // the client message it answers; 0: a reply pgsluice gives itself
    bool own = false;       // pgsluice's own message: drop its reply
    bool failed = false;    // Query: an error was reported
    bool discard_all = false;
    bool ready = false;     // own reply: append ReadyForQuery
    uint64_t stmt_id = 0;   // Parse: the statement it prepares
    std::string text;       // Parse: the client's name; own reply: its bytes
  };
  // Pops what `type` answers; true when the message is a reply to
  // pgsluice's own message and must not reach the client.
  bool on_reply(char type);
  void pop_pending();  // with rollback of a Parse that did not happen
  void send_own_replies(ClientSession* c);  // those at the head of pending_
  bool release_if_done(ClientSession* c);   // transaction over: back to the pool
  std::deque<Pending> pending_;
  bool tracking_ = false;
  prepared::ServerCache statements_;
  uint64_t round_start_us_ = 0;  // first unanswered message forwarded (0: none)
  uint64_t xact_start_us_ = 0;   // first message of the current transaction (0: none)
  bool round_congested_ = false;
};

}  // namespace pgs
