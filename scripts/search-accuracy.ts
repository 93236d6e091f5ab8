/**
 * The accuracy search of issue 21, on a validation split only: the last HOLDOUT (default 10 %) of
 * the training split is held out (MNIST's training samples interleave the classes, so it holds
 * every class); shifted copies (augmentation) are made of the rest only. Each configuration trains
 * SEEDS networks, and after every epoch records each network's validation accuracy and that of the
 * ensemble (outputs averaged over the seeds, then argmax). The test split is never read here.
 *
 *   node dist/scripts/search-accuracy.js mnist   # or fashion-mnist; CONFIGS='name,...' picks some
 * (the f-* configurations are Fashion-MNIST's; SEEDS=1 makes each a third as long; FIRST_SEED=k
 * starts the seeds at k). EXTRA='[{"name":
 * "x","preset":"fashion10","model":{...},"train":{...},"epochs":8}]' adds configurations; LIMIT=N
 * trains on the first N images of the fit split only (quick screens; the validation split stays whole);
 * SPLIT=per-class holds out the last HOLDOUT of every class instead (see split()).
 * The g* configurations read Gabor features of the images (src/data/features.ts); an EXTRA one's
 * "features" field (a spec's fields over the named bank's) does the same.
 * Two readings that train nothing more are recorded beside each seed's own: `snapshots`, the
 * outputs of that seed's last SNAPSHOTS (default 3) epochs averaged (a snapshot ensemble; its
 * `ensemble` sums every seed's, absent from the first rows that recorded snapshots), and, with
 * AVERAGE=K, `averaged`, the network read with its weights averaged over its last K epochs' ends
 * (summed in float64; training goes on from its own weights). Both stay ED: no gradient anywhere,
 * and every averaged weight keeps the sign its cells fix.
 * MIRROR_READ=1 also reads every configuration on the validation images mirrored left to right, each
 * network's outputs for an image and its mirror summed (`mirrorRead`); `mirrored` configurations train on
 * each fit image and its mirror.
 * SPECIALIST='0,2,4,6' also trains, per seed, a second set of networks (the same configuration) on
 * the fit images of those classes only, and reads `specialist`: where a seed's networks answer one
 * of those classes, the specialists' answer among them replaces it (a fixed routing rule; every
 * network learns by ED alone).
 * CALIBRATE=N reads each seed's networks once more with every class's output standardised by its
 * mean and spread over the first N fit images (`calibrated`: (o - mean) / sd per class; labels
 * unused, nothing trained): a network whose outputs all rise at an epoch's end (a fall) is
 * measured against itself. The ensemble's calibrated reading sums the seeds' standardised outputs
 * (`calibrated.ensemble`); `calibrated.ensembleOfSum` standardises the seeds' summed outputs instead,
 * by the spread of that sum over the same images (as the library calibrates a model of several
 * members: their mean output, then standardised).
 * SHIFT_READ=1 also reads every network on each validation image and its four one-pixel shifts,
 * the five outputs averaged (`shiftRead`, calibrated too with CALIBRATE: a test-time reading, nothing
 * trained; raw pixels and codings only).
 * STACK=H also trains, after every epoch of every seed, a second stage by ED: one net of H hidden
 * cells per class reading the seed's outputs (one value per class) on the training images, and reads
 * it on the validation images' outputs (`stack`; STACK_EPOCHS, default 3, shuffled; a new second stage
 * each epoch; STACK_FROM=E from epoch E on only). Each stage learns from its own amine; nothing passes a gradient between them.
 * SHRINK=L multiplies every weight (hidden and output layers, biases too) by 1 - L after every
 * mini-batch (`shrink`; a local, sign-keeping decay: Kaneko's rule only ever grows a weight's size).
 * It trains through the trainer's per-batch hook, so on the serial strategy (one thread).
 * AUGMENT=spec trains every epoch on a fresh random variant of each fit image (`augment`; edsim's Rng
 * seeded by seed and epoch; calibration reads the plain images): 'shift:K' moves each image by up to K pixels
 * each way, 'drop:P' sets each pixel to 0 with probability P, 'erase:K' blanks a K x K square at a
 * random place in half the images. Serial strategy, one thread (the output strategy keeps its first data).
 * BOOST=K trains every seed after the first on the fit images with each image the earlier seeds'
 * ensemble (this epoch's outputs, calibrated with CALIBRATE, summed) answers wrongly repeated K more
 * times right after itself (`boost`; the order otherwise kept): a boosting by repetition, each net
 * still learning by ED alone from its own amine. Serial strategy, one thread (the output strategy keeps its first data).
 * PAIRS='0,2,4,6' also trains, per seed, one binary net for every pair of those classes on the fit
 * images of the pair only (one output: the pair's second class), and reads `pairs`: where a seed's
 * two best-scored classes (calibrated with CALIBRATE) are such a pair, that pair's net decides
 * between them (a fixed routing rule, one-against-one; every net learns by ED alone).
 * SAVE=PREFIX writes every seed's validation outputs after every epoch, raw and (with CALIBRATE)
 * standardised, as float64 files PREFIX-<config>-s<seed>-e<epoch>[-z].f64, and the validation labels
 * as PREFIX-labels.i32 (to combine runs made apart, e.g. one process per seed).
 * EPOCHS=N stops every configuration after N epochs (default: each configuration's own count).
 * Appends one JSON line per configuration and epoch to results/accuracy-search.jsonl (OUT).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { classData, type Dataset, loadDataset, perClassSplit, shiftImage, sliceDataset, withShifts } from '../src/data/data.js';
import { codeInputs, inputMeans, onOffInputs } from '../src/data/coding.js';
import { GABOR, type GaborSpec, withFeatures } from '../src/data/features.js';
import type { Floats, Layout } from '../src/engine/layout.js';
import { Rng } from '../src/engine/rng.js';
import type { ModelConfig, PresetName, TrainConfig } from '../src/options.js';
import { calibrationOf, createTrainer, standardise, type Trainer } from '../src/trainer.js';
import { accuracy, argmaxRow } from './readings.js';

interface Config {
  name: string;
  preset: PresetName;
  model?: Partial<ModelConfig>;
  train?: Partial<TrainConfig>;
  shifted?: boolean;
  /** Add each fit image's left-right mirror: 'pairs' puts it right after its image, 'blocks' after all images. */
  mirrored?: 'pairs' | 'blocks';
  /** Train and validate on Gabor features of the images (a spec's fields over the named bank's). */
  features?: Partial<GaborSpec>;
  /** A per-pixel input coding of the raw pixels (see coded()): no pixel reads its neighbours. */
  coding?: string;
  /** Training targets [lo, hi] in place of 0 and 1 (soft targets; see softTargets()). */
  targets?: [number, number];
  epochs: number;
}

