/**
 * What an input coding costs (npm run bench:coding): `fashion10`'s model (an ensemble of 4 nets of
 * 512 cells per class, float32, native kernels) trained on the first LIMIT Fashion-MNIST training
 * images with the earlier preset's coding (0.5 * sqrt(v); the rows still name it "preset") and with
 * the ON/OFF coding of sqrt(v) (--input-onoff --input-scale 1, fashion10's since, docs/classes.md),
 * on WORKERS threads (the preset's `output` strategy). Each trainer is built and trained WARMUP epochs first, then ROUNDS rounds train one
 * epoch of each in turn; medians per coding, and the median of the per-round ratios (a slow period
 * of the VM slows both of a round). The calibration is left out: only training is timed. Each
 * row also counts the sources a forward tile of 8 images cannot skip (an input that is not 0 in
 * every image of the tile: what the kernels compute), over the timed images.
 * Writes results/bench-coding.csv (OUT_CSV).
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import { loadDataset } from '../src/data/data.js';
import { codeInputs, inputMeans, onOffInputs } from '../src/data/coding.js';
import type { ModelConfig } from '../src/options.js';
import { loadAvg1, provenance } from '../src/report/report.js';
import { summarize } from '../src/report/stats.js';
import { createTrainer, type Trainer } from '../src/trainer.js';

const limit = Number(process.env.LIMIT ?? 3200);
const rounds = Number(process.env.ROUNDS ?? 3);
const warmup = Number(process.env.WARMUP ?? 1);
const workers = Number(process.env.WORKERS ?? 2);
const TILE = 8;

const data = await loadDataset('fashion-mnist', { classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], limit });
const train = data.train;
const F = train.features;

/** Inputs of `x` (`f` a row) that a tile of TILE rows cannot skip, on average per tile. */
function liveSources(x: Float64Array, f: number): number {
  let live = 0;
  let tiles = 0;
  for (let s = 0; s + TILE <= x.length / f; s += TILE, tiles++) {
    for (let p = 0; p < f; p++) {
      for (let b = 0; b < TILE; b++) {
        if (x[(s + b) * f + p] !== 0) {
          live++;
          break;
        }
      }
    }
  }
  return live / tiles;
}

const sqrtHalf = codeInputs(train.x, { power: 0.5, scale: 0.5 });
const sqrtOne = codeInputs(train.x, { power: 0.5, scale: 1 });
const codings: { name: string; model: Partial<ModelConfig>; inputs: number; live: number }[] = [
  // Both codings spelled out: fashion10 read 0.5 * sqrt(v) until it took ON/OFF (the rows' names kept).
  { name: 'preset: 0.5 * sqrt(v)', model: { calibrate: 0, inputOnOff: false, inputScale: 0.5 }, inputs: F, live: liveSources(sqrtHalf, F) },
  { name: 'ON/OFF of sqrt(v)', model: { calibrate: 0, inputOnOff: true, inputScale: 1 }, inputs: 2 * F, live: liveSources(onOffInputs(sqrtOne, F, inputMeans(sqrtOne, F)), 2 * F) },
];

const trainers: Trainer[] = [];
for (const c of codings) {
  const t = await createTrainer({ preset: 'fashion10', model: c.model, workers });
  await t.fit(train, { epochs: warmup });
  trainers.push(t);
}
const secs: number[][] = codings.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let c = 0; c < codings.length; c++) secs[c]!.push((await trainers[c]!.fit(train, { epochs: 1 })).epochs[0]!.seconds);
}
for (const t of trainers) await t.close();

const prov = provenance();
const stamp = new Date().toISOString();
const command = `LIMIT=${limit} ROUNDS=${rounds} WARMUP=${warmup} WORKERS=${workers} npm run bench:coding`;
const rows = codings.map((c, i) => {
  const med = summarize(secs[i]!).median;
  const row = {
    preset: 'fashion10', coding: c.name, images: train.n, workers, inputs: c.inputs, live_sources_per_tile_of_8: c.live.toFixed(1),
    rounds, median_seconds_per_epoch: med, samples_per_second: train.n / med, all_seconds: secs[i]!.map((s) => s.toFixed(3)).join(' '),
    time_vs_preset: med / summarize(secs[0]!).median,
    paired_time_vs_preset: summarize(secs[i]!.map((s, r) => s / secs[0]![r]!)).median,
    load_avg_1m: loadAvg1(), ...prov, timestamp: stamp, command,
  };
  console.log(`${c.name.padEnd(22)} ${med.toFixed(2)} s/epoch (${train.n} images, ${row.samples_per_second.toFixed(0)} samples/s), x${row.paired_time_vs_preset.toFixed(2)} the preset's time (paired), ${row.live_sources_per_tile_of_8} live sources a tile of 8  (${row.all_seconds})`);
  return row;
});
writeFileSync(process.env.OUT_CSV ?? 'results/bench-coding.csv', stringify(rows, { header: true }));
