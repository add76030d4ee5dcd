// Admission control for one database: per-client-key concurrency limits,
// bounded queues, weighted fair sharing of a database-wide limit, CoDel-style
// shedding of standing queues, and an adaptive limit that follows the
// database's measured latency.
//
// Pure policy: no sockets, no libuv, no clock of its own. Every call takes
// `now_us` (monotonic microseconds); tests drive it with simulated time.
//
// Vocabulary:
//   key        what pgsluice calls "a client": an address, user, application or
//              database, depending on [limits] client_key. Identified by KeyId.
//   ticket     one transaction asking to start.
//   running    admitted and not yet finished (holding one unit of the limit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/admission/histogram.h"
#include "proxy/admission/skew.h"

namespace pgs::admission {

using KeyId = uint32_t;
using TicketId = uint64_t;

enum class Mode { Off, Static, Adaptive };
const char* to_string(Mode m);  // "off", "static", "adaptive"

enum class RejectReason {
  QueueFull,  // the key's queue already holds max_queue transactions
  Timeout,    // waited queue_timeout_ms without a slot
  Shed,       // the key's queue is standing (CoDel): waits beyond the short bound are cut
  Predicted,  // at the current throughput it could not start within its timeout
  Paused,     // the database was paused (admin PAUSE) for the whole of queue_timeout_ms
};
const char* to_string(RejectReason r);  // "queue_full", "timeout", "shed", "predicted", "paused"
constexpr size_t kRejectReasons = 5;

// Limits of one key. Defaults come from [limits]; [limits.clients.NAME] overrides.
struct KeyPolicy {
  uint32_t max_concurrency = 0;    // most running at once for this key; 0 = no per-key limit
  uint32_t weight = 1;             // share of the database-wide limit when it is contended (>= 1)
  uint32_t max_queue = 1000;       // most waiting at once for this key; 0 = never wait
  uint32_t queue_timeout_ms = 1000;
};

struct Settings {
  Mode mode = Mode::Adaptive;
  uint32_t min_limit = 1;        // adaptive: never below
  uint32_t max_limit = 20;       // adaptive: never above; static: the limit
  uint32_t initial_limit = 4;    // adaptive: where it starts (clamped to [min, max])
  uint32_t codel_target_ms = 5;  // a queue whose shortest wait over an interval stays above this is standing
  uint32_t codel_interval_ms = 100;
  uint32_t shed_wait_ms = 10;    // while standing, waits beyond this are rejected
  // Adaptive controller: latency may rise to this multiple of the
  // uncontended latency before the limit shrinks (e.g. 2.0).
  double latency_tolerance = 2.0;
};

// Counters for the admin console and metrics; cheap to read at any time.
struct KeyCounters {
  uint64_t requests = 0;          // calls to request(); = admitted + rejected + cancelled + queued now
  uint64_t admitted = 0;          // started at once or after waiting
  uint64_t queued = 0;            // had to wait (subset of requests)
  uint64_t rejected[kRejectReasons] = {};
  uint64_t finished = 0;
  uint64_t cancelled = 0;         // withdrawn while queued (cancel())
  uint64_t wait_us_total = 0;     // summed over admitted-after-waiting
  Histogram wait;                 // request -> admission, every admitted transaction (0 when at once)
  Histogram reject_wait;          // request -> rejection, every rejected transaction (0 at the door)
};

struct KeySnapshot {
  std::string name;
  KeyPolicy policy;
  uint32_t running = 0;
  uint32_t queued_now = 0;
  bool standing = false;   // CoDel: the queue is standing and the key is over its share
  KeyCounters counters;
  double demand_rate = 0;  // requests per second, smoothed
  double served_rate = 0;  // admissions per second, smoothed
};

struct Snapshot {
  Mode mode = Mode::Off;
  uint32_t limit = 0;
  uint32_t running = 0;
  uint32_t queued = 0;
  uint64_t requests = 0;
  uint64_t admitted = 0;
  uint64_t rejected[kRejectReasons] = {};
  uint64_t cancelled = 0;
  double min_latency_ms = 0;     // the controller's estimate of uncontended latency
  double recent_latency_ms = 0;  // smoothed recent server latency
  double throughput = 0;         // finished transactions per second, smoothed
  bool paused = false;
  Histogram latency;             // server round trips (record_sample), time queued in pgsluice excluded
  Histogram wait;                // every key's wait, merged
  Histogram reject_wait;         // every key's reject_wait, merged
  std::vector<KeySnapshot> keys;
};

// What happened to a queued ticket.
struct Outcome {
  TicketId ticket = 0;
  KeyId key = 0;
  bool admitted = false;
  RejectReason reason = RejectReason::Timeout;  // when !admitted
  uint64_t waited_us = 0;
};

enum class Verdict { Admit, Queued, Reject };

class AdmissionController {
 public:
  explicit AdmissionController(const Settings& settings);
  ~AdmissionController();
  AdmissionController(const AdmissionController&) = delete;
  AdmissionController& operator=(const AdmissionController&) = delete;

  // Settings may change at run time (reload, admin SET); running work is kept.
  void set_settings(const Settings& settings);
  const Settings& settings() const;

  // Finds or creates a key, and sets its policy.
  KeyId key(std::string_view name, const KeyPolicy& policy);

  // A transaction of `key` wants to start.
  //   Admit:  it may run now; it counts as running until finish().
  //   Queued: `ticket` identifies it; its Outcome comes out of poll().
  //   Reject: `reason` says why; nothing to undo.
  Verdict request(KeyId key, uint64_t now_us, TicketId& ticket, RejectReason& reason);

  // A queued ticket is withdrawn (the client went away or cancelled).
  void cancel(TicketId ticket, uint64_t now_us);

  // A running transaction of `key` has ended (admitted earlier, by request()
  // or by an Outcome).
  void finish(KeyId key, uint64_t now_us);

  // One round trip on the server (message forwarded -> its ReadyForQuery),
  // time queued in pgsluice excluded. `congestion`: the server answered with
  // an error that signals contention (57014, 40001, 40P01, 55P03).
  void record_sample(uint64_t latency_us, bool congestion, uint64_t now_us);

  // Appends every ticket whose fate is decided by now: admissions into freed
  // capacity (in fair order) and rejections (timeouts, shedding). Call after
  // finish(), after cancel(), and at next_deadline_us().
  void poll(uint64_t now_us, std::vector<Outcome>& out);

  // The earliest time poll() could have work without any other call (a
  // queued ticket's deadline, a controller interval); UINT64_MAX if none.
  uint64_t next_deadline_us() const;

  // PAUSE: while paused nothing is admitted; requests queue (within
  // max_queue) and are rejected with Paused at their queue timeout. Running
  // transactions finish as usual. Unpausing admits the queue in fair order
  // at the next poll().
  void set_paused(bool paused, uint64_t now_us);
  bool paused() const;

  uint32_t limit() const;    // the current database-wide limit (UINT32_MAX when mode is Off)
  uint32_t running() const;
  uint32_t queued() const;
  // Rates are read at now_us, or at the last call that passed a time when 0.
  Snapshot snapshot(uint64_t now_us = 0) const;
  // Each key's smoothed demand at now_us, cheaply (no copies of counters):
  // the skew detector's input. Names point into the controller; valid until
  // the next key() call.
  void key_demands(uint64_t now_us, std::vector<KeyDemand>& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgs::admission