/** The quick screens' network: one net of 128 hidden cells per class at mnist10's rate, fashion10's decay. */
const Q_NET: Partial<ModelConfig> = { ensemble: 1, hidden: [128], alphaHidden: 0.3, alphaOutput: 0.3 };

/** A quick screen on 0.5 sqrt(v) (the fs-* rows): Q_NET and fashion10's training with one change each. */
function screen(name: string, model: Partial<ModelConfig>, train?: Partial<TrainConfig>): Config {
  return { name, preset: 'fashion10', model: { ...Q_NET, ...model }, ...(train ? { train } : {}), coding: 'sqrt@0.5', epochs: 10 };
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
  // Quick screens of per-pixel input codings (run with LIMIT=12000 SEEDS=1): fp-g8's network on pixels.
  { name: 'fq-pixels', preset: 'fashion10', model: Q_NET, epochs: 10 },
  { name: 'fq-complement', preset: 'fashion10', model: Q_NET, coding: 'complement', epochs: 10 },
  { name: 'fq-sqrt', preset: 'fashion10', model: Q_NET, coding: 'sqrt', epochs: 10 },
  { name: 'fq-thermo3', preset: 'fashion10', model: Q_NET, coding: 'thermo3', epochs: 10 },
  { name: 'fq-center', preset: 'fashion10', model: Q_NET, coding: 'center', epochs: 10 },
  { name: 'fq-bidir', preset: 'fashion10', model: { ...Q_NET, rule: 'bidirectional' }, epochs: 10 },
  { name: 'fq-scale0.5', preset: 'fashion10', model: Q_NET, coding: 'scale@0.5', epochs: 10 },
  { name: 'fq-scale0.7', preset: 'fashion10', model: Q_NET, coding: 'scale@0.7', epochs: 10 },
  { name: 'fq-complement0.25', preset: 'fashion10', model: Q_NET, coding: 'complement@0.25', epochs: 10 },
  { name: 'fq-sqrt0.5', preset: 'fashion10', model: Q_NET, coding: 'sqrt@0.5', epochs: 10 },
  { name: 'fq-sqrt0.4', preset: 'fashion10', model: Q_NET, coding: 'sqrt@0.4', epochs: 10 },
  { name: 'fq-sqrt0.6', preset: 'fashion10', model: Q_NET, coding: 'sqrt@0.6', epochs: 10 },
  { name: 'fq-pow0.33-0.4', preset: 'fashion10', model: Q_NET, coding: 'pow0.33@0.4', epochs: 10 },
  { name: 'fq-pow0.7-0.6', preset: 'fashion10', model: Q_NET, coding: 'pow0.7@0.6', epochs: 10 },
  { name: 'f-h512-r0.15-sqrt0.5', preset: 'fashion10', model: { ensemble: 1 }, coding: 'sqrt@0.5', epochs: 12 },
  // SEEDS=4: the ensemble column is fashion10's ensemble of 4, on pixels and read through the coding.
  { name: 'f-ens-h512-r0.15', preset: 'fashion10', model: { ensemble: 1 }, epochs: 12 },
  { name: 'f-ens-h512-r0.15-sqrt0.5', preset: 'fashion10', model: { ensemble: 1 }, coding: 'sqrt@0.5', epochs: 12 },
  { name: 'f-h512-r0.3-sqrt0.5', preset: 'fashion10', model: { ensemble: 1, alphaHidden: 0.3, alphaOutput: 0.3 }, coding: 'sqrt@0.5', epochs: 12 },
  // Quick screens of everything else ED allows, on 0.5 sqrt(v) (LIMIT=12000 SEEDS=2): fq-sqrt0.5 with one change each.
  screen('fs-base', {}),
  screen('fs-shuffle', {}, { shuffle: true }),
  screen('fs-h128x2', { hidden: [128, 128] }),
  screen('fs-decay0.2', {}, { alphaDecay: 0.2 }),
  screen('fs-decay0.05', {}, { alphaDecay: 0.05 }),
  screen('fs-u0-0.6', { u0: 0.6 }),
  screen('fs-u0-0.3', { u0: 0.3 }),
  screen('fs-beta0.4', { beta: 0.4 }),
  screen('fs-beta1.2', { beta: 1.2 }),
  screen('fs-bias-vector', { bias: 'vector' }),
  screen('fs-i0.1', { initScale: 0.1 }),
  screen('fs-ao0.6', { alphaOutput: 0.6 }),
  screen('fs-b8', {}, { batch: 8 }),
  screen('fs-b32', {}, { batch: 32 }),
  // Shuffled screens swing between epochs: does a faster decay steady them?
  screen('fs-shuffle-decay0.3', {}, { shuffle: true, alphaDecay: 0.3 }),
  screen('fs-shuffle-decay0.6', {}, { shuffle: true, alphaDecay: 0.6 }),
  screen('fs-shuffle-decay1', {}, { shuffle: true, alphaDecay: 1 }),
  screen('fs-shuffle-b32', {}, { shuffle: true, batch: 32 }),
  // The screens' one clear gain (shuffling every epoch) on the full fit split; then a wider net, unshuffled.
  { name: 'f-h512-r0.15-sqrt0.5-shuffle', preset: 'fashion10', model: { ensemble: 1 }, train: { shuffle: true }, coding: 'sqrt@0.5', epochs: 14 },
  { name: 'f-h1024-r0.05-sqrt0.5', preset: 'fashion10', model: { ensemble: 1, hidden: [1024], alphaHidden: 0.05, alphaOutput: 0.05 }, coding: 'sqrt@0.5', epochs: 10 },
  { name: 'f-h1024-r0.1-sqrt0.5', preset: 'fashion10', model: { ensemble: 1, hidden: [1024], alphaHidden: 0.1, alphaOutput: 0.1 }, coding: 'sqrt@0.5', epochs: 12 },
  { name: 'f-h512-r0.15-sqrt0.5-shuffle-decay0.3', preset: 'fashion10', model: { ensemble: 1 }, train: { shuffle: true, alphaDecay: 0.3 }, coding: 'sqrt@0.5', epochs: 10 },
  { name: 'f-h512-r0.15-sqrt0.5-shuffle-decay0.6', preset: 'fashion10', model: { ensemble: 1 }, train: { shuffle: true, alphaDecay: 0.6 }, coding: 'sqrt@0.5', epochs: 10 },
  // SEEDS=1: fashion10's own ensemble of 4 in one trainer (shuffled, its members see one order, as the preset's do), coded.
  { name: 'f-ens4-sqrt0.5-shuffle', preset: 'fashion10', train: { shuffle: true }, coding: 'sqrt@0.5', epochs: 14 },
  // SEEDS=1: the fashion10 preset itself (4 nets in one trainer, unshuffled, coded) past its 10 epochs.
  { name: 'f-ens4-sqrt0.5', preset: 'fashion10', coding: 'sqrt@0.5', epochs: 14 },
  // Mirrored copies (LIMIT=12000 SEEDS=2 screens first): a garment's mirror is a garment of its class.
  { ...screen('fs-mirror', {}), mirrored: 'pairs' },
  { ...screen('fs-mirror-blocks', {}), mirrored: 'blocks' },
  { ...screen('fs-mirror-shuffle', {}, { shuffle: true }), mirrored: 'pairs' },
  // Receptive fields: each first-layer cell reads a field x field window of the image (model.field).
  screen('fs-field8', { field: 8 }),
  screen('fs-field12', { field: 12 }),
  screen('fs-field16', { field: 16 }),
  screen('fs-field20', { field: 20 }),
  // Other hidden activations, the output cell a sigmoid (docs/classes.md: "Other activations").
  screen('fs-act-tanh', { activation: 'tanh', outputActivation: 'sigmoid' }),
  screen('fs-act-softplus', { activation: 'softplus', outputActivation: 'sigmoid' }),
  screen('fs-act-relu', { activation: 'relu', outputActivation: 'sigmoid' }),
  // Soft targets: a negative sample stops pushing a net's output once it is under lo, not only at 0.
  { ...screen('fs-targets-0.05', {}), targets: [0.05, 0.95] },
  { ...screen('fs-targets-0.1', {}), targets: [0.1, 0.9] },
  { ...screen('fs-targets-0.1-1', {}), targets: [0.1, 1] },
  // fashion10's width and rate on the quick screen (the plain row beside the routed experts of scripts/patches/routed-experts.patch).
  screen('fs-h512-r0.15', { hidden: [512], alphaHidden: 0.15, alphaOutput: 0.15 }),
  // ON/OFF codings against the fit split's mean image (see onOff()): each pixel as two sparse inputs.
  { ...screen('fs-onoff-sqrt0.5', {}), coding: 'onoff-sqrt@0.5' },
  { ...screen('fs-onoff-sqrt1', {}), coding: 'onoff-sqrt@1' },
  { ...screen('fs-onoff1', {}), coding: 'onoff@1' },
  { ...screen('fs-onoff-sqrt1.5', {}), coding: 'onoff-sqrt@1.5' },
  { ...screen('fs-onoff-sqrt2', {}), coding: 'onoff-sqrt@2' },
  // SEEDS=1: the fashion10 preset (4 nets of 512 cells per class, rate 0.15) reading ON/OFF of sqrt(v) instead of 0.5 sqrt(v).
  { name: 'f-ens4-onoff-sqrt1', preset: 'fashion10', coding: 'onoff-sqrt@1', epochs: 10 },
];

