// loadgen: an open-loop PostgreSQL load generator for overload benchmarks.
//
// Each "key" stands for one application server: its own pool of libpq
// connections (opened at start), Poisson arrivals at a fixed rate, and a local
// FIFO where a request waits when every connection of its pool is busy (as it
// would in an app's connection pool). A request's latency runs from its
// INTENDED arrival time to its result, so a slow server cannot hide latency by
// slowing the generator down (no coordinated omission).
//
//   loadgen [options] NAME:USER:PASSWORD:APPLICATION_NAME:RATE_PER_S:POOL_SIZE ...
//
// Outcomes per request: "00000" success; the SQLSTATE of an error (53300,
// 57014, 08P01, ...); "conn" when the connection broke without a SQLSTATE;
// "timeout" when no answer came within --timeout-ms (a request still in the
// local FIFO is dropped then; one on a connection is counted and its late
// result ignored, the connection staying busy until it comes); and
// "client_overflow" when the local FIFO already held --max-pending requests.
// A broken connection is reopened, like an app's pool would (counted as a
// reconnect). Only requests whose intended arrival falls after the warm-up are
// counted.
//
// One thread, libpq's non-blocking API, epoll (level-triggered, waits with
// nanosecond timeouts through epoll_pwait2). Exit status 0 when the run
// completed, 1 when it could not (no key connected at all), 2 for bad usage.

#include <libpq-fe.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "proxy/sched_slice.h"

namespace {

using Clock = std::chrono::steady_clock;
using Nanos = std::int64_t;  // nanoseconds since the generator started

constexpr Nanos kMs = 1'000'000;
constexpr Nanos kSec = 1'000'000'000;
constexpr double kMaxRunSeconds = 600;

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "5432";
  std::string dbname = "bench";
  std::string query = "SELECT 1";
  std::string json_out;
  double duration_s = 30;
  double warmup_s = 5;
  double timeout_ms = 10000;
  std::uint64_t seed = 1;
  std::size_t max_pending = 10000;
  int connect_attempts = 5;  // per connection at start
  std::uint32_t sched_slice_us = 0;  // 0: the kernel's default slice
};

struct Request {
  Nanos intended = 0;
  Nanos sent = 0;          // when it was written to a connection (0: not yet)
  bool measured = false;   // arrived after the warm-up
  bool timed_out = false;  // already counted as "timeout"; ignore its result
};

struct Stats {
  std::uint64_t sent = 0;
  std::map<std::string, std::uint64_t> outcomes;
  std::vector<double> ok_ms, reject_ms, error_ms;  // success, 53300, any SQLSTATE error
  // 53300 from the moment the request was written to its connection: the
  // proxy's answer time without the generator's own queueing and lateness.
  std::vector<double> reject_sent_ms;
  std::uint64_t reconnects = 0, connect_failures = 0;
  std::vector<double> connect_ms;
};

enum class ConnState { Down, Connecting, Idle, Busy };

struct Key;

struct Connection {
  Key* key = nullptr;
  PGconn* pg = nullptr;
  int watched_fd = -1;       // the socket as registered with epoll
  std::uint32_t watched_events = 0;
  ConnState state = ConnState::Down;
  PostgresPollingStatusType want = PGRES_POLLING_WRITING;
  Nanos connect_started = 0;
  Nanos retry_at = 0;        // when Down: when to try again
  int failures_in_row = 0;
  bool ever_connected = false;
  bool flushing = false;     // PQflush said more output is pending
  bool got_result = false;   // the current request's outcome is known
  Request req;
};

struct Key {
  std::string name, user, password, app_name;
  double rate = 0;
  int pool_size = 0;
  std::vector<Connection> pool;
  std::deque<Request> fifo;
  std::mt19937_64 rng;
  Nanos next_arrival = 0;
  Stats stats;
};

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

Clock::time_point g_start;
Nanos now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - g_start).count();
}
double to_ms(Nanos n) { return static_cast<double>(n) / 1e6; }

