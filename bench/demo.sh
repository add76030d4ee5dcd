#!/usr/bin/env bash
# See pgsluice work, on a fresh Debian/Ubuntu machine:
#
#   bench/demo.sh           # install what is missing, build, run, clean up
#   bench/demo.sh --keep    # ... then keep everything running until Ctrl-C
#
# It installs missing packages (apt-get), builds pgsluice, starts a throwaway
# PostgreSQL on 127.0.0.1 (a temporary directory, a free port), puts pgsluice
# in front of it in transaction mode with pool_size 4, and runs pgbench with 20
# clients through it: PostgreSQL sees at most 4 server connections. Everything
# it starts is stopped when it exits.
#
# Options:
#   --keep        leave PostgreSQL and pgsluice running until Ctrl-C
#   --no-build    use the existing build/proxy/pgsluice
#   --duration S  seconds of the read-only run (default 10)
#   --skewed      then also the "skewed load balancer" scenario: one app server
#                 at 3x the database's capacity, three at 0.1x each, directly
#                 and through pgsluice (bench/overload.sh, ~3 minutes more)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KEEP=0 DURATION=10 CLIENTS=20 POOL_SIZE=4 SKEWED=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --no-build) export PGSLUICE_NO_BUILD=1 ;;
    --duration) DURATION=$2; shift ;;
    --skewed) SKEWED=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

heading() { printf '\n=== %s ===\n' "$*"; }

# Samples how many server connections PostgreSQL has for the bench role, every
# 0.5 s, into FILE, until stopped (and for at most 10 minutes).
SAMPLER_PID=""
start_sampler() {
  local file=$1
  : > "$file"
  (
    for ((i = 0; i < 1200; i++)); do
      pg_bench_backends >> "$file" 2>/dev/null || true
      sleep 0.5
    done
  ) &
  SAMPLER_PID=$!
  CLEANUP_PIDS+=("$SAMPLER_PID")
}
stop_sampler() {
  stop_pid "$SAMPLER_PID" 2
  SAMPLER_PID=""
}
report_samples() {  # report_samples FILE
  local file=$1 max
  max="$(sort -n "$file" | tail -n 1)"
  echo "PostgreSQL server connections for user $BENCH_USER, sampled from pg_stat_activity every 0.5 s:"
  echo "  samples: $(tr '\n' ' ' < "$file")"
  echo "  at most ${max:-?} server connection(s) served $CLIENTS pgbench clients (pool_size = $POOL_SIZE)"
  if [[ -n "$max" && "$max" -le "$POOL_SIZE" ]]; then
    echo "  -> OK: $CLIENTS clients were multiplexed over <= $POOL_SIZE server connections"
  else
    echo "  -> UNEXPECTED: more server connections than pool_size"
  fi
}

# pgbench_through_pgsluice NAME ARGS...: runs pgbench against pgsluice and
# shows its summary.
pgbench_through_pgsluice() {
  local name=$1 out="$WORK_DIR/pgbench-$1.log"
  shift
  local rc=0
  PGPASSWORD="$BENCH_PASS" timeout -k 5 $((DURATION + 60)) "$PG_BIN/pgbench" -n "$@" \
    -h 127.0.0.1 -p "$PGS_PORT" -U "$BENCH_USER" "$BENCH_DB" >"$out" 2>&1 || rc=$?
  grep -E '^(transaction type|scaling factor|query mode|number of clients|number of threads|duration|number of (failed )?transactions|latency average|initial connection time|tps)' \
    "$out" | sed 's/^/  /' || true
  if [[ $rc -ne 0 ]]; then
    echo "pgbench ($name) failed with exit status $rc; its last lines:"
    tail -n 15 "$out" | sed 's/^/  /'
    echo "pgsluice log ($PGS_LOG), last lines:"
    tail -n 15 "$PGS_LOG" | sed 's/^/  /'
    return 1
  fi
}

lib_init
heading "1. Packages and build"
ensure_packages
build_pgsluice
echo "pgsluice binary: $PGSLUICE_BIN ($("$PGSLUICE_BIN" --version 2>/dev/null || echo 'version unknown'))"

