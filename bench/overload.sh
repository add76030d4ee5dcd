#!/usr/bin/env bash
# Overload: a skewed load balancer. One app server (app1) sends 3x what the
# database can do while three well-behaved ones (app2..app4) send 0.1x each.
# Do the well-behaved ones still get fast answers? Measured directly against
# PostgreSQL, through PgBouncer (as usually configured, and tuned to the
# database's capacity) and through pgsluice (per-user queues, adaptive
# admission). Writes a section of bench/RESULTS.md and bench/overload.png.
#
#   bench/overload.sh            # full run (~15 minutes on 2 cores)
#   bench/overload.sh --quick    # 15 s runs, fewer targets (~5 minutes), own section
#
# Steps: start a throwaway PostgreSQL; create roles app1..app4 (password
# "app"); calibrate a CPU-bound query of ~6 ms (SELECT count(*) FROM
# generate_series(1, N)) and the capacity (the best pgbench TPS directly, at
# 1..4 times the database's CPUs in clients); then, in every round, check the capacity again at that
# client count (the round's offered rates are multiples of this check); then, for every scenario and target, run bench/loadgen
# (open loop, Poisson arrivals, one connection pool per app server, latency
# from the intended arrival time), check the capacity again after each run
# (a run's goodput is set against the checks just before and after it), and
# record with bench/cpu_window.py where the CPU went in its measured window:
#   baseline  app2..app4 at 0.1x capacity each, pool 5 (their unloaded latency)
#   skewed    app1 at 3x capacity, pool 20; app2..app4 at 0.1x each, pool 5
#   even      app1..app4 at 0.75x capacity each, pool 20
# Targets:
#   direct           PostgreSQL itself
#   pgbouncer        PgBouncer 1.18, transaction mode, default_pool_size 20
#                    per user, no database cap
#   pgbouncer-tuned  default_pool_size = the database's CPUs, max_db_connections
#                    twice that, query_wait_timeout 1
#   pgsluice         pool_size 20, [limits] per user (max_queue 64,
#                    queue_timeout_ms 1000), adaptive admission from the
#                    database's CPU count to 16, shed_wait_ms 4; skipped
#                    with a message when `pgsluice --check` refuses that config
#
# Skew alerts: pgsluice also runs with admin_listen, [admin] users and
# [alerts] at their defaults. During each of its runs a poller reads
# GET /api/status every 0.5 s (until the load generator's arrivals end) and
# records when an alert for each key was raised (its since_ms) and first seen
# active, from the load generator's start; the section gets a table of which
# alerts fired per scenario (expected: app1 within 10 s when skewed, none in
# baseline and even), checked against the `alert` log events.
#
# Options:
#   --quick            15 s runs, 3 s warm-up; baseline and skewed only; targets
#                      direct, pgbouncer-tuned, pgsluice; results go to a separate
#                      "quick" section and bench/overload-quick.png
#   --duration S       measured seconds per run (default 40; 10..300)
#   --warmup S         warm-up seconds per run, not counted (default 5)
#   --timeout-ms MS    client-side timeout of a request (default 10000)
#   --targets LIST     comma list of direct,pgbouncer,pgbouncer-tuned,pgsluice
#   --scenarios LIST   comma list of baseline,skewed,even
#   --query-ms MS      target latency of the calibrated query (default 6)
#   --seed N           arrival seed (default 42; the same for every target)
#   --repeat N         rounds of every scenario and target (default 1, at most 5);
#                      the tables show each target's median round (by skewed goodput), and a
#                      table lists every round
#   --results FILE     Markdown file to update (default bench/RESULTS.md)
#   --no-results       print the tables only; touch neither RESULTS.md nor the PNG
#   --no-build         use the existing build (same as PGSLUICE_NO_BUILD=1)
#   --cpus split|shared  split (default): the machine is two hosts, the first
#                      half of its CPUs the database host (PostgreSQL, and the
#                      proxy under test beside it), the rest the app servers
#                      (load generator, capacity checks, pollers); shared: all
#                      of them on every CPU, as runs 1-10 in RESULTS.md were.
#                      Checks and tuned pools scale with the database's CPUs
#
# Environment: LOADGEN_SLICE_US and PGSLUICE_SLICE_US (default 100; 0 = the
# kernel's default) are the scheduler slices of the load generator and of
# pgsluice ([proxy] sched_slice_us). OVERLOAD_ADMISSION replaces the body of pgsluice's [admission]
# table (for experiments, e.g. $'mode = "static"\nmax_limit = 3'); the
# section's description then no longer matches, so use it with --no-results.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# Proxies are infrastructure every client waits on; at equal priority with 80
# CPU-bound backends on 2 CPUs they would queue behind them. PgBouncer and
# pgsluice get the same.
export PROXY_NICE="${PROXY_NICE:--5}"
# The load generator stands in for app servers on machines of their own; a
# 100 us scheduler slice (Linux 6.12+) keeps its wake-ups from queueing behind
# the backends, which would add to every latency it measures. pgsluice asks for
# the same through [proxy] sched_slice_us (PgBouncer has no such setting).
LOADGEN_SLICE_US="${LOADGEN_SLICE_US:-100}"

