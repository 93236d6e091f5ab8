/** The CLI's shared flags for commands that build and train a network, and their conversion to TrainerOptions. */
import type { Argv } from 'yargs';
import { ACTIVATIONS } from '../engine/activations.js';
import { DATASET_HELP, parseClasses } from '../data/data.js';
import { FEATURE_NAMES } from '../data/features.js';
import { check } from '../errors.js';
import { STRATEGIES, type StrategyName } from '../engine/executor.js';
import { BIAS_MODES, getPreset, type ModelConfig, PRESETS, type PresetName, RULES, type Topology, TOPOLOGIES, type TrainConfig } from '../options.js';
import { MAX_WORKERS } from '../parallel/parallel.js';
import type { TrainerOptions } from '../trainer.js';

export interface NetworkArgs {
  data: string;
  classes?: string;
  limit?: number;
  shifted?: boolean;
  preset: string;
  hidden?: string;
  topology?: string;
  rule?: string;
  activation?: string;
  epochs?: number;
  batch?: number;
  alpha?: number;
  'alpha-output'?: number;
  'output-activation'?: string;
  'alpha-cross'?: number;
  'alpha-decay'?: number;
  u0?: number;
  u1?: number;
  beta?: number;
  bias?: string;
  'init-scale'?: number;
  ensemble?: number;
  features?: string;
  'input-power'?: number;
  'input-scale'?: number;
  'input-onoff'?: boolean;
  calibrate?: number;
  seed: number;
  precision?: string;
  kernels?: string;
  strategy?: string;
  workers?: number;
}

export const num = (what: string, min = -Infinity) => (v: unknown): number => {
  const n = Number(v);
  check(v !== '' && v !== true && Number.isFinite(n), `--${what} must be a number, got '${String(v)}'`);
  check(n >= min, `--${what} must be at least ${min}, got '${String(v)}'`);
  return n;
};
export const int = (what: string, lo: number, hi: number) => (v: unknown): number => {
  const n = num(what)(v);
  check(Number.isInteger(n) && n >= lo && n <= hi, `--${what} must be an integer from ${lo} to ${hi}, got '${String(v)}'`);
  return n;
};

/** Parses --hidden 64,64 into cell counts per hidden layer (E and I together); "512x4" repeats. */
export function parseHidden(spec: string): number[] {
  const out: number[] = [];
  for (const part of String(spec).split(',')) {
    const m = /^\s*(\d+)\s*(?:x\s*(\d+)\s*)?$/.exec(part);
    check(m, `--hidden must list cells per layer, e.g. 64,64 or 512x4 (512 layers of 4), got '${spec}'`);
    const reps = m[2] === undefined ? 1 : Number(m[1]);
    const size = Number(m[2] ?? m[1]);
    check(size >= 1 && reps >= 1, `--hidden sizes must be positive, got '${spec}'`);
    for (let r = 0; r < reps; r++) out.push(size);
  }
  check(out.length <= 4096, '--hidden may list at most 4096 layers');
  return out;
}

export function withDataFlags<T>(y: Argv<T>) {
  return y
    .option('data', { type: 'string', demandOption: true, describe: `dataset: ${DATASET_HELP}` })
    .option('classes', { type: 'string', describe: 'classes to keep, e.g. 0,1 or 0-9 (default: all)' })
    .option('limit', { coerce: int('limit', 1, 1e9), describe: 'keep only the first N training samples' })
    .option('shifted', { type: 'boolean', describe: 'add every training image moved by one pixel right, left, down and up: 5x the training samples, the same sparsity (square images; scaling runs get hundreds of batches from MNIST alone); the mnist10 and mnist10-gabor presets turn it on, --no-shifted off' });
}

