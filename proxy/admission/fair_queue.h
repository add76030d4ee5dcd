// Per-key wait queues, per-key CoDel state and the weighted fair choice of
// which key gets the next free slot. Internal to proxy/admission/.
//
// Fairness is start-time fair queueing over concurrency slots: every
// admission of key k costs 1/weight(k) of virtual time. A key's next start tag
// is max(its last finish tag, V), where V is the start tag of the latest
// admission. A freed slot goes to the waiting key with the smallest start tag,
// i.e. the one furthest below its weighted share. Taking max(.., V) is what
// stops a key that was idle from banking credit: it re-enters at the current
// virtual time, level with the busy keys. Admissions that need no choice
// (capacity was free) are charged too, so V keeps moving while uncontended and
// a key is never punished later for having used idle capacity.
//
// One exception to plain tag order: a *light* key, one admitted well below
// its weighted share lately (AdmissionController decides and caches it in
// KeyState::light), is ordered as if its finish tag were kLightCredit
// admissions earlier. Plain SFQ remembers nothing: a quiet key's second
// waiter in a burst is tagged behind the flooding key's next turn, so with
// three quiet keys a burst waits several slot releases. The credit lets a
// burst of up to kLightCredit + 1 go straight through. It is bounded (a key
// waking up with a backlog gets that many extra turns, then alternates), and
// a flooding key never has it: it is over its share, so not light. Credit for
// every key that is briefly empty was tried and made the flooding key, whose
// queue the door holds near one waiter, the main beneficiary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/admission/admission.h"
#include "proxy/admission/rate_meter.h"

namespace pgs::admission {

struct Waiter {
  TicketId ticket = 0;
  uint64_t enqueued_us = 0;
  uint64_t deadline_us = 0;  // queue timeout, fixed at enqueue
};

// A ring buffer of waiters, oldest at the front. Served from the front (FIFO)
// or the back (LIFO); grows by doubling and never shrinks, so a steady queue
// allocates nothing.
class WaitQueue {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Waiter& front() const { return buf_[head_]; }
  const Waiter& back() const { return at(size_ - 1); }
  const Waiter& at(size_t i) const { return buf_[(head_ + i) & (buf_.size() - 1)]; }

  void push_back(const Waiter& w);
  Waiter pop_front();
  Waiter pop_back();
  // Removes the waiter holding `ticket`; false if none. O(size).
  bool erase(TicketId ticket);

 private:
  std::vector<Waiter> buf_;  // capacity is 0 or a power of two
  size_t head_ = 0;
  size_t size_ = 0;
};

// CoDel for one key's queue. Entry: every wait sample (a ticket leaving the
// queue) stayed >= target for a whole interval. While standing, the state is
// re-examined once per interval and clears when the queue drained or a wait
// below target was seen, *and* nothing was refused at the door (Predicted,
// QueueFull) for an interval, *and* the caller does not report the key's
// demand as still well over its share. The last two conditions matter: once
// shedding works, the queue is kept short by refusing the excess at request
// time, and its remaining waits are short, but the offered load still forms
// a standing queue; dropping the state there would let a long queue form
// again and be shed late, which is exactly what fast shedding must avoid.
// The door alone is not enough: a key at twice its share, kept to one
// waiter, can go an interval without a refusal by the luck of its arrivals.
struct CodelState {
  bool standing = false;
  bool above = false;  // every sample since above_since_us was >= target
  uint64_t above_since_us = 0;
  uint64_t check_at_us = 0;  // while standing: next re-examination
  bool below_seen = false;
  bool drained_seen = false;
  bool refused = false;  // refused_at_us is valid
  uint64_t refused_at_us = 0;

  void on_wait(uint64_t wait_us, uint64_t now_us, uint64_t target_us, uint64_t interval_us);
  void on_drained();
  void on_door_reject(uint64_t now_us) {
    refused = true;
    refused_at_us = now_us;
  }
  void check(uint64_t now_us, uint64_t interval_us, bool queue_empty, bool over_share);
};

struct KeyState {
  std::string name;
  KeyPolicy policy;
  uint32_t running = 0;
  WaitQueue queue;
  CodelState codel;
  bool standing = false;  // codel.standing and the key is over its share (cached)
  bool light = false;  // admitted well below its share lately: has kLightCredit (cached)
  double finish_tag = 0;  // SFQ: virtual finish time of its latest admission
  uint64_t charged_seq = 0;  // when it was last charged; breaks ties, oldest first
  size_t active_pos = SIZE_MAX;  // index in FairQueue::active_, SIZE_MAX if not waiting
  KeyCounters counters;
  RateMeter demand;
  RateMeter served;

  bool has_room() const { return policy.max_concurrency == 0 || running < policy.max_concurrency; }
  double weight() const { return policy.weight == 0 ? 1.0 : static_cast<double>(policy.weight); }
  // Virtual time a light key is ordered ahead by (see the top); 0 if not light.
  double credit() const;
};

class FairQueue {
 public:
  static constexpr KeyId kNone = UINT32_MAX;
  static constexpr double kLightCredit = 3;  // admissions; see the header comment

  KeyId find_or_add(std::string_view name, const KeyPolicy& policy);
  bool valid(KeyId k) const { return k < keys_.size(); }
  KeyState& key(KeyId k) { return keys_[k]; }
  const KeyState& key(KeyId k) const { return keys_[k]; }
  const std::vector<KeyState>& keys() const { return keys_; }

  // Keys with at least one waiter, in no particular order.
  const std::vector<KeyId>& active() const { return active_; }
  double active_weight() const { return active_weight_; }

  // Call after pushing onto an empty queue / after a queue became empty.
  void activate(KeyId k);
  void deactivate(KeyId k);

  // The start tag key k would get if admitted now.
  double start_tag(KeyId k) const;
  // The waiting key with room under its own limit that is furthest behind
  // (smallest finish tag, less a light key's credit, then served longest
  // ago); kNone if none.
  // O(active keys).
  KeyId pick() const;
  // True if some waiting key with room would be served before `k`.
  bool someone_ahead_of(KeyId k) const;
  // Books one admission of key k in virtual time.
  void charge(KeyId k);

 private:
  bool before(KeyId a, KeyId b) const;  // a is served before b

  std::vector<KeyState> keys_;
  std::unordered_map<std::string, KeyId> by_name_;
  std::vector<KeyId> active_;
  double active_weight_ = 0;
  double vtime_ = 0;
  uint64_t charges_ = 0;
};

inline double KeyState::credit() const { return light ? FairQueue::kLightCredit / weight() : 0.0; }

}  // namespace pgs::admission
