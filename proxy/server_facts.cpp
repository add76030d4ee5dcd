#include "proxy/server_facts.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace pgs {
namespace {

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// libpq's messages span lines ("...failed: Connection refused\n\tIs the
// server running..."); a finding is one line.
std::string one_line(const char* message) {
  std::string out;
  bool space = false;
  for (const char* p = message; *p != '\0'; ++p) {
    if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += *p;
  }
  return out;
}

// Connection parameters as pgsluice itself would log in: no TLS, no GSS encryption.
struct Params {
  std::vector<std::string> keys, values;
  std::vector<const char*> key_ptrs, value_ptrs;

  Params(const config::ServerTarget& t, const std::string* user, const std::string* password,
         const std::string* dbname) {
    add("host", t.host);
    add("port", std::to_string(t.port));
    add("connect_timeout", "5");
    add("sslmode", "disable");
    add("gssencmode", "disable");
    add("application_name", "pgsluice --check --online");
    if (user != nullptr) add("user", *user);
    if (password != nullptr) add("password", *password);
    if (dbname != nullptr) add("dbname", *dbname);
    for (size_t i = 0; i < keys.size(); ++i) {
      key_ptrs.push_back(keys[i].c_str());
      value_ptrs.push_back(values[i].c_str());
    }
    key_ptrs.push_back(nullptr);
    value_ptrs.push_back(nullptr);
  }
  void add(const char* k, std::string v) {
    keys.emplace_back(k);
    values.push_back(std::move(v));
  }
};

Result query(PGconn* c, const char* sql, std::string& error) {
  Result r(PQexec(c, sql));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    error = std::string("reading the server's settings failed: ") + one_line(PQerrorMessage(c));
    return nullptr;
  }
  return r;
}

uint64_t number(const char* text) { return std::strtoull(text, nullptr, 10); }

void read_facts(PGconn* c, config::ServerFacts& f) {
  if (const char* v = PQparameterStatus(c, "server_version")) f.version = v;
  // Milliseconds for both timeouts, whatever unit SHOW would print.
  Result settings = query(c,
                          "SELECT name, setting FROM pg_settings WHERE name IN ('max_connections', "
                          "'superuser_reserved_connections', 'reserved_connections', 'statement_timeout', "
                          "'idle_session_timeout')",
                          f.error);
  if (!settings) return;
  for (int i = 0; i < PQntuples(settings.get()); ++i) {
    std::string name = PQgetvalue(settings.get(), i, 0);
    uint64_t v = number(PQgetvalue(settings.get(), i, 1));
    if (name == "max_connections") f.max_connections = static_cast<uint32_t>(v);
    if (name == "superuser_reserved_connections") f.superuser_reserved_connections = static_cast<uint32_t>(v);
    if (name == "reserved_connections") f.reserved_connections = static_cast<uint32_t>(v);
    if (name == "statement_timeout") f.statement_timeout_ms = v;
    if (name == "idle_session_timeout") f.idle_session_timeout_ms = v;
  }
  Result databases = query(c, "SELECT datname FROM pg_database WHERE datallowconn", f.error);
  if (!databases) return;
  for (int i = 0; i < PQntuples(databases.get()); ++i) f.databases.emplace_back(PQgetvalue(databases.get(), i, 0));
  Result roles = query(c, "SELECT rolname, rolcanlogin FROM pg_roles", f.error);
  if (!roles) return;
  for (int i = 0; i < PQntuples(roles.get()); ++i)
    f.roles.push_back({PQgetvalue(roles.get(), i, 0), PQgetvalue(roles.get(), i, 1)[0] == 't'});
}

}  // namespace

config::ServerFacts read_server_facts(const config::Config& c, const config::ServerTarget& target) {
  config::ServerFacts f;
  f.host = target.host;
  f.port = target.port;
  if (c.users.empty()) {
    f.error = "[users] lists no user to log in with";
    return f;
  }
  std::vector<std::string> dbnames;
  for (const std::string& name : target.databases) {
    const std::string& dbname = c.databases.at(name).dbname;
    if (std::find(dbnames.begin(), dbnames.end(), dbname) == dbnames.end()) dbnames.push_back(dbname);
  }
  std::string first_error;
  for (const auto& [user, password] : c.users) {
    for (const std::string& dbname : dbnames) {
      Params p(target, &user, &password, &dbname);
      Conn conn(PQconnectdbParams(p.key_ptrs.data(), p.value_ptrs.data(), 0));
      if (conn && PQstatus(conn.get()) == CONNECTION_OK) {
        f.user = user;
        read_facts(conn.get(), f);
        return f;
      }
      std::string message = conn ? one_line(PQerrorMessage(conn.get())) : "out of memory";
      if (first_error.empty()) first_error = message;
      // A server that does not answer will not answer the next user either.
      Params ping(target, nullptr, nullptr, nullptr);
      if (PQpingParams(ping.key_ptrs.data(), ping.value_ptrs.data(), 0) != PQPING_OK) {
        f.error = message;
        return f;
      }
    }
  }
  f.error = c.users.size() * dbnames.size() == 1
                ? first_error
                : "no user in [users] could log in; the first attempt said: " + first_error;
  return f;
}

}  // namespace pgs
