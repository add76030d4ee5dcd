#!/usr/bin/env bash
# Does serving the admin port cost the data path anything? pgbench through
# one pgsluice, with and without load on its admin port, interleaved in one
# run. Writes a Markdown section to bench/RESULTS.md.
#
#   bench/admin_overhead.sh            # full run (~17 minutes on 2 cores)
#   bench/admin_overhead.sh --quick    # smoke test (~3 minutes), own section
#
# Every row (pgbench -S -c {20,100} -M {simple,extended}) runs REPS times as a
# pair of runs:
#   A  plain: nothing talks to the admin port
#   B  the live dashboard open in headless Chromium (tests/browser/
#      dashboard_check.mjs --hold: it polls /api/status every second) and a
#      loop fetching /metrics with curl once a second
# A row's pair runs AB in one repetition and BA in the next.
# Before each measured run, 1 s pgbench runs of the same row warm up: for A
# for --warmup seconds, for B until the dashboard is ready (it needs traffic
# to show), so the dashboard and the scrapes cover the whole measured run.
# pgsluice runs in transaction mode, pool 20, with admin_listen and [admin]
# users set in both A and B: the only difference is the load on the port.
# Last, with no pgbench traffic, pgsluice's CPU over DURATION s idle and over
# DURATION s serving the B load alone: the port's own cost, free of the noise
# a saturated 2-CPU machine puts on A and B.
#
# Options:
#   --quick            -T 5, 1 repetition, simple mode only; results go to a
#                      separate "quick" section so they never replace a full run
#   --duration S       pgbench -T of a measured run (default 20)
#   --reps N           pairs per row; medians and min..max are reported (default 3)
#   --warmup S         warm-up of an A run (default 12, about what B needs)
#   --scale N          pgbench -i -s (default 10)
#   --results FILE     Markdown file to update (default bench/RESULTS.md)
#   --no-build         use the existing build (same as PGSLUICE_NO_BUILD=1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

COMMAND="bench/admin_overhead.sh${*:+ $*}"
DURATION=20 REPS=3 WARMUP=12 SCALE=10 POOL_SIZE=20 QUICK=0
RESULTS="$BENCH_DIR/RESULTS.md"
CLIENTS_LIST=(20 100)
MODES=(simple extended)
JOBS=2
READY_MAX=45          # seconds a B run waits for the dashboard to be ready
BROWSER_DIR="$REPO_DIR/tests/browser"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 DURATION=5 REPS=1 MODES=(simple) ;;
    --duration) DURATION=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --scale) SCALE=$2; shift ;;
    --results) RESULTS=$2; shift ;;
    --no-build) export PGSLUICE_NO_BUILD=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$DURATION" =~ ^[0-9]+$ && $DURATION -ge 2 && $DURATION -le 600 ]] || die "--duration must be 2..600 seconds"
[[ "$REPS" =~ ^[0-9]+$ && $REPS -ge 1 ]] || die "--reps must be a positive integer"
[[ "$WARMUP" =~ ^[0-9]+$ && $WARMUP -le 120 ]] || die "--warmup must be 0..120 seconds"

lib_init
ensure_packages
# What the B load needs, from Debian: curl, Node and Chromium (npm only to
# install playwright-core when tests/browser has no node_modules yet).
ensure_admin_load_tools() {
  local wanted=(curl nodejs chromium) missing=() p
  [[ -d "$BROWSER_DIR/node_modules/playwright-core" ]] || wanted+=(npm)
  for p in "${wanted[@]}"; do
    [[ "$(dpkg -s "$p" 2>/dev/null)" == *$'\nStatus: install ok installed\n'* ]] || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing: ${missing[*]}"
    env DEBIAN_FRONTEND=noninteractive apt-get update -q
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  if [[ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]]; then
    log "npm ci in $BROWSER_DIR"
    (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund >&2) || die "npm ci in $BROWSER_DIR failed"
  fi
}
ensure_admin_load_tools
build_pgsluice

RUNS="$WORK_DIR/runs.tsv"
# rep clients mode variant position tps txns cpu_s warmup_s scrapes_ok scrapes_failed
# dash_samples load_cpu_s status
: > "$RUNS"

