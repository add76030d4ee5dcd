// Helpers shared by the admission policy's unit tests.
#pragma once

#include <cstdint>
#include <vector>

#include "proxy/admission/admission.h"

namespace pgs::admission::test {

inline constexpr uint64_t kMs = 1000;

inline Settings static_settings(uint32_t limit) {
  Settings s;
  s.mode = Mode::Static;
  s.max_limit = limit;
  return s;
}

inline KeyPolicy policy(uint32_t max_concurrency = 0, uint32_t weight = 1, uint32_t max_queue = 64,
                 uint32_t timeout_ms = 1000) {
  KeyPolicy p;
  p.max_concurrency = max_concurrency;
  p.weight = weight;
  p.max_queue = max_queue;
  p.queue_timeout_ms = timeout_ms;
  return p;
}

struct Req {
  Verdict verdict;
  TicketId ticket = 0;
  RejectReason reason = RejectReason::Paused;
};

inline Req request(AdmissionController& ac, KeyId k, uint64_t now) {
  Req r{Verdict::Reject};
  r.verdict = ac.request(k, now, r.ticket, r.reason);
  return r;
}

inline std::vector<Outcome> poll(AdmissionController& ac, uint64_t now) {
  std::vector<Outcome> out;
  ac.poll(now, out);
  return out;
}

inline uint64_t total_rejected(const KeyCounters& c) {
  uint64_t n = 0;
  for (uint64_t r : c.rejected) n += r;
  return n;
}

}  // namespace pgs::admission::test