COMMAND="bench/overload.sh${*:+ $*}"
DURATION=40 WARMUP=5 TIMEOUT_MS=10000 QUERY_MS=6 SEED=42 QUICK=0 WRITE_RESULTS=1 REPEAT=1
TARGETS="direct,pgbouncer,pgbouncer-tuned,pgsluice"
SCENARIOS="baseline,skewed,even"
TARGETS_SET=0 SCENARIOS_SET=0 CPUS=split
RESULTS="$BENCH_DIR/RESULTS.md"
APP_PASS=app

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 DURATION=15 WARMUP=3 ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --timeout-ms) TIMEOUT_MS=$2; shift ;;
    --targets) TARGETS=$2; TARGETS_SET=1; shift ;;
    --scenarios) SCENARIOS=$2; SCENARIOS_SET=1; shift ;;
    --query-ms) QUERY_MS=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --results) RESULTS=$2; shift ;;
    --no-results) WRITE_RESULTS=0 ;;
    --no-build) export PGSLUICE_NO_BUILD=1 ;;
    --cpus) CPUS=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ $QUICK == 1 ]]; then
  [[ $TARGETS_SET == 1 ]] || TARGETS="direct,pgbouncer-tuned,pgsluice"
  [[ $SCENARIOS_SET == 1 ]] || SCENARIOS="baseline,skewed"
fi
[[ "$DURATION" =~ ^[0-9]+$ && $DURATION -ge 5 && $DURATION -le 300 ]] || die "--duration must be 5..300 seconds"
[[ "$WARMUP" =~ ^[0-9]+$ && $WARMUP -le 60 ]] || die "--warmup must be 0..60 seconds"
[[ "$TIMEOUT_MS" =~ ^[0-9]+$ && $TIMEOUT_MS -ge 100 && $TIMEOUT_MS -le 60000 ]] || die "--timeout-ms must be 100..60000"
[[ "$REPEAT" =~ ^[1-5]$ ]] || die "--repeat must be 1..5"
[[ $CPUS == split || $CPUS == shared ]] || die "--cpus must be split or shared"
has_target() { [[ ",$TARGETS," == *",$1,"* ]]; }
has_scenario() { [[ ",$SCENARIOS," == *",$1,"* ]]; }
for t in ${TARGETS//,/ }; do
  case "$t" in direct|pgbouncer|pgbouncer-tuned|pgsluice) ;; *) die "unknown target $t" ;; esac
done
for s in ${SCENARIOS//,/ }; do
  case "$s" in baseline|skewed|even) ;; *) die "unknown scenario $s" ;; esac
done

lib_init
ensure_packages
RUN_ROOT="$WORK_DIR/runs"
RUN_DIR="$RUN_ROOT"   # this round's runs (RUN_ROOT/round-R with --repeat)
mkdir -p "$RUN_DIR"

LOADGEN="$(build_bench_tool loadgen)"

# pgsluice is optional: a build that fails (the tree may be mid-change) only
# skips its rows.
PGSLUICE_SKIP=""
if has_target pgsluice; then
  if ! (build_pgsluice); then PGSLUICE_SKIP="pgsluice did not build"; fi
fi

# matplotlib for the plot (Debian's package); without it the tables are still written.
# Debian's python3 (a python3 earlier in PATH, e.g. pyenv's, would not see it).
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=python3
if [[ $WRITE_RESULTS == 1 ]] && ! "$PYTHON" -c 'import matplotlib' 2>/dev/null; then
  log "installing python3-matplotlib for the plot"
  { env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null ||
    { env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
      env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null; }; } ||
    log "could not install python3-matplotlib; no plot this time"
fi

start_postgres
prepare_overload_database
USERS=(app1 app2 app3 app4 "$BENCH_USER")

# Where everything runs; start_target moves each proxy to the database's CPUs.
place_cpus "$CPUS"
if [[ $CPUS == split ]]; then
  PLACEMENT="PostgreSQL and the proxy under test run on CPU $DB_CPUS (the database host: a proxy installed beside the database pays for its CPU there), the load generator, the capacity checks' pgbench and the pollers on CPU $APP_CPUS (the app servers, which in the outage run on machines of their own), pinned with taskset (\`--cpus split\`)"
else
  PLACEMENT="The load generator, the proxy and PostgreSQL share all $DB_CPU_COUNT CPUs (\`--cpus shared\`)"
