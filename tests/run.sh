#!/usr/bin/env bash
# Builds pgsluice and runs every test (unit and integration) with ctest.
#
#   tests/run.sh              normal build (build/), then the sanitizer build
#                             (build-asan/, ASan + UBSan); stops at the first failure
#   tests/run.sh --fast       the normal pass only
#   tests/run.sh --sanitize   the sanitizer pass only (also: PGSLUICE_SANITIZE=1)
#
# Environment:
#   PGSLUICE_BUILD_DIR, PGSLUICE_ASAN_BUILD_DIR   build directories (defaults above)
#   PGSLUICE_CTEST_ARGS                            extra ctest arguments, e.g. "-R Cancel"
#   PGSLUICE_JOBS                                  build parallelism (default 2)
#
# Missing Debian packages are installed with apt-get (as root, or via sudo), and the
# npm packages of the browser test (tests/browser) and the driver matrix
# (tests/drivers) with npm ci.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

mode=both
if [[ "${PGSLUICE_SANITIZE:-0}" == 1 ]]; then mode=sanitize; fi
for arg in "$@"; do
  case "$arg" in
    --fast) mode=fast ;;
    --sanitize) mode=sanitize ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

JOBS=${PGSLUICE_JOBS:-2}
BUILD_DIR=${PGSLUICE_BUILD_DIR:-$ROOT/build}
ASAN_BUILD_DIR=${PGSLUICE_ASAN_BUILD_DIR:-$ROOT/build-asan}
read -r -a EXTRA_CTEST_ARGS <<< "${PGSLUICE_CTEST_ARGS:-}"

# ---- dependencies (only touch apt when something is missing: reruns stay fast)
PACKAGES=(build-essential cmake pkg-config libuv1-dev libpq-dev libtomlplusplus-dev libssl-dev
          googletest libgtest-dev postgresql-15 postgresql-client-15 pgbouncer procps util-linux
          chromium python3 python3-prometheus-client
          python3-psycopg python3-asyncpg libpostgresql-jdbc-java)
# The driver matrix compiles tests/drivers/JdbcMatrix.java; any JDK will do.
if ! command -v javac >/dev/null; then PACKAGES+=(default-jdk-headless); fi
# Node.js drives Chromium in the dashboard test. Only when it is missing: a
# machine may have a newer Node.js than Debian's (playwright-core needs >= 20).
if ! command -v node >/dev/null; then PACKAGES+=(nodejs); fi
if ! command -v npm >/dev/null; then PACKAGES+=(npm); fi
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "==> installing: ${missing[*]}"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

# playwright-core for tests/browser/dashboard_check.mjs, as package-lock.json pins it.
if [[ ! -d tests/browser/node_modules || tests/browser/package-lock.json -nt tests/browser/node_modules ]]; then
  echo "==> npm ci in tests/browser"
  (cd tests/browser && npm ci --no-audit --no-fund && touch node_modules)
fi

# node-postgres, pg-cursor, pg-copy-streams and postgres.js for the driver matrix.
if [[ ! -d tests/drivers/node_modules || tests/drivers/package-lock.json -nt tests/drivers/node_modules ]]; then
  echo "==> npm ci in tests/drivers"
  (cd tests/drivers && npm ci --no-audit --no-fund && touch node_modules)
fi

# A crashing test must not fill the disk with cores.
ulimit -c 0 || true

# ---- one pass: configure, build, ctest
run_pass() {
  local name=$1 dir=$2; shift 2
  echo "==> [$name] configure $dir"
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  echo "==> [$name] build"
  cmake --build "$dir" -j"$JOBS"
  echo "==> [$name] test"
  # Integration tests are RUN_SERIAL; -j only lets unit tests overlap.
  # --timeout bounds tests without their own TIMEOUT property (unit tests).
  ctest --test-dir "$dir" --output-on-failure --timeout 120 -j"$JOBS" "${CTEST_PASS_ARGS[@]}" \
        "${EXTRA_CTEST_ARGS[@]}"
}

if [[ $mode != sanitize ]]; then
  CTEST_PASS_ARGS=()
  run_pass normal "$BUILD_DIR" -DPGSLUICE_SANITIZE=OFF
fi

if [[ $mode != fast ]]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Instrumented code is slower: a longer per-test watchdog in the integration tests.
  export PGSLUICE_IT_TEST_TIMEOUT_S=${PGSLUICE_IT_TEST_TIMEOUT_S:-150}
  # The "Direct" integration variants talk to PostgreSQL only (they prove the
  # tests themselves right in the normal pass); they exercise no pgsluice code.
  CTEST_PASS_ARGS=(-E '/Direct')
  run_pass sanitize "$ASAN_BUILD_DIR" -DPGSLUICE_SANITIZE=ON
fi
