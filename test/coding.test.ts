/** The input coding (scale * sign(v) * |v|^power, value by value): the coding itself, and models that read through it. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { codeInputs, inputMeans, onOffInputs } from '../src/data/coding.js';
import { type Dataset, loadDataset, sliceDataset } from '../src/data/data.js';
import { GABOR, withFeatures } from '../src/data/features.js';
import { modelFromSafetensors, modelToSafetensors, parseModel, serializeModel } from '../src/model-io.js';
import { createTrainer, loadTrainer, type TrainerOptions } from '../src/trainer.js';
import { expectClose, expectSerialModel, rejects, runCli, tempDir, trainedModelFile, withTimeout } from './helpers.js';

const dir = tempDir();
const mnist = await loadDataset('mnist', { classes: [0, 1, 2], limit: 300 });
const small = sliceDataset(mnist.train, 0, 120);
const SQRT = { inputPower: 0.5, inputScale: 0.5 };
const coded = (d: Dataset, power = 0.5, scale = 0.5): Dataset => ({ ...d, x: codeInputs(d.x, { power, scale }) });

test('the coding: scale * sign(v) * |v|^power, value by value; power 1 and scale 1 leave values as they are', () => {
  expectClose(codeInputs([0, 0.25, 1, -4], { power: 0.5, scale: 0.5 }), [0, 0.25, 0.5, -1], 1e-15, 'sqrt, halved');
  expectClose(codeInputs([0.5, -2], { power: 2, scale: 3 }), [0.75, -12], 1e-15, 'square, tripled');
  expectClose(codeInputs([0.3, -0.7], {}), [0.3, -0.7], 0, 'absent fields');
});

test('a model with a coding reads pixels and computes what a plain model computes on coded pixels, byte for byte', withTimeout(60000, async () => {
  const o: TrainerOptions = { preset: 'mnist10', model: { hidden: [8] }, train: { epochs: 2 } };
  const viaCoding = await createTrainer({ ...o, model: { ...o.model, ...SQRT } });
  await viaCoding.fit(small);
  const plain = await createTrainer(o);
  await plain.fit(coded(small));
  assert.equal({ ...plain.model!, ...SQRT }, viaCoding.model, 'the configs differ only in the coding');
  assert.ok(serializeModel(viaCoding.modelFile()) === serializeModel({ ...plain.modelFile(), config: viaCoding.model! }), 'the weights differ from a plain model trained on coded pixels');
  expectClose(viaCoding.predict(mnist.test), plain.predict(coded(mnist.test)), 0, 'predictions');
  assert.equal(await viaCoding.evaluate(mnist.test), await plain.evaluate(coded(mnist.test)));
  for (const name of ['c.edsim', 'c.safetensors']) {
    const file = join(dir, name);
    await viaCoding.save(file);
    const l = await loadTrainer(file);
    assert.is(l.model!.inputPower, 0.5);
    expectClose(l.predict(mnist.test), viaCoding.predict(mnist.test), 0, `${name} predictions`);
    await l.close();
  }
  await viaCoding.close();
  await plain.close();
}));

test('a coding after a feature bank codes the features', withTimeout(60000, async () => {
  const o: TrainerOptions = { preset: 'mnist10', model: { hidden: [8] }, train: { epochs: 1 } };
  const both = await createTrainer({ ...o, model: { ...o.model, features: 'gabor', inputPower: 2, inputScale: 1 } });
  await both.fit(small);
  const plain = await createTrainer(o);
  await plain.fit(coded(withFeatures(small, GABOR), 2, 1));
  expectClose(both.predict(mnist.test), plain.predict(coded(withFeatures(mnist.test, GABOR), 2, 1)), 0, 'predictions');
  await both.close();
  await plain.close();
}));

test('a coding in parallel: output x2 and cells x2 write the serial model byte for byte', withTimeout(60000, async () => {
  const o: TrainerOptions = { preset: 'mnist10', model: { hidden: [8], ...SQRT }, train: { epochs: 2 } };
  await expectSerialModel(o, small, [{ strategy: 'output', workers: 2 }, { strategy: 'cells', workers: 2 }]);
}));

test('training on keeps a file\'s coding and refuses to change it; bad powers and scales are one line', withTimeout(60000, async () => {
  const file = join(dir, 'sqrt.edsim');
  await trainedModelFile({ preset: 'mnist10', model: { hidden: [4], ...SQRT }, train: { epochs: 1 } }, small, dir, 'sqrt');
  const on = await createTrainer({ preset: 'mnist10', init: file, model: {} });
  assert.is(on.modelDefaults.inputPower, 0.5);
  // Keys passed as undefined ask for nothing: they do not unset the file's coding.
  const onUndefined = await createTrainer({ preset: 'mnist10', init: file, model: { inputPower: undefined, inputScale: undefined } });
  assert.equal([onUndefined.modelDefaults.inputPower, onUndefined.modelDefaults.inputScale], [0.5, 0.5]);
  // A preset's coding does not apply to a file without one (fashion10 codes; this file does not).
  const plainFile = join(dir, 'plain.edsim');
  await trainedModelFile({ preset: 'mnist10', model: { hidden: [4] }, train: { epochs: 1 } }, small, dir, 'plain');
  const onPlain = await createTrainer({ preset: 'fashion10', init: plainFile, model: {} });
  assert.is(onPlain.modelDefaults.inputPower, undefined);
  assert.is(onPlain.modelDefaults.inputScale, undefined);
  await rejects(createTrainer({ preset: 'mnist10', init: file, model: { inputScale: 1 } }), /the model to train on has inputScale 0.5; it cannot change \(asked for 1\)/);
  await rejects(createTrainer({ model: { inputPower: 0 } }), /input power must be a number above 0 and at most 8, got 0/);
  await rejects(createTrainer({ model: { inputScale: -1 } }), /input scale must be a positive number, got -1/);
}));

test('a model that reads features or a coding is written as format version 2 (edsim before it refuses it in one line), any other as 1', withTimeout(60000, async () => {
  const versions: number[] = [];
  for (const extra of [{}, SQRT, { features: 'gabor' as const }]) {
    const t = await createTrainer({ preset: 'mnist10', model: { hidden: [4], ...extra }, train: { epochs: 1 } });
    await t.fit(small);
    const text = serializeModel(t.modelFile());
    versions.push(JSON.parse(text).version as number);
    assert.equal(parseModel(text, 'x').config, t.model, 'reads back');
    const st = modelToSafetensors(t.modelFile());
    assert.equal(modelFromSafetensors(st, 'x').config, t.model, 'safetensors read back');
    if (extra === SQRT) {
      assert.throws(() => parseModel(text.replace('"version":2', '"version":5'), 'm.edsim'), /model file m\.edsim has format version 5; this edsim reads versions 1 to 4/);
      assert.throws(() => modelFromSafetensors(modelToSafetensors(t.modelFile(), [], { 'edsim.version': '5' }), 'm.safetensors'), /m\.safetensors has edsim.version 5; this edsim reads versions 1 to 4/);
    }
    await t.close();
  }
  assert.equal(versions, [1, 2, 2]);
}));

test('CLI: --input-power and --input-scale train and evaluate from pixels, the log says the coding; a bad value is one line', withTimeout(120000, async () => {
  const model = join(dir, 'cli.edsim');
  let r = runCli(['train', '--data', 'mnist', '--classes', '0-2', '--limit', '200', '--preset', 'mnist10', '--input-power', '0.5', '--input-scale', '0.5', '--hidden', '8', '--epochs', '1', '--no-shifted', '--save', model]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /coded as 0\.5 \* v\^0\.5/);
  r = runCli(['eval', '--model', model, '--data', 'mnist', '--classes', '0-2']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /accuracy/i);
  r = runCli(['train', '--data', 'xor', '--input-power', '-1']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /input power must be a number above 0 and at most 8, got -1/);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
}));

const ONOFF = { inputPower: 0.5, inputOnOff: true };
/** `d` ON/OFF-coded as a plain model would read it: sqrt(v), split about the means of `fit`'s sqrt(v). */
const onOff = (d: Dataset, fit: Dataset): Dataset => {
  const x = codeInputs(d.x, { power: 0.5 });
  return { ...d, features: 2 * d.features, x: onOffInputs(x, d.features, inputMeans(codeInputs(fit.x, { power: 0.5 }), fit.features)) };
};

