/** Output calibration (ModelConfig.calibrate): what it measures, how answers use it, files, parallel runs, the CLI. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { type Dataset, loadDataset, sliceDataset } from '../src/data/data.js';
import { modelFromSafetensors, modelToSafetensors, parseModel, serializeModel } from '../src/model-io.js';
import { createTrainer, loadTrainer, type TrainerOptions } from '../src/trainer.js';
import { expectClose, expectSerialModel, lastJson, rejects, runCli, tempDir, withTimeout } from './helpers.js';

const dir = tempDir();
const mnist = await loadDataset('mnist', { classes: [0, 1, 2], limit: 300 });
const small = sliceDataset(mnist.train, 0, 120);
const O: TrainerOptions = { preset: 'mnist10', model: { hidden: [8], calibrate: 50 }, train: { epochs: 2 } };

/** Per column of `o` (k wide), over its first n rows: mean and population standard deviation. */
function stats(o: Float64Array, k: number, n: number): { mean: number[]; sd: number[] } {
  const mean = Array.from({ length: k }, (_, c) => { let m = 0; for (let s = 0; s < n; s++) m += o[s * k + c]!; return m / n; });
  const sd = mean.map((m, c) => { let v = 0; for (let s = 0; s < n; s++) v += (o[s * k + c]! - m) ** 2; return Math.sqrt(v / n); });
  return { mean, sd };
}

/** The share of rows whose largest value is the label. */
function argmaxAccuracy(z: Float64Array, d: Dataset): number {
  let right = 0;
  for (let s = 0; s < d.n; s++) {
    let best = 0;
    for (let c = 1; c < d.outputs; c++) if (z[s * d.outputs + c]! > z[s * d.outputs + best]!) best = c;
    if (best === d.labels[s]) right++;
  }
  return right / d.n;
}

test('fit measures each output\'s mean and spread over the first N training samples; answers compare the standardised outputs', withTimeout(60000, async () => {
  const t = await createTrainer(O);
  await t.fit(small);
  const cal = t.calibration!;
  assert.ok(cal, 'a model with calibrate has a calibration after fit');
  const want = stats(t.predict(sliceDataset(small, 0, 50)), 3, 50);
  expectClose(cal.mean, want.mean, 1e-15, 'means');
  expectClose(cal.sd, want.sd, 1e-15, 'deviations');
  const raw = t.predict(mnist.test);
  const z = t.scores(mnist.test);
  expectClose(z, Array.from(raw, (v, i) => (v - want.mean[i % 3]!) / want.sd[i % 3]!), 1e-12, 'scores');
  const e = await t.evaluate(mnist.test);
  assert.is(e.accuracy, argmaxAccuracy(z, mnist.test), 'evaluate answers by the scores');
  // errSum and wrong stay Kaneko's counts of the raw outputs: a trainer without calibration gives the same.
  const plain = await createTrainer({ ...O, model: { hidden: [8] } });
  await plain.fit(small);
  expectClose(plain.predict(mnist.test), raw, 0, 'the calibration changes no weight');
  const p = await plain.evaluate(mnist.test);
  assert.equal([p.errSum, p.wrong, p.samples], [e.errSum, e.wrong, e.samples]);
  assert.is(p.accuracy, argmaxAccuracy(raw, mnist.test));
  expectClose(plain.scores(mnist.test), raw, 0, 'no calibration: scores are the outputs');
  // A model trained without it can be calibrated afterwards, to any count.
  expectClose(plain.calibrate(small, 50).mean, cal.mean, 0, 'calibrate() after the fact');
  assert.is((await plain.evaluate(mnist.test)).accuracy, e.accuracy);
  assert.throws(() => plain.calibrate(small, 0), /calibrate needs a whole number of samples >= 1, got 0/);
  // A calibration that blows one output up answers that class nearly always: evaluate follows it.
  plain.calibration = { mean: new Float64Array(3), sd: Float64Array.of(1, 1, 1e-6) };
  const skewed = await plain.evaluate(mnist.test);
  assert.ok(skewed.accuracy < 0.5 && skewed.accuracy !== p.accuracy, `skewed calibration: accuracy ${skewed.accuracy}`);
  assert.is(skewed.accuracy, argmaxAccuracy(plain.scores(mnist.test), mnist.test));
  await t.close();
  await plain.close();
}));

test('two fits calibrate as one longer fit; output x2 and cells x2 write the serial model, calibration included, byte for byte', withTimeout(60000, async () => {
  const one = await createTrainer(O);
  await one.fit(small, { epochs: 3 });
  const two = await createTrainer(O);
  await two.fit(small, { epochs: 1 });
  const after1 = Float64Array.from(two.calibration!.mean);
  await two.fit(small, { epochs: 2 });
  assert.ok(serializeModel(one.modelFile()) === serializeModel(two.modelFile()), 'fit(1) + fit(2) differs from fit(3)');
  assert.not.equal(Array.from(after1), Array.from(two.calibration!.mean), 'the second fit measured anew');
  await one.close();
  await two.close();
  await expectSerialModel(O, small, [{ strategy: 'output', workers: 2 }, { strategy: 'cells', workers: 2 }]);
}));