/**
 * The training split with its targets moved from 0 / 1 to lo / hi: the error of a net whose output
 * is already under lo for a sample of another class turns positive (pushes it back up to lo), so
 * the nine classes' samples stop driving every output to 0 (the labels, and so the readings, are the same).
 */
function softTargets(d: Dataset, [lo, hi]: [number, number]): Dataset {
  return { ...d, y: d.y.map((v) => lo + (hi - lo) * v) };
}

/** Each image mirrored left to right (columns reversed). */
function mirror(d: Dataset, side: number): Dataset {
  const x = new Float64Array(d.x.length);
  for (let k = 0; k < d.n; k++) {
    for (let r = 0; r < side; r++) {
      const row = k * d.features + r * side;
      for (let q = 0; q < side; q++) x[row + q] = d.x[row + side - 1 - q]!;
    }
  }
  return { ...d, x };
}

/** The images and their mirrors: each mirror right after its image ('pairs') or all after all ('blocks'). */
function withMirrors(d: Dataset, side: number, order: 'pairs' | 'blocks'): Dataset {
  const m = mirror(d, side);
  const f = d.features;
  const o = d.outputs;
  const x = new Float64Array(2 * d.x.length);
  const y = new Float64Array(2 * d.y.length);
  const labels = new Int32Array(2 * d.n);
  for (let k = 0; k < d.n; k++) {
    const [a, b] = order === 'pairs' ? [2 * k, 2 * k + 1] : [k, d.n + k];
    x.set(d.x.subarray(k * f, (k + 1) * f), a * f);
    x.set(m.x.subarray(k * f, (k + 1) * f), b * f);
    y.set(d.y.subarray(k * o, (k + 1) * o), a * o);
    y.set(d.y.subarray(k * o, (k + 1) * o), b * o);
    labels[a] = labels[b] = d.labels[k]!;
  }
  return { ...d, n: 2 * d.n, x, y, labels };
}

