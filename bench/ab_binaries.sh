#!/usr/bin/env bash
# Two pgsluice binaries, A and B, side by side on one throwaway PostgreSQL:
# did a change cost the data path anything? Runs pgbench -S through each in
# alternating pairs (AB, then BA) and prints TPS and pgsluice CPU per
# transaction with B/A ratios per pair and their median. Nothing is written
# to bench/RESULTS.md: this is a tool for checking a change, e.g.
#
#   git worktree add /tmp/old HEAD~3
#   cmake -S /tmp/old -B /tmp/old/build -DCMAKE_BUILD_TYPE=Release
#   cmake --build /tmp/old/build --target pgsluice
#   bench/ab_binaries.sh --a /tmp/old/build/proxy/pgsluice --b build/proxy/pgsluice
#
# or one binary under two settings, e.g. the scheduler slice:
#
#   bench/ab_binaries.sh --a build/proxy/pgsluice --a-proxy 'sched_slice_us = 0' \
#                        --b-proxy 'sched_slice_us = 100' --modes simple,extended --pairs 3
#
# Options:
#   --a BIN, --b BIN   the two binaries (default B: this build's)
#   --modes LIST       pgbench -M values (default simple,extended,prepared)
#   --clients N        pgbench -c (default 20)
#   --pairs N          AB/BA pairs per mode (default 4)
#   --duration S       pgbench -T of one run (default 10)
#   --pool-size N      pool_size of both (default 20); transaction mode
#   --a-proxy LINE, --b-proxy LINE
#                      a line added to that side's [proxy] table (repeatable)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BIN_A="" BIN_B="$PGSLUICE_BIN" MODE_LIST="simple,extended,prepared" CLIENTS=20 PAIRS=4 DURATION=10 POOL_SIZE=20
declare -A PROXY_LINES=([A]="" [B]="")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --a) BIN_A=$2; shift ;;
    --b) BIN_B=$2; shift ;;
    --modes) MODE_LIST=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --pairs) PAIRS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --pool-size) POOL_SIZE=$2; shift ;;
    --a-proxy) PROXY_LINES[A]+="$2"$'\n'; shift ;;
    --b-proxy) PROXY_LINES[B]+="$2"$'\n'; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -x "$BIN_A" && -x "$BIN_B" ]] || die "--a and --b must be pgsluice binaries"
IFS=, read -r -a MODES <<< "$MODE_LIST"

lib_init
ensure_packages
start_postgres
PGPASSWORD="$BENCH_PASS" "$PG_BIN/pgbench" -i -q -s 10 -h 127.0.0.1 -p "$PG_PORT" -U "$BENCH_USER" "$BENCH_DB" \
  >"$WORK_DIR/pgbench-init.log" 2>&1 || die "pgbench -i failed"

declare -A PORT PID
for v in A B; do
  bin=$BIN_A; [[ $v == B ]] && bin=$BIN_B
  PORT[$v]="$(free_port)"
  write_pgsluice_config "$WORK_DIR/$v.toml" "${PORT[$v]}" "$POOL_SIZE" transaction
  if [[ -n ${PROXY_LINES[$v]} ]]; then  # into [proxy], which the config starts with
    awk -v extra="${PROXY_LINES[$v]}" '{ print } /^\[proxy\]$/ { printf "%s", extra }' "$WORK_DIR/$v.toml" \
      > "$WORK_DIR/$v.toml.new" && mv "$WORK_DIR/$v.toml.new" "$WORK_DIR/$v.toml"
  fi
  (ulimit -n "$(ulimit -Hn)"; exec "$bin" --config "$WORK_DIR/$v.toml") >>"$WORK_DIR/$v.log" 2>&1 &
  PID[$v]=$!
  CLEANUP_PIDS+=("${PID[$v]}")
  wait_for_port "${PORT[$v]}" "${PID[$v]}" 30 "$WORK_DIR/$v.log" || die "pgsluice $v did not start"
  log "$v: $bin on port ${PORT[$v]}${PROXY_LINES[$v]:+ with [proxy] $(tr '\n' ';' <<< "${PROXY_LINES[$v]}")}"
done

run() {  # run VARIANT MODE -> "tps cpu_per_10k"
  local v=$1 mode=$2 out cpu0 cpu1 tps txns
  out="$WORK_DIR/run-$v-$mode-$(date +%s%N).log"
  cpu0="$(proc_cpu_seconds "${PID[$v]}")"
  PGPASSWORD="$BENCH_PASS" timeout -k 5 $((DURATION + 60)) "$PG_BIN/pgbench" -n -S -M "$mode" -c "$CLIENTS" -j 2 \
    -T "$DURATION" -h 127.0.0.1 -p "${PORT[$v]}" -U "$BENCH_USER" "$BENCH_DB" >"$out" 2>&1 || true
  cpu1="$(proc_cpu_seconds "${PID[$v]}")"
  tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out")"
  txns="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")"
  awk -v t="${tps:-nan}" -v n="${txns:-0}" -v a="$cpu0" -v b="$cpu1" \
    'BEGIN { if (n > 0 && t != "nan") printf "%.0f %.4f\n", t, (b - a) / n * 10000; else print "nan nan" }'
}

for v in A B; do run "$v" simple >/dev/null; done  # warm-up
printf '%-9s %5s %9s %9s %7s %10s %10s %7s\n' mode pair "TPS A" "TPS B" "B/A" "CPU A" "CPU B" "B/A"
for mode in "${MODES[@]}"; do
  : > "$WORK_DIR/ratios-$mode"
  for ((p = 1; p <= PAIRS; p++)); do
    order=(A B); ((p % 2 == 0)) && order=(B A)
    declare -A T C
    for v in "${order[@]}"; do read -r T[$v] C[$v] < <(run "$v" "$mode"); done
    rt="$(awk -v a="${T[A]}" -v b="${T[B]}" 'BEGIN { printf "%.3f", b / a }')"
    rc="$(awk -v a="${C[A]}" -v b="${C[B]}" 'BEGIN { printf "%.3f", b / a }')"
    printf '%-9s %5s %9s %9s %7s %10s %10s %7s\n' "$mode" "$p" "${T[A]}" "${T[B]}" "$rt" "${C[A]}" "${C[B]}" "$rc"
    echo "$rt $rc" >> "$WORK_DIR/ratios-$mode"
  done
  printf '%-9s %5s %9s %9s %7s %10s %10s %7s\n' "$mode" median "" "" "$(fmt %.3f "$(cut -d' ' -f1 "$WORK_DIR/ratios-$mode" | median_of_lines)")" \
    "" "" "$(fmt %.3f "$(cut -d' ' -f2 "$WORK_DIR/ratios-$mode" | median_of_lines)")"
done
