#include "proxy/client_session.h"

#include "proxy/client_auth.h"
#include "proxy/forward_run.h"
#include "proxy/log.h"
#include "proxy/message_cursor.h"
#include "proxy/server_connection.h"
#include "proxy/worker.h"

namespace pgs {

namespace fe = proto::fe;

namespace {

proto::ErrorFields make_error(const char* severity, const char* sqlstate, std::string message,
                              std::string hint = {}) {
  proto::ErrorFields e;
  e.severity = severity;
  e.sqlstate = sqlstate;
  e.message = std::move(message);
  e.hint = std::move(hint);
  return e;
}

}  // namespace

ClientSession::ClientSession(Worker& worker, uint64_t id)
    : Peer(worker), id_(id), framer_(worker.config().proxy.max_message_bytes) {}

void ClientSession::start(uint64_t now_ms) {
  connected_ms_ = now_ms;
  uv_tcp_nodelay(tcp(), 1);
  start_reading();
}

size_t ClientSession::on_input(std::string_view in) {
  size_t used = 0;
  while (used < in.size() && !closing()) {
    size_t n = 0;
    switch (state_) {
      case State::Startup: n = startup_input(in.substr(used)); break;
      case State::Auth: n = auth_input(in.substr(used)); break;
      case State::Ready: n = relay_input(in.substr(used)); break;
      case State::Welcome:
      case State::WaitAdmission:
      case State::WaitServer:
      case State::WaitSync:
        stop_reading();  // held until the pool or server is ready
        n = 0;
        break;
    }
    if (n == 0) break;
    used += n;
  }
  return used;
}

// ---- startup ----

size_t ClientSession::startup_input(std::string_view in) {
  proto::StartupFrame f = proto::peek_startup(in);
  if (f.status == proto::FrameStatus::NeedMore) return 0;
  if (f.status == proto::FrameStatus::Invalid) {
    fatal("08P01", std::string("invalid startup packet: ") + f.error);
    return in.size();
  }
  if (in.size() < f.length) return 0;
  proto::StartupPacket p;
  std::string error;
  if (!proto::parse_startup(in.substr(0, f.length), p, error)) {
    fatal("08P01", "invalid startup packet: " + error);
    return in.size();
  }
  switch (p.kind) {
    case proto::StartupKind::SslRequest:
    case proto::StartupKind::GssEncRequest:
      send("N");  // no TLS or GSS encryption yet: the client goes on in plain text
      return f.length;
    case proto::StartupKind::Cancel:
      worker_.forward_cancel(p.cancel_pid, p.cancel_key);
      close();
      return in.size();
    case proto::StartupKind::Startup:
      if (!handle_startup(p)) return in.size();
      return f.length;
  }
  return in.size();
}

bool ClientSession::handle_startup(const proto::StartupPacket& p) {
  const config::Config& cfg = worker_.config();
  if (worker_.draining()) {
    fatal("57P01", "pgsluice is shutting down");
    return false;
  }
  if (worker_.client_count() > cfg.proxy.max_client_connections) {
    fatal("53300",
          "too many client connections: pgsluice accepts at most max_client_connections = " +
              std::to_string(cfg.proxy.max_client_connections),
          "Close idle connections, or raise [proxy] max_client_connections.");
    return false;
  }
  if ((p.protocol & 0xffff) != 0 || !p.unknown_protocol_options.empty()) {
    std::string out;
    proto::write_negotiate_protocol_version(out, 0, p.unknown_protocol_options);
    send(out);
  }
  const std::string* user = p.param("user");
  const std::string* dbp = p.param("database");
  user_ = user != nullptr ? *user : std::string();
  std::string dbname = (dbp != nullptr && !dbp->empty()) ? *dbp : user_;
  database_ = dbname;
  if (const std::string* repl = p.param("replication");
      repl != nullptr && *repl != "false" && *repl != "0" && *repl != "off" && *repl != "no") {
    fatal("0A000", "replication connections are not supported by pgsluice");
    return false;
  }
  for (const auto& [name, value] : p.params) {
    if (name == "user" || name == "database" || name == "options" || name == "replication")
      continue;
    wanted_.set(name, value);
  }
  if (const std::string* options = p.param("options"); options != nullptr) {
    std::string error;
    if (!parse_startup_options(*options, wanted_, error)) {
      fatal("0A000", error);
      return false;
    }
  }
  DatabaseState* db = worker_.database(dbname);
  if (db == nullptr || db->removed) {
    fatal("3D000", "database \"" + dbname + "\" does not exist",
          "pgsluice serves only the databases listed in its [databases] configuration.");
    return false;
  }
  pool_ = &worker_.pool_for(*db, user_);
  db_ = db;
  switch (cfg.limits.client_key) {
    case config::ClientKey::Address: {
      uint16_t port = 0;
      if (!peer_address(client_key_, port)) client_key_ = "unknown";
      break;
    }
    case config::ClientKey::User: client_key_ = user_; break;
    case config::ClientKey::ApplicationName:
      if (const std::string* app = wanted_.get("application_name")) client_key_ = *app;
      break;
    case config::ClientKey::Database: client_key_ = dbname; break;
  }
  key_id_ = db->admission->key(client_key_, worker_.key_policy(client_key_));
  begin_auth();
  return true;
}

void ClientSession::begin_auth() {
  auth_ = std::make_unique<ClientAuth>(worker_, user_);
  std::string out;
  ClientAuth::Step step = auth_->begin(out);
  state_ = State::Auth;
  send(out);
  if (step == ClientAuth::Step::Done) auth_succeeded();
}

size_t ClientSession::auth_input(std::string_view in) {
  size_t used = 0;
  std::string out;
  switch (auth_->feed(framer_, in, used, out)) {
    case ClientAuth::Step::NeedMore:
      return 0;
    case ClientAuth::Step::Continue:
      send(out);
      return used;
    case ClientAuth::Step::Done:
      send(out);
      auth_succeeded();
      return used;
    case ClientAuth::Step::Failed:
      auth_failed();
      return in.size();
    case ClientAuth::Step::Invalid:
      fatal(auth_->sqlstate(), auth_->error());
      return in.size();
  }
  return in.size();
}

void ClientSession::auth_failed() {
  LOG_EVENT(LogLevel::Info, "auth_failed",
            {{"client", id_}, {"address", address_text()}, {"user", user_}, {"database", database_},
             {"method", config::to_string(worker_.config().auth_method)}});
  terminate(make_error("FATAL", "28P01", "password authentication failed for user \"" + user_ + "\""));
}

void ClientSession::auth_succeeded() {
  auth_.reset();
  std::string out;
  proto::write_auth_ok(out);
  send(out);
  state_ = State::Welcome;
  stop_reading();
  pool_->request_welcome(this);  // may call welcome_ready() at once
}

void ClientSession::welcome_ready(const ServerParams& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    const std::string* mine = wanted_.get(name);
    proto::write_parameter_status(out, name, mine != nullptr ? *mine : value);
  }
  worker_.assign_cancel_key(this, cancel_pid_, cancel_key_);
  proto::write_backend_key_data(out, cancel_pid_, cancel_key_);
  proto::write_ready_for_query(out, 'I');
  send(out);
  state_ = State::Ready;
  LOG_DEBUG("client %llu logged in as \"%s\" to \"%s\"", static_cast<unsigned long long>(id_),
            user_.c_str(), pool_->database().settings.name.c_str());
  start_reading();
  if (has_buffered_input()) worker_.defer_resume(this);
}

