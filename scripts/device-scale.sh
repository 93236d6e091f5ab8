#!/usr/bin/env bash
# The scaling run for a lent 16-core machine that has no Node.js and no network (the `device` tool):
# scripts/device-prepare.sh packs what it needs into .device/ (Node's binary, the runtime
# dependencies, MNIST as CSV); this script, run there from the repository root with dist/, build/
# and .device/ carried, unpacks them and measures in one go (about 8 minutes on 16 cores), writing
# everything under $OUT:
#   (stdout)                  CPU, cores, Node, what ran and when
#   bench-kernels.json        edsim bench (SKIP_BENCH=1: not run)
#   scale-strong.csv/svg      bench-wide on the ten MNIST classes with --shifted (39,980 samples,
#                             313 batches an epoch): serial and every exact strategy and pipeline on
#                             $WORKERS threads, with predictions at 4..64
#   scale-ceiling.csv/svg     the machine's ceiling: at each thread count P, P serial bench-wide
#                             trainings at once on the same data (scale --ceiling), beside serial
#   scale-wide.csv/svg        bench-wide with four 2048-cell layers (--hidden 4x2048) on the first
#                             4096 samples of MNIST 0/1 --shifted (32 batches of 10x bench-wide's
#                             work; WIDE_LIMIT): serial, samples, cells
#   scale-weak.csv/svg        bench-wide, ten classes, --weak (batch 128 x threads): serial, samples, cells
#   trace-samples-MAX.json/svg  a MAX-thread samples trace of bench-wide (two epochs)
#   bench-numpy-16core.csv    edsim against NumPy + OpenBLAS on 1 and MAX threads, same machine
# Knobs: WORKERS (first argument, default 1,2,4,8,12,16), REPEATS (3), LIMIT (keep the first N
# training samples: a quick rehearsal, e.g. here with WORKERS=1,2 LIMIT=4000), SKIP_NUMPY=1.
# Without .device/ (a rehearsal on a machine with Node and the mnist package) DATA is mnist.
# Usage (there): OUT=/some/dir bash scripts/device-scale.sh [WORKERS]
set -u -o pipefail
OUT=${OUT:-/tmp/edsim-device-out}
WORKERS=${1:-1,2,4,8,12,16}
MAX=${WORKERS##*,}
REPEATS=${REPEATS:-3}
mkdir -p "$OUT" /tmp/edsim-node
log() { echo "[$(date +%T)] $*"; }
unxz() {  # xz where installed, else Python's lzma
  if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}
if [ -f .device/node.xz ]; then
  unxz .device/node.xz > /tmp/edsim-node/node && chmod +x /tmp/edsim-node/node && export PATH=/tmp/edsim-node:$PATH
fi
[ -d node_modules ] || unxz .device/nm.tar.xz | tar -xf -
if [ -f .device/mnist.csv.xz ]; then
  unxz .device/mnist.csv.xz > /tmp/edsim-mnist.csv
  DATA=${DATA:-csv:/tmp/edsim-mnist.csv}
else
  DATA=${DATA:-mnist}
fi
LIMIT_ARGS=()
[ -n "${LIMIT:-}" ] && LIMIT_ARGS=(--limit "$LIMIT")
cli() { timeout 420 node dist/src/cli/cli.js "$@"; }
{
  echo "nproc: $(nproc)"
  lscpu 2>/dev/null | grep -E 'Model name|^CPU\(s\)|Thread\(s\) per core|Core\(s\) per socket|Socket\(s\)|L2 cache|L3 cache|MHz'
  grep -m1 -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
  echo "node: $(node --version)"
  echo "data: $DATA --shifted ${LIMIT_ARGS[*]:-}; workers $WORKERS; repeats $REPEATS"
} 2>&1
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  log "kernels"
  cli bench --json > "$OUT/bench-kernels.json" || log "bench failed"
fi
log "strong: bench-wide, ten classes"
cli scale --data "$DATA" --shifted "${LIMIT_ARGS[@]}" --preset bench-wide --strategies serial,samples,cells,layer,pipeline \
  --workers "$WORKERS" --predict 4,8,16,32,64 --repeats "$REPEATS" --quiet --out "$OUT/scale-strong.csv" || log "strong failed"
log "ceiling: that many serial trainings at once"
cli scale --data "$DATA" --shifted "${LIMIT_ARGS[@]}" --preset bench-wide --strategies serial --ceiling \
  --workers "$WORKERS" --repeats 2 --quiet --out "$OUT/scale-ceiling.csv" || log "ceiling failed"
log "strong: 2048-cell layers, MNIST 0/1"
cli scale --data "$DATA" --classes 0,1 --shifted --limit "${WIDE_LIMIT:-4096}" --preset bench-wide --hidden 4x2048 --strategies serial,samples,cells \
  --workers "$WORKERS" --predict 4,8,16 --repeats 2 --quiet --out "$OUT/scale-wide.csv" || log "wide failed"
log "weak: batch 128 x threads"
cli scale --data "$DATA" --shifted "${LIMIT_ARGS[@]}" --preset bench-wide --strategies serial,samples,cells --weak \
  --workers "$WORKERS" --repeats 2 --quiet --out "$OUT/scale-weak.csv" || log "weak failed"
log "trace"
cli train --data "$DATA" --shifted "${LIMIT_ARGS[@]}" --preset bench-wide --strategy samples --workers "$MAX" --epochs 2 \
  --trace "$OUT/trace-samples-$MAX.json" > /dev/null || log "trace failed"
if [ "${SKIP_NUMPY:-0}" != 1 ] && [ "$MAX" -ge 2 ]; then
  log "numpy"
  ROUNDS=${ROUNDS:-3} EPOCHS=${EPOCHS:-4} THREADS=$MAX DATA=$DATA WASM=0 OUT_CSV="$OUT/bench-numpy-16core.csv" \
    timeout 240 node dist/scripts/bench-numpy.js || log "bench-numpy failed"
fi
log "done"
