/** Fixed input features (the Gabor bank): the features themselves, and models that read through them. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadDataset, sliceDataset } from '../src/data/data.js';
import { featureCount, GABOR, gaborFeatures, gaborKernels, type GaborSpec, withFeatures } from '../src/data/features.js';
import { serializeModel } from '../src/model-io.js';
import { measureCosts } from '../src/parallel/scaling-model.js';
import { createTrainer, loadTrainer, type TrainerOptions } from '../src/trainer.js';
import { expectClose, expectSerialModel, rejects, runCli, tempDir, withTimeout } from './helpers.js';

const dir = tempDir();
const mnist = await loadDataset('mnist', { classes: [0, 1, 2], limit: 300 });
const small = sliceDataset(mnist.train, 0, 120);

/** The bank by its definition, pixel by pixel: a correlation with the flipped kernel, energies, block maxima. */
function directFeatures(x: Float64Array, side: number, spec: GaborSpec): number[] {
  const { even, odd } = gaborKernels(spec);
  const r = spec.radius;
  const w = 2 * r + 1;
  const cells = Math.ceil(side / spec.pool);
  const out: number[] = new Array<number>(spec.orientations * cells * cells).fill(0);
  for (let k = 0; k < spec.orientations; k++) {
    for (let y = 0; y < side; y++) {
      for (let xq = 0; xq < side; xq++) {
        let re = 0, im = 0;
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            const py = y - dy, px = xq - dx;
            if (py < 0 || py >= side || px < 0 || px >= side) continue;
            re += x[py * side + px]! * even[k]![(dy + r) * w + dx + r]!;
            im += x[py * side + px]! * odd[k]![(dy + r) * w + dx + r]!;
          }
        }
        const e = Math.min(1, Math.hypot(re, im) / spec.scale);
        const at = k * cells * cells + Math.floor(y / spec.pool) * cells + Math.floor(xq / spec.pool);
        out[at] = Math.max(out[at]!, e);
      }
    }
  }
  if (spec.raw) out.push(...x);
  return out;
}

test('the Gabor bank: zero-mean even kernels, odd kernels that flip sign through the centre, the sizes it promises', () => {
  const { even, odd } = gaborKernels(GABOR);
  assert.is(even.length, GABOR.orientations);
  for (let k = 0; k < GABOR.orientations; k++) {
    assert.ok(Math.abs(even[k]!.reduce((a, b) => a + b, 0)) < 1e-12, `even kernel ${k} has zero mean`);
    const o = odd[k]!;
    for (let i = 0; i < o.length; i++) assert.ok(Math.abs(o[i]! + o[o.length - 1 - i]!) < 1e-12, `odd kernel ${k} at ${i}`);
  }
  assert.is(featureCount(GABOR, 784), 8 * 14 * 14);
  assert.is(featureCount({ ...GABOR, pool: 3, raw: true }, 784), 8 * 10 * 10 + 784);
  assert.throws(() => featureCount(GABOR, 783), /Gabor features need square images \(at least 4x4\); the data has 783 features a sample/);
});

test('Gabor features (computed sparsely, zero pixels skipped) equal the bank\'s definition computed directly', () => {
  for (const spec of [GABOR, { ...GABOR, orientations: 3, pool: 3, raw: true, scale: 2 }]) {
    const f = gaborFeatures(small.x, 3, 784, spec);
    for (let s = 0; s < 3; s++) {
      const want = directFeatures(Float64Array.from(small.x.subarray(s * 784, (s + 1) * 784)), 28, spec);
      expectClose(f.subarray(s * want.length, (s + 1) * want.length), Float64Array.from(want), 1e-12, `sample ${s}`);
    }
    assert.ok(f.some((v) => v > 0.05) && f.every((v) => v >= 0 && v <= 1), 'features lie in [0, 1] and are not all zero');
  }
});