void ClientSession::welcome_failed(const proto::ErrorFields& error) {
  proto::ErrorFields e = error;
  e.severity = "FATAL";
  terminate(e);
}

// ---- relay ----

size_t ClientSession::relay_input(std::string_view in) {
  ForwardRun run(in);
  while (!run.at_end() && state_ == State::Ready && !closing()) {
    if (skip_remaining_ > 0) {
      skip_remaining_ = run.skip_up_to(server_, skip_remaining_);
      continue;
    }
    if (pass_remaining_ > 0) {
      pass_remaining_ = run.take_up_to(pass_remaining_);
      continue;
    }
    proto::FrameResult fr = framer_.next_header(run.rest());
    if (fr.status == proto::FrameStatus::NeedMore) break;
    if (fr.status == proto::FrameStatus::Invalid) {
      run.flush(server_);
      fatal("08P01", std::string("invalid message from client: ") + fr.error);
      return in.size();
    }
    char type = fr.header.type;
    size_t total = fr.header.total();
    if (discard_ != Discard::None) {
      // The rest of a rejected transaction start, as PostgreSQL skips after an error.
      bool ends = type == fe::kSync ||
                  (discard_ == Discard::FirstMessage && (type == fe::kQuery || type == fe::kFunctionCall));
      discard_ = Discard::UntilSync;
      skip_remaining_ = total;
      if (ends) {
        discard_ = Discard::None;
        std::string z;
        proto::write_ready_for_query(z, 'I');
        send(z);
      }
      continue;
    }
    if (!admitted_) {
      // Between transactions: nothing is running for this client.
      if (type == fe::kTerminate) {
        run.flush(server_);
        detach_server();
        close();
        return in.size();
      }
      if (type == fe::kQuery && tracks_statements()) {
        Handled h = deallocate_between_transactions(run, total);
        if (h == Handled::NeedMore) break;
        if (h == Handled::Yes) continue;
      }
      if (type == fe::kSync || type == fe::kFlush) {
        // Nothing is open: answer a lone Sync as the server would.
        skip_remaining_ = total;
        if (type == fe::kSync) {
          std::string z;
          proto::write_ready_for_query(z, 'I');
          send(z);
        }
        continue;
      }
      run.flush(server_);
      // Session mode: the server connection belongs to the session, so it is
      // taken before admission; a client holding an admission slot while
      // waiting for another session's connection would deadlock the pool.
      if (server_ == nullptr && worker_.pool_mode_of(*pool_) == config::PoolMode::Session &&
          !start_transaction())
        return run.pos();
      Go go = admit_transaction();
      if (go == Go::Wait) return run.pos();
      if (go == Go::Rejected) continue;  // the rejected batch is discarded next
    }
    if (server_ == nullptr) {
      if (!start_transaction()) return run.pos();  // waiting for a server, or its settings
    }
    if (type == fe::kTerminate) {
      run.flush(server_);
      detach_server();
      close();
      return in.size();
    }
    // With statement tracking, handle_statement_message looks at every Parse.
    if ((type == fe::kQuery || (type == fe::kParse && !server_->tracking())) && refuses_listen()) {
      Handled h = refuse_listen(run, type, total);
      if (h == Handled::NeedMore) break;
      if (h == Handled::Yes) continue;
    }
    if (server_->tracking()) {
      Handled h = handle_statement_message(run, type, total);
      if (h == Handled::NeedMore) break;
      if (h == Handled::Yes) continue;
    }
    server_->note_client_message(type);
    pass_remaining_ = run.take_up_to(total);
  }
  run.flush(server_);
  if (server_ != nullptr && server_->over_high_watermark() && reading()) {
    stop_reading();
    paused_for_server_ = true;
  }
  return run.pos();
}