void usage() {
  std::fprintf(stderr,
               "usage: loadgen [--host H] [--port P] [--dbname D] [--query SQL]\n"
               "               [--duration-s S] [--warmup-s S] [--timeout-ms MS] [--seed N]\n"
               "               [--max-pending N] [--json-out FILE] [--sched-slice-us US]\n"
               "               NAME:USER:PASSWORD:APPLICATION_NAME:RATE_PER_S:POOL_SIZE ...\n");
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

bool parse_args(int argc, char** argv, Options& o, std::vector<std::unique_ptr<Key>>& keys) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") return false;
    if (a.rfind("--", 0) != 0) {
      auto f = split(a, ':');
      if (f.size() != 6 || f[0].empty() || f[1].empty()) {
        std::fprintf(stderr, "bad key '%s' (want NAME:USER:PASSWORD:APP_NAME:RATE:POOL)\n", a.c_str());
        return false;
      }
      auto k = std::make_unique<Key>();
      k->name = f[0], k->user = f[1], k->password = f[2], k->app_name = f[3];
      k->rate = std::atof(f[4].c_str());
      k->pool_size = std::atoi(f[5].c_str());
      if (k->rate <= 0 || k->rate > 100000 || k->pool_size <= 0 || k->pool_size > 1000) {
        std::fprintf(stderr, "key %s: rate must be in (0, 100000], pool in [1, 1000]\n", f[0].c_str());
        return false;
      }
      keys.push_back(std::move(k));
      continue;
    }
    std::string v;
    if (auto eq = a.find('='); eq != std::string::npos) {
      v = a.substr(eq + 1);
      a.resize(eq);
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      std::fprintf(stderr, "missing value for %s\n", a.c_str());
      return false;
    }
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = v;
    else if (a == "--dbname") o.dbname = v;
    else if (a == "--query") o.query = v;
    else if (a == "--json-out") o.json_out = v;
    else if (a == "--duration-s") o.duration_s = std::atof(v.c_str());
    else if (a == "--warmup-s") o.warmup_s = std::atof(v.c_str());
    else if (a == "--timeout-ms") o.timeout_ms = std::atof(v.c_str());
    else if (a == "--seed") o.seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--max-pending") o.max_pending = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--sched-slice-us") o.sched_slice_us = static_cast<uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
  }
  if (keys.empty()) {
    std::fprintf(stderr, "no keys given\n");
    return false;
  }
  if (!(o.duration_s > 0) || o.warmup_s < 0 || o.duration_s + o.warmup_s > kMaxRunSeconds) {
    std::fprintf(stderr, "duration must be > 0 and duration + warmup <= %.0f s\n", kMaxRunSeconds);
    return false;
  }
  if (!(o.timeout_ms > 0) || o.timeout_ms > 120000 || o.max_pending == 0 || o.max_pending > 1000000) {
    std::fprintf(stderr, "timeout-ms must be in (0, 120000], max-pending in [1, 1000000]\n");
    return false;
  }
  return true;
}

