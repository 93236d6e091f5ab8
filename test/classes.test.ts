/** Many classes: the columns topology, per-class amine channels, output activations, predict. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, mirrorData } from '../src/data/data.js';
import { computeAmine } from '../src/engine/engine.js';
import { computeLayout, netShapes } from '../src/engine/layout.js';
import { saveModel } from '../src/model-io.js';
import { getPreset, type ModelConfig } from '../src/options.js';
import { createTrainer, loadTrainer, type Trainer, type TrainerOptions } from '../src/trainer.js';
import { slotSerial, type StrategyName } from '../src/engine/executor.js';
import { expectClose, expectSerialModel, rejects, tempDir, withTimeout } from './helpers.js';

const dir = tempDir();
const K = 3, H = 4;
const columnsF64: TrainerOptions = {
  preset: 'kaneko', model: { topology: 'columns', hidden: [H], alphaCross: 0 }, train: { epochs: 30, batch: 4, stopErrSum: 0 },
};

test('columns layout: one net, a column of h cells per class, per-class amine channels, readout sources', () => {
  const c: ModelConfig = { ...getPreset('kaneko').model, topology: 'columns', hidden: [4, 6], inputs: 5, outputs: 3 };
  const [net] = netShapes(c);
  assert.is(netShapes(c).length, 1);
  assert.equal(net!.map((l) => [l.nIn, l.nOut, l.amineGroup, l.readoutColumn]), [[12, 12, 4, 0], [14, 18, 6, 0], [20, 3, 1, 6]]);
  assert.equal(Array.from(net![1]!.cellTypes.subarray(0, 8)), [-1, 1, -1, 1, -1, 1, -1, 1]);
  const layout = computeLayout(c, 2);
  assert.is(layout.nets[0]!.channels, 3);
  // The hidden amine of channel k is u1 times output k's own error.
  const f = new Float64Array(layout.floats);
  const n = layout.nets[0]!;
  const out = n.layers[n.layers.length - 1]!;
  f.set([1, 0, 0, 0, 1, 0], n.target);
  f.set([0.25, 0.5, 0.125, 0.5, 0.75, 1], out.y);
  computeAmine(f, n, 2, 2);
  assert.equal(Array.from(f.subarray(n.amine, n.amine + 6)), [1.5, -1, -0.25, -1, 0.5, -2]);
  assert.equal(Array.from(f.subarray(n.err, n.err + 6)), [0.75, -0.5, -0.125, -0.5, 0.25, -1]);
});

test('columns with a zero cross rate computes what Kaneko\'s independent nets compute (same weights, 1e-9)', withTimeout(30000, async () => {
  const data = mirrorData(K);
  const indep = await createTrainer({ preset: 'kaneko', model: { hidden: [H] }, train: { epochs: 1, seed: 3, stopErrSum: 0 } });
  await indep.fit(data, { epochs: 1 });
  const ws = indep.weights();
  const cfg: ModelConfig = { ...indep.model!, topology: 'columns', alphaCross: 0 };
  const [layers] = netShapes(cfg);
  const hid = new Float64Array(layers![0]!.nIn * K * H);
  const outW = new Float64Array(layers![1]!.nIn * K);
  for (let n = 0; n < K; n++) {
    for (let i = 0; i < layers![0]!.nIn; i++) for (let j = 0; j < H; j++) hid[i * K * H + n * H + j] = ws[n]![0]!.w[i * H + j]!;
    for (let i = 0; i < 2; i++) outW[i * K + n] = ws[n]![1]!.w[i]!;
    for (let j = 0; j < H; j++) outW[(2 + n * H + j) * K + n] = ws[n]![1]!.w[2 + j]!;
  }
  const file = join(dir, 'columns.edsim');
  saveModel(file, { config: cfg, weights: [[{ w: hid, b: new Float64Array(0) }, { w: outW, b: new Float64Array(0) }]], classes: [] });
  const cols = await loadTrainer(file, { train: { batch: 1, stopErrSum: 0 } });
  expectClose(cols.predict(data), indep.predict(data), 0, 'outputs before training');
  await indep.fit(data, { epochs: 40 });
  await cols.fit(data, { epochs: 40 });
  expectClose(cols.predict(data), indep.predict(data), 1e-9, 'outputs');
  const cw = cols.weights()[0]![1]!.w;
  for (let n = 0; n < K; n++) for (let i = 2; i < 2 + K * H; i++) if (Math.floor((i - 2) / H) !== n) assert.is(cw[i * K + n], 0);
  await indep.close();
  await cols.close();
}));

test('columns readout: own-column weights keep their signs (kaneko rule), cross weights start at 0 and learn either sign', withTimeout(30000, async () => {
  const data = mirrorData(K);
  const t = await createTrainer({ ...columnsF64, model: { ...columnsF64.model, alphaCross: 0.5 } });
  const before = (await (async () => { await t.fit(data, { epochs: 1 }); return t.weights(); })())[0]![1]!.w;
  await t.fit(data, { epochs: 200 });
  const after = t.weights()[0]![1]!.w;
  const srcE = netShapes(t.model!)[0]![1]!.srcE;
  let pos = 0, neg = 0;
  for (let i = 0; i < srcE.length; i++) {
    for (let n = 0; n < K; n++) {
      const own = i < 2 || Math.floor((i - 2) / H) === n;
      const w = after[i * K + n]!;
      if (own) {
        assert.ok(srcE[i] === 1 ? w >= 0 : w <= 0, `own weight ${i}->${n} changed sign`);
        assert.ok(Math.abs(w) >= Math.abs(before[i * K + n]!), `own weight ${i}->${n} shrank`);
      } else {
        if (w > 0) pos++;
        if (w < 0) neg++;
      }
    }
  }
  assert.ok(pos > 0 && neg > 0, `cross weights: ${pos} positive, ${neg} negative`);
  await t.close();
}));

test('columns on MNIST: the layer strategy with 2 workers saves a model byte-identical to serial, and it learns', withTimeout(60000, async () => {
  const mnist = await loadDataset('mnist', { limit: 400 });
  const o: TrainerOptions = { preset: 'mnist10', model: { topology: 'columns', hidden: [8] }, train: { epochs: 2 } };
  const files: string[] = [];
  let acc = 0;
  for (const [strategy, workers] of [['serial', 1], ['layer', 2]] as const) {
    const t = await createTrainer({ ...o, strategy, workers });
    await t.fit(mnist.train);
    acc = (await t.evaluate(mnist.test)).accuracy;
    const file = join(dir, `mnist-columns-${strategy}.edsim`);
    await t.save(file);
    files.push(readFileSync(file, 'utf8'));
    await t.close();
  }
  assert.ok(files[0] === files[1], 'layer strategy differs from serial');
  assert.ok(acc > 0.5, `accuracy ${acc}`);
}));

test('predict: argmax of the outputs gives evaluate\'s accuracy; the output activation can differ from the hidden one', withTimeout(30000, async () => {
  const mnist = await loadDataset('mnist', { limit: 300 });
  const t = await createTrainer({ preset: 'mnist10', model: { hidden: [8], activation: 'relu', outputActivation: 'sigmoid', initScale: 0.005, alphaHidden: 0.03, alphaOutput: 0.03 }, train: { epochs: 1 } });
  await t.fit(mnist.train);
  const shapes = netShapes(t.model!)[0]!;
  assert.equal(shapes.map((l) => l.act), [1, 0]);
  const out = t.predict(mnist.test);
  let correct = 0;
  for (let s = 0; s < mnist.test.n; s++) {
    const row = Array.from(out.subarray(s * 10, s * 10 + 10));
    if (row.indexOf(Math.max(...row)) === mnist.test.labels[s]) correct++;
    assert.ok(row.every((v) => v >= 0 && v <= 1), 'sigmoid outputs');
  }
  assert.is(correct / mnist.test.n, (await t.evaluate(mnist.test)).accuracy);
  const file = join(dir, 'relu.edsim');
  await t.save(file);
  const back = await loadTrainer(file);
  assert.is(back.model!.outputActivation, 'sigmoid');
  expectClose(back.predict(mnist.test), out, 0, 'outputs after load');
  await back.close();
  await t.close();
  assert.throws(() => t.predict({ x: new Float64Array(3), features: 3, outputs: 10, y: new Float64Array(0) }), /expects 784/);
}));

test('alpha decay: epoch e runs at rate / (1 + decay * e), on every thread', withTimeout(60000, async () => {
  const data = mirrorData(3);
  const a = await createTrainer({ preset: 'kaneko', model: { hidden: [6] }, train: { epochs: 2, stopErrSum: 0, alphaDecay: 1 } });
  await a.fit(data);
  const b = await createTrainer({ preset: 'kaneko', model: { hidden: [6] }, train: { epochs: 1, stopErrSum: 0 } });
  await b.fit(data);
  const file = join(dir, 'half-rate.edsim');
  saveModel(file, { ...b.modelFile(), config: { ...b.model!, alphaHidden: 0.4, alphaOutput: 0.4 } });
  const c = await loadTrainer(file, { train: { batch: 1, stopErrSum: 0 } });
  await c.fit(data, { epochs: 1 });
  assert.equal(c.weights(), a.weights(), 'second epoch at half the rate');
  for (const t of [a, b, c]) await t.close();
  const mnist = await loadDataset('mnist', { limit: 200 });
  const saved: string[] = [];
  for (const [strategy, workers] of [['serial', 1], ['output', 2]] as const) {
    const t = await createTrainer({ preset: 'mnist10', model: { hidden: [8] }, train: { epochs: 3, alphaDecay: 0.5 }, strategy, workers });
    await t.fit(mnist.train);
    const f = join(dir, `decay-${strategy}.edsim`);
    await t.save(f);
    saved.push(readFileSync(f, 'utf8'));
    await t.close();
  }
  assert.ok(saved[0] === saved[1], 'output strategy with decay differs from serial');
}));

test('an ensemble: member 0 is the single model, byte for byte; outputs are the members\' mean; every exact strategy matches serial', withTimeout(90000, async () => {
  const mnist = await loadDataset('mnist', { limit: 300, classes: [0, 1, 2] });
  const o = (ensemble: number): TrainerOptions => ({ preset: 'mnist10', model: { hidden: [8], ensemble }, train: { epochs: 2, alphaDecay: 0.5 } });
  const single = await createTrainer(o(1));
  await single.fit(mnist.train);
  const ens = await createTrainer(o(3));
  await ens.fit(mnist.train);
  const K = mnist.train.outputs;
  assert.is(ens.weights().length, 3 * K, 'three nets per output');
  assert.equal(ens.weights().slice(0, K), single.weights(), 'member 0 against the single model');
  assert.not.equal(ens.weights().slice(K, 2 * K), single.weights(), 'member 1 starts elsewhere');
  // The members' mean, from the raw rows of every net, against predict and evaluate.
  const test = mnist.test;
  const rows = slotSerial(ens.mem!, ens.layout!, ens.model!).outputs({ x: test.x, features: test.features, y: test.y, outputs: test.outputs });
  const mean = ens.predict(test);
  assert.is(mean.length, test.n * K);
  let right = 0;
  for (let s = 0; s < test.n; s++) {
    let best = 0;
    for (let c = 0; c < K; c++) {
      const m = (rows[s * 3 * K + c]! + rows[s * 3 * K + K + c]! + rows[s * 3 * K + 2 * K + c]!) / 3;
      assert.is(mean[s * K + c], m, `sample ${s} output ${c}`);
      if (m > mean[s * K + best]!) best = c;
    }
    if (best === test.labels[s]) right++;
  }
  assert.is((await ens.evaluate(test)).accuracy, right / test.n, 'evaluate scores the mean');
  const file = join(dir, 'ens-serial.edsim');
  await ens.save(file);
  for (const t of [single, ens]) await t.close();
  await expectSerialModel(o(3), mnist.train, [
    { strategy: 'output', workers: 2 }, { strategy: 'output', workers: 3 }, { strategy: 'cells', workers: 2 }, { strategy: 'samples', workers: 2 }, { strategy: 'layer', workers: 2 },
  ]);
  const loaded = await loadTrainer(file);
  expectClose(loaded.predict(test), mean, 0, 'the saved ensemble');
  await loaded.close();
  await rejects(createTrainer({ preset: 'bench-wide', model: { ensemble: 2 } }), /an ensemble needs the kaneko topology/);
  await rejects(createTrainer({ preset: 'mnist10', model: { ensemble: 0 } }), /ensemble must be an integer from 1 to 64, got 0/);
}));

test('receptive fields: each first-layer cell reads its own window only, before and after training; a field as wide as the image is the plain model; every exact strategy matches serial', withTimeout(90000, async () => {
  const mnist = await loadDataset('mnist', { limit: 300, classes: [0, 1, 2] });
  const o = (field: number | undefined, strategy: StrategyName = 'serial', workers = 1): TrainerOptions =>
    ({ preset: 'mnist10', model: { hidden: [8], ensemble: 2, ...(field === undefined ? {} : { field }) }, train: { epochs: 2 }, strategy, workers });
  const F = 5, side = 28, first = 2; // sources: the two bias cells, then each pixel as an E and an I source
  /** Per net, per first-layer cell: the pixels whose E or I weight is not 0. */
  const reads = (t: Trainer): number[][][] => t.weights().map((net) => {
    const l = net[0]!;
    const nOut = l.w.length / (first + 2 * side * side);
    return Array.from({ length: nOut }, (_, j) => Array.from({ length: side * side }, (_, p) => p)
      .filter((p) => l.w[(first + 2 * p) * nOut + j] !== 0 || l.w[(first + 2 * p + 1) * nOut + j] !== 0));
  });
  const masked = await createTrainer(o(F));
  await masked.build(mnist.train.features, mnist.train.outputs);
  const before = reads(masked);
  const windows = new Set<string>();
  for (const cells of before) {
    for (const px of cells) {
      assert.is(px.length, F * F, 'a window of F x F pixels, every weight in it drawn');
      const r0 = Math.floor(px[0]! / side), c0 = px[0]! % side;
      assert.equal(px, Array.from({ length: F * F }, (_, k) => (r0 + Math.floor(k / F)) * side + c0 + (k % F)), 'one square window');
      windows.add(`${r0},${c0}`);
    }
  }
  assert.ok(windows.size > 8, `cells read different windows (${windows.size} distinct)`);
  const w0 = masked.weights();
  await masked.fit(mnist.train);
  assert.equal(reads(masked), before, 'no weight outside a window left 0 while training (Kaneko\'s rule)');
  assert.not.equal(masked.weights()[0]![0]!.w, w0[0]![0]!.w, 'the windows trained');
  const file = join(dir, 'field-serial.edsim');
  await masked.save(file);
  await masked.close();
  // A field as wide as the image masks nothing: the plain model, byte for byte.
  const [plain, whole] = [await createTrainer(o(undefined)), await createTrainer(o(side))];
  for (const t of [plain, whole]) await t.fit(mnist.train);
  assert.equal(whole.weights(), plain.weights(), 'field 28 against no field');
  for (const t of [plain, whole]) await t.close();
  await expectSerialModel(o(F), mnist.train, [{ strategy: 'output', workers: 2 }, { strategy: 'cells', workers: 2 }, { strategy: 'samples', workers: 2 }]);
  const loaded = await loadTrainer(file);
  assert.is(loaded.model!.field, F, 'the file keeps the field');
  await loaded.close();
  await rejects(createTrainer({ preset: 'bench-wide', model: { field: 5 } }), /field needs the kaneko topology and rule/);
  await rejects(createTrainer({ preset: 'mnist10', model: { field: 2.5 } }), /field must be a whole number of pixels/);
  const wide = await createTrainer(o(29));
  await rejects(wide.fit(mnist.train), /field 29 is wider than the images \(28 x 28\)/);
  await wide.close();
  const gabor = await createTrainer({ ...o(5), model: { hidden: [8], field: 5, features: 'gabor' } });
  await rejects(gabor.fit(mnist.train), /field needs square images \(a square number of inputs\), but the model reads 1568/);
  await gabor.close();
}));

test.run();