/** Flags that shape the network and its training (shared by train, sweep and scale). */
export function withModelFlags<T>(y: Argv<T>) {
  return withDataFlags(y)
    .option('preset', { type: 'string', default: 'kaneko', choices: PRESETS as string[], describe: 'starting settings (flags below override them)' })
    .option('hidden', { type: 'string', describe: 'cells per hidden layer, E and I together: 8, 64,64 or 512x4' })
    .option('topology', { type: 'string', choices: TOPOLOGIES as string[], describe: "kaneko: one network per output; paired: the article's n E + n I layers; columns: one network, a column of --hidden cells per class, each learning from its class's amine" })
    .option('rule', { type: 'string', choices: RULES as string[], describe: 'kaneko: |w| only grows; bidirectional: the article' })
    .option('activation', { type: 'string', choices: ACTIVATIONS as string[], describe: 'activation of the hidden cells (and of the outputs, unless --output-activation)' })
    .option('output-activation', { type: 'string', choices: ACTIVATIONS as string[], describe: 'activation of the output cells' })
    .option('epochs', { coerce: int('epochs', 1, 1e7), describe: 'maximum epochs' })
    .option('batch', { coerce: int('batch', 1, 65536), describe: 'mini-batch size (1 = online)' })
    .option('alpha', { coerce: num('alpha'), describe: 'learning rate of the hidden layers (kaneko preset: all layers)' })
    .option('alpha-output', { coerce: num('alpha-output'), describe: 'learning rate of the output layer' })
    .option('alpha-decay', { coerce: num('alpha-decay'), describe: 'learning-rate schedule: epoch e (from 0) runs at rate / (1 + decay * e)' })
    .option('alpha-cross', { coerce: num('alpha-cross'), describe: "columns topology: rate of an output's weights from other classes' columns (default: output rate / 100)" })
    .option('u0', { coerce: num('u0'), describe: 'sigmoid slope parameter' })
    .option('u1', { coerce: num('u1'), describe: 'amine diffusion factor for hidden layers' })
    .option('beta', { coerce: num('beta'), describe: 'value of the bias cells' })
    .option('bias', { type: 'string', choices: BIAS_MODES as string[] })
    .option('init-scale', { coerce: num('init-scale'), describe: 'initial weight magnitudes are uniform in [0, scale)' })
    .option('ensemble', { coerce: int('ensemble', 1, 64), describe: 'kaneko topology: N independent networks per output from different initial weights, trained side by side; an output is their mean' })
    .option('features', { type: 'string', choices: [...FEATURE_NAMES, 'none'], describe: 'read the images through a fixed bank of Gabor filters (8 orientations, energies max-pooled 2x2: 1568 features from 28x28), computed once, never learned ("features + ED"; square images); none: the pixels (turns a preset\'s bank off)' })
    .option('input-power', { coerce: num('input-power'), describe: 'input coding: every value v the network reads (a pixel, or a feature of --features) becomes scale * sign(v) * |v|^power, value by value (1: as it is; the fashion10 preset: 0.5)' })
    .option('input-scale', { coerce: num('input-scale'), describe: 'input coding: the scale of --input-power (1: as it is, as in the fashion10 preset; its quicker form without ON/OFF: 0.5)' })
    .option('input-onoff', { type: 'boolean', describe: 'ON/OFF input coding, after --input-power/--input-scale: every value becomes two inputs, how far it lies above its mean over the training images and how far below (the mean is measured at the first training and saved with the model; twice the inputs, 2-2.8 times the time on fashion10\'s model); --no-input-onoff turns a preset\'s off' })
    .option('calibrate', { coerce: int('calibrate', 0, 1e7), describe: 'after training, measure each output\'s mean and spread over the first N training samples (labels unused) and answer by the largest (output - mean) / spread; needs two or more outputs; 0: off' })
    .option('seed', { coerce: int('seed', 0, 0xffffffff), default: 1, describe: 'random seed for weights and shuffles' })
    .option('precision', { type: 'string', choices: ['f32', 'f64'], describe: 'float32 (fast) or float64 (reference)' })
    .option('kernels', { type: 'string', choices: ['auto', 'native', 'wasm', 'js'], describe: 'native SIMD addon (f32; the default where it built), WebAssembly SIMD (f32) or plain JavaScript; auto: the fastest available' });
}

export function withNetworkFlags<T>(y: Argv<T>) {
  return withModelFlags(y)
    .option('strategy', { type: 'string', choices: STRATEGIES as string[], describe: 'how work is spread over threads (default: serial; with --workers > 1, train runs the byte-identical strategy the scaling model predicts fastest here)' })
    .option('workers', { coerce: int('workers', 1, MAX_WORKERS), describe: `threads, the main one included (1-${MAX_WORKERS})` });
}

