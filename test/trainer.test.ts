import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, parityData } from '../src/data/data.js';
import { loadModel, parseModel } from '../src/model-io.js';
import { createTrainer, loadTrainer, resolveOptions } from '../src/trainer.js';
import { sweep } from '../src/report/sweep.js';
import { getPreset, validateModelConfig } from '../src/options.js';
import { dataOptions } from '../src/cli/cli-options.js';
import { tempDir, withTimeout } from './helpers.js';

for (const [precision, kernels, batch] of [['f64', 'js', 1], ['f32', 'wasm', 1], ['f32', 'wasm', 4]] as const) {
test(`kaneko rule (${precision}/${kernels}, batch ${batch}): |w| never shrinks, no weight changes sign, zero weights stay zero`, withTimeout(30000, async () => {
  const trainer = await createTrainer({ preset: 'kaneko', model: { hidden: [8, 6], precision, kernels }, train: { epochs: 30, seed: 3, batch } });
  const data = parityData(3);
  await trainer.fit(data, { epochs: 1 });
  // Zero one weight in every layer to check that it stays frozen.
  const f = trainer.mem!.f;
  for (const l of trainer.layout!.nets[0]!.layers) f[l.w + 1] = 0;
  let prev = trainer.weights();
  for (let e = 0; e < 20; e++) {
    await trainer.fit(data, { epochs: 1 });
    const now = trainer.weights();
    now[0]!.forEach((l, k) => l.w.forEach((v, i) => {
      const p = prev[0]![k]!.w[i]!;
      assert.ok(Math.abs(v) >= Math.abs(p), `layer ${k} weight ${i} shrank: ${p} -> ${v}`);
      assert.ok(p === 0 ? v === 0 : Math.sign(v) === Math.sign(p), `layer ${k} weight ${i} changed sign: ${p} -> ${v}`);
    }));
    prev = now;
  }
  await trainer.close();
}));
}

test('bidirectional rule lets weights cross zero (the article and Kaneko\'s optional flag)', withTimeout(30000, async () => {
  const trainer = await createTrainer({ preset: 'kaneko', model: { rule: 'bidirectional' }, train: { epochs: 200, seed: 2 } });
  const before = trainer;
  await before.fit(parityData(2), { epochs: 1 });
  const w0 = trainer.weights();
  await trainer.fit(parityData(2));
  const w1 = trainer.weights();
  let crossed = 0;
  w0[0]!.forEach((l, k) => l.w.forEach((v, i) => { if (Math.sign(v) !== Math.sign(w1[0]![k]!.w[i]!)) crossed++; }));
  assert.ok(crossed > 0, 'expected some weight to cross zero');
  await trainer.close();
}));

test('Kaneko\'s XOR table: mean epochs over 100 seeds within 20 % (hidden 8: ~75, hidden 32: ~8.3)', withTimeout(60000, async () => {
  const h8 = await sweep(parityData(2), Array.from({ length: 100 }, (_, i) => i + 1), { preset: 'kaneko', model: { hidden: [8] } });
  const h32 = await sweep(parityData(2), Array.from({ length: 100 }, (_, i) => i + 1), { preset: 'kaneko', model: { hidden: [32] } });
  assert.is(h8.converged, 100);
  assert.ok(Math.abs(h8.meanEpochs - 75) <= 15, `hidden 8: ${h8.meanEpochs}`);
  assert.ok(Math.abs(h32.meanEpochs - 8.3) <= 1.66, `hidden 32: ${h32.meanEpochs}`);
}));

test('the paired topology learns MNIST 0/1 (a short article-style run)', withTimeout(60000, async () => {
  const data = await loadDataset('mnist', { classes: [0, 1], limit: 600 });
  const trainer = await createTrainer({ preset: 'article', model: { hidden: new Array(32).fill(4) }, train: { epochs: 3, seed: 4 } });
  const h = await trainer.fit(data.train);
  assert.is(h.epochs.length, 3);
  const { accuracy } = await trainer.evaluate(data.test);
  assert.ok(accuracy > 0.9, `accuracy ${accuracy}`);
  await trainer.close();
}));

test('save and load: identical bytes, identical predictions; corrupt files are refused', withTimeout(30000, async () => {
  const dir = tempDir();
  const trainer = await createTrainer({ preset: 'kaneko', model: { hidden: [6], bias: 'vector' }, train: { epochs: 50 } });
  const data = parityData(3);
  await trainer.fit(data);
  const file = join(dir, 'm.edsim');
  await trainer.save(file);
  const ev = await trainer.evaluate(data);
  const back = await loadTrainer(file);
  const ev2 = await back.evaluate(data);
  assert.equal(ev2, ev);
  await back.save(join(dir, 'm2.edsim'));
  assert.is(readFileSync(join(dir, 'm2.edsim'), 'utf8'), readFileSync(file, 'utf8'));
  await trainer.close();
  await back.close();
  const text = readFileSync(file, 'utf8');
  const m = JSON.parse(text);
  const bad = (o: unknown): string => JSON.stringify(o);
  assert.throws(() => parseModel('garbage', 'x'), /not valid JSON/);
  assert.throws(() => parseModel(bad({ ...m, format: 'other' }), 'x'), /not an edsim model/);
  assert.throws(() => parseModel(bad({ ...m, version: 99 }), 'x'), /format version 99/);
  assert.throws(() => parseModel(bad({ ...m, weights: [] }), 'x'), /expected 1 nets/);
  const nan = JSON.parse(text);
  const count = Buffer.from(nan.weights[0][0].w, 'base64').length / 8;
  nan.weights[0][0].w = Buffer.from(new Float64Array([NaN, ...new Array(count - 1).fill(0)]).buffer).toString('base64');
  assert.throws(() => parseModel(bad(nan), 'x'), /NaN/);
  const short = JSON.parse(text);
  short.weights[0][0].w = 'AAAA';
  assert.throws(() => parseModel(bad(short), 'x'), /values, expected/);
  writeFileSync(join(dir, 'empty.edsim'), '');
  assert.throws(() => loadModel(join(dir, 'empty.edsim')), /is empty/);
  assert.throws(() => loadModel(join(dir, 'none.edsim')), /cannot read model file/);
}));