// Admission happens when a transaction starts, never in the middle of one:
// the message at the head of the input opens it.
ClientSession::Go ClientSession::admit_transaction() {
  last_request_ms_ = worker_.now_ms();
  if (wait_since_us_ == 0) wait_since_us_ = Worker::now_us();
  admission::TicketId ticket = 0;
  admission::RejectReason reason = admission::RejectReason::QueueFull;
  switch (db_->admission->request(key_id_, Worker::now_us(), ticket, reason)) {
    case admission::Verdict::Admit:
      admitted_ = true;
      if (server_ != nullptr) end_wait();  // session mode: nothing else to wait for
      return Go::Now;
    case admission::Verdict::Queued:
      ticket_ = ticket;
      state_ = State::WaitAdmission;
      worker_.admission_wait(ticket, this);
      stop_reading();
      worker_.admission_poll(*db_);  // arms the timeout
      return Go::Wait;
    case admission::Verdict::Reject:
      end_wait();
      worker_.log_rejection(*db_, client_key_, reason);
      reject_transaction(rejection(reason));
      return Go::Rejected;
  }
  return Go::Wait;
}

void ClientSession::admission_decided(const admission::Outcome& outcome) {
  if (state_ != State::WaitAdmission) {
    if (outcome.admitted) db_->admission->finish(outcome.key, Worker::now_us());
    return;
  }
  ticket_ = 0;
  state_ = State::Ready;
  if (!outcome.admitted || server_ != nullptr) end_wait();  // else it waits on for a server
  if (outcome.admitted) {
    admitted_ = true;
  } else {
    worker_.log_rejection(*db_, client_key_, outcome.reason);
    reject_transaction(rejection(outcome.reason));
  }
  worker_.defer_resume(this);
}

