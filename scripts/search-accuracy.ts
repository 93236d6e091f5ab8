/**
 * The accuracy search of issue 21, on a validation split only: the last HOLDOUT (default 10 %) of
 * the training split is held out (MNIST's training samples interleave the classes, so it holds
 * every class); shifted copies (augmentation) are made of the rest only. Each configuration trains
 * SEEDS networks, and after every epoch records each network's validation accuracy and that of the
 * ensemble (outputs averaged over the seeds, then argmax). The test split is never read here.
 *
 *   node dist/scripts/search-accuracy.js mnist   # or fashion-mnist; CONFIGS='name,...' picks some
 * (the f-* configurations are Fashion-MNIST's; SEEDS=1 makes each a third as long). EXTRA='[{"name":
 * "x","preset":"fashion10","model":{...},"train":{...},"epochs":8}]' adds configurations; LIMIT=N
 * trains on the first N images of the fit split only (quick screens; the validation split stays whole);
 * SPLIT=per-class holds out the last HOLDOUT of every class instead (see split()).
 * The g* configurations read Gabor features of the images (src/data/features.ts); an EXTRA one's
 * "features" field (a spec's fields over the named bank's) does the same.
 * Appends one JSON line per configuration and epoch to results/accuracy-search.jsonl (OUT).
 */
import { appendFileSync } from 'node:fs';
import { classData, type Dataset, loadDataset, perClassSplit, sliceDataset, withShifts } from '../src/data/data.js';
import { GABOR, type GaborSpec, withFeatures } from '../src/data/features.js';
import type { ModelConfig, PresetName, TrainConfig } from '../src/options.js';
import { createTrainer, type Trainer } from '../src/trainer.js';

interface Config {
  name: string;
  preset: PresetName;
  model?: Partial<ModelConfig>;
  train?: Partial<TrainConfig>;
  shifted?: boolean;
  /** Train and validate on Gabor features of the images (a spec's fields over the named bank's). */
  features?: Partial<GaborSpec>;
  epochs: number;
}

const CONFIGS: Config[] = [
  { name: 'mnist10', preset: 'mnist10', epochs: 20 },
  { name: 'h256', preset: 'mnist10', model: { hidden: [256] }, epochs: 20 },
  { name: 'h512', preset: 'mnist10', model: { hidden: [512] }, epochs: 20 },
  { name: 'shift-h128', preset: 'mnist10', shifted: true, epochs: 12 },
  { name: 'shift-h256', preset: 'mnist10', model: { hidden: [256] }, shifted: true, epochs: 12 },
  { name: 'shift-h256-decay', preset: 'mnist10', model: { hidden: [256] }, train: { alphaDecay: 0.1 }, shifted: true, epochs: 12 },
  { name: 'h256-decay', preset: 'mnist10', model: { hidden: [256] }, train: { alphaDecay: 0.1 }, epochs: 24 },
  { name: 'h128x2', preset: 'mnist10', model: { hidden: [128, 128] }, epochs: 20 },
  { name: 'f-base', preset: 'fashion10', epochs: 24 },
  { name: 'f-h256', preset: 'fashion10', model: { hidden: [256] }, epochs: 24 },
  { name: 'f-shift', preset: 'fashion10', shifted: true, epochs: 12 },
  { name: 'f-shift-h256', preset: 'fashion10', model: { hidden: [256] }, shifted: true, epochs: 12 },
  { name: 'f-h512', preset: 'fashion10', model: { hidden: [512] }, epochs: 24 },
  { name: 'f-h512-r0.15', preset: 'fashion10', model: { hidden: [512], alphaHidden: 0.15, alphaOutput: 0.15 }, epochs: 24 },
  { name: 'f-h256-r0.15', preset: 'fashion10', model: { alphaHidden: 0.15, alphaOutput: 0.15 }, epochs: 24 },
  { name: 'f-h128', preset: 'fashion10', model: { hidden: [128] }, epochs: 24 },
  { name: 'g8', preset: 'mnist10', features: {}, shifted: true, epochs: 10 },
  { name: 'g4', preset: 'mnist10', features: { orientations: 4 }, shifted: true, epochs: 10 },
  { name: 'g8-pool4', preset: 'mnist10', features: { pool: 4 }, shifted: true, epochs: 10 },
  { name: 'g8-raw', preset: 'mnist10', features: { raw: true }, shifted: true, epochs: 10 },
  { name: 'g8-h256', preset: 'mnist10', model: { hidden: [256] }, features: {}, shifted: true, epochs: 10 },
  { name: 'g8-shuffle', preset: 'mnist10', features: {}, shifted: true, train: { shuffle: true }, epochs: 10 },
  { name: 'shift-h128-shuffle', preset: 'mnist10', shifted: true, train: { shuffle: true }, epochs: 10 },
  { name: 'fg-h512-r0.15', preset: 'fashion10', model: { ensemble: 1 }, features: {}, epochs: 12 },
];

