#!/usr/bin/env bash
# The settings tried for the best MNIST 0/1 accuracy (issue 2, "best ED setting"); one JSON line each.
# usage: bash scripts/search-mnist01.sh > results/mnist01-search.jsonl
set -u
run() { echo "{\"args\":\"$*\",\"result\":$(node dist/src/cli/cli.js train --data mnist --classes 0,1 --json --quiet "$@" 2>&1 | tail -1)}"; }
run --preset article
run --preset article --epochs 30
run --preset article --hidden 64x4 --epochs 20
run --preset bench-wide --hidden 64 --epochs 20 --init-scale 0.05 --bias vector
run --preset bench-wide --hidden 128 --epochs 20 --init-scale 0.02 --bias vector --alpha 0.5
run --preset bench-wide --hidden 256,256 --epochs 20 --init-scale 0.02 --bias vector --alpha 0.5
run --preset bench-wide --hidden 64 --epochs 20 --init-scale 0.05 --bias vector --batch 16
run --preset kaneko --hidden 32 --epochs 10 --precision f32 --kernels wasm
run --preset kaneko --hidden 32 --epochs 10 --rule bidirectional --precision f32 --kernels wasm --init-scale 0.1
