// One connection to the admin port. Its first bytes decide what it is:
// an HTTP request (GET /metrics, /api/status, the dashboard) or the
// PostgreSQL protocol (psql, pgbouncer_exporter), for which it runs startup,
// authentication against [admin] users / stats_users, and the console's
// simple-query commands.
//
// Contract: everything it reports comes from Worker::collect_status() and
// every change goes through the Worker's admin operations; it holds no
// pointer into the data path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/framer.h"
#include "protocol/messages.h"
#include "proxy/client_auth.h"
#include "proxy/peer.h"

namespace pgs {

class AdminConnection final : public Peer {
 public:
  AdminConnection(Worker& worker, uint64_t id);
  void start(uint64_t now_ms);

  uint64_t id() const { return id_; }
  uint64_t last_activity_ms() const { return last_activity_ms_; }
  bool logged_in() const { return state_ == State::Ready; }
  bool is_http() const { return state_ == State::Http; }
  // Shutdown or an idle timeout: a FATAL for console sessions, then close.
  void terminate(const char* sqlstate, const std::string& message);

 private:
  enum class State { Sniff, Startup, Auth, Ready, Http };

  size_t on_input(std::string_view input) override;
  void on_disconnect(int status) override;
  void on_closed() override;

  size_t startup_input(std::string_view in);
  size_t auth_input(std::string_view in);
  size_t console_input(std::string_view in);
  size_t http_input(std::string_view in);
  void logged_in_now();
  void execute(std::string_view sql);
  void send_error(const proto::ErrorFields& e);  // ERROR; ReadyForQuery follows the query
  void fatal(const char* sqlstate, const std::string& message, const std::string& hint = {});
  void serve_http(const std::string& method, const std::string& path, const std::string& authorization,
                  bool keep_alive);

  uint64_t id_;
  State state_ = State::Sniff;
  uint64_t last_activity_ms_ = 0;
  proto::Framer framer_;
  std::string user_;
  bool may_control_ = false;  // [admin] users; stats_users may only SHOW
  std::unique_ptr<ClientAuth> auth_;
  bool discard_until_sync_ = false;  // an extended-protocol batch was refused
};

}  // namespace pgs
