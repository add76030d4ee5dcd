#include "proxy/admin/admin_connection.h"

#include <algorithm>

#include "protocol/startup.h"
#include "proxy/admin/console_command.h"
#include "proxy/admin/dashboard.h"
#include "proxy/admin/http.h"
#include "proxy/admin/metrics.h"
#include "proxy/admin/result_set.h"
#include "proxy/admin/show.h"
#include "proxy/admin/status_json.h"
#include "proxy/log.h"
#include "proxy/message_cursor.h"
#include "proxy/version.h"
#include "proxy/worker.h"

namespace pgs {

namespace fe = proto::fe;

namespace {

constexpr uint32_t kMaxConsoleMessage = 64 * 1024;

bool listed(const std::vector<std::string>& names, std::string_view user) {
  return std::find(names.begin(), names.end(), user) != names.end();
}

proto::ErrorFields error_fields(const char* severity, std::string_view sqlstate, std::string message,
                                std::string hint = {}) {
  proto::ErrorFields e;
  e.severity = severity;
  e.sqlstate = std::string(sqlstate);
  e.message = std::move(message);
  e.hint = std::move(hint);
  return e;
}

}  // namespace

AdminConnection::AdminConnection(Worker& worker, uint64_t id)
    : Peer(worker), id_(id), framer_(kMaxConsoleMessage) {}

void AdminConnection::start(uint64_t now_ms) {
  last_activity_ms_ = now_ms;
  uv_tcp_nodelay(tcp(), 1);
  start_reading();
}

size_t AdminConnection::on_input(std::string_view in) {
  last_activity_ms_ = worker_.now_ms();
  size_t used = 0;
  while (used < in.size() && !closing()) {
    size_t n = 0;
    switch (state_) {
      case State::Sniff:
        switch (admin::sniff_protocol(in.substr(used))) {
          case admin::Sniff::NeedMore: return used;
          case admin::Sniff::Http: state_ = State::Http; break;
          case admin::Sniff::Postgres: state_ = State::Startup; break;
        }
        continue;
      case State::Startup: n = startup_input(in.substr(used)); break;
      case State::Auth: n = auth_input(in.substr(used)); break;
      case State::Ready: n = console_input(in.substr(used)); break;
      case State::Http: n = http_input(in.substr(used)); break;
    }
    if (n == 0) break;
    used += n;
  }
  return used;
}

void AdminConnection::on_disconnect(int) { close(); }

void AdminConnection::on_closed() { worker_.admin_closed(this); }

void AdminConnection::fatal(const char* sqlstate, const std::string& message, const std::string& hint) {
  std::string out;
  proto::write_error(out, error_fields("FATAL", sqlstate, message, hint));
  send(out);
  close_after_flush();
}

void AdminConnection::terminate(const char* sqlstate, const std::string& message) {
  if (state_ == State::Http || state_ == State::Sniff) {
    close();
    return;
  }
  fatal(sqlstate, message);
}

// ---- PostgreSQL: startup and authentication ----

size_t AdminConnection::startup_input(std::string_view in) {
  proto::StartupFrame f = proto::peek_startup(in);
  if (f.status == proto::FrameStatus::NeedMore) return 0;
  if (f.status == proto::FrameStatus::Invalid || in.size() >= f.length) {
    proto::StartupPacket p;
    std::string error = f.error;
    if (f.status == proto::FrameStatus::Invalid || !proto::parse_startup(in.substr(0, f.length), p, error)) {
      fatal("08P01", "invalid startup packet: " + error);
      return in.size();
    }
    switch (p.kind) {
      case proto::StartupKind::SslRequest:
      case proto::StartupKind::GssEncRequest:
        send("N");
        return f.length;
      case proto::StartupKind::Cancel:
        close();  // nothing on the console runs long enough to cancel
        return in.size();
      case proto::StartupKind::Startup:
        break;
    }
    const std::string* user = p.param("user");
    const std::string* dbp = p.param("database");
    user_ = user != nullptr ? *user : std::string();
    std::string dbname = (dbp != nullptr && !dbp->empty()) ? *dbp : user_;
    if (dbname != "pgsluice" && dbname != "pgbouncer") {
      fatal("3D000", "database \"" + dbname + "\" does not exist on the admin port",
            "The admin console is database \"pgsluice\" (\"pgbouncer\" also works, for PgBouncer tools).");
      return in.size();
    }
    if ((p.protocol & 0xffff) != 0 || !p.unknown_protocol_options.empty()) {
      std::string out;
      proto::write_negotiate_protocol_version(out, 0, p.unknown_protocol_options);
      send(out);
    }
    auth_ = std::make_unique<ClientAuth>(worker_, user_);
    std::string out;
    ClientAuth::Step step = auth_->begin(out);
    state_ = State::Auth;
    send(out);
    if (step == ClientAuth::Step::Done) logged_in_now();
    return f.length;
  }
  return 0;
}

size_t AdminConnection::auth_input(std::string_view in) {
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
      logged_in_now();
      return used;
    case ClientAuth::Step::Failed:
      LOG_INFO("admin console: password authentication failed for user \"%s\"", user_.c_str());
      fatal("28P01", "password authentication failed for user \"" + user_ + "\"");
      return in.size();
    case ClientAuth::Step::Invalid:
      fatal(auth_->sqlstate(), auth_->error());
      return in.size();
  }
  return in.size();
}

