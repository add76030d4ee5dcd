// The consistency checks of `pgsluice --check` about limits, admission, the
// admin console and session reset, and the Auditor that runs them all (the
// network ones are in audit_network.cpp, output in audit_output.cpp). Each
// check adds findings located at the keys it is about.
#include "config/audit.h"
#include "config/audit_internal.h"
#include "config/names.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <utility>

namespace pgs::config {
namespace detail {

std::string database_key(const std::string& name, std::string_view field) {
  std::string key = "databases." + toml_key(name);
  if (!field.empty()) key += "." + std::string(field);
  return key;
}

std::string client_key(const std::string& name, std::string_view field) {
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

std::vector<Finding> Auditor::run() {
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

void Auditor::add(Severity s, const std::vector<std::string>& keys, std::string message) {
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

bool Auditor::weights_differ() const {
  const LimitsSettings& l = c_.limits;
  return std::any_of(l.clients.begin(), l.clients.end(),
                     [&](const auto& kv) { return kv.second.weight && *kv.second.weight != l.weight; });
}

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

}  // namespace detail

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
      return t.port == db.port && detail::same_text(t.host, db.host);
    });
    if (it == servers.end()) it = servers.insert(servers.end(), ServerTarget{db.host, db.port, {}});
    it->databases.push_back(name);
  }
  return servers;
}

std::vector<Finding> audit(const Config& c, const KeyPlaces& places, const std::vector<ServerFacts>* online) {
  return detail::Auditor(c, places, online).run();
}

}  // namespace pgs::config