fi
# PgBouncer "tuned to the capacity": a pool per user as large as the
# database's CPUs, and a cap of twice that on the database.
TUNED_POOL=$DB_CPU_COUNT TUNED_DB=$((2 * DB_CPU_COUNT))

# ------------------------------------------------------------ calibration ----

pgbench_direct() {  # pgbench_direct SCRIPT ARGS... -> its output
  PGPASSWORD="$BENCH_PASS" timeout -k 5 60 "$PG_BIN/pgbench" -n -f "$1" "${@:2}" \
    -h 127.0.0.1 -p "$PG_PORT" -U "$BENCH_USER" "$BENCH_DB" 2>&1
}

CAL="$WORK_DIR/calibration.txt"
: > "$CAL"
# Latency is about proportional to N: scale N towards the target until one
# measurement lands within 15% (at most 5 measurements; the machine may be
# noisy). The last measurement is always of the N that is used.
N=40000
for i in 1 2 3 4 5; do
  echo "SELECT count(*) FROM generate_series(1, $N);" > "$WORK_DIR/query.sql"
  lat="$(pgbench_direct "$WORK_DIR/query.sql" -c 1 -T 3 | awk '/^latency average/ { print $4 }')"
  [[ -n "$lat" ]] || die "calibration: pgbench gave no latency"
  log "calibration: N=$N -> $lat ms at 1 client"
  echo "N=$N: $lat ms" >> "$CAL"
  if [[ $i == 5 ]] || awk -v l="$lat" -v want="$QUERY_MS" 'BEGIN { exit !(l > want * 0.85 && l < want * 1.15) }'; then
    break
  fi
  N="$(awk -v n="$N" -v l="$lat" -v want="$QUERY_MS" \
        'BEGIN { x = int(n * want / l / 1000 + 0.5) * 1000; if (x < 1000) x = 1000; print x }')"
done
QUERY="SELECT count(*) FROM generate_series(1, $N)"
QUERY_LAT=$lat
echo "$QUERY;" > "$WORK_DIR/query.sql"

# 10 s per check: on this VM consecutive 5 s checks with nothing else running
# read 262-331/s (sd 7%), and a run's goodput is over the mean of two checks.
CAP_SECS=10
[[ $QUICK == 1 ]] && CAP_SECS=3
# capacity_at CLIENTS [CPU_OUT] -> queries/s of the calibrated query, directly.
# With CPU_OUT, also writes there what PostgreSQL's processes and the machine
# spent meanwhile (bench/cpu_window.py --now before and after, as JSON lines).
capacity_at() {
  local pm
  pm="$(head -n 1 "$PG_DATA/postmaster.pid")"
  [[ -n ${2:-} ]] && "$PYTHON" "$BENCH_DIR/cpu_window.py" --now "$pm" 0 > "$2"
  pgbench_direct "$WORK_DIR/query.sql" -c "$1" -j 2 -T "$CAP_SECS" | awk '/^tps = / { printf "%.1f", $3 }'
  [[ -n ${2:-} ]] && "$PYTHON" "$BENCH_DIR/cpu_window.py" --now "$pm" 0 >> "$2"
  return 0
}
CAPACITY=0 CAP_CLIENTS=0 CAP_LINE="" CAP_COUNTS=()
for m in 1 2 3 4; do
  c=$((m * DB_CPU_COUNT))
  CAP_COUNTS+=("$c")
  tps="$(capacity_at "$c")"
  [[ -n "$tps" ]] || die "capacity: pgbench -c $c gave no tps"
  log "capacity: $c clients -> $tps queries/s"
  CAP_LINE+="${CAP_LINE:+, }$c clients: $tps/s"
  if awk -v a="$tps" -v b="$CAPACITY" 'BEGIN { exit !(a > b) }'; then CAPACITY=$tps CAP_CLIENTS=$c; fi
done
log "capacity: $CAPACITY queries/s (best at $CAP_CLIENTS clients); query: $QUERY (${QUERY_LAT} ms alone)"

# The offered rates are multiples of RATE_BASE: the calibration's best until
# the first round, then each round's own capacity check (below).
RATE_BASE=$CAPACITY
rate() { awk -v c="$RATE_BASE" -v f="$1" 'BEGIN { printf "%.1f", c * f }'; }

# Keys of each scenario: NAME:USER:PASSWORD:APPLICATION_NAME:RATE:POOL.
scenario_keys() {
  case "$1" in
    baseline) echo "app2:app2:$APP_PASS:app-server-2:$(rate 0.1):5 app3:app3:$APP_PASS:app-server-3:$(rate 0.1):5" \
                   "app4:app4:$APP_PASS:app-server-4:$(rate 0.1):5" ;;
    skewed) echo "app1:app1:$APP_PASS:app-server-1:$(rate 3):20 app2:app2:$APP_PASS:app-server-2:$(rate 0.1):5" \
                 "app3:app3:$APP_PASS:app-server-3:$(rate 0.1):5 app4:app4:$APP_PASS:app-server-4:$(rate 0.1):5" ;;
    even) local k out=""
          for k in 1 2 3 4; do out+="app$k:app$k:$APP_PASS:app-server-$k:$(rate 0.75):20 "; done
          echo "$out" ;;
  esac
}

