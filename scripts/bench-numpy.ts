/**
 * edsim against a NumPy + BLAS program of the same training (npm run bench:numpy): `bench-wide` on
 * MNIST 0/1, scripts/bench-numpy.py with BLAS on 1 and on 2 threads (OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE unset for that command only, so OpenBLAS picks its kernels for this CPU), edsim
 * serial and 2-thread strategies on native and wasm kernels; every setup in turn each round, the
 * first epoch of each run dropped, medians of the rest. Writes results/bench-numpy.csv.
 * Environment: ROUNDS, EPOCHS; THREADS (comma-separated multi-thread counts, default 2); DATA (an
 * edsim dataset spec, default mnist); WASM=0 leaves out the wasm setups; OUT_CSV (default
 * results/bench-numpy.csv). scripts/device-scale.sh sets them for the 16-core device machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import { loadDataset } from '../src/data/data.js';
import type { StrategyName } from '../src/engine/executor.js';
import type { KernelImpl } from '../src/options.js';
import { loadAvg1, provenance } from '../src/report/report.js';
import { summarize } from '../src/report/stats.js';
import { createTrainer } from '../src/trainer.js';

const rounds = Number(process.env.ROUNDS ?? 3);
const epochs = Number(process.env.EPOCHS ?? 4);
const threads = (process.env.THREADS ?? '2').split(',').map(Number);
if (threads.some((t) => !Number.isInteger(t) || t < 2)) throw new Error(`THREADS must list thread counts >= 2, got '${process.env.THREADS}'`);
const dataSpec = process.env.DATA ?? 'mnist';
const withWasm = process.env.WASM !== '0';
const outCsv = process.env.OUT_CSV ?? 'results/bench-numpy.csv';
const envText = [process.env.THREADS && `THREADS=${process.env.THREADS}`, process.env.DATA && `DATA=${dataSpec}`, withWasm ? '' : 'WASM=0'].filter(Boolean).join(' ');
const command = `ROUNDS=${rounds} EPOCHS=${epochs} ${envText ? `${envText} ` : ''}npm run bench:numpy`;
const script = fileURLToPath(new URL('../../scripts/bench-numpy.py', import.meta.url));

const data = await loadDataset(dataSpec, { classes: [0, 1] });
const dir = mkdtempSync(join(tmpdir(), 'edsim-bench-numpy-'));
const bin = join(dir, 'data.bin');
const n = data.train.n;
const raw = new Float32Array(n * data.train.features + n);
raw.set(data.train.x);
raw.set(data.train.y, n * data.train.features);
writeFileSync(bin, raw);

interface Setup { name: string; threads: number; kernels: string; run: () => Promise<{ seconds: number[]; accuracy: number; note: string }> }

const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
const haveNumpy = probe.status === 0;
if (!haveNumpy) console.log('bench:numpy: python3 with numpy not found; measuring edsim only');

function numpySetup(threads: number, mode: 'plain' | 'tuned'): Setup {
  return {
    name: `numpy ${mode}`, threads, kernels: 'BLAS',
    async run() {
      const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
      delete env.OPENBLAS_CORETYPE;
      delete env.OPENBLAS_L2_SIZE;
      const r = spawnSync('python3', [script, bin, String(n), String(data.train.features), String(epochs), mode], { env, encoding: 'utf8', timeout: 600000 });
      if (r.status !== 0) throw new Error(`bench-numpy.py failed: ${r.stderr}`);
      const o = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { seconds: number[]; trainAccuracy: number; numpy: string; blas: string; mode: string };
      return { seconds: o.seconds.slice(1), accuracy: o.trainAccuracy, note: `numpy ${o.numpy}, ${o.blas}, ${o.mode}` };
    },
  };
}

function edsimSetup(strategy: StrategyName, workers: number, kernels: KernelImpl): Setup {
  return {
    name: `edsim ${strategy}`, threads: workers, kernels,
    async run() {
      const t = await createTrainer({ preset: 'bench-wide', model: { kernels }, strategy, workers });
      try {
        const h = await t.fit(data.train, { epochs });
        return { seconds: h.epochs.slice(1).map((e) => e.seconds), accuracy: h.epochs.at(-1)!.trainAccuracy, note: '' };
      } finally {
        await t.close();
      }
    },
  };
}

const setups: Setup[] = [
  ...(haveNumpy ? [1, ...threads].flatMap((t) => [numpySetup(t, 'plain'), numpySetup(t, 'tuned')]) : []),
  edsimSetup('serial', 1, 'native'),
  ...threads.flatMap((t) => [edsimSetup('samples', t, 'native'), edsimSetup('cells', t, 'native'), edsimSetup('pipeline', t, 'native'), edsimSetup('layer', t, 'native')]),
  ...(withWasm ? [edsimSetup('serial', 1, 'wasm'), ...threads.map((t) => edsimSetup('pipeline', t, 'wasm'))] : []),
];
const secs: number[][] = setups.map(() => []);
const last: { accuracy: number; note: string }[] = [];
for (let r = 0; r < rounds; r++) {
  for (let s = 0; s < setups.length; s++) {
    const m = await setups[s]!.run();
    secs[s]!.push(...m.seconds);
    last[s] = m;
  }
  console.log(`round ${r + 1}/${rounds} done`);
}
rmSync(dir, { recursive: true, force: true });

const prov = provenance();
const stamp = new Date().toISOString();
const med = secs.map((s) => summarize(s).median);
// edsim against the faster NumPy program on as many threads (and on one thread).
const bestNumpy = (threads: number): number => Math.min(...setups.map((s, i) => (s.name.startsWith('numpy') && s.threads === threads ? med[i]! : Infinity)));
const numpy1 = bestNumpy(1);
const rows = setups.map((s, i) => ({
  setup: s.name, threads: s.threads, kernels: s.kernels, median_seconds_per_epoch: med[i]!,
  all_seconds: secs[i]!.map((v) => v.toFixed(4)).join(' '),
  speedup_vs_best_numpy_same_threads: bestNumpy(s.threads) / med[i]!, speedup_vs_numpy_1_thread: numpy1 / med[i]!,
  train_accuracy_last_epoch: last[i]!.accuracy, note: last[i]!.note, load_avg_1m: loadAvg1(), ...prov, timestamp: stamp, command,
}));
for (const r of rows) {
  console.log(`${`${r.setup} x${r.threads} (${r.kernels})`.padEnd(28)} ${r.median_seconds_per_epoch.toFixed(4)} s/epoch  vs the best NumPy on as many threads ${r.speedup_vs_best_numpy_same_threads.toFixed(2)}x  train ${(100 * r.train_accuracy_last_epoch).toFixed(2)} % ${r.note}`);
}
writeFileSync(outCsv, stringify(rows, { header: true }));
console.log(`wrote ${outCsv}`);
