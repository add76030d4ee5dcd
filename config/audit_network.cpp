// The consistency checks of `pgsluice --check` that concern addresses: pool
// sizes against each database server (assumed defaults, or --online facts),
// the listeners against each other and the servers, and what a listener on a
// non-loopback address gives away.
#include "config/audit_internal.h"
#include "config/names.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <string_view>

namespace pgs::config::detail {
namespace {

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

}  // namespace

IpLiteral parse_ip(const std::string& host) {
  IpLiteral ip;
  char text[INET6_ADDRSTRLEN] = {0};
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    inet_ntop(AF_INET, &v4, text, sizeof text);
    ip.family = IpLiteral::V4;
    ip.canonical = text;
    const uint32_t a = ntohl(v4.s_addr);
    ip.wildcard = a == 0;
    ip.loopback = (a >> 24) == 127;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    inet_ntop(AF_INET6, &v6, text, sizeof text);
    ip.canonical = text;
    ip.wildcard = IN6_IS_ADDR_UNSPECIFIED(&v6);
    ip.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
    ip.family = IN6_IS_ADDR_V4MAPPED(&v6) ? IpLiteral::V4Mapped : IpLiteral::V6;
  }
  return ip;
}

std::pair<std::string, uint64_t> Auditor::pools_of(const ServerTarget& t) const {
  std::string list;
  uint64_t total = 0;
  for (const std::string& name : t.databases) {
    uint32_t size = c_.databases.at(name).pool_size;
    total += size;
    list += (list.empty() ? "" : ", ") + database_section(name) + " " + std::to_string(size);
  }
  return {list, total};
}

std::string Auditor::sections(const ServerTarget& t) {
  std::string list;
  for (const std::string& name : t.databases) list += (list.empty() ? "" : ", ") + database_section(name);
  return list;
}

const std::string& Auditor::largest_pool(const ServerTarget& t) const {
  const std::string* largest = &t.databases.front();
  for (const std::string& name : t.databases)
    if (c_.databases.at(name).pool_size > c_.databases.at(*largest).pool_size) largest = &name;
  return *largest;
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
            std::to_string(total) + " of the " + std::to_string(allowed) + " connections the server allows (" +
            how + ")");
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

}  // namespace pgs::config::detail