# ---------------------------------------------------------------- targets ----

# The [admission] table of pgsluice (OVERLOAD_ADMISSION replaces it). Its
# floor is the database's CPU count. A floor above it is learned as "uncontended" latency though it
# already queues inside the database, and lets the limit settle at twice the
# cores (on one CPU, six 20 s runs of each: the well-behaved keys' p99 38-80
# ms against 24-52 ms, rejections' p99 4.4-5.8 ms against 4.0-4.2 ms, goodput
# alike; RESULTS.md, "Why the overload benchmark splits the CPUs").
MIN_LIMIT=$DB_CPU_COUNT
ADMISSION_BODY=${OVERLOAD_ADMISSION:-$(overload_adaptive_admission)}

# start_target TARGET SCENARIO: starts the proxy (if any) and sets
# TARGET_PORT (and, for pgsluice, ADMIN_PORT and PGS_DIR); returns 1 (with
# PGSLUICE_SKIP set) when pgsluice cannot run this config.
start_target() {
  local up=() u
  for u in "${USERS[@]}"; do
    if [[ $u == "$BENCH_USER" ]]; then up+=("$u:$BENCH_PASS"); else up+=("$u:$APP_PASS"); fi
  done
  case "$1" in
    direct) TARGET_PORT=$PG_PORT ;;
    pgbouncer)
      start_pgbouncer_custom pgbouncer $'default_pool_size = 20\nmax_db_connections = 0' "${up[@]}" >&2
      TARGET_PORT=$PGB_PORT ;;
    pgbouncer-tuned)
      start_pgbouncer_custom pgbouncer-tuned \
        "$(printf 'default_pool_size = %s\nmax_db_connections = %s\nquery_wait_timeout = 1' "$TUNED_POOL" "$TUNED_DB")" \
        "${up[@]}" >&2
      TARGET_PORT=$PGB_PORT ;;
    pgsluice)
      [[ -z "$PGSLUICE_SKIP" ]] || return 1
      # A directory per scenario: each run's log holds only its own alert events.
      local dir="$WORK_DIR/pgsluice-overload-$2" port
      mkdir -p "$dir"
      port="$(free_port)"
      ADMIN_PORT="$(free_port)"
      PGS_DIR=$dir
      write_overload_pgsluice_config "$dir/pgsluice.toml" "$port" "$ADMIN_PORT" "$ADMISSION_BODY"
      if ! pgsluice_check "$dir/pgsluice.toml" 2>"$dir/check.txt"; then
        PGSLUICE_SKIP="\`pgsluice --check\` refused the overload config ([limits]/[admission] not implemented in this build?): $(grep -v '^$' "$dir/check.txt" | sed "s|^$dir/||" | head -n 3 | tr '\n' ' ')"
        log "SKIPPING pgsluice: $PGSLUICE_SKIP"
        return 1
      fi
      start_pgsluice_file "$dir/pgsluice.toml" "$port" >&2
      wait_for_port "$ADMIN_PORT" "$PGS_PID" 30 "$PGS_LOG" || die "pgsluice does not listen on admin_listen $ADMIN_PORT"
      # The alert settings in force, as the console reports them.
      if ! PGPASSWORD="$BENCH_PASS" "$PG_BIN/psql" -X -q -At -F '|' -h 127.0.0.1 -p "$ADMIN_PORT" \
             -U "$BENCH_USER" pgsluice -c 'SHOW CONFIG' >"$dir/show-config.txt" 2>"$dir/show-config.err"; then
        log "WARNING: SHOW CONFIG on the admin console failed: $(head -n 2 "$dir/show-config.err")"
      fi
      awk -F'|' '$1 ~ /^alerts\./ { sub(/^alerts\./, "", $1); print $1 " = " $2 }' "$dir/show-config.txt" \
        > "$dir/alerts-config.txt" || true
      TARGET_PORT=$PGS_PORT ;;
  esac
  case "$1" in
    pgbouncer*) pin_proxy "$PGB_PID" ;;
    pgsluice) pin_proxy "$PGS_PID" ;;
  esac
  return 0
}
stop_target() {
  case "$1" in
    pgbouncer|pgbouncer-tuned) stop_pgbouncer ;;
    pgsluice) stop_pgsluice ;;
  esac
}