test('every strategy answers by the calibration in its own evaluation pass, as scores() does (layer x2 on its evaluation pool too)', withTimeout(90000, async () => {
  // Offsets that move answers: the calibrated accuracy differs from the raw one, so a pass that ignores it fails.
  const cal = { mean: Float64Array.of(0, 0.08, -0.05), sd: Float64Array.of(1, 0.7, 1.4) };
  const big = sliceDataset(mnist.train, 0, 300);
  for (const p of [{}, { strategy: 'output', workers: 2 }, { strategy: 'cells', workers: 2 }, { strategy: 'layer', workers: 2 }, { strategy: 'pipeline', workers: 2 }, { strategy: 'samples', workers: 2 }] as Partial<TrainerOptions>[]) {
    const t = await createTrainer({ ...O, ...p, model: { hidden: [8] }, train: { epochs: 1, batch: 16 } });
    try {
      await t.fit(small);
      const raw = await t.evaluate(big);
      t.calibration = cal;
      const e = await t.evaluate(big);
      const want = argmaxAccuracy(t.scores(big), big);
      assert.is(e.accuracy, want, `${p.strategy ?? 'serial'}: evaluate answers as scores`);
      assert.is.not(e.accuracy, raw.accuracy, `${p.strategy ?? 'serial'}: this calibration moves answers`);
      assert.equal([e.errSum, e.wrong, e.samples], [raw.errSum, raw.wrong, raw.samples], 'errSum and wrong stay the raw outputs\'');
      // The training data itself (output evaluates it in its workers' own pass).
      assert.is((await t.evaluate(small)).accuracy, argmaxAccuracy(t.scores(small), small), `${p.strategy ?? 'serial'} on the training data`);
    } finally {
      await t.close();
    }
  }
}));

test('files: version 3 with the calibration (JSON and safetensors), read back exactly; a corrupt calibration is one line', withTimeout(60000, async () => {
  const t = await createTrainer(O);
  await t.fit(small);
  const want = await t.evaluate(mnist.test);
  for (const name of ['c.edsim', 'c.safetensors']) {
    const file = join(dir, name);
    await t.save(file);
    const l = await loadTrainer(file);
    expectClose(l.calibration!.mean, t.calibration!.mean, 0, `${name} means`);
    expectClose(l.calibration!.sd, t.calibration!.sd, 0, `${name} deviations`);
    assert.equal(await l.evaluate(mnist.test), want, `${name} answers as the trainer did`);
    await l.close();
  }
  const text = serializeModel(t.modelFile());
  assert.is(JSON.parse(text).version, 3);
  assert.is(JSON.parse(readFileSync(join(dir, 'c.edsim'), 'utf8')).version, 3);
  assert.is(modelFromSafetensors(modelToSafetensors(t.modelFile()), 'x').calibration!.sd.length, 3);
  const bad = JSON.parse(text);
  bad.calibration.sd = Buffer.from(new Float64Array([1, 0, 1]).buffer).toString('base64');
  assert.throws(() => parseModel(JSON.stringify(bad), 'm.edsim'), /^.*model file m\.edsim: the calibration holds NaN, infinite or non-positive deviations$/);
  bad.calibration.sd = Buffer.from(new Float64Array([1, 1]).buffer).toString('base64');
  assert.throws(() => parseModel(JSON.stringify(bad), 'm.edsim'), /calibration deviations has 2 values, expected 3/);
  const uncalibrated = { ...t.modelFile(), calibration: undefined };
  assert.is(JSON.parse(serializeModel(uncalibrated)).version, 1, 'without a calibration: version 1 as before');
  // Checkpoints carry no calibration: fit measures it at its end.
  const ck = join(dir, 'c.ckpt');
  const c = await createTrainer(O);
  await c.fit(small, { checkpoint: ck });
  const resumed = await createTrainer(O);
  await resumed.fit(small, { resume: ck });
  assert.ok(serializeModel(resumed.modelFile()) === serializeModel(c.modelFile()), 'a resumed run writes the same model');
  await t.close();
  await c.close();
  await resumed.close();
}));

test('bad calibrate settings are one line: one output, a fraction; the CLI trains and evaluates with --calibrate', withTimeout(120000, async () => {
  const binary = await loadDataset('mnist', { classes: [0, 1], limit: 100 });
  const t = await createTrainer({ ...O });
  await rejects(t.fit(binary.train), /calibrate needs two or more outputs/);
  await t.close();
  await rejects(createTrainer({ model: { calibrate: 0.5 } }), /calibrate must be a whole number of samples from 0 to 10000000, got 0.5/);
  const model = join(dir, 'cli.edsim');
  let r = runCli(['train', '--data', 'mnist', '--classes', '0-2', '--limit', '200', '--preset', 'mnist10', '--hidden', '8', '--epochs', '1', '--no-shifted', '--calibrate', '100', '--save', model, '--json']);
  assert.is(r.code, 0, r.stderr);
  const trained = lastJson(r.stdout);
  assert.is(trained.calibrated, 100, 'the result says how many samples calibrated it');
  r = runCli(['eval', '--model', model, '--data', 'mnist', '--classes', '0-2', '--limit', '200', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(lastJson(r.stdout).testAccuracy, trained.testAccuracy, 'eval answers as train did');
  assert.ok(loadModelVersion(model) === 3);
  r = runCli(['train', '--data', 'xor', '--calibrate', '-1']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--calibrate must be an integer from 0 to 10000000, got '-1'/);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
}));

function loadModelVersion(path: string): number {
  return JSON.parse(readFileSync(path, 'utf8')).version as number;
}

test.run();
