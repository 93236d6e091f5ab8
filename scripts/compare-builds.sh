#!/usr/bin/env bash
# Two builds of edsim on the same machine, in turn: OLD (another checkout, built) and this one each
# run `bench:coding` (fashion10's model, its coding and ON/OFF, one epoch each after a warm-up) in a
# process of its own, alternating TIMES times, so that a slow period of the VM falls on both. The
# rows (their git_sha column names the build) go to OUT (default results/bench-coding-builds.csv).
#   OLD=/tmp/old LIMIT=1600 TIMES=3 WORKERS=1 bash scripts/compare-builds.sh
# A checkout older than bench:coding gets this build's compiled script copied into its dist/.
set -euo pipefail
: "${OLD:?OLD must name another edsim checkout, built (npm install)}"
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-$here/results/bench-coding-builds.csv}"
times="${TIMES:-3}"
export LIMIT="${LIMIT:-1600}" WORKERS="${WORKERS:-1}" ROUNDS=1 WARMUP="${WARMUP:-1}"
[ -f "$OLD/dist/scripts/bench-coding.js" ] || cp "$here/dist/scripts/bench-coding.js" "$OLD/dist/scripts/bench-coding.js"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for t in $(seq 1 "$times"); do
  for dir in "$OLD" "$here"; do
    name="$(basename "$dir")-$t"
    (cd "$dir" && OUT_CSV="$tmp/$name.csv" timeout 1800 node dist/scripts/bench-coding.js | sed "s|^|$(git -C "$dir" rev-parse --short HEAD) |")
  done
done
first=1
for f in "$tmp"/*.csv; do
  if [ "$first" = 1 ]; then head -1 "$f" | sed 's/$/,compare_command/'; first=0; fi
  tail -n +2 "$f" | sed "s|\$|,OLD=$(basename "$OLD") LIMIT=$LIMIT TIMES=$times WORKERS=$WORKERS bash scripts/compare-builds.sh|"
done > "$out"
echo "wrote $out"
