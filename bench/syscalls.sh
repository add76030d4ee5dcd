#!/usr/bin/env bash
# System calls per transaction: PgBouncer and pgsluice under the same
# `pgbench -S`, counted with `strace -c -f -p PID` for the whole pgbench run.
# strace slows the proxy a lot, so TPS and CPU here mean nothing; the counts
# per transaction are what this is for (what the kernel is asked to do, the
# floor under the proxy's CPU per transaction). Then, without strace, the
# proxy's CPU per transaction split into user and system time (utime and
# stime from /proc/PID/stat), --cpu-reps runs of --cpu-secs each, the two
# proxies alternating; medians. Prints two tables; touches neither
# RESULTS.md nor the build.
#
#   bench/syscalls.sh [--secs S] [--clients "20 100"] [--modes "simple extended"]
#                     [--cpu-secs S] [--cpu-reps N]   (--cpu-reps 0: no CPU table)
#
# Needs root (PostgreSQL runs as the postgres user), strace and an existing build.
set -euo pipefail
SECS=5 CLIENTS="20 100" MODES="simple" CPU_SECS=15 CPU_REPS=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --secs) SECS=$2; shift ;;
    --cpu-secs) CPU_SECS=$2; shift ;;
    --cpu-reps) CPU_REPS=$2; shift ;;
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

[[ $CPU_REPS -gt 0 ]] || exit 0
# ------------------------------------------------- user and system time ----
ticks="$(getconf CLK_TCK)"
cpu_rows="$WORK_DIR/cpu.tsv"  # clients mode proxy tps user_s/10k sys_s/10k
: > "$cpu_rows"
for ((rep = 1; rep <= CPU_REPS; rep++)); do
  for c in $CLIENTS; do
    for mode in $MODES; do
      order="pgbouncer pgsluice"; ((rep % 2 == 0)) && order="pgsluice pgbouncer"
      for t in $order; do
        if [[ $t == pgbouncer ]]; then port=$PGB_PORT pid=$PGB_PID; else port=$PGS_PORT pid=$PGS_PID; fi
        read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
        out="$(PGPASSWORD="$BENCH_PASS" "$PG_BIN/pgbench" -n -S -M "$mode" -c "$c" -j 2 -T "$CPU_SECS" \
                 -h 127.0.0.1 -p "$port" -U "$BENCH_USER" "$BENCH_DB" 2>&1)"
        read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
        n="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")"
        tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")"
        [[ -n "$n" && "$n" -gt 0 ]] || { log "pgbench via $t gave no result"; continue; }
        awk -v c="$c" -v m="$mode" -v t="$t" -v n="$n" -v tps="$tps" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$ticks" \
          'BEGIN { printf "%s\t%s\t%s\t%s\t%.4f\t%.4f\n", c, m, t, tps, u / hz / n * 1e4, s / hz / n * 1e4 }' >> "$cpu_rows"
        log "rep $rep -c $c -M $mode $t: $(tail -n 1 "$cpu_rows" | cut -f4-)"
      done
    done
  done
done
med() {  # med CLIENTS MODE PROXY COLUMN
  awk -F'\t' -v c="$1" -v m="$2" -v t="$3" -v col="$4" '$1 == c && $2 == m && $3 == t { print $col }' "$cpu_rows" |
    median_of_lines
}
echo
echo "CPU per transaction without strace: pgbench -S -j 2 -T $CPU_SECS, $CPU_REPS runs per row, the proxies alternating; medians."
echo
echo "| clients, mode | proxy | TPS | user CPU s/10k txn | system CPU s/10k txn | user + system | user share |"
echo "|---|---|---:|---:|---:|---:|---:|"
for c in $CLIENTS; do
  for mode in $MODES; do
    for t in pgbouncer pgsluice; do
      u="$(med "$c" "$mode" "$t" 5)" s="$(med "$c" "$mode" "$t" 6)"
      awk -v c="$c" -v m="$mode" -v t="$t" -v tps="$(med "$c" "$mode" "$t" 4)" -v u="$u" -v s="$s" \
        'BEGIN { printf "| %s, %s | %s | %.0f | %.3f | %.3f | %.3f | %.0f%% |\n", c, m, t, tps, u, s, u + s, 100 * u / (u + s) }'
    done
  done
done
