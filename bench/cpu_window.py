#!/usr/bin/env python3
"""Where the CPU went during one load generator run's measured window.

    cpu_window.py ERRFILE NKEYS WARMUP_S DURATION_S POSTMASTER_PID PROXY_PID OUT.json

Waits until the load generator has written "connections open" NKEYS times to
ERRFILE (its arrivals begin then), sleeps WARMUP_S, reads the counters, sleeps
DURATION_S, reads them again and writes the differences as JSON: wall seconds;
CPU-seconds of the machine (busy = user + nice + system + irq + softirq, steal
apart: time the hypervisor gave to someone else), of PostgreSQL (the
postmaster and all its children, exited ones included through the
postmaster's cutime/cstime) and of the proxy (PROXY_PID; 0 = none). Not of
the load generator: it exits as soon as its window ends, before the second
reading; it reports its own CPU in its JSON.

    cpu_window.py --now POSTMASTER_PID PROXY_PID

prints the same counters as they are now (JSON), for bracketing a command
such as pgbench by hand. A process that is gone reads as 0. Gives up (exit 1,
nothing written) after 60 s without the arrivals or on SIGTERM.
"""
import json
import os
import signal
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    # Field 2 (comm) may hold spaces: split after its closing parenthesis.
    return s[s.index("(") + 1:s.rindex(")")], s[s.rindex(")") + 2:].split()


def proc_cpu(pid, children=False):
    st = stat_fields(pid)
    if st is None:
        return 0.0
    f = st[1]  # f[0] is field 3 (state); utime is field 14
    ticks = int(f[11]) + int(f[12])
    if children:
        ticks += int(f[13]) + int(f[14])  # cutime + cstime: children that exited and were waited for
    return ticks / HZ


def postgres_cpu(postmaster):
    """The postmaster's own and its reaped children's CPU, plus its live
    children's. A child reaped while /proc is walked would count in neither
    (or both), so the walk is repeated until the postmaster's reaped-children
    time is the same before and after it: when the load generator exits, its
    backends exit with it, just as the window's second reading is taken, and
    one such miss once read as minus 0.9 CPU-seconds."""
    if postmaster <= 0:
        return 0.0
    for _ in range(20):
        before = proc_cpu(postmaster, children=True)
        total = before
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            st = stat_fields(p)
            if st is not None and int(st[1][1]) == postmaster:  # f[1] is field 4 (ppid)
                total += proc_cpu(p)
        if proc_cpu(postmaster, children=True) == before:
            break
    return total


def machine():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / HZ, v[7] / HZ


def counters(postmaster, proxy):
    busy, steal = machine()
    return {"t": time.time(), "busy": busy, "steal": steal, "postgres": postgres_cpu(postmaster),
            "proxy": proc_cpu(proxy) if proxy > 0 else 0.0}


def main():
    if sys.argv[1] == "--now":
        print(json.dumps(counters(int(sys.argv[2]), int(sys.argv[3]))))
        return 0
    errfile, nkeys, warmup, duration, postmaster, proxy, out = sys.argv[1:8]
    nkeys, warmup, duration = int(nkeys), float(warmup), float(duration)
    postmaster, proxy = int(postmaster), int(proxy)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    give_up = time.time() + 60
    while True:
        try:
            with open(errfile) as f:
                if sum("connections open" in line for line in f) >= nkeys:
                    break
        except OSError:
            pass
        if time.time() > give_up:
            return 1
        time.sleep(0.05)
    time.sleep(warmup)
    a = counters(postmaster, proxy)
    time.sleep(duration)
    b = counters(postmaster, proxy)
    res = {k: round(b[k] - a[k], 3) for k in a}
    res["wall"] = res.pop("t")
    with open(out + ".tmp", "w") as f:
        json.dump(res, f)
    os.replace(out + ".tmp", out)  # whole or not at all
    return 0


if __name__ == "__main__":
    sys.exit(main())
