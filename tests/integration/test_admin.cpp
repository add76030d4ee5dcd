// The admin console and HTTP on [proxy] admin_listen, through real clients:
// psql runs every SHOW and control command, PgBouncer-compatible result sets
// carry PgBouncer 1.21's columns in its order, SET changes behaviour at once,
// a bad RELOAD is refused, /metrics parses with the Prometheus client
// library's own parser and /api/status with a JSON parser.
#include <sys/wait.h>

#include <atomic>
#include <set>
#include <thread>

#include "harness.h"

namespace pgs::it {
namespace {

std::string psql_path() {
  std::string d = pg_bindir();
  return d.empty() ? "psql" : d + "/psql";
}

// Users: bench is an admin, app1 may only SHOW.
ConfigBuilder admin_config(const std::string& extra_limits = "") {
  ConfigBuilder cfg;
  cfg.proxy_lines.push_back("admin_listen = \"127.0.0.1:@ADMIN_PORT@\"");
  cfg.extra = "[limits]\nclient_key = \"user\"\n" + extra_limits +
              "[admin]\nusers = [\"bench\"]\nstats_users = [\"app1\"]\n";
  return cfg;
}

class Admin : public ProxyTest {
 protected:
  // psql -At (unaligned, tuples only unless `headers`) against the console.
  CommandResult console(const std::string& sql, const std::string& user = "bench", bool headers = false) {
    std::string password = user == "bench" ? "bench" : "app";
    std::vector<std::string> argv = {psql_path(), "-X", "-h", "127.0.0.1", "-p",
                                     std::to_string(proxy()->admin_port()), "-U", user, "-d", "pgsluice",
                                     "-v", "ON_ERROR_STOP=1", "-A", "-F", "|", "-c", sql};
    if (!headers) argv.insert(argv.begin() + 1, "-t");
    return run_command(argv, 30s, {"PGPASSWORD=" + password, "PGCONNECT_TIMEOUT=10"});
  }

