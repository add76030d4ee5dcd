#!/usr/bin/env bash
# pgbench through nothing, PgBouncer and pgsluice, on one throwaway PostgreSQL,
# in one run; then the memory each proxy needs per idle client connection.
# Writes a Markdown section to bench/RESULTS.md.
#
#   bench/pgbench_compare.sh            # full run (~20 minutes on 2 cores)
#   bench/pgbench_compare.sh --quick    # smoke test (~4 minutes), own section
#   bench/pgbench_compare.sh --prepared # protocol-level prepared statements:
#                      -M simple/extended/prepared, 20 clients, PgBouncer in
#                      session mode (1.18 cannot keep prepared statements in
#                      transaction mode), no memory test; own section
#                      (~10 minutes)
#
# Options:
#   --quick            -T 5, 1 repetition, 5 s hold; results go to a separate
#                      "quick" section so they never replace a full run
#   --duration S       pgbench -T (default 20)
#   --reps N           repetitions of every row; the median is reported (default 3)
#   --scale N          pgbench -i -s (default 10)
#   --pool-size N      server connections per proxy (default 20)
#   --idle N           idle client connections for the memory test (default 5000)
#   --hold S           how long the idle connections are held (default 10)
#   --targets LIST     comma list of direct,pgbouncer,pgsluice (default all three)
#   --clients LIST     comma list of pgbench -c values (default 20,100)
#   --modes LIST       comma list of pgbench -M values (default simple,extended)
#   --pgbouncer-mode M PgBouncer's pool_mode (default transaction); pgsluice
#                      always runs in transaction mode
#   --no-memory        skip the idle-client memory test
#   --results FILE     Markdown file to update (default bench/RESULTS.md)
#   --no-build         use the existing build (same as PGSLUICE_NO_BUILD=1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

COMMAND="bench/pgbench_compare.sh${*:+ $*}"
DURATION=20 REPS=3 SCALE=10 POOL_SIZE=20 IDLE=5000 HOLD=10 QUICK=0 PREPARED=0 MEMORY_TEST=1
TARGETS="direct,pgbouncer,pgsluice"
RESULTS="$BENCH_DIR/RESULTS.md"
CLIENTS="20,100" MODE_LIST="simple,extended" PGB_MODE=transaction
JOBS=2

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 DURATION=5 REPS=1 HOLD=5 ;;
    --prepared) PREPARED=1 CLIENTS=20 MODE_LIST="simple,extended,prepared" PGB_MODE=session MEMORY_TEST=0 ;;
    --clients) CLIENTS=$2; shift ;;
    --modes) MODE_LIST=$2; shift ;;
    --pgbouncer-mode) PGB_MODE=$2; shift ;;
    --no-memory) MEMORY_TEST=0 ;;
    --duration) DURATION=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --scale) SCALE=$2; shift ;;
    --pool-size) POOL_SIZE=$2; shift ;;
    --idle) IDLE=$2; shift ;;
    --hold) HOLD=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    --results) RESULTS=$2; shift ;;
    --no-build) export PGSLUICE_NO_BUILD=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
has_target() { [[ ",$TARGETS," == *",$1,"* ]]; }
IFS=, read -r -a CLIENTS_LIST <<< "$CLIENTS"
IFS=, read -r -a MODES <<< "$MODE_LIST"
if [[ $PGB_MODE == session ]]; then
  # A session-mode pool serves at most pool-size clients at once; more would
  # wait for the whole run and pgbench would measure the queue.
  for c in "${CLIENTS_LIST[@]}"; do
    ((c <= POOL_SIZE)) || { echo "PgBouncer in session mode serves at most --pool-size ($POOL_SIZE) clients; -c $c is more" >&2; exit 2; }
  done
fi

lib_init
ensure_packages
if has_target pgsluice; then build_pgsluice; fi
IDLE_BIN="$(build_bench_tool idle_clients)"

RUNS="$WORK_DIR/runs.tsv"     # rep clients mode target tps txns cpu_s status
MEMORY="$WORK_DIR/memory.tsv" # target rss_before rss_after connected alive attempted login_s
: > "$RUNS"; : > "$MEMORY"

target_port() {
  case "$1" in
    direct) echo "$PG_PORT" ;;
    pgbouncer) echo "$PGB_PORT" ;;
    pgsluice) echo "$PGS_PORT" ;;
  esac
}
target_pid() {
  case "$1" in
    pgbouncer) echo "$PGB_PID" ;;
    pgsluice) echo "$PGS_PID" ;;
    *) echo "" ;;
  esac
}

