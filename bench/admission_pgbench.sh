#!/usr/bin/env bash
# Does adaptive admission cost anything on ordinary closed-loop workloads?
# pgbench (TPC-B-like and select-only) directly, through pgsluice with
# [admission] mode = "off", and through pgsluice with mode = "adaptive" and
# every other admission setting at its default, in one run on one throwaway
# PostgreSQL. Writes a Markdown section to bench/RESULTS.md.
#
# The question it answers: could "adaptive" be the default? The overload
# benchmark (bench/overload.sh) shows what adaptive admission buys under
# overload; this one shows what it costs when every client is well behaved
# and the database's latency rises for reasons of its own (row locks in
# TPC-B: scale 10 has 10 branch rows that every transaction updates).
#
#   bench/admission_pgbench.sh             # ~12 minutes on 2 cores
#
# Options:
#   --duration S       pgbench -T (default 15)
#   --reps N           repetitions of every row; medians are reported (default 3)
#   --scale N          pgbench -i -s (default 10)
#   --pool-size N      pgsluice's pool_size (default 20); adaptive max_limit defaults to it
#   --clients LIST     comma list of pgbench -c values (default 20,100)
#   --scripts LIST     comma list of pgbench -b builtins (default tpcb-like,select-only)
#   --adaptive LINES   extra [admission] lines for the adaptive instance, e.g.
#                      'latency_tolerance = 3.0' (newline-separated; default none)
#   --results FILE     Markdown file to update (default bench/RESULTS.md)
#   --no-results       print the section, do not touch RESULTS.md
#   --no-build         use the existing build (same as PGSLUICE_NO_BUILD=1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

COMMAND="bench/admission_pgbench.sh${*:+ $*}"
DURATION=15 REPS=3 SCALE=10 POOL_SIZE=20 WRITE_RESULTS=1
CLIENTS="20,100" SCRIPT_LIST="tpcb-like,select-only"
RESULTS="$BENCH_DIR/RESULTS.md"
JOBS=2
ADAPTIVE_EXTRA=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --scale) SCALE=$2; shift ;;
    --pool-size) POOL_SIZE=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --scripts) SCRIPT_LIST=$2; shift ;;
    --adaptive) ADAPTIVE_EXTRA=$2; shift ;;
    --results) RESULTS=$2; shift ;;
    --no-results) WRITE_RESULTS=0 ;;
    --no-build) export PGSLUICE_NO_BUILD=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
IFS=, read -r -a CLIENTS_LIST <<< "$CLIENTS"
IFS=, read -r -a SCRIPTS <<< "$SCRIPT_LIST"
TARGET_LIST=(direct off adaptive)

lib_init
ensure_packages
build_pgsluice

RUNS="$WORK_DIR/runs.tsv"  # rep script clients target tps txns failed p50_ms p99_ms limit_mean limit_min limit_max status
: > "$RUNS"

# ---------------------------------------------------------------- targets ----
start_postgres
log "pgbench -i -s $SCALE (directly)"
PGPASSWORD="$BENCH_PASS" "$PG_BIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" \
  -U "$BENCH_USER" "$BENCH_DB" >"$WORK_DIR/pgbench-init.log" 2>&1 \
  || { tail -n 20 "$WORK_DIR/pgbench-init.log" >&2; die "pgbench -i failed"; }

# Two pgsluice processes, identical but for [admission] mode; both stay up for
# the whole run (the idle one costs nothing). The adaptive one also has an
# admin port, to sample its limit (/metrics needs no login by default).
declare -A PORT PID
PORT[direct]=$PG_PORT
ADMIN_PORT=""
start_variant() {  # NAME MODE
  local dir="$WORK_DIR/pgsluice-$1" port
  mkdir -p "$dir"
  port="$(free_port)"
  write_pgsluice_config "$dir/pgsluice.toml" "$port" "$POOL_SIZE" transaction
  {
    echo
    echo "[admission]"
    echo "mode = \"$2\""
    if [[ $2 == adaptive && -n $ADAPTIVE_EXTRA ]]; then echo "$ADAPTIVE_EXTRA"; fi
  } >> "$dir/pgsluice.toml"
  if [[ $2 == adaptive ]]; then
    ADMIN_PORT="$(free_port)"
    sed -i "s/^max_client_connections = .*/&\nadmin_listen = \"127.0.0.1:$ADMIN_PORT\"/" "$dir/pgsluice.toml"
  fi
  pgsluice_check "$dir/pgsluice.toml" || die "pgsluice rejects $dir/pgsluice.toml"
  start_pgsluice_file "$dir/pgsluice.toml" "$port"
  PORT[$1]=$PGS_PORT
  PID[$1]=$PGS_PID
  CLEANUP_PIDS+=("$PGS_PID")
  PGS_PID=""  # both are stopped by the cleanup, not by stop_pgsluice
}
start_variant off off
start_variant adaptive adaptive
wait_for_port "$ADMIN_PORT" "${PID[adaptive]}" 30 "$WORK_DIR/pgsluice-adaptive/pgsluice.log" \
  || die "pgsluice does not listen on its admin port $ADMIN_PORT"

