#!/usr/bin/env bash
# Overload A/B for pgsluice alone: one throwaway PostgreSQL, several "arms"
# (a pgsluice binary and an [admission] setting each), run in turn, round
# after round, so that the host's drift falls on every arm alike. Each run is
# one overload scenario of bench/overload.sh (same query, same load
# generator, same per-user config) bracketed by capacity checks, and prints:
#
#   ARM rN goodput G/s checks C1 C2 ratio R logins L maxsrv S limits LIMIT:POLLS...
#
#   ratio   goodput over the mean of the checks before and after the run
#   logins  server logins PostgreSQL saw during the run (log_connections):
#           pgsluice's pool should open a handful, then reuse them
#   maxsrv  most server connections pgsluice held (polled every 0.5 s)
#   limits  how many polls saw each admission limit
#
# Nothing is written to bench/RESULTS.md: a tool for checking a change, e.g.
#
#   bench/overload_arms.sh --arm "old=/tmp/old/build/proxy/pgsluice:adaptive" \
#                          --arm "new=build/proxy/pgsluice:adaptive" --rounds 3
#
# Options:
#   --arm NAME=BINARY:MODE   repeatable; MODE is adaptive (min = the database's
#                            CPUs, max 16, as in bench/overload.sh) or staticN
#                            (a fixed limit N);
#                            default one arm, this build's binary, adaptive
#   --arm NAME=direct:poolN  a reference arm without pgsluice: the load generator
#                            talks to PostgreSQL itself, and the keys that overload
#                            (app1 when skewed, every key when even) are held to N
#                            connections each, with a local queue of 2
#                            (--max-pending 2; the rest overflow in the generator,
#                            costing no round trip). The issue's "idealised run":
#                            about the best any admission scheme can do on this
#                            rig, and what the same rig's CPU tax leaves of it
#   --arm NAME=BINARY:MODE+poolN  as BINARY:MODE, with the load generator holding
#                            the overloading keys to N connections as for
#                            direct:poolN: what the proxy's hop costs when
#                            nothing is queued or rejected in pgsluice
#   --scenario even|skewed   (default even: app1..app4 at 0.75x capacity each)
#   --rounds N               (default 2)
#   --duration S             measured seconds per run (default 20, after a 5 s warm-up)
#   --n N                    the query is SELECT count(*) FROM generate_series(1, N)
#                            (default 30000, about 6 ms here; no calibration)
#   --check-clients N        clients of each capacity check (default twice the
#                            database's CPUs; use the count bench/overload.sh's
#                            calibration picked)
#   --cpus split|shared      where things run, as in bench/overload.sh (default
#                            split: PostgreSQL and pgsluice on the first half of
#                            the CPUs, the load generator and checks on the rest)
#   --no-poll                do not poll pgsluice's /metrics (maxsrv and limits
#                            print "?"), to see what the poller itself costs
set -euo pipefail
. "$(dirname "$0")/lib.sh"
export PGSLUICE_NO_BUILD=1
export PROXY_NICE="${PROXY_NICE:--5}"

# shellcheck disable=SC2034  # APP_PASS is read by lib.sh
APP_PASS=app
ARMS=() SCENARIO=even ROUNDS=2 DURATION=20 WARMUP=5 N=30000 CHECK_CLIENTS="" POLL=1 CPUS=split
while [[ $# -gt 0 ]]; do
  case "$1" in
    --arm) ARMS+=("$2"); shift ;;
    --scenario) SCENARIO=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --n) N=$2; shift ;;
    --check-clients) CHECK_CLIENTS=$2; shift ;;
    --no-poll) POLL=0 ;;
    --cpus) CPUS=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ ${#ARMS[@]} -gt 0 ]] || ARMS=("this=$PGSLUICE_BIN:adaptive")
[[ $SCENARIO == even || $SCENARIO == skewed ]] || die "--scenario must be even or skewed"
[[ "$ROUNDS" =~ ^[1-9]$ ]] || die "--rounds must be 1..9"
[[ -z $CHECK_CLIENTS || "$CHECK_CLIENTS" =~ ^[1-9][0-9]?$ ]] || die "--check-clients must be 1..99"
[[ $CPUS == split || $CPUS == shared ]] || die "--cpus must be split or shared"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "--n must be a positive integer"
[[ "$DURATION" =~ ^[0-9]+$ && $DURATION -ge 5 && $DURATION -le 120 ]] || die "--duration must be 5..120"
for a in "${ARMS[@]}"; do
  [[ $a =~ ^[A-Za-z0-9_.-]+=direct:pool[1-9][0-9]?$ ]] && continue
  [[ $a =~ ^[A-Za-z0-9_.-]+=.+:(adaptive|static[0-9]+)(\+pool[1-9][0-9]?)?$ ]] ||
    die "--arm $a: want NAME=BINARY:adaptive|staticN[+poolN] or NAME=direct:poolN"
  bin=${a#*=}; bin=${bin%:*}
  [[ -x $bin ]] || die "--arm $a: $bin is not an executable"
done

lib_init
ensure_packages
LOADGEN="$(build_bench_tool loadgen)"
start_postgres
prepare_overload_database
place_cpus "$CPUS"
[[ -n $CHECK_CLIENTS ]] || CHECK_CLIENTS=$((2 * DB_CPU_COUNT))
pg_super_psql -d postgres -c "ALTER SYSTEM SET log_connections = on" -c "SELECT pg_reload_conf()" >/dev/null
QUERY="SELECT count(*) FROM generate_series(1, $N)"
echo "$QUERY;" > "$WORK_DIR/query.sql"

check() {  # the capacity check of bench/overload.sh: pgbench -j 2 -T 10, directly
  PGPASSWORD="$BENCH_PASS" timeout -k 5 60 "$PG_BIN/pgbench" -n -f "$WORK_DIR/query.sql" -c "$CHECK_CLIENTS" -j 2 -T 10 \
    -h 127.0.0.1 -p "$PG_PORT" -U "$BENCH_USER" "$BENCH_DB" 2>&1 | awk '/^tps/ { print $3 }'
}

admission_body() {  # MODE -> the [admission] table's lines
  case "$1" in
    adaptive) overload_adaptive_admission ;;
    static*) printf 'mode = "static"\nmax_limit = %s\nshed_wait_ms = 4\n' "${1#static}" ;;
  esac
}