# run_pgbench TARGET CLIENTS MODE SECONDS -> prints "tps txns cpu_s status"
run_pgbench() {
  local target=$1 clients=$2 mode=$3 secs=$4 port pid out cpu0="" cpu1 cpu rc=0 tps txns status=ok
  port="$(target_port "$target")"
  pid="$(target_pid "$target")"
  out="$WORK_DIR/pgbench-$target-c$clients-$mode-$(date +%s%N).log"
  if [[ -n "$pid" ]]; then
    if ! kill -0 "$pid" 2>/dev/null; then echo "nan nan nan proxy-dead"; return 0; fi
    cpu0="$(proc_cpu_seconds "$pid")"
  fi
  PGPASSWORD="$BENCH_PASS" timeout -k 5 $((secs + 60)) "$PG_BIN/pgbench" -n -S -M "$mode" \
    -c "$clients" -j "$JOBS" -T "$secs" -h 127.0.0.1 -p "$port" -U "$BENCH_USER" "$BENCH_DB" \
    >"$out" 2>&1 || rc=$?
  cpu=nan
  if [[ -n "$pid" ]]; then
    if cpu1="$(proc_cpu_seconds "$pid")"; then
      cpu="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.3f", b - a }')"
    else
      status=proxy-died
    fi
  fi
  tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out")"
  txns="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")"
  if [[ $rc -ne 0 || -z "$tps" || -z "$txns" ]]; then
    if [[ $status == ok && $rc -ne 0 ]]; then status="pgbench-exit-$rc"; elif [[ $status == ok ]]; then status=no-result; fi
    log "pgbench via $target: no result (exit status $rc); its last lines:"
    tail -n 5 "$out" >&2
  fi
  echo "${tps:-nan} ${txns:-nan} $cpu $status"
}

# ------------------------------------------------------------------ setup ----
start_postgres
log "pgbench -i -s $SCALE (directly)"
PGPASSWORD="$BENCH_PASS" "$PG_BIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" \
  -U "$BENCH_USER" "$BENCH_DB" >"$WORK_DIR/pgbench-init.log" 2>&1 \
  || { tail -n 20 "$WORK_DIR/pgbench-init.log" >&2; die "pgbench -i failed"; }
if has_target pgbouncer; then start_pgbouncer "$POOL_SIZE" "$PGB_MODE"; fi
if has_target pgsluice; then start_pgsluice "$POOL_SIZE" transaction; fi

IFS=, read -r -a TARGET_LIST <<< "$TARGETS"
log "warm-up: 3 s of pgbench -S -c 20 per target"
for t in "${TARGET_LIST[@]}"; do run_pgbench "$t" 20 simple 3 >/dev/null; done

