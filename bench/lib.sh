# shellcheck shell=bash
# Shared functions for the pgsluice demo and benchmark scripts. Source it:
#
#   . "$(dirname "$0")/lib.sh"
#   lib_init            # work dir + cleanup trap
#
# Everything here listens on 127.0.0.1 only, and everything started is
# recorded so that the EXIT trap stops it (pgsluice, PgBouncer, PostgreSQL,
# helper processes), also on Ctrl-C and on errors.
#
# Environment overrides:
#   PG_BIN            PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#   PGSLUICE_BUILD    build directory (default <repo>/build)
#   PGSLUICE_BIN      pgsluice binary (default $PGSLUICE_BUILD/proxy/pgsluice)
#   PGSLUICE_NO_BUILD=1   use the existing binary, do not run cmake
#   BENCH_KEEP_WORKDIR=1  keep the temporary directory (logs, configs) on exit
#   PROXY_NICE        nice value of PgBouncer and pgsluice (default 0)

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
PGSLUICE_BUILD="${PGSLUICE_BUILD:-$REPO_DIR/build}"
PGSLUICE_BIN="${PGSLUICE_BIN:-$PGSLUICE_BUILD/proxy/pgsluice}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

# Credentials used by every script. The benchmark role is not a superuser.
PG_SUPERUSER=postgres
PG_SUPERPASS=postgres
BENCH_USER=bench
BENCH_PASS=bench
BENCH_DB=bench

WORK_DIR=""           # temporary directory holding data, configs and logs
PG_PORT="" PG_DATA="" PG_LOG=""
PGB_PORT="" PGB_PID="" PGB_LOG="" PGB_CONF=""
PGS_PORT="" PGS_PID="" PGS_LOG="" PGS_CONF=""
CLEANUP_PIDS=()       # extra background processes to stop on exit
RESERVED_PORTS=" "    # ports handed out by free_port in this run

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- setup ----

lib_init() {
  # initdb, postgres and PgBouncer must run as the postgres user; switching to
  # it (runuser, chown, pgbouncer -u) needs root.
  [[ $EUID -eq 0 ]] || die "run this as root (for example: sudo $0), it starts PostgreSQL as the postgres user"
  WORK_DIR="$(mktemp -d -t pgsluice-bench.XXXXXX)"
  chmod 755 "$WORK_DIR"   # the postgres user must reach its own subdirectory
  trap lib_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # Many client connections need many descriptors; raise the soft limit to the
  # hard limit. Children (proxies, pgbench, idle_clients) inherit it.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

lib_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  local pid
  for pid in "${CLEANUP_PIDS[@]}"; do stop_pid "$pid" 5; done
  stop_pgsluice
  stop_pgbouncer
  stop_postgres
  if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    if [[ $rc -ne 0 || "${BENCH_KEEP_WORKDIR:-0}" == 1 ]]; then
      log "logs and configs kept in $WORK_DIR"
    else
      rm -rf "$WORK_DIR"
    fi
  fi
  exit "$rc"
}

