#!/usr/bin/env bash
# Benchmarks (not tests): builds Release and prints one JSON object per line:
#   {"name", "backend", "value", "unit", "peer", "peer_value"}
# where peer is a real alternative measured in the same run, or null.
#
#   ./scripts/bench.sh [--quick] [--backend memory|rpc|redis] [--codecs]
# --codecs adds, per codec and compression and for results of 100 B, 10 KB and 1 MB, the store
# rate (peer: the same codec uncompressed) and the stored size as a fraction of the JSON size.
# With --backend redis it installs (Debian packages) and starts a redis-server on a free
# loopback port, and the peers celery-redis (python3-celery) and raw-redis run against it too.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

backend=memory
for ((i = 1; i <= $#; i++)); do
  if [[ "${!i}" == "--backend" ]]; then j=$((i + 1)); backend="${!j:-memory}"; fi
done

pids=()
work="$(mktemp -d)"
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

if [[ "$backend" == redis* ]]; then
  need=()
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  /usr/bin/python3 -c 'import celery, redis' >/dev/null 2>&1 || need+=(python3-celery python3-redis)
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

dotnet build bench/ResultGrid.Bench -c Release -nologo -v quiet >&2
dotnet bench/ResultGrid.Bench/bin/Release/net10.0/ResultGrid.Bench.dll "$@"
