// Internal to config/: the Auditor behind audit(), whose checks are split
// between audit.cpp (limits, admission, admin console, session reset) and
// audit_network.cpp (servers, --online facts, listeners, exposure).
#pragma once

#include "config/audit.h"
#include "config/config.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgs::config::detail {

// Dotted keys and section names as the loader records and prints them.
std::string database_key(const std::string& name, std::string_view field = {});
std::string client_key(const std::string& name, std::string_view field = {});
std::string database_section(const std::string& name);
std::string client_section(const std::string& name);
// Host names compare without case.
bool same_text(std::string_view a, std::string_view b);
// "host:port", "[v6]:port"
std::string endpoint_text(std::string_view host, uint16_t port);

// What a host string is as an IP literal.
struct IpLiteral {
  enum Family { None, V4, V6, V4Mapped } family = None;
  std::string canonical;  // as inet_ntop (and so libuv) writes it
  bool wildcard = false;  // 0.0.0.0 or ::
  bool loopback = false;  // 127.0.0.0/8 or ::1
};

IpLiteral parse_ip(const std::string& host);

// Runs every check over one Config and collects the findings.
class Auditor {
 public:
  Auditor(const Config& c, const KeyPlaces& places, const std::vector<ServerFacts>* online)
      : c_(c), places_(places), online_(online) {}

  std::vector<Finding> run();  // in file order, those without a place last

 private:
  // Located at the first of `keys` that was written; if none was, at no
  // place and named by the first.
  void add(Severity s, const std::vector<std::string>& keys, std::string message);

  // Whether some key would get a different weight than another: only then
  // does weight decide anything.
  bool weights_differ() const;

  // audit.cpp
  void weights();
  void client_names();
  void queue_timeouts();
  void admission();
  void admin();
  void session_reset();
  // audit_network.cpp
  void server(const ServerTarget& t);
  void server_offline(const ServerTarget& t);
  void server_online(const ServerTarget& t, const ServerFacts& f);
  void listeners();
  void exposure();

  // "[databases.a] 60, [databases.b] 50" and their sum.
  std::pair<std::string, uint64_t> pools_of(const ServerTarget& t) const;
  // "[databases.a], [databases.b]"
  static std::string sections(const ServerTarget& t);
  // The database with the largest pool on `t`.
  const std::string& largest_pool(const ServerTarget& t) const;

  const Config& c_;
  const KeyPlaces& places_;
  const std::vector<ServerFacts>* online_;
  std::vector<Finding> out_;
};

}  // namespace pgs::config::detail
