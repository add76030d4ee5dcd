// The consistency checks of `pgsluice --check`: one method per concern, each
// adding findings located at the keys it is about. Output (text, JSON) is in
// audit_output.cpp.
#include "config/audit.h"
#include "config/names.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string_view>
#include <utility>

namespace pgs::config {
namespace {

using detail::quoted;
using detail::toml_key;

std::string database_key(const std::string& name, std::string_view field = {}) {
  std::string key = "databases." + toml_key(name);
  if (!field.empty()) key += "." + std::string(field);
  return key;
}

std::string client_key(const std::string& name, std::string_view field = {}) {
  std::string key = "limits.clients." + toml_key(name);
  if (!field.empty()) key += "." + std::string(field);
  return key;
}

std::string database_section(const std::string& name) { return "[databases." + toml_key(name) + "]"; }
std::string client_section(const std::string& name) { return "[limits.clients." + toml_key(name) + "]"; }

bool same_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string endpoint_text(std::string_view host, uint16_t port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

// What a host string is as an IP literal.
struct IpLiteral {
  enum Family { None, V4, V6, V4Mapped } family = None;
  std::string canonical;  // as inet_ntop (and so libuv) writes it
  std::string mapped_v4;  // V4Mapped: the IPv4 part; V4: the address itself
  bool wildcard = false;  // 0.0.0.0 or ::
  bool loopback = false;  // 127.0.0.0/8 or ::1
};

IpLiteral parse_ip(const std::string& host) {
  IpLiteral ip;
  char text[INET6_ADDRSTRLEN] = {0};
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    inet_ntop(AF_INET, &v4, text, sizeof text);
    ip.family = IpLiteral::V4;
    ip.canonical = text;
    ip.mapped_v4 = text;
    const uint32_t a = ntohl(v4.s_addr);
    ip.wildcard = a == 0;
    ip.loopback = (a >> 24) == 127;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    inet_ntop(AF_INET6, &v6, text, sizeof text);
    ip.canonical = text;
    ip.wildcard = IN6_IS_ADDR_UNSPECIFIED(&v6);
    ip.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      ip.family = IpLiteral::V4Mapped;
      inet_ntop(AF_INET, &v6.s6_addr[12], text, sizeof text);
      ip.mapped_v4 = text;
    } else {
      ip.family = IpLiteral::V6;
    }
  }
  return ip;
}

// Whether a listener bound to `wide` also takes connections to `addr`. An
// IPv6 wildcard takes IPv4 too: libuv binds IPv6 sockets dual-stack.
bool takes(const IpLiteral& wide, const IpLiteral& addr) {
  if (wide.canonical == addr.canonical) return true;
  if (!wide.wildcard) return false;
  return wide.family == addr.family || (wide.family == IpLiteral::V6 && addr.family != IpLiteral::None);
}

// Whether listeners on `a` and `b` (both on this host) cannot both bind:
// the same address, or the same port on addresses one of them takes.
bool listeners_clash(const Endpoint& a, const Endpoint& b) {
  if (a.port != b.port) return false;
  if (same_text(a.host, b.host)) return true;
  IpLiteral x = parse_ip(a.host), y = parse_ip(b.host);
  if (x.family == IpLiteral::None || y.family == IpLiteral::None) return false;
  return takes(x, y) || takes(y, x);
}

// Whether a listener on `l` is the server at `server`: the same address, or
// a wildcard that takes the server's loopback address (loopback is surely
// this host; any other address may be another machine).
bool listener_is_server(const Endpoint& l, const Endpoint& server) {
  if (l.port != server.port) return false;
  if (same_text(l.host, server.host)) return true;
  IpLiteral x = parse_ip(l.host), y = parse_ip(server.host);
  if (x.family == IpLiteral::None || y.family == IpLiteral::None) return false;
  return x.canonical == y.canonical || (y.loopback && takes(x, y));
}

class Auditor {
 public:
  Auditor(const Config& c, const KeyPlaces& places, const std::vector<ServerFacts>* online)
      : c_(c), places_(places), online_(online) {}

