#!/usr/bin/env bash
# Packs every package ResultGrid ships (the libraries and the ResultGrid.Cli tool, with their
# .snupkg symbol packages) in Release into DIR, and lists them with their sizes. Exits non-zero
# when a pack fails or a project produced no package.
#
#   ./scripts/pack.sh DIR                            version 0.1.0 (Directory.Build.props)
#   ./scripts/pack.sh DIR -p:Version=0.2.0-rc.1      any further argument goes to dotnet pack
#
# Then: dotnet add package ResultGrid.Client --source DIR, or
#       dotnet tool install ResultGrid.Cli --tool-path T --add-source DIR
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: ./scripts/pack.sh DIR [dotnet pack options...]
  DIR  the folder the .nupkg and .snupkg files are written to (created if missing),
       e.g. ./scripts/pack.sh artifacts/packages
  options go to dotnet pack as they are, e.g. -p:Version=0.2.0 to set the one version of all
USAGE
}

if [[ $# -lt 1 || -z "${1:-}" || "$1" == -* ]]; then
  [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { usage; exit 0; }
  echo "pack.sh: no output folder given (DIR is the first argument)." >&2
  usage
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
shift

# The shipped projects: every project under src/ that does not say IsPackable false (the silo
# host is an app). The repository's solution would also build the tests, bench and samples,
# which never pack, so a solution of these alone is what gets packed.
projects=()
for project in "$root"/src/*/*.csproj; do
  grep -q '<IsPackable>false</IsPackable>' "$project" || projects+=("$project")
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
solution="$work/packages.slnx"
{
  echo '<Solution>'
  for project in "${projects[@]}"; do echo "  <Project Path=\"$project\" />"; done
  echo '</Solution>'
} >"$solution"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "[pack.sh] packing ${#projects[@]} projects into $out" >&2
# Into a folder of this run first: what it holds afterwards is exactly what this run packed
# (DIR may hold other versions, and an up-to-date package is not written again in place).
dotnet pack "$solution" -c Release -o "$work/packages" -nologo -v quiet "$@"

packages=0
shopt -s nullglob
for file in "$work"/packages/*.nupkg "$work"/packages/*.snupkg; do
  [[ "$file" == *.nupkg ]] && packages=$((packages + 1))
  size=$(stat -c %s "$file")
  mv -f "$file" "$out/"
  printf '%10s bytes  %6s  %s\n' "$size" "$(numfmt --to=iec --suffix=B "$size")" "$out/$(basename "$file")"
done

if [[ $packages -ne ${#projects[@]} ]]; then
  echo "pack.sh: ${#projects[@]} projects but $packages packages were written to $out" >&2
  exit 1
fi
echo "[pack.sh] $packages packages (and their symbol packages) in $out" >&2
