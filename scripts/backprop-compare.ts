/**
 * ED against backpropagation on 10-class MNIST (our split: 7996 train / 2004 test), accuracy and
 * time to accuracy per epoch (npm run compare:backprop; writes results/backprop-compare.csv), or
 * with --fashion on full Fashion-MNIST (npm run compare:backprop -- --fashion; writes
 * results/backprop-compare-fashion.csv), or with --shifted on 10-class MNIST with every training
 * image's four one-pixel shifts for both sides (the mnist10 preset of issue 21 against MLPs given
 * the same augmented data; results/backprop-compare-shifted.csv), or with --gabor the same with
 * the mnist10-gabor preset ("features + ED") against MLPs on the same Gabor features and on the
 * pixels (results/backprop-compare-gabor.csv; with --fashion too: fashion10-gabor on Fashion-MNIST,
 * results/backprop-compare-fashion-gabor.csv). Each CSV gets an SVG of test
 * accuracy against training seconds beside it.
 * Backprop: TensorFlow.js with its WebAssembly backend (one thread), Adam 1e-3, batch 128, softmax
 * cross-entropy; matrix products written with explicit transposes (the wasm backend's transposed
 * matMul is 10-20x slower, PERF_NOTES.md). ED: the mnist10 preset (Kaneko's independent output
 * networks, 2 threads) and the columns design of the same hidden size (one thread).
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadDataset, type Dataset } from '../src/data/data.js';
import { codingText } from '../src/data/coding.js';
import { GABOR, networkInputs, withFeatures } from '../src/data/features.js';
import { provenance, renderCurveSvg } from '../src/report/report.js';
import { Rng } from '../src/engine/rng.js';
import { getPreset, type PresetName } from '../src/options.js';
import { createTrainer, type TrainerOptions } from '../src/trainer.js';

interface Row {
  method: string;
  model: string;
  threads: number;
  epoch: number;
  seconds: number;
  test_accuracy: number;
}

const rows: Row[] = [];

function tensors(d: Dataset): { x: tf.Tensor2D; y: tf.Tensor2D; labels: Int32Array } {
  return { x: tf.tensor2d(Float32Array.from(d.x), [d.n, d.features]), y: tf.oneHot(tf.tensor1d(d.labels, 'int32'), 10).toFloat() as tf.Tensor2D, labels: d.labels };
}

// x W with gradients dy W^T and x^T dy, transposed explicitly (see the header).
const dense = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1]!)), tf.matMul(tf.transpose(saved[0]!), dy as tf.Tensor2D)],
  };
}) as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/** An MLP trained by backprop; `start` seconds (input features computed beforehand) are counted in its time. */
async function backprop(train: Dataset, test: Dataset, hidden: number[], epochs: number, start = 0, what = ''): Promise<void> {
  const tr = tensors(train);
  const te = tensors(test);
  const sizes = [train.features, ...hidden, 10];
  const rng = new Rng(1);
  const vars = sizes.slice(1).map((n, i) => {
    const lim = Math.sqrt(6 / (sizes[i]! + n)); // Glorot uniform
    return {
      w: tf.variable(tf.tensor2d(Float32Array.from({ length: sizes[i]! * n }, () => (2 * rng.next() - 1) * lim), [sizes[i]!, n])),
      b: tf.variable(tf.zeros([n])),
    };
  });
  const net = (x: tf.Tensor2D): tf.Tensor2D => vars.reduce((h, v, i) => {
    const z = dense(h, v.w as tf.Tensor2D).add(v.b) as tf.Tensor2D;
    return i < vars.length - 1 ? tf.relu(z) : z;
  }, x);
  const opt = tf.train.adam(1e-3);
  const order = Int32Array.from({ length: train.n }, (_, i) => i);
  const name = `MLP ${sizes.join('-')}${what}`;
  let elapsed = start;
  for (let e = 1; e <= epochs; e++) {
    rng.shuffle(order);
    const t0 = performance.now();
    for (let s = 0; s < train.n; s += 128) {
      const idx = tf.tensor1d(order.slice(s, s + 128), 'int32');
      const xb = tf.gather(tr.x, idx);
      const yb = tf.gather(tr.y, idx);
      opt.minimize(() => tf.losses.softmaxCrossEntropy(yb, net(xb)) as tf.Scalar);
      tf.dispose([idx, xb, yb]);
    }
    elapsed += (performance.now() - t0) / 1000;
    const pred = tf.tidy(() => net(te.x).argMax(1).dataSync());
    let ok = 0;
    for (let i = 0; i < test.n; i++) if (pred[i] === te.labels[i]) ok++;
    rows.push({ method: 'backprop (tfjs wasm, Adam)', model: name, threads: 1, epoch: e, seconds: elapsed, test_accuracy: ok / test.n });
    console.log(`${name} epoch ${e}: ${(100 * ok / test.n).toFixed(2)} % after ${elapsed.toFixed(1)} s`);
  }
}

/** A preset's independent-nets design in words, read from the preset itself (so the CSV names what ran). */
function describePreset(name: PresetName, extra = ''): string {
  const { model: m, train: t } = getPreset(name);
  const ens = m.ensemble ?? 1;
  const inputs = networkInputs(m, 784);
  const nets = ens > 1 ? `an ensemble of ${ens} independent nets per class (outputs averaged), ${inputs}-${m.hidden.join('-')}-1 each` : `10 independent nets, ${inputs}-${m.hidden.join('-')}-1 each`;
  const text = codingText(m);
  const coding = text ? `, each pixel v read as ${text}` : '';
  const calibrated = m.calibrate ? `, outputs calibrated on the first ${m.calibrate} training images` : '';
  return `ED ${name} preset: ${nets} (${m.rule} rule, init ${m.initScale}, alpha ${m.alphaHidden}${t.alphaDecay ? `, decay ${t.alphaDecay}` : ''}, batch ${t.batch}${coding}${calibrated})${extra}`;
}

