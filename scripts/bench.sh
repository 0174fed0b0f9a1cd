#!/usr/bin/env bash
# Benchmarks (not tests): builds Release and prints one JSON object per line:
#   {"name", "backend", "value", "unit", "peer", "peer_value"}
# where peer is a real alternative measured in the same run, or null.
#
#   ./scripts/bench.sh [--quick] [--backend memory|rpc]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build bench/ResultGrid.Bench -c Release -nologo -v quiet >&2
exec dotnet bench/ResultGrid.Bench/bin/Release/net10.0/ResultGrid.Bench.dll "$@"