# Installs the Debian packages the build, the demo and the benchmarks need.
# apt-get runs only when something is missing, and `update` at most once.
ensure_packages() {
  local wanted=(build-essential cmake pkg-config libuv1-dev libpq-dev libtomlplusplus-dev
                libssl-dev googletest libgtest-dev postgresql-15 postgresql-client-15 pgbouncer)
  local missing=() p
  for p in "${wanted[@]}"; do
    # A removed package whose config files remain is still known to dpkg -s.
    [[ "$(dpkg -s "$p" 2>/dev/null)" == *$'\nStatus: install ok installed\n'* ]] || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then return 0; fi
  log "installing: ${missing[*]}"
  env DEBIAN_FRONTEND=noninteractive apt-get update -q
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

cmake_configure_if_needed() {
  if [[ ! -f "$PGSLUICE_BUILD/CMakeCache.txt" ]]; then
    log "configuring $PGSLUICE_BUILD (RelWithDebInfo)"
    cmake -S "$REPO_DIR" -B "$PGSLUICE_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
}

build_pgsluice() {
  if [[ "${PGSLUICE_NO_BUILD:-0}" == 1 ]]; then
    [[ -x "$PGSLUICE_BIN" ]] || die "PGSLUICE_NO_BUILD=1 but $PGSLUICE_BIN does not exist"
    return 0
  fi
  cmake_configure_if_needed
  log "building pgsluice"
  cmake --build "$PGSLUICE_BUILD" --target pgsluice -j2 >&2
  [[ -x "$PGSLUICE_BIN" ]] || die "build finished but $PGSLUICE_BIN is missing"
}

# build_bench_tool NAME: builds bench/NAME.cpp (a CMake target of that name)
# and prints the binary's path. With PGSLUICE_NO_BUILD=1 it takes the build
# tree's binary if it is newer than the source. Failing either, it compiles
# the one file with c++ into $WORK_DIR (the CMake tree may not build while
# other parts of the project are mid-change).
build_bench_tool() {
  local name=$1 bin="$PGSLUICE_BUILD/bench/$1"
  if [[ "${PGSLUICE_NO_BUILD:-0}" != 1 ]]; then
    if cmake_configure_if_needed && cmake -S "$REPO_DIR" -B "$PGSLUICE_BUILD" >/dev/null &&
       cmake --build "$PGSLUICE_BUILD" --target "$name" -j2 >&2; then
      echo "$bin"; return 0
    fi
  elif [[ -x "$bin" && "$bin" -nt "$BENCH_DIR/$name.cpp" ]]; then
    echo "$bin"; return 0
  fi
  log "building $name directly with c++"
  bin="$WORK_DIR/$name"
  # shellcheck disable=SC2046
  c++ -std=c++20 -O2 -Wall -Wextra -I "$REPO_DIR" -o "$bin" "$BENCH_DIR/$name.cpp" \
      $(pkg-config --cflags --libs libpq) >&2 || die "cannot build $name"
  echo "$bin"
}

# ------------------------------------------------------------- processes ----

# Prints a TCP port on 127.0.0.1 that nothing uses, below the ephemeral range
# so that thousands of client sockets cannot take it later.
free_port() {
  local used p i
  used=" $(tcp_sockets | cut -d' ' -f1 | tr '\n' ' ') "
  for ((i = 0; i < 1000; i++)); do
    p=$((15000 + RANDOM % 17000))
    if [[ "$used" != *" $p "* && "$RESERVED_PORTS" != *" $p "* ]]; then
      RESERVED_PORTS+="$p "
      echo "$p"; return 0
    fi
  done
  die "no free port found"
}

# Prints "LOCAL_PORT STATE" for every TCP socket (STATE in hex, 0A = listen).
tcp_sockets() {
  local _sl addr _rem st _rest
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    while read -r _sl addr _rem st _rest; do
      [[ "$_sl" == sl ]] && continue
      echo "$((16#${addr##*:})) $st"
    done
}

port_listening() {  # port -> true if some socket listens on it (state 0A)
  local hex
  hex="$(printf '%04X' "$1")"
  grep -qE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# wait_for_port PORT PID SECONDS LOGFILE: waits until PORT listens, failing
# early (with the log tail) if PID exits.
wait_for_port() {
  local port=$1 pid=$2 secs=$3 logf=$4 i
  for ((i = 0; i < secs * 10; i++)); do
    port_listening "$port" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited before listening on $port; last log lines:"
      tail -n 20 "$logf" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  log "nothing listens on $port after ${secs}s; last log lines:"
  tail -n 20 "$logf" >&2 || true
  return 1
}

# stop_pid PID SECONDS: SIGTERM, then SIGKILL after SECONDS.
stop_pid() {
  local pid=$1 secs=${2:-10} i
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "process $pid did not stop after ${secs}s, killing it"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  return 0
}

# ----------------------------------------------------------- CPU placement ----

# Two hosts on one machine: the first half of the CPUs is the database host
# (PostgreSQL, and a proxy under test pinned there as if installed beside it),
# the rest the app servers (load generator, pgbench checks, pollers). Without
# it, the load generator's CPU and its thousands of wake-ups a second come out
# of PostgreSQL's cores, which app servers on machines of their own would not.
DB_CPUS="" APP_CPUS="" DB_CPU_COUNT=""

# split_cpus: sets DB_CPUS and APP_CPUS (comma lists for taskset) and
# DB_CPU_COUNT, halving the CPUs this script may run on (2 or more).
split_cpus() {
  local list part ids=() i n
  list="$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)"
  for part in ${list//,/ }; do
    for ((i = ${part%-*}; i <= ${part#*-}; i++)); do ids+=("$i"); done
  done
  n=${#ids[@]}
  ((n >= 2)) || die "a CPU split needs at least 2 CPUs; this script may use $n ($list)"
  command -v taskset >/dev/null || die "taskset (util-linux) is not installed"
  DB_CPU_COUNT=$((n / 2))
  DB_CPUS="$(IFS=,; echo "${ids[*]:0:DB_CPU_COUNT}")"
  APP_CPUS="$(IFS=,; echo "${ids[*]:DB_CPU_COUNT}")"
}

# pin_pids CPUS PID...: every thread of each process onto CPUS; children
# forked later inherit it.
pin_pids() {
  local cpus=$1 pid
  shift
  for pid in "$@"; do
    taskset -a -p -c "$cpus" "$pid" >/dev/null || die "cannot pin process $pid to CPUs $cpus"
  done
}

# pin_postgres CPUS: the postmaster and every process it has started (its
# backends to come inherit the postmaster's CPUs).
pin_postgres() {
  local pm
  pm="$(head -n 1 "$PG_DATA/postmaster.pid")"
  # shellcheck disable=SC2046  # one pid per word
  pin_pids "$1" "$pm" $(pgrep -P "$pm")
}

# place_cpus split|shared: where the overload benchmarks run things. split:
# PostgreSQL on the database host's CPUs, this script (so everything it
# starts from here on) on the app servers'; pin_proxy PID then moves a proxy
# beside the database. shared: nothing is pinned, and DB_CPU_COUNT is every
# CPU. Call it once PostgreSQL runs.
place_cpus() {
  if [[ $1 == split ]]; then
    split_cpus
    pin_postgres "$DB_CPUS"
    pin_pids "$APP_CPUS" $$
    log "CPU split: PostgreSQL and the proxy under test on CPU $DB_CPUS; load generator, checks and pollers on CPU $APP_CPUS"
  else
    DB_CPUS="" APP_CPUS="" DB_CPU_COUNT="$(nproc)"
  fi
}
pin_proxy() { [[ -z $DB_CPUS ]] || pin_pids "$DB_CPUS" "$1"; }

# overload_adaptive_admission: the [admission] table the overload benchmarks
# give pgsluice by default. Its floor is the database's CPU count (set by
# place_cpus): the fewest transactions that keep every core busy.
overload_adaptive_admission() {
  printf 'mode = "adaptive"\nmin_limit = %s\nmax_limit = 16\nshed_wait_ms = 4\n' "$DB_CPU_COUNT"
}

# CPU seconds (user + system, all threads) a process has used so far.
proc_cpu_seconds() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo "nan"; return 1; }
  # Field 2 (comm) may hold spaces; fields 14 and 15 count from after it.
  stat="${stat##*) }"
  # shellcheck disable=SC2086
  set -- $stat
  awk -v u="${12}" -v s="${13}" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f\n", (u + s) / hz }'
}

# CPU seconds the whole machine has been busy (all CPUs: user, nice, system,
# irq, softirq, steal), from /proc/stat.
machine_busy_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}

proc_rss_kib() {  # resident set size in KiB
  awk '/^VmRSS:/ { print $2; found = 1 } END { if (!found) print "nan" }' "/proc/$1/status" 2>/dev/null
}

# proxy_exec CMD ARGS...: replaces the calling (background) subshell with CMD
# at nice PROXY_NICE, in a session of its own whose autogroup gets the same
# nice value. Linux weighs nice values only within an autogroup (one per
# session, kernel.sched_autogroup_enabled), and every PostgreSQL backend
# starts a session of its own: a proxy left in this script's session would
# weigh one backend's share whatever its nice value. The pid stays the
# subshell's ($!): a background subshell leads no process group, so setsid
# does not fork.
proxy_exec() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  exec setsid bash -c '[[ -w /proc/self/autogroup ]] && echo "$0" > /proc/self/autogroup 2>/dev/null
                       exec nice -n "$0" "$@"' "${PROXY_NICE:-0}" "$@"
}

# ------------------------------------------------------------ PostgreSQL ----

pg_super_psql() {  # psql as the superuser on the throwaway server
  PGPASSWORD="$PG_SUPERPASS" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" "$@"
}

# Starts a throwaway PostgreSQL on 127.0.0.1 with scram-sha-256 auth, a
# superuser postgres/postgres, a LOGIN role bench/bench and database bench.
start_postgres() {
  [[ -x "$PG_BIN/initdb" ]] || die "PostgreSQL binaries not found in $PG_BIN"
  PG_PORT="$(free_port)"
  PG_DATA="$WORK_DIR/pg/data"
  PG_LOG="$WORK_DIR/pg/postgres.log"
  mkdir -p "$WORK_DIR/pg"
  printf '%s\n' "$PG_SUPERPASS" > "$WORK_DIR/pg/pwfile"
  chown -R postgres:postgres "$WORK_DIR/pg"
  chmod 700 "$WORK_DIR/pg"
  log "initdb in $PG_DATA"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" \
    --pwfile="$WORK_DIR/pg/pwfile" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
    >"$WORK_DIR/pg/initdb.log" 2>&1 || { tail -n 20 "$WORK_DIR/pg/initdb.log" >&2; die "initdb failed"; }
  cat >> "$PG_DATA/postgresql.conf" <<EOF

# pgsluice bench settings
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK_DIR/pg'
max_connections = 300
shared_buffers = 128MB
fsync = off
password_encryption = 'scram-sha-256'
EOF
  cat > "$PG_DATA/pg_hba.conf" <<EOF
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
EOF
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null \
    || { tail -n 20 "$PG_LOG" >&2; die "PostgreSQL did not start"; }
  pg_super_psql -d postgres <<EOF
CREATE ROLE $BENCH_USER LOGIN PASSWORD '$BENCH_PASS';
CREATE DATABASE $BENCH_DB OWNER $BENCH_USER;
EOF
}

stop_postgres() {
  [[ -n "$PG_DATA" && -f "$PG_DATA/postmaster.pid" ]] || return 0
  log "stopping PostgreSQL"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
    || runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1
  PG_DATA=""
}

# Connections PostgreSQL currently serves for the bench role (the proxies' and
# pgbench's server connections; our own superuser sessions are not counted).
pg_bench_backends() {
  pg_super_psql -d postgres -At -c \
    "SELECT count(*) FROM pg_stat_activity WHERE usename = '$BENCH_USER' AND backend_type = 'client backend'"
}

# -------------------------------------------------------------- PgBouncer ----

# start_pgbouncer POOL_SIZE [POOL_MODE]: PgBouncer in front of PG_PORT with
# the same pool limits pgsluice gets (default_pool_size = max_db_connections).
start_pgbouncer() {
  local pool_size=${1:-20} pool_mode=${2:-transaction} dir="$WORK_DIR/pgbouncer"
  command -v pgbouncer >/dev/null || die "pgbouncer is not installed"
  PGB_PORT="$(free_port)"
  mkdir -p "$dir"
  PGB_CONF="$dir/pgbouncer.ini"
  PGB_LOG="$dir/pgbouncer.log"
  # Plaintext passwords: PgBouncer then runs SCRAM with clients and servers.
  printf '"%s" "%s"\n' "$BENCH_USER" "$BENCH_PASS" > "$dir/userlist.txt"
  cat > "$PGB_CONF" <<EOF
[databases]
$BENCH_DB = host=127.0.0.1 port=$PG_PORT dbname=$BENCH_DB

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = $pool_mode
default_pool_size = $pool_size
max_db_connections = $pool_size
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 10000
ignore_startup_parameters = extra_float_digits
logfile = $PGB_LOG
pidfile = $dir/pgbouncer.pid
log_connections = 0
log_disconnections = 0
EOF
  chown -R postgres:postgres "$dir"
  chmod 700 "$dir"
  log "starting PgBouncer on 127.0.0.1:$PGB_PORT (pool_mode $pool_mode, pool size $pool_size)"
  # -u: PgBouncer refuses to run as root; it drops to postgres itself, so $!
  # is PgBouncer's own pid (needed for the CPU and memory figures).
  (ulimit -n "$(ulimit -Hn)"; proxy_exec pgbouncer -u postgres "$PGB_CONF") >>"$dir/stdout.log" 2>&1 &
  PGB_PID=$!
  wait_for_port "$PGB_PORT" "$PGB_PID" 30 "$PGB_LOG" || { cat "$dir/stdout.log" >&2; die "PgBouncer did not start"; }
}

stop_pgbouncer() {
  [[ -n "$PGB_PID" ]] || return 0
  log "stopping PgBouncer"
  # SIGINT: "safe shutdown"; SIGTERM would be immediate too, both are fine here.
  stop_pid "$PGB_PID" 10
  PGB_PID=""
}

# --------------------------------------------------------------- pgsluice ----

# write_pgsluice_config FILE LISTEN_PORT POOL_SIZE [POOL_MODE]
write_pgsluice_config() {
  local file=$1 port=$2 pool_size=$3 pool_mode=${4:-transaction}
  cat > "$file" <<EOF
# Written by bench/lib.sh for a throwaway benchmark run.
[proxy]
listen = "127.0.0.1:$port"
max_client_connections = 10000

[server]
host = "127.0.0.1"
port = $PG_PORT

[databases.$BENCH_DB]
pool_mode = "$pool_mode"
pool_size = $pool_size

[auth]
method = "scram-sha-256"

[users]
$BENCH_USER = "$BENCH_PASS"
EOF
}

# start_pgsluice POOL_SIZE [POOL_MODE]
start_pgsluice() {
  local pool_size=${1:-20} pool_mode=${2:-transaction} dir="$WORK_DIR/pgsluice"
  [[ -x "$PGSLUICE_BIN" ]] || die "$PGSLUICE_BIN not found (build it first)"
  PGS_PORT="$(free_port)"
  mkdir -p "$dir"
  PGS_CONF="$dir/pgsluice.toml"
  PGS_LOG="$dir/pgsluice.log"
  write_pgsluice_config "$PGS_CONF" "$PGS_PORT" "$pool_size" "$pool_mode"
  log "starting pgsluice on 127.0.0.1:$PGS_PORT (pool_mode $pool_mode, pool_size $pool_size)"
  (ulimit -n "$(ulimit -Hn)"; proxy_exec "$PGSLUICE_BIN" --config "$PGS_CONF") >>"$PGS_LOG" 2>&1 &
  PGS_PID=$!
  wait_for_port "$PGS_PORT" "$PGS_PID" 30 "$PGS_LOG" || die "pgsluice did not start"
}

stop_pgsluice() {
  [[ -n "$PGS_PID" ]] || return 0
  log "stopping pgsluice"
  stop_pid "$PGS_PID" 10
  PGS_PID=""
}

# ------------------------------------------------------------------ misc ----

# replace_results_section RESULTS ID SECTION_FILE: puts SECTION_FILE between
# "<!-- BEGIN ID -->" and "<!-- END ID -->" in RESULTS (the file includes both
# markers), replacing what was there, or appends it when the section is new.
replace_results_section() {
  local results=$1 id=$2 section=$3
  awk -v id="$id" -v sec="$section" '
  $0 == "<!-- BEGIN " id " -->" { skipping = 1; while ((getline l < sec) > 0) print l; done = 1; next }
  skipping && $0 == "<!-- END " id " -->" { skipping = 0; next }
  !skipping { print }
  END { if (!done) { print ""; while ((getline l < sec) > 0) print l } }
  ' "$results" > "$results.new"
  mv "$results.new" "$results"
}

machine_summary() {  # Markdown bullet list describing this machine
  local cpu
  cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  [[ -n "$cpu" ]] || cpu="$(uname -m)"
  echo "- Machine: $(getconf _NPROCESSORS_ONLN) CPUs ($cpu), $(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
  echo "- Kernel: $(uname -sr); OS: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- PostgreSQL: $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) //'); PgBouncer: $(pgbouncer --version 2>/dev/null | head -n1 | sed 's/^PgBouncer //')"
  local rev
  rev="$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [[ -n "$(git -C "$REPO_DIR" status --porcelain -- proxy protocol config 2>/dev/null)" ]]; then rev+=" + uncommitted changes"; fi
  echo "- pgsluice: commit $rev"
}

# ------------------------------------------------------------- figures ----

# The median of the numbers on stdin, one per line; "nan" if there are none.
median_of_lines() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
                  else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# fmt PRINTF_FORMAT VALUE: VALUE formatted, or "—" when it is missing or nan.
# shellcheck disable=SC2059  # the format is the argument by design
fmt() { if [[ "$2" == nan || -z "$2" ]]; then echo "—"; else printf "$1" "$2"; fi; }

# ratio A B: A / B to two decimals, or "—" when either is nan or B is 0.
ratio() {
  if [[ "$1" == nan || "$2" == nan ]]; then echo "—"
  else awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "—"; else printf "%.2f", a / b }'; fi
}

# ------------------------------------------ overload.sh additions (appended) ----

# create_login_roles PASSWORD ROLE...: LOGIN roles (not superusers) that may
# connect to $BENCH_DB, all with the same password.
create_login_roles() {
  local pass=$1 role sql=""
  shift
  for role in "$@"; do
    sql+="CREATE ROLE $role LOGIN PASSWORD '$pass'; GRANT CONNECT ON DATABASE $BENCH_DB TO $role;"$'\n'
  done
  pg_super_psql -d postgres <<<"$sql"
}

# start_pgbouncer_custom NAME "EXTRA INI LINES" USER:PASS...: PgBouncer in
# front of PG_PORT in transaction mode with [pgbouncer] settings appended
# (later lines win, so EXTRA can set default_pool_size, max_db_connections,
# query_wait_timeout, ...), and a userlist holding the given users. Sets
# PGB_PORT, PGB_PID, PGB_LOG, PGB_CONF like start_pgbouncer; stop it with
# stop_pgbouncer. NAME picks its directory under WORK_DIR.
start_pgbouncer_custom() {
  local name=$1 extra=$2 dir="$WORK_DIR/$1" up
  shift 2
  command -v pgbouncer >/dev/null || die "pgbouncer is not installed"
  PGB_PORT="$(free_port)"
  mkdir -p "$dir"
  PGB_CONF="$dir/pgbouncer.ini"
  PGB_LOG="$dir/pgbouncer.log"
  : > "$dir/userlist.txt"
  for up in "$@"; do printf '"%s" "%s"\n' "${up%%:*}" "${up#*:}" >> "$dir/userlist.txt"; done
  cat > "$PGB_CONF" <<EOF
[databases]
$BENCH_DB = host=127.0.0.1 port=$PG_PORT dbname=$BENCH_DB

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 10000
ignore_startup_parameters = extra_float_digits
logfile = $PGB_LOG
pidfile = $dir/pgbouncer.pid
log_connections = 0
log_disconnections = 0
$extra
EOF
  chown -R postgres:postgres "$dir"
  chmod 700 "$dir"
  log "starting PgBouncer ($name) on 127.0.0.1:$PGB_PORT: $(tr '\n' ' ' <<<"$extra")"
  (ulimit -n "$(ulimit -Hn)"; proxy_exec pgbouncer -u postgres "$PGB_CONF") >>"$dir/stdout.log" 2>&1 &
  PGB_PID=$!
  wait_for_port "$PGB_PORT" "$PGB_PID" 30 "$PGB_LOG" || { cat "$dir/stdout.log" >&2; die "PgBouncer did not start"; }
}

# pgsluice_check FILE: true if `pgsluice --check FILE` accepts it; its
# complaints go to stderr.
pgsluice_check() {
  [[ -x "$PGSLUICE_BIN" ]] || { log "$PGSLUICE_BIN not found"; return 1; }
  "$PGSLUICE_BIN" --check "$1" >&2
}

# start_pgsluice_file FILE PORT: starts pgsluice with a config written by the
# caller (which listens on 127.0.0.1:PORT; get PORT from free_port). Sets
# PGS_PORT, PGS_PID, PGS_LOG, PGS_CONF; stop it with stop_pgsluice.
start_pgsluice_file() {
  local file=$1 dir
  [[ -x "$PGSLUICE_BIN" ]] || die "$PGSLUICE_BIN not found (build it first)"
  PGS_CONF="$file"
  PGS_PORT=$2
  dir="$(dirname "$file")"
  PGS_LOG="$dir/pgsluice.log"
  log "starting pgsluice on 127.0.0.1:$PGS_PORT with $file"
  (ulimit -n "$(ulimit -Hn)"; proxy_exec "$PGSLUICE_BIN" --config "$file") >>"$PGS_LOG" 2>&1 &
  PGS_PID=$!
  wait_for_port "$PGS_PORT" "$PGS_PID" 30 "$PGS_LOG" || die "pgsluice did not start"
}

# write_overload_pgsluice_config FILE PORT ADMIN_PORT ADMISSION_BODY: the
# pgsluice of bench/overload.sh and bench/overload_arms.sh: transaction mode,
# pool_size 20, a queue per user (app1..app4 with password $APP_PASS, and the
# bench role, which also reads the admin console), the [admission] table's
# lines as given, and the scheduler slice PGSLUICE_SLICE_US (default 100).
write_overload_pgsluice_config() {
  local u
  {
    cat <<CONF
[proxy]
listen = "127.0.0.1:$2"
admin_listen = "127.0.0.1:$3"
max_client_connections = 10000
sched_slice_us = ${PGSLUICE_SLICE_US:-100}

[server]
host = "127.0.0.1"
port = $PG_PORT

[databases.$BENCH_DB]
pool_mode = "transaction"
pool_size = 20

[auth]
method = "scram-sha-256"

[users]
CONF
    for u in app1 app2 app3 app4; do echo "$u = \"${APP_PASS:-app}\""; done
    echo "$BENCH_USER = \"$BENCH_PASS\""
    cat <<CONF

[limits]
client_key = "user"
max_queue = 64
queue_timeout_ms = 1000

[admission]
$4

[admin]
users = ["$BENCH_USER"]
# [alerts]: the defaults (skew_factor, skew_for_ms, skew_min_rate).
CONF
  } > "$1"
}

# prepare_overload_database: the login roles app1..app4 (password $APP_PASS)
# of the overload scripts, and the work_mem their query needs.
prepare_overload_database() {
  create_login_roles "${APP_PASS:-app}" app1 app2 app3 app4
  # generate_series in FROM materialises its rows; with the default 4MB work_mem
  # ~20k rows spill to a temporary file and the query stops being CPU-bound.
  pg_super_psql -d postgres -c "ALTER DATABASE $BENCH_DB SET work_mem = '64MB'"
}