/** The share of rows whose largest output is the labelled class. */
function accuracy(out: Float64Array, d: Dataset): number {
  let right = 0;
  for (let s = 0; s < d.n; s++) {
    let best = 0;
    for (let k = 1; k < d.outputs; k++) if (out[s * d.outputs + k]! > out[s * d.outputs + best]!) best = k;
    if (best === d.labels[s]) right++;
  }
  return right / d.n;
}

const dataName = process.argv[2] ?? 'mnist';
const holdout = Number(process.env.HOLDOUT ?? 0.1);
const seeds = Number(process.env.SEEDS ?? 3);
const workers = Number(process.env.WORKERS ?? 2);
const only = process.env.CONFIGS?.split(',');
if (process.env.EXTRA) CONFIGS.push(...(JSON.parse(process.env.EXTRA) as Config[]));
const limit = process.env.LIMIT ? Number(process.env.LIMIT) : undefined;
const out = process.env.OUT ?? 'results/accuracy-search.jsonl';
const loaded = await loadDataset(dataName, {});
/**
 * SPLIT=per-class holds out the last HOLDOUT of every class and interleaves the rest class by class,
 * as the mnist loader orders its training split (the loader's own perClassSplit): the fit split then ends, as the whole training
 * split does, with a run of the most frequent classes (which training without shuffling feels).
 * The default holds out the last HOLDOUT of the training split as it is ordered.
 */
function split(d: Dataset): [Dataset, Dataset] {
  if (process.env.SPLIT !== 'per-class') {
    const cut = Math.round(d.n * (1 - holdout));
    return [sliceDataset(d, 0, Math.min(cut, limit ?? cut)), sliceDataset(d, cut, d.n)];
  }
  const raw = Array.from(d.labels, (c) => d.classes[c]!);
  const rows = perClassSplit(raw, d.classes, 1 - holdout);
  return [classData(d.x, d.features, raw, rows.train.slice(0, limit ?? rows.train.length), d.classes), classData(d.x, d.features, raw, rows.test, d.classes)];
}

const [fit, validation] = split(loaded.train);
const side = Math.round(Math.sqrt(fit.features));
let shifted: Dataset | undefined;

for (const c of CONFIGS.filter((x) => !only || only.includes(x.name))) {
  let train = c.shifted ? (shifted ??= withShifts(fit, side)) : fit;
  let held = validation;
  const bank = c.features && { ...GABOR, ...c.features };
  if (bank) {
    train = withFeatures(train, bank);
    held = withFeatures(validation, bank);
  }
  const trainers: Trainer[] = [];
  for (let s = 1; s <= seeds; s++) trainers.push(await createTrainer({ preset: c.preset, model: c.model ?? {}, train: { ...c.train, seed: s }, workers }));
  const t0 = performance.now();
  try {
    for (let e = 1; e <= c.epochs; e++) {
      const sum = new Float64Array(held.n * held.outputs);
      const each: number[] = [];
      for (const t of trainers) {
        await t.fit(train, { epochs: 1 });
        const o = t.predict(held);
        each.push(accuracy(o, held));
        for (let i = 0; i < sum.length; i++) sum[i]! += o[i]!;
      }
      const line = {
        data: dataName, config: c.name, ...(limit ? { limit } : {}), ...(process.env.SPLIT ? { split: process.env.SPLIT } : {}), preset: c.preset, model: c.model ?? {}, train: c.train ?? {}, shifted: c.shifted === true, ...(bank ? { features: bank } : {}),
        epoch: e, seeds, trainSamples: train.n, validationSamples: validation.n,
        validation: each, validationMean: each.reduce((a, b) => a + b, 0) / each.length, ensemble: accuracy(sum, held),
        seconds: (performance.now() - t0) / 1000,
      };
      appendFileSync(out, `${JSON.stringify(line)}\n`);
      console.log(`${c.name} epoch ${e}: validation ${(100 * line.validationMean).toFixed(2)} % (ensemble of ${seeds}: ${(100 * line.ensemble).toFixed(2)} %), ${line.seconds.toFixed(0)} s`);
    }
  } finally {
    for (const t of trainers) await t.close();
  }
}