void AdminConnection::logged_in_now() {
  auth_.reset();
  const config::AdminSettings& a = worker_.config().admin;
  may_control_ = listed(a.users, user_);
  if (!may_control_ && !listed(a.stats_users, user_)) {
    LOG_INFO("admin console: user \"%s\" is not an admin or stats user", user_.c_str());
    fatal("28000", "user \"" + user_ + "\" may not use the pgsluice admin console",
          "List the user in [admin] users (every command) or stats_users (SHOW only).");
    return;
  }
  std::string out;
  proto::write_auth_ok(out);
  static constexpr std::pair<const char*, const char*> kParams[] = {
      {"server_version", PGSLUICE_VERSION "/pgsluice"},
      {"server_encoding", "UTF8"},
      {"client_encoding", "UTF8"},
      {"DateStyle", "ISO"},
      {"TimeZone", "UTC"},
      {"integer_datetimes", "on"},
      {"standard_conforming_strings", "on"},
      {"application_name", ""},
  };
  for (const auto& [name, value] : kParams) proto::write_parameter_status(out, name, value);
  proto::write_backend_key_data(out, 0, 0);
  proto::write_ready_for_query(out, 'I');
  send(out);
  state_ = State::Ready;
  LOG_INFO("admin console: user \"%s\" logged in (%s)", user_.c_str(), may_control_ ? "admin" : "stats");
}

// ---- PostgreSQL: the console ----

size_t AdminConnection::console_input(std::string_view in) {
  size_t pos = 0;
  char type = 0;
  std::string_view body;
  const char* err = "";
  Next r = next_message(framer_, in, pos, type, body, &err);
  if (r == Next::NeedMore) return 0;
  if (r == Next::Invalid) {
    fatal("08P01", std::string("invalid message: ") + err);
    return in.size();
  }
  std::string out;
  if (discard_until_sync_) {
    if (type == fe::kSync) {
      discard_until_sync_ = false;
      proto::write_ready_for_query(out, 'I');
      send(out);
    }
    return pos;
  }
  switch (type) {
    case fe::kQuery: {
      std::string_view sql = body;
      if (!sql.empty() && sql.back() == '\0') sql.remove_suffix(1);
      execute(sql);
      proto::write_ready_for_query(out, 'I');
      send(out);
      return pos;
    }
    case fe::kTerminate:
      close();
      return in.size();
    case fe::kSync:
      proto::write_ready_for_query(out, 'I');
      send(out);
      return pos;
    case fe::kFlush:
      return pos;
    default:
      send_error(error_fields("ERROR", "0A000",
                              "the pgsluice admin console accepts only the simple query protocol",
                              "Send commands as plain queries, e.g. psql -c 'SHOW POOLS'."));
      discard_until_sync_ = true;
      return pos;
  }
}

void AdminConnection::send_error(const proto::ErrorFields& e) {
  std::string out;
  proto::write_error(out, e);
  send(out);
}