  std::vector<Finding> run() {
    weights();
    client_names();
    for (const ServerTarget& t : database_servers(c_)) server(t);
    queue_timeouts();
    admission();
    admin();
    listeners();
    exposure();
    session_reset();
    std::stable_sort(out_.begin(), out_.end(), [](const Finding& a, const Finding& b) {
      auto order = [](const Finding& f) {
        return std::pair(f.place.line == 0 ? UINT32_MAX : f.place.line, f.place.column);
      };
      return order(a) < order(b);
    });
    return std::move(out_);
  }

 private:
  bool written(const std::string& key) const { return places_.count(key) != 0; }

  // Located at the first of `keys` that was written; if none was, at no
  // place and named by the first.
  void add(Severity s, const std::vector<std::string>& keys, std::string message) {
    Finding f{s, keys.empty() ? std::string() : keys.front(), {}, std::move(message)};
    for (const std::string& k : keys) {
      auto it = places_.find(k);
      if (it == places_.end()) continue;
      f.key = k;
      f.place = it->second;
      break;
    }
    out_.push_back(std::move(f));
  }

  // Whether some key would get a different weight than another: only then
  // does weight decide anything.
  bool weights_differ() const {
    const LimitsSettings& l = c_.limits;
    return std::any_of(l.clients.begin(), l.clients.end(),
                       [&](const auto& kv) { return kv.second.weight && *kv.second.weight != l.weight; });
  }

  void weights();
  void client_names();
  void server(const ServerTarget& t);
  void server_offline(const ServerTarget& t);
  void server_online(const ServerTarget& t, const ServerFacts& f);
  void queue_timeouts();
  void admission();
  void admin();
  void listeners();
  void exposure();
  void session_reset();

  // "bench 60, other 50" and their sum.
  std::pair<std::string, uint64_t> pools_of(const ServerTarget& t) const {
    std::string list;
    uint64_t total = 0;
    for (const std::string& name : t.databases) {
      uint32_t size = c_.databases.at(name).pool_size;
      total += size;
      list += (list.empty() ? "" : ", ") + database_section(name) + " " + std::to_string(size);
    }
    return {list, total};
  }
  // "[databases.a], [databases.b]"
  static std::string sections(const ServerTarget& t) {
    std::string list;
    for (const std::string& name : t.databases) list += (list.empty() ? "" : ", ") + database_section(name);
    return list;
  }
  // The database with the largest pool on `t`.
  const std::string& largest_pool(const ServerTarget& t) const {
    const std::string* largest = &t.databases.front();
    for (const std::string& name : t.databases)
      if (c_.databases.at(name).pool_size > c_.databases.at(*largest).pool_size) largest = &name;
    return *largest;
  }