/**
 * Per-pixel input codings screened for raw-pixel Fashion-MNIST (each pixel coded alone, nothing
 * learned, no pixel reading another): 'sqrt' feeds sqrt(x), 'powP' x^P and 'scale' x, each times a
 * suffix '@s' (e.g. 'sqrt@0.5': the library's input coding, data/coding.ts, power 0.5, scale 0.5);
 * 'complement' feeds x and 1 - x; 'thermoK' feeds K ramps clamp(K x - k, 0, 1), k = 0..K-1
 * (sum = K x); 'center' feeds x - 0.5; these three also times the suffix.
 */
function coded(d: Dataset, spec: string, fit?: Dataset): Dataset {
  const [coding, factor] = spec.split('@') as [string, string | undefined];
  const scale = factor === undefined ? 1 : Number(factor);
  if (coding === 'onoff' || coding === 'onoff-sqrt') return onOff(d, fit ?? d, scale, coding === 'onoff-sqrt');
  const power = coding === 'sqrt' ? 0.5 : coding.startsWith('pow') ? Number(coding.slice(3)) : coding === 'scale' ? 1 : undefined;
  if (power !== undefined) return { ...d, x: codeInputs(d.x, { power, scale }) };
  const f = d.features;
  const k = coding.startsWith('thermo') ? Number(coding.slice(6)) : coding === 'complement' ? 2 : 1;
  const x = new Float64Array(d.n * f * k);
  for (let i = 0; i < d.n * f; i++) {
    const v = d.x[i]!;
    const s = Math.floor(i / f);
    const p = i % f;
    if (coding === 'complement') { x[s * 2 * f + p] = scale * v; x[s * 2 * f + f + p] = scale * (1 - v); }
    else if (coding === 'center') x[i] = scale * (v - 0.5);
    else if (coding.startsWith('thermo')) for (let r = 0; r < k; r++) x[(s * k + r) * f + p] = scale * Math.min(1, Math.max(0, k * v - r));
    else throw new Error(`unknown coding ${coding}`);
  }
  return { ...d, features: f * k, x };
}

/**
 * ON/OFF coding (`onoff`, `onoff-sqrt`): every pixel v (or sqrt(v)), times the scale, becomes two
 * inputs, how far it is above the fit split's mean image at that pixel and how far below, each
 * clipped at 0 (the library's inputOnOff: inputMeans, onOffInputs). A fixed per-pixel coding with
 * one statistic of the fit images (like the calibration); no pixel reads its neighbours.
 */
function onOff(d: Dataset, fit: Dataset, scale: number, sqrt: boolean): Dataset {
  const c = (x: ArrayLike<number>): Float64Array => codeInputs(x, { power: sqrt ? 0.5 : 1, scale });
  return { ...d, features: 2 * d.features, x: onOffInputs(c(d.x), d.features, inputMeans(c(fit.x), fit.features)) };
}

/** The fit images of some classes only, their outputs those classes (in the order given). */
function subset(d: Dataset, classes: number[]): Dataset {
  const raw = Array.from(d.labels, (c) => d.classes[c]!);
  const rows = raw.flatMap((c, r) => (classes.includes(c) ? [r] : []));
  return classData(d.x, d.features, raw, rows, classes);
}

/**
 * The generalists' outputs `g` (`outputs` per row) with every row whose largest output is one of
 * `classes` (class indices of the full set) answered by the specialists' outputs `h` instead: their
 * largest among those classes gets the row's largest output plus one, so argmax picks it.
 */