class Generator {
 public:
  Generator(const Options& o, std::vector<std::unique_ptr<Key>>& keys) : opt_(o), keys_(keys) {
    timeout_ = static_cast<Nanos>(o.timeout_ms * 1e6);
    if (epfd_ < 0) {
      std::fprintf(stderr, "loadgen: epoll_create1: %s\n", std::strerror(errno));
      std::exit(1);
    }
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      keys_[i]->pool.resize(static_cast<std::size_t>(keys_[i]->pool_size));  // never resized again
      for (auto& c : keys_[i]->pool) c.key = keys_[i].get();
      keys_[i]->rng.seed(o.seed * 1000003 + i);
    }
  }
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;
  ~Generator() {
    for (auto& k : keys_)
      for (auto& c : k->pool) close_pg(c);
    if (epfd_ >= 0) close(epfd_);
  }

  // Opens every pool; a connection that fails is retried up to
  // connect_attempts times. Returns false if some key has no connection.
  bool connect_all() {
    for (auto& k : keys_)
      for (auto& c : k->pool) start_connect(*k, c, false);
    const Nanos give_up = now_ns() + 60 * kSec;
    while (!g_stop && now_ns() < give_up) {
      bool pending = false;
      for (auto& k : keys_)
        for (auto& c : k->pool)
          if (c.state == ConnState::Connecting ||
              (c.state == ConnState::Down && c.failures_in_row < opt_.connect_attempts))
            pending = true;
      if (!pending) break;
      step(now_ns() + 50 * kMs, false);
    }
    bool all_keys = true;
    for (auto& k : keys_) {
      int up = 0;
      for (auto& c : k->pool) up += c.state == ConnState::Idle ? 1 : 0;
      std::fprintf(stderr, "loadgen: key %s: %d/%d connections open\n", k->name.c_str(), up, k->pool_size);
      if (up == 0) all_keys = false;
      k->stats = Stats{};  // start-up connects are not part of the measurement
    }
    return all_keys;
  }

  void run() {
    run_start_ = now_ns();
    window_start_ = run_start_ + static_cast<Nanos>(opt_.warmup_s * 1e9);
    window_end_ = window_start_ + static_cast<Nanos>(opt_.duration_s * 1e9);
    for (auto& k : keys_) k->next_arrival = run_start_ + next_gap(*k);
    while (!g_stop && now_ns() < window_end_) step(window_end_, true);
    // Drain: every measured request resolves by its timeout at the latest.
    const Nanos drain_end = now_ns() + timeout_ + kSec;
    while (!g_stop && now_ns() < drain_end && unresolved() > 0) step(drain_end, true);
    measured_s_ = to_ms(std::min(now_ns(), window_end_) - window_start_) / 1000.0;
    interrupted_ = g_stop != 0;
  }

  void report(std::FILE* out) const;
  bool write_json(const std::string& path) const;

 private:
  Nanos next_gap(Key& k) {
    std::exponential_distribution<double> d(k.rate);
    return static_cast<Nanos>(d(k.rng) * 1e9);
  }

  std::size_t unresolved() const {
    std::size_t n = 0;
    for (auto& k : keys_) {
      for (auto& r : k->fifo) n += r.measured ? 1 : 0;
      for (auto& c : k->pool)
        n += (c.state == ConnState::Busy && c.req.measured && !c.req.timed_out && !c.got_result) ? 1 : 0;
    }
    return n;
  }

  void start_connect(Key& k, Connection& c, bool is_reconnect) {
    const char* names[] = {"host", "port", "dbname", "user", "password", "application_name",
                           "sslmode", "gssencmode", nullptr};
    const char* values[] = {opt_.host.c_str(), opt_.port.c_str(), opt_.dbname.c_str(), k.user.c_str(),
                            k.password.c_str(), k.app_name.c_str(), "disable", "disable", nullptr};
    if (is_reconnect) ++k.stats.reconnects;
    c.pg = PQconnectStartParams(names, values, 0);
    c.connect_started = now_ns();
    c.want = PGRES_POLLING_WRITING;
    c.flushing = false;
    if (c.pg == nullptr || PQstatus(c.pg) == CONNECTION_BAD) connect_failed(k, c);
    else c.state = ConnState::Connecting;
  }

  void connect_failed(Key& k, Connection& c) {
    if (c.pg != nullptr) {
      if (k.stats.connect_failures < 5 || run_start_ == 0)
        std::fprintf(stderr, "loadgen: key %s: connect failed: %s", k.name.c_str(), PQerrorMessage(c.pg));
      close_pg(c);
    }
    ++k.stats.connect_failures;
    ++c.failures_in_row;
    c.state = ConnState::Down;
    // Back off 50 ms, doubling per failure in a row, at most 1 s.
    c.retry_at = now_ns() + std::min<Nanos>(kSec, 50 * kMs << std::min(c.failures_in_row - 1, 5));
  }

  // The socket leaves epoll while it is still open: once closed, its number
  // may come back for another connection.
  void close_pg(Connection& c) {
    if (c.watched_fd >= 0) epoll_ctl(epfd_, EPOLL_CTL_DEL, c.watched_fd, nullptr);
    c.watched_fd = -1;
    c.watched_events = 0;
    if (c.pg != nullptr) PQfinish(c.pg);
    c.pg = nullptr;
  }

  // Registers what the connection waits for now; a system call only when
  // that changed (Busy and Idle both wait for input: most requests cost none).
  void watch(Connection& c) {
    std::uint32_t ev = 0;
    if (c.state == ConnState::Connecting) ev = c.want == PGRES_POLLING_READING ? EPOLLIN : EPOLLOUT;
    else if (c.state == ConnState::Busy) ev = EPOLLIN | (c.flushing ? EPOLLOUT : 0u);
    else if (c.state == ConnState::Idle) ev = EPOLLIN;
    const int fd = (ev != 0 && c.pg != nullptr) ? PQsocket(c.pg) : -1;
    if (fd == c.watched_fd && ev == c.watched_events) return;
    if (c.watched_fd >= 0 && fd != c.watched_fd) {
      // libpq replaced the socket while connecting (closing the old one took
      // it out of epoll already, so an error here is expected).
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c.watched_fd, nullptr);
      c.watched_fd = -1;
    }
    if (fd >= 0) {
      epoll_event e{};
      e.events = ev;
      e.data.ptr = &c;
      if (epoll_ctl(epfd_, fd == c.watched_fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &e) != 0) {
        std::fprintf(stderr, "loadgen: epoll_ctl: %s\n", std::strerror(errno));
        std::exit(1);
      }
    }
    c.watched_fd = fd;
    c.watched_events = fd >= 0 ? ev : 0;
  }

  // The connection is gone: close it and reconnect at once, like an app's pool.
  void drop(Connection& c) {
    close_pg(c);
    c.state = ConnState::Down;
    c.failures_in_row = 0;
    c.retry_at = now_ns();
  }

  void resolve(Key& k, const Request& r, std::string outcome, Nanos at) {
    if (!r.measured) return;
    // An answer that comes after the deadline is a timeout to the client, even
    // if this loop noticed the answer before it noticed the deadline.
    if (outcome != "client_overflow" && at - r.intended >= timeout_) outcome = "timeout";
    ++k.stats.outcomes[outcome];
    const double ms = to_ms(at - r.intended);
    if (outcome == "00000") k.stats.ok_ms.push_back(ms);
    else if (outcome != "timeout" && outcome != "conn" && outcome != "client_overflow") {
      k.stats.error_ms.push_back(ms);
      if (outcome == "53300") {
        k.stats.reject_ms.push_back(ms);
        if (r.sent != 0) k.stats.reject_sent_ms.push_back(to_ms(at - r.sent));
      }
    }
  }

  void dispatch(Key& k, Connection& c, const Request& r) {
    c.req = r;
    c.req.sent = now_ns();
    c.got_result = false;
    c.state = ConnState::Busy;
    if (PQsendQuery(c.pg, opt_.query.c_str()) == 0) {
      resolve(k, r, "conn", now_ns());
      drop(c);
      return;
    }
    const int f = PQflush(c.pg);
    if (f < 0) {
      resolve(k, r, "conn", now_ns());
      drop(c);
      return;
    }
    c.flushing = f == 1;
  }

  Connection* idle_connection(Key& k) {
    for (auto& c : k.pool)
      if (c.state == ConnState::Idle) return &c;
    return nullptr;
  }

  void dispatch_waiting(Key& k) {
    while (!k.fifo.empty()) {
      Connection* c = idle_connection(k);
      if (c == nullptr) return;
      Request r = k.fifo.front();
      k.fifo.pop_front();
      dispatch(k, *c, r);
    }
  }

  void on_connect_ready(Key& k, Connection& c) {
    c.want = PQconnectPoll(c.pg);
    if (c.want == PGRES_POLLING_FAILED) {
      connect_failed(k, c);
    } else if (c.want == PGRES_POLLING_OK) {
      PQsetnonblocking(c.pg, 1);
      k.stats.connect_ms.push_back(to_ms(now_ns() - c.connect_started));
      c.state = ConnState::Idle;
      c.failures_in_row = 0;
      c.ever_connected = true;
      dispatch_waiting(k);
    }
  }

  void on_busy_ready(Key& k, Connection& c, short revents) {
    if (c.flushing && (revents & POLLOUT)) {
      const int f = PQflush(c.pg);
      c.flushing = f == 1;
    }
    PQconsumeInput(c.pg);
    // PQisBusy is false once the connection is bad, so PQgetResult never blocks.
    while (!PQisBusy(c.pg)) {
      PGresult* res = PQgetResult(c.pg);
      if (res == nullptr) {  // the request is complete
        if (!c.got_result && !c.req.timed_out) resolve(k, c.req, "conn", now_ns());
        c.state = ConnState::Idle;
        break;
      }
      if (!c.got_result) {
        c.got_result = true;
        const ExecStatusType st = PQresultStatus(res);
        std::string outcome = "00000";
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
          const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
          outcome = (s != nullptr && *s != '\0') ? s : "conn";
        }
        if (!c.req.timed_out) resolve(k, c.req, outcome, now_ns());
      }
      PQclear(res);
      if (PQstatus(c.pg) == CONNECTION_BAD) break;
    }
    if (PQstatus(c.pg) == CONNECTION_BAD) {
      if (!c.got_result && !c.req.timed_out) resolve(k, c.req, "conn", now_ns());
      drop(c);
      return;
    }
    if (c.state == ConnState::Idle) dispatch_waiting(k);
  }

  void on_idle_ready(Connection& c) {
    // Nothing is expected on an idle connection but notices or the server
    // closing it; a closed one is reopened.
    if (PQconsumeInput(c.pg) == 0 || PQstatus(c.pg) == CONNECTION_BAD) drop(c);
  }

  void new_arrivals(Key& k, Nanos now, bool arrivals) {
    while (arrivals && k.next_arrival <= now && k.next_arrival < window_end_) {
      Request r;
      r.intended = k.next_arrival;
      r.measured = r.intended >= window_start_;
      k.next_arrival += next_gap(k);
      if (r.measured) ++k.stats.sent;
      lag_max_ = std::max(lag_max_, now - r.intended);
      if (Connection* c = idle_connection(k); c != nullptr && k.fifo.empty()) dispatch(k, *c, r);
      else if (k.fifo.size() >= opt_.max_pending) resolve(k, r, "client_overflow", now);
      else k.fifo.push_back(r);
    }
  }

  void expire(Key& k, Nanos now) {
    while (!k.fifo.empty() && now - k.fifo.front().intended >= timeout_) {
      resolve(k, k.fifo.front(), "timeout", now);
      k.fifo.pop_front();
    }
    for (auto& c : k.pool) {
      if (c.state == ConnState::Busy && !c.got_result && !c.req.timed_out && now - c.req.intended >= timeout_) {
        resolve(k, c.req, "timeout", now);
        c.req.timed_out = true;
      }
      if (c.state == ConnState::Connecting && now - c.connect_started > 10 * kSec) connect_failed(k, c);
    }
  }

  // One pass of the loop: start due reconnects, wait for sockets until the
  // next event (at most until `until`), handle ready sockets, arrivals and
  // timeouts.
  void step(Nanos until, bool arrivals) {
    Nanos now = now_ns();
    Nanos wake = std::min(until, now + 100 * kMs);
    for (auto& k : keys_) {
      for (auto& c : k->pool) {
        if (c.state == ConnState::Down && (arrivals || c.failures_in_row < opt_.connect_attempts)) {
          if (c.retry_at <= now) start_connect(*k, c, arrivals || c.ever_connected);
          else wake = std::min(wake, c.retry_at);
        }
        if (c.state == ConnState::Busy && !c.req.timed_out) wake = std::min(wake, c.req.intended + timeout_);
      }
      if (arrivals) wake = std::min(wake, k->next_arrival);
      if (!k->fifo.empty()) wake = std::min(wake, k->fifo.front().intended + timeout_);
    }
    for (auto& k : keys_)
      for (auto& c : k->pool) watch(c);
    const Nanos wait = std::max<Nanos>(0, wake - now);
    timespec ts{static_cast<time_t>(wait / kSec), static_cast<long>(wait % kSec)};
    const int n = epoll_pwait2(epfd_, events_, kMaxEvents, &ts, nullptr);
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "loadgen: epoll_pwait2: %s\n", std::strerror(errno));
      std::exit(1);
    }
    for (int i = 0; i < n; ++i) {
      Connection* c = static_cast<Connection*>(events_[i].data.ptr);
      // An earlier event of this batch may have closed or reopened it.
      if (c->watched_fd < 0) continue;
      const auto revents = static_cast<short>(events_[i].events);  // EPOLLIN/OUT equal POLLIN/OUT
      if (c->state == ConnState::Connecting) on_connect_ready(*c->key, *c);
      else if (c->state == ConnState::Busy) on_busy_ready(*c->key, *c, revents);
      else if (c->state == ConnState::Idle) on_idle_ready(*c);
    }
    now = now_ns();
    for (auto& k : keys_) {
      expire(*k, now);
      new_arrivals(*k, now, arrivals);
      dispatch_waiting(*k);
    }
  }

  const Options& opt_;
  std::vector<std::unique_ptr<Key>>& keys_;
  Nanos timeout_ = 0;
  Nanos run_start_ = 0, window_start_ = 0, window_end_ = 0;
  Nanos lag_max_ = 0;
  double measured_s_ = 0;
  bool interrupted_ = false;
  static constexpr int kMaxEvents = 256;
  int epfd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event events_[kMaxEvents];
};