# The alert poller: GET /api/status every 0.5 s from the load generator's
# start until its arrivals end (WARMUP + DURATION after its connections are
# open; 60 s more at most if that is never seen) or SIGTERM; writes what it
# saw of each alert (one entry per raise: kind, database, key, since_ms) as
# JSON, with the admission controller's course ("admission": [t, limit,
# running, queued, throughput, latency_ms, min_latency_ms] per poll) and each
# key's counters at the last poll ("keys"). Times are seconds after T0_MS (unix ms).
cat > "$WORK_DIR/alert_poller.py" <<'EOF'
import json, signal, sys, time, urllib.request
url, t0_ms, errfile, nkeys, load_s, out = sys.argv[1:7]
t0, nkeys, load_s = int(t0_ms) / 1000, int(nkeys), float(load_s)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
res = {"t0_ms": int(t0_ms), "arrivals_s": None, "polls": 0, "errors": 0, "last_error": "",
       "last_poll_s": None, "alerts": {}, "admission": [], "keys": []}
next_poll = time.time()
while not stop:
    now = time.time()
    if res["arrivals_s"] is None:
        try:
            with open(errfile) as f:
                if sum("connections open" in l for l in f) >= nkeys:
                    res["arrivals_s"] = round(now - t0, 2)
        except OSError:
            pass
    if now >= t0 + (res["arrivals_s"] if res["arrivals_s"] is not None else 60) + load_s:
        break
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            st = json.load(r)
        seen = time.time() - t0
        res["polls"] += 1
        res["last_poll_s"] = round(seen, 2)
        for db in st["databases"]:
            a = db["admission"]
            # The controller's course, for reading a run afterwards.
            res["admission"].append([round(seen, 2), a["limit"], a["running"], a["queued"],
                                     round(a["throughput"], 1), round(a["latency_ms"], 2),
                                     round(a["min_latency_ms"], 2)])
            res["keys"] = [{"name": k["name"], "admitted": k["admitted"], "rejected": k["rejected"],
                            "wait_p99_ms": k["wait_p99_ms"], "reject_wait_p99_ms": k["reject_wait_p99_ms"]}
                           for k in db["keys"]]
        for a in st["alerts"]:
            k = f'{a["kind"]}/{a["database"]}/{a["key"]}/{a["since_ms"]}'
            e = res["alerts"].setdefault(k, {"kind": a["kind"], "database": a["database"], "key": a["key"],
                                             "first_active_s": None, "max_factor": 0})
            e["raised_s"] = round(a["since_ms"] / 1000 - t0, 2)
            e["cleared_s"] = None if a["cleared_ms"] is None else round(a["cleared_ms"] / 1000 - t0, 2)
            e["active_at_last_poll"] = bool(a["active"])
            if a["active"]:
                e["max_factor"] = max(e["max_factor"], a["factor"])
                if e["first_active_s"] is None:
                    e["first_active_s"] = round(seen, 2)
                    e.update(demand_share=a["demand_share"], fair_share=a["fair_share"], factor=a["factor"])
    except Exception as err:  # a refused or odd answer is worth counting, not fatal
        res["errors"] += 1
        res["last_error"] = f"{type(err).__name__}: {err}"[:200]
    next_poll = max(next_poll + 0.5, time.time())  # late: poll now, no burst to catch up
    time.sleep(max(0.0, next_poll - time.time()))
res["alerts"] = list(res["alerts"].values())
with open(out, "w") as f:
    json.dump(res, f, indent=1)
EOF

