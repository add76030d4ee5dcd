// ClientSession, continued: what the relay rewrites in transaction mode.
// Named prepared statements follow the client from one server connection
// to the next (prepared.h), and LISTEN, which cannot follow it, is refused.
#include "proxy/client_session.h"

#include "proxy/prepared.h"
#include "proxy/server_connection.h"
#include "proxy/sql_scan.h"
#include "proxy/worker.h"

namespace pgs {

namespace fe = proto::fe;

// ---- prepared statements (transaction mode) ----

bool ClientSession::tracks_statements() const {
  return pool_ != nullptr && worker_.pool_mode_of(*pool_) == config::PoolMode::Transaction &&
         worker_.config().server.max_prepared_statements > 0;
}

void ClientSession::statement_not_prepared(const std::string& name, uint64_t id) {
  auto it = statements_.find(name);
  if (it != statements_.end() && it->second->id == id) statements_.erase(it);
}

// Makes sure the server connection has `stmt`, appending pgsluice's own
// Parse (and the Close of what that evicts) to `out`.
void ClientSession::ensure_prepared(const prepared::StatementRef& stmt, std::string& out) {
  prepared::ServerCache& cache = server_->statements();
  if (cache.contains(stmt->id)) {
    cache.touch(stmt->id);
    return;
  }
  if (auto evicted = cache.add(stmt, worker_.config().server.max_prepared_statements)) {
    prepared::write_target(out, fe::kClose, 'S', (*evicted)->server_name);
    server_->note_own_message(fe::kClose, 0);
  }
  prepared::write_parse(out, stmt->server_name, stmt->content);
  server_->note_own_message(fe::kParse, stmt->id);
}

namespace {

// What the server runs instead of a LISTEN in transaction mode. The server
// raising the error itself keeps the transaction's state true: it fails, and
// a COMMIT after it rolls back, as after any error. In the extended protocol
// the error comes at Execute, where LISTEN's own errors come.
constexpr std::string_view kRefusedListen =
    "DO $pgsluice$BEGIN RAISE EXCEPTION USING ERRCODE = '0A000', "
    "MESSAGE = 'pgsluice: LISTEN is not supported in transaction pool mode', "
    "DETAIL = 'In transaction mode the server connection goes back to the pool when the transaction ends, "
    "so notifications for this session would be lost or delivered to another client.', "
    "HINT = 'Use a pgsluice database with pool_mode = \"session\" for clients that LISTEN.'; END$pgsluice$";

// A Parse's content (query text, then the parameter types) for kRefusedListen.
const std::string& refused_listen_content() {
  static const std::string content = std::string(kRefusedListen) + std::string("\0\0\0", 3);
  return content;
}

bool listens(std::string_view parse_content) {
  return sql::some_statement_starts_with(parse_content.substr(0, parse_content.find('\0')), "LISTEN");
}

// pgsluice's own answers to a Parse or Close that needs no server round trip.
constexpr std::string_view kParseComplete("1\0\0\0\4", 5);
constexpr std::string_view kCloseComplete("3\0\0\0\4", 5);

std::string command_complete(std::string_view tag) {
  std::string out;
  proto::write_command_complete(out, tag);
  return out;
}

}  // namespace

// Drops the client's message and answers it here, in its place among the
// server's replies.
void ClientSession::reply_in_place(ForwardRun& run, size_t total, std::string_view reply) {
  run.drop(server_, total);
  server_->open_batch();
  server_->add_own_reply(std::string(reply), false);
}

// Parse, Bind, Describe and Close of a named statement, and the simple
// query's DEALLOCATE / DISCARD ALL: rewritten to the server's names, or
// answered here. No: forward the message as it is.
ClientSession::Handled ClientSession::handle_statement_message(ForwardRun& run, char type, size_t total) {
  const size_t body_size = total - proto::kHeaderSize;
  switch (type) {
    case fe::kParse: {
      if (run.available() < total) return Handled::NeedMore;
      std::string_view name, content;
      if (!prepared::split_parse(run.rest().substr(proto::kHeaderSize, body_size), name, content))
        return Handled::No;
      const bool refused = listens(content);
      if (refused) content = refused_listen_content();
      if (name.empty()) {
        // The unnamed statement is the client's own business, unless it is a LISTEN.
        if (!refused) return Handled::No;
        run.drop(server_, total);
        run.insert(server_, [&](std::string& out) { prepared::write_parse(out, name, content); });
        server_->note_client_message(fe::kParse);
        return Handled::Yes;
      }
      std::string key(name);
      prepared::StatementRef stmt = worker_.statement_registry().intern(content);
      auto it = statements_.find(key);
      if (it == statements_.end() && server_->statements().contains(stmt->id)) {
        server_->statements().touch(stmt->id);
        statements_.emplace(std::move(key), stmt);
        reply_in_place(run, total, kParseComplete);
        return Handled::Yes;
      }
      run.drop(server_, total);
      run.insert(server_, [&](std::string& out) {
        if (it != statements_.end()) {
          // PostgreSQL refuses a second Parse of a name (42P05); the server
          // says so for the statement the name already stands for.
          ensure_prepared(it->second, out);
          prepared::write_parse(out, it->second->server_name, content);
          server_->note_client_message(fe::kParse);
          return;
        }
        if (auto evicted = server_->statements().add(stmt, worker_.config().server.max_prepared_statements)) {
          prepared::write_target(out, fe::kClose, 'S', (*evicted)->server_name);
          server_->note_own_message(fe::kClose, 0);
        }
        prepared::write_parse(out, stmt->server_name, content);
        server_->note_client_parse(stmt, key);
        statements_.emplace(std::move(key), stmt);
      });
      return Handled::Yes;
    }
    case fe::kBind: {
      std::string_view portal, statement;
      size_t names_end = 0;
      bool complete = false;
      size_t have = std::min(run.available(), total) - std::min(run.available(), proto::kHeaderSize);
      if (run.available() < proto::kHeaderSize) return Handled::NeedMore;
      if (!prepared::split_bind_prefix(run.rest().substr(proto::kHeaderSize, have), portal, statement, names_end,
                                       complete))
        return Handled::No;
      if (!complete) return run.available() >= total ? Handled::No : Handled::NeedMore;
      if (statement.empty()) return Handled::No;
      auto it = statements_.find(std::string(statement));
      if (it == statements_.end()) return Handled::No;  // the server reports 26000 with the client's name
      run.drop(server_, proto::kHeaderSize + names_end);
      run.insert(server_, [&](std::string& out) {
        ensure_prepared(it->second, out);
        prepared::write_bind_head(out, portal, it->second->server_name, body_size - names_end);
      });
      server_->note_client_message(fe::kBind);
      pass_remaining_ = run.take_up_to(body_size - names_end);
      return Handled::Yes;
    }
    case fe::kDescribe:
    case fe::kClose: {
      if (run.available() < total) return Handled::NeedMore;
      char kind = 0;
      std::string_view name;
      if (!prepared::split_target(run.rest().substr(proto::kHeaderSize, body_size), kind, name) || kind != 'S' ||
          name.empty())
        return Handled::No;
      if (type == fe::kClose) {
        // Only the client's view: the statement stays prepared on the server
        // for whoever uses it next (closing what does not exist is no error).
        statements_.erase(std::string(name));
        reply_in_place(run, total, kCloseComplete);
        return Handled::Yes;
      }
      auto it = statements_.find(std::string(name));
      if (it == statements_.end()) return Handled::No;
      run.drop(server_, total);
      run.insert(server_, [&](std::string& out) {
        ensure_prepared(it->second, out);
        prepared::write_target(out, fe::kDescribe, 'S', it->second->server_name);
      });
      server_->note_client_message(fe::kDescribe);
      return Handled::Yes;
    }
    case fe::kQuery: {
      if (total > kMaxStatementCommand) return Handled::No;
      if (run.available() < total) return Handled::NeedMore;
      std::string_view sql = run.rest().substr(proto::kHeaderSize, body_size);
      std::string name;
      switch (prepared::classify_query(sql, name)) {
        case prepared::SqlCommand::Other:
          return Handled::No;
        case prepared::SqlCommand::Deallocate: {
          auto it = statements_.find(name);
          if (it == statements_.end()) return Handled::No;  // the server reports 26000, in the transaction
          statements_.erase(it);
          run.drop(server_, total);
          server_->add_own_reply(command_complete("DEALLOCATE"), true);
          return Handled::Yes;
        }
        case prepared::SqlCommand::DeallocateAll:
          statements_.clear();
          run.drop(server_, total);
          server_->add_own_reply(command_complete("DEALLOCATE ALL"), true);
          return Handled::Yes;
        case prepared::SqlCommand::DiscardAll:
          statements_.clear();
          server_->note_client_message(fe::kQuery);
          server_->note_discard_all();
          pass_remaining_ = run.take_up_to(total);
          return Handled::Yes;
      }
      return Handled::No;
    }
    default:
      return Handled::No;
  }
}

// DEALLOCATE outside a transaction needs no server: the client's view is all
// there is to change.
ClientSession::Handled ClientSession::deallocate_between_transactions(ForwardRun& run, size_t total) {
  if (total > kMaxStatementCommand) return Handled::No;
  if (run.available() < total) return Handled::NeedMore;
  std::string name;
  prepared::SqlCommand cmd =
      prepared::classify_query(run.rest().substr(proto::kHeaderSize, total - proto::kHeaderSize), name);
  std::string out;
  if (cmd == prepared::SqlCommand::Deallocate) {
    auto it = statements_.find(name);
    if (it == statements_.end()) return Handled::No;
    statements_.erase(it);
    proto::write_command_complete(out, "DEALLOCATE");
  } else if (cmd == prepared::SqlCommand::DeallocateAll) {
    statements_.clear();
    proto::write_command_complete(out, "DEALLOCATE ALL");
  } else {
    return Handled::No;
  }
  proto::write_ready_for_query(out, 'I');
  run.skip_up_to(server_, total);
  send(out);
  return Handled::Yes;
}

bool ClientSession::refuses_listen() const {
  return pool_ != nullptr && worker_.pool_mode_of(*pool_) == config::PoolMode::Transaction;
}

ClientSession::Handled ClientSession::refuse_listen(ForwardRun& run, char type, size_t total) {
  if (total > kMaxInspectedQuery) return Handled::No;
  if (run.available() < total) return Handled::NeedMore;
  std::string_view body = run.rest().substr(proto::kHeaderSize, total - proto::kHeaderSize);
  std::string_view name, content;
  if (type == fe::kQuery) {
    if (!sql::some_statement_starts_with(body, "LISTEN")) return Handled::No;
  } else if (!prepared::split_parse(body, name, content) || !listens(content)) {
    return Handled::No;
  }
  run.drop(server_, total);
  run.insert(server_, [&](std::string& out) {
    if (type == fe::kQuery) {
      proto::write_query(out, kRefusedListen);
    } else {
      prepared::write_parse(out, name, refused_listen_content());
    }
  });
  server_->note_client_message(type);
  return Handled::Yes;
}

}  // namespace pgs