  // The header line of SHOW `topic`, split at '|'.
  std::vector<std::string> columns(const std::string& topic) {
    CommandResult r = console("SHOW " + topic, "bench", true);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::string first = r.output.substr(0, r.output.find('\n'));
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
      size_t bar = first.find('|', start);
      out.push_back(first.substr(start, bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    return out;
  }

  // One HTTP request over a raw socket; the whole response.
  std::string http_get(const std::string& path, const std::string& extra_headers = "") {
    RawSocket s;
    if (!s.connect("127.0.0.1", proxy()->admin_port())) return "";
    s.send_all("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers + "\r\n");
    return s.read_until_close(10s, 8 << 20).bytes;
  }
};

using Cols = std::vector<std::string>;

TEST_F(Admin, PgBouncerCompatibleResultSetsHaveItsColumnsInItsOrder) {
  ASSERT_TRUE(start_proxy(admin_config()));
  auto c = connect_bench();  // something to show
  ASSERT_TRUE(c);
  ASSERT_TRUE(exec_ok(c.get(), "SELECT 1"));
  // PgBouncer 1.21, doc/usage.md.
  EXPECT_EQ(columns("POOLS"),
            (Cols{"database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req", "cl_waiting_cancel_req",
                  "sv_active", "sv_active_cancel", "sv_being_canceled", "sv_idle", "sv_used", "sv_tested",
                  "sv_login", "maxwait", "maxwait_us", "pool_mode"}));
  EXPECT_EQ(columns("STATS"),
            (Cols{"database", "total_xact_count", "total_query_count", "total_received", "total_sent",
                  "total_xact_time", "total_query_time", "total_wait_time", "avg_xact_count", "avg_query_count",
                  "avg_recv", "avg_sent", "avg_xact_time", "avg_query_time", "avg_wait_time"}));
  EXPECT_EQ(columns("STATS_TOTALS"), (Cols{"database", "xact_count", "query_count", "bytes_received",
                                           "bytes_sent", "xact_time", "query_time", "wait_time"}));
  EXPECT_EQ(columns("DATABASES"),
            (Cols{"name", "host", "port", "database", "force_user", "pool_size", "min_pool_size", "reserve_pool",
                  "pool_mode", "max_connections", "current_connections", "paused", "disabled"}));
  Cols conn{"type",       "user",         "database", "state",      "addr", "port", "local_addr",
            "local_port", "connect_time", "request_time", "wait", "wait_us", "close_needed", "ptr",
            "link",       "remote_pid",   "tls",      "application_name", "prepared_statements"};
  EXPECT_EQ(columns("CLIENTS"), conn);
  EXPECT_EQ(columns("SERVERS"), conn);
  EXPECT_EQ(columns("STATS_AVERAGES"), (Cols{"database", "xact_count", "query_count", "bytes_received",
                                             "bytes_sent", "xact_time", "query_time", "wait_time"}));
  EXPECT_EQ(columns("TOTALS"), (Cols{"name", "value"}));
  EXPECT_EQ(columns("CONFIG"), (Cols{"key", "value", "default", "changeable"}));
  EXPECT_EQ(columns("LISTS"), (Cols{"list", "items"}));
  EXPECT_EQ(columns("USERS"), (Cols{"name", "pool_mode"}));
  EXPECT_EQ(columns("VERSION"), (Cols{"version"}));

  // Values: the client above is in the pool, and the version names pgsluice.
  CommandResult pools = console("SHOW POOLS");
  EXPECT_NE(pools.output.find("bench|bench|"), std::string::npos) << pools.output;
  CommandResult version = console("SHOW VERSION");
  EXPECT_EQ(version.output.rfind("pgsluice ", 0), 0u) << version.output;
  CommandResult clients = console("SHOW CLIENTS");
  EXPECT_NE(clients.output.find("C|bench|bench|"), std::string::npos) << clients.output;
  CommandResult lists = console("SHOW LISTS");
  EXPECT_NE(lists.output.find("used_clients|1"), std::string::npos) << lists.output;
  // Traffic counters: the five statements above are five transactions and
  // five round trips (psql's own console session is not counted: it is not a client).
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(exec_ok(c.get(), "SELECT 1"));
  CommandResult totals = console("SHOW STATS_TOTALS");
  ASSERT_EQ(totals.exit_code, 0) << totals.output;
  EXPECT_EQ(totals.output.rfind("bench|5|5|", 0), 0u) << totals.output;
  CommandResult help = console("SHOW HELP");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  EXPECT_NE(help.output.find("SHOW"), std::string::npos) << help.output;
}

TEST_F(Admin, OwnShowCommandsReportAdmissionKeysAndAlerts) {
  ASSERT_TRUE(start_proxy(admin_config("max_concurrency = 3\n")));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(exec_ok(c.get(), "SELECT 1"));
  CommandResult adm = console("SHOW ADMISSION", "bench", true);
  ASSERT_EQ(adm.exit_code, 0) << adm.output;
  EXPECT_EQ(adm.output.rfind("database|mode|limit|running|queued|requests|admitted|", 0), 0u) << adm.output;
  EXPECT_NE(adm.output.find("\nbench|off|"), std::string::npos) << adm.output;
  CommandResult keys = console("SHOW CLIENT_KEYS", "bench", true);
  ASSERT_EQ(keys.exit_code, 0) << keys.output;
  EXPECT_EQ(keys.output.rfind("database|key|connections|running|queued|limit|weight|", 0), 0u) << keys.output;
  // Key "bench" (client_key = user): one connection, limit 3, 5 admitted.
  EXPECT_NE(keys.output.find("\nbench|bench|1|0|0|3|1|"), std::string::npos) << keys.output;
  CommandResult alerts = console("SHOW ALERTS", "bench", true);
  ASSERT_EQ(alerts.exit_code, 0) << alerts.output;
  EXPECT_EQ(alerts.output.rfind("kind|database|key|active|", 0), 0u) << alerts.output;
}

TEST_F(Admin, StatsUsersMayOnlyShowAndOthersMayNotLogIn) {
  ASSERT_TRUE(start_proxy(admin_config()));
  CommandResult show = console("SHOW POOLS", "app1");
  EXPECT_EQ(show.exit_code, 0) << show.output;
  CommandResult pause = console("PAUSE", "app1");
  EXPECT_NE(pause.exit_code, 0);
  EXPECT_NE(pause.output.find("may only run SHOW"), std::string::npos) << pause.output;
  // A known user that is neither: refused after a correct password.
  auto r = try_connect(make_conninfo("127.0.0.1", proxy()->admin_port(), "app1", "wrong", "pgsluice"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.sqlstate, "28P01") << r.error;
  auto d = try_connect(make_conninfo("127.0.0.1", proxy()->admin_port(), "bench", "bench", "bench"));
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.sqlstate, "3D000") << d.error;
}

TEST_F(Admin, UnknownCommandsAndBadArgumentsSayWhatIsAccepted) {
  ASSERT_TRUE(start_proxy(admin_config()));
  auto c = connect_or_fail(make_conninfo("127.0.0.1", proxy()->admin_port(), "bench", "bench", "pgsluice"));
  ASSERT_TRUE(c);
  for (const char* sql : {"SELECT 1", "SHOW NOSUCHTHING", "KILL_CLIENT abc", "SET nosuch.key = 3",
                          "SET limits.max_concurrency = -1", "PAUSE nosuchdb"}) {
    Result r = exec(c.get(), sql, 10s, true);
    ASSERT_TRUE(r) << sql;
    EXPECT_EQ(PQresultStatus(r.get()), PGRES_FATAL_ERROR) << sql;
    std::string text = result_message(r.get());
    const char* hint = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_HINT);
    if (hint != nullptr) text += std::string(" HINT: ") + hint;
    EXPECT_FALSE(text.empty()) << sql;
    if (std::string(sql) == "SELECT 1" || std::string(sql) == "SHOW NOSUCHTHING") {
      EXPECT_NE(text.find("SHOW"), std::string::npos) << sql << ": " << text;
    }
    if (std::string(sql) == "SET limits.max_concurrency = -1") {
      EXPECT_NE(text.find("0..10000"), std::string::npos) << text;
    }
    // The session goes on after every error.
    EXPECT_EQ(PQstatus(c.get()), CONNECTION_OK);
  }
  EXPECT_EQ(query_value(c.get(), "SHOW VERSION").rfind("pgsluice", 0), 0u);
}

TEST_F(Admin, SetOfALimitChangesBehaviourAtOnce) {
  ASSERT_TRUE(start_proxy(admin_config("max_queue = 0\n")));
  auto a = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(a.get(), "SELECT 1"));
  EXPECT_EQ(query_value(b.get(), "SELECT 2"), "2");  // no per-key limit yet

  CommandResult set = console("SET limits.max_concurrency = 1");
  ASSERT_EQ(set.exit_code, 0) << set.output;
  Result r = exec(b.get(), "SELECT 3", 10s, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(result_sqlstate(r.get()), "53300") << describe(r.get());
  CommandResult cfg = console("SHOW CONFIG");
  EXPECT_NE(cfg.output.find("limits.max_concurrency|1|0|"), std::string::npos) << cfg.output;

  ASSERT_TRUE(exec_ok(a.get(), "COMMIT"));
  ASSERT_EQ(console("SET limits.max_concurrency = 0").exit_code, 0);
  ASSERT_TRUE(exec_ok(a.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(a.get(), "SELECT 1"));
  EXPECT_EQ(query_value(b.get(), "SELECT 4"), "4");
  ASSERT_TRUE(exec_ok(a.get(), "COMMIT"));
}

TEST_F(Admin, ReloadOfABadFileIsRefusedAndTheOldConfigStays) {
  ConfigBuilder cfg = admin_config("max_concurrency = 7\n");
  ASSERT_TRUE(start_proxy(cfg));
  proxy()->rewrite_config(cfg.render() + "\n[nosuchtable]\n");
  CommandResult r = console("RELOAD");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("refused"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nosuchtable"), std::string::npos) << r.output;
  CommandResult c = console("SHOW CONFIG");
  EXPECT_NE(c.output.find("limits.max_concurrency|7|"), std::string::npos) << c.output;
  auto conn = connect_bench();
  ASSERT_TRUE(conn);
  EXPECT_EQ(query_value(conn.get(), "SELECT 5"), "5");

  // A good file is taken.
  ConfigBuilder good = admin_config("max_concurrency = 9\n");
  proxy()->rewrite_config(good.render());
  ASSERT_EQ(console("RELOAD").exit_code, 0);
  EXPECT_NE(console("SHOW CONFIG").output.find("limits.max_concurrency|9|"), std::string::npos);
}

TEST_F(Admin, PauseHoldsNewTransactionsUntilResume) {
  ASSERT_TRUE(start_proxy(admin_config("queue_timeout_ms = 20000\n")));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  ASSERT_EQ(console("PAUSE bench").exit_code, 0);
  EXPECT_NE(console("SHOW DATABASES").output.find("|1|0\n"), std::string::npos);  // paused 1, disabled 0
  ASSERT_EQ(PQsendQuery(c.get(), "SELECT 6"), 1);
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(PQconsumeInput(c.get()), 1);
  EXPECT_EQ(PQisBusy(c.get()), 1);  // held while paused
  CommandResult waiting = console("SHOW POOLS");
  EXPECT_NE(waiting.output.find("bench|bench|0|1|"), std::string::npos) << waiting.output;
  ASSERT_EQ(console("RESUME bench").exit_code, 0);
  std::string error;
  auto results = collect_results(c.get(), 10s, &error);
  ASSERT_EQ(results.size(), 1u) << error;
  EXPECT_STREQ(PQgetvalue(results[0].get(), 0, 0), "6");
}

TEST_F(Admin, KillClientClosesThatClientOnly) {
  ASSERT_TRUE(start_proxy(admin_config()));
  auto victim = connect_bench("application_name=victim");
  auto bystander = connect_bench("application_name=bystander");
  ASSERT_TRUE(victim && bystander);
  CommandResult clients = console("SHOW CLIENTS");
  // ptr is the client id in hex; KILL_CLIENT takes it as shown.
  std::string ptr;
  size_t line_start = 0;
  while (line_start < clients.output.size()) {
    size_t end = clients.output.find('\n', line_start);
    std::string line = clients.output.substr(line_start, end - line_start);
    if (line.find("|victim|") != std::string::npos) {
      std::vector<std::string> f;
      size_t s = 0;
      while (true) {
        size_t bar = line.find('|', s);
        f.push_back(line.substr(s, bar - s));
        if (bar == std::string::npos) break;
        s = bar + 1;
      }
      ASSERT_GT(f.size(), 13u);
      ptr = f[13];
    }
    if (end == std::string::npos) break;
    line_start = end + 1;
  }
  ASSERT_FALSE(ptr.empty()) << clients.output;
  CommandResult k = console("KILL_CLIENT " + ptr);
  ASSERT_EQ(k.exit_code, 0) << k.output;
  Result r = exec(victim.get(), "SELECT 1", 5s, true);
  EXPECT_NE(PQstatus(victim.get()), CONNECTION_OK);
  EXPECT_EQ(query_value(bystander.get(), "SELECT 7"), "7");
}

TEST_F(Admin, MetricsParseWithThePrometheusParserAndStatusIsJson) {
  ASSERT_TRUE(start_proxy(admin_config()));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(exec_ok(c.get(), "SELECT 1"));
  std::string metrics = http_get("/metrics");
  ASSERT_EQ(metrics.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << metrics.substr(0, 200);
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  std::string body = metrics.substr(metrics.find("\r\n\r\n") + 4);
  std::string path = work_dir() + "/admin_metrics.txt";
  write_file(path, body);
  // The reference parser: python3-prometheus-client (installed by tests/run.sh).
  CommandResult parsed = run_command(
      {"/usr/bin/python3", "-c",
       "import sys\n"
       "from prometheus_client.parser import text_string_to_metric_families\n"
       "fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))\n"
       "names = {f.name for f in fams}\n"
       "need = {'pgsluice_query_latency_seconds', 'pgsluice_up'}\n"
       "missing = need - names\n"
       "assert not missing, missing\n"
       "n = sum(len(f.samples) for f in fams)\n"
       "assert n > 20, n\n"
       "print(len(fams), n)\n",
       path},
      30s);
  EXPECT_EQ(parsed.exit_code, 0) << parsed.output;

  std::string status = http_get("/api/status");
  ASSERT_EQ(status.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  std::string json_path = work_dir() + "/admin_status.json";
  write_file(json_path, status.substr(status.find("\r\n\r\n") + 4));
  CommandResult js = run_command(
      {"/usr/bin/python3", "-c",
       "import json, sys\n"
       "s = json.load(open(sys.argv[1]))\n"
       "db = [d for d in s['databases'] if d['name'] == 'bench'][0]\n"
       "assert db['admission']['admitted'] >= 20, db['admission']\n"
       "assert s['clients']['connections'] == 1, s['clients']\n"
       "print('ok')\n",
       json_path},
      30s);
  EXPECT_EQ(js.exit_code, 0) << js.output;

  std::string page = http_get("/");
  EXPECT_EQ(page.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(page.find("<html"), std::string::npos);
  EXPECT_EQ(http_get("/nope").rfind("HTTP/1.1 404", 0), 0u);
}

// pgsluice_server_logins_total counts new PostgreSQL backends, not the
// reuse of pooled ones: a pool that churns shows up as a rising rate.
TEST_F(Admin, ServerLoginsCountNewBackendsNotReuse) {
  ASSERT_TRUE(start_proxy(admin_config()));
  auto a = connect_bench();
  auto b = connect_bench();
  ASSERT_TRUE(a && b);
  std::set<std::string> backends;
  for (int i = 0; i < 10; ++i) backends.insert(query_value(a.get(), "SELECT pg_backend_pid()"));
  // b holds a transaction open while a runs: that needs a second backend.
  ASSERT_TRUE(exec_ok(b.get(), "BEGIN"));
  backends.insert(query_value(b.get(), "SELECT pg_backend_pid()"));
  backends.insert(query_value(a.get(), "SELECT pg_backend_pid()"));
  ASSERT_TRUE(exec_ok(b.get(), "COMMIT"));
  for (int i = 0; i < 10; ++i) {
    backends.insert(query_value(a.get(), "SELECT pg_backend_pid()"));
    backends.insert(query_value(b.get(), "SELECT pg_backend_pid()"));
  }
  ASSERT_EQ(backends.size(), 2u);
  std::string metrics = http_get("/metrics");
  const size_t family = metrics.find("# TYPE pgsluice_server_logins_total counter\n");
  ASSERT_NE(family, std::string::npos) << metrics.substr(0, 300);
  EXPECT_NE(metrics.find("\npgsluice_server_logins_total{database=\"bench\"} 2\n", family),
            std::string::npos)
      << metrics.substr(family, 300);
}

TEST_F(Admin, HttpBasicAuthWhenConfigured) {
  ConfigBuilder cfg = admin_config();
  cfg.extra += "http_user = \"ops\"\nhttp_password = \"s3cret\"\n";
  ASSERT_TRUE(start_proxy(cfg));
  std::string denied = http_get("/metrics");
  EXPECT_EQ(denied.rfind("HTTP/1.1 401", 0), 0u) << denied.substr(0, 100);
  EXPECT_NE(denied.find("WWW-Authenticate: Basic"), std::string::npos);
  // "ops:s3cret" in base64.
  std::string ok = http_get("/metrics", "Authorization: Basic b3BzOnMzY3JldA==\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok.substr(0, 100);
}

TEST_F(Admin, ShutdownDrainsAndExits) {
  ASSERT_TRUE(start_proxy(admin_config()));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  ASSERT_TRUE(exec_ok(c.get(), "BEGIN"));
  ASSERT_TRUE(exec_ok(c.get(), "SELECT 1"));
  proxy()->expect_exit();
  CommandResult r = console("SHUTDOWN");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Draining: the open transaction may finish, then the process exits 0.
  EXPECT_TRUE(exec_ok(c.get(), "COMMIT"));
  auto status = proxy()->wait_exit(15s);
  ASSERT_TRUE(status.has_value()) << "pgsluice still running after SHUTDOWN";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);
}

// A load one key dominates raises a skew alert (SHOW ALERTS, /metrics) and
// it clears when the load stops; even load from the same keys never does.
TEST_F(Admin, SkewAlertFiresForOneHotKeyAndNotForEvenLoad) {
  ConfigBuilder cfg;
  cfg.pool_size = 8;
  cfg.proxy_lines.push_back("admin_listen = \"127.0.0.1:@ADMIN_PORT@\"");
  cfg.extra = "[limits]\nclient_key = \"application_name\"\n"
              "[admin]\nusers = [\"bench\"]\n"
              "[alerts]\nskew_factor = 2.0\nskew_for_ms = 2000\nskew_min_rate = 20\n";
  ASSERT_TRUE(start_proxy(cfg));

  // Each worker: one connection with its own application_name, SELECT 1 in
  // a loop with `pause` between queries, until told to stop (bounded).
  std::atomic<bool> hot{false};
  std::atomic<bool> stop{false};
  auto worker = [&](std::string app, bool hot_capable) {
    auto c = connect_bench("application_name=" + app);
    if (!c) return;
    auto deadline = Clock::now() + 60s;
    for (int i = 0; i < 200000 && !stop && Clock::now() < deadline; ++i) {
      if (hot_capable && !hot) {  // k1's extra connections wait for the skewed phase
        std::this_thread::sleep_for(20ms);
        continue;
      }
      if (!exec_ok(c.get(), "SELECT 1")) return;
      if (!hot_capable) std::this_thread::sleep_for(20ms);
    }
  };
  std::vector<std::thread> threads;
  for (const char* app : {"k1", "k2", "k3", "k4"}) threads.emplace_back(worker, app, false);
  for (int i = 0; i < 3; ++i) threads.emplace_back(worker, "k1", true);  // k1's extra connections

  auto alerts = [&]() { return console("SHOW ALERTS").output; };
  // Even: every key ~ the same rate for a while longer than skew_for_ms.
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(alerts(), "") << "an alert under even load";

  hot = true;
  auto start = Clock::now();
  bool fired = false;
  while (Clock::now() - start < 20s) {
    std::string a = alerts();
    if (a.find("skew|bench|k1|t|") != std::string::npos) {
      fired = true;
      break;
    }
    std::this_thread::sleep_for(250ms);
  }
  auto fired_after = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
  EXPECT_TRUE(fired) << alerts();
  std::printf("skew alert fired %lld ms after the load turned skewed\n", static_cast<long long>(fired_after));
  std::string metrics = http_get("/metrics");
  EXPECT_NE(metrics.find("pgsluice_alert_active{kind=\"skew\",database=\"bench\",key=\"k1\"} 1"),
            std::string::npos);

  stop = true;
  for (auto& t : threads) t.join();
  bool cleared = false;
  start = Clock::now();
  while (Clock::now() - start < 20s) {
    std::string a = alerts();
    if (a.find("skew|bench|k1|f|") != std::string::npos && a.find("|t|") == std::string::npos) {
      cleared = true;
      break;
    }
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_TRUE(cleared) << alerts();
  EXPECT_NE(proxy()->log().find("alert"), std::string::npos);
}

}  // namespace
}  // namespace pgs::it
