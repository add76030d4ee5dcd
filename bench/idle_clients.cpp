// idle_clients: opens N PostgreSQL client connections at a bounded rate,
// holds them idle for a while, then reports how many succeeded and how many
// were still alive. Used by pgbench_compare.sh to measure a proxy's memory
// per idle client.
//
// Connections are made with libpq's non-blocking API (PQconnectStartParams +
// PQconnectPoll) driven by poll(), so one thread can have thousands of logins
// in flight. The number of logins in flight and the rate of new ones are both
// capped so the proxy is not measured under a connection storm.
//
// Output (stdout, one line each, flushed):
//   READY connected=C failed=F seconds=S        once every attempt has finished
//   RESULT attempted=N connected=C failed=F alive=A checked=K check_failed=X
// Exit status 0 if every attempt connected and stayed alive, 1 otherwise,
// 2 for bad arguments.

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "6432";
  std::string user = "bench";
  std::string password = "bench";
  std::string dbname = "bench";
  int count = 1000;               // connections to open
  double rate = 500;              // new connection attempts per second
  int max_in_flight = 200;        // logins in progress at once
  double hold_seconds = 10;       // how long to keep them once all attempts are done
  double connect_timeout_s = 30;  // per attempt
  int check = 10;                 // run SELECT 1 on this many connections at the end
};

enum class State { NotStarted, Connecting, Connected, Failed };