heading "2. A throwaway PostgreSQL"
start_postgres
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') on 127.0.0.1:$PG_PORT, data in $PG_DATA"
echo "pgbench -i -s 1 (directly, not through pgsluice)"
PGPASSWORD="$BENCH_PASS" "$PG_BIN/pgbench" -i -q -s 1 -h 127.0.0.1 -p "$PG_PORT" \
  -U "$BENCH_USER" "$BENCH_DB" >"$WORK_DIR/pgbench-init.log" 2>&1 \
  || { tail -n 20 "$WORK_DIR/pgbench-init.log" >&2; die "pgbench -i failed"; }

heading "3. pgsluice in front of it"
start_pgsluice "$POOL_SIZE" transaction
echo "pgsluice listens on 127.0.0.1:$PGS_PORT, config $PGS_CONF:"
grep -v '^#' "$PGS_CONF" | sed '/^$/d; s/^/  /'

heading "4. Read-only: pgbench -c $CLIENTS -j 2 -T $DURATION -S through pgsluice"
start_sampler "$WORK_DIR/samples-ro.txt"
ro_ok=1
pgbench_through_pgsluice read-only -c "$CLIENTS" -j 2 -T "$DURATION" -S || ro_ok=0
stop_sampler
report_samples "$WORK_DIR/samples-ro.txt"

heading "5. Read-write (TPC-B-like): pgbench -c $CLIENTS -j 2 -T 5 through pgsluice"
start_sampler "$WORK_DIR/samples-rw.txt"
rw_ok=1
pgbench_through_pgsluice read-write -c "$CLIENTS" -j 2 -T 5 || rw_ok=0
stop_sampler
report_samples "$WORK_DIR/samples-rw.txt"

# Skewed load balancer scenario (--skewed only). bench/overload.sh runs it on
# its own throwaway PostgreSQL (it needs roles app1..app4 and a pgsluice with
# [limits]/[admission]), directly and through pgsluice, prints the comparison
# and leaves RESULTS.md alone. Bounded: 2 short scenarios x 2 targets.
sk_ok=1
scenario_skewed_load_balancer() {
  heading "6. Skewed load balancer: app1 at 3x capacity, app2..app4 at 0.1x each (direct vs pgsluice)"
  PGSLUICE_NO_BUILD=1 timeout -k 10 900 "$BENCH_DIR/overload.sh" --quick --duration 10 \
    --targets direct,pgsluice --scenarios baseline,skewed --no-results
}
if [[ $SKEWED == 1 ]]; then scenario_skewed_load_balancer || sk_ok=0; fi

heading "Try it yourself"
PSQL_CMD="PGPASSWORD=$BENCH_PASS psql \"host=127.0.0.1 port=$PGS_PORT user=$BENCH_USER dbname=$BENCH_DB\""
if [[ $KEEP == 1 ]]; then
  echo "Connect through pgsluice with:"
  echo
  echo "  $PSQL_CMD"
  echo
  echo "PostgreSQL directly (superuser): PGPASSWORD=$PG_SUPERPASS psql \"host=127.0.0.1 port=$PG_PORT user=$PG_SUPERUSER dbname=postgres\""
  echo "pgsluice log: $PGS_LOG"
  echo "Press Ctrl-C to stop pgsluice and PostgreSQL and remove the temporary directory."
  trap 'exit 0' INT TERM   # the expected way out: a clean exit, the EXIT trap cleans up
  while kill -0 "$PGS_PID" 2>/dev/null; do sleep 1; done
  die "pgsluice exited; see $PGS_LOG"
else
  echo "While the demo runs (bench/demo.sh --keep), this connects through pgsluice:"
  echo
  echo "  $PSQL_CMD"
  echo
  echo "(Run with --keep to leave everything running and try it.)"
fi

if [[ $ro_ok == 1 && $rw_ok == 1 && $sk_ok == 1 ]]; then
  echo; echo "Demo finished: all runs succeeded."
else
  echo; echo "Demo finished with failures (see above)."
  exit 1
fi
