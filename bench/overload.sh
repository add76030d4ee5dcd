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
# generate_series(1, N)) and the capacity (the best pgbench TPS at 2..8
# clients, directly); then, for every scenario and target, run bench/loadgen
# (open loop, Poisson arrivals, one connection pool per app server, latency
# from the intended arrival time):
#   baseline  app2..app4 at 0.1x capacity each, pool 5 (their unloaded latency)
#   skewed    app1 at 3x capacity, pool 20; app2..app4 at 0.1x each, pool 5
#   even      app1..app4 at 0.75x capacity each, pool 20
# Targets:
#   direct           PostgreSQL itself
#   pgbouncer        PgBouncer 1.18, transaction mode, default_pool_size 20
#                    per user, no database cap
#   pgbouncer-tuned  default_pool_size 2, max_db_connections 4, query_wait_timeout 1
#   pgsluice         pool_size 20, [limits] per user (max_queue 64,
#                    queue_timeout_ms 1000), adaptive admission 2..16; skipped
#                    with a message when `pgsluice --check` refuses that config
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
#   --results FILE     Markdown file to update (default bench/RESULTS.md)
#   --no-results       print the tables only; touch neither RESULTS.md nor the PNG
#   --no-build         use the existing build (same as PGSLUICE_NO_BUILD=1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

COMMAND="bench/overload.sh${*:+ $*}"
DURATION=40 WARMUP=5 TIMEOUT_MS=10000 QUERY_MS=6 SEED=42 QUICK=0 WRITE_RESULTS=1
TARGETS="direct,pgbouncer,pgbouncer-tuned,pgsluice"
SCENARIOS="baseline,skewed,even"
TARGETS_SET=0 SCENARIOS_SET=0
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
    --results) RESULTS=$2; shift ;;
    --no-results) WRITE_RESULTS=0 ;;
    --no-build) export PGSLUICE_NO_BUILD=1 ;;
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
RUN_DIR="$WORK_DIR/runs"
mkdir -p "$RUN_DIR"

# Prints the path of the loadgen binary, building it (CMake, or the compiler
# directly when the tree does not build) if needed.
build_loadgen() {
  local bin="$PGSLUICE_BUILD/bench/loadgen"
  if [[ "${PGSLUICE_NO_BUILD:-0}" != 1 ]]; then
    if cmake_configure_if_needed && cmake -S "$REPO_DIR" -B "$PGSLUICE_BUILD" >/dev/null &&
       cmake --build "$PGSLUICE_BUILD" --target loadgen -j2 >&2; then
      echo "$bin"; return 0
    fi
  elif [[ -x "$bin" && "$bin" -nt "$BENCH_DIR/loadgen.cpp" ]]; then
    echo "$bin"; return 0
  fi
  log "building loadgen directly with c++"
  bin="$WORK_DIR/loadgen"
  # shellcheck disable=SC2046
  c++ -std=c++20 -O2 -Wall -Wextra -o "$bin" "$BENCH_DIR/loadgen.cpp" \
      $(pkg-config --cflags --libs libpq) >&2 || die "cannot build loadgen"
  echo "$bin"
}
LOADGEN="$(build_loadgen)"

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
create_login_roles "$APP_PASS" app1 app2 app3 app4
# generate_series in FROM materialises its rows; with the default 4MB work_mem
# ~20k rows spill to a temporary file and the query stops being CPU-bound.
pg_super_psql -d postgres -c "ALTER DATABASE $BENCH_DB SET work_mem = '64MB'"
USERS=(app1 app2 app3 app4 "$BENCH_USER")

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

CAP_SECS=5
[[ $QUICK == 1 ]] && CAP_SECS=3
CAPACITY=0 CAP_CLIENTS=0 CAP_LINE=""
for c in 2 4 6 8; do
  tps="$(pgbench_direct "$WORK_DIR/query.sql" -c "$c" -j 2 -T "$CAP_SECS" | awk '/^tps = / { printf "%.1f", $3 }')"
  [[ -n "$tps" ]] || die "capacity: pgbench -c $c gave no tps"
  log "capacity: $c clients -> $tps queries/s"
  CAP_LINE+="${CAP_LINE:+, }$c clients: $tps/s"
  if awk -v a="$tps" -v b="$CAPACITY" 'BEGIN { exit !(a > b) }'; then CAPACITY=$tps CAP_CLIENTS=$c; fi
done
log "capacity: $CAPACITY queries/s (best at $CAP_CLIENTS clients); query: $QUERY (${QUERY_LAT} ms alone)"

rate() { awk -v c="$CAPACITY" -v f="$1" 'BEGIN { printf "%.1f", c * f }'; }

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

write_overload_pgsluice_config() {  # FILE PORT
  local u
  {
    cat <<EOF
[proxy]
listen = "127.0.0.1:$2"
max_client_connections = 10000

[server]
host = "127.0.0.1"
port = $PG_PORT

[databases.$BENCH_DB]
pool_mode = "transaction"
pool_size = 20

[auth]
method = "scram-sha-256"

[users]
EOF
    for u in app1 app2 app3 app4; do echo "$u = \"$APP_PASS\""; done
    echo "$BENCH_USER = \"$BENCH_PASS\""
    cat <<EOF

[limits]
client_key = "user"
max_queue = 64
queue_timeout_ms = 1000

[admission]
mode = "adaptive"
min_limit = 2
max_limit = 16
EOF
  } > "$1"
}

