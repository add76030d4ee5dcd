#!/usr/bin/env python3
"""Turns the loadgen JSON files of bench/overload.sh into a Markdown section
(stdout) and, with --plot, a PNG of p50/p99 latency and success per key and
target. Reads RUNS/SCENARIO.TARGET.json; SCENARIO.TARGET.skipped or .failed
hold the reason a run has no JSON.

With --rounds N (bench/overload.sh --repeat N) the runs of round r are in
RUNS/round-r/. --select-median first copies, for every target, the files of
its round with the median skewed goodput into RUNS (the tables show
that round), and the report gets a table of every round."""

import argparse
import json
import math
import os
import shutil
import statistics
import sys

SCENARIOS = ["baseline", "skewed", "even"]
TARGETS = ["direct", "pgbouncer", "pgbouncer-tuned", "pgsluice"]
TARGET_NAMES = {
    "direct": "direct",
    "pgbouncer": "PgBouncer (pool 20/user)",
    "pgbouncer-tuned": "PgBouncer tuned (2/user, db 4, qwt 1 s)",
    "pgsluice": "pgsluice (queues + adaptive)",
}
SCENARIO_TEXT = {
    "baseline": "Baseline: only the three well-behaved app servers (app2..app4 at 0.1x capacity each, pool 5): "
                "their unloaded latency.",
    "skewed": "Skewed load balancer: app1 at 3x capacity (pool 20) and app2..app4 at 0.1x each (pool 5): "
              "3.3x capacity offered in all.",
    "even": "Even overload: app1..app4 at 0.75x capacity each (pool 20): 3x capacity offered in all.",
}
WELL_BEHAVED = ["app2", "app3", "app4"]


def load(runs):
    data, notes = {}, {}
    for s in SCENARIOS:
        for t in TARGETS:
            base = os.path.join(runs, f"{s}.{t}")
            if os.path.exists(base + ".json"):
                with open(base + ".json") as f:
                    data[(s, t)] = json.load(f)
            if (s, t) in data and os.path.exists(base + ".window.json"):
                with open(base + ".window.json") as f:
                    try:
                        data[(s, t)]["_window"] = json.load(f)
                    except ValueError:
                        pass  # no CPU figures for this run
            if (s, t) in data and os.path.exists(base + ".capacity"):
                with open(base + ".capacity") as f:
                    checks = [float(x) for x in f.read().split()]
                if checks:
                    data[(s, t)]["_capacity"] = statistics.mean(checks)
            for ext in ("skipped", "failed"):
                if os.path.exists(base + "." + ext):
                    with open(base + "." + ext) as f:
                        notes[(s, t)] = f"{ext}: " + f.read().strip()
    return data, notes


def cap_of(run, capacity):
    """The capacity a run's goodput is set against: the mean of the checks
    just before and after it, or the overall figure for runs without them."""
    return run.get("_capacity", capacity)


def round_dirs(runs, rounds):
    return [os.path.join(runs, f"round-{r}") for r in range(1, rounds + 1)]