# run_scenario SCENARIO TARGET: one loadgen run; its JSON in RUN_DIR (and,
# for pgsluice, what the alert poller saw in SCENARIO.pgsluice.alerts.json).
run_scenario() {
  local scenario=$1 target=$2 keys rc=0 poller=""
  local out="$RUN_DIR/$scenario.$target"
  start_target "$target" "$scenario" || { echo "$PGSLUICE_SKIP" > "$out.skipped"; return 0; }
  read -r -a keys <<<"$(scenario_keys "$scenario")"
  log "run: $scenario via $target (${DURATION}s + ${WARMUP}s warm-up): ${keys[*]//:$APP_PASS:/:*:}"
  if [[ $target == pgsluice ]]; then
    # nice -5: like the load generator, an instrument that must not fall behind.
    nice -n -5 "$PYTHON" "$WORK_DIR/alert_poller.py" "http://127.0.0.1:$ADMIN_PORT/api/status" "$(date +%s%3N)" \
      "$out.err" "${#keys[@]}" $((WARMUP + DURATION)) "$out.alerts.json" 2>"$out.poller.err" &
    poller=$!
    CLEANUP_PIDS+=("$poller")
  fi
  # nice -10: the load generator is the measuring instrument; at normal
  # priority it would get 1/80th of the CPU next to 80 busy backends and
  # report its own lateness as latency. The proxies run at nice -5
  # (PROXY_NICE, set below): both PgBouncer and pgsluice, the same.
  local pid="" window
  [[ $target == pgsluice ]] && pid=$PGS_PID
  [[ $target == pgbouncer* ]] && pid=$PGB_PID
  # Where the machine's CPU went over the measured window only (after the
  # warm-up, before the drain), to set against the goodput of that window.
  nice -n -5 "$PYTHON" "$BENCH_DIR/cpu_window.py" "$out.err" "${#keys[@]}" "$WARMUP" "$DURATION" \
    "$(head -n 1 "$PG_DATA/postmaster.pid")" "${pid:-0}" "$out.window.json" 2>"$out.window.err" &
  window=$!
  CLEANUP_PIDS+=("$window")
  timeout -k 5 $((DURATION + WARMUP + TIMEOUT_MS / 1000 + 120)) nice -n -10 "$LOADGEN" \
    --host 127.0.0.1 --port "$TARGET_PORT" --dbname "$BENCH_DB" --query "$QUERY" \
    --duration-s "$DURATION" --warmup-s "$WARMUP" --timeout-ms "$TIMEOUT_MS" --seed "$SEED" \
    --json-out "$out.json" --sched-slice-us "$LOADGEN_SLICE_US" "${keys[@]}" >"$out.txt" 2>"$out.err" || rc=$?
  cat "$out.txt" >&2
  # The window ends with the load generator's arrivals: give it a moment to
  # write, then stop it (it is still waiting if the load generator failed).
  for _ in {1..30}; do kill -0 "$window" 2>/dev/null || break; sleep 0.1; done
  stop_pid "$window" 5
  [[ -f "$out.window.json" ]] && log "CPU in the measured window: $(cat "$out.window.json")"
  if [[ -n $poller ]]; then
    stop_pid "$poller" 5
    if [[ -f "$out.alerts.json" ]]; then
      cp "$PGS_DIR/alerts-config.txt" "$out.alerts-config.txt"
      grep -E 'msg=alert( |$)' "$PGS_LOG" > "$out.alert-log.txt" || true
      log "alerts seen by the poller: $("$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
seen = ", ".join("%s raised +%s s" % (a["key"], a["raised_s"]) for a in d["alerts"]) or "none"
print("%s (%d polls, %d failed)" % (seen, d["polls"], d["errors"]))' "$out.alerts.json")"
    else
      log "the alert poller left no result: $(tail -n 3 "$out.poller.err")"
      echo "the alert poller left no result: $(tail -n 1 "$out.poller.err")" > "$out.alerts-failed"
    fi
  fi
  if [[ $rc -ne 0 ]]; then
    log "loadgen failed ($rc) for $scenario via $target:"; tail -n 5 "$out.err" >&2
    echo "loadgen failed with status $rc: $(tail -n 1 "$out.err")" > "$out.failed"
    rm -f "$out.json"
  fi
  stop_target "$target"
  sleep 2   # let PostgreSQL finish what the closed connections left running
}

# The machine's capacity drifts (other tenants on the host: the same query's
# throughput moves by a quarter within minutes), so it is checked again at the
# calibrated client count before every round and after every run. Each run's
# goodput is set against the mean of the checks just before and just after it
# (SCENARIO.TARGET.capacity holds both); the figure quoted as "the capacity"
# is the median of the calibration's best and all checks. The offered rates
# of a round are multiples of the check before it, not of the calibration:
# "3x capacity" must mean 3x what the database does at that time, and when the
# host slowed by a third after calibrating, the well-behaved keys' 0.1x had
# become 0.16x and the flood 5x.
CAP_CHECKS=()
for ((round = 1; round <= REPEAT; round++)); do
  if ((REPEAT > 1)); then
    RUN_DIR="$RUN_ROOT/round-$round"
    mkdir -p "$RUN_DIR"
    log "round $round of $REPEAT"
  fi
  tps="$(capacity_at "$CAP_CLIENTS" "$RUN_DIR/capacity.cpu")"
  [[ -n "$tps" ]] || die "capacity check: pgbench gave no tps"
  log "capacity check: $CAP_CLIENTS clients -> $tps queries/s"
  CAP_CHECKS+=("$tps")
  echo "$tps" > "$RUN_DIR/capacity.txt"
  RATE_BASE=$tps
  for scenario in baseline skewed even; do
    has_scenario "$scenario" || continue
    for target in direct pgbouncer pgbouncer-tuned pgsluice; do
      has_target "$target" || continue
      run_scenario "$scenario" "$target"
      before=$tps
      tps="$(capacity_at "$CAP_CLIENTS")"
      [[ -n "$tps" ]] || die "capacity check: pgbench gave no tps"
      log "capacity check: $CAP_CLIENTS clients -> $tps queries/s"
      CAP_CHECKS+=("$tps")
      echo "$before $tps" > "$RUN_DIR/$scenario.$target.capacity"
    done
  done