function route(g: Float64Array, h: Float64Array, outputs: number, classes: number[]): Float64Array {
  const r = Float64Array.from(g);
  const m = classes.length;
  for (let s = 0; s < g.length / outputs; s++) {
    const best = argmaxRow(g, s * outputs, outputs);
    if (!classes.includes(best)) continue;
    r[s * outputs + classes[argmaxRow(h, s * m, m)]!] = g[s * outputs + best]! + 1;
  }
  return r;
}


const dataName = process.argv[2] ?? 'mnist';
const holdout = Number(process.env.HOLDOUT ?? 0.1);
const seeds = Number(process.env.SEEDS ?? 3);
/** FIRST_SEED=k runs seeds k .. k + SEEDS - 1 (default 1). */
const firstSeed = Number(process.env.FIRST_SEED ?? 1);
const workers = Number(process.env.WORKERS ?? 2);
const only = process.env.CONFIGS?.split(',');
if (process.env.EXTRA) CONFIGS.push(...(JSON.parse(process.env.EXTRA) as Config[]));
const limit = process.env.LIMIT ? Number(process.env.LIMIT) : undefined;
const out = process.env.OUT ?? 'results/accuracy-search.jsonl';
const snapshots = Number(process.env.SNAPSHOTS ?? 3);
const averageOver = process.env.AVERAGE ? Number(process.env.AVERAGE) : undefined;
const specialClasses = process.env.SPECIALIST?.split(',').map(Number);
const calibrateOn = process.env.CALIBRATE ? Number(process.env.CALIBRATE) : undefined;
const mirrorRead = process.env.MIRROR_READ === '1';
const shiftRead = process.env.SHIFT_READ === '1';
const stackHidden = process.env.STACK ? Number(process.env.STACK) : undefined;
const stackEpochs = Number(process.env.STACK_EPOCHS ?? 3);
const stackFrom = Number(process.env.STACK_FROM ?? 1);
const shrink = process.env.SHRINK ? Number(process.env.SHRINK) : undefined;
const augment = process.env.AUGMENT;
const boost = process.env.BOOST ? Number(process.env.BOOST) : undefined;
const pairClasses = process.env.PAIRS?.split(',').map(Number);
const save = process.env.SAVE;

/**
 * The outputs `g` with every row whose two largest are classes a < b of a pair in `nets` answered
 * by that pair's net: `b` where its output (summed over `votes` nets) exceeds votes / 2, else `a`
 * (the winner gets the row's largest output plus one). Returns the answers and how many rows a pair decided.
 */
function decidePairs(g: Float64Array, nets: Map<string, Float64Array>, outputs: number, votes: number): [Float64Array, number] {
  const r = Float64Array.from(g);
  let decided = 0;
  for (let s = 0; s < g.length / outputs; s++) {
    let first = 0;
    let second = -1;
    for (let k = 1; k < outputs; k++) {
      if (g[s * outputs + k]! > g[s * outputs + first]!) [first, second] = [k, first];
      else if (second < 0 || g[s * outputs + k]! > g[s * outputs + second]!) second = k;
    }
    const [a, b] = first < second ? [first, second] : [second, first];
    const h = nets.get(`${a},${b}`);
    if (!h) continue;
    decided++;
    r[s * outputs + (h[s]! > votes / 2 ? b : a)] = g[s * outputs + first]! + 1;
  }
  return [r, decided];
}

/** `d` with every image whose row of `answers` is wrong repeated `k` more times right after itself. */
function boosted(d: Dataset, answers: Float64Array, k: number): Dataset {
  const rows: number[] = [];
  for (let s = 0; s < d.n; s++) {
    for (let r = argmaxRow(answers, s * d.outputs, d.outputs) === d.labels[s] ? 0 : k; r >= 0; r--) rows.push(s);
  }
  const f = d.features;
  const o = d.outputs;
  const x = new Float64Array(rows.length * f);
  const y = new Float64Array(rows.length * o);
  rows.forEach((s, r) => { x.set(d.x.subarray(s * f, (s + 1) * f), r * f); y.set(d.y.subarray(s * o, (s + 1) * o), r * o); });
  return { ...d, n: rows.length, x, y, labels: Int32Array.from(rows, (s) => d.labels[s]!) };
}

/** One random variant of every image of `d` (AUGMENT's spec), the same labels and targets. */
function augmented(d: Dataset, spec: string, side: number, seed: number): Dataset {
  const [kind, arg] = spec.split(':') as [string, string];
  const v = Number(arg);
  const rng = new Rng(seed);
  const f = d.features;
  const x = new Float64Array(d.x.length);
  for (let s = 0; s < d.n; s++) {
    const src = s * f;
    if (kind === 'shift') {
      const dx = Math.floor(rng.next() * (2 * v + 1)) - v;
      const dy = Math.floor(rng.next() * (2 * v + 1)) - v;
      shiftImage(d.x, src, x, src, side, dy, dx);
    } else if (kind === 'drop') {
      for (let p = 0; p < f; p++) x[src + p] = rng.next() < v ? 0 : d.x[src + p]!;
    } else if (kind === 'erase') {
      x.set(d.x.subarray(src, src + f), src);
      if (rng.next() < 0.5) {
        const r0 = Math.floor(rng.next() * (side - v + 1));
        const q0 = Math.floor(rng.next() * (side - v + 1));
        for (let r = r0; r < r0 + v; r++) x.fill(0, src + r * side + q0, src + r * side + q0 + v);
      }
    } else throw new Error(`unknown AUGMENT ${spec}`);
  }
  return { ...d, x };
}

