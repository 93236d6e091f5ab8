#!/usr/bin/env bash
# Reads a ten-class preset's test split once per seed, with the preset's own command, and appends
# one JSON line per seed (the CLI's --json result plus seed, command, note, wall seconds and date)
# to results/presets-10class.jsonl (OUT).
#
#   DATA=fashion-mnist PRESET=fashion10 SEEDS="1 2 3" NOTE='why this run' scripts/preset-seeds.sh
# (EXTRA_ARGS='--epochs 1 --limit 500' tries it quickly; such rows say so in their command.)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-fashion-mnist}
PRESET=${PRESET:-fashion10}
SEEDS=${SEEDS:-1 2 3}
WORKERS=${WORKERS:-2}
OUT=${OUT:-results/presets-10class.jsonl}
NOTE=${NOTE:-}
for seed in $SEEDS; do
  start=$(date +%s.%N)
  result=$(node dist/src/cli/cli.js train --data "$DATA" --classes 0-9 --preset "$PRESET" --workers "$WORKERS" --seed "$seed" --json ${EXTRA_ARGS:-})
  end=$(date +%s.%N)
  RESULT="$result" SEED="$seed" WALL_START="$start" WALL_END="$end" CMD="edsim train --data $DATA --classes 0-9 --preset $PRESET --workers $WORKERS --seed S --json${EXTRA_ARGS:+ $EXTRA_ARGS}" NOTE="$NOTE" \
    python3 -c '
import json, os, datetime
r = json.loads(os.environ["RESULT"].strip().splitlines()[-1])
note = os.environ["NOTE"]
r.update(seed=int(os.environ["SEED"]), command=os.environ["CMD"] + (" (" + note + ")" if note else ""),
         wallSeconds=round(float(os.environ["WALL_END"]) - float(os.environ["WALL_START"]), 2), date=datetime.date.today().isoformat())
print(json.dumps(r))' >> "$OUT"
  echo "seed $seed: $(tail -1 "$OUT" | cut -c1-200)"
done