void ClientSession::transaction_ended() { finish_admission(); }

void ClientSession::finish_admission() {
  if (!admitted_) return;
  admitted_ = false;
  db_->admission->finish(key_id_, Worker::now_us());
  worker_.admission_poll(*db_);
}

void ClientSession::withdraw_admission() {
  if (state_ != State::WaitAdmission) return;
  db_->admission->cancel(ticket_, Worker::now_us());
  worker_.admission_forget(ticket_);
  ticket_ = 0;
  state_ = State::Ready;
  worker_.admission_poll(*db_);
}

proto::ErrorFields ClientSession::rejection(admission::RejectReason reason) const {
  const admission::KeyPolicy p = worker_.key_policy(client_key_);
  const config::Config& cfg = worker_.config();
  std::string why;
  switch (reason) {
    case admission::RejectReason::QueueFull:
      why = "its queue is full (max_queue = " + std::to_string(p.max_queue) + ")";
      break;
    case admission::RejectReason::Timeout:
      why = "no slot came free within queue_timeout_ms = " + std::to_string(p.queue_timeout_ms);
      break;
    case admission::RejectReason::Shed:
      why = "it sends more than its share and its queue is standing; waits beyond " +
            std::to_string(cfg.admission.shed_wait_ms) + " ms are cut";
      break;
    case admission::RejectReason::Predicted:
      why = "at the current throughput it could not start within its allowed wait";
      break;
    case admission::RejectReason::Paused:
      why = "the database is paused";
      break;
  }
  proto::ErrorFields e;
  e.severity = "ERROR";
  e.sqlstate = "53300";
  e.message = "pgsluice: transaction of client \"" + client_key_ + "\" (" +
              config::to_string(cfg.limits.client_key) + ") rejected: " + why;
  e.detail = "Limits for this client: max_concurrency = " +
             (p.max_concurrency == 0 ? std::string("none") : std::to_string(p.max_concurrency)) +
             ", weight = " + std::to_string(p.weight) + ", max_queue = " +
             std::to_string(p.max_queue) + ", queue_timeout_ms = " +
             std::to_string(p.queue_timeout_ms) + ". Database \"" + db_->settings.name +
             "\": admission " + config::to_string(cfg.admission.mode) + ", limit " +
             std::to_string(db_->admission->limit()) + ", running " +
             std::to_string(db_->admission->running()) + ", queued " +
             std::to_string(db_->admission->queued()) + ".";
  e.hint = "Nothing ran; the connection is still usable. Retry the transaction after a short "
           "backoff (100 ms or more), or spread the load over more clients.";
  return e;
}

// Finds the server connection for an admitted transaction.
bool ClientSession::start_transaction() {
  ServerConnection* s = pool_->acquire(this);
  if (s == nullptr) {
    state_ = State::WaitServer;
    stop_reading();
    return false;
  }
  return begin_attach(s);
}

bool ClientSession::begin_attach(ServerConnection* server) {
  server_ = server;
  std::string sql = build_sync_query(server->applied(), wanted_);
  server->attach(this, sql, wanted_);
  if (!sql.empty()) {
    state_ = State::WaitSync;
    stop_reading();
    return false;
  }
  state_ = State::Ready;
  end_wait();
  return true;
}

std::string ClientSession::address_text() {
  std::string host;
  uint16_t port = 0;
  return peer_address(host, port) ? host : "unknown";
}

void ClientSession::end_wait() {
  if (wait_since_us_ == 0) return;
  if (db_ != nullptr) db_->traffic.wait_time_us += Worker::now_us() - wait_since_us_;
  wait_since_us_ = 0;
}

void ClientSession::attach_server(ServerConnection* server) {
  if (begin_attach(server)) worker_.defer_resume(this);
}

