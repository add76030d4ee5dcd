// Asks the Linux scheduler for a short time slice for the calling thread.
//
// Why: a proxy on the database host shares CPUs with CPU-bound backends. Under
// EEVDF (Linux 6.6+) a waking task normally runs only once the task on the CPU
// has used up its slice (1.4 ms by default with 2 CPUs), so each wake-up of the proxy
// can cost milliseconds before it even reads the socket; a refusal that pgsluice
// decides in 0.1 ms reached clients after 6-10 ms (p99). Since Linux 6.12 a
// SCHED_OTHER task may request its own slice through sched_attr.sched_runtime;
// a short slice gives it an earlier virtual deadline, so it preempts a
// long-slice backend when it wakes, and pays with shorter turns, which a proxy
// that runs microseconds per wake-up never uses anyway. Its CPU share (its
// weight, from nice) is unchanged. Older kernels ignore the field.
//
// A thread that already runs under a real-time policy (SCHED_FIFO or SCHED_RR,
// set by `chrt` or systemd's CPUSchedulingPolicy=) is left alone: it runs
// ahead of every SCHED_OTHER task anyway, and sched_setattr with SCHED_OTHER
// would quietly demote it.
#pragma once

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace pgs {

// Returned by request_sched_slice when the thread runs under a real-time
// policy and was left as it is (not an errno value).
constexpr int kSchedRealtimeKept = -1;

// Returns 0, an errno value, or kSchedRealtimeKept. slice_us 0 asks for the
// kernel's default.
inline int request_sched_slice(uint32_t slice_us) {
  if (const int policy = sched_getscheduler(0); policy == SCHED_FIFO || policy == SCHED_RR)
    return kSchedRealtimeKept;
#ifdef SYS_sched_setattr
  struct {  // struct sched_attr (include/uapi/linux/sched/types.h), first version
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
  } attr{};
  attr.size = sizeof attr;
  attr.sched_policy = SCHED_OTHER;
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, 0);  // keep the nice value
  if (nice == -1 && errno != 0) return errno;
  attr.sched_nice = nice;
  attr.sched_runtime = static_cast<uint64_t>(slice_us) * 1000;
  if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) return errno;
  return 0;
#else
  (void)slice_us;
  return ENOSYS;
#endif
}

}  // namespace pgs