def select_median(runs, rounds):
    """Copies, for each target, every scenario of one round into RUNS: the
    round with the median goodput/capacity in the skewed scenario (or the first
    scenario it ran), so that a target's tables, and its skewed p99 over its
    own baseline p99, all come from one round. Writes RUNS/median-rounds.json
    ({"target": round})."""
    chosen = {}
    for t in TARGETS:
        have = []
        for s in ["skewed", "even", "baseline"]:
            for r, d in enumerate(round_dirs(runs, rounds), 1):
                run = load(d)[0].get((s, t))
                if run is not None:
                    have.append((run["goodput_per_s"] / cap_of(run, 1.0), r))
            if have:
                break
        r = 1  # skipped or failed everywhere: round 1 holds the reason
        if have:
            have.sort()
            r = have[(len(have) - 1) // 2][1]  # the lower median for an even count
            chosen[t] = r
        src = round_dirs(runs, rounds)[r - 1]
        for name in os.listdir(src) if os.path.isdir(src) else []:
            if any(name.startswith(f"{s}.{t}.") for s in SCENARIOS):
                shutil.copy(os.path.join(src, name), os.path.join(runs, name))
    with open(os.path.join(runs, "median-rounds.json"), "w") as f:
        json.dump(chosen, f)


def rounds_table(runs, rounds, capacity):
    """Every round of every scenario and target: the figures the goals are
    about, so that the spread between rounds is visible."""
    per_round = [load(d)[0] for d in round_dirs(runs, rounds)]
    caps = []
    for d in round_dirs(runs, rounds):
        try:
            with open(os.path.join(d, "capacity.txt")) as f:
                caps.append(f.read().strip())
        except OSError:
            caps.append("—")
    chosen = {}
    if os.path.exists(os.path.join(runs, "median-rounds.json")):
        with open(os.path.join(runs, "median-rounds.json")) as f:
            chosen = json.load(f)
    out = [f"**Every round** ({rounds} rounds; the tables above show, for each target, its round with the median "
           "goodput/capacity in the skewed scenario, marked \*, in every scenario). Goodput is over the mean of the "
           "capacity checks just before and after the run (in brackets); the check before each round, of which "
           "that round's offered rates are multiples: "
           f"{', '.join(f'round {i + 1}: {c}/s' for i, c in enumerate(caps))}. Well-behaved = app2..app4 "
           "(skewed) or all keys (even: none is well-behaved, the column shows the worst key), p99 over the "
           "unloaded p99 of the same round's baseline on the same target. A run in which the hypervisor took "
           f"{100 * NOISY_STEAL:.0f}% of the machine or more (steal) says so, and so does a p99 ratio whose "
           "baseline ran through such steal: a slowed baseline makes every ratio to it look better.", "",
           "| scenario | target | " + " | ".join(f"round {r}" for r in range(1, rounds + 1)) + " |",
           "|---|---|" + "---:|" * rounds]
    for s in ("skewed", "even"):
        for t in TARGETS:
            cells = []
            for r, data in enumerate(per_round, 1):
                run = data.get((s, t))
                if run is None:
                    cells.append("—")
                    continue
                ref, ref_t = unloaded_p99(data, t)
                keys = run["keys"] if s == "even" else [k for k in run["keys"] if k["name"] in WELL_BEHAVED]
                succ = min(100 * (k["success_ratio"] or 0) for k in keys) if keys else None
                p99s = [k["latency_ms"]["p99"] for k in keys if k["latency_ms"]["p99"] is not None]
                ratio = f"{max(p99s) / ref:.1f}x" if (p99s and ref and ref_t == t) else "—"
                base_steal = steal_share(data.get(("baseline", ref_t)))
                if ratio != "—" and base_steal >= NOISY_STEAL:
                    ratio += f" (baseline steal {100 * base_steal:.0f}%)"
                rej = [k["rejection_latency_ms"] for k in run["keys"] if k["rejection_latency_ms"]["count"]]
                rej_txt = ""
                if rej:
                    worst = max(rej, key=lambda x: x["p99"] or 0)
                    rej_txt = f", rejections p99 {rejection_p99(worst)}"
                steal = steal_share(run)
                steal_txt = f", steal {100 * steal:.0f}%" if steal >= NOISY_STEAL else ""
                mark = "\*" if chosen.get(t) == r else ""
                cells.append(f"{mark}goodput **{run['goodput_per_s'] / cap_of(run, capacity):.2f}** "
                             f"(of {cap_of(run, capacity):.0f}/s), success "
                             f"{succ:.1f}%, p99 {ratio}{rej_txt}{steal_txt}" if succ is not None else "—")
            if any(c != "—" for c in cells):
                out.append(f"| {s} | {TARGET_NAMES[t]} | " + " | ".join(cells) + " |")
    return out


# A run (or the baseline a round's p99 ratios are taken against) in which the
# hypervisor took this share of the machine or more is marked in the rounds
# table: its figures say more about the host than about the target.
NOISY_STEAL = 0.03


def steal_share(run):
    """Share of the machine's CPU time stolen by the hypervisor during a run's
    measured window; 0 when the run has no CPU figures."""
    w = run.get("_window") if run else None
    if not w or w.get("wall", 0) <= 0:
        return 0.0
    return w["steal"] / (w["wall"] * (os.cpu_count() or 1))


def ms(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    return f"{v:.0f} ms" if v >= 10 else f"{v:.1f} ms"


def unloaded_p99(data, target):
    """Median over app2..app4 of their p99 in the baseline run on this target
    (falls back to the direct baseline); None when there is no baseline."""
    for t in (target, "direct"):
        run = data.get(("baseline", t))
        if run:
            vals = [k["latency_ms"]["p99"] for k in run["keys"] if k["latency_ms"]["p99"] is not None]
            if vals:
                return statistics.median(vals), t
    return None, None


def failures(k):
    parts = [f"{o} {n}" for o, n in sorted(k["outcomes"].items()) if o != "00000"]
    if k.get("reconnects"):
        parts.append(f"reconnects {k['reconnects']}")
    return ", ".join(parts) if parts else "—"


def scenario_table(data, notes, scenario, capacity):
    out = [f"**{SCENARIO_TEXT[scenario]}**", "",
           "| target | key | offered/s | success % | p50 | p99 | p99 of rejections (after sending) | goodput/capacity "
           "| p99 / unloaded p99 | failures (count) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for t in TARGETS:
        run = data.get((scenario, t))
        if run is None:
            if (scenario, t) in notes:
                out.append(f"| {TARGET_NAMES[t]} | — | | | | | | | | {notes[(scenario, t)]} |")
            continue
        ref, _ = unloaded_p99(data, t)
        for k in run["keys"]:
            lat = k["latency_ms"]
            ratio = f"{lat['p99'] / ref:.1f}x" if (ref and lat["p99"] is not None) else "—"
            rej = k["rejection_latency_ms"]
            out.append(f"| {TARGET_NAMES[t]} | {k['name']} | {k['offered_per_s']:.1f} | "
                       f"{100 * (k['success_ratio'] or 0):.1f} | {ms(lat['p50'])} | {ms(lat['p99'])} | "
                       f"{rejection_p99(rej)} | "
                       f"{k['throughput_ok_per_s'] / cap_of(run, capacity):.2f} | {ratio} | {failures(k)} |")
        offered = sum(k["offered_per_s"] for k in run["keys"])
        succ = 100 * run["ok"] / run["sent"] if run["sent"] else 0
        out.append(f"| {TARGET_NAMES[t]} | *all* | {offered:.1f} | {succ:.1f} | | | | "
                   f"**{run['goodput_per_s'] / cap_of(run, capacity):.2f}** | | |")
    return out


def rejection_p99(rej):
    """p99 of 53300 answers from the intended arrival, and (in parentheses)
    from when the request was written: the difference is the generator's own
    lateness and local queueing."""
    if not rej["count"]:
        return "—"
    sent = rej.get("p99_from_send")
    return ms(rej["p99"]) + (f" ({ms(sent)})" if sent is not None else "")


def headline(data, notes, capacity):
    """One line per target for the skewed scenario: what the well-behaved keys got."""
    if not any(s == "skewed" for s, _ in list(data) + list(notes)):
        return []
    out = ["Skewed scenario at a glance (app2..app4 = the well-behaved app servers; "
           "\"unloaded\" = their median p99 in the baseline run on the same target):", "",
           "| target | app2..app4 success % (worst) | app2..app4 p50 (worst) | app2..app4 p99 (worst) "
           "| worst p99 / unloaded p99 (same target) | worst p99 / unloaded p99 direct | app1 success % "
           "| goodput/capacity |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for t in TARGETS:
        run = data.get(("skewed", t))
        if run is None:
            if ("skewed", t) in notes:
                out.append(f"| {TARGET_NAMES[t]} | {notes[('skewed', t)]} | | | | | | |")
            continue
        wb = [k for k in run["keys"] if k["name"] in WELL_BEHAVED]
        lb = [k for k in run["keys"] if k["name"] == "app1"]
        if not wb:
            continue
        succ = min(100 * (k["success_ratio"] or 0) for k in wb)
        p50s = [k["latency_ms"]["p50"] for k in wb if k["latency_ms"]["p50"] is not None]
        p99s = [k["latency_ms"]["p99"] for k in wb if k["latency_ms"]["p99"] is not None]
        ref, ref_t = unloaded_p99(data, t)
        worst99 = max(p99s) if p99s else None
        ratio = f"{worst99 / ref:.1f}x (of {ms(ref)})" if (ref and worst99 and ref_t == t) else "—"
        dref, _ = unloaded_p99(data, "direct")
        dratio = f"{worst99 / dref:.1f}x (of {ms(dref)})" if (dref and worst99) else "—"
        app1 = f"{100 * (lb[0]['success_ratio'] or 0):.1f}" if lb else "—"
        out.append(f"| {TARGET_NAMES[t]} | {succ:.1f} | {ms(max(p50s) if p50s else None)} | {ms(worst99)} | "
                   f"{ratio} | {dratio} | {app1} | {run['goodput_per_s'] / cap_of(run, capacity):.2f} |")
    return out


def capacity_cpu(runs, rounds):
    """The capacity checks with their CPU: [(queries/s, PostgreSQL CPUs,
    queries per PostgreSQL CPU-second, steal CPUs)], from capacity.txt and
    capacity.cpu (bench/cpu_window.py --now before and after) of each round."""
    dirs = round_dirs(runs, rounds) if rounds > 1 else [runs]
    out = []
    for d in dirs:
        try:
            with open(os.path.join(d, "capacity.txt")) as f:
                tps = float(f.read())
            with open(os.path.join(d, "capacity.cpu")) as f:
                a, b = (json.loads(line) for line in f.read().split("\n") if line.strip())
        except (OSError, ValueError):
            continue
        wall = b["t"] - a["t"]
        pg = b["postgres"] - a["postgres"]
        if wall > 0 and pg > 0:
            out.append((tps, pg / wall, tps * wall / pg, (b["steal"] - a["steal"]) / wall))
    return out


def cpu_table(data, checks):
    """Where the machine's CPU went in each run's measured window, and how
    much useful work PostgreSQL did per CPU-second of its own, next to the
    same figures in the capacity checks: goodput/capacity is the product of
    the two ratios (PostgreSQL's CPUs, and its useful queries per CPU-second,
    each over the checks')."""
    ncpu = os.cpu_count() or 1
    pg_cap = statistics.median(c[1] for c in checks) if checks else None
    eff_cap = statistics.median(c[2] for c in checks) if checks else None
    rows = []
    for s in SCENARIOS:
        for t in TARGETS:
            run = data.get((s, t))
            w = run.get("_window") if run else None
            if not w or w["wall"] <= 0:
                continue
            pg = w["postgres"] / w["wall"]
            eff = run["goodput_per_s"] / pg if pg > 0 else float("nan")
            proxy = f"{100 * w['proxy'] / w['wall']:.0f}%" if t not in ("direct",) else "—"
            pg_txt = f"{pg:.2f}" + (f" ({pg / pg_cap:.2f})" if pg_cap else "")
            eff_txt = "—" if math.isnan(eff) else f"{eff:.0f}" + (f" ({eff / eff_cap:.2f})" if eff_cap else "")
            gen = run.get("cpu_s")
            gen_s = float(run.get("duration_s", 0)) + float(run.get("warmup_s", 0))
            gen_txt = f"{100 * gen / gen_s:.0f}%" if gen is not None and gen_s > 0 else "—"
            rows.append(f"| {s} | {TARGET_NAMES[t]} | {100 * w['busy'] / (w['wall'] * ncpu):.0f}% | "
                        f"{100 * steal_share(run):.0f}% | {pg_txt} | {proxy} | "
                        f"{gen_txt} | {eff_txt} |")
    if not rows:
        return []
    if checks:
        cap = (f"In the capacity checks ({len(checks)}; pgbench directly, medians) PostgreSQL used "
               f"**{pg_cap:.2f} CPUs** and did **{eff_cap:.0f} queries per CPU-second** of its own "
               f"(steal {100 * statistics.median(c[3] for c in checks) / ncpu:.0f}%). ")
    else:
        cap = ""
    return [f"**Where the CPU went** (over each run's measured window, from /proc; busy = user + nice + system + "
            f"irq + softirq over all {ncpu} CPUs; steal = time the hypervisor gave to other guests; PostgreSQL "
            "= the postmaster and all its backends, in CPUs; proxy in % of one CPU; load generator: its own figure "
            "over its whole run, warm-up and drain included, per second of arrivals, in % of one CPU). " + cap +
            "In brackets, each run's figure over the checks': goodput/capacity is about the product of the two, so "
            "they say whether the database lost throughput for want of CPU (shared with the proxy, the load "
            "generator and idle time) or did less useful work with the CPU it had (queries that timed out, "
            "contention, switching).", "",
            "| scenario | target | machine busy | steal | PostgreSQL CPUs | proxy | load generator | "
            "successful queries per PostgreSQL CPU-second |", "|---|---|---:|---:|---:|---:|---:|---:|"] + rows


def plot(data, notes, path, timeout_ms):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("overload_report: matplotlib missing, no plot", file=sys.stderr)
        return False
    scen = [s for s in ["skewed", "even", "baseline"] if any(k[0] == s for k in data)]
    if not scen:
        return False
    fig, axes = plt.subplots(2, len(scen), figsize=(6.5 * len(scen), 8), squeeze=False)
    colors = {"app1": "#d62728", "app2": "#1f77b4", "app3": "#2ca02c", "app4": "#9467bd"}
    for col, s in enumerate(scen):
        targets = [t for t in TARGETS if (s, t) in data or (s, t) in notes]
        keys = sorted({k["name"] for t in targets if (s, t) in data for k in data[(s, t)]["keys"]})
        width = 0.8 / max(1, len(keys))
        lat_ax, ok_ax = axes[0][col], axes[1][col]
        for j, name in enumerate(keys):
            xs, p50, p99, succ = [], [], [], []
            for i, t in enumerate(targets):
                if (s, t) not in data:
                    continue
                k = next((k for k in data[(s, t)]["keys"] if k["name"] == name), None)
                if k is None:
                    continue
                xs.append(i - 0.4 + width * (j + 0.5))
                p50.append(k["latency_ms"]["p50"] or float("nan"))
                p99.append(k["latency_ms"]["p99"] or float("nan"))
                succ.append(100 * (k["success_ratio"] or 0))
            c = colors.get(name, "gray")
            lat_ax.bar(xs, p99, width * 0.9, color=c, alpha=0.45, label=f"{name} p99")
            lat_ax.scatter(xs, p50, color=c, marker="_", s=300, linewidths=3, label=f"{name} p50", zorder=3)
            ok_ax.bar(xs, succ, width * 0.9, color=c, label=name)
        for i, t in enumerate(targets):
            if (s, t) not in data:
                ok_ax.text(i, 50, notes[(s, t)].split(":")[0], ha="center", fontsize=9, color="gray")
        labels = [TARGET_NAMES[t].replace(" (", "\n(") for t in targets]
        for ax in (lat_ax, ok_ax):
            ax.set_xticks(range(len(targets)))
            ax.set_xlim(-0.5, len(targets) - 0.5)
            ax.set_xticklabels(labels, fontsize=8)
            ax.grid(axis="y", alpha=0.3)
        lat_ax.set_yscale("log")
        lat_ax.set_ylim(1, timeout_ms * 30)  # one scale in every panel, room for the legend
        lat_ax.set_ylabel("latency of successful requests, ms (log)")
        lat_ax.set_title(f"{s}: p99 (bars) and p50 (ticks)")
        ok_ax.set_ylim(0, 105)
        ok_ax.set_ylabel("success %")
        ok_ax.set_title(f"{s}: success per key")
        lat_ax.legend(fontsize=7, ncol=4, loc="upper left")
        ok_ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--meta")
    ap.add_argument("--capacity", type=float)
    ap.add_argument("--title")
    ap.add_argument("--section-id")
    ap.add_argument("--duration")
    ap.add_argument("--warmup")
    ap.add_argument("--timeout-ms")
    ap.add_argument("--plot")
    ap.add_argument("--plot-ref")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--placement", default="The load generator, the proxy and PostgreSQL share the same CPUs",
                    help="where each process ran (a sentence)")
    ap.add_argument("--tuned-pool", type=int, default=2, help="PgBouncer tuned: default_pool_size")
    ap.add_argument("--min-limit", type=int, default=2, help="pgsluice: [admission] min_limit")
    ap.add_argument("--tuned-db", type=int, default=4, help="PgBouncer tuned: max_db_connections")
    ap.add_argument("--select-median", action="store_true",
                    help="only copy each target's median round into RUNS, then exit")
    a = ap.parse_args()
    if a.select_median:
        select_median(a.runs, a.rounds)
        return
    missing = [n for n in ("meta", "capacity", "title", "section_id", "duration", "warmup", "timeout_ms")
               if getattr(a, n) is None]
    if missing:
        ap.error("a report needs --" + ", --".join(n.replace("_", "-") for n in missing))
    TARGET_NAMES["pgbouncer-tuned"] = f"PgBouncer tuned ({a.tuned_pool}/user, db {a.tuned_db}, qwt 1 s)"
    data, notes = load(a.runs)
    with open(a.meta) as f:
        meta = f.read().rstrip("\n")
    out = [f"<!-- BEGIN {a.section_id} -->", f"## {a.title}", "", meta,
           f"- Each run: bench/loadgen, open loop (Poisson arrivals), {a.duration} s measured after a "
           f"{a.warmup} s warm-up; each key is one app server with its own connection pool and a local FIFO "
           f"when the pool is busy; latency from the intended arrival time (rejections also from when the "
           f"request was written to its connection, in parentheses: the difference is the generator's own "
           f"lateness); a request unanswered after "
           f"{a.timeout_ms} ms counts as `timeout`. Failures by SQLSTATE (53300 = rejected, 08P01 = "
           f"PgBouncer's query_wait_timeout, which also closes the connection), `conn` = connection broken.",
           "- Targets: PgBouncer 1.18 transaction mode with `default_pool_size = 20` per user and no "
           "`max_db_connections`; PgBouncer tuned to the capacity (`default_pool_size = "
           f"{a.tuned_pool}` per user, as many as the database's CPUs, `max_db_connections = {a.tuned_db}`, "
           "`query_wait_timeout = 1`); pgsluice transaction mode, `pool_size = 20`, "
           "`[limits] client_key = \"user\", max_queue = 64, queue_timeout_ms = 1000`, "
           f"`[admission] mode = \"adaptive\", min_limit = {a.min_limit}, max_limit = 16, shed_wait_ms = 4` "
           "(min_limit = the database's CPUs). SCRAM-SHA-256 "
           "everywhere. Both proxies run at nice -5 (infrastructure the clients wait on; at equal priority "
           "with the CPU-bound backends they would queue behind them), each in a session of its own whose "
           "autogroup gets the same nice value (every backend is a session of its own, and under autogroups "
           "nice counts only within one), the load "
           "generator at nice -10, PostgreSQL at 0. pgsluice asks Linux for a 100 µs scheduler slice "
           "(`[proxy] sched_slice_us = 100`) and so does the load generator, which stands in for app servers "
           "on machines of their own; PgBouncer has no such setting.",
           f"- {a.placement}; goodput/capacity = successful "
           "queries/s over the mean of the capacity checks just before and after that run; p50/p99 are of successful requests; \"unloaded p99\" = the "
           "median p99 of app2..app4 in the baseline run on the same target (direct's if that target has none).",
           "- Reading goodput 0: an app server whose local FIFO stays full dispatches only requests that have "
           "already waited nearly the whole timeout, so PostgreSQL stays busy answering requests that arrive "
           "late and count as `timeout` (congestion collapse): the database works at capacity and the "
           "clients get nothing.",
           ""]
    out += headline(data, notes, a.capacity)
    out.append("")
    for s in SCENARIOS:
        if any(k[0] == s for k in list(data) + list(notes)):
            out += scenario_table(data, notes, s, a.capacity)
            out.append("")
    cpu = cpu_table(data, capacity_cpu(a.runs, a.rounds))
    if cpu:
        out += cpu + [""]
    if a.rounds > 1:
        out += rounds_table(a.runs, a.rounds, a.capacity) + [""]
    if a.plot and plot(data, notes, a.plot, float(a.timeout_ms)):
        out += [f"![p50/p99 latency and success per key and target]({a.plot_ref or a.plot})", ""]
    out.append(f"<!-- END {a.section_id} -->")
    print("\n".join(out))


if __name__ == "__main__":
    main()