// Nearest-rank percentile of an ascending vector; NaN when empty.
double pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::nan("");
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

std::vector<double> sorted_copy(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string num(double v) {  // JSON number or null
  if (std::isnan(v)) return "null";
  char b[64];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o + "\"";
}

std::string fmt_ms(double v) {
  if (std::isnan(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, v < 10 ? "%.2f" : (v < 1000 ? "%.1f" : "%.0f"), v);
  return b;
}

void Generator::report(std::FILE* out) const {
  std::fprintf(out, "measured %.1f s after %.1f s warm-up%s; generator lag max %.1f ms\n", measured_s_,
               opt_.warmup_s, interrupted_ ? " (INTERRUPTED)" : "", to_ms(lag_max_));
  std::fprintf(out, "%-8s %8s %7s %7s %7s %8s %8s %8s %8s %8s %9s %9s %5s  %s\n", "key", "offer/s", "sent", "ok",
               "ok%", "p50ms", "p90ms", "p99ms", "p99.9ms", "maxms", "rej p50", "rej p99", "reconn", "outcomes");
  std::uint64_t ok_total = 0;
  for (auto& k : keys_) {
    const Stats& s = k->stats;
    auto ok = sorted_copy(s.ok_ms);
    auto rej = sorted_copy(s.reject_ms);
    ok_total += ok.size();
    std::string outs;
    for (auto& [o, n] : s.outcomes) outs += o + "=" + std::to_string(n) + " ";
    std::fprintf(out, "%-8s %8.1f %7llu %7zu %6.1f%% %8s %8s %8s %8s %8s %9s %9s %5llu  %s\n", k->name.c_str(),
                 static_cast<double>(s.sent) / measured_s_, static_cast<unsigned long long>(s.sent), ok.size(),
                 s.sent ? 100.0 * static_cast<double>(ok.size()) / static_cast<double>(s.sent) : 0.0,
                 fmt_ms(pct(ok, 50)).c_str(), fmt_ms(pct(ok, 90)).c_str(), fmt_ms(pct(ok, 99)).c_str(),
                 fmt_ms(pct(ok, 99.9)).c_str(), fmt_ms(ok.empty() ? std::nan("") : ok.back()).c_str(),
                 fmt_ms(pct(rej, 50)).c_str(), fmt_ms(pct(rej, 99)).c_str(),
                 static_cast<unsigned long long>(s.reconnects), outs.c_str());
  }
  std::fprintf(out, "goodput %.1f successful queries/s\n", static_cast<double>(ok_total) / measured_s_);
}

bool Generator::write_json(const std::string& path) const {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::uint64_t ok_total = 0, sent_total = 0;
  std::fprintf(f, "{\n  \"host\": %s, \"port\": %s, \"query\": %s,\n", json_str(opt_.host).c_str(),
               json_str(opt_.port).c_str(), json_str(opt_.query).c_str());
  std::fprintf(f, "  \"duration_s\": %s, \"warmup_s\": %s, \"timeout_ms\": %s, \"seed\": %llu,\n",
               num(measured_s_).c_str(), num(opt_.warmup_s).c_str(), num(opt_.timeout_ms).c_str(),
               static_cast<unsigned long long>(opt_.seed));
  // The generator's own CPU over its whole run (warm-up included): it shares
  // the machine with the database and the proxy.
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::fprintf(f, "  \"interrupted\": %s, \"generator_lag_max_ms\": %s, \"cpu_s\": %s,\n  \"keys\": [\n",
               interrupted_ ? "true" : "false", num(to_ms(lag_max_)).c_str(), num(cpu_s).c_str());
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    const Key& k = *keys_[i];
    const Stats& s = k.stats;
    auto ok = sorted_copy(s.ok_ms), rej = sorted_copy(s.reject_ms), err = sorted_copy(s.error_ms);
    auto rej_sent = sorted_copy(s.reject_sent_ms);
    auto con = sorted_copy(s.connect_ms);
    ok_total += ok.size();
    sent_total += s.sent;
    std::string outs;
    for (auto& [o, n] : s.outcomes) outs += (outs.empty() ? "" : ", ") + json_str(o) + ": " + std::to_string(n);
    const double sent = static_cast<double>(s.sent);
    std::fprintf(f,
                 "    {\"name\": %s, \"user\": %s, \"application_name\": %s, \"rate\": %s, \"pool_size\": %d,\n"
                 "     \"sent\": %llu, \"ok\": %zu, \"success_ratio\": %s, \"offered_per_s\": %s, "
                 "\"throughput_ok_per_s\": %s,\n     \"outcomes\": {%s},\n",
                 json_str(k.name).c_str(), json_str(k.user).c_str(), json_str(k.app_name).c_str(),
                 num(k.rate).c_str(), k.pool_size, static_cast<unsigned long long>(s.sent), ok.size(),
                 num(s.sent ? static_cast<double>(ok.size()) / sent : std::nan("")).c_str(),
                 num(sent / measured_s_).c_str(), num(static_cast<double>(ok.size()) / measured_s_).c_str(),
                 outs.c_str());
    std::fprintf(f,
                 "     \"latency_ms\": {\"p50\": %s, \"p90\": %s, \"p99\": %s, \"p999\": %s, \"max\": %s},\n"
                 "     \"rejection_latency_ms\": {\"count\": %zu, \"p50\": %s, \"p99\": %s, "
                 "\"p50_from_send\": %s, \"p99_from_send\": %s},\n"
                 "     \"error_latency_ms\": {\"count\": %zu, \"p50\": %s, \"p99\": %s},\n"
                 "     \"reconnects\": %llu, \"connect_failures\": %llu, "
                 "\"connect_ms\": {\"count\": %zu, \"p50\": %s, \"max\": %s}}%s\n",
                 num(pct(ok, 50)).c_str(), num(pct(ok, 90)).c_str(), num(pct(ok, 99)).c_str(),
                 num(pct(ok, 99.9)).c_str(), num(ok.empty() ? std::nan("") : ok.back()).c_str(), rej.size(),
                 num(pct(rej, 50)).c_str(), num(pct(rej, 99)).c_str(), num(pct(rej_sent, 50)).c_str(),
                 num(pct(rej_sent, 99)).c_str(), err.size(), num(pct(err, 50)).c_str(),
                 num(pct(err, 99)).c_str(), static_cast<unsigned long long>(s.reconnects),
                 static_cast<unsigned long long>(s.connect_failures), con.size(), num(pct(con, 50)).c_str(),
                 num(con.empty() ? std::nan("") : con.back()).c_str(), i + 1 < keys_.size() ? "," : "");
  }
  std::fprintf(f, "  ],\n  \"sent\": %llu, \"ok\": %llu, \"goodput_per_s\": %s\n}\n",
               static_cast<unsigned long long>(sent_total), static_cast<unsigned long long>(ok_total),
               num(static_cast<double>(ok_total) / measured_s_).c_str());
  return std::fclose(f) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  std::vector<std::unique_ptr<Key>> keys;
  if (!parse_args(argc, argv, opt, keys)) {
    usage();
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  // The generator stands in for app servers on machines of their own: a short
  // slice keeps its wake-ups from waiting behind the database's backends.
  if (opt.sched_slice_us != 0) {
    if (int e = pgs::request_sched_slice(opt.sched_slice_us); e == pgs::kSchedRealtimeKept)
      std::fprintf(stderr, "loadgen: real-time scheduling policy kept; --sched-slice-us not applied\n");
    else if (e != 0)
      std::fprintf(stderr, "loadgen: sched_setattr(slice %u us): %s\n", opt.sched_slice_us, std::strerror(e));
  }
  g_start = Clock::now();
  Generator gen(opt, keys);
  if (!gen.connect_all()) {
    std::fprintf(stderr, "loadgen: some key could not open any connection; giving up\n");
    return 1;
  }
  gen.run();
  gen.report(stdout);
  if (!opt.json_out.empty() && !gen.write_json(opt.json_out)) {
    std::fprintf(stderr, "loadgen: cannot write %s\n", opt.json_out.c_str());
    return 1;
  }
  return 0;
}