# start_target TARGET: starts the proxy (if any) and prints the port to use;
# returns 1 (with PGSLUICE_SKIP set) when pgsluice cannot run this config.
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
        $'default_pool_size = 2\nmax_db_connections = 4\nquery_wait_timeout = 1' "${up[@]}" >&2
      TARGET_PORT=$PGB_PORT ;;
    pgsluice)
      [[ -z "$PGSLUICE_SKIP" ]] || return 1
      local dir="$WORK_DIR/pgsluice-overload" port
      mkdir -p "$dir"
      port="$(free_port)"
      write_overload_pgsluice_config "$dir/pgsluice.toml" "$port"
      if ! pgsluice_check "$dir/pgsluice.toml" 2>"$dir/check.txt"; then
        PGSLUICE_SKIP="\`pgsluice --check\` refused the overload config ([limits]/[admission] not implemented in this build?): $(grep -v '^$' "$dir/check.txt" | sed "s|^$dir/||" | head -n 3 | tr '\n' ' ')"
        log "SKIPPING pgsluice: $PGSLUICE_SKIP"
        return 1
      fi
      start_pgsluice_file "$dir/pgsluice.toml" "$port" >&2
      TARGET_PORT=$PGS_PORT ;;
  esac
}
stop_target() {
  case "$1" in
    pgbouncer|pgbouncer-tuned) stop_pgbouncer ;;
    pgsluice) stop_pgsluice ;;
  esac
}

# run_scenario SCENARIO TARGET: one loadgen run; its JSON in RUN_DIR.
run_scenario() {
  local scenario=$1 target=$2 keys rc=0
  local out="$RUN_DIR/$scenario.$target"
  start_target "$target" || { echo "$PGSLUICE_SKIP" > "$out.skipped"; return 0; }
  read -r -a keys <<<"$(scenario_keys "$scenario")"
  log "run: $scenario via $target (${DURATION}s + ${WARMUP}s warm-up): ${keys[*]//:$APP_PASS:/:*:}"
  # nice -10: the load generator is the measuring instrument; at normal
  # priority it would get 1/80th of the CPU next to 80 busy backends and
  # report its own lateness as latency. The proxies run at normal priority.
  timeout -k 5 $((DURATION + WARMUP + TIMEOUT_MS / 1000 + 120)) nice -n -10 "$LOADGEN" \
    --host 127.0.0.1 --port "$TARGET_PORT" --dbname "$BENCH_DB" --query "$QUERY" \
    --duration-s "$DURATION" --warmup-s "$WARMUP" --timeout-ms "$TIMEOUT_MS" --seed "$SEED" \
    --json-out "$out.json" "${keys[@]}" >"$out.txt" 2>"$out.err" || rc=$?
  cat "$out.txt" >&2
  if [[ $rc -ne 0 ]]; then
    log "loadgen failed ($rc) for $scenario via $target:"; tail -n 5 "$out.err" >&2
    echo "loadgen failed with status $rc: $(tail -n 1 "$out.err")" > "$out.failed"
    rm -f "$out.json"
  fi
  stop_target "$target"
  sleep 2   # let PostgreSQL finish what the closed connections left running
}

for scenario in baseline skewed even; do
  has_scenario "$scenario" || continue
  for target in direct pgbouncer pgbouncer-tuned pgsluice; do
    has_target "$target" || continue
    run_scenario "$scenario" "$target"
  done
done

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
  echo "- Capacity: **$CAPACITY queries/s** = the best of \`pgbench -c {2,4,6,8} -j 2 -T $CAP_SECS\` directly ($CAP_LINE)"
} > "$WORK_DIR/meta.md"

REPORT_ARGS=(--runs "$RUN_DIR" --meta "$WORK_DIR/meta.md" --capacity "$CAPACITY" --title "$TITLE"
             --section-id "$SECTION_ID" --duration "$DURATION" --warmup "$WARMUP" --timeout-ms "$TIMEOUT_MS")
if [[ $WRITE_RESULTS == 1 ]]; then
  "$PYTHON" "$BENCH_DIR/overload_report.py" "${REPORT_ARGS[@]}" --plot "$PLOT" \
    --plot-ref "$(basename "$PLOT")" > "$WORK_DIR/section.md"
  if [[ ! -f "$RESULTS" ]]; then
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf '# pgsluice benchmark results\n\nFigures written by the scripts in `bench/`; each section is replaced when its\nscript runs again.\n' > "$RESULTS"
  fi
  # Replace this benchmark's section if present, append it otherwise.
  replace_results_section "$RESULTS" "$SECTION_ID" "$WORK_DIR/section.md"
  log "results written to $RESULTS (section $SECTION_ID)${PLOT:+, plot $PLOT}"
else
  "$PYTHON" "$BENCH_DIR/overload_report.py" "${REPORT_ARGS[@]}" > "$WORK_DIR/section.md"
fi
echo
cat "$WORK_DIR/section.md"
