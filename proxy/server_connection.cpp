#include "proxy/server_connection.h"

#include <cstring>

#include "proxy/client_session.h"
#include "proxy/forward_run.h"
#include "proxy/log.h"
#include "proxy/message_cursor.h"
#include "proxy/worker.h"

namespace pgs {

namespace be = proto::be;
namespace fe = proto::fe;

namespace {
// The server is trusted to frame its own stream; relayed messages are
// streamed, not buffered, so only PostgreSQL's own 1 GiB cap applies.
constexpr uint32_t kMaxServerMessage = 0x40000000;

proto::ErrorFields make_error(const char* severity, const char* sqlstate, std::string message) {
  proto::ErrorFields e;
  e.severity = severity;
  e.sqlstate = sqlstate;
  e.message = std::move(message);
  return e;
}
}  // namespace

ServerConnection::ServerConnection(Worker& worker, Pool& pool, uint64_t generation)
    : Peer(worker),
      id_(worker.register_server(this)),
      pool_(pool),
      generation_(generation),
      created_ms_(worker.now_ms()),
      framer_(kMaxServerMessage) {
  connect_req_.data = this;
}

void ServerConnection::connect(const sockaddr* address, const std::string& user,
                               const std::string* password, const std::string& dbname) {
  user_ = user;
  dbname_ = dbname;
  if (password != nullptr) {
    password_ = *password;
    have_password_ = true;
  }
  int rc = uv_tcp_connect(&connect_req_, tcp(), address, connect_cb);
  if (rc != 0) {
    // Report from the loop, not from inside the pool's launch.
    connect_error_ = rc;
    uv_tcp_connect_failed_ = true;
  }
}

void ServerConnection::connect_cb(uv_connect_t* req, int status) {
  auto* self = static_cast<ServerConnection*>(req->data);
  if (status == UV_ECANCELED || self->closing()) return;
  if (status < 0) {
    self->login_error(make_error("FATAL", "08001",
                                 std::string("pgsluice could not connect to the server: ") +
                                     uv_strerror(status)));
    return;
  }
  uv_tcp_nodelay(self->tcp(), 1);
  uv_tcp_keepalive(self->tcp(), 1, 60);
  self->state_ = State::Login;
  std::vector<std::pair<std::string, std::string>> params = {{"user", self->user_},
                                                              {"database", self->dbname_}};
  std::string out;
  proto::write_startup_message(out, params);
  self->send(out);
  self->start_reading();
}

void ServerConnection::check_connect_timeout(uint64_t now_ms, uint64_t timeout_ms) {
  if (uv_tcp_connect_failed_) {
    uv_tcp_connect_failed_ = false;
    login_error(make_error("FATAL", "08001",
                           std::string("pgsluice could not connect to the server: ") +
                               uv_strerror(connect_error_)));
    return;
  }
  if ((state_ == State::Connecting || state_ == State::Login) && now_ms - created_ms_ > timeout_ms)
    login_error(make_error("FATAL", "08001",
                           "pgsluice timed out connecting to the server (connect_timeout_ms = " +
                               std::to_string(timeout_ms) + ")"));
}

size_t ServerConnection::on_input(std::string_view in) {
  size_t used = 0;
  while (used < in.size() && !closing()) {
    size_t n = 0;
    switch (state_) {
      case State::Login: n = login_input(in.substr(used)); break;
      case State::Syncing:
      case State::Resetting: n = swallow_input(in.substr(used)); break;
      case State::Active: n = relay_input(in.substr(used)); break;
      case State::Idle: n = idle_input(in.substr(used)); break;
      case State::Connecting: n = 0; break;
    }
    if (n == 0) break;
    used += n;
  }
  return used;
}

// ---- login ----

size_t ServerConnection::login_input(std::string_view in) {
  size_t pos = 0;
  while (state_ == State::Login && !closing()) {
    char type = 0;
    std::string_view body;
    const char* err = "";
    Next r = next_message(framer_, in, pos, type, body, &err);
    if (r == Next::NeedMore) break;
    if (r == Next::Invalid) {
      login_error(make_error("FATAL", "08P01", std::string("invalid message from server: ") + err));
      return in.size();
    }
    switch (type) {
      case be::kAuthentication:
        if (!handle_auth(body)) return in.size();
        break;
      case be::kParameterStatus:
        note_parameter_status(body);
        break;
      case be::kBackendKeyData:
        if (!proto::parse_backend_key_data(body, backend_pid_, backend_key_)) {
          login_error(make_error("FATAL", "08P01", "malformed BackendKeyData from server"));
          return in.size();
        }
        break;
      case be::kErrorResponse: {
        proto::ErrorFields e;
        if (!proto::parse_error_fields(body, e)) e = make_error("FATAL", "08P01", "malformed error");
        e.severity = "FATAL";
        login_error(e);
        return in.size();
      }
      case be::kReadyForQuery:
        scram_.reset();
        password_.clear();
        state_ = State::Idle;
        LOG_DEBUG("server %llu logged in (backend pid %d)",
                  static_cast<unsigned long long>(id_), backend_pid_);
        pool_.logged_in(this);
        return pos;
      case be::kNoticeResponse:
      case be::kNegotiateProtocolVersion:
        break;
      default:
        login_error(make_error("FATAL", "08P01",
                               std::string("unexpected message type '") + type +
                                   "' from server during login"));
        return in.size();
    }
  }
  return pos;
}

bool ServerConnection::handle_auth(std::string_view body) {
  proto::AuthRequest req;
  if (!proto::parse_auth_request(body, req)) {
    login_error(make_error("FATAL", "08P01", "malformed authentication request from server"));
    return false;
  }
  auto need_password = [&]() {
    if (have_password_) return true;
    login_error(make_error("FATAL", "28P01",
                           "the server asks for a password for user \"" + user_ +
                               "\" but [users] in the pgsluice config has none"));
    return false;
  };
  std::string out;
  switch (req.code) {
    case proto::kAuthOk:
      return true;
    case proto::kAuthCleartext:
      if (!need_password()) return false;
      proto::write_password_message(out, password_);
      break;
    case proto::kAuthMd5:
      if (!need_password()) return false;
      if (req.data.size() != 4) {
        login_error(make_error("FATAL", "08P01", "malformed MD5 salt from server"));
        return false;
      }
      proto::write_password_message(out, proto::md5_password_response(user_, password_, req.data));
      break;
    case proto::kAuthSasl: {
      if (!need_password()) return false;
      std::vector<std::string_view> mechs;
      bool scram_offered = false;
      if (proto::parse_sasl_mechanisms(req.data, mechs))
        for (auto m : mechs) scram_offered |= (m == "SCRAM-SHA-256");
      if (!scram_offered) {
        login_error(make_error("FATAL", "28000",
                               "the server offers no SASL mechanism pgsluice supports "
                               "(SCRAM-SHA-256 without channel binding)"));
        return false;
      }
      scram_ = std::make_unique<proto::ScramClient>(password_);
      proto::write_sasl_initial_response(out, "SCRAM-SHA-256", scram_->client_first());
      break;
    }
    case proto::kAuthSaslContinue: {
      std::string final_msg, error;
      if (!scram_ || !scram_->server_first(req.data, final_msg, error)) {
        login_error(make_error("FATAL", "08P01", "SCRAM exchange with the server failed: " + error));
        return false;
      }
      proto::write_sasl_response(out, final_msg);
      break;
    }
    case proto::kAuthSaslFinal: {
      std::string error;
      if (!scram_ || !scram_->server_final(req.data, error)) {
        login_error(make_error("FATAL", "08P01", "the server's SCRAM signature is wrong: " + error));
        return false;
      }
      return true;
    }
    default:
      login_error(make_error("FATAL", "28000",
                             "the server asks for authentication method " +
                                 std::to_string(req.code) + ", which pgsluice does not support"));
      return false;
  }
  send(out);
  return true;
}

void ServerConnection::login_error(const proto::ErrorFields& e) {
  if (login_failed_) return;
  login_failed_ = true;
  LOG_EVENT(LogLevel::Warn, "server_login_failed",
            {{"server", id_}, {"database", pool_.database().settings.name}, {"dbname", dbname_}, {"user", user_},
             {"sqlstate", e.sqlstate}, {"error", e.message}});
  pool_.login_failed(this, e);
  close();
}

void ServerConnection::note_parameter_status(std::string_view body) {
  std::string_view name, value;
  if (!proto::parse_parameter_status(body, name, value)) return;
  for (auto& [n, v] : reported_)
    if (n == name) {
      v.assign(value);
      return;
    }
  reported_.emplace_back(std::string(name), std::string(value));
}

// ---- attach / detach ----

void ServerConnection::set_idle(uint64_t now_ms) {
  state_ = State::Idle;
  client_ = nullptr;
  idle_since_ms_ = now_ms;
  start_reading();  // notice a server that goes away while idle
}

void ServerConnection::attach(ClientSession* client, const std::string& sync_sql,
                              const ParamList& wanted) {
  client_ = client;
  last_used_ms_ = worker_.now_ms();
  ++pool_.database().traffic.server_assignment_count;
  round_start_us_ = 0;
  xact_start_us_ = 0;
  pending_.clear();
  tracking_ = worker_.pool_mode_of(pool_) == config::PoolMode::Transaction &&
              worker_.config().server.max_prepared_statements > 0;
  round_congested_ = false;
  expected_ready_ = 0;
  batch_open_ = false;
  txn_status_ = 'I';
  pass_remaining_ = 0;
  start_reading();
  if (sync_sql.empty()) {
    state_ = State::Active;
    return;
  }
  state_ = State::Syncing;
  pending_applied_ = wanted;
  swallow_error_ = false;
  std::string out;
  proto::write_query(out, sync_sql);
  send(out);
}

bool ServerConnection::clean() const {
  return state_ == State::Active && expected_ready_ == 0 && !batch_open_ && txn_status_ == 'I' &&
         pass_remaining_ == 0 && pending_.empty() && (client_ == nullptr || !client_->mid_message());
}

void ServerConnection::detach_from_client(bool run_reset) {
  bool was_clean = clean();
  client_ = nullptr;
  if (!was_clean) {
    close();
    return;
  }
  const std::string& reset = worker_.config().server.reset_query;
  if (run_reset && !reset.empty()) {
    state_ = State::Resetting;
    swallow_error_ = false;
    std::string out;
    proto::write_query(out, reset);
    send(out);
    return;
  }
  pool_.release(this);
}

void ServerConnection::terminate_and_close() {
  if (state_ != State::Connecting) {
    std::string out;
    proto::write_terminate(out);
    send(out);
  }
  if (ClientSession* c = client_) {
    client_ = nullptr;  // the client must not keep a link to a closed server
    c->server_lost(make_error("FATAL", "57P01", "terminating connection because pgsluice is shutting down"));
  }
  close_after_flush();
}

// A round trip runs from the first message the server must answer to the
// ReadyForQuery that completes it: the database's own latency, without any
// time the transaction spent queued in pgsluice.
void ServerConnection::record_round() {
  uint64_t now = Worker::now_us();
  DatabaseState& db = pool_.database();
  if (round_start_us_ != 0) {
    if (db.admission) db.admission->record_sample(now - round_start_us_, round_congested_, now);
    ++db.traffic.query_count;
    db.traffic.query_time_us += now - round_start_us_;
  }
  // A transaction ends when the server is idle again with nothing owed.
  if (xact_start_us_ != 0 && txn_status_ == 'I' && expected_ready_ == 0 && !batch_open_) {
    ++db.traffic.xact_count;
    db.traffic.xact_time_us += now - xact_start_us_;
    xact_start_us_ = 0;
  }
  round_congested_ = false;
  round_start_us_ = (expected_ready_ > 0 || batch_open_) ? now : 0;
}

bool ServerConnection::is_congestion_error(std::string_view body) {
  // 57014 query_canceled (statement_timeout), 40001 serialization_failure,
  // 40P01 deadlock_detected, 55P03 lock_not_available.
  proto::ErrorFields e;
  if (!proto::parse_error_fields(body, e)) return false;
  return e.sqlstate == "57014" || e.sqlstate == "40001" || e.sqlstate == "40P01" ||
         e.sqlstate == "55P03";
}

void ServerConnection::note_client_message(char type) {
  if (round_start_us_ == 0 && type != fe::kCopyData && type != fe::kCopyDone &&
      type != fe::kCopyFail) {
    round_start_us_ = Worker::now_us();
    if (xact_start_us_ == 0) xact_start_us_ = round_start_us_;
  }
  if (tracking_) {
    switch (type) {
      case fe::kQuery:
      case fe::kFunctionCall:
      case fe::kSync:
      case fe::kParse:
      case fe::kBind:
      case fe::kDescribe:
      case fe::kExecute:
      case fe::kClose:
        pending_.emplace_back();
        pending_.back().type = type;
        break;
      default:
        break;  // Flush, copy data: nothing of their own to answer
    }
  }
  switch (type) {
    case fe::kQuery:
    case fe::kFunctionCall:
      ++expected_ready_;
      break;
    case fe::kSync:
      ++expected_ready_;
      batch_open_ = false;
      break;
    case fe::kParse:
    case fe::kBind:
    case fe::kDescribe:
    case fe::kExecute:
    case fe::kClose:
    case fe::kFlush:
      batch_open_ = true;
      break;
    default:
      break;  // copy data, password: no reply of their own
  }
}

// ---- prepared statements: what each forwarded message still owes ----

void ServerConnection::note_client_parse(const prepared::StatementRef& stmt, const std::string& client_name) {
  note_client_message(fe::kParse);
  Pending& p = pending_.back();
  p.stmt_id = stmt->id;
  p.text = client_name;
}

void ServerConnection::note_own_message(char type, uint64_t stmt_id) {
  note_client_message(type);
  Pending& p = pending_.back();
  p.own = true;
  p.stmt_id = stmt_id;
}

void ServerConnection::note_discard_all() {
  if (!pending_.empty() && pending_.back().type == fe::kQuery) pending_.back().discard_all = true;
}

void ServerConnection::add_own_reply(std::string bytes, bool ready) {
  Pending p;
  p.text = std::move(bytes);
  p.ready = ready;
  pending_.push_back(std::move(p));
  // Nothing owed before it: now. (Never releases the connection: the
  // caller is the client's own relay, which may not be re-entered.)
  if (pending_.size() == 1 && pass_remaining_ == 0 && client_ != nullptr) send_own_replies(client_);
}

void ServerConnection::send_own_replies(ClientSession* c) {
  while (!pending_.empty() && pending_.front().type == 0) {
    Pending& p = pending_.front();
    if (c != nullptr) {
      if (p.ready) proto::write_ready_for_query(p.text, txn_status_);
      c->send(p.text);
    }
    pending_.pop_front();
  }
}

void ServerConnection::pop_pending() {
  Pending& p = pending_.front();
  // A Parse the server refused, or skipped after an earlier error, prepared nothing.
  if (p.type == fe::kParse && p.stmt_id != 0) {
    statements_.erase(p.stmt_id);
    if (!p.own && client_ != nullptr) client_->statement_not_prepared(p.text, p.stmt_id);
  }
  pending_.pop_front();
}

bool ServerConnection::on_reply(char type) {
  if (pending_.empty()) return false;
  Pending& head = pending_.front();
  if (type == be::kErrorResponse) {
    if (head.type == fe::kQuery || head.type == fe::kFunctionCall) {
      head.failed = true;  // ReadyForQuery ends it
      return false;
    }
    if (head.type == fe::kSync) return false;
    // Extended protocol: the server skips everything up to Sync.
    pop_pending();
    while (!pending_.empty() && pending_.front().type != fe::kSync) pop_pending();
    return false;
  }
  bool ends = false;
  switch (head.type) {
    case fe::kParse: ends = type == be::kParseComplete; break;
    case fe::kBind: ends = type == be::kBindComplete; break;
    case fe::kClose: ends = type == be::kCloseComplete; break;
    case fe::kDescribe: ends = type == be::kRowDescription || type == be::kNoData; break;
    case fe::kExecute:
      ends = type == be::kCommandComplete || type == be::kEmptyQueryResponse || type == be::kPortalSuspended;
      break;
    case fe::kSync:
    case fe::kQuery:
    case fe::kFunctionCall: ends = type == be::kReadyForQuery; break;
    default: break;
  }
  if (!ends) return false;
  bool own = head.own;
  if (head.discard_all && !head.failed) {
    // DISCARD ALL ran: the server forgot its statements and settings.
    statements_.clear();
    applied_ = ParamList();
  }
  if (head.type == fe::kParse) head.stmt_id = 0;  // prepared: nothing to roll back
  pending_.pop_front();
  return own;
}

bool ServerConnection::release_if_done(ClientSession* c) {
  if (c == nullptr || !clean()) return false;
  c->transaction_ended();
  if (worker_.pool_mode_of(pool_) == config::PoolMode::Transaction || worker_.draining()) {
    client_ = nullptr;
    c->server_released();
    pool_.release(this);
    return true;
  }
  return false;
}

// ---- replies pgsluice asked for itself ----

size_t ServerConnection::swallow_input(std::string_view in) {
  size_t pos = 0;
  while ((state_ == State::Syncing || state_ == State::Resetting) && !closing()) {
    char type = 0;
    std::string_view body;
    const char* err = "";
    size_t start = pos;
    Next r = next_message(framer_, in, pos, type, body, &err);
    if (r == Next::NeedMore) break;
    if (r == Next::Invalid) {
      lost((std::string("invalid message from server: ") + err).c_str());
      return in.size();
    }
    if (type == be::kParameterStatus) {
      note_parameter_status(body);
      std::string_view name, value;
      if (state_ == State::Syncing && client_ != nullptr &&
          proto::parse_parameter_status(body, name, value)) {
        // The server's spelling of the client's setting ("SQL, DMY" for
        // "SQL,DMY"): the client hears it as it would from PostgreSQL, and
        // it becomes the value both sides compare from now on.
        client_->send(in.substr(start, pos - start));
        if (pending_applied_.get(name) != nullptr) {
          pending_applied_.set(name, value);
          client_->wanted_params().set(name, value);
        }
      }
    } else if (type == be::kErrorResponse) {
      swallow_error_ = true;
      if (!proto::parse_error_fields(body, swallowed_error_))
        swallowed_error_ = make_error("ERROR", "XX000", "malformed error from server");
    } else if (type == be::kReadyForQuery) {
      finish_swallow();
      return pos;
    }
  }
  return pos;
}

void ServerConnection::finish_swallow() {
  if (state_ == State::Resetting) {
    if (swallow_error_) {
      LOG_WARN("server reset query failed: %s; closing the server connection",
               swallowed_error_.message.c_str());
      close();
      return;
    }
    applied_.clear();  // DISCARD ALL / RESET ALL put every setting back
    pool_.release(this);
    return;
  }
  // Syncing.
  ClientSession* c = client_;
  if (swallow_error_) {
    client_ = nullptr;
    proto::ErrorFields e = swallowed_error_;
    e.severity = "FATAL";
    e.message = "pgsluice could not apply the client's session settings: " + e.message;
    pool_.release(this);  // the settings failed; the connection itself is fine
    if (c != nullptr) c->server_sync_failed(e);
    return;
  }
  applied_ = pending_applied_;
  state_ = State::Active;
  if (c != nullptr) c->server_ready();
}

size_t ServerConnection::idle_input(std::string_view in) {
  size_t pos = 0;
  while (state_ == State::Idle && !closing()) {
    char type = 0;
    std::string_view body;
    const char* err = "";
    Next r = next_message(framer_, in, pos, type, body, &err);
    if (r == Next::NeedMore) break;
    if (r == Next::Invalid) {
      LOG_WARN("idle server connection sent an invalid message (%s); closing it", err);
      close();
      return in.size();
    }
    if (type == be::kParameterStatus) {
      note_parameter_status(body);
    } else if (type == be::kErrorResponse) {
      proto::ErrorFields e;
      if (proto::parse_error_fields(body, e))
        LOG_INFO("idle server connection reported %s %s: %s", e.severity.c_str(),
                 e.sqlstate.c_str(), e.message.c_str());
    } else if (type != be::kNoticeResponse && type != be::kNotificationResponse) {
      LOG_WARN("idle server connection sent unexpected message type '%c'; closing it", type);
      close();
      return in.size();
    }
  }
  return pos;
}

// ---- relay ----

size_t ServerConnection::relay_input(std::string_view in) {
  ForwardRun run(in);
  ClientSession* c = client_;
  while (!run.at_end() && state_ == State::Active && !closing()) {
    if (pass_remaining_ > 0) {
      pass_remaining_ = run.take_up_to(pass_remaining_);
      continue;
    }
    proto::FrameResult fr = framer_.next_header(run.rest());
    if (fr.status == proto::FrameStatus::NeedMore) break;
    if (fr.status == proto::FrameStatus::Invalid) {
      run.flush(c);
      lost((std::string("invalid message from server: ") + fr.error).c_str());
      return in.size();
    }
    char type = fr.header.type;
    size_t total = fr.header.total();
    if (tracking_ && !pending_.empty() && pending_.front().type == 0) {
      run.flush(c);
      send_own_replies(c);
    }
    const bool maybe_own = tracking_ && (type == be::kParseComplete || type == be::kCloseComplete);
    if (type != be::kReadyForQuery && type != be::kParameterStatus && type != be::kErrorResponse &&
        !maybe_own) {
      if (tracking_) on_reply(type);
      pass_remaining_ = run.take_up_to(total);
      continue;
    }
    // Small messages pgsluice reads on their way through: wait for the whole one.
    if (run.available() < total) break;
    std::string_view body = run.rest().substr(proto::kHeaderSize, fr.header.body_size());
    if (tracking_ && on_reply(type)) {
      run.skip_up_to(c, total);  // the reply to pgsluice's own Parse or Close
      continue;
    }
    run.take(total);
    if (maybe_own) continue;  // the client's own ParseComplete / CloseComplete
    if (type == be::kErrorResponse) {
      if (is_congestion_error(body)) round_congested_ = true;
      continue;
    }
    if (type == be::kParameterStatus) {
      note_parameter_status(body);
      std::string_view name, value;
      // The client changed a reported setting itself: it is now part of
      // the session it expects on every server connection.
      if (proto::parse_parameter_status(body, name, value)) {
        c->wanted_params().set(name, value);
        applied_.set(name, value);
      }
      continue;
    }
    char status = 'I';
    if (!proto::parse_ready_for_query(body, status)) {
      run.flush(c);
      lost("malformed ReadyForQuery from server");
      return in.size();
    }
    txn_status_ = status;
    if (expected_ready_ > 0) --expected_ready_;
    record_round();
    if (tracking_ && !pending_.empty() && pending_.front().type == 0) {
      run.flush(c);
      send_own_replies(c);
    }
    if (clean()) {
      run.flush(c);
      if (release_if_done(c)) return run.pos();
    }
  }
  run.flush(c);
  if (tracking_ && pass_remaining_ == 0 && !pending_.empty() && pending_.front().type == 0) {
    send_own_replies(c);
    if (release_if_done(c)) return run.pos();
  }
  if (c->over_high_watermark()) stop_reading();  // resumed by the client's on_drained
  return run.pos();
}

void ServerConnection::on_drained() {
  if (client_ != nullptr) client_->server_drained();
}

void ServerConnection::lost(const char* why) {
  LOG_EVENT(LogLevel::Warn, "server_lost",
            {{"server", id_}, {"backend_pid", backend_pid_}, {"database", pool_.database().settings.name},
             {"user", user_}, {"had_client", client_ != nullptr}, {"error", why}});
  ClientSession* c = client_;
  client_ = nullptr;
  close();
  if (c != nullptr)
    c->server_lost(make_error("FATAL", "08006",
                              std::string("pgsluice lost the server connection: ") + why));
}

void ServerConnection::on_disconnect(int status) {
  const char* why = status == UV_EOF ? "server closed the connection" : uv_strerror(status);
  if (state_ == State::Connecting || state_ == State::Login) {
    login_error(make_error("FATAL", "08006",
                           std::string("server closed the connection during login: ") + why));
    return;
  }
  if (client_ != nullptr || state_ == State::Syncing || state_ == State::Resetting) {
    lost(why);
    return;
  }
  LOG_INFO("idle server connection %llu closed: %s", static_cast<unsigned long long>(id_), why);
}

void ServerConnection::on_closed() {
  if (client_ != nullptr) {
    ClientSession* c = client_;
    client_ = nullptr;
    c->server_lost(make_error("FATAL", "08006", "pgsluice closed the server connection"));
  }
  pool_.closed(this);
  worker_.unregister_server(id_);
}

}  // namespace pgs