# CPU seconds of a process tree: every live process's own time plus that of
# its children it has already waited for (a Chromium helper that exits is
# counted in its parent from then on).
tree_cpu_seconds() {
  local pids p stat ticks=0
  pids="$(ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2; pid[NR] = $1 }
    END { for (i = 1; i <= NR; i++) { p = pid[i]
            for (q = p; q != "" && q != 0 && q != 1; q = parent[q]) if (q == root) { print p; break } } }')"
  for p in $pids; do
    stat="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
    stat="${stat##*) }"
    # shellcheck disable=SC2086
    set -- $stat
    ticks=$((ticks + ${12} + ${13} + ${14} + ${15}))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f\n", t / hz }'
}

# ------------------------------------------------------------------ setup ----
start_postgres
log "pgbench -i -s $SCALE (directly)"
PGPASSWORD="$BENCH_PASS" "$PG_BIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" \
  -U "$BENCH_USER" "$BENCH_DB" >"$WORK_DIR/pgbench-init.log" 2>&1 \
  || { tail -n 20 "$WORK_DIR/pgbench-init.log" >&2; die "pgbench -i failed"; }

PGS_DIR="$WORK_DIR/pgsluice"
mkdir -p "$PGS_DIR"
port="$(free_port)"
ADMIN_PORT="$(free_port)"
cat > "$PGS_DIR/pgsluice.toml" <<EOF
# Written by bench/admin_overhead.sh for a throwaway benchmark run.
[proxy]
listen = "127.0.0.1:$port"
admin_listen = "127.0.0.1:$ADMIN_PORT"
max_client_connections = 10000

[server]
host = "127.0.0.1"
port = $PG_PORT

[databases.$BENCH_DB]
pool_mode = "transaction"
pool_size = $POOL_SIZE

[auth]
method = "scram-sha-256"

[users]
$BENCH_USER = "$BENCH_PASS"

[admin]
users = ["$BENCH_USER"]
EOF
pgsluice_check "$PGS_DIR/pgsluice.toml" 2>"$PGS_DIR/check.txt" || { cat "$PGS_DIR/check.txt" >&2; die "pgsluice --check refused the config"; }
start_pgsluice_file "$PGS_DIR/pgsluice.toml" "$port"
wait_for_port "$ADMIN_PORT" "$PGS_PID" 30 "$PGS_LOG" || die "pgsluice does not listen on admin_listen 127.0.0.1:$ADMIN_PORT"
ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"

# The admin port must work before its cost means anything: the console, the
# metrics and the status document.
PGPASSWORD="$BENCH_PASS" "$PG_BIN/psql" -X -q -At -h 127.0.0.1 -p "$ADMIN_PORT" -U "$BENCH_USER" pgsluice \
  -c 'SHOW VERSION' >"$WORK_DIR/console-version.txt" 2>&1 \
  || { cat "$WORK_DIR/console-version.txt" >&2; die "the admin console did not answer SHOW VERSION"; }
log "admin console: $(head -n 1 "$WORK_DIR/console-version.txt")"
curl -sS -f --max-time 5 -o "$WORK_DIR/metrics.txt" "$ADMIN_URL/metrics" || die "GET /metrics failed"
grep -q '^pgsluice_' "$WORK_DIR/metrics.txt" || die "GET /metrics has no pgsluice_ metric"
curl -sS -f --max-time 5 -o "$WORK_DIR/status.json" "$ADMIN_URL/api/status" || die "GET /api/status failed"
/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert isinstance(d["databases"], list)' \
  "$WORK_DIR/status.json" || die "GET /api/status is not the status document"
METRICS_BYTES=$(wc -c < "$WORK_DIR/metrics.txt")
STATUS_BYTES=$(wc -c < "$WORK_DIR/status.json")
log "admin port $ADMIN_PORT: /metrics $METRICS_BYTES bytes, /api/status $STATUS_BYTES bytes"

# ---------------------------------------------------------------- running ----