test('the ON/OFF coding: per value, how far above its mean and how far below, each clipped at 0', () => {
  const mean = inputMeans([0, 1, 4, 3, 0.5, 2], 3);
  expectClose(mean, [1.5, 0.75, 3], 0, 'means of two rows');
  expectClose(onOffInputs([0, 1, 4, 3, 0.5, 2], 3, mean), [0, 0.25, 1, 1.5, 0, 0, 1.5, 0, 0, 0, 0.25, 1], 0, 'ON values then OFF values, row by row');
  assert.throws(() => onOffInputs([1, 2], 2, new Float64Array(3)), /the ON\/OFF coding has 3 means, but the data has 2 values a row/);
});

test('an ON/OFF model reads pixels, measures its means on its training data and computes what a plain model computes on coded pixels, byte for byte; files keep the means', withTimeout(60000, async () => {
  const o: TrainerOptions = { preset: 'mnist10', model: { hidden: [8] }, train: { epochs: 2 } };
  const viaCoding = await createTrainer({ ...o, model: { ...o.model, ...ONOFF } });
  await viaCoding.fit(small);
  const plain = await createTrainer(o);
  await plain.fit(onOff(small, small));
  assert.is(viaCoding.model!.inputs, 2 * small.features);
  expectClose(viaCoding.inputMean!, inputMeans(codeInputs(small.x, { power: 0.5 }), small.features), 0, 'the means are the training data\'s');
  assert.ok(serializeModel({ ...viaCoding.modelFile(), inputMean: undefined }) === serializeModel({ ...plain.modelFile(), config: viaCoding.model! }).replace('"version":1', '"version":4'), 'the weights differ from a plain model trained on coded pixels');
  // The test images are coded about the training means, not their own.
  expectClose(viaCoding.predict(mnist.test), plain.predict(onOff(mnist.test, small)), 0, 'predictions');
  assert.equal(await viaCoding.evaluate(mnist.test), await plain.evaluate(onOff(mnist.test, small)));
  for (const name of ['o.edsim', 'o.safetensors']) {
    const file = join(dir, name);
    await viaCoding.save(file);
    const l = await loadTrainer(file);
    assert.is(l.model!.inputOnOff, true);
    expectClose(l.inputMean!, viaCoding.inputMean!, 0, `${name} means`);
    expectClose(l.predict(mnist.test), viaCoding.predict(mnist.test), 0, `${name} predictions`);
    await l.close();
  }
  const text = serializeModel(viaCoding.modelFile());
  assert.is(JSON.parse(text).version, 4, 'written as format version 4');
  assert.throws(() => parseModel(text.replace(/,"inputMean":"[^"]*"/, ''), 'm.edsim'), /model file m\.edsim: the config asks for the ON\/OFF coding but the file has no input means/);
  // Training on from the file keeps its means, whatever data comes next.
  const on = await createTrainer({ preset: 'mnist10', init: join(dir, 'o.edsim'), model: {} });
  await on.fit(mnist.test, { epochs: 1 });
  expectClose(on.inputMean!, viaCoding.inputMean!, 0, 'the file\'s means after training on other data');
  await on.close();
  await rejects(createTrainer({ preset: 'mnist10', init: join(dir, 'o.edsim'), model: { inputOnOff: false } }), /the model to train on has inputOnOff true; it cannot change \(asked for false\)/);
  await rejects(createTrainer({ preset: 'mnist10', model: { field: 8, inputOnOff: true } }), /field and the ON\/OFF coding do not combine/);
  await viaCoding.close();
  await plain.close();
}));

test('the ON/OFF coding in parallel: output, cells and samples x2 write the serial model byte for byte', withTimeout(60000, async () => {
  const o: TrainerOptions = { preset: 'mnist10', model: { hidden: [8], ...ONOFF }, train: { epochs: 2, batch: 32 } };
  await expectSerialModel(o, small, [{ strategy: 'output', workers: 2 }, { strategy: 'cells', workers: 2 }, { strategy: 'samples', workers: 2 }]);
}));

test('CLI: --input-onoff trains and evaluates from pixels, the log says the coding', withTimeout(120000, async () => {
  const model = join(dir, 'cli-onoff.edsim');
  let r = runCli(['train', '--data', 'mnist', '--classes', '0-2', '--limit', '200', '--preset', 'mnist10', '--input-power', '0.5', '--input-onoff', '--hidden', '8', '--epochs', '1', '--no-shifted', '--save', model]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /read as 1568 inputs, coded as ON\/OFF of 1 \* v\^0\.5 against its training mean/);
  r = runCli(['eval', '--model', model, '--data', 'mnist', '--classes', '0-2']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /accuracy/i);
}));

test.run();
