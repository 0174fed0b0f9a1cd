#!/usr/bin/env bash
# Rewrites src/*/PublicAPI.Unshipped.txt to match the public surface the code has now, after an
# intentional change to it (a new public type or member, one removed or made internal), or after
# a merge that brought one in. Review the diff of the PublicAPI files: it is the change users see.
#
#   ./scripts/public-api.sh          update the files, then show what changed (git diff --stat)
#   ./scripts/public-api.sh --check  change nothing; exit 1 and list the differences if any
#
# How: every library package (a project under src/ that packs and is not the tool) is built
# once in Release with the analyzer's findings as warnings, and each finding names its symbol in
# the files' own format: RS0016 (public, not listed) adds the line, RS0017 (listed, no longer
# public) removes it from Unshipped, or, for a line of Shipped (a released version had it),
# records it as *REMOVED* in Unshipped, as the analyzer wants for a breaking change. A project
# without the files gets them (Shipped empty, both starting with #nullable enable). One build of
# all of them (2 to 4 minutes on this shared 2-core machine): `dotnet format analyzers
# --diagnostics RS0016 RS0017` took as long per run and fixed only one project's files per run.
set -euo pipefail

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "public-api.sh: unknown argument '$1' (allowed: --check, --help)" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The same selection as scripts/pack.sh and src/Directory.Build.props: packable, not the tool.
projects=()
for project in "$root"/src/*/*.csproj; do
  grep -q '<IsPackable>false</IsPackable>' "$project" && continue
  grep -q '<PackAsTool>true</PackAsTool>' "$project" && continue
  projects+=("$project")
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for project in "${projects[@]}"; do
  dir="$(dirname "$project")"
  for file in PublicAPI.Shipped.txt PublicAPI.Unshipped.txt; do
    if [[ ! -f "$dir/$file" ]]; then
      if [[ $check -eq 1 ]]; then
        echo "public-api.sh: ${dir#"$root"/}/$file is missing" >&2
        exit 1
      fi
      printf '#nullable enable\n' >"$dir/$file"
    fi
  done
done

solution="$work/public-api.slnx"
{
  echo '<Solution>'
  for project in "${projects[@]}"; do echo "  <Project Path=\"$project\" />"; done
  echo '</Solution>'
} >"$solution"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "[public-api.sh] building ${#projects[@]} projects to read their public surface" >&2
# --no-incremental: an up-to-date project reports nothing. The findings go to a log file of
# their own, one per line, whatever the console's width.
build_status=0
dotnet build "$solution" -c Release --no-incremental -nologo -v quiet \
  -p:TreatWarningsAsErrors=false -p:WarningsAsErrors= \
  "-flp:logfile=$work/build.log;verbosity=minimal;NoSummary" >/dev/null || build_status=$?

python3 - "$work/build.log" "$check" "$root" "${projects[@]}" <<'PY'
import os, re, sys

log, check, root, projects = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4:]
# "<file>(l,c): warning RS0016: Symbol '<api line>' is not part of the declared public API (...) [<csproj>]"
finding = re.compile(r": warning (RS0016|RS0017): Symbol '(.*)' is (?:not part of the declared public API|part of the declared API, but is either not public or could not be found).* \[(.*\.csproj)(?:::[^\]]*)?\]$")
found = {p: {"RS0016": set(), "RS0017": set()} for p in projects}
other = set()
with open(log, encoding="utf-8") as f:
    for line in f:
        line = line.rstrip("\n")
        m = finding.search(line)
        if m and m.group(3) in found:
            found[m.group(3)][m.group(1)].add(m.group(2))
        elif re.search(r": (warning|error) ", line):
            other.add(line.strip())

def read(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip()]

def key(line):
    # The analyzer's own order: ordinal, on the symbol without its *REMOVED* mark.
    return line.removeprefix("*REMOVED*")

changed = []
for project, kinds in found.items():
    d = os.path.dirname(project)
    shipped = set(read(os.path.join(d, "PublicAPI.Shipped.txt")))
    unshipped_path = os.path.join(d, "PublicAPI.Unshipped.txt")
    before = read(unshipped_path)
    lines = [l for l in before if l != "#nullable enable"]
    gone = kinds["RS0017"]
    lines = [l for l in lines if l not in gone]
    lines += sorted("*REMOVED*" + s for s in gone if s in shipped and "*REMOVED*" + s not in lines)
    lines += [s for s in kinds["RS0016"] if s not in lines]
    after = ["#nullable enable"] + sorted(set(lines), key=key)
    if after != before:
        rel = os.path.relpath(unshipped_path, root)
        changed.append(rel)
        added = sorted(set(after) - set(before), key=key)
        removed = sorted(set(before) - set(after), key=key)
        print(f"{rel}: +{len(added)} -{len(removed)}")
        if check:
            for l in added: print(f"  + {l}")
            for l in removed: print(f"  - {l}")
        else:
            with open(unshipped_path, "w", encoding="utf-8", newline="\n") as f:
                f.write("\n".join(after) + "\n")

if other:
    print("public-api.sh: the build also reported these (fix them by hand; the files cannot):", file=sys.stderr)
    for l in sorted(other): print("  " + l, file=sys.stderr)
if check and changed:
    print("public-api.sh: the public surface differs from the PublicAPI files; run ./scripts/public-api.sh and review the diff", file=sys.stderr)
    sys.exit(1)
if not changed:
    print("[public-api.sh] the PublicAPI files match the code", file=sys.stderr)
PY

if [[ $build_status -ne 0 ]]; then
  echo "public-api.sh: the build failed (see the errors above); the files were updated from what did build" >&2
  exit 1
fi
[[ $check -eq 1 ]] || git -C "$root" diff --stat -- 'src/*/PublicAPI.*.txt' >&2