# pgbench_through CLIENTS MODE SECONDS OUT: pgbench -S through pgsluice.
pgbench_through() {
  PGPASSWORD="$BENCH_PASS" timeout -k 5 $(($3 + 60)) "$PG_BIN/pgbench" -n -S -M "$2" \
    -c "$1" -j "$JOBS" -T "$3" -h 127.0.0.1 -p "$PGS_PORT" -U "$BENCH_USER" "$BENCH_DB" >"$4" 2>&1
}

SCRAPE_PID="" BROWSER_PID="" SCRAPE_FILE="" BROWSER_JSON="" BROWSER_ERR=""
# The scrape loop: one GET /metrics a second, on a fixed clock (starting curl
# takes a good part of a second on a saturated machine, so "sleep 1" between
# scrapes would scrape less often); one line per scrape ("HTTP_CODE BYTES
# SECONDS"; code 000 = no answer).
start_scrapes() {
  : > "$SCRAPE_FILE"
  (
    trap 'exit 0' TERM
    next=$(date +%s%N)
    while :; do
      curl -s -o /dev/null --max-time 5 -w '%{http_code} %{size_download} %{time_total}\n' \
        "$ADMIN_URL/metrics" >> "$SCRAPE_FILE" || true
      next=$((next + 1000000000))
      now=$(date +%s%N)
      if ((next > now)); then
        printf -v pause '%d.%09d' $(((next - now) / 1000000000)) $(((next - now) % 1000000000))
        sleep "$pause"
      else
        next=$now   # late: scrape now, do not catch up in a burst
      fi
    done
  ) &
  SCRAPE_PID=$!
  CLEANUP_PIDS+=("$SCRAPE_PID")
}

# start_admin_load TAG: the B load, the scrapes and the dashboard. The hold
# covers a measured run: it starts when the page is ready, and measuring
# starts within a warm-up step (1 s, or the 2 s pause of the admin-only run).
start_admin_load() {
  SCRAPE_FILE="$WORK_DIR/scrapes-$1.txt"
  BROWSER_JSON="$WORK_DIR/dashboard-$1.json"
  BROWSER_ERR="$WORK_DIR/dashboard-$1.err"
  start_scrapes
  node "$BROWSER_DIR/dashboard_check.mjs" "$ADMIN_URL/" "$WORK_DIR/dashboard-$1.png" \
    --hold $((DURATION + 6)) >"$BROWSER_JSON" 2>"$BROWSER_ERR" &
  BROWSER_PID=$!
  CLEANUP_PIDS+=("$BROWSER_PID")
}
dashboard_ready() { grep -q '^dashboard_check: ready' "$BROWSER_ERR"; }
admin_load_cpu() {  # CPU seconds of the B load so far: browser and scrape loop (curl included)
  awk -v a="$(tree_cpu_seconds "$BROWSER_PID")" -v b="$(tree_cpu_seconds "$SCRAPE_PID")" 'BEGIN { printf "%.2f\n", a + b }'
}
scrapes_so_far() { wc -l < "$SCRAPE_FILE"; }
scrapes() {  # scrapes FROM_LINE TO_LINE -> "ok failed" for lines FROM+1..TO
  awk -v a="$1" -v b="$2" 'NR > a && NR <= b { if ($1 == "200") ok++; else bad++ }
                           END { printf "%d %d\n", ok, bad }' "$SCRAPE_FILE"
}
# finish_admin_load: stops the scrapes, lets the browser finish its hold and
# prints "SAMPLES_DURING_HOLD STATUS" (STATUS ok or failed:REASON).
finish_admin_load() {
  local i
  stop_pid "$SCRAPE_PID" 5
  SCRAPE_PID=""
  for ((i = 0; i < 600; i++)); do kill -0 "$BROWSER_PID" 2>/dev/null || break; sleep 0.1; done
  stop_pid "$BROWSER_PID" 5
  BROWSER_PID=""
  /usr/bin/python3 -c 'import json, sys
try:
    d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
except Exception:
    print("nan no-json"); sys.exit(0)
print(d.get("samples_during_hold", "nan"), "ok" if d.get("ok") else "failed:" + d.get("reason", "?").replace(" ", "_"))' "$BROWSER_JSON"
}

