#!/usr/bin/env bash
# System calls per transaction: PgBouncer and pgsluice under the same
# `pgbench -S`, counted with `strace -c -f -p PID` for the whole pgbench run.
# strace slows the proxy a lot, so TPS and CPU here mean nothing; the counts
# per transaction are what this is for (what the kernel is asked to do, the
# floor under the proxy's CPU per transaction). Prints one table; touches
# neither RESULTS.md nor the build.
#
#   bench/syscalls.sh [--secs S] [--clients "20 100"] [--modes "simple extended"]
#
# Needs root (PostgreSQL runs as the postgres user), strace and an existing build.
set -euo pipefail
SECS=5 CLIENTS="20 100" MODES="simple"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --secs) SECS=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --modes) MODES=$2; shift ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || die "strace is not installed (apt-get install strace)"
lib_init
start_postgres
PGPASSWORD="$BENCH_PASS" "$PG_BIN/pgbench" -i -q -s 10 -h 127.0.0.1 -p "$PG_PORT" -U "$BENCH_USER" "$BENCH_DB" \
  >"$WORK_DIR/pgbench-init.log" 2>&1 || die "pgbench -i failed"
start_pgbouncer 20 transaction
start_pgsluice 20 transaction

echo "| clients, mode | proxy | transactions | syscalls per transaction | read/recv | write/send | epoll_wait | epoll_ctl |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for c in $CLIENTS; do
  for mode in $MODES; do
    for t in pgbouncer pgsluice; do
      if [[ $t == pgbouncer ]]; then port=$PGB_PORT pid=$PGB_PID; else port=$PGS_PORT pid=$PGS_PID; fi
      pgb() { PGPASSWORD="$BENCH_PASS" "$PG_BIN/pgbench" -n -S -M "$mode" -c "$c" -j 2 -T "$1" \
                -h 127.0.0.1 -p "$port" -U "$BENCH_USER" "$BENCH_DB"; }
      pgb 2 >/dev/null 2>&1   # connect the pool outside the count
      trace="$WORK_DIR/strace.$t.$c.$mode"
      strace -c -f -o "$trace" -p "$pid" 2>/dev/null &
      tracer=$!
      sleep 1
      txns="$(pgb "$SECS" 2>&1 | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')"
      kill -INT "$tracer"; wait "$tracer" || true
      awk -v t="$t" -v c="$c" -v m="$mode" -v n="${txns:-0}" '
        $NF == "total" { total = $4 }
        $NF ~ /^(read|recvfrom|recvmsg|readv)$/ { rd += $4 }
        $NF ~ /^(write|sendto|sendmsg|writev)$/ { wr += $4 }
        $NF == "epoll_wait" || $NF == "epoll_pwait" { ew += $4 }
        $NF == "epoll_ctl" { ec += $4 }
        END { if (n > 0) printf "| %s, %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
                c, m, t, n, total / n, rd / n, wr / n, ew / n, ec / n }' "$trace"
    done
  done
done