# The adaptive instance's current limit, from its Prometheus endpoint (plain
# bash /dev/tcp: nothing to install).
admission_limit() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$ADMIN_PORT" || return 1
  printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  line="$(grep -m1 "^pgsluice_admission_limit{[^}]*database=\"$BENCH_DB\"" <&3 || true)"
  exec 3<&-
  [[ -n "$line" ]] && echo "${line##* }"
}

# ------------------------------------------------------------------- runs ----
# run_pgbench TARGET SCRIPT CLIENTS -> prints the run's TSV fields after "rep"
run_pgbench() {
  local target=$1 script=$2 clients=$3 dir sampler="" rc=0 out tps txns failed lat status=ok
  dir="$(mktemp -d "$WORK_DIR/run-$target-$script-c$clients.XXXX")"
  out="$dir/pgbench.out"
  # Each run starts from the same state: TPC-B's small tables vacuumed and
  # its history emptied (pgbench -n: the vacuum is ours, done directly).
  pg_super_psql -d "$BENCH_DB" -q -c "TRUNCATE pgbench_history" \
    -c "VACUUM pgbench_branches, pgbench_tellers, pgbench_accounts" >/dev/null
  if [[ $target == adaptive ]]; then
    ( while sleep 1; do admission_limit >> "$dir/limit.txt" || true; done ) &
    sampler=$!
  fi
  PGPASSWORD="$BENCH_PASS" timeout -k 5 $((DURATION + 60)) "$PG_BIN/pgbench" -n -b "$script" \
    -c "$clients" -j "$JOBS" -T "$DURATION" -l --log-prefix="$dir/txn" \
    -h 127.0.0.1 -p "${PORT[$target]}" -U "$BENCH_USER" "$BENCH_DB" >"$out" 2>&1 || rc=$?
  if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; fi
  tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out")"
  txns="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")"
  failed="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")"
  if [[ $rc -ne 0 || -z "$tps" ]] || grep -q "aborted in command" "$out"; then
    status="pgbench-exit-$rc"
    grep -q "aborted in command" "$out" && status="clients-aborted"
    log "pgbench via $target: $status; its last lines:"
    tail -n 5 "$out" >&2
  fi
  # Per-transaction log: column 3 is the latency in microseconds.
  lat="$(cat "$dir"/txn.* 2>/dev/null | awk '{ print $3 }' | sort -n |
         awk '{ v[NR] = $1 } END { if (NR == 0) print "nan nan";
              else printf "%.2f %.2f\n", v[int(NR * 0.50) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000 }')"
  rm -f "$dir"/txn.*
  local lim="nan nan nan"
  if [[ -s "$dir/limit.txt" ]]; then
    lim="$(awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 } { s += $1 }
                END { printf "%.1f %d %d\n", s / NR, lo, hi }' "$dir/limit.txt")"
  fi
  echo "$script	$clients	$target	${tps:-nan}	${txns:-nan}	${failed:-0}	${lat// /	}	${lim// /	}	$status"
}

log "warm-up: 3 s of select-only per target"
for t in "${TARGET_LIST[@]}"; do
  PGPASSWORD="$BENCH_PASS" "$PG_BIN/pgbench" -n -S -c 10 -j "$JOBS" -T 3 -h 127.0.0.1 -p "${PORT[$t]}" \
    -U "$BENCH_USER" "$BENCH_DB" >/dev/null 2>&1 || log "warm-up via $t failed"
done

