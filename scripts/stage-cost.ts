/**
 * What staging a bench-wide batch costs the coordinator, by path, on a data set: the doubled float32
 * rows (data sets under stagingLimits), the float32 copy written twice by the native stageRowsDoubled,
 * the same copy by typed-array copies, and float64 rows converted per batch (stageBatch for data
 * over both limits; before 2026-12-02 for data over 64 MB). Medians of rounds in turn over random
 * batches.
 *
 *   node dist/scripts/stage-cost.js [mnist|fashion-mnist] [--shifted] [--classes 0,1] [--rounds 7]
 *
 * Writes results/stage-cost.csv (appends; the command on every row).
 */
import { stageBatch, stagingLimits } from '../src/engine/engine.js';
import { nativeKernels } from '../src/kernels/backend.js';
import { Rng } from '../src/engine/rng.js';
import { identityOrder } from '../src/engine/executor.js';
import { appendRows, benchSetup } from './bench-setup.js';
import { summarize } from '../src/report/stats.js';

const { rounds, train, trainer: t, dataName, command } = await benchSetup('stage-cost', 7);
const layout = t.layout!;
const mem = t.mem!;
const k = nativeKernels(mem);
const n = train.n;
const order = identityOrder(n);
new Rng(7).shuffle(order);
const batches = Math.floor(n / 128);
const net = layout.slots[0]![0]!;

// Each path its own array where a copy is cached per array; the limits set per call pick the path.
const own = (): typeof train => ({ ...train, x: train.x.slice() });
const doubled = own();
const converted = own();
const rowsOnly = { gatherRows: k.gatherRows }; // without gatherDoubled, stageBatch gathers stagedInputs' doubled rows
const limits = (doubledRows: number, float32Copy: number): void => {
  stagingLimits.doubledRowsBytes = doubledRows;
  stagingLimits.float32CopyBytes = float32Copy;
};
const paths: { name: string; stage: (start: number) => void }[] = [
  { name: 'doubled-rows', stage: (start) => { limits(Infinity, 0); stageBatch(mem.f, net, doubled, order, start, 128, rowsOnly); } },
  { name: 'f32-native-doubled', stage: (start) => { limits(0, Infinity); stageBatch(mem.f, net, train, order, start, 128, k); } },
  { name: 'f32-copies', stage: (start) => { limits(0, Infinity); stageBatch(mem.f, net, train, order, start, 128, {}); } },
  { name: 'f64-convert', stage: (start) => { limits(0, 0); stageBatch(mem.f, net, converted, order, start, 128, k); } },
];
const runs = new Map<string, number[]>(paths.map((p) => [p.name, []]));
const t0 = performance.now();
for (const p of paths) p.stage(0); // builds the copies once
const build = performance.now() - t0;
for (let r = 0; r < rounds; r++) {
  for (const p of paths) {
    const t = performance.now();
    for (let b = 0; b < batches; b++) p.stage(b * 128);
    runs.get(p.name)!.push(((performance.now() - t) * 1000) / batches);
  }
}
const rows: unknown[][] = [];
for (const p of paths) {
  const us = summarize(runs.get(p.name)!).median;
  console.log(`${p.name.padEnd(20)} ${us.toFixed(1)} us a batch (median of ${rounds})`);
  rows.push([new Date().toISOString().slice(0, 10), dataName, n, p.name, us.toFixed(1), rounds, command]);
}
appendRows('stage-cost', ['date', 'data', 'samples', 'path', 'us_per_batch_median', 'rounds', 'command'], rows);
console.log(`(first batches, building the copies: ${build.toFixed(0)} ms)`);
await t.close();