struct Client {
  PGconn* conn = nullptr;
  State state = State::NotStarted;
  PostgresPollingStatusType want = PGRES_POLLING_WRITING;
  Clock::time_point started;
};

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--host H] [--port P] [--user U] [--password PW] [--dbname D]\n"
               "          [-n COUNT] [--rate PER_SECOND] [--in-flight N] [--hold SECONDS]\n"
               "          [--connect-timeout SECONDS] [--check K]\n",
               argv0);
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") return false;
    if (i + 1 >= argc) {
      std::fprintf(stderr, "missing value for %s\n", a.c_str());
      return false;
    }
    const char* v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = v;
    else if (a == "--user") o.user = v;
    else if (a == "--password") o.password = v;
    else if (a == "--dbname") o.dbname = v;
    else if (a == "-n" || a == "--count") o.count = std::atoi(v);
    else if (a == "--rate") o.rate = std::atof(v);
    else if (a == "--in-flight") o.max_in_flight = std::atoi(v);
    else if (a == "--hold") o.hold_seconds = std::atof(v);
    else if (a == "--connect-timeout") o.connect_timeout_s = std::atof(v);
    else if (a == "--check") o.check = std::atoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
  }
  if (o.count <= 0 || o.rate <= 0 || o.max_in_flight <= 0 || o.hold_seconds < 0) {
    std::fprintf(stderr, "count, rate and in-flight must be positive, hold not negative\n");
    return false;
  }
  return true;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class Runner {
 public:
  explicit Runner(const Options& o) : opt_(o), clients_(static_cast<size_t>(o.count)) {}
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  ~Runner() {
    for (auto& c : clients_)
      if (c.conn != nullptr) PQfinish(c.conn);
  }

  // Opens every connection; returns when each attempt has succeeded or failed.
  void connect_all() {
    const auto begin = Clock::now();
    size_t next = 0;
    int in_flight = 0;
    std::vector<pollfd> fds;
    std::vector<size_t> owners;
    while (!g_stop && (next < clients_.size() || in_flight > 0)) {
      // Start new attempts, limited by the rate and the in-flight cap.
      const auto allowed = static_cast<size_t>(seconds_since(begin) * opt_.rate) + 1;
      while (next < clients_.size() && next < allowed && in_flight < opt_.max_in_flight) {
        start(clients_[next]);
        if (clients_[next].state == State::Connecting) ++in_flight;
        ++next;
      }
      fds.clear();
      owners.clear();
      for (size_t i = 0; i < next; ++i) {
        Client& c = clients_[i];
        if (c.state != State::Connecting) continue;
        if (seconds_since(c.started) > opt_.connect_timeout_s) {
          fail(c, "timeout expired during connection");
          --in_flight;
          continue;
        }
        const short events = c.want == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        fds.push_back(pollfd{PQsocket(c.conn), events, 0});
        owners.push_back(i);
      }
      if (fds.empty()) {
        if (next < clients_.size()) sleep_until_next_slot(begin, next);
        continue;
      }
      const int ready = poll(fds.data(), fds.size(), 10);
      if (ready < 0) continue;  // EINTR: the loop condition sees g_stop
      for (size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        Client& c = clients_[owners[k]];
        c.want = PQconnectPoll(c.conn);
        if (c.want == PGRES_POLLING_OK) {
          c.state = State::Connected;
          ++connected_;
          --in_flight;
        } else if (c.want == PGRES_POLLING_FAILED) {
          fail(c, PQerrorMessage(c.conn));
          --in_flight;
        }
      }
    }
    connect_seconds_ = seconds_since(begin);
  }

  // Waits hold_seconds, watching the idle sockets: a readable socket on an
  // idle connection means the peer closed it or sent an error.
  void hold() {
    const auto begin = Clock::now();
    std::vector<pollfd> fds;
    std::vector<size_t> owners;
    while (!g_stop && seconds_since(begin) < opt_.hold_seconds) {
      fds.clear();
      owners.clear();
      for (size_t i = 0; i < clients_.size(); ++i) {
        if (clients_[i].state != State::Connected) continue;
        fds.push_back(pollfd{PQsocket(clients_[i].conn), POLLIN, 0});
        owners.push_back(i);
      }
      const int ready = poll(fds.data(), fds.size(), 200);
      if (ready <= 0) continue;
      for (size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        Client& c = clients_[owners[k]];
        // ParameterStatus or NoticeResponse are harmless; only a dead
        // connection counts.
        if (PQconsumeInput(c.conn) == 0 || PQstatus(c.conn) == CONNECTION_BAD) {
          dropped_++;
          c.state = State::Failed;
          note_error(std::string("dropped while idle: ") + PQerrorMessage(c.conn));
          PQfinish(c.conn);
          c.conn = nullptr;
        }
      }
    }
  }

  // Runs SELECT 1 on up to `check` live connections, spread over the set.
  void check_some() {
    std::vector<size_t> live;
    for (size_t i = 0; i < clients_.size(); ++i)
      if (clients_[i].state == State::Connected) live.push_back(i);
    if (live.empty() || opt_.check <= 0) return;
    const size_t n = std::min(live.size(), static_cast<size_t>(opt_.check));
    for (size_t j = 0; j < n; ++j) {
      Client& c = clients_[live[j * live.size() / n]];
      ++checked_;
      PGresult* r = PQexec(c.conn, "SELECT 1");
      if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ++check_failed_;
        note_error(std::string("SELECT 1 failed: ") + PQerrorMessage(c.conn));
      }
      PQclear(r);
    }
  }

  int alive() const {
    int n = 0;
    for (const auto& c : clients_)
      if (c.state == State::Connected && PQstatus(c.conn) == CONNECTION_OK) ++n;
    return n;
  }

  void print_ready() const {
    std::printf("READY connected=%d failed=%d seconds=%.2f\n", connected_, failed_, connect_seconds_);
    std::fflush(stdout);
  }

  int report() const {
    for (const auto& [msg, n] : errors_) std::fprintf(stderr, "%6d x %s\n", n, msg.c_str());
    const int live = alive();
    std::printf("RESULT attempted=%d connected=%d failed=%d alive=%d checked=%d check_failed=%d\n",
                opt_.count, connected_, failed_, live, checked_, check_failed_);
    std::fflush(stdout);
    return (live == opt_.count && check_failed_ == 0) ? 0 : 1;
  }

 private:
  void start(Client& c) {
    const std::string timeout = std::to_string(static_cast<int>(opt_.connect_timeout_s));
    const char* keys[] = {"host",    "port",    "user",       "password",         "dbname",
                          "sslmode", "gssencmode", "application_name", "connect_timeout", nullptr};
    const char* values[] = {opt_.host.c_str(), opt_.port.c_str(), opt_.user.c_str(),
                            opt_.password.c_str(), opt_.dbname.c_str(), "disable", "disable",
                            "idle_clients", timeout.c_str(), nullptr};
    c.started = Clock::now();
    c.conn = PQconnectStartParams(keys, values, 0);
    if (c.conn == nullptr) {
      fail(c, "PQconnectStartParams: out of memory");
      return;
    }
    if (PQstatus(c.conn) == CONNECTION_BAD) {
      fail(c, PQerrorMessage(c.conn));
      return;
    }
    c.state = State::Connecting;
    c.want = PGRES_POLLING_WRITING;  // as the libpq documentation prescribes
  }

  void fail(Client& c, const std::string& why) {
    ++failed_;
    c.state = State::Failed;
    note_error(why);
    if (c.conn != nullptr) PQfinish(c.conn);
    c.conn = nullptr;
  }

  void note_error(std::string msg) {
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (auto& ch : msg)
      if (ch == '\n') ch = ' ';
    errors_[msg]++;
  }

  void sleep_until_next_slot(Clock::time_point begin, size_t next) const {
    const double due = static_cast<double>(next) / opt_.rate - seconds_since(begin);
    if (due > 0) poll(nullptr, 0, static_cast<int>(due * 1000) + 1);
  }

  Options opt_;
  std::vector<Client> clients_;
  int connected_ = 0;
  int failed_ = 0;
  int dropped_ = 0;
  int checked_ = 0;
  int check_failed_ = 0;
  double connect_seconds_ = 0;
  std::map<std::string, int> errors_;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse_args(argc, argv, opt)) {
    usage(argv[0]);
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  Runner runner(opt);
  runner.connect_all();
  runner.print_ready();
  runner.hold();
  runner.check_some();
  return runner.report();
}