row=0
for ((rep = 1; rep <= REPS; rep++)); do
  for script in "${SCRIPTS[@]}"; do
    for clients in "${CLIENTS_LIST[@]}"; do
      n=${#TARGET_LIST[@]}
      for ((k = 0; k < n; k++)); do  # rotate the order so no target always runs first
        t="${TARGET_LIST[$(((k + rep + row) % n))]}"
        line="$(run_pgbench "$t" "$script" "$clients")"
        printf '%s\t%s\n' "$rep" "$line" >> "$RUNS"
        log "rep $rep/$REPS $script -c $clients $t: $(tr '\t' ' ' <<<"$line")"
      done
      row=$((row + 1))
    done
  done
done

# ---------------------------------------------------------------- results ----
# med SCRIPT CLIENTS TARGET COLUMN: median over the runs that ended well
med() {
  awk -F'\t' -v s="$1" -v c="$2" -v t="$3" -v col="$4" \
    '$2 == s && $3 == c && $4 == t && $13 == "ok" && $col != "nan" { print $col }' "$RUNS" | median_of_lines
}

section="$WORK_DIR/section.md"
{
  echo "<!-- BEGIN admission_pgbench -->"
  echo "## Adaptive admission on closed-loop pgbench: what it costs"
  echo
  machine_summary
  echo "- Command: \`$COMMAND\`"
  echo "- Workload: \`pgbench -n -b {$SCRIPT_LIST} -j $JOBS -T $DURATION -c {$CLIENTS}\` on scale $SCALE" \
       "(PostgreSQL with fsync = off); before every run, directly: TRUNCATE pgbench_history and VACUUM of the" \
       "three pgbench tables. pgsluice in transaction mode, pool_size $POOL_SIZE, client_key \"address\"" \
       "(all of pgbench is one key); \"off\" and \"adaptive\" differ only in \`[admission] mode\`, every" \
       "other setting is its default (adaptive: min_limit 2, max_limit = pool_size, latency_tolerance 2.0;" \
       "max_queue 1000, queue_timeout_ms 1000)${ADAPTIVE_EXTRA:+, except in the adaptive instance: \`$(tr '\n' ';' <<<"$ADAPTIVE_EXTRA" | sed 's/;$//; s/;/; /g')\`}."
  echo "- Each row ran $REPS time(s), the targets in rotating order; figures are medians. Latency is" \
       "pgbench's per-transaction latency (\`-l\`), client side, queueing in pgsluice included." \
       "\"Limit\" is the adaptive instance's admission limit, sampled every second from /metrics" \
       "(median over runs of the per-run mean; min-max over all samples)."
  echo
  echo "| script, clients | direct TPS | off TPS | adaptive TPS | adaptive/off | p99 ms direct / off / adaptive | p50 ms off / adaptive | adaptive limit mean (min-max) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for script in "${SCRIPTS[@]}"; do
    for clients in "${CLIENTS_LIST[@]}"; do
      d="$(med "$script" "$clients" direct 5)"
      o="$(med "$script" "$clients" off 5)"
      a="$(med "$script" "$clients" adaptive 5)"
      lo="$(awk -F'\t' -v s="$script" -v c="$clients" '$2 == s && $3 == c && $4 == "adaptive" && $11 != "nan" { print $11 }' "$RUNS" | sort -n | head -n1)"
      hi="$(awk -F'\t' -v s="$script" -v c="$clients" '$2 == s && $3 == c && $4 == "adaptive" && $12 != "nan" { print $12 }' "$RUNS" | sort -n | tail -n1)"
      echo "| $script, $clients | $(fmt %.0f "$d") | $(fmt %.0f "$o") | $(fmt %.0f "$a") | $(ratio "$a" "$o") |" \
           "$(fmt %.1f "$(med "$script" "$clients" direct 9)") / $(fmt %.1f "$(med "$script" "$clients" off 9)") / $(fmt %.1f "$(med "$script" "$clients" adaptive 9)") |" \
           "$(fmt %.1f "$(med "$script" "$clients" off 8)") / $(fmt %.1f "$(med "$script" "$clients" adaptive 8)") |" \
           "$(fmt %.1f "$(med "$script" "$clients" adaptive 10)") (${lo:-—}-${hi:-—}) |"
    done
  done
  failed_runs="$(awk -F'\t' '$13 != "ok"' "$RUNS" | wc -l)"
  if [[ $failed_runs -gt 0 ]]; then
    echo
    echo "**$failed_runs run(s) did not end well** and are left out of the medians (see the per-run list)."
  fi
  echo
  echo "<details><summary>Every run</summary>"
  echo
  echo "| rep | script | clients | target | TPS | transactions | failed | p50 ms | p99 ms | limit mean | limit min | limit max | status |"
  echo "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }' "$RUNS"
  echo
  echo "</details>"
  echo "<!-- END admission_pgbench -->"
} > "$section"

if [[ $WRITE_RESULTS == 1 ]]; then
  replace_results_section "$RESULTS" admission_pgbench "$section"
  log "results written to $RESULTS (section admission_pgbench)"
fi
echo
cat "$section"