/** ED by a preset; `start` seconds (input features computed beforehand) are counted in its time. */
async function ed(train: Dataset, test: Dataset, o: TrainerOptions, model: string, epochs: number, start = 0): Promise<void> {
  const t = await createTrainer(o);
  let elapsed = start;
  for (let e = 1; e <= epochs; e++) {
    // The whole fit: the epoch and, where the preset calibrates its outputs, the calibration pass.
    const t0 = performance.now();
    await t.fit(train, { epochs: 1 });
    elapsed += (performance.now() - t0) / 1000;
    const { accuracy } = await t.evaluate(test);
    rows.push({ method: `ED (${o.strategy ?? 'serial'})`, model, threads: t.workers, epoch: e, seconds: elapsed, test_accuracy: accuracy });
    console.log(`${model} x${t.workers} epoch ${e}: ${(100 * accuracy).toFixed(2)} % after ${elapsed.toFixed(1)} s`);
  }
  await t.close();
}

await tf.setBackend('wasm');
await tf.ready();
// --fashion: full Fashion-MNIST (60,000 / 10,000), the fashion10 preset against the same-size MLP.
const fashion = process.argv.includes('--fashion');
const shifted = process.argv.includes('--shifted');
// --gabor: "features + ED" (the mnist10-gabor preset) against MLPs on the same Gabor features and on the pixels.
const gabor = process.argv.includes('--gabor');
const out = gabor ? `results/backprop-compare${fashion ? '-fashion' : ''}-gabor.csv` : fashion ? 'results/backprop-compare-fashion.csv' : shifted ? 'results/backprop-compare-shifted.csv' : 'results/backprop-compare.csv';
if (gabor) {
  // "Features + ED": 10-class MNIST with the shifted copies (mnist10-gabor), or with --fashion
  // Fashion-MNIST (fashion10-gabor); both sides see the same training images. The features are
  // computed once here, and their time is counted in every curve that reads them; the preset's
  // trainer given them precomputed (features off) trains exactly as it does from pixels
  // (test/features.test.ts).
  const preset: PresetName = fashion ? 'fashion10-gabor' : 'mnist10-gabor';
  const data = fashion ? await loadDataset('fashion-mnist') : await loadDataset('mnist', { shifted: true });
  const t0 = performance.now();
  const train = withFeatures(data.train, GABOR);
  const test = withFeatures(data.test, GABOR);
  const featureSeconds = (performance.now() - t0) / 1000;
  console.log(`Gabor features of ${data.train.n + data.test.n} images: ${featureSeconds.toFixed(1)} s`);
  await ed(train, test, { preset, model: { features: undefined }, strategy: 'output', workers: 2 }, describePreset(preset, fashion ? '' : ', on the shifted training set'), getPreset(preset).train.epochs, featureSeconds);
  await backprop(train, test, [256], fashion ? 20 : 10, featureSeconds, ' on the Gabor features');
  await backprop(data.train, data.test, [256], fashion ? 20 : 10, 0, ' on the pixels');
} else if (shifted) {
  // Both sides see the same 39,980 training images (7,996 and their shifts); the test split as ever.
  const data = await loadDataset('mnist', { shifted: true });
  await ed(data.train, data.test, { preset: 'mnist10', strategy: 'output', workers: 2 }, describePreset('mnist10', ', on the shifted training set'), getPreset('mnist10').train.epochs);
  await backprop(data.train, data.test, [256], 10);
  await backprop(data.train, data.test, [1024], 10);
} else if (fashion) {
  const data = await loadDataset('fashion-mnist');
  await ed(data.train, data.test, { preset: 'fashion10', strategy: 'output', workers: 2 }, describePreset('fashion10'), getPreset('fashion10').train.epochs);
  await backprop(data.train, data.test, [256], 20);
} else {
  const data = await loadDataset('mnist');
  // The mnist10 preset (Kaneko's independent nets), and the columns design at the same size.
  // Without the preset's shifted copies (loadDataset adds them only when asked).
  await ed(data.train, data.test, { preset: 'mnist10', strategy: 'output', workers: 2 }, describePreset('mnist10', ', without shifted copies'), 14);
  const colName = 'ED columns: one net, 10 columns of 128 hidden cells (1280), readout of all columns (own column kaneko rule, cross delta rule 0.003)';
  await ed(data.train, data.test, { preset: 'mnist10', model: { topology: 'columns' }, strategy: 'serial' }, colName, 14);
  await backprop(data.train, data.test, [256], 20);
  await backprop(data.train, data.test, [1024], 20);
}
const prov = provenance();
writeFileSync(out, stringify(rows.map((r) => ({ ...r, ...prov, timestamp: new Date().toISOString() })), { header: true }));
const svg = await renderCurveSvg(rows.map((r) => ({ series: `${r.model} (${r.threads} thread${r.threads > 1 ? 's' : ''})`, seconds: r.seconds, accuracy: r.test_accuracy })),
  `test accuracy against training seconds (${gabor ? (fashion ? 'Fashion-MNIST, Gabor features' : '10-class MNIST, shifted training copies, Gabor features') : fashion ? 'Fashion-MNIST' : shifted ? '10-class MNIST, shifted training copies' : '10-class MNIST'})`);
writeFileSync(out.replace(/\.csv$/, '.svg'), svg);
console.log(`wrote ${out} and ${out.replace(/\.csv$/, '.svg')}`);
