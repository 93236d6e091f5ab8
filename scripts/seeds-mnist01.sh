#!/usr/bin/env bash
# Test accuracy on MNIST 0/1 over seeds 1-10: the article preset (10 epochs) and the best setting found.
# usage: bash scripts/seeds-mnist01.sh > results/mnist01-seeds.csv
set -u
echo "setting,seed,test_accuracy,seconds_per_epoch"
for s in $(seq 1 10); do
  r=$(node dist/src/cli/cli.js train --data mnist --classes 0,1 --preset article --seed "$s" --json --quiet | tail -1)
  echo "article,$s,$(echo "$r" | node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(d.testAccuracy+","+d.secondsPerEpoch)')"
  r=$(node dist/src/cli/cli.js train --data mnist --classes 0,1 --preset bench-wide --hidden 64 --epochs 20 --init-scale 0.05 --bias vector --seed "$s" --json --quiet | tail -1)
  echo "best (bench-wide --hidden 64 --epochs 20 --init-scale 0.05 --bias vector),$s,$(echo "$r" | node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(d.testAccuracy+","+d.secondsPerEpoch)')"
done