void ClientSession::wait_failed(const proto::ErrorFields& error) {
  state_ = State::Ready;
  end_wait();
  finish_admission();
  reject_transaction(error);
  worker_.defer_resume(this);
}

void ClientSession::reject_transaction(const proto::ErrorFields& error) {
  std::string out;
  proto::write_error(out, error);
  send(out);
  discard_ = Discard::FirstMessage;
}

void ClientSession::resume() {
  if (closing() || state_ != State::Ready) return;
  if (!paused_for_server_) start_reading();
  reprocess_input();
}

void ClientSession::server_ready() {
  state_ = State::Ready;
  end_wait();
  worker_.defer_resume(this);
}

void ClientSession::server_released() {
  server_ = nullptr;
  if (paused_for_server_) {
    paused_for_server_ = false;
    start_reading();
  }
  if (worker_.draining()) {
    terminate(make_error("FATAL", "57P01", "terminating connection because pgsluice is shutting down"));
    return;
  }
  if (has_buffered_input()) worker_.defer_resume(this);
}

void ClientSession::server_drained() {
  if (paused_for_server_ && state_ == State::Ready) {
    paused_for_server_ = false;
    start_reading();
    if (has_buffered_input()) worker_.defer_resume(this);
  }
}

void ClientSession::on_drained() {
  // Our output fell below the low watermark: let the server's replies flow again.
  if (server_ != nullptr && server_->state() == ServerConnection::State::Active)
    server_->start_reading();
}

void ClientSession::server_lost(const proto::ErrorFields& error) {
  server_ = nullptr;
  terminate(error);
}

void ClientSession::server_sync_failed(const proto::ErrorFields& error) {
  server_ = nullptr;
  terminate(error);
}

void ClientSession::detach_server() {
  ServerConnection* s = server_;
  if (s == nullptr) return;
  server_ = nullptr;
  s->detach_from_client(worker_.pool_mode_of(*pool_) == config::PoolMode::Session);
}

// ---- worker events ----

void ClientSession::cancel_requested() {
  if (state_ == State::WaitAdmission || state_ == State::WaitServer) {
    withdraw_admission();
    pool_->forget(this);
    finish_admission();
    state_ = State::Ready;
    reject_transaction(make_error("ERROR", "57014", "canceling statement due to user request"));
    worker_.defer_resume(this);
    return;
  }
  if (server_ != nullptr) worker_.send_cancel(server_);
}

void ClientSession::login_timed_out() {
  fatal("08P01", "pgsluice: startup and authentication did not finish within login_timeout_ms = " +
                     std::to_string(worker_.config().proxy.login_timeout_ms));
}

void ClientSession::drain() {
  if (server_ != nullptr && !server_->clean()) return;  // finishes its transaction first
  terminate(make_error("FATAL", "57P01", "terminating connection because pgsluice is shutting down"));
}

void ClientSession::terminate(const proto::ErrorFields& fatal_error) {
  if (closing()) return;
  if (pool_ != nullptr) pool_->forget(this);
  withdraw_admission();
  detach_server();
  finish_admission();
  std::string out;
  proto::write_error(out, fatal_error);
  send(out);
  close_after_flush();
}

// Every connection pgsluice ends with FATAL: refused at login (unknown
// database, too many clients, bad startup packet, login timeout) or broken
// later (protocol violation).
void ClientSession::fatal(const char* sqlstate, const std::string& message, const std::string& hint) {
  LOG_EVENT(LogLevel::Info, "client_fatal",
            {{"client", id_}, {"address", address_text()}, {"user", user_}, {"database", database_},
             {"sqlstate", sqlstate}, {"error", message}});
  terminate(make_error("FATAL", sqlstate, message, hint));
}

void ClientSession::on_disconnect(int status) {
  LOG_DEBUG("client %llu disconnected: %s", static_cast<unsigned long long>(id_),
            status == UV_EOF ? "end of stream" : uv_strerror(status));
}

void ClientSession::on_closed() {
  if (db_ != nullptr) {
    db_->traffic.bytes_received += bytes_read();
    db_->traffic.bytes_sent += bytes_sent();
  }
  if (pool_ != nullptr) pool_->forget(this);
  withdraw_admission();
  detach_server();
  finish_admission();
  worker_.client_closed(this);
}

}  // namespace pgs