# ------------------------------------------------------------ throughput ----
# Each repetition runs every row; within a row the target order rotates from
# one repetition (and row) to the next so no target always runs first.
row=0
for ((rep = 1; rep <= REPS; rep++)); do
  for clients in "${CLIENTS_LIST[@]}"; do
    for mode in "${MODES[@]}"; do
      n=${#TARGET_LIST[@]}
      for ((k = 0; k < n; k++)); do
        t="${TARGET_LIST[$(((k + rep + row) % n))]}"
        read -r tps txns cpu status < <(run_pgbench "$t" "$clients" "$mode" "$DURATION")
        log "rep $rep/$REPS  -c $clients -M $mode  $t: tps=$tps txns=$txns cpu_s=$cpu $status"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$clients" "$mode" "$t" "$tps" "$txns" "$cpu" "$status" >> "$RUNS"
      done
      row=$((row + 1))
    done
  done
done

# ---------------------------------------------------------------- memory ----
# A freshly started proxy per measurement, so the baseline is not inflated by
# the throughput runs. RSS is sampled once every idle client has logged in.
measure_idle_memory() {
  local target=$1 pid port before after out ready=0 i res connected alive login_s
  stop_pgbouncer; stop_pgsluice
  case "$target" in
    pgbouncer) start_pgbouncer "$POOL_SIZE" transaction ;;
    pgsluice) start_pgsluice "$POOL_SIZE" transaction ;;
  esac
  pid="$(target_pid "$target")"
  port="$(target_port "$target")"
  # One real query first so the proxy has its server connection and caches.
  run_pgbench "$target" 1 simple 1 >/dev/null
  sleep 1
  before="$(proc_rss_kib "$pid")"
  out="$WORK_DIR/idle-$target.log"
  log "$target: opening $IDLE idle client connections (RSS before: $before KiB)"
  timeout -k 5 $((IDLE / 100 + HOLD + 120)) "$IDLE_BIN" --host 127.0.0.1 --port "$port" \
    --user "$BENCH_USER" --password "$BENCH_PASS" --dbname "$BENCH_DB" \
    -n "$IDLE" --rate 500 --in-flight 64 --hold "$HOLD" --check 10 \
    >"$out" 2>"$WORK_DIR/idle-$target.err" &
  local idle_pid=$!
  CLEANUP_PIDS+=("$idle_pid")
  for ((i = 0; i < (IDLE / 100 + 120) * 10; i++)); do
    if grep -q '^READY' "$out"; then ready=1; break; fi
    kill -0 "$idle_pid" 2>/dev/null || break
    sleep 0.1
  done
  after=nan
  if [[ $ready == 1 ]]; then
    sleep 2
    after="$(proc_rss_kib "$pid")"
  fi
  wait "$idle_pid" || true
  res="$(grep '^RESULT' "$out" || true)"
  connected="$(sed -n 's/.* connected=\([0-9]*\).*/\1/p' <<< "$res")"
  alive="$(sed -n 's/.* alive=\([0-9]*\).*/\1/p' <<< "$res")"
  login_s="$(sed -n 's/^READY .* seconds=\([0-9.]*\).*/\1/p' "$out")"
  log "$target: $(grep '^READY' "$out" || echo 'never ready'); $res; RSS after: $after KiB"
  if [[ -s "$WORK_DIR/idle-$target.err" ]]; then head -n 5 "$WORK_DIR/idle-$target.err" >&2; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$before" "$after" "${connected:-0}" "${alive:-0}" "$IDLE" "${login_s:-nan}" >> "$MEMORY"
}
if [[ $MEMORY_TEST == 1 ]]; then
  for t in pgbouncer pgsluice; do
    if has_target "$t"; then measure_idle_memory "$t"; fi
  done
fi

# --------------------------------------------------------------- results ----
# median FILTER_TARGET CLIENTS MODE COLUMN: median of a column over ok runs
median() {
  awk -F'\t' -v t="$1" -v c="$2" -v m="$3" -v col="$4" \
    '$4 == t && $2 == c && $3 == m && $8 == "ok" && $col != "nan" { print $col }' "$RUNS" | median_of_lines
}
# CPU seconds per 10,000 transactions, per run, then the median.
cpu_per_10k() {
  awk -F'\t' -v t="$1" -v c="$2" -v m="$3" \
    '$4 == t && $2 == c && $3 == m && $8 == "ok" && $7 != "nan" && $6 > 0 { print $7 / $6 * 10000 }' "$RUNS" |
    median_of_lines
}