rate() { awk -v c="$1" -v f="$2" 'BEGIN { printf "%.1f", c * f }'; }  # CAPACITY FACTOR

loadgen_keys() {  # CAPACITY [POOL] -> the load generator's key arguments; POOL
  local k pool=${2:-20}  # replaces the overloading keys' pool of 20
  if [[ $SCENARIO == even ]]; then
    for k in 1 2 3 4; do echo "app$k:app$k:app:app-server-$k:$(rate "$1" 0.75):$pool"; done
  else
    echo "app1:app1:app:app-server-1:$(rate "$1" 3):$pool"
    for k in 2 3 4; do echo "app$k:app$k:app:app-server-$k:$(rate "$1" 0.1):5"; done
  fi
}

logins() { grep -c 'connection authorized' "$PG_LOG" || true; }

cap=$(check)
log "first capacity check: $cap/s"
for r in $(seq 1 "$ROUNDS"); do
  for a in "${ARMS[@]}"; do
    name=${a%%=*} bin=${a#*=} mode=${a##*:}
    bin=${bin%:*}
    dir="$WORK_DIR/$name-$r"
    mkdir -p "$dir"
    : > "$dir/polls.txt"
    held_pool="" extra=()
    if [[ $mode == *pool* ]]; then
      held_pool=${mode##*pool} extra=(--max-pending 2)
      mode=${mode%+pool*}
    fi
    if [[ $mode == pool* ]]; then
      port=$PG_PORT
    else
      port=$(free_port) aport=$(free_port)
      write_overload_pgsluice_config "$dir/pgsluice.toml" "$port" "$aport" "$(admission_body "$mode")"
      PGSLUICE_BIN=$bin start_pgsluice_file "$dir/pgsluice.toml" "$port"
      pin_proxy "$PGS_PID"
      wait_for_port "$aport" "$PGS_PID" 30 "$PGS_LOG" || die "pgsluice does not listen on $aport"
      # Bounded: the run lasts DURATION + WARMUP seconds plus its drain.
      for _ in $(seq 1 $(( (DURATION + WARMUP + 20) * 2 * POLL ))); do
        sleep 0.5
        curl -s -m 1 "http://127.0.0.1:$aport/metrics" | awk '
          /^pgsluice_admission_limit[ {]/ { print "limit", $NF }
          /^pgsluice_database_server_connections[ {]/ { print "servers", $NF }'
      done > "$dir/polls.txt" 2>/dev/null &
      poller=$!
      CLEANUP_PIDS+=("$poller")
    fi
    mapfile -t keys < <(loadgen_keys "$cap" "$held_pool")
    logins0=$(logins)
    nice -n -10 "$LOADGEN" --host 127.0.0.1 --port "$port" --dbname "$BENCH_DB" --query "$QUERY" \
      --duration-s "$DURATION" --warmup-s "$WARMUP" --timeout-ms 10000 --seed 42 "${extra[@]}" \
      --json-out "$dir/loadgen.json" --sched-slice-us 100 "${keys[@]}" >"$dir/loadgen.txt" 2>"$dir/loadgen.err" ||
      log "loadgen failed for $name round $r: $(tail -n 1 "$dir/loadgen.err")"
    logins1=$(logins)
    if [[ $mode != pool* ]]; then
      stop_pid "$poller" 5
      stop_pgsluice
    fi
    sleep 2
    cap2=$(check)
    goodput=$(/usr/bin/python3 -c 'import json, sys
print(sum(k["throughput_ok_per_s"] for k in json.load(open(sys.argv[1]))["keys"]))' "$dir/loadgen.json" 2>/dev/null || echo nan)
    limits=$(awk '$1 == "limit" { print $2 }' "$dir/polls.txt" | sort -n | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
    maxsrv=$(awk '$1 == "servers" { print $2 }' "$dir/polls.txt" | sort -n | tail -n 1)
    awk -v a="$name" -v r="$r" -v g="$goodput" -v c1="$cap" -v c2="$cap2" -v l="$((logins1 - logins0))" \
        -v s="${maxsrv:-?}" -v lim="$limits" 'BEGIN {
      printf "%-12s r%d goodput %6.1f/s checks %6.1f %6.1f ratio %.3f logins %d maxsrv %s limits %s\n",
             a, r, g, c1, c2, g / ((c1 + c2) / 2), l, s, lim }' | tee -a "$WORK_DIR/summary.txt"
    cap=$cap2
  done
done
log "summary (also in $WORK_DIR/summary.txt):"
cat "$WORK_DIR/summary.txt" >&2