# warm_up CLIENTS MODE TAG UNTIL: 1 s pgbench runs until UNTIL is "ready"
# (the dashboard is; READY_MAX s at most) or a number of seconds. Sets WARM_S
# and READY (1 if the dashboard got ready).
warm_up() {
  local start i=0
  start=$(date +%s.%N)
  READY=0
  while :; do
    WARM_S="$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
    if [[ $4 == ready ]]; then
      if dashboard_ready; then READY=1; break; fi
      kill -0 "$BROWSER_PID" 2>/dev/null || break
      awk -v w="$WARM_S" -v m="$READY_MAX" 'BEGIN { exit !(w >= m) }' && break
    else
      awk -v w="$WARM_S" -v m="$4" 'BEGIN { exit !(w >= m) }' && break
    fi
    pgbench_through "$1" "$2" 1 "$WORK_DIR/warmup-$3-$i.log" || true
    i=$((i + 1))
  done
}

# run_once REP CLIENTS MODE VARIANT POSITION: one warm-up + measured run.
run_once() {
  local rep=$1 clients=$2 mode=$3 variant=$4 pos=$5 tag out status=ok rc=0
  local cpu0 cpu1 cpu=nan tps txns s0=0 s1=0 sok=0 sbad=0 dash=nan load0="" load_cpu=nan
  tag="c$clients-$mode-r$rep-$variant"
  out="$WORK_DIR/pgbench-$tag.log"
  if ! kill -0 "$PGS_PID" 2>/dev/null; then
    printf '%s\t%s\t%s\t%s\t%s\tnan\tnan\tnan\tnan\t0\t0\tnan\tnan\tproxy-dead\n' "$rep" "$clients" "$mode" "$variant" "$pos" >> "$RUNS"
    return 0
  fi
  if [[ $variant == B ]]; then
    start_admin_load "$tag"
    warm_up "$clients" "$mode" "$tag" ready
    if [[ $READY == 0 ]]; then
      status=dashboard-not-ready
      log "the dashboard did not get ready within ${WARM_S}s: $(cat "$BROWSER_ERR" "$BROWSER_JSON" 2>/dev/null | tail -n 3)"
    fi
    s0=$(scrapes_so_far)
    load0="$(admin_load_cpu)"
  else
    warm_up "$clients" "$mode" "$tag" "$WARMUP"
  fi

  cpu0="$(proc_cpu_seconds "$PGS_PID")"
  pgbench_through "$clients" "$mode" "$DURATION" "$out" || rc=$?
  if cpu1="$(proc_cpu_seconds "$PGS_PID")"; then
    cpu="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.3f", b - a }')"
  else
    status=proxy-died
  fi
  if [[ $variant == B ]]; then
    s1=$(scrapes_so_far)
    load_cpu="$(awk -v a="$load0" -v b="$(admin_load_cpu)" 'BEGIN { printf "%.2f", b - a }')"
    if [[ $status == ok ]] && ! kill -0 "$BROWSER_PID" 2>/dev/null; then status=dashboard-closed-early; fi
    read -r sok sbad < <(scrapes "$s0" "$s1")
    dash="$(finish_admin_load)"
    if [[ $status == ok && "${dash#* }" != ok ]]; then
      status="dashboard-${dash#* }"
      log "dashboard check: $(tail -n 1 "$BROWSER_JSON")"
    fi
    dash="${dash%% *}"
    if [[ $status == ok && $sbad -gt 0 ]]; then status=scrape-failed; fi
  fi
  tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out")"
  txns="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")"
  if [[ $rc -ne 0 || -z "$tps" || -z "$txns" ]]; then
    [[ $status != ok ]] || status="pgbench-exit-$rc"
    log "pgbench ($tag): no result (exit status $rc); its last lines:"
    tail -n 5 "$out" >&2
  fi
  log "rep $rep/$REPS  -c $clients -M $mode  $variant: tps=${tps:-nan} txns=${txns:-nan} cpu_s=$cpu" \
      "warm-up ${WARM_S}s$([[ $variant == B ]] && echo " scrapes $sok ok/$sbad failed, dashboard samples $dash, B load cpu_s $load_cpu") $status"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$clients" "$mode" "$variant" "$pos" \
    "${tps:-nan}" "${txns:-nan}" "$cpu" "$WARM_S" "$sok" "$sbad" "$dash" "$load_cpu" "$status" >> "$RUNS"
}