test('options are validated with fixed messages', () => {
  assert.throws(() => resolveOptions({ strategy: 'magic' as never }), /unknown strategy 'magic'/);
  assert.throws(() => resolveOptions({ workers: 0 }), /workers must be an integer from 1/);
  assert.throws(() => resolveOptions({ train: { batch: 0 } }), /batch must be an integer/);
  assert.throws(() => resolveOptions({ preset: 'nope' as never }), /unknown preset 'nope'/);
  const base = { ...getPreset('article').model, inputs: 4, outputs: 1 };
  assert.throws(() => validateModelConfig({ ...base, hidden: [3] }), /even number of cells/);
  assert.throws(() => validateModelConfig({ ...base, hidden: [] }), /at least one hidden layer/);
  assert.throws(() => validateModelConfig({ ...base, u0: 0 }), /u0 must be a positive number/);
  assert.throws(() => validateModelConfig({ ...base, rule: 'x' as never }), /unknown rule/);
  const r = resolveOptions({ preset: 'kaneko', model: { alphaHidden: 0.5 } });
  assert.is(r.model.alphaOutput, 0.5);
  const a = resolveOptions({ preset: 'article', model: { alphaHidden: 0.5 } });
  assert.is(a.model.alphaOutput, 0.8);
  // Threads without a strategy: the byte-identical strategy that fits the topology.
  assert.is(resolveOptions({ preset: 'kaneko', workers: 2 }).strategy, 'output');
  assert.is(resolveOptions({ preset: 'article', workers: 2 }).strategy, 'layer');
  assert.is(resolveOptions({ preset: 'bench-wide', workers: 4 }).strategy, 'samples');
  assert.is(resolveOptions({ preset: 'bench-wide', workers: 4, train: { batch: 16 } }).strategy, 'cells'); // under 8 rows a thread
  assert.is(resolveOptions({ preset: 'article' }).strategy, 'serial');
  assert.is(resolveOptions({ preset: 'mnist10', workers: 2 }).strategy, 'output');
  assert.is(getPreset('fashion10').model.hidden[0], 512);
  assert.is(getPreset('fashion10').model.ensemble, 4);
  assert.is(getPreset('mnist10').model.hidden[0], 128);
});

test('an aborted signal stops training and rolls back to the last whole epoch', withTimeout(30000, async () => {
  const data = await loadDataset('mnist', { classes: [0, 1], limit: 400 });
  const trainer = await createTrainer({ preset: 'bench-wide', model: { hidden: [64, 64] }, train: { batch: 16, epochs: 5 } });
  const ac = new AbortController();
  let snapshot: ReturnType<typeof trainer.weights> | undefined;
  let batches = 0;
  const h = await trainer.fit(data.train, {
    signal: ac.signal,
    onEpoch: () => { snapshot = trainer.weights(); },
    onBatch: () => { if (snapshot && ++batches === 5) ac.abort(); },
  });
  assert.ok(h.aborted);
  assert.is(h.epochs.length, 1);
  assert.equal(trainer.weights()[0]![0]!.w, snapshot![0]![0]!.w);
  await trainer.close();
}));

test('presets pin no kernels: auto picks by precision (kaneko f32 runs native or wasm, f64 the exact JavaScript path)', () => {
  assert.is(resolveOptions({ preset: 'kaneko' }).model.kernels, 'js');
  assert.ok(['native', 'wasm'].includes(resolveOptions({ preset: 'kaneko', model: { precision: 'f32' } }).model.kernels));
  assert.is(resolveOptions({ preset: 'mnist10', model: { precision: 'f64' } }).model.kernels, 'js');
});

test('a preset that trains on shifted copies (mnist10) asks for them; --no-shifted and non-image data do not', () => {
  assert.equal(dataOptions({ data: 'mnist', preset: 'mnist10' }), { shifted: true });
  assert.equal(dataOptions({ data: 'mnist', preset: 'mnist10', shifted: false }), {});
  assert.equal(dataOptions({ data: 'xor', preset: 'mnist10' }), {});
  assert.equal(dataOptions({ data: 'mnist', preset: 'fashion10' }), {});
  assert.ok(getPreset('mnist10').shifted === true && getPreset('bench-wide').shifted === undefined);
});

test.run();
