/**
 * The samples strategy against serial and cells, in turn, on more than one data set (npm run
 * bench:samples): every configuration's trainer is built and warmed up (WARMUP epochs: JIT and
 * worker start-up on 2 cores take several), then ROUNDS rounds train one epoch of each in turn;
 * medians per configuration. SPLITS lists samples' chunks,updates per thread to compare
 * (EDSIM_SAMPLES_SPLIT); SETS the MNIST class sets; SHIFTED=1 adds the shifted copies (--shifted);
 * STAGE_COSTS lists values of the native STAGE_COST to build a `cells` trainer with each (its split
 * of the first layer: partition.ts), default the built-in one. Beside them, in turn, WORKERS
 * independent serial trainers train together (strategy `independent`, src/parallel/independent.ts): the
 * machine's ceiling for that many threads, against which the strategies' speed-ups are read
 * (INDEPENDENT=0 leaves it out). ALIGNS lists further alignments of the memory's regions, in bytes
 * (EDSIM_ALIGN_BYTES; default a cache line), each measured with its own serial, cells and samples.
 * Each row has the speed-up of the medians and the median of the per-round speed-ups against the
 * same round's serial epoch (paired_speedup: steadier where the VM has slow periods).
 * Writes results/bench-samples.csv (OUT_CSV).
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import { loadDataset, type LoadedData } from '../src/data/data.js';
import type { StrategyName } from '../src/engine/executor.js';
import { loadAvg1, provenance } from '../src/report/report.js';
import { summarize } from '../src/report/stats.js';
import { STAGE_COST } from '../src/parallel/partition.js';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { LINE_BYTES } from '../src/engine/layout.js';
import { IndependentCrew } from '../src/parallel/independent.js';

const rounds = Number(process.env.ROUNDS ?? 7);
const warmup = Number(process.env.WARMUP ?? 5);
const workers = Number(process.env.WORKERS ?? 2);
const splits = (process.env.SPLITS ?? '4,4').split(' ');
const sets = (process.env.SETS ?? '0,1 0-9').split(' ');
const shifted = process.env.SHIFTED === '1';
const builtInStageCost = STAGE_COST.native;
const stageCosts = (process.env.STAGE_COSTS ?? String(builtInStageCost)).split(' ').map(Number);
const independent = process.env.INDEPENDENT !== '0';
const aligns = (process.env.ALIGNS ?? '').split(' ').filter((a) => a !== '').map(Number);
const prov = provenance();
const stamp = new Date().toISOString();
const rows: Record<string, unknown>[] = [];

for (const classes of sets) {
  const cls = classes.includes('-') ? undefined : classes.split(',').map(Number);
  const data: LoadedData = await loadDataset('mnist', { ...(cls ? { classes: cls } : {}), shifted });
  const configs: { strategy: StrategyName | 'independent'; workers: number; split?: string; stageCost?: number; align?: number }[] = [
    { strategy: 'serial', workers: 1 }, ...stageCosts.map((stageCost) => ({ strategy: 'cells' as StrategyName, workers, stageCost })),
    ...splits.map((split) => ({ strategy: 'samples' as StrategyName, workers, split })),
    ...aligns.flatMap((align) => [{ strategy: 'serial' as StrategyName, workers: 1, align }, { strategy: 'cells' as StrategyName, workers, align }, { strategy: 'samples' as StrategyName, workers, split: splits[0]!, align }]),
    ...(independent ? [{ strategy: 'independent' as const, workers }] : []),
  ];
  const trainers: (Trainer | IndependentCrew)[] = [];
  for (const c of configs) {
    if (c.align) process.env.EDSIM_ALIGN_BYTES = String(c.align); // read when a trainer lays out its memory
    else delete process.env.EDSIM_ALIGN_BYTES;
    if (c.strategy === 'independent') {
      trainers.push(await IndependentCrew.start(c.workers, { preset: 'bench-wide' }, data.train, warmup, true));
      continue;
    }
    if (c.split) process.env.EDSIM_SAMPLES_SPLIT = c.split;
    STAGE_COST.native = c.stageCost ?? builtInStageCost; // read when the cells executor splits the cells
    const t = await createTrainer({ preset: 'bench-wide', strategy: c.strategy, workers: c.workers });
    await t.fit(data.train, { epochs: warmup });
    trainers.push(t);
  }
  const secs: number[][] = configs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < configs.length; c++) {
      const t = trainers[c]!;
      secs[c]!.push(t instanceof IndependentCrew ? await t.epoch() : (await t.fit(data.train, { epochs: 1 })).epochs[0]!.seconds);
    }
  }
  for (const t of trainers) await t.close();
  const base = summarize(secs[0]!).median;
  // Speed-up in samples per second: the independent crew trains `workers` epochs in its wall time.
  const epochs = (i: number): number => (configs[i]!.strategy === 'independent' ? configs[i]!.workers : 1);
  const speedup = (i: number): number => epochs(i) * base / summarize(secs[i]!).median;
  const ceiling = independent ? speedup(configs.length - 1) : undefined;
  configs.forEach((c, i) => {
    const med = summarize(secs[i]!).median;
    const row = {
      preset: 'bench-wide', data: `${data.name} ${classes}`, batches_per_epoch: Math.ceil(data.train.n / 128), strategy: c.strategy, workers: c.workers, split: c.split ?? '', stage_cost: c.stageCost ?? '', align_bytes: c.align ?? LINE_BYTES,
      rounds, median_seconds_per_epoch: med, all_seconds: secs[i]!.map((s) => s.toFixed(4)).join(' '), speedup_vs_serial: speedup(i),
      share_of_ceiling: ceiling ? speedup(i) / ceiling : '',
      // Round by round against serial's epoch of the same round: a slow period of the VM slows both.
      paired_speedup: summarize(secs[i]!.map((s, r) => (epochs(i) * secs[0]![r]!) / s)).median,
      load_avg_1m: loadAvg1(), ...prov, timestamp: stamp, command: `ROUNDS=${rounds} WARMUP=${warmup} WORKERS=${workers} SPLITS='${splits.join(' ')}' SETS='${sets.join(' ')}'${shifted ? ' SHIFTED=1' : ''}${process.env.STAGE_COSTS ? ` STAGE_COSTS='${stageCosts.join(' ')}'` : ''}${aligns.length ? ` ALIGNS='${aligns.join(' ')}'` : ''}${independent ? '' : ' INDEPENDENT=0'} npm run bench:samples`,
    };
    rows.push(row);
    console.log(`${data.name} ${classes.padEnd(4)} ${c.strategy.padEnd(8)} x${c.workers} ${`${c.split ?? (c.stageCost !== undefined ? `sc${c.stageCost}` : '')}${c.align ? ` a${c.align}` : ''}`.padEnd(9)} ${med.toFixed(4)} s/epoch, ${speedup(i).toFixed(2)}x${ceiling ? ` (${(100 * speedup(i) / ceiling).toFixed(0)} % of the ceiling)` : ''}  (${row.all_seconds})`);
  });
}
writeFileSync(process.env.OUT_CSV ?? 'results/bench-samples.csv', stringify(rows, { header: true }));
