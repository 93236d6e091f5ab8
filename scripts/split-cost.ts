/**
 * What splitting a layer's cells costs one thread: a bench-wide batch's hidden layers forwarded and
 * updated whole, against the same work as `cells` x2 cuts it (thread 0's ranges, then thread 1's),
 * run by one thread, in turn, medians. The difference is what the kernels lose by the cut alone
 * (no second core, no waiting), which a 2-thread epoch pays on top of half the serial work.
 *
 *   node dist/scripts/split-cost.js [mnist|fashion-mnist] [--shifted] [--classes 0,1] [--rounds 9] [--threads 2]
 *
 * Appends to results/split-cost.csv (the command on every row).
 */
import { stageBatch } from '../src/engine/engine.js';
import { forwardSegment, updateSegment } from '../src/engine/layer-group.js';
import { nativeKernels } from '../src/kernels/backend.js';
import { cellRanges, type CellSegment, cellSegments, firstLayerLive, STAGE_COST } from '../src/parallel/partition.js';
import { appendRows, benchSetup } from './bench-setup.js';
import { summarize } from '../src/report/stats.js';

const { flag, rounds, train, trainer: t, dataName, command } = await benchSetup('split-cost', 9);
const threads = Number(flag('--threads') ?? 2);
const layout = t.layout!;
const mem = t.mem!;
const f = mem.f;
const k = nativeKernels(mem);
const model = t.model!;
const B = 128;
const net = layout.nets[0]!;
const H = net.layers.length - 1;
const hidden = net.layers.slice(0, H);
const ranges = cellRanges(hidden, net.layers[H]!, B, threads, STAGE_COST.native, k.cellTile, firstLayerLive('native', B, train));
const whole: CellSegment[] = [{ k0: 0, k1: H, range: null }];
const split = Array.from({ length: threads }, (_, g) => cellSegments(ranges, g, (j) => hidden[j]!.nOut));
const order = Int32Array.from({ length: train.n }, (_, i) => (i * 7919) % train.n);
const batches = Math.min(64, Math.floor(train.n / B));
const pass = (segsOf: CellSegment[][]) => (b: number): void => {
  stageBatch(f, net, train, order, b * B, B, k);
  for (const segs of segsOf) for (const seg of segs) forwardSegment(k, f, net, seg, B, model.u0);
  k.forward(f, net.layers[H]!, B, model.u0);
  k.amine(f, net, B, model.u1);
  for (const segs of segsOf) for (const seg of segs) updateSegment(k, f, net, seg, B, model.rule === 'kaneko');
};
const setups = [{ name: 'whole', run: pass([whole]) }, { name: `cut-x${threads}`, run: pass(split) }];
const times = new Map<string, number[]>(setups.map((s) => [s.name, []]));
const snapshot = Float32Array.from(f);
for (const s of setups) s.run(0); // warm
for (let r = 0; r < rounds; r++) {
  for (const s of setups) {
    f.set(snapshot); // the same weights each time: the same zeros to skip
    const t0 = performance.now();
    for (let b = 0; b < batches; b++) s.run(b);
    times.get(s.name)!.push(((performance.now() - t0) * 1000) / batches);
  }
}
const cuts = ranges.map((l) => l.map(([a, b]) => `${a}-${b}`).join('|')).join(' ');
const rows: unknown[][] = [];
for (const s of setups) {
  const us = summarize(times.get(s.name)!).median;
  console.log(`${s.name.padEnd(10)} ${us.toFixed(0)} us a batch (median of ${rounds}; ranges ${cuts})`);
  rows.push([new Date().toISOString().slice(0, 10), dataName, s.name, us.toFixed(0), cuts, rounds, command]);
}
appendRows('split-cost', ['date', 'data', 'setup', 'us_per_batch_median', 'ranges', 'rounds', 'command'], rows);
await t.close();
