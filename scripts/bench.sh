#!/usr/bin/env bash
# Benchmarks (not tests): builds Release and prints one JSON object per line:
#   {"name", "backend", "value", "unit", "peer", "peer_value"}
# where peer is a real alternative measured in the same run, or null.
#
#   ./scripts/bench.sh [--quick] [--backend memory|rpc|redis|postgresql|mysql|sqlite] [--codecs]
#   ./scripts/bench.sh [--quick] --backend grainstorage-adonet
#   ./scripts/bench.sh [--quick] --migrate
#   ./scripts/bench.sh [--quick] --http [--backend memory|redis|postgresql|mysql|sqlite]
#   ./scripts/bench.sh [--quick] --dashboard
# --migrate measures `resultgrid migrate`'s copy, Redis to PostgreSQL (both started here), in
# results/s; its peer is the drivers alone (SCAN + MGET, binary COPY of the raw documents).
# --codecs adds, per codec and compression and for results of 100 B, 10 KB and 1 MB, the store
# rate (peer: the same codec uncompressed) and the stored size as a fraction of the JSON size.
# With --backend redis it installs (Debian packages) and starts a redis-server on a free
# loopback port, and the peers celery-redis (python3-celery, one process per core), raw-redis and
# raw-redis-script run against it too.
# With --backend postgresql it starts a PostgreSQL of its own (initdb in a temporary directory,
# default durability: fsync on) and runs the peers celery-db (Celery's database backend through
# SQLAlchemy and psycopg2) and pgbench-upsert against the same server; with --backend mysql, a
# MariaDB of its own. --backend sqlite uses a file in a temporary directory.
# --backend grainstorage-adonet starts a PostgreSQL the same way and measures grainstorage:// on
# Orleans' ADO.NET grain storage there, against a grain per result on IPersistentState over the
# same storage (orleans-persistent-state-adonet) and db+postgresql:// on the same server.
# --http measures the HTTP API (a WebApplication that is also the silo, Kestrel on a free loopback
# port) with Debian's wrk (installed here) and HttpClient: GET of a stored result (peer
# kestrel-static, the same bytes from a bare endpoint in the same process), write-to-long-poll
# latency, 10,000 open long-polls (silo RSS growth, burst wake p99) and, on postgresql, search
# pages over 1,000,000 seeded results (100,000 with --quick).
# --dashboard starts a PostgreSQL and a redis-server of its own and installs Debian's chromium
# (never `playwright install`, which downloads a browser and fails here). It measures the results
# dashboard's /results?state=FAILURE over 1,000,000 seeded results (100,000 with --quick), peer
# the Hangfire Dashboard's Failed jobs page (Hangfire.AspNetCore + Hangfire.PostgreSql) over as
# many failed jobs in the same server; the live update latency (write to row in the open page in
# chromium); and the write rate with ResultGrid:History:Enabled on over off, on PostgreSQL and
# on Redis.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

backend=memory
migrate=0
http=0
dashboard=0
for ((i = 1; i <= $#; i++)); do
  if [[ "${!i}" == "--backend" ]]; then j=$((i + 1)); backend="${!j:-memory}"; fi
  if [[ "${!i}" == "--migrate" ]]; then migrate=1; fi
  if [[ "${!i}" == "--http" ]]; then http=1; fi
  if [[ "${!i}" == "--dashboard" ]]; then dashboard=1; fi
done

pids=()
work="$(mktemp -d)"
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

if [[ "$backend" == redis* || $migrate -eq 1 || $dashboard -eq 1 ]]; then
  need=()
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  # The Celery peers; --http and --dashboard have none.
  [[ $http -eq 1 || $dashboard -eq 1 ]] || /usr/bin/python3 -c 'import celery, redis' >/dev/null 2>&1 || need+=(python3-celery python3-redis)
  if [[ ${#need[@]} -gt 0 ]]; then
    sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --logfile "$work/redis.log" &
  pids+=($!)
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  export RESULTGRID_BENCH_REDIS="redis://127.0.0.1:$port/0"
fi

as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
install_missing() {
  if [[ $# -gt 0 ]]; then
    sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$@" >&2
  fi
}

# A PostgreSQL of its own: initdb in a temporary directory on a free port (as the postgres user
# when run as root, which PostgreSQL refuses), default durability (fsync on), database bench,
# named in RESULTGRID_BENCH_SQL. One path for every mode that needs one.
start_postgresql() {
  local need=("$@")
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
  install_missing "${need[@]}"
  pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  port=$(free_port)
  chmod 755 "$work"
  mkdir -p "$work/pg" && chown postgres "$work/pg" 2>/dev/null || true
  as_postgres "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
  as_postgres "$pgbin/pg_ctl" start -w -D "$work/pg/data" -l "$work/pg/log" \
    -o "-p $port -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
  stop_pg() { as_postgres "$pgbin/pg_ctl" stop -D "$work/pg/data" -m fast >/dev/null 2>&1 || true; }
  trap 'stop_pg; cleanup' EXIT
  "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE bench" >/dev/null
  export RESULTGRID_BENCH_SQL="db+postgresql://postgres@127.0.0.1:$port/bench" PGBENCH="$pgbin/pgbench"
}

if [[ "$backend" == postgresql || $migrate -eq 1 || $dashboard -eq 1 ]]; then
  # The Celery peer's Debian packages; --http and --dashboard have none.
  pg_need=()
  [[ $http -eq 1 || $dashboard -eq 1 ]] || /usr/bin/python3 -c 'import celery, sqlalchemy, psycopg2' >/dev/null 2>&1 || pg_need+=(python3-celery python3-sqlalchemy python3-psycopg2)
  start_postgresql "${pg_need[@]}"
fi

if [[ "$backend" == grainstorage-adonet ]]; then
  # Orleans' ADO.NET grain storage, its IPersistentState peer and db+postgresql all on this one
  # server (bench/ResultGrid.Bench/GrainStorageBench.cs); no Celery peer.
  start_postgresql
fi

if [[ "$backend" == mysql ]]; then
  need=()
  command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server)
  install_missing "${need[@]}"
  port=$(free_port)
  mariadb-install-db --no-defaults --datadir="$work/maria" --auth-root-authentication-method=normal --skip-test-db --user="$(id -un)" >/dev/null
  mariadbd --no-defaults --datadir="$work/maria" --port="$port" --bind-address=127.0.0.1 --socket="$work/maria.sock" \
    --user="$(id -un)" --skip-name-resolve --skip-log-bin --max-connections=300 --log-error="$work/maria.log" &
  pids+=($!)
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  mariadb --socket="$work/maria.sock" -uroot -e "CREATE DATABASE bench CHARACTER SET utf8mb4; CREATE USER 'bench'@'%'; GRANT ALL ON *.* TO 'bench'@'%';"
  export RESULTGRID_BENCH_SQL="db+mysql://bench@127.0.0.1:$port/bench"
fi

if [[ $http -eq 1 ]]; then
  command -v wrk >/dev/null 2>&1 || install_missing wrk
  # 10,000 open long-polls are 10,000 sockets in the waiter process and as many in the silo:
  # 65,536 where the hard limit allows it, else as high as it does.
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi

if [[ $dashboard -eq 1 ]]; then
  # Debian's chromium, driven by Playwright at /usr/bin/chromium (DESIGN.md).
  [[ -x /usr/bin/chromium ]] || install_missing chromium
fi

dotnet build bench/ResultGrid.Bench -c Release -nologo -v quiet >&2
dotnet bench/ResultGrid.Bench/bin/Release/net10.0/ResultGrid.Bench.dll "$@"