void AdminConnection::execute(std::string_view sql) {
  admin::ParsedCommand parsed = admin::parse_command(sql);
  if (!parsed.ok) {
    send_error(parsed.error);
    return;
  }
  const admin::ConsoleCommand& c = parsed.command;
  std::string out;
  if (c.kind == admin::CommandKind::Empty) {
    proto::write_empty_query_response(out);
    send(out);
    return;
  }
  if (c.kind == admin::CommandKind::Show) {
    admin::Status status = worker_.collect_status(true);
    admin::ResultSet rs;
    admin::ErrorInfo err;
    if (!admin::show(status, c.topic, rs, err)) {
      send_error(err);
      return;
    }
    send(admin::encode(rs));
    return;
  }
  if (!may_control_) {
    send_error(error_fields("ERROR", "42501", "user \"" + user_ + "\" may only run SHOW commands",
                            "Control commands need a user listed in [admin] users."));
    return;
  }
  std::string message;
  bool ok = false;
  std::string tag;
  switch (c.kind) {
    case admin::CommandKind::Pause: ok = worker_.pause(c.database, message); tag = "PAUSE"; break;
    case admin::CommandKind::Resume: ok = worker_.resume(c.database, message); tag = "RESUME"; break;
    case admin::CommandKind::Reload: ok = worker_.reload(message); tag = "RELOAD"; break;
    case admin::CommandKind::Set: ok = worker_.set_setting(c.key, c.value, message); tag = "SET"; break;
    case admin::CommandKind::KillClient: ok = worker_.kill_client(c.client_id, message); tag = "KILL_CLIENT"; break;
    case admin::CommandKind::Shutdown:
      LOG_INFO("admin console: SHUTDOWN by user \"%s\": draining", user_.c_str());
      proto::write_command_complete(out, "SHUTDOWN");
      send(out);
      worker_.begin_drain();
      return;
    case admin::CommandKind::Empty:
    case admin::CommandKind::Show:
      return;
  }
  if (!ok) {
    // Refusals name what was wrong; the sqlstate says whose fault it was.
    const char* sqlstate = c.kind == admin::CommandKind::Set      ? "22023"
                           : c.kind == admin::CommandKind::Reload ? "F0000"
                                                                  : "42704";
    send_error(error_fields("ERROR", sqlstate, message));
    return;
  }
  LOG_INFO("admin console: user \"%s\": %s", user_.c_str(), message.c_str());
  if (!message.empty()) {
    proto::ErrorFields n = error_fields("NOTICE", "00000", message);
    proto::write_notice(out, n);
  }
  proto::write_command_complete(out, tag);
  send(out);
}

// ---- HTTP ----

size_t AdminConnection::http_input(std::string_view in) {
  admin::HttpRequest req;
  size_t used = 0;
  std::string error;
  switch (admin::parse_http_request(in, req, used, error)) {
    case admin::HttpParse::NeedMore:
      return 0;
    case admin::HttpParse::Bad:
      send(admin::http_response(400, "text/plain; charset=utf-8", "bad request: " + error + "\n", false));
      close_after_flush();
      return in.size();
    case admin::HttpParse::TooLarge:
      send(admin::http_response(431, "text/plain; charset=utf-8", error + "\n", false));
      close_after_flush();
      return in.size();
    case admin::HttpParse::Ok:
      break;
  }
  serve_http(req.method, req.path, req.authorization, req.keep_alive);
  if (!req.keep_alive) close_after_flush();
  return used;
}

void AdminConnection::serve_http(const std::string& method, const std::string& path,
                                 const std::string& authorization, bool keep_alive) {
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    send(admin::http_response(405, "text/plain; charset=utf-8", "only GET and HEAD are served\n", keep_alive,
                              false, "Allow: GET, HEAD\r\n"));
    return;
  }
  const config::AdminSettings& a = worker_.config().admin;
  if (!a.http_user.empty() && !admin::basic_auth_matches(authorization, a.http_user, a.http_password)) {
    send(admin::http_response(401, "text/plain; charset=utf-8", "authentication required\n", keep_alive, head,
                              "WWW-Authenticate: Basic realm=\"pgsluice\", charset=\"UTF-8\"\r\n"));
    return;
  }
  if (path == "/metrics") {
    admin::Status s = worker_.collect_status(false);
    send(admin::http_response(200, "text/plain; version=0.0.4; charset=utf-8", admin::prometheus_text(s),
                              keep_alive, head));
  } else if (path == "/api/status") {
    admin::Status s = worker_.collect_status(false);
    send(admin::http_response(200, "application/json", admin::status_json(s), keep_alive, head));
  } else if (path == "/" || path == "/index.html") {
    send(admin::http_response(200, "text/html; charset=utf-8",
                              std::string_view(admin::kDashboardHtml, admin::kDashboardHtmlSize), keep_alive, head,
                              "Content-Security-Policy: default-src 'self'; style-src 'self' 'unsafe-inline'; "
                              "script-src 'self' 'unsafe-inline'; img-src 'self' data:\r\n"));
  } else {
    send(admin::http_response(404, "text/plain; charset=utf-8",
                              "not found; this port serves / (dashboard), /metrics and /api/status\n",
                              keep_alive, head));
  }
}

}  // namespace pgs
