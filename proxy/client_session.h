// One client connection: startup and authentication, then relaying its
// messages to whichever server connection serves its current transaction
// (transaction mode) or its whole session (session mode).
//
// Contract: this session's input is processed only from its own read
// callback or from the worker's deferred-resume pass, never from inside
// another connection's callback, so no relay step ever re-enters another.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "protocol/auth.h"
#include "protocol/framer.h"
#include "protocol/messages.h"
#include "protocol/startup.h"
#include "proxy/client_auth.h"
#include "proxy/forward_run.h"
#include "proxy/prepared.h"
#include "proxy/peer.h"
#include "proxy/pool.h"
#include "proxy/session_params.h"

namespace pgs {

class ServerConnection;

class ClientSession final : public Peer {
 public:
  enum class State {
    Startup,     // waiting for the startup packet
    Auth,        // authentication exchange
    Welcome,     // authenticated, waiting for the pool's server parameters
    Ready,       // logged in; attached to a server or not
    WaitAdmission,  // a transaction wants to start; queued by admission control
    WaitServer,  // a transaction wants to start; queued in the pool
    WaitSync,    // attached; the server is being brought to our settings
  };

  ClientSession(Worker& worker, uint64_t id);
  void start(uint64_t now_ms);

  uint64_t id() const { return id_; }
  State state() const { return state_; }
  uint64_t connected_ms() const { return connected_ms_; }
  bool logging_in() const { return state_ == State::Startup || state_ == State::Auth; }
  const std::string& client_key() const { return client_key_; }
  const std::string& user() const { return user_; }
  DatabaseState* database() const { return db_; }
  uint64_t last_request_ms() const { return last_request_ms_; }
  uint64_t wait_since_us() const { return wait_since_us_; }
  bool mid_message() const { return pass_remaining_ > 0; }
  ParamList& wanted_params() { return wanted_; }
  ServerConnection* server() const { return server_; }
  int32_t cancel_pid() const { return cancel_pid_; }
  int32_t cancel_key() const { return cancel_key_; }
  // Maintained by the pool: set while this client is in one of its queues.
  bool queued = false;
  std::list<ClientSession*>::iterator wait_position;

  // Pool -> client.
  void welcome_ready(const ServerParams& params);
  void welcome_failed(const proto::ErrorFields& error);
  void attach_server(ServerConnection* server);  // from the wait queue
  void wait_failed(const proto::ErrorFields& error);

  // Server -> client.
  void server_ready();     // settings applied: resume relaying
  void server_released();  // transaction over, server went back to the pool
  void server_lost(const proto::ErrorFields& error);  // the server connection failed
  void server_sync_failed(const proto::ErrorFields& error);
  void server_drained();  // the server took our queued output: read the client again
  // A Parse of the client's statement `name` did not happen on the server.
  void statement_not_prepared(const std::string& name, uint64_t id);

  // Admission: the fate of the queued transaction; the end of a running one.
  void admission_decided(const admission::Outcome& outcome);
  void transaction_ended();

  // Worker -> client.
  void resume();  // deferred: process input held while waiting
  void cancel_requested();
  void login_timed_out();
  void drain();  // shutting down: leave now if not in a transaction
  void terminate(const proto::ErrorFields& fatal);  // send FATAL and close

 private:
  size_t on_input(std::string_view input) override;
  void on_disconnect(int status) override;
  void on_drained() override;
  void on_closed() override;

  size_t startup_input(std::string_view in);
  size_t auth_input(std::string_view in);
  size_t relay_input(std::string_view in);
  bool handle_startup(const proto::StartupPacket& p);
  void begin_auth();
  void auth_succeeded();
  void auth_failed();
  enum class Go { Now, Wait, Rejected };
  Go admit_transaction();
  bool start_transaction();
  void finish_admission();
  void withdraw_admission();
  proto::ErrorFields rejection(admission::RejectReason reason) const;
  bool begin_attach(ServerConnection* server);
  void reject_transaction(const proto::ErrorFields& error);
  void detach_server();
  std::string address_text();  // the client's address for log lines ("unknown" if none)
  void end_wait();  // a transaction's wait for admission or a server is over
  // Prepared statements in transaction mode (prepared.h).
  enum class Handled { No, Yes, NeedMore };
  static constexpr size_t kMaxStatementCommand = 1024;  // longest DEALLOCATE/DISCARD looked at
  bool tracks_statements() const;
  Handled handle_statement_message(ForwardRun& run, char type, size_t total);
  Handled deallocate_between_transactions(ForwardRun& run, size_t total);
  void ensure_prepared(const prepared::StatementRef& stmt, std::string& out);
  void reply_in_place(ForwardRun& run, size_t total, std::string_view reply);
  // LISTEN in transaction mode (its notifications would reach whoever holds
  // the server connection next): the server is made to fail it instead.
  static constexpr size_t kMaxInspectedQuery = 64 * 1024;  // longer queries pass unseen
  bool refuses_listen() const;
  Handled refuse_listen(ForwardRun& run, char type, size_t total);
  void fatal(const char* sqlstate, const std::string& message, const std::string& hint = {});

  uint64_t id_;
  uint64_t connected_ms_ = 0;
  State state_ = State::Startup;
  proto::Framer framer_;
  Pool* pool_ = nullptr;
  ServerConnection* server_ = nullptr;
  std::string user_;
  std::string database_;    // as the client asked for it (for logs)
  std::string client_key_;  // who this client is for admission control
  DatabaseState* db_ = nullptr;
  admission::KeyId key_id_ = 0;
  admission::TicketId ticket_ = 0;  // while WaitAdmission
  bool admitted_ = false;           // holds one unit of the database's admission limit
  ParamList wanted_;
  std::unique_ptr<ClientAuth> auth_;  // while State::Auth
  int32_t cancel_pid_ = 0;
  int32_t cancel_key_ = 0;
  size_t pass_remaining_ = 0;  // bytes of a partly forwarded client message
  size_t skip_remaining_ = 0;  // bytes of a rejected message still to drop
  // A rejected transaction start: drop its first message (a Query or
  // FunctionCall ends there) or everything up to Sync, then ReadyForQuery.
  enum class Discard { None, FirstMessage, UntilSync };
  Discard discard_ = Discard::None;
  bool paused_for_server_ = false;   // stopped reading: the server's queue is full
  std::unordered_map<std::string, prepared::StatementRef> statements_;  // the client's named statements
  uint64_t wait_since_us_ = 0;       // the current transaction start has waited since (0: not waiting)
  uint64_t last_request_ms_ = 0;     // last transaction start
};

}  // namespace pgs
