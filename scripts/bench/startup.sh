#!/usr/bin/env bash
# Start-up cost, side by side with hyperfine (warm page cache): node -e 0, tspod version,
# tspod --help, podman --version, podman version. Prints hyperfine's results, then the ratios
# tspod version / node -e 0 and tspod version / podman version.
#
#   scripts/bench/startup.sh [RUNS]     after npm run build; RUNS defaults to 30
#
# `tspod version` includes its own work: it runs the helpers' --version, as `podman version`
# does. NODE_EXTRA_CA_CERTS, when set, makes every Node process parse that bundle of
# certificates first; the script says so, since it weighs on node -e 0 and tspod alike.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${1:-30}
tspod="$repo/bin/tspod"
[[ -f $repo/dist/bundle/tspod.cjs ]] || {
  echo "startup.sh: no dist/bundle/tspod.cjs, run npm run build first" >&2
  exit 1
}
command -v podman >/dev/null || {
  echo "startup.sh: podman is not installed" >&2
  exit 1
}
results=$(mktemp)
trap 'rm -f "$results"' EXIT

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, node $(node --version), $(podman --version)"
[[ -z ${NODE_EXTRA_CA_CERTS:-} ]] || echo "note: NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS is set (adds its parsing to every node process)"

hyperfine --shell=none --warmup 5 --runs "$runs" --export-json "$results" \
  --command-name 'node -e 0' 'node -e 0' \
  --command-name 'tspod version' "$tspod version" \
  --command-name 'tspod --help' "$tspod --help" \
  --command-name 'podman --version' 'podman --version' \
  --command-name 'podman version' 'podman version'

jq -r '
  (.results | map({ (.command): .mean }) | add) as $m
  | "tspod version / node -e 0:      \($m["tspod version"] / $m["node -e 0"] * 100 | round / 100)",
    "tspod version / podman version: \($m["tspod version"] / $m["podman version"] * 100 | round / 100)"
' "$results"