# admin_only: pgsluice's CPU with no pgbench traffic for DURATION s, first
# idle, then serving the B load alone: what the port itself costs, without
# the noise of a saturated machine. Sets ONLY_IDLE_CPU, ONLY_ADMIN_CPU,
# ONLY_SCRAPES ("ok failed"), ONLY_SAMPLES, ONLY_LOAD_CPU, ONLY_STATUS.
admin_only() {
  local c0 s0 s1 l0 dash
  sleep 2
  c0="$(proc_cpu_seconds "$PGS_PID")"
  sleep "$DURATION"
  ONLY_IDLE_CPU="$(awk -v a="$c0" -v b="$(proc_cpu_seconds "$PGS_PID")" 'BEGIN { printf "%.3f", b - a }')"
  start_admin_load admin-only
  # The page needs some traffic to become ready; then the traffic stops.
  warm_up 20 simple admin-only ready
  ONLY_STATUS=ok
  [[ $READY == 1 ]] || ONLY_STATUS=dashboard-not-ready
  sleep 2
  s0=$(scrapes_so_far)
  l0="$(admin_load_cpu)"
  c0="$(proc_cpu_seconds "$PGS_PID")"
  sleep "$DURATION"
  ONLY_ADMIN_CPU="$(awk -v a="$c0" -v b="$(proc_cpu_seconds "$PGS_PID")" 'BEGIN { printf "%.3f", b - a }')"
  ONLY_LOAD_CPU="$(awk -v a="$l0" -v b="$(admin_load_cpu)" 'BEGIN { printf "%.2f", b - a }')"
  s1=$(scrapes_so_far)
  ONLY_SCRAPES="$(scrapes "$s0" "$s1")"
  dash="$(finish_admin_load)"
  ONLY_SAMPLES="${dash%% *}"
  [[ $ONLY_STATUS != ok || "${dash#* }" == ok ]] || ONLY_STATUS="dashboard-${dash#* }"
  log "no traffic, ${DURATION}s: pgsluice cpu_s idle $ONLY_IDLE_CPU, with the B load $ONLY_ADMIN_CPU" \
      "(scrapes ok/failed $ONLY_SCRAPES, dashboard samples $ONLY_SAMPLES, B load cpu_s $ONLY_LOAD_CPU) $ONLY_STATUS"
}

log "warm-up: 3 s of pgbench -S -c 20"
pgbench_through 20 simple 3 "$WORK_DIR/warmup.log" || true

# A row's pair runs AB in one repetition and BA in the next; within a
# repetition, consecutive rows alternate too (AB BA AB BA, then BA AB BA AB).
for ((rep = 1; rep <= REPS; rep++)); do
  row=0
  for clients in "${CLIENTS_LIST[@]}"; do
    for mode in "${MODES[@]}"; do
      if (((rep - 1 + row) % 2 == 0)); then order=(A B); else order=(B A); fi
      run_once "$rep" "$clients" "$mode" "${order[0]}" 1
      run_once "$rep" "$clients" "$mode" "${order[1]}" 2
      row=$((row + 1))
    done
  done
done
kill -0 "$PGS_PID" 2>/dev/null || die "pgsluice is gone; last log lines: $(tail -n 5 "$PGS_LOG")"
admin_only
kill -0 "$PGS_PID" 2>/dev/null || die "pgsluice is gone; last log lines: $(tail -n 5 "$PGS_LOG")"