  const Config& c_;
  const KeyPlaces& places_;
  const std::vector<ServerFacts>* online_;
  std::vector<Finding> out_;
};

void Auditor::weights() {
  const LimitsSettings& l = c_.limits;
  if (l.client_key == ClientKey::Database) {
    if (!weights_differ()) return;
    std::string first_override;
    for (const auto& [name, o] : l.clients)
      if (o.weight && *o.weight != l.weight && first_override.empty()) first_override = client_key(name, "weight");
    add(Severity::Info, {first_override, "limits.weight"},
        "[limits] client_key is \"database\", so each database has a single key and weight never "
        "decides between keys: it has no effect");
    return;
  }
  // With mode "off" nothing is shared by weight; the mode's own finding says so.
  if (c_.admission.mode == AdmissionMode::Off) return;
  struct Weight {
    uint32_t value;
    std::string key;
    std::string who;
  };
  std::vector<Weight> ws{{l.weight, "limits.weight", "[limits] weight (every key without its own)"}};
  for (const auto& [name, o] : l.clients)
    if (o.weight) ws.push_back({*o.weight, client_key(name, "weight"), "client " + quoted(name)});
  auto [lo, hi] = std::minmax_element(ws.begin(), ws.end(),
                                      [](const Weight& a, const Weight& b) { return a.value < b.value; });
  if (uint64_t{hi->value} <= uint64_t{lo->value} * 100) return;
  add(Severity::Warning, {hi->key, lo->key},
      hi->who + " has weight " + std::to_string(hi->value) + ", more than 100 times the weight " +
          std::to_string(lo->value) + " of " + lo->who + ": while they compete for the database-wide limit, " +
          "the lighter gets " + std::to_string(lo->value) + " of every " + std::to_string(hi->value + lo->value) +
          " slots, so one key can starve the rest");
}

void Auditor::client_names() {
  const LimitsSettings& l = c_.limits;
  const IpLiteral listen = parse_ip(c_.proxy.listen.host);
  const std::string listen_text = endpoint_text(c_.proxy.listen.host, c_.proxy.listen.port);
  for (const auto& [name, o] : l.clients) {
    const std::string where = client_section(name);
    switch (l.client_key) {
      case ClientKey::Address: {
        IpLiteral ip = parse_ip(name);
        std::string never = where + " never matches a client";
        if (ip.family == IpLiteral::None) {
          add(Severity::Warning, {client_key(name)},
              "[limits] client_key is \"address\" but " + quoted(name) + " is not an IP address: " + never);
        } else if (ip.canonical != name) {
          add(Severity::Warning, {client_key(name)},
              "pgsluice writes this address as " + quoted(ip.canonical) + " and compares client keys as text: " +
                  never + "; name it " + quoted(ip.canonical));
        } else if (listen.family == IpLiteral::V4 && ip.family != IpLiteral::V4) {
          add(Severity::Warning, {client_key(name), "proxy.listen"},
              "[proxy] listen " + listen_text + " is an IPv4 address, so every client has an IPv4 address: " + never);
        } else if (listen.family == IpLiteral::V6 && listen.wildcard && ip.family == IpLiteral::V4) {
          add(Severity::Warning, {client_key(name), "proxy.listen"},
              "[proxy] listen " + listen_text + " takes IPv4 clients as IPv4-mapped IPv6 addresses, such as " +
                  quoted("::ffff:" + ip.canonical) + ": " + never + "; name it " + quoted("::ffff:" + ip.canonical));
        } else if (listen.family == IpLiteral::V6 && !listen.wildcard && ip.family != IpLiteral::V6) {
          add(Severity::Warning, {client_key(name), "proxy.listen"},
              "[proxy] listen " + listen_text + " is an IPv6 address, so every client has an IPv6 address: " + never);
        }
        break;
      }
      case ClientKey::User:
        if (c_.auth_method != AuthMethod::Trust && c_.users.count(name) == 0) {
          add(Severity::Warning, {client_key(name)},
              "[limits] client_key is \"user\" but " + quoted(name) +
                  " is not in [users], so nobody logs in as it: " + where + " never matches a client");
        }
        break;
      case ClientKey::Database:
        if (c_.databases.count(name) == 0) {
          add(Severity::Warning, {client_key(name)},
              "[limits] client_key is \"database\" but " + quoted(name) + " is not in [databases], so no client " +
                  "can ask for it: " + where + " never matches a client");
        }
        break;
      case ClientKey::ApplicationName: break;  // any text can be an application_name
    }
  }
}

void Auditor::server(const ServerTarget& t) {
  if (online_ != nullptr) {
    for (const ServerFacts& f : *online_) {
      if (f.port != t.port || !same_text(f.host, t.host)) continue;
      if (f.error.empty()) {
        server_online(t, f);
      } else {
        const std::string& db = t.databases.front();
        add(Severity::Error, {database_key(db, "host"), database_key(db, "port"), "server.host", "server.port"},
            "cannot connect to " + endpoint_text(t.host, t.port) + " (the server of " + sections(t) +
                "), so it was not checked: " + f.error);
      }
      return;
    }
  }
  server_offline(t);
}

void Auditor::server_offline(const ServerTarget& t) {
  constexpr uint32_t kAllowed = kDefaultMaxConnections - kDefaultSuperuserReservedConnections;
  auto [list, total] = pools_of(t);
  if (total <= kAllowed) return;
  const std::string& largest = largest_pool(t);
  add(Severity::Warning, {database_key(largest, "pool_size"), database_key(largest)},
      "the pools on " + endpoint_text(t.host, t.port) + " add up to " + std::to_string(total) + " connections (" +
          list + "), more than the " + std::to_string(kAllowed) + " a PostgreSQL server allows with its defaults " +
          "(max_connections " + std::to_string(kDefaultMaxConnections) + " - superuser_reserved_connections " +
          std::to_string(kDefaultSuperuserReservedConnections) + "; assumed, not read: --online reads them)");
}

void Auditor::server_online(const ServerTarget& t, const ServerFacts& f) {
  const std::string server = endpoint_text(t.host, t.port);
  const std::string as_user = " (as user " + quoted(f.user) + ")";
  uint64_t reserved = uint64_t{f.superuser_reserved_connections} + f.reserved_connections;
  uint64_t allowed = f.max_connections > reserved ? f.max_connections - reserved : 0;
  std::string how = "max_connections " + std::to_string(f.max_connections) + " - superuser_reserved_connections " +
                    std::to_string(f.superuser_reserved_connections);
  if (f.reserved_connections != 0) how += " - reserved_connections " + std::to_string(f.reserved_connections);
  auto [list, total] = pools_of(t);
  const std::string& largest = largest_pool(t);
  const std::vector<std::string> keys = {database_key(largest, "pool_size"), database_key(largest)};
  if (total > allowed) {
    add(Severity::Error, keys,
        "the pools on " + server + " add up to " + std::to_string(total) + " connections (" + list +
            "), more than the " + std::to_string(allowed) + " the server allows (" + how +
            "): at peak, new server connections fail with \"too many clients\"");
  } else {
    add(Severity::Info, keys,
        server + " (PostgreSQL " + f.version + ", as user " + quoted(f.user) + "): the pools add up to " +
            std::to_string(total) + " of the " +
            std::to_string(allowed) + " connections the server allows (" + how + ")");
  }

  if (f.statement_timeout_ms > 0) {
    auto check = [&](uint32_t q, const std::string& key, const std::string& who) {
      if (q < f.statement_timeout_ms) return;
      add(Severity::Warning, {key},
          "queue_timeout_ms " + std::to_string(q) + " in " + who + " is not below statement_timeout " +
              std::to_string(f.statement_timeout_ms) + " ms on " + server + as_user +
              ": a transaction may wait in pgsluice's queue longer than the server lets any statement run");
    };
    check(c_.limits.queue_timeout_ms, "limits.queue_timeout_ms", "[limits]");
    for (const auto& [name, o] : c_.limits.clients)
      if (o.queue_timeout_ms) check(*o.queue_timeout_ms, client_key(name, "queue_timeout_ms"), client_section(name));
  }

  if (f.idle_session_timeout_ms > 0 && f.idle_session_timeout_ms < c_.server.idle_timeout_ms) {
    add(Severity::Warning, {"server.idle_timeout_ms"},
        server + " ends sessions idle for idle_session_timeout " + std::to_string(f.idle_session_timeout_ms) +
            " ms" + as_user + ", before [server] idle_timeout_ms " + std::to_string(c_.server.idle_timeout_ms) +
            ": the server closes idle pooled connections itself, which fails a transaction that picks one "
            "up just then");
  }

  if (!f.databases.empty()) {
    for (const std::string& name : t.databases) {
      const std::string& dbname = c_.databases.at(name).dbname;
      if (std::find(f.databases.begin(), f.databases.end(), dbname) != f.databases.end()) continue;
      add(Severity::Error, {database_key(name, "dbname"), database_key(name)},
          "database " + quoted(dbname) + " of " + database_section(name) + " does not exist on " + server +
              " (or does not accept connections): every client of it will fail");
    }
  }

  if (!f.roles.empty()) {
    const std::string used = sections(t);
    for (const auto& [user, password] : c_.users) {
      auto role = std::find_if(f.roles.begin(), f.roles.end(),
                               [&](const ServerFacts::Role& r) { return r.name == user; });
      std::string problem;
      if (role == f.roles.end()) {
        problem = "there is no role " + quoted(user) + " on " + server;
      } else if (!role->can_login) {
        problem = "role " + quoted(user) + " on " + server + " cannot log in (NOLOGIN)";
      } else {
        continue;
      }
      add(Severity::Warning, {"users." + toml_key(user)},
          problem + ": pgsluice logs in to the server as the client's user, so " + quoted(user) +
              " cannot use " + used);
    }
  }
}

void Auditor::queue_timeouts() {
  const LimitsSettings& l = c_.limits;
  const uint32_t client = l.client_timeout_ms;
  if (client == 0) return;
  auto check = [&](uint32_t q, const std::string& key, const std::string& who) {
    std::string what = "queue_timeout_ms " + std::to_string(q) + " in " + who;
    std::string against = " client_timeout_ms " + std::to_string(client);
    if (q >= client) {
      add(Severity::Error, {key, "limits.client_timeout_ms"},
          what + " is not below" + against + ": the application gives up before pgsluice answers, turning a " +
              "fast 53300 into a client-side timeout");
    } else if (uint64_t{q} * 2 > client) {
      add(Severity::Warning, {key, "limits.client_timeout_ms"},
          what + " is more than half of" + against + ": a transaction that waited that long has less time " +
              "left to run than it waited, and the application may give up before pgsluice answers; keep it at " +
              "most " + std::to_string(client / 2));
    }
  };
  check(l.queue_timeout_ms, "limits.queue_timeout_ms", "[limits]");
  for (const auto& [name, o] : l.clients)
    if (o.queue_timeout_ms) check(*o.queue_timeout_ms, client_key(name, "queue_timeout_ms"), client_section(name));
}

void Auditor::admission() {
  const AdmissionSettings& a = c_.admission;
  const LimitsSettings& l = c_.limits;
  if (a.mode == AdmissionMode::Off) {
    std::string message =
        "[admission] mode is \"off\": no database-wide limit beyond pool_size; overload protection is per key "
        "only ([limits] max_concurrency, max_queue, queue_timeout_ms)";
    if (weights_differ() && l.client_key != ClientKey::Database)
      message += "; weight takes effect only under a database-wide limit";
    add(Severity::Info, {"admission.mode"}, std::move(message));
  }

  // With max_limit set, the loader already holds every limit to it, and it to every pool_size.
  if (a.max_limit == 0) {
    auto above_pool = [&](uint32_t limit, const std::string& key, const std::string& who, const std::string* only) {
      std::string list;
      for (const auto& [name, db] : c_.databases) {
        if (only != nullptr && name != *only) continue;
        if (db.pool_size < limit)
          list += (list.empty() ? "" : ", ") + database_section(name) + " " + std::to_string(db.pool_size);
      }
      if (list.empty()) return;
      add(Severity::Warning, {key},
          "max_concurrency " + std::to_string(limit) + " in " + who + " is above pool_size of " + list +
              ": a key never runs more transactions there than the pool has connections, so this limit never "
              "applies");
    };
    if (l.max_concurrency > 0) above_pool(l.max_concurrency, "limits.max_concurrency", "[limits]", nullptr);
    for (const auto& [name, o] : l.clients) {
      if (!o.max_concurrency || *o.max_concurrency == 0) continue;
      // A database key only ever exists in its own database.
      const std::string* only = l.client_key == ClientKey::Database ? &name : nullptr;
      above_pool(*o.max_concurrency, client_key(name, "max_concurrency"), client_section(name), only);
    }

    if (a.mode != AdmissionMode::Off) {
      std::string list;
      for (const auto& [name, db] : c_.databases) {
        list += (list.empty() ? "" : ", ") + database_section(name) + " ";
        if (a.mode == AdmissionMode::Adaptive) list += std::to_string(std::min(a.min_limit, db.pool_size)) + "..";
        list += std::to_string(db.pool_size);
      }
      add(Severity::Info, {"admission.max_limit", "admission.mode"},
          a.mode == AdmissionMode::Static
              ? "[admission] max_limit is 0, so the static limit of each database is its pool_size: " + list
              : "[admission] max_limit is 0, so the adaptive limit of each database moves between min_limit and "
                "its pool_size: " + list);
    }
    if (a.mode == AdmissionMode::Adaptive) {
      std::string list;
      for (const auto& [name, db] : c_.databases)
        if (db.pool_size < a.initial_limit)
          list += (list.empty() ? "" : ", ") + database_section(name) + " " + std::to_string(db.pool_size);
      if (!list.empty()) {
        add(Severity::Info, {"admission.initial_limit", "admission.mode"},
            "[admission] initial_limit " + std::to_string(a.initial_limit) + " is above the pool_size of " + list +
                ": the adaptive limit starts at pool_size there");
      }
    }
  }

  if (a.mode == AdmissionMode::Adaptive && a.min_limit == 1) {
    add(Severity::Info, {"admission.min_limit"},
        "[admission] min_limit is 1: the adaptive limit may fall to one transaction at a time per database, and "
        "every 30 s the controller pins it at min_limit for a measured interval to re-learn uncontended latency; "
        "meanwhile one slow transaction holds up the whole database");
  }
}

void Auditor::admin() {
  const AdminSettings& ad = c_.admin;
  if (!c_.proxy.admin_listen) {
    const std::string nothing = ", but [proxy] admin_listen is not set: there is no admin console";
    if (!ad.users.empty())
      add(Severity::Warning, {"admin.users"}, "[admin] users lists console users" + nothing + " to log in to");
    if (!ad.stats_users.empty())
      add(Severity::Warning, {"admin.stats_users"},
          "[admin] stats_users lists console users" + nothing + " to log in to");
    if (!ad.http_user.empty())
      add(Severity::Warning, {"admin.http_user"},
          "[admin] http_user is set" + nothing + " and no HTTP endpoint to protect");
  }
  for (size_t i = 0; i < ad.stats_users.size(); ++i) {
    const std::string& name = ad.stats_users[i];
    if (std::find(ad.users.begin(), ad.users.end(), name) == ad.users.end()) continue;
    add(Severity::Warning, {"admin.stats_users[" + std::to_string(i) + "]", "admin.stats_users"},
        quoted(name) + " is in both users and stats_users of [admin]: as a console user it may already run every " +
            "command, so stats_users grants it nothing");
  }
}

void Auditor::listeners() {
  const Endpoint& listen = c_.proxy.listen;
  const std::string listen_text = endpoint_text(listen.host, listen.port);
  if (const auto& admin = c_.proxy.admin_listen) {
    const std::string admin_text = endpoint_text(admin->host, admin->port);
    if (listeners_clash(listen, *admin)) {
      add(Severity::Error, {"proxy.admin_listen"},
          same_text(listen.host, admin->host)
              ? "[proxy] admin_listen is the same address as listen (" + listen_text + "): only one can listen there"
              : "[proxy] admin_listen " + admin_text + " and listen " + listen_text +
                    " share a port on overlapping addresses: the second cannot listen");
    }
  }
  for (const ServerTarget& t : database_servers(c_)) {
    const Endpoint server{t.host, t.port};
    const std::string where = " the PostgreSQL server of " + database_section(t.databases.front()) + " (" +
                              endpoint_text(t.host, t.port) + ")";
    if (listener_is_server(listen, server)) {
      add(Severity::Error, {"proxy.listen"},
          "[proxy] listen " + listen_text + " is the address of" + where +
              ": pgsluice would connect to itself, or cannot listen while the server holds the port");
    }
    if (c_.proxy.admin_listen && listener_is_server(*c_.proxy.admin_listen, server)) {
      add(Severity::Error, {"proxy.admin_listen"},
          "[proxy] admin_listen " + endpoint_text(c_.proxy.admin_listen->host, c_.proxy.admin_listen->port) +
              " is the address of" + where + ": one of them cannot listen");
    }
  }
}

// What a listener on a non-loopback address gives away. Host names are left
// alone: what they resolve to is not known here (except "localhost").
void Auditor::exposure() {
  auto exposed = [](const Endpoint& e) {
    if (same_text(e.host, "localhost")) return false;
    IpLiteral ip = parse_ip(e.host);
    return ip.family != IpLiteral::None && !ip.loopback;
  };
  const Endpoint& listen = c_.proxy.listen;
  const std::string listen_text = endpoint_text(listen.host, listen.port);
  if (exposed(listen) && c_.auth_method == AuthMethod::Trust) {
    add(Severity::Warning, {"auth.method", "proxy.listen"},
        "[auth] method is \"trust\" and [proxy] listen " + listen_text +
            " is not a loopback address: anyone who can reach it logs in as any user without a password");
  }
  if (exposed(listen) && c_.auth_method == AuthMethod::Password) {
    add(Severity::Warning, {"auth.method", "proxy.listen"},
        "[auth] method is \"password\" and [proxy] listen " + listen_text +
            " is not a loopback address: clients send their passwords there in clear text, and pgsluice does "
            "not offer TLS yet");
  }
  const auto& admin = c_.proxy.admin_listen;
  if (admin && exposed(*admin) && c_.admin.http_user.empty()) {
    add(Severity::Warning, {"proxy.admin_listen"},
        "[proxy] admin_listen " + endpoint_text(admin->host, admin->port) +
            " is not a loopback address and [admin] http_user is not set: its HTTP endpoints (/metrics, "
            "/api/status, the dashboard) answer anyone who can reach it");
  }
}

void Auditor::session_reset() {
  if (!c_.server.reset_query.empty()) return;
  std::string list;
  std::string first;
  for (const auto& [name, db] : c_.databases) {
    if (db.pool_mode != PoolMode::Session) continue;
    list += (list.empty() ? "" : ", ") + database_section(name);
    if (first.empty()) first = database_key(name, "pool_mode");
  }
  if (list.empty()) return;
  add(Severity::Warning, {"server.reset_query", first},
      "[server] reset_query is empty and " + list + " pool in session mode: a client inherits the session " +
          "state of the one before it on the same server connection (settings, temporary tables, prepared " +
          "statements, advisory locks)");
}

}  // namespace

const char* to_string(Severity s) {
  switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Info: return "info";
  }
  return "unknown";
}

std::vector<ServerTarget> database_servers(const Config& c) {
  std::vector<ServerTarget> servers;
  for (const auto& [name, db] : c.databases) {
    auto it = std::find_if(servers.begin(), servers.end(), [&](const ServerTarget& t) {
      return t.port == db.port && same_text(t.host, db.host);
    });
    if (it == servers.end()) it = servers.insert(servers.end(), ServerTarget{db.host, db.port, {}});
    it->databases.push_back(name);
  }
  return servers;
}

std::vector<Finding> audit(const Config& c, const KeyPlaces& places, const std::vector<ServerFacts>* online) {
  return Auditor(c, places, online).run();
}

}  // namespace pgs::config
