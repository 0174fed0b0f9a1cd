#!/usr/bin/env bash
# The project's one test command: installs what the tests need, starts the servers they talk to
# (on loopback, free ports), runs every test project, stops the servers, and exits non-zero on
# any failure. CI runs exactly this (.ci/run).
#
#   ./scripts/test.sh                 everything
#   ./scripts/test.sh --filter EXPR   passed to dotnet test (e.g. FullyQualifiedName~Rpc)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

filter=()
if [[ "${1:-}" == "--filter" && -n "${2:-}" ]]; then
  filter=(--filter "$2")
fi

log() { printf '[test.sh] %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------------
if ! command -v dotnet >/dev/null 2>&1; then
  log "dotnet is not on PATH: install the .NET 10 SDK (global.json pins the feature band)."
  exit 1
fi

# --- servers -----------------------------------------------------------------------------------
# Real servers from Debian's packages, started on free loopback ports, their URLs exported as
# RESULTGRID_TEST_*, stopped by the trap below.
need_packages=()
command -v redis-server >/dev/null 2>&1 || need_packages+=(redis-server)
# The real Celery for the interop tests: Debian's, for Debian's /usr/bin/python3.
/usr/bin/python3 -c 'import celery, redis' >/dev/null 2>&1 || need_packages+=(python3-celery python3-redis)
# The SQL backends' servers: the tests start their own instances of them (initdb / mariadb-install-db
# in temporary directories on free ports), so that they can also stop and crash them.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_packages+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || need_packages+=(mariadb-server)
# Celery's database backend, the SQL benchmark's peer.
/usr/bin/python3 -c 'import sqlalchemy, psycopg2' >/dev/null 2>&1 || need_packages+=(python3-sqlalchemy python3-psycopg2)
# Celery's database backend on MariaDB (db+mysql+pymysql://), for the celery+db+ migration source's tests.
/usr/bin/python3 -c 'import pymysql' >/dev/null 2>&1 || need_packages+=(python3-pymysql)
# The dashboard's browser tests drive Debian's chromium through Playwright (ExecutablePath
# /usr/bin/chromium); Playwright's own browser download cannot work here and is never run.
[[ -x /usr/bin/chromium ]] || need_packages+=(chromium)
# The setup guides' runnable blocks (tests/ResultGrid.Tests/Docs) call curl and openssl.
command -v curl >/dev/null 2>&1 || need_packages+=(curl)
command -v openssl >/dev/null 2>&1 || need_packages+=(openssl)
if [[ ${#need_packages[@]} -gt 0 ]]; then
  log "installing ${need_packages[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_for_port() {
  local port=$1 name=$2
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "$name did not start listening on 127.0.0.1:$port"
  exit 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
pids+=($!)
wait_for_port "$redis_port" redis-server
export RESULTGRID_TEST_REDIS="redis://127.0.0.1:$redis_port/0"
log "redis-server $(redis-server --version | grep -o 'v=[0-9.]*') on 127.0.0.1:$redis_port"

# --- build and test ----------------------------------------------------------------------------
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

log "building (Release)"
dotnet build ResultGrid.sln -c Release -nologo -v quiet

log "running tests"
status=0
# A hung test is dumped and killed rather than eating CI's 90 minutes.
dotnet test ResultGrid.sln -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" \
  --blame-hang-timeout 8m "${filter[@]}" || status=$?

# One closing line for people and CI alike: totals over every test project's TRX file.
passed=0; failed=0; skipped=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done

# Each failed test again, with its message and the top of its stack, just above the closing line:
# the console log prints them minutes earlier, and CI keeps only the end of the output.
if [[ $failed -gt 0 ]]; then
  /usr/bin/python3 - "$results"/*.trx <<'PY' || true
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for path in sys.argv[1:]:
    for r in ET.parse(path).getroot().iterfind(".//t:UnitTestResult[@outcome='Failed']", ns):
        print(f"FAILED {r.get('testName')} ({r.get('duration')})")
        for tag, keep in (("Message", 25), ("StackTrace", 12)):
            node = r.find(f".//t:ErrorInfo/t:{tag}", ns)
            lines = (node.text or "").strip().splitlines() if node is not None else []
            for line in lines[:keep]:
                print(f"  {line[:300]}")
            if len(lines) > keep:
                print(f"  ... {len(lines) - keep} more lines of {tag} in {path}")
PY
fi

if [[ $passed -eq 0 && $status -eq 0 ]]; then
  log "no test ran"
  status=1
fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