export function toTrainerOptions(a: NetworkArgs): TrainerOptions {
  const model: Partial<ModelConfig> = {};
  const train: Partial<TrainConfig> = { seed: a.seed };
  if (a.hidden !== undefined) model.hidden = parseHidden(a.hidden);
  if (a.topology !== undefined) model.topology = a.topology as ModelConfig['topology'];
  if (a.rule !== undefined) model.rule = a.rule as ModelConfig['rule'];
  if (a.activation !== undefined) model.activation = a.activation as ModelConfig['activation'];
  if (a['output-activation'] !== undefined) model.outputActivation = a['output-activation'] as ModelConfig['activation'];
  if (a.alpha !== undefined) model.alphaHidden = a.alpha;
  if (a['alpha-output'] !== undefined) model.alphaOutput = a['alpha-output'];
  if (a['alpha-cross'] !== undefined) model.alphaCross = a['alpha-cross'];
  if (a.u0 !== undefined) model.u0 = a.u0;
  if (a.u1 !== undefined) model.u1 = a.u1;
  if (a.beta !== undefined) model.beta = a.beta;
  if (a.bias !== undefined) model.bias = a.bias as ModelConfig['bias'];
  if (a['init-scale'] !== undefined) model.initScale = a['init-scale'];
  if (a.ensemble !== undefined) model.ensemble = a.ensemble;
  if (a.features !== undefined) model.features = a.features === 'none' ? undefined : a.features as ModelConfig['features'];
  if (a['input-power'] !== undefined) model.inputPower = a['input-power'];
  if (a['input-scale'] !== undefined) model.inputScale = a['input-scale'];
  if (a['input-onoff'] !== undefined) model.inputOnOff = a['input-onoff'];
  if (a.calibrate !== undefined) model.calibrate = a.calibrate;
  if (a.precision !== undefined) {
    model.precision = a.precision as ModelConfig['precision'];
    // Asking for float64 alone means the JavaScript kernels (the wasm ones are float32).
    if (a.precision === 'f64' && a.kernels === undefined) model.kernels = 'js';
  }
  if (a.kernels !== undefined) model.kernels = a.kernels as ModelConfig['kernels'];
  if (a.epochs !== undefined) train.epochs = a.epochs;
  if (a.batch !== undefined) train.batch = a.batch;
  if (a['alpha-decay'] !== undefined) train.alphaDecay = a['alpha-decay'];
  const o: TrainerOptions = { preset: a.preset as PresetName, model, train };
  if (a.strategy !== undefined) o.strategy = a.strategy as StrategyName;
  if (a.workers !== undefined) o.workers = a.workers;
  return o;
}

/**
 * The data flags as loadDataset options. A preset that trains on shifted copies (mnist10) asks for
 * them unless --no-shifted says otherwise; images that are not square are left as they are then.
 */
export function dataOptions(a: { data?: string; classes?: string; limit?: number; shifted?: boolean; preset?: string }): { classes?: number[]; limit?: number; shifted?: boolean } {
  const o: { classes?: number[]; limit?: number; shifted?: boolean } = {};
  if (a.classes !== undefined) o.classes = parseClasses(a.classes);
  if (a.limit !== undefined) o.limit = a.limit;
  const byPreset = a.shifted === undefined && a.preset !== undefined && (PRESETS as readonly string[]).includes(a.preset) && getPreset(a.preset).shifted === true;
  if (a.shifted === true || (byPreset && /^(mnist|fashion-mnist|idx:)/.test(a.data ?? ''))) o.shifted = true;
  return o;
}

/** Parses a comma-separated list of worker counts, e.g. 1,2,4,8,16. */
export function parseWorkerList(spec: string, flag = 'workers'): number[] {
  const out = String(spec).split(',').map((p) => {
    const n = Number(p.trim());
    check(p.trim() !== '' && Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS, `--${flag} must list integers from 1 to ${MAX_WORKERS}, e.g. 1,2,4, got '${spec}'`);
    return n;
  });
  return [...new Set(out)].sort((a, b) => a - b);
}

/** Parses a comma-separated list of names, each one of `allowed`. */
export function parseNameList<T extends string>(spec: string, allowed: readonly T[], flag: string): T[] {
  const out = String(spec).split(',').map((p) => p.trim());
  for (const p of out) check((allowed as readonly string[]).includes(p), `--${flag}: unknown value '${p}' (expected some of: ${allowed.join(', ')})`);
  return [...new Set(out)] as T[];
}

/**
 * A one-line note when a paired network's test accuracy is about chance (under 1.5 / classes) on
 * three or more classes, else undefined: the paired topology (the article's and bench-wide's) is
 * one network for all outputs, which ED does not teach several classes; Kaneko's topology trains
 * one network per class (docs/classes.md). `results`: each preset's name, accuracy and topology.
 */
export function chanceNote(results: { name: string; accuracy: number; topology: Topology }[], classes: number): string | undefined {
  if (classes < 3) return undefined;
  const low = results.filter((r) => r.topology === 'paired' && r.accuracy < 1.5 / classes);
  if (low.length === 0) return undefined;
  const names = low.map((r) => `${r.name} ${(100 * r.accuracy).toFixed(1)} %`).join(', ');
  return `test accuracy about chance for ${classes} classes (${names}): the paired topology is one network for all outputs, which ED does not teach several classes; for ten classes train Kaneko's one network per class (--topology kaneko, or --preset mnist10: docs/classes.md)`;
}
