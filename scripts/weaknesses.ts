/**
 * ED's stated weaknesses, measured (npm run study:weaknesses):
 * 1. Activations other than the sigmoid: which of relu, elu, softplus, tanh learn XOR (Kaneko's
 *    network, 20 seeds) and MNIST 0/1, as they are and with two fixes (a sigmoid output cell;
 *    ten times smaller steps and initial weights).
 * 2. A continuous target: y = 0.5 + 0.4 sin(2 pi x) from x in [0, 1] (a regression), with one
 *    output cell (Kaneko's rule, the bidirectional rule) and with the target coded on ten
 *    thermometer outputs (one independent net each), against predicting the mean.
 * Writes results/activations.csv and results/regression.csv.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import type { ActivationName } from '../src/engine/activations.js';
import { type Dataset, loadDataset } from '../src/data/data.js';
import { provenance } from '../src/report/report.js';
import { Rng } from '../src/engine/rng.js';
import { summarize } from '../src/report/stats.js';
import { createTrainer, type TrainerOptions } from '../src/trainer.js';

const quick = process.argv.includes('--quick');
const ACTS: ActivationName[] = ['sigmoid', 'relu', 'elu', 'softplus', 'tanh'];
const xor: Dataset = {
  n: 4, features: 2, outputs: 1, x: Float64Array.from([0, 0, 0, 1, 1, 0, 1, 1]), y: Float64Array.from([0, 1, 1, 0]),
  labels: Int32Array.from([0, 1, 1, 0]), classes: [0, 1],
};

interface Fix {
  name: string;
  model: (a: ActivationName) => TrainerOptions['model'];
  scale: number;
}
const FIXES: Fix[] = [
  { name: 'none', model: (a) => ({ activation: a }), scale: 1 },
  { name: 'sigmoid output', model: (a) => ({ activation: a, outputActivation: 'sigmoid' }), scale: 1 },
  { name: 'steps and init / 10', model: (a) => ({ activation: a }), scale: 0.1 },
];

async function xorRuns(act: ActivationName, fix: Fix, seeds: number): Promise<{ converged: number; medianEpochs: number }> {
  const epochs: number[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const t = await createTrainer({
      preset: 'kaneko', model: { ...fix.model(act), hidden: [16], alphaHidden: 0.8 * fix.scale, alphaOutput: 0.8 * fix.scale, initScale: fix.scale },
      train: { epochs: quick ? 300 : 3000, seed },
    });
    try {
      const h = await t.fit(xor);
      if (h.converged) epochs.push(h.epochs.length);
    } finally {
      await t.close();
    }
  }
  return { converged: epochs.length, medianEpochs: epochs.length ? summarize(epochs).median : NaN };
}

async function mnist01(act: ActivationName, fix: Fix, data: { train: Dataset; test: Dataset }): Promise<number> {
  const t = await createTrainer({
    preset: 'mnist10', model: { ...fix.model(act), hidden: [32], alphaHidden: 0.3 * fix.scale, alphaOutput: 0.3 * fix.scale, initScale: 0.05 * fix.scale },
    train: { epochs: 2, seed: 1 },
  });
  try {
    await t.fit(data.train);
    return (await t.evaluate(data.test)).accuracy;
  } finally {
    await t.close();
  }
}

const mnist = await loadDataset('mnist', { classes: [0, 1], ...(quick ? { limit: 500 } : {}) });
const seeds = quick ? 3 : 20;
const actRows: Record<string, unknown>[] = [];
for (const act of ACTS) {
  for (const fix of FIXES) {
    if (act === 'sigmoid' && fix.name === 'sigmoid output') continue;
    const x = await xorRuns(act, fix, seeds);
    const acc = await mnist01(act, fix, mnist);
    const row = { activation: act, fix: fix.name, xor_seeds: seeds, xor_converged: x.converged, xor_median_epochs: x.medianEpochs, mnist01_test_accuracy: acc };
    console.log(JSON.stringify(row));
    actRows.push(row);
  }
}

/** x evenly spread at random over [0, 1); y = 0.5 + 0.4 sin(2 pi x), on one output or K thermometer outputs. */
function sine(n: number, seed: number, k: number): { data: Dataset; target: Float64Array } {
  const rng = new Rng(seed);
  const x = Float64Array.from({ length: n }, () => rng.next());
  const target = x.map((v) => 0.5 + 0.4 * Math.sin(2 * Math.PI * v));
  const y = k === 1 ? Float64Array.from(target) : Float64Array.from({ length: n * k }, (_, i) => (target[Math.floor(i / k)]! > ((i % k) + 0.5) / k ? 1 : 0));
  return { data: { n, features: 1, outputs: k, x, y, labels: new Int32Array(n).fill(-1), classes: [] }, target };
}

const regRows: Record<string, unknown>[] = [];
const mean = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
for (const [name, model, k] of [
  ['one output, kaneko rule', { rule: 'kaneko' }, 1],
  ['one output, bidirectional rule', { rule: 'bidirectional' }, 1],
  ['10 thermometer outputs, kaneko rule', { rule: 'kaneko' }, 10],
] as const) {
  for (const hidden of [16, 64]) {
    const train = sine(200, 11, k);
    const test = sine(200, 12, k);
    const t = await createTrainer({ preset: 'kaneko', model: { ...model, hidden: [hidden] }, train: { epochs: quick ? 50 : 2000, stopErrSum: 0, seed: 1 } });
    try {
      const t0 = performance.now();
      await t.fit(train.data);
      const secs = (performance.now() - t0) / 1000;
      const out = t.predict(test.data);
      const pred = k === 1 ? out : Float64Array.from({ length: test.data.n }, (_, s) => mean(out.subarray(s * k, (s + 1) * k)));
      const mae = mean(pred.map((p, s) => Math.abs(p - test.target[s]!)));
      const m = mean(train.target);
      const baseline = mean(test.target.map((v) => Math.abs(v - m)));
      const sse = pred.reduce((s, p, i) => s + (p - test.target[i]!) ** 2, 0);
      const sst = test.target.reduce((s, v) => s + (v - mean(test.target)) ** 2, 0);
      const row = { coding: name, hidden, epochs: quick ? 50 : 2000, test_mae: mae, mean_predictor_mae: baseline, test_r2: 1 - sse / sst, train_seconds: secs };
      console.log(JSON.stringify(row));
      regRows.push(row);
    } finally {
      await t.close();
    }
  }
}

if (!quick) {
  const note = { command: 'npm run study:weaknesses', ...provenance() };
  writeFileSync('results/activations.csv', stringify(actRows.map((r) => ({ ...r, ...note })), { header: true }));
  writeFileSync('results/regression.csv', stringify(regRows.map((r) => ({ ...r, ...note })), { header: true }));
  console.log('wrote results/activations.csv and results/regression.csv');
}
