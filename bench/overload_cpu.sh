#!/usr/bin/env bash
# Where overload goodput goes: PostgreSQL's CPU and its CPU per query, with
# the same query, directly and through pgsluice. Steps, in the order given by
# SEQ (default "d3 p p p p d3 restart p p d3 l l"):
#
#   d2, d3    pgbench -c 2 / -c 3 -j 2 -T 15 directly (the capacity check)
#   p         pgbench -c 20 -j 2 -T 15 through pgsluice, static limit 3
#             (closed loop: only the proxy path, no overload traffic)
#   l         bench/loadgen through the same pgsluice: four users at 260
#             arrivals/s each for 15 s (open loop, several times capacity:
#             most arrivals are rejected, as in bench/overload.sh's even run)
#   restart   a new pgsluice (new server connections)
#
# Each step prints queries, queries/s, the CPUs PostgreSQL used (postmaster
# and backends, exited ones included) and its CPU milliseconds per query.
# If "l" has the per-query CPU of its neighbours but fewer CPUs, the loss
# is CPU taken by the proxy and the load generator, not work lost inside
# PostgreSQL. Nothing is written to bench/RESULTS.md.
#
# Environment: SEQ as above; N (default 30000): the query is
# SELECT count(*) FROM generate_series(1, N).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
export PGSLUICE_NO_BUILD=1
export PROXY_NICE="${PROXY_NICE:--5}"
# shellcheck disable=SC2034  # APP_PASS is read by lib.sh
APP_PASS=app N=${N:-30000}
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"

lib_init
ensure_packages
LOADGEN="$(build_bench_tool loadgen)"
start_postgres
prepare_overload_database
QUERY="SELECT count(*) FROM generate_series(1, $N)"
echo "$QUERY;" > "$WORK_DIR/query.sql"
PM_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
HZ=$(getconf CLK_TCK)

pg_ticks() {  # CPU ticks of the postmaster, its exited children and its live ones
  local t p s
  # shellcheck disable=SC2086  # the fields of /proc/PID/stat after "(comm) "
  { s=$(cat "/proc/$PM_PID/stat"); s=${s##*) }; set -- $s; }
  t=$(( ${12} + ${13} + ${14} + ${15} ))
  for p in $(pgrep -P "$PM_PID"); do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    t=$(( t + ${12} + ${13} ))
  done
  echo "$t"
}
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }

port=$(free_port) aport=$(free_port)
write_overload_pgsluice_config "$WORK_DIR/pgsluice.toml" "$port" "$aport" \
  "$(printf 'mode = "static"\nmax_limit = 3\nshed_wait_ms = 4\n')"
start_pgsluice_file "$WORK_DIR/pgsluice.toml" "$port"

measure() {  # LABEL CMD...: CMD prints the number of successful queries
  local label=$1 c0 c1 s0 s1 t0 t1 q
  shift
  c0=$(pg_ticks); s0=$(steal_ticks); t0=$(date +%s.%N)
  q=$("$@")
  c1=$(pg_ticks); s1=$(steal_ticks); t1=$(date +%s.%N)
  awk -v l="$label" -v q="$q" -v c="$((c1 - c0))" -v s="$((s1 - s0))" -v t0="$t0" -v t1="$t1" -v hz="$HZ" 'BEGIN {
    el = t1 - t0
    printf "%-14s queries %6d  q/s %6.1f  PG CPUs %.2f  PG ms/query %.2f  steal %.1f%%\n",
           l, q, q / el, c / hz / el, c * 1000 / hz / q, 100 * s / hz / el / 2 }'
}
pgb() {  # PORT CLIENTS
  PGPASSWORD="$BENCH_PASS" timeout -k 5 60 "$PG_BIN/pgbench" -n -f "$WORK_DIR/query.sql" -c "$2" -j 2 -T 15 \
    -h 127.0.0.1 -p "$1" -U "$BENCH_USER" "$BENCH_DB" 2>&1 |
    awk '/number of transactions actually processed/ { sub("/.*", "", $NF); print $NF }'
}
lg() {
  local keys=() k
  for k in 1 2 3 4; do keys+=("app$k:app$k:app:app-server-$k:260:20"); done
  nice -n -10 "$LOADGEN" --host 127.0.0.1 --port "$port" --dbname "$BENCH_DB" --query "$QUERY" \
    --duration-s 15 --warmup-s 0 --timeout-ms 10000 --seed 42 --json-out "$WORK_DIR/loadgen.json" \
    --sched-slice-us 100 "${keys[@]}" > "$WORK_DIR/loadgen.txt" 2>&1
  /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["ok"])' "$WORK_DIR/loadgen.json"
}

for step in ${SEQ:-d3 p p p p d3 restart p p d3 l l}; do
  case $step in
    d2) measure direct-c2 pgb "$PG_PORT" 2 ;;
    d3) measure direct-c3 pgb "$PG_PORT" 3 ;;
    p) measure pgs3-pgb-c20 pgb "$port" 20 ;;
    l) measure pgs3-loadgen lg ;;
    restart) stop_pgsluice; start_pgsluice_file "$WORK_DIR/pgsluice.toml" "$port"; echo "-- pgsluice restarted" ;;
    *) die "unknown step $step in SEQ" ;;
  esac
done
