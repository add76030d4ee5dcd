#include "proxy/admission/fair_queue.h"

#include <algorithm>

namespace pgs::admission {

void WaitQueue::push_back(const Waiter& w) {
  if (size_ == buf_.size()) {
    std::vector<Waiter> bigger(buf_.empty() ? 8 : buf_.size() * 2);
    for (size_t i = 0; i < size_; ++i) bigger[i] = at(i);
    buf_.swap(bigger);
    head_ = 0;
  }
  buf_[(head_ + size_) & (buf_.size() - 1)] = w;
  ++size_;
}

Waiter WaitQueue::pop_front() {
  Waiter w = buf_[head_];
  head_ = (head_ + 1) & (buf_.size() - 1);
  --size_;
  return w;
}

Waiter WaitQueue::pop_back() {
  Waiter w = at(size_ - 1);
  --size_;
  return w;
}

bool WaitQueue::erase(TicketId ticket) {
  const size_t mask = buf_.size() - 1;
  for (size_t i = 0; i < size_; ++i) {
    if (at(i).ticket != ticket) continue;
    // Close the gap by moving the younger waiters one place towards the front.
    for (size_t j = i; j + 1 < size_; ++j) buf_[(head_ + j) & mask] = buf_[(head_ + j + 1) & mask];
    --size_;
    return true;
  }
  return false;
}

void CodelState::on_wait(uint64_t wait_us, uint64_t now_us, uint64_t target_us,
                         uint64_t interval_us) {
  if (wait_us < target_us) {
    above = false;
    below_seen = true;
    return;
  }
  if (!above) {
    above = true;
    above_since_us = now_us;
    return;
  }
  if (!standing && now_us - above_since_us >= interval_us) {
    standing = true;
    check_at_us = now_us + interval_us;
    below_seen = drained_seen = false;
  }
}

void CodelState::on_drained() {
  above = false;
  drained_seen = true;
}

void CodelState::check(uint64_t now_us, uint64_t interval_us, bool queue_empty, bool over_share) {
  if (!standing || now_us < check_at_us) return;
  const bool relief = below_seen || drained_seen || queue_empty;
  const bool refusing = refused && now_us - std::min(now_us, refused_at_us) < interval_us;
  if (relief && !refusing && !over_share) standing = false;
  below_seen = drained_seen = false;
  check_at_us = now_us + interval_us;
}

KeyId FairQueue::find_or_add(std::string_view name, const KeyPolicy& policy) {
  std::string n(name);
  auto it = by_name_.find(n);
  KeyId k;
  if (it != by_name_.end()) {
    k = it->second;
  } else {
    k = static_cast<KeyId>(keys_.size());
    keys_.emplace_back();
    keys_.back().name = n;
    keys_.back().finish_tag = vtime_;
    by_name_.emplace(std::move(n), k);
  }
  KeyState& ks = keys_[k];
  if (ks.active_pos != SIZE_MAX) active_weight_ -= ks.weight();
  ks.policy = policy;
  if (ks.active_pos != SIZE_MAX) active_weight_ += ks.weight();
  return k;
}

void FairQueue::activate(KeyId k) {
  KeyState& ks = keys_[k];
  if (ks.active_pos != SIZE_MAX) return;
  ks.active_pos = active_.size();
  active_.push_back(k);
  active_weight_ += ks.weight();
}

void FairQueue::deactivate(KeyId k) {
  KeyState& ks = keys_[k];
  if (ks.active_pos == SIZE_MAX) return;
  const KeyId last = active_.back();
  active_[ks.active_pos] = last;
  keys_[last].active_pos = ks.active_pos;
  active_.pop_back();
  ks.active_pos = SIZE_MAX;
  active_weight_ -= ks.weight();
  if (active_.empty()) active_weight_ = 0;  // no drift from float sums
}

double FairQueue::start_tag(KeyId k) const { return std::max(keys_[k].finish_tag, vtime_); }

bool FairQueue::before(KeyId a, KeyId b) const {
  const KeyState& x = keys_[a];
  const KeyState& y = keys_[b];
  const double fx = x.finish_tag - x.credit();
  const double fy = y.finish_tag - y.credit();
  if (fx != fy) return fx < fy;
  return x.charged_seq < y.charged_seq;
}

KeyId FairQueue::pick() const {
  // Smallest finish tag first. For keys at or above V this is the smallest
  // start tag. Keys that fell behind V (nothing waiting when their turn
  // came) are all charged from V and so tie; the one served longest ago goes
  // first, which makes ties round-robin instead of favouring one key.
  KeyId best = kNone;
  for (KeyId k : active_) {
    if (!keys_[k].has_room()) continue;
    if (best == kNone || before(k, best)) best = k;
  }
  return best;
}

bool FairQueue::someone_ahead_of(KeyId k) const {
  for (KeyId other : active_) {
    if (other != k && keys_[other].has_room() && before(other, k)) return true;
  }
  return false;
}

void FairQueue::charge(KeyId k) {
  KeyState& ks = keys_[k];
  const double start = start_tag(k);
  ks.finish_tag = start + 1.0 / ks.weight();
  ks.charged_seq = ++charges_;
  // A light key was ordered by its tag less its credit; V moves by that much
  // only, or the credit would pull V past the other keys' tags and reset
  // their place (and with it the weights) to V.
  vtime_ = std::max(vtime_, start - ks.credit());
}

}  // namespace pgs::admission