/** The per-batch hook of SHRINK: every weight of every net times 1 - shrink. */
function shrinkWeights(_start: number, _count: number, f: Floats, layout: Layout): void {
  const keep = 1 - shrink!;
  for (const net of layout.nets) {
    for (const l of net.layers) {
      for (let i = l.w, end = l.w + l.nIn * l.nOut; i < end; i++) f[i]! *= keep;
      if (l.b >= 0) for (let j = l.b; j < l.b + l.nOut; j++) f[j]! *= keep;
    }
  }
}

/** A data set whose features are a first stage's outputs `o` (one per class) for the samples of `d`. */
function stage(d: Dataset, o: Float64Array): Dataset {
  return { ...d, x: o, features: d.outputs };
}
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
if (save) writeFileSync(`${save}-labels.i32`, validation.labels);
const side = Math.round(Math.sqrt(fit.features));
let shifted: Dataset | undefined;

for (const c of CONFIGS.filter((x) => !only || only.includes(x.name))) {
  let train = c.shifted ? (shifted ??= withShifts(fit, side)) : fit;
  if (c.mirrored) train = withMirrors(train, side, c.mirrored);
  let held = validation;
  // MIRROR_READ=1: also read on the mirrored validation images, outputs summed with the plain ones' (`mirrorRead`).
  let heldMirror = mirrorRead ? mirror(validation, side) : undefined;
  const bank = c.features && { ...GABOR, ...c.features };
  if (bank) {
    train = withFeatures(train, bank);
    held = withFeatures(validation, bank);
    if (heldMirror) heldMirror = withFeatures(heldMirror, bank);
  }
  if (c.coding) {
    const plain = train; // the ON/OFF codings' mean image is the fit split's
    train = coded(train, c.coding);
    held = coded(held, c.coding, plain);
    if (heldMirror) heldMirror = coded(heldMirror, c.coding, plain);
  }
  if (c.targets) train = softTargets(train, c.targets);
  // SHIFT_READ=1: each validation image and its four one-pixel shifts, in five blocks (withShifts).
  const heldShifts = shiftRead && !bank ? withShifts(held, side) : undefined;
  const trainers: Trainer[] = [];
  // The preset's own input coding is off (fashion10 read 0.5 sqrt(v) after the fq-* screens, ON/OFF
  // of sqrt(v) after f-ens4-onoff-sqrt1): a configuration names its coding in `coding` (this script
  // codes the pixels itself), so every row keeps the meaning it was recorded with.
  // Nor does the preset's output calibration apply: CALIBRATE=N records a calibrated reading beside the plain one.
  const model = { inputPower: undefined, inputScale: undefined, inputOnOff: undefined, calibrate: undefined, ...c.model };
  const threads = shrink || augment || boost ? { workers: 1, strategy: 'serial' as const } : { workers };
  for (let s = firstSeed; s < firstSeed + seeds; s++) trainers.push(await createTrainer({ preset: c.preset, model, train: { ...c.train, seed: s }, ...threads }));
  const special = specialClasses && subset(train, specialClasses);
  const calibration = calibrateOn === undefined ? undefined : Math.min(calibrateOn, train.n);
  const specialists: Trainer[] = [];
  if (special) for (let s = firstSeed; s < firstSeed + seeds; s++) specialists.push(await createTrainer({ preset: c.preset, model, train: { ...c.train, seed: s }, workers }));
  // PAIRS: per seed, one binary net per pair a < b of the listed classes (class indices equal the labels here: 0..9).
  const pairs = (pairClasses ?? []).flatMap((a) => pairClasses!.filter((b) => b > a).map((b) => ({ key: `${a},${b}`, data: subset(train, [a, b]) })));
  const pairNets: Trainer[][] = [];
  for (let s = firstSeed; pairs.length && s < firstSeed + seeds; s++) {
    pairNets.push(await Promise.all(pairs.map(() => createTrainer({ preset: c.preset, model, train: { ...c.train, seed: s }, workers: 1 }))));
  }
  const t0 = performance.now();
  /** Each seed's validation outputs of its last `snapshots` epochs. */
  const past: Float64Array[][] = trainers.map(() => []);
  /** Each seed's weights at its last `averageOver` epochs' ends. */
  const ends: (Float64Array | Float32Array)[][] = trainers.map(() => []);
  try {
    for (let e = 1; e <= Number(process.env.EPOCHS ?? c.epochs); e++) {
      const sum = new Float64Array(held.n * held.outputs);
      const averagedSum = new Float64Array(held.n * held.outputs);
      const snapAll = new Float64Array(held.n * held.outputs);
      const mirrorSum = new Float64Array(held.n * held.outputs);
      const mirrorEach: number[] = [];
      const each: number[] = [];
      const routed: number[] = [];
      const calibrated: number[] = [];
      const calibratedSum = new Float64Array(held.n * held.outputs);
      /** The seeds' outputs on the calibration images, summed (calibrated.ensembleOfSum). */
      const calibrationSum = new Float64Array((calibration ?? 0) * held.outputs);
      const routedSum = new Float64Array(held.n * held.outputs);
      const specialSum = new Float64Array(held.n * (specialClasses?.length ?? 0));
      const paired: number[] = [];
      const pairDecided: number[] = [];
      const pairSum = new Map(pairs.map((p) => [p.key, new Float64Array(held.n)]));
      const snap: number[] = [];
      const averaged: number[] = [];
      const shiftEach: number[] = [];
      const stacked: number[] = [];
      const stackSum = new Float64Array(held.n * held.outputs);
      const shiftCal: number[] = [];
      const shiftSum = new Float64Array(held.n * held.outputs);
      const shiftCalSum = new Float64Array(held.n * held.outputs);
      /** BOOST: the earlier seeds' outputs on the fit images this epoch, summed (standardised with CALIBRATE). */
      const fitSum = boost ? new Float64Array(train.n * train.outputs) : undefined;
      const boostSamples: number[] = [];
      for (const [i, t] of trainers.entries()) {
        let data = augment ? augmented(train, augment, side, (firstSeed + i) * 1000 + e) : train;
        if (fitSum && i > 0) data = boosted(train, fitSum, boost!);
        boostSamples.push(data.n);
        await t.fit(data, { epochs: 1, ...(shrink ? { onBatch: shrinkWeights } : {}) });
        const o = t.predict(held);
        each.push(accuracy(o, held));
        if (save) writeFileSync(`${save}-${c.name}-s${firstSeed + i}-e${e}.f64`, o);
        for (let k = 0; k < sum.length; k++) sum[k]! += o[k]!;
        // The library's own calibration (Trainer.calibrate: calibrationOf over the outputs of the
        // first N fit images, what --calibrate measures after a fit), from one reading of those
        // images that ensembleOfSum also sums; predict stays raw.
        const oc = calibration ? t.predict(sliceDataset(train, 0, calibration)) : undefined;
        const cal = oc && calibrationOf(oc, train.outputs);
        if (fitSum && i < trainers.length - 1) {
          const of = t.predict(train);
          if (cal) standardise(of, cal);
          for (let k = 0; k < of.length; k++) fitSum[k]! += of[k]!;
        }
        // The outputs read above, standardised (Trainer.scores without a second forward pass).
        const z = cal && standardise(Float64Array.from(o), cal);
        if (z) {
          calibrated.push(accuracy(z, held));
          if (save) writeFileSync(`${save}-${c.name}-s${firstSeed + i}-e${e}-z.f64`, z);
          for (let k = 0; k < oc!.length; k++) calibrationSum[k]! += oc![k]!;
          for (let k = 0; k < z.length; k++) calibratedSum[k]! += z[k]!;
        }
        if (stackHidden !== undefined && e >= stackFrom) {
          const second = await createTrainer({ preset: 'mnist10', model: { hidden: [stackHidden], ensemble: 1 }, train: { seed: firstSeed + i, epochs: stackEpochs, shuffle: true }, workers: 1 });
          try {
            await second.fit(stage(train, t.predict(train)), { epochs: stackEpochs });
            const z = second.predict(stage(held, o));
            stacked.push(accuracy(z, held));
            for (let k = 0; k < z.length; k++) stackSum[k]! += z[k]!;
          } finally {
            await second.close();
          }
        }
        if (heldShifts) {
          const o5 = t.predict(heldShifts);
          const m = held.n * held.outputs;
          const os = new Float64Array(m);
          for (let k = 0; k < 5 * m; k++) os[k % m]! += o5[k]! / 5;
          shiftEach.push(accuracy(os, held));
          for (let k = 0; k < m; k++) shiftSum[k]! += os[k]!;
          if (cal) {
            const zs = standardise(os, cal);
            shiftCal.push(accuracy(zs, held));
            for (let k = 0; k < m; k++) shiftCalSum[k]! += zs[k]!;
          }
        }
        if (pairs.length) {
          const own = new Map<string, Float64Array>();
          for (const [q, p] of pairs.entries()) {
            await pairNets[i]![q]!.fit(p.data, { epochs: 1 });
            const h = pairNets[i]![q]!.predict(held);
            own.set(p.key, h);
            const all = pairSum.get(p.key)!;
            for (let k = 0; k < h.length; k++) all[k]! += h[k]!;
          }
          const [answers, decided] = decidePairs(z ?? o, own, held.outputs, 1);
          paired.push(accuracy(answers, held));
          pairDecided.push(decided);
        }
        if (special) {
          await specialists[i]!.fit(special, { epochs: 1 });
          const h = specialists[i]!.predict(held);
          routed.push(accuracy(route(o, h, held.outputs, specialClasses!), held));
          for (let k = 0; k < h.length; k++) specialSum[k]! += h[k]!;
        }
        if (heldMirror) {
          const om = t.predict(heldMirror);
          for (let k = 0; k < om.length; k++) om[k]! += o[k]!;
          mirrorEach.push(accuracy(om, held));
          for (let k = 0; k < om.length; k++) mirrorSum[k]! += om[k]!;
        }
        past[i]!.push(o);
        if (past[i]!.length > snapshots) past[i]!.shift();
        const snapSum = new Float64Array(o.length);
        for (const p of past[i]!) for (let k = 0; k < p.length; k++) snapSum[k]! += p[k]!;
        snap.push(accuracy(snapSum, held));
        for (let k = 0; k < snapAll.length; k++) snapAll[k]! += snapSum[k]!;
        if (averageOver !== undefined) {
          const f = t.mem!.f;
          const own = f.slice(0, t.layout!.weightFloats);
          ends[i]!.push(own);
          if (ends[i]!.length > averageOver) ends[i]!.shift();
          const mean = new Float64Array(own.length);
          for (const w of ends[i]!) for (let k = 0; k < w.length; k++) mean[k]! += w[k]!;
          for (let k = 0; k < mean.length; k++) f[k] = mean[k]! / ends[i]!.length;
          const a = t.predict(held);
          f.set(own);
          averaged.push(accuracy(a, held));
          for (let k = 0; k < a.length; k++) averagedSum[k]! += a[k]!;
        }
      }
      const line = {
        data: dataName, config: c.name, ...(limit ? { limit } : {}), ...(process.env.SPLIT ? { split: process.env.SPLIT } : {}), preset: c.preset, model: c.model ?? {}, train: c.train ?? {}, shifted: c.shifted === true, ...(c.mirrored ? { mirrored: c.mirrored } : {}), ...(bank ? { features: bank } : {}), ...(c.coding ? { coding: c.coding } : {}), ...(c.targets ? { targets: c.targets } : {}), ...(shrink ? { shrink } : {}), ...(augment ? { augment } : {}), ...(boost ? { boost: { repeats: boost, trainSamples: boostSamples } } : {}),
        epoch: e, seeds, ...(firstSeed !== 1 ? { firstSeed } : {}), trainSamples: train.n, validationSamples: validation.n,
        validation: each, validationMean: each.reduce((a, b) => a + b, 0) / each.length, ensemble: accuracy(sum, held),
        ...(special ? { specialist: { classes: specialClasses, trainSamples: special.n, validation: routed, ensemble: accuracy(route(sum, specialSum, held.outputs, specialClasses!), held) } } : {}),
        ...(pairs.length ? { pairs: { classes: pairClasses, calibrated: calibration !== undefined, trainSamples: pairs.map((p) => p.data.n), decided: pairDecided, validation: paired, ensemble: accuracy(decidePairs(calibration ? calibratedSum : sum, pairSum, held.outputs, seeds)[0], held) } } : {}),
        ...(calibration ? { calibrated: { images: calibration, validation: calibrated, ensemble: accuracy(calibratedSum, held), ensembleOfSum: accuracy(standardise(Float64Array.from(sum), calibrationOf(calibrationSum, held.outputs)), held) } } : {}),
        ...(stacked.length ? { stack: { hidden: stackHidden, epochs: stackEpochs, validation: stacked, ensemble: accuracy(stackSum, held) } } : {}),
        ...(heldShifts ? { shiftRead: { validation: shiftEach, ensemble: accuracy(shiftSum, held), ...(calibration ? { calibrated: shiftCal, calibratedEnsemble: accuracy(shiftCalSum, held) } : {}) } } : {}),
        ...(heldMirror ? { mirrorRead: { validation: mirrorEach, ensemble: accuracy(mirrorSum, held) } } : {}),
        snapshots: { epochs: Math.min(e, snapshots), validation: snap, ensemble: accuracy(snapAll, held) },
        ...(averaged.length ? { averaged: { epochs: Math.min(e, averageOver!), validation: averaged, ensemble: accuracy(averagedSum, held) } } : {}),
        seconds: (performance.now() - t0) / 1000,
      };
      appendFileSync(out, `${JSON.stringify(line)}\n`);
      const pct = (v: number[]): string => v.map((x) => (100 * x).toFixed(2)).join('/');
      console.log(`${c.name} epoch ${e}: validation ${pct(each)} % (ensemble of ${seeds}: ${(100 * line.ensemble).toFixed(2)} %;${line.calibrated ? ` calibrated ${pct(calibrated)} %, ensemble ${(100 * line.calibrated.ensemble).toFixed(2)} % (of the sum ${(100 * line.calibrated.ensembleOfSum).toFixed(2)} %);` : ''}${line.pairs ? ` pairs decide ${pct(paired)} %, ensemble ${(100 * line.pairs.ensemble).toFixed(2)} %;` : ''}${line.specialist ? ` with specialists ${pct(routed)} %, ensemble ${(100 * line.specialist.ensemble).toFixed(2)} %;` : ''}${line.stack ? ` second stage ${pct(stacked)} %, ensemble ${(100 * line.stack.ensemble).toFixed(2)} %;` : ''}${line.shiftRead ? ` shifts read ${pct(shiftEach)} %, ensemble ${(100 * line.shiftRead.ensemble).toFixed(2)} %${calibration ? `, calibrated ${pct(shiftCal)} %, ensemble ${(100 * line.shiftRead.calibratedEnsemble!).toFixed(2)} %` : ''};` : ''}${line.mirrorRead ? ` with mirrors read ${pct(mirrorEach)} %, ensemble ${(100 * line.mirrorRead.ensemble).toFixed(2)} %;` : ''} last ${line.snapshots.epochs} epochs ${pct(snap)} %, all ${(100 * line.snapshots.ensemble).toFixed(2)} %${averaged.length ? `; weights of last ${Math.min(e, averageOver!)} averaged ${pct(averaged)} %, ensemble ${(100 * line.averaged!.ensemble).toFixed(2)} %` : ''}), ${line.seconds.toFixed(0)} s`);
    }
  } finally {
    for (const t of [...trainers, ...specialists, ...pairNets.flat()]) await t.close();
  }
}
