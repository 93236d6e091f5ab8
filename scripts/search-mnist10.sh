#!/usr/bin/env bash
# First settings tried for 10-class MNIST with Kaneko's independent output networks (issue: many classes).
# usage: bash scripts/search-mnist10.sh > results/mnist10-search.jsonl
set -u
run() { echo "{\"args\":\"$*\",\"result\":$(node dist/src/cli/cli.js train --data mnist --classes 0-9 --preset kaneko --precision f32 --kernels wasm --strategy output --workers 2 --json --quiet "$@" 2>&1 | tail -1)}"; }
run --hidden 32 --epochs 5
run --hidden 64 --rule bidirectional --init-scale 0.05 --batch 16 --epochs 8
run --hidden 64 --rule bidirectional --init-scale 0.02 --batch 32 --alpha 0.5 --epochs 8
run --hidden 128 --init-scale 0.05 --batch 16 --alpha 0.3 --epochs 8
run --hidden 128 --init-scale 0.05 --batch 16 --alpha 0.3 --epochs 4
run --hidden 256 --init-scale 0.05 --batch 16 --alpha 0.3 --epochs 4
run --hidden 256 --init-scale 0.02 --batch 16 --alpha 0.2 --epochs 6