done
RUN_DIR="$RUN_ROOT"
CAL_CAPACITY=$CAPACITY
CAPACITY="$(printf '%.1f' "$(printf '%s\n' "$CAL_CAPACITY" "${CAP_CHECKS[@]}" | median_of_lines)")"
log "capacity for the report: $CAPACITY queries/s (calibration $CAL_CAPACITY, checks ${CAP_CHECKS[*]})"
if ((REPEAT > 1)); then
  "$PYTHON" "$BENCH_DIR/overload_report.py" --runs "$RUN_ROOT" --rounds "$REPEAT" --select-median
fi

# ----------------------------------------------------------------- report ----

SECTION_ID=overload
TITLE="Overload: skewed load balancer"
PLOT="$BENCH_DIR/overload.png"
if [[ $QUICK == 1 ]]; then
  SECTION_ID=overload_quick; TITLE+=" (quick smoke run: not for citing)"; PLOT="$BENCH_DIR/overload-quick.png"
fi
{
  machine_summary
  echo "- Command: \`$COMMAND\`"
  echo "- Query: \`$QUERY\` (N calibrated to ~$QUERY_MS ms on one idle connection: ${QUERY_LAT} ms; steps: $(tr '\n' ';' < "$CAL" | sed 's/;$//; s/;/; /g'))"
  echo "- Capacity: **$CAPACITY queries/s** = the median of the calibration's best, $CAL_CAPACITY/s (the best of \`pgbench -c {$(IFS=,; echo "${CAP_COUNTS[*]}")} -j 2 -T $CAP_SECS\` directly: $CAP_LINE), and ${#CAP_CHECKS[@]} checks at $CAP_CLIENTS clients, one before each round and one after each run (${CAP_CHECKS[*]/%//s}). **Each run's goodput/capacity is over the mean of the two checks just before and after it**, since the machine's speed drifts within minutes; **the offered rates of each round are multiples of the check before that round** (without rounds: of the first check)"
} > "$WORK_DIR/meta.md"

# The skew alerts pgsluice raised in each scenario, appended to the section.
ALERTS_MD="$WORK_DIR/alerts.md"
"$PYTHON" - "$RUN_DIR" "$SCENARIOS" "$WARMUP" "$DURATION" > "$ALERTS_MD" <<'EOF'
import datetime, json, os, re, sys
runs, scenarios, warmup, duration = sys.argv[1], sys.argv[2].split(","), sys.argv[3], sys.argv[4]
LIMIT_S = 10
EXPECT = {"baseline": "none", "skewed": f"app1 within {LIMIT_S} s, no other key", "even": "none"}