SECTION_ID=pgbench_compare
TITLE="pgbench: direct vs PgBouncer vs pgsluice"
if [[ $PREPARED == 1 ]]; then SECTION_ID=pgbench_prepared; TITLE="pgbench -M prepared: direct vs PgBouncer (session mode) vs pgsluice (transaction mode)"; fi
if [[ $QUICK == 1 ]]; then SECTION_ID+=_quick; TITLE+=" (quick smoke run: not for citing)"; fi
section="$WORK_DIR/section.md"
{
  echo "<!-- BEGIN $SECTION_ID -->"
  echo "## $TITLE"
  echo
  machine_summary
  echo "- Command: \`$COMMAND\`"
  echo "- Workload: \`pgbench -S -n -j $JOBS -T $DURATION -M {$MODE_LIST} -c {$CLIENTS}\`" \
       "on scale $SCALE; PgBouncer in $PGB_MODE mode and pgsluice in transaction mode, each with $POOL_SIZE server connections" \
       "(PgBouncer: default_pool_size = max_db_connections = $POOL_SIZE); SCRAM-SHA-256 everywhere."
  echo "- Each row ran $REPS time(s), the three targets in rotating order; figures are medians."
  echo "  pgbench, the proxy and PostgreSQL share the same $(nproc) CPUs, so a proxy that uses less CPU"
  echo "  also leaves more for PostgreSQL and pgbench: compare the columns, not the absolute numbers."
  echo "- CPU = the proxy process's utime + stime (/proc/PID/stat) during the run, connection setup included."
  echo
  echo "| clients, mode | direct TPS | PgBouncer TPS | pgsluice TPS | pgsluice/PgBouncer | CPU s/10k txn PgBouncer | CPU s/10k txn pgsluice | CPU ratio pgsluice/PgBouncer |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for clients in "${CLIENTS_LIST[@]}"; do
    for mode in "${MODES[@]}"; do
      d="$(median direct "$clients" "$mode" 5)"
      b="$(median pgbouncer "$clients" "$mode" 5)"
      s="$(median pgsluice "$clients" "$mode" 5)"
      cb="$(cpu_per_10k pgbouncer "$clients" "$mode")"
      cs="$(cpu_per_10k pgsluice "$clients" "$mode")"
      echo "| $clients, $mode | $(fmt %.0f "$d") | $(fmt %.0f "$b") | $(fmt %.0f "$s") | $(ratio "$s" "$b") |" \
           "$(fmt %.3f "$cb") | $(fmt %.3f "$cs") | $(ratio "$cs" "$cb") |"
    done
  done
  if [[ " ${MODES[*]} " == *" simple "* && ${#MODES[@]} -gt 1 ]]; then
    echo
    echo "Each mode's TPS against \`-M simple\` on the same target (medians):"
    echo
    echo "| clients, mode | direct | PgBouncer | pgsluice |"
    echo "|---|---:|---:|---:|"
    for clients in "${CLIENTS_LIST[@]}"; do
      for mode in "${MODES[@]}"; do
        [[ $mode == simple ]] && continue
        row="| $clients, $mode/simple |"
        for t in direct pgbouncer pgsluice; do
          row+=" $(ratio "$(median "$t" "$clients" "$mode" 5)" "$(median "$t" "$clients" simple 5)") |"
        done
        echo "$row"
      done
    done
  fi
  if [[ $MEMORY_TEST == 1 ]]; then
    echo
    echo "Memory with $IDLE idle client connections (bench/idle_clients: each logs in with SCRAM, at most"
    echo "500 logins started per second and 64 in progress, then all stay idle for ${HOLD} s). RSS = VmRSS"
    echo "from /proc/PID/status of a freshly started proxy, sampled 2 s after the last login; kernel socket"
    echo "buffers are not part of it. \"Login time\" is how long all $IDLE logins took (client and proxy"
    echo "share the CPUs, so it mostly shows the cost of SCRAM on both sides):"
    echo
    echo "| proxy | RSS before (KiB) | RSS with idle clients (KiB) | clients connected / alive at end | KiB per idle client | login time (s) |"
    echo "|---|---:|---:|---:|---:|---:|"
    for t in pgbouncer pgsluice; do
      line="$(awk -F'\t' -v t="$t" '$1 == t' "$MEMORY")"
      if [[ -z "$line" ]]; then
        echo "| $t | — | — | not run | — | — |"; continue
      fi
      IFS=$'\t' read -r _ before after connected alive attempted login_s <<< "$line"
      per="$(awk -v a="$after" -v b="$before" -v n="$connected" \
             'BEGIN { if (a == "nan" || n == 0) print "nan"; else printf "%.1f", (a - b) / n }')"
      name=$t; [[ $t == pgbouncer ]] && name=PgBouncer
      echo "| $name | $(fmt %s "$before") | $(fmt %s "$after") | $connected / $alive (of $attempted) | $(fmt %s "$per") | $(fmt %.1f "$login_s") |"
    done
  fi
  failed_runs="$(awk -F'\t' '$8 != "ok"' "$RUNS" | wc -l)"
  if [[ $failed_runs -gt 0 ]]; then
    echo
    echo "**$failed_runs run(s) failed** and are left out of the medians (see the per-run list)."
  fi
  echo
  echo "<details><summary>Every run</summary>"
  echo
  echo "| rep | clients | mode | target | TPS | transactions | proxy CPU s | status |"
  echo "|---:|---:|---|---|---:|---:|---:|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$RUNS"
  echo
  echo "</details>"
  echo "<!-- END $SECTION_ID -->"
} > "$section"

if [[ ! -f "$RESULTS" ]]; then
  cat > "$RESULTS" <<'EOF'
# pgsluice benchmark results

Figures written by the scripts in `bench/`; each section is replaced when its
script runs again, so this file holds the latest run of every benchmark. Each
section says on what machine, with which command and when it was measured.
Reproduce a section with the command it shows (see also `bench/demo.sh`).
EOF
fi
# Replace this benchmark's section if present, append it otherwise.
replace_results_section "$RESULTS" "$SECTION_ID" "$section"
log "results written to $RESULTS (section $SECTION_ID)"
echo
cat "$section"