test('a model with the bank reads pixels and computes what a plain model computes on precomputed features, byte for byte', withTimeout(60000, async () => {
  const o: TrainerOptions = { preset: 'mnist10', model: { hidden: [8] }, train: { epochs: 2 } };
  const viaBank = await createTrainer({ ...o, model: { ...o.model, features: 'gabor' } });
  await viaBank.fit(small);
  const plain = await createTrainer(o);
  const pre = withFeatures(small, GABOR);
  await plain.fit(pre);
  assert.is(viaBank.model!.inputs, 1568);
  assert.is(viaBank.model!.features, 'gabor');
  const a = serializeModel(viaBank.modelFile());
  const b = serializeModel({ ...plain.modelFile(), config: viaBank.model! });
  assert.equal({ ...plain.model!, features: 'gabor' }, viaBank.model, 'the configs differ only in the bank');
  assert.ok(a === b, 'the weights differ from a plain model trained on the features');
  expectClose(viaBank.predict(mnist.test), plain.predict(withFeatures(mnist.test, GABOR)), 0, 'predictions');
  const e = await viaBank.evaluate(mnist.test);
  assert.is(e.samples, mnist.test.n);
  assert.equal(e, await plain.evaluate(withFeatures(mnist.test, GABOR)));
  // Saved and loaded, the model still reads pixels (edsim JSON and safetensors).
  for (const name of ['g.edsim', 'g.safetensors']) {
    const file = join(dir, name);
    await viaBank.save(file);
    const l = await loadTrainer(file);
    assert.is(l.model!.features, 'gabor');
    expectClose(l.predict(mnist.test), viaBank.predict(mnist.test), 0, `${name} predictions`);
    await l.close();
  }
  await viaBank.close();
  await plain.close();
}));

test('the bank in parallel: output x2 and cells x2 write the serial model byte for byte', withTimeout(60000, async () => {
  const o: TrainerOptions = { preset: 'mnist10', model: { hidden: [8], features: 'gabor' }, train: { epochs: 2 } };
  await expectSerialModel(o, small, [{ strategy: 'output', workers: 2 }, { strategy: 'cells', workers: 2 }]);
}));

test('through the bank, two fits on output x2 train as one fit does (the shared training data is known again)', withTimeout(60000, async () => {
  const o: TrainerOptions = { preset: 'mnist10', model: { hidden: [8], features: 'gabor' }, train: { epochs: 2 } };
  const once = await createTrainer(o);
  await once.fit(small);
  const twice = await createTrainer({ ...o, strategy: 'output', workers: 2 });
  await twice.fit(small, { epochs: 1 });
  await twice.fit(small, { epochs: 1 });
  assert.ok(serializeModel(twice.modelFile()) === serializeModel(once.modelFile()), 'two fits of one epoch differ from one fit of two');
  await once.close();
  await twice.close();
}));

test('the scaling model measures the network a bank feeds (1568 inputs, not the 784 pixels)', withTimeout(60000, async () => {
  const costs = await measureCosts({ preset: 'mnist10', model: { hidden: [8], features: 'gabor' } }, small);
  assert.is(costs.shapes[0]!.nIn, 2 * 1568 + 2, 'every feature twice (E and I) and the two bias cells');
}));

test('training on keeps a file\'s bank (a preset\'s does not apply to a file without one) and refuses to change it', withTimeout(60000, async () => {
  const plainFile = join(dir, 'plain.edsim');
  const t = await createTrainer({ preset: 'mnist10', model: { hidden: [4] }, train: { epochs: 1 } });
  await t.fit(small);
  await t.save(plainFile);
  await t.close();
  const on = await createTrainer({ preset: 'mnist10', init: plainFile, model: {} });
  assert.is(on.modelDefaults.features, undefined);
  await rejects(createTrainer({ preset: 'mnist10', init: plainFile, model: { features: 'gabor' } }), /the model to train on has features "none"; it cannot change \(asked for "gabor"\)/);
  await rejects(createTrainer({ model: { features: 'sobel' as 'gabor' } }), /unknown feature bank 'sobel' \(expected one of: gabor\)/);
  const g = await createTrainer({ preset: 'mnist10', model: { hidden: [4], features: 'gabor' }, train: { epochs: 1 } });
  await rejects(g.fit(sliceDataset((await loadDataset('parity:4')).train, 0, 16)), /Gabor features need square images \(at least 4x4\); the data has 4 features a sample/);
  await g.close();
}));

test('CLI: --features gabor trains and evaluates from pixels; an unknown bank is one line', withTimeout(120000, async () => {
  const model = join(dir, 'cli.edsim');
  let r = runCli(['train', '--data', 'mnist', '--classes', '0-2', '--limit', '200', '--preset', 'mnist10', '--features', 'gabor', '--hidden', '8', '--epochs', '1', '--no-shifted', '--save', model]);
  assert.is(r.code, 0, r.stderr);
  r = runCli(['eval', '--model', model, '--data', 'mnist', '--classes', '0-2']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /accuracy/i);
  r = runCli(['train', '--data', 'mnist', '--features', 'sobel']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /features/);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
}));

test.run();
