#!/usr/bin/env bash
# The scaling run for a lent 16-core machine that has no Node.js and no network (the `device` tool):
# scripts/device-prepare.sh packs what it needs into .device/ (Node's binary, the runtime
# dependencies, MNIST as CSV); this script, run there from the repository root with dist/ and build/
# carried, unpacks them and measures in one go, writing everything under $OUT:
#   (stdout)             CPU, cores, Node; bench-wide serial with and without flushing subnormals
#   bench-kernels.json   edsim bench (kernel GFLOP/s against this CPU's FMA peak; SKIP_BENCH=1: not run)
#   scale-16core.csv/svg edsim scale, bench-wide and article, 1..16 threads, with predictions
#   trace-cells-16.json/svg  a 16-thread cells trace of bench-wide
#   bench-numpy-16core.csv   edsim against NumPy + OpenBLAS on 1 and 16 threads, same machine
# MODE=spin runs only the spin-budget A/B (spin-<us>-<round>.csv).
# Usage (there): OUT=/some/dir bash scripts/device-scale.sh [WORKERS]   (WORKERS default 1,2,4,8,12,16)
set -u -o pipefail
OUT=${OUT:-/tmp/edsim-device-out}
WORKERS=${1:-1,2,4,8,12,16}
MAX=${WORKERS##*,}
mkdir -p "$OUT" /tmp/edsim-node
log() { echo "[$(date +%T)] $*"; }
unxz() {  # xz where installed, else Python's lzma
  if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}
if [ -f .device/node.xz ]; then
  unxz .device/node.xz > /tmp/edsim-node/node && chmod +x /tmp/edsim-node/node && export PATH=/tmp/edsim-node:$PATH
fi
[ -d node_modules ] || unxz .device/nm.tar.xz | tar -xf -
unxz .device/mnist.csv.xz > /tmp/edsim-mnist.csv
DATA=csv:/tmp/edsim-mnist.csv
cli() { timeout 300 node dist/src/cli/cli.js "$@"; }
{
  echo "nproc: $(nproc)"
  lscpu 2>/dev/null | grep -E 'Model name|^CPU\(s\)|Thread\(s\) per core|Core\(s\) per socket|Socket\(s\)|L2 cache|L3 cache|MHz'
  grep -m1 -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
  echo "node: $(node --version)"
} 2>&1
if [ "${MODE:-}" = spin ]; then
  # The spin-budget A/B: bench-wide cells and pipeline on 1 and MAX threads, waits spinning 10 us
  # (about the old 2000 loads) against 1000 us before they sleep, in turn, twice.
  for round in 1 2; do
    for us in 10 1000; do
      log "spin ${us} us, round $round"
      EDSIM_SPIN_US=$us cli scale --data "$DATA" --classes 0,1 --preset bench-wide --strategies cells,pipeline \
        --workers "1,$MAX" --repeats 5 --quiet --out "$OUT/spin-$us-$round.csv" | grep -E 'cells|pipeline' || log "failed"
      rm -f "$OUT/spin-$us-$round.svg"
    done
  done
  log "done"
  exit 0
fi
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  log "kernels"
  cli bench --json > "$OUT/bench-kernels.json" || log "bench failed"
fi
log "subnormals: bench-wide serial, native kernels without and with flushing, then wasm"
for flush in 0 1; do
  echo "EDSIM_FLUSH_DENORMALS=$flush"
  EDSIM_FLUSH_DENORMALS=$flush cli train --data "$DATA" --classes 0,1 --preset bench-wide --epochs 4 --verbose 2>&1 | grep -E 'kernels|^epoch'
done
cli train --data "$DATA" --classes 0,1 --preset bench-wide --epochs 3 --kernels wasm 2>&1 | grep -E '^epoch'
log "scale"
cli scale --data "$DATA" --classes 0,1 --presets bench-wide,article --strategies serial,cells,layer,pipeline \
  --workers "$WORKERS" --predict 4,8,16,32,64 --repeats 5 --quiet --out "$OUT/scale-16core.csv" || log "scale failed"
log "trace"
cli train --data "$DATA" --classes 0,1 --preset bench-wide --strategy cells --workers "$MAX" --epochs 3 \
  --trace "$OUT/trace-cells-$MAX.json" > /dev/null || log "trace failed"
log "numpy"
if [ "$MAX" -ge 2 ]; then
  ROUNDS=${ROUNDS:-3} EPOCHS=${EPOCHS:-5} THREADS=$MAX DATA=$DATA WASM=0 OUT_CSV="$OUT/bench-numpy-16core.csv" \
    timeout 240 node dist/scripts/bench-numpy.js || log "bench-numpy failed"
fi
log "done"