def log_events(path, t0):
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path):
        f = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line))
        try:
            ts = datetime.datetime.strptime(f["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        except (KeyError, ValueError):
            continue
        if ts.timestamp() < t0:  # an earlier round's pgsluice wrote to the same log
            continue
        out.append((f.get("key", "?").strip('"'), f.get("state", "?"), ts.timestamp() - t0))
    return out

rows, config, notes = [], "", []
for s in ("baseline", "skewed", "even"):
    if s not in scenarios:
        continue
    base = os.path.join(runs, f"{s}.pgsluice")
    for ext in ("skipped", "alerts-failed", "failed"):
        if os.path.exists(f"{base}.{ext}") and not os.path.exists(f"{base}.alerts.json"):
            rows.append(f"| {s} | — | {open(f'{base}.{ext}').read().strip()} | | | | {EXPECT[s]} | — |")
            break
    else:
        if not os.path.exists(f"{base}.alerts.json"):
            continue
        d = json.load(open(f"{base}.alerts.json"))
        if os.path.exists(f"{base}.alerts-config.txt"):
            config = config or ", ".join(l.strip() for l in open(f"{base}.alerts-config.txt") if l.strip())
        t0 = d["t0_ms"] / 1000
        events = log_events(f"{base}.alert-log.txt", t0)
        arrivals = "—" if d["arrivals_s"] is None else f"+{d['arrivals_s']:.1f} s"
        fired, seen, logged, factors = [], [], [], []
        for a in sorted(d["alerts"], key=lambda a: a["raised_s"]):
            state = "still active" if a.get("active_at_last_poll") else (
                f"cleared +{a['cleared_s']:.1f} s" if a.get("cleared_s") is not None else "cleared")
            fired.append(f"**{a['key']}** +{a['raised_s']:.1f} s ({state})")
            seen.append(f"{a['key']} +{a['first_active_s']:.1f} s" if a["first_active_s"] is not None
                        else f"{a['key']} never seen active")
            if a.get("factor"):
                factors.append(f"{a['key']} {a['demand_share']:.2f} / {a['fair_share']:.2f} = {a['factor']:.1f}x")
        for key, state, rel in events:
            logged.append(f"{key} {state} +{rel:.1f} s")
        keys = {}  # key -> its first alert
        for a in sorted(d["alerts"], key=lambda a: a["raised_s"]):
            keys.setdefault(a["key"], a)
        if s == "skewed":
            a = keys.get("app1")
            met = a is not None and a["raised_s"] <= LIMIT_S and len(keys) == 1
        else:
            met = not keys
        polls = f"{d['polls']} polls" + (f", {d['errors']} failed ({d['last_error']})" if d["errors"] else "")
        rows.append(f"| {s} | {arrivals} | {'; '.join(fired) or 'none'} | {'; '.join(seen) or '—'} | "
                    f"{'; '.join(logged) or 'none'} | {'; '.join(factors) or '—'} | {EXPECT[s]} | "
                    f"{'yes' if met else '**NO**'} ({polls}) |")
        # The three views of one alert must agree: since_ms, the poller, the log.
        for a in d["alerts"]:
            raised_log = [rel for key, state, rel in events if key == a["key"] and state == "raised"]
            if not raised_log:
                notes.append(f"{s}: no `alert ... state=raised` log event for {a['key']}")
            else:
                nearest = min(raised_log, key=lambda rel: abs(rel - a["raised_s"]))
                if abs(nearest - a["raised_s"]) > 1:
                    notes.append(f"{s}: {a['key']} raised at +{a['raised_s']:.1f} s in /api/status "
                                 f"but +{nearest:.1f} s in the log")
            if a["first_active_s"] is not None and a["first_active_s"] + 0.05 < a["raised_s"]:
                notes.append(f"{s}: {a['key']} seen active at +{a['first_active_s']:.1f} s, "
                             f"before its since_ms (+{a['raised_s']:.1f} s)")
        for key, state, rel in events:
            if state == "raised" and key not in keys:
                notes.append(f"{s}: the log raised an alert for {key} (+{rel:.1f} s) that /api/status never showed")
if rows:
    print("**Skew alerts (pgsluice).** pgsluice ran every scenario with `admin_listen`, `[admin] users` and "
          f"`[alerts]` at their defaults ({config or 'SHOW CONFIG gave nothing'}, as SHOW CONFIG reports them); "
          "a poller read `GET /api/status` every 0.5 s from the load generator's start until its arrivals ended "
          f"({warmup} s warm-up + {duration} s). Times are seconds after the load generator started (it first "
          "opens its connections, then its arrivals begin: \"arrivals began\" is when the poller saw that, "
          "to within 0.5 s); \"raised\" is the alert's own `since_ms`, "
          "\"first seen active\" the first poll that showed it, \"log\" the `msg=alert` events. "
          "Share / fair share = factor are the alert's figures at the first poll that showed it.")
    print()
    print("| scenario | arrivals began | alerts raised | first seen active | log events | share / fair share = factor "
          "| expected | met |")
    print("|---|---:|---|---|---|---|---|---|")
    print("\n".join(rows))
    if notes:
        print()
        print("**Disagreements between /api/status and the log:** " + "; ".join(notes) + ".")
    print()
EOF
REPORT_ARGS=(--runs "$RUN_DIR" --rounds "$REPEAT" --meta "$WORK_DIR/meta.md" --capacity "$CAPACITY" --title "$TITLE"
             --placement "$PLACEMENT" --tuned-pool "$TUNED_POOL" --tuned-db "$TUNED_DB" --min-limit "$MIN_LIMIT"
             --section-id "$SECTION_ID" --duration "$DURATION" --warmup "$WARMUP" --timeout-ms "$TIMEOUT_MS")
# with_alerts: the section on stdin with the alerts table put before its END marker.
with_alerts() {
  awk -v id="$SECTION_ID" -v alerts="$ALERTS_MD" '
    $0 == "<!-- END " id " -->" { while ((getline l < alerts) > 0) print l }
    { print }'
}
if [[ $WRITE_RESULTS == 1 ]]; then
  "$PYTHON" "$BENCH_DIR/overload_report.py" "${REPORT_ARGS[@]}" --plot "$PLOT" \
    --plot-ref "$(basename "$PLOT")" | with_alerts > "$WORK_DIR/section.md"
  if [[ ! -f "$RESULTS" ]]; then
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf '# pgsluice benchmark results\n\nFigures written by the scripts in `bench/`; each section is replaced when its\nscript runs again.\n' > "$RESULTS"
  fi
  # Replace this benchmark's section if present, append it otherwise.
  replace_results_section "$RESULTS" "$SECTION_ID" "$WORK_DIR/section.md"
  log "results written to $RESULTS (section $SECTION_ID)${PLOT:+, plot $PLOT}"
else
  "$PYTHON" "$BENCH_DIR/overload_report.py" "${REPORT_ARGS[@]}" | with_alerts > "$WORK_DIR/section.md"
fi
echo
cat "$WORK_DIR/section.md"
