#!/usr/bin/env python3
"""Where a CPU's idle time went while work was waiting, from `perf sched`.

    perf sched record -o perf.data -- sleep 2      # during a benchmark run
    perf sched script -i perf.data > sched.txt
    bench/sched_idle.py sched.txt

For every stretch of time, each idle CPU is put in one of three bins:
  nothing waiting        no task was runnable anywhere: the load left a gap
  woken onto this CPU    a task had been woken onto it and had not started yet
                         (on a VM: the time an idle vCPU takes to wake)
  task waits elsewhere   a task sat runnable on another CPU's run queue
                         (the scheduler left this CPU idle beside it)
Then, per command name, how long its waits for a CPU lasted (from wake-up or
preemption until it ran). Used for the overload benchmark's CPU split
(bench/RESULTS.md, "Why the overload benchmark splits the CPUs").
"""
import collections
import re
import sys

SWITCH = re.compile(r"\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch: prev_comm=(.*?) prev_pid=(\d+) "
                    r"prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
WAKING = re.compile(r"\[\d+\]\s+([\d.]+):\s+sched:sched_waking: comm=(.*?) pid=(\d+) prio=\d+ target_cpu=(\d+)")
MIGRATE = re.compile(r"([\d.]+):\s+sched:sched_migrate_task: comm=.*? pid=(\d+) prio=\d+ orig_cpu=\d+ "
                     r"dest_cpu=(\d+)")


def main(path):
    running = {}   # cpu -> pid on it (0: idle)
    waiting = {}   # pid -> (since, cpu it waits on)
    bins = collections.Counter()
    waits = collections.defaultdict(list)
    last, total = None, 0.0

    def advance(t):
        nonlocal last, total
        if last is not None and len(running) >= 2:  # every CPU seen once
            dt = t - last
            total += dt
            for cpu, pid in running.items():
                if pid != 0:
                    continue
                if not waiting:
                    bins["nothing waiting"] += dt
                elif any(c == cpu for _, c in waiting.values()):
                    bins["woken onto this CPU, not yet running"] += dt
                else:
                    bins["a task waits on another CPU"] += dt
        last = t

    with open(path) as f:
        for line in f:
            m = SWITCH.search(line)
            if m:
                cpu, t, _, prev, state, comm, nxt = m.groups()
                t, cpu, prev, nxt = float(t), int(cpu), int(prev), int(nxt)
                advance(t)
                running[cpu] = nxt
                if nxt in waiting:
                    since, _ = waiting.pop(nxt)
                    waits[comm.split(":")[0]].append(t - since)
                if state.startswith("R") and prev != 0:  # preempted: still runnable
                    waiting[prev] = (t, cpu)
                continue
            m = MIGRATE.search(line)
            if m:
                _, pid, dest = m.groups()
                if int(pid) in waiting:
                    waiting[int(pid)] = (waiting[int(pid)][0], int(dest))
                continue
            m = WAKING.search(line)
            if m:
                t, _, pid, cpu = m.groups()
                advance(float(t))
                if int(pid) not in running.values():
                    waiting[int(pid)] = (float(t), int(cpu))
    ncpu = max(1, len(running))
    print(f"window {total:.3f} s on {ncpu} CPUs; idle CPU time by what was waiting:")
    for name, v in bins.most_common():
        print(f"  {name}: {v:.3f} CPU-s ({100 * v / (ncpu * total or 1):.1f}% of the machine)")
    print("waits for a CPU (wake-up or preemption to running):")
    for name, v in sorted(waits.items(), key=lambda kv: -len(kv[1])):
        if len(v) < 50:
            continue
        v.sort()
        n = len(v)
        print(f"  {name}: {n} waits, median {1e6 * v[n // 2]:.0f} us, p90 {1e6 * v[int(n * 0.9)]:.0f} us, "
              f"mean {1e6 * sum(v) / n:.0f} us")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