# --------------------------------------------------------------- results ----
# stats CLIENTS MODE VARIANT WHAT -> "median min max n" over ok runs; WHAT is
# tps or cpu10k (pgsluice CPU seconds per 10,000 transactions).
stats() {
  awk -F'\t' -v c="$1" -v m="$2" -v v="$3" -v what="$4" '
    $2 == c && $3 == m && $4 == v && $14 == "ok" && $6 != "nan" {
      if (what == "tps") print $6; else if ($8 != "nan" && $7 > 0) print $8 / $7 * 10000 }' "$RUNS" |
    sort -g | awk '{ x[NR] = $1 } END {
      if (NR == 0) { print "nan nan nan 0"; exit }
      med = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
      print med, x[1], x[NR], NR }'
}
# paired CLIENTS MODE WHAT -> "median min max" of B/A within each pair (rep)
# of ok runs: the two runs of a pair are next to each other in time, so slow
# drifts of the machine cancel out of their ratio.
paired() {
  awk -F'\t' -v c="$1" -v m="$2" -v what="$3" '
    $2 == c && $3 == m && $14 == "ok" && $6 != "nan" {
      v = (what == "tps") ? $6 : (($8 != "nan" && $7 > 0) ? $8 / $7 * 10000 : "")
      if (v != "") x[$1 SUBSEP $4] = v; reps[$1] = 1 }
    END { for (r in reps) if (((r, "A") in x) && ((r, "B") in x) && x[r, "A"] > 0) print x[r, "B"] / x[r, "A"] }' "$RUNS" |
    sort -g | awk '{ x[NR] = $1 } END {
      if (NR == 0) { print "nan nan nan"; exit }
      print ((NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2), x[1], x[NR] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "—"; else printf "%.3f", a / b }'; }
within() {  # within B_MEDIAN A_MIN A_MAX -> yes / below / above
  awk -v b="$1" -v lo="$2" -v hi="$3" 'BEGIN {
    if (b == "nan" || lo == "nan") print "—"; else if (b < lo) print "no (below)"; else if (b > hi) print "no (above)"; else print "yes" }'
}
range() {  # range FORMAT MEDIAN MIN MAX
  if [[ "$2" == nan ]]; then echo "—"; else
    awk -v f="$1" -v m="$2" -v lo="$3" -v hi="$4" 'BEGIN { printf f " (" f ".." f ")", m, lo, hi }'; fi
}

SECTION_ID=admin_overhead
TITLE="Admin port overhead: pgbench with and without the dashboard and /metrics scrapes"
if [[ $QUICK == 1 ]]; then SECTION_ID=admin_overhead_quick; TITLE+=" (quick smoke run: not for citing)"; fi
section="$WORK_DIR/section.md"
rows_total=0 rows_tps_within=0 rows_cpu_within=0 worse=""
tps_ratios="" cpu_ratios=""
table="$WORK_DIR/table.md"
: > "$table"
for clients in "${CLIENTS_LIST[@]}"; do
  for mode in "${MODES[@]}"; do
    read -r ta ta_lo ta_hi ta_n < <(stats "$clients" "$mode" A tps)
    read -r tb tb_lo tb_hi tb_n < <(stats "$clients" "$mode" B tps)
    read -r ca ca_lo ca_hi _ < <(stats "$clients" "$mode" A cpu10k)
    read -r cb cb_lo cb_hi _ < <(stats "$clients" "$mode" B cpu10k)
    wt="$(within "$tb" "$ta_lo" "$ta_hi")"
    wc="$(within "$cb" "$ca_lo" "$ca_hi")"
    rt="$(ratio "$tb" "$ta")" rc="$(ratio "$cb" "$ca")"
    read -r pt pt_lo pt_hi < <(paired "$clients" "$mode" tps)
    read -r pc pc_lo pc_hi < <(paired "$clients" "$mode" cpu10k)
    rows_total=$((rows_total + 1))
    [[ $wt == yes ]] && rows_tps_within=$((rows_tps_within + 1))
    [[ $wc == yes ]] && rows_cpu_within=$((rows_cpu_within + 1))
    # Worse than every A run: fewer TPS, or more CPU per transaction.
    [[ $wt == "no (below)" ]] && worse+="${worse:+; }-c $clients $mode: TPS B/A $rt"
    [[ $wc == "no (above)" ]] && worse+="${worse:+; }-c $clients $mode: CPU B/A $rc"
    [[ $rt == — ]] || tps_ratios+="$rt "
    [[ $rc == — ]] || cpu_ratios+="$rc "
    echo "| $clients, $mode | $(range %.0f "$ta" "$ta_lo" "$ta_hi") | $(range %.0f "$tb" "$tb_lo" "$tb_hi") | $rt |" \
         "$(range %.2f "$pt" "$pt_lo" "$pt_hi") | $wt | $(range %.3f "$ca" "$ca_lo" "$ca_hi") |" \
         "$(range %.3f "$cb" "$cb_lo" "$cb_hi") | $rc | $(range %.2f "$pc" "$pc_lo" "$pc_hi") | $wc | $ta_n / $tb_n |" >> "$table"
  done
