/**
 * A scaling experiment from code: seconds per epoch of serial and of `cells` on 1 and 2 threads,
 * setups measured in turn (a warm-up epoch each, then the median of three), written as CSV.
 *
 *   node scaling-csv.js [out.csv]
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createTrainer, loadDataset, type StrategyName, type Trainer } from 'edsim';

const out = process.argv[2] ?? 'scaling.csv';
const data = await loadDataset('mnist', { classes: [0, 1], limit: 1024 });
const setups: { strategy: StrategyName; workers: number }[] = [
  { strategy: 'serial', workers: 1 }, { strategy: 'cells', workers: 1 }, { strategy: 'cells', workers: 2 },
];
const trainers: Trainer[] = [];
for (const s of setups) {
  const t = await createTrainer({ preset: 'bench-wide', ...s });
  await t.fit(data.train, { epochs: 1 }); // warm-up: worker start, JIT, caches
  trainers.push(t);
}
const seconds: number[][] = setups.map(() => []);
for (let round = 0; round < 3; round++) {
  for (const [i, t] of trainers.entries()) {
    const h = await t.fit(data.train, { epochs: 1 });
    seconds[i]!.push(h.epochs[0]!.seconds);
  }
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const base = median(seconds[0]!);
const rows = setups.map((s, i) => {
  const m = median(seconds[i]!);
  return [s.strategy, s.workers, m.toFixed(5), (base / m).toFixed(3), s.workers > availableParallelism()].join(',');
});
writeFileSync(out, `strategy,workers,seconds_per_epoch,speedup,oversubscribed\n${rows.join('\n')}\n`);
for (const t of trainers) await t.close();
console.log(`wrote ${out}:\n${rows.join('\n')}`);