done
minmax() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%s..%s", lo, hi; else print "—" }'; }
failed_runs="$(awk -F'\t' '$14 != "ok"' "$RUNS" | wc -l)"
scrape_total="$(awk -F'\t' '$4 == "B" { ok += $10; bad += $11 } END { printf "%d ok, %d failed", ok, bad }' "$RUNS")"
dash_total="$(awk -F'\t' '$4 == "B" && $12 != "nan" { s += $12; n++ } END { printf "%d samples in %d runs", s, n }' "$RUNS")"
median_col() {  # median_col VARIANT COLUMN -> median of a column over ok runs of VARIANT
  awk -F'\t' -v v="$1" -v col="$2" '$4 == v && $14 == "ok" && $col != "nan" { print $col }' "$RUNS" | median_of_lines
}
load_cpu_med="$(median_col B 13)"
load_share="$(awk -v c="$load_cpu_med" -v n="$(nproc)" -v d="$DURATION" 'BEGIN { if (c == "nan") print "—"; else printf "%.1f", 100 * c / (n * d) }')"
a_cpu_med="$(median_col A 8)"
read -r only_ok _ <<<"$ONLY_SCRAPES"
# What serving the B load alone cost pgsluice: over idle, per request, and
# against what pgsluice used in a median A run of the same length.
read -r only_extra only_ms only_share < <(awk -v a="$ONLY_ADMIN_CPU" -v i="$ONLY_IDLE_CPU" -v n="$((only_ok + ${ONLY_SAMPLES/nan/0}))" \
  -v c="$a_cpu_med" 'BEGIN { x = a - i; if (x < 0) x = 0
    printf "%.3f %s %s\n", x, (n > 0 ? sprintf("%.2f", 1000 * x / n) : "nan"), (c > 0 ? sprintf("%.2f", 100 * x / c) : "nan") }')
{
  echo "<!-- BEGIN $SECTION_ID -->"
  echo "## $TITLE"
  echo
  machine_summary
  echo "- Command: \`$COMMAND\`"
  echo "- Workload: \`pgbench -S -n -j $JOBS -T $DURATION -M {$(IFS=,; echo "${MODES[*]}")} -c {$(IFS=,; echo "${CLIENTS_LIST[*]}")}\`" \
       "on scale $SCALE through one pgsluice (transaction mode, pool_size $POOL_SIZE, SCRAM-SHA-256," \
       "\`admin_listen\` and \`[admin] users\` set for every run)."
  echo "- **A** = nothing on the admin port. **B** = the dashboard (\`GET /\`) open in headless Chromium for the whole"
  echo "  measured run (tests/browser/dashboard_check.mjs --hold: the page polls \`/api/status\` every second and redraws)"
  echo "  and \`curl $ADMIN_URL/metrics\` once a second (at start: /metrics $METRICS_BYTES bytes, /api/status $STATUS_BYTES bytes)."
  echo "- Each row ran $REPS A/B pair(s), AB in one repetition and BA in the next; before each measured run 1 s pgbench"
  echo "  steps of the same row warm up (A: ${WARMUP} s; B: until the dashboard is ready). Figures: median (min..max) over the runs."
  echo "  pgbench, pgsluice, PostgreSQL and in B the B load share the same $(nproc) CPUs: B's TPS also pays for the CPU of"
  echo "  Chromium, node and curl (median $load_cpu_med CPU s per B run, $load_share% of the machine's CPU time)."
  echo "- CPU = pgsluice's utime + stime (/proc/PID/stat) during the measured run, connection setup included, per 10,000 transactions."
  echo "  \"B/A\" = ratio of the medians; \"B/A per pair\" = median (min..max) of B/A within each pair, whose two runs"
  echo "  are next to each other in time. \"Within A's spread\": B's median lies between the lowest and the highest A run of the row."
  echo "- B load actually served during the measured runs: /metrics scrapes $scrape_total; dashboard $dash_total."
  echo "- **The B load alone**, with no pgbench traffic, $DURATION s each: pgsluice used $ONLY_IDLE_CPU CPU s idle and" \
       "$ONLY_ADMIN_CPU s serving the B load (/metrics scrapes ${ONLY_SCRAPES% *} ok, ${ONLY_SCRAPES#* } failed; $ONLY_SAMPLES dashboard polls;" \
       "status $ONLY_STATUS): $only_extra s more, about $only_ms ms per request, $only_share% of the CPU pgsluice used in a" \
       "median A run ($a_cpu_med s; /proc counts CPU in $((1000 / $(getconf CLK_TCK))) ms ticks). This is what serving the port costs" \
       "pgsluice itself, without the noise of a saturated machine."
  echo
  echo "| clients, mode | TPS A | TPS B | TPS B/A | TPS B/A per pair | B within A's spread (TPS) | CPU s/10k txn A | CPU s/10k txn B | CPU B/A | CPU B/A per pair | B within A's spread (CPU) | runs A / B |"
  echo "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|"
  cat "$table"
  echo
  echo "In $rows_tps_within of $rows_total rows B's median TPS lies within the range of the A runs (TPS B/A $(minmax "$tps_ratios")), and in" \
       "$rows_cpu_within of $rows_total rows B's pgsluice CPU per transaction lies within A's (CPU B/A $(minmax "$cpu_ratios"))."
  if [[ -z $worse ]]; then
    echo "No row has B's TPS below, or its pgsluice CPU per transaction above, every A run: serving the dashboard and the"
    echo "scrapes cost the data path nothing this run could tell from noise (B outside A's range in B's favour is noise too)."
  else
    echo "B is worse than every A run in: $worse. Serving the B load costs pgsluice $only_share% of its CPU in an A run"
    echo "(above), so a difference much larger than that is not pgsluice's work for the admin port: it is the B load's own"
    echo "CPU ($load_share% of the machine) and the noise of a shared $(nproc)-CPU machine, where $REPS run(s) per variant"
    echo "give only a rough range."
  fi
  if [[ $failed_runs -gt 0 ]]; then
    echo
    echo "**$failed_runs run(s) did not complete cleanly** and are left out of the figures (see the per-run list)."
  fi
  echo
  echo "<details><summary>Every run</summary>"
  echo
  echo "| rep | clients | mode | variant | position in pair | TPS | transactions | pgsluice CPU s | warm-up s | /metrics ok / failed | dashboard samples | B load CPU s | status |"
  echo "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  awk -F'\t' '{ b = ($4 == "B"); printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                $1, $2, $3, $4, $5, ($6 == "nan" ? "—" : sprintf("%.0f", $6)), $7, $8, $9,
                (b ? $10 " / " $11 : "—"), (b ? $12 : "—"), (b ? $13 : "—"), $14 }' "$RUNS"
  echo
  echo "</details>"
  echo "<!-- END $SECTION_ID -->"
} > "$section"

if [[ ! -f "$RESULTS" ]]; then
  # shellcheck disable=SC2016  # the backquotes are Markdown
  printf '# pgsluice benchmark results\n\nFigures written by the scripts in `bench/`; each section is replaced when its\nscript runs again.\n' > "$RESULTS"
fi
replace_results_section "$RESULTS" "$SECTION_ID" "$section"
log "results written to $RESULTS (section $SECTION_ID)"
echo
cat "$section"
