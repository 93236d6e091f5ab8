import { ACTIVATIONS, type ActivationName } from './engine/activations.js';
import { check } from './errors.js';
import { checkCoding } from './data/coding.js';
import { FEATURE_NAMES, type FeatureName } from './data/features.js';
import { nativeAddon, nativeReason, warnFallbackOnce } from './kernels/native.js';

/**
 * `kaneko`: one independent network per output, alternating I/E hidden cells; `paired`: the article's
 * layers of n E + n I cells; `columns`: one network whose hidden layers hold a column of cells per
 * class, fully connected between layers, each column learning from its own class's amine.
 */
export type Topology = 'kaneko' | 'paired' | 'columns';
/** `kaneko`: unidirectional (|w| only grows); `bidirectional`: the article's rule (Kaneko's optional flag). */
export type RuleName = 'kaneko' | 'bidirectional';
/** `cells`: Kaneko's two constant source cells of value beta; `vector`: a per-cell bias; `none`. */
export type BiasMode = 'cells' | 'vector' | 'none';
/** The presets: starting settings that flags and options override (docs/reference.md). */
export type PresetName = 'kaneko' | 'article' | 'bench-wide' | 'mnist10' | 'fashion10' | 'mnist10-gabor' | 'fashion10-gabor';
/** f64: the reference precision (replays, Kaneko's preset); f32: the fast path. */
export type Precision = 'f64' | 'f32';
/** native: the C++ addon's SIMD kernels (f32 only); wasm: WebAssembly SIMD kernels (f32 only); js: plain JavaScript. */
export type KernelImpl = 'js' | 'wasm' | 'native';
/** What a user may ask for: one implementation, or `auto` (native where it loads, else wasm; js for f64). */
export type KernelChoice = KernelImpl | 'auto';
export const KERNEL_CHOICES: readonly KernelChoice[] = ['auto', 'native', 'wasm', 'js'];

export const TOPOLOGIES: readonly Topology[] = ['kaneko', 'paired', 'columns'];
export const RULES: readonly RuleName[] = ['kaneko', 'bidirectional'];
export const BIAS_MODES: readonly BiasMode[] = ['cells', 'vector', 'none'];
/** Every preset name. */
export const PRESETS: readonly PresetName[] = ['kaneko', 'article', 'bench-wide', 'mnist10', 'fashion10', 'mnist10-gabor', 'fashion10-gabor'];

/** Everything that defines a network's shape and learning rule; saved with the model. */
export interface ModelConfig {
  /** How cells are arranged: see {@link Topology}. */
  topology: Topology;
  /** The update rule: see {@link RuleName}. */
  rule: RuleName;
  /** Input features (from the data). */
  inputs: number;
  /** Output cells (from the data: 1 for two classes, else one per class). */
  outputs: number;
  /** Cells per hidden layer, E and I together (paired: must be even; columns: cells per class column). */
  hidden: number[];
  /** The hidden cells' activation (and the outputs', unless outputActivation). */
  activation: ActivationName;
  /** The output cells' activation when it differs from the hidden cells' (absent: the same). */
  outputActivation?: ActivationName;
  /** Sigmoid slope parameter: f(u) = 1 / (1 + exp(-2u / u0)). */
  u0: number;
  /** Amine diffusion factor for hidden layers. */
  u1: number;
  /** Value of Kaneko's bias cells. */
  beta: number;
  /** Bias: see {@link BiasMode}. */
  bias: BiasMode;
  /** Learning rate of the hidden layers. */
  alphaHidden: number;
  /** Learning rate of the output layer. */
  alphaOutput: number;
  /**
   * Kaneko topology: independent networks per output (absent: 1), trained side by side on the same
   * samples from different initial weights; an output is the mean of its networks' outputs.
   */
  ensemble?: number;
  /**
   * A fixed input feature bank (data/features.ts): the network reads its features of the images,
   * not the pixels, and `inputs` counts features; callers still pass pixels (absent: pixels).
   */
  features?: FeatureName;
  /**
   * Input coding (data/coding.ts): every value the network reads (a pixel, or a bank's feature)
   * becomes inputScale * sign(v) * |v|^inputPower; absent: 1 (the values as they are).
   */
  inputPower?: number;
  /** See inputPower. */
  inputScale?: number;
  /**
   * ON/OFF input coding (data/coding.ts), after inputPower / inputScale: every value v the network
   * reads becomes two, max(0, v - m) and max(0, m - v), m that value's mean over the first fit's
   * training samples (saved with the model, tensor input.mean); `inputs` counts both. Absent: off.
   */
  inputOnOff?: boolean;
  /**
   * Output calibration: at the end of every fit, each output's mean and standard deviation over the
   * first `calibrate` training samples are measured with the trained weights (labels unused), and
   * answers (evaluate's accuracy, `Trainer.scores`) compare (output - mean) / sd instead of the raw
   * outputs. Needs two or more outputs. Absent or 0: off.
   */
  calibrate?: number;
  /** Columns topology: rate of an output's weights from other classes' columns (absent: alphaOutput / 100). */
  alphaCross?: number;
  /**
   * Receptive fields (kaneko topology and rule): each cell of a net's first hidden layer reads only a
   * `field` x `field` window of the image (square inputs), at a position drawn from the seed; its
   * weights from every other pixel start at 0 and, under Kaneko's rule, stay 0. Absent or 0: every
   * cell reads every pixel.
   */
  field?: number;
  /** Initial weight magnitudes are uniform in [0, initScale). */
  initScale: number;
  /** Use a correctly rounded exp in the sigmoid, as the C library does (bit-faithful replays; slower). */
  faithfulExp: boolean;
  /** Float precision of the weights and activations. */
  precision: Precision;
  /** `auto` only until a trainer resolves it (resolveKernels): a built model names what ran. */
  kernels: KernelChoice;
}

/** How to train: batch size, epochs, order, stop rule. */
export interface TrainConfig {
  /** Mini-batch size (1 = online, as Kaneko). */
  batch: number;
  /** Maximum epochs. */
  epochs: number;
  /** Shuffle the sample order at the start of every epoch. */
  shuffle: boolean;
  /** Stop once an epoch's summed |error| is below this (Kaneko's rule); 0 disables it. */
  stopErrSum: number;
  /** Seed of the initial weights and the shuffles. */
  seed: number;
  /** Learning-rate schedule: epoch e (from 0) runs at every rate times 1 / (1 + alphaDecay * e); absent or 0: constant. */
  alphaDecay?: number;
}

/** A preset: model and training settings, and how --alpha applies. */
export interface Preset {
  /** Model settings (inputs and outputs come from the data). */
  model: Omit<ModelConfig, 'inputs' | 'outputs'>;
  /** Training settings (the seed comes from the caller). */
  train: Omit<TrainConfig, 'seed'>;
  /** When true, --alpha also sets the output layer's rate (Kaneko has a single alpha). */
  alphaTogether: boolean;
  /** Train on every image and its four one-pixel shifts (the CLI's --shifted, on unless --no-shifted). */
  shifted?: boolean;
}

const KANEKO: Preset = {
  model: {
    topology: 'kaneko', rule: 'kaneko', hidden: [8], activation: 'sigmoid', u0: 0.4, u1: 1, beta: 0.8,
    bias: 'cells', alphaHidden: 0.8, alphaOutput: 0.8, initScale: 1, faithfulExp: true, precision: 'f64', kernels: 'auto',
  },
  train: { batch: 1, epochs: 10000, shuffle: false, stopErrSum: 0.1 },
  alphaTogether: true,
};

const ARTICLE: Preset = {
  model: {
    topology: 'paired', rule: 'bidirectional', hidden: new Array<number>(512).fill(4), activation: 'sigmoid',
    u0: 0.4, u1: 1, beta: 0.1, bias: 'none', alphaHidden: 0.2, alphaOutput: 0.8, initScale: 1, faithfulExp: false,
    precision: 'f32', kernels: 'auto',
  },
  train: { batch: 128, epochs: 10, shuffle: true, stopErrSum: 0 },
  alphaTogether: false,
};

const BENCH_WIDE: Preset = {
  model: { ...ARTICLE.model, hidden: [512, 512, 512, 512] },
  train: { batch: 128, epochs: 3, shuffle: true, stopErrSum: 0 },
  alphaTogether: false,
};

/**
 * Ten classes, Kaneko's form (one independent network of 128 hidden cells per class), trained on
 * every image and its four one-pixel shifts for 10 epochs: chosen on a validation split (the last
 * 10 % of the training split, results/accuracy-search.jsonl: 97.1 % from epoch 8 on, against 95.0 %
 * at the former 14 epochs without shifts; 256 or 512 cells did no better). Designs sharing cells
 * between classes did not beat independent nets (docs/classes.md, results/columns-search.jsonl).
 */
const INDEPENDENT10: Preset = {
  model: { ...KANEKO.model, hidden: [128], alphaHidden: 0.3, alphaOutput: 0.3, initScale: 0.05, faithfulExp: false, precision: 'f32', kernels: 'auto' },
  train: { batch: 16, epochs: 10, shuffle: false, stopErrSum: 0 },
  alphaTogether: true,
  shifted: true,
};

/** Fashion-MNIST's networks: an ensemble of 4 networks of 512 hidden cells per class at half mnist10's rate. */
const FASHION_NETS: Preset['model'] = { ...INDEPENDENT10.model, hidden: [512], alphaHidden: 0.15, alphaOutput: 0.15, ensemble: 4 };

/**
 * Fashion-MNIST underfits where MNIST overfits: an ensemble of 4 networks of 512 hidden cells per
 * class at half mnist10's rate, for 10 epochs with the rate decaying as 1 / (1 + 0.1 e), each pixel
 * v read as 0.5 * sqrt(v) (data/coding.ts). Chosen on the validation split (the last 6000 training
 * images, results/accuracy-search.jsonl): one 512-cell net at rate 0.15 reached 87.0 % at epoch 10
 * and 87.1-87.3 % from 11 to 17 (at rate 0.3 it was unstable; 256 cells at 0.3 needed 24 epochs for
 * 87.0 %); an ensemble of 3 256-cell nets scored 1.0 point above its members' mean (87.8 % against
 * 86.8 %); shifted copies hurt (85.2 %). Reading 0.5 * sqrt(v) instead of v: 87.3 % at epoch 10 and
 * 87.6 % at 12 for one 512-cell net (pixels: 87.0 / 87.1 %), in quick screens on 12,000 images no
 * seed stalled where pixels did (fq-*), and four such nets averaged read 87.8 % at epoch 10
 * (f-ens-h512-r0.15-sqrt0.5; the ensemble on pixels had 85.4 % at epoch 5 where this one had 86.5 %).
 * Answers by each output standardised over the first 6000 training images (calibrate): the same
 * model read 88.40 % at epoch 10 against 87.92 % by its raw outputs (CALIBRATE=6000, f-ens4-sqrt0.5),
 * 0.5-1.9 points above them at every epoch from 1 to 10. Then the ON/OFF coding: each value s =
 * sqrt(v) read as two inputs, max(0, s - m) and max(0, m - s), m its mean over the training images
 * (inputOnOff, inputScale 1): 89.03 % on validation at epoch 10 against 88.40 %, ahead at every
 * epoch (f-ens4-onoff-sqrt1, docs/classes.md "ON/OFF coding"), at about 2.4 times the time an
 * epoch. Without it (--no-input-onoff --input-scale 0.5) this is the preset of before: 87.40 % on the
 * test split, mean of 3 seeds.
 */
const FASHION10: Preset = {
  model: { ...FASHION_NETS, inputPower: 0.5, inputScale: 1, inputOnOff: true, calibrate: 6000 },
  train: { ...INDEPENDENT10.train, epochs: 10, alphaDecay: 0.1 },
  alphaTogether: true,
};

/**
 * "Features + ED", reported apart from the raw-pixel presets: mnist10 reading the images through a
 * fixed Gabor bank (data/features.ts: 8 orientations, energies max-pooled 2x2, 1568 features),
 * computed once and never learned; ED trains everything after it; the sample order shuffled every
 * epoch. Chosen on validation splits (results/accuracy-search.jsonl, configurations g*): 98.5-98.7 %
 * from epoch 7 to 10 on the last 800 training images (mnist10: 97.1 %); pooling 4x4 (392 features)
 * plateaued at 97.4 %; the pixels kept beside the features did no better in 4 epochs at 1.5x the
 * cost. Without shuffling, the training split's order (classes interleaved until the rarer ones run
 * out) ends every epoch with a run of the commonest classes; a validation split that keeps that
 * order (SPLIT=per-class) scored 97.9 % at epoch 10 unshuffled and 98.75 % at epoch 8 shuffled.
 */
const GABOR10: Preset = {
  model: { ...INDEPENDENT10.model, features: 'gabor' },
  train: { ...INDEPENDENT10.train, epochs: 8, shuffle: true },
  alphaTogether: true,
  shifted: true,
};

/**
 * Fashion-MNIST through the same Gabor bank ("features + ED", apart from the raw-pixel figures):
 * one network of 512 hidden cells per class at rate 0.15 with fashion10's decay, 8 epochs. Chosen on
 * the validation split (results/accuracy-search.jsonl, fg-h512-r0.15): 89.1-89.3 % from epoch 6 to
 * 12, where the same network on pixels reached 87.0 % at epoch 10; a quick screen (128 cells, 12,000
 * images, 10 epochs) gave 86.5 % through the bank against 84.45 % on pixels.
 */
const FASHION_GABOR10: Preset = {
  model: { ...FASHION_NETS, ensemble: 1, features: 'gabor' },
  train: { ...FASHION10.train, epochs: 8 },
  alphaTogether: true,
};

export const PRESET_TABLE: Record<PresetName, Preset> = {
  kaneko: KANEKO, article: ARTICLE, 'bench-wide': BENCH_WIDE, mnist10: INDEPENDENT10, fashion10: FASHION10, 'mnist10-gabor': GABOR10, 'fashion10-gabor': FASHION_GABOR10,
};

/** The preset called `name`, or an EdsimError naming the known ones. */
export function getPreset(name: string): Preset {
  check((PRESETS as readonly string[]).includes(name), `unknown preset '${name}' (expected one of: ${PRESETS.join(', ')})`);
  const p = PRESET_TABLE[name as PresetName];
  return { model: { ...p.model, hidden: [...p.model.hidden] }, train: { ...p.train }, alphaTogether: p.alphaTogether, ...(p.shifted ? { shifted: true } : {}) };
}

function positiveInt(v: number, what: string, max = 1e9): void {
  check(Number.isInteger(v) && v >= 1 && v <= max, `${what} must be an integer from 1 to ${max}, got ${v}`);
}

function finitePositive(v: number, what: string): void {
  check(Number.isFinite(v) && v > 0, `${what} must be a positive number, got ${v}`);
}

/**
 * Validates a model config; every message is a fixed line the CLI prints as is. `shapeFree`: the
 * inputs and outputs are placeholders (before any data is read), so checks that need them wait.
 */
export function validateModelConfig(c: ModelConfig, shapeFree = false): void {
  check((TOPOLOGIES as readonly string[]).includes(c.topology), `unknown topology '${c.topology}' (expected kaneko, paired or columns)`);
  check((RULES as readonly string[]).includes(c.rule), `unknown rule '${c.rule}' (expected kaneko or bidirectional)`);
  check((ACTIVATIONS as readonly string[]).includes(c.activation), `unknown activation '${c.activation}' (expected one of: ${ACTIVATIONS.join(', ')})`);
  check(c.outputActivation === undefined || (ACTIVATIONS as readonly string[]).includes(c.outputActivation),
    `unknown output activation '${String(c.outputActivation)}' (expected one of: ${ACTIVATIONS.join(', ')})`);
  check((BIAS_MODES as readonly string[]).includes(c.bias), `unknown bias mode '${c.bias}' (expected cells, vector or none)`);
  positiveInt(c.inputs, 'inputs', 1e6);
  positiveInt(c.outputs, 'outputs', 1000);
  check(Array.isArray(c.hidden) && c.hidden.length >= 1, 'hidden must list at least one hidden layer, e.g. --hidden 8');
  check(c.hidden.length <= 4096, 'hidden may list at most 4096 layers');
  for (const h of c.hidden) positiveInt(h, 'hidden layer size', 65536);
  if (c.ensemble !== undefined) {
    positiveInt(c.ensemble, 'ensemble', 64);
    check(c.ensemble === 1 || c.topology === 'kaneko', `an ensemble needs the kaneko topology (independent networks per output), not ${c.topology}`);
  }
  checkCoding({ power: c.inputPower, scale: c.inputScale });
  check(c.inputOnOff === undefined || typeof c.inputOnOff === 'boolean', `inputOnOff must be true or false, got ${JSON.stringify(c.inputOnOff)}`);
  check(shapeFree || !c.inputOnOff || c.inputs % 2 === 0, `the ON/OFF coding reads two inputs a value, so the model's inputs must be even, got ${c.inputs}`);
  check(c.calibrate === undefined || (Number.isInteger(c.calibrate) && c.calibrate >= 0 && c.calibrate <= 1e7), `calibrate must be a whole number of samples from 0 to 10000000, got ${String(c.calibrate)}`);
  check(!c.calibrate || c.outputs >= 2, 'calibrate needs two or more outputs (it standardises each output to compare them)');
  if (c.field !== undefined && c.field !== 0) {
    check(Number.isInteger(c.field) && c.field >= 1 && c.field <= 4096, `field must be a whole number of pixels from 1 to 4096 (0: off), got ${String(c.field)}`);
    check(c.topology === 'kaneko' && c.rule === 'kaneko', 'field needs the kaneko topology and rule (a weight that starts at 0 stays 0 only under that rule)');
    check(!c.inputOnOff, 'field and the ON/OFF coding do not combine (a field is a window of the image; the coding reads every value twice)');
    const side = Math.round(Math.sqrt(c.inputs));
    check(shapeFree || side * side === c.inputs, `field needs square images (a square number of inputs), but the model reads ${c.inputs}`);
    check(shapeFree || c.field <= side, `field ${c.field} is wider than the images (${side} x ${side})`);
  }
  check(c.features === undefined || (FEATURE_NAMES as readonly string[]).includes(c.features), `unknown feature bank '${String(c.features)}' (expected one of: ${FEATURE_NAMES.join(', ')})`);
  if (c.topology === 'paired') {
    check(c.hidden.every((h) => h % 2 === 0), 'paired topology needs an even number of cells per hidden layer (n E + n I)');
  }
  for (const [v, what] of [[c.u0, 'u0'], [c.alphaHidden, 'alpha'], [c.alphaOutput, 'output alpha'], [c.initScale, 'init scale']] as const) {
    finitePositive(v, what);
  }
  check(c.alphaCross === undefined || (Number.isFinite(c.alphaCross) && c.alphaCross >= 0), `cross-column alpha must be a number >= 0, got ${String(c.alphaCross)}`);
  check(Number.isFinite(c.u1) && c.u1 >= 0, `u1 must be a non-negative number, got ${c.u1}`);
  check(Number.isFinite(c.beta), `beta must be a finite number, got ${c.beta}`);
  check(typeof c.faithfulExp === 'boolean', 'faithfulExp must be true or false');
  check(c.precision === 'f64' || c.precision === 'f32', `precision must be f32 or f64, got '${c.precision}'`);
  check((KERNEL_CHOICES as readonly string[]).includes(c.kernels), `kernels must be one of ${KERNEL_CHOICES.join(', ')}, got '${c.kernels}'`);
  check(!(c.kernels === 'wasm' && c.precision === 'f64'), 'the wasm kernels are float32: use --precision f32 with --kernels wasm, or --kernels js');
  check(!(c.kernels === 'native' && c.precision === 'f64'), 'the native kernels are float32: use --precision f32 with --kernels native, or --kernels js');
}

/**
 * The implementation that runs: `auto` picks native where the addon loads (saying once, on stderr,
 * why not otherwise) and wasm else, or js for float64. Asking for native where it cannot load is an
 * error when `strict` (the user asked), a fallback to wasm otherwise (a saved model opened elsewhere).
 */
export function resolveKernels(choice: KernelChoice, precision: Precision, strict: boolean): KernelImpl {
  if (choice !== 'auto' && choice !== 'native') return choice;
  if (precision === 'f64') return 'js';
  if (nativeAddon()) return 'native';
  check(!(strict && choice === 'native'), `--kernels native: ${nativeReason()} (use --kernels wasm)`);
  warnFallbackOnce();
  return 'wasm';
}

export function validateTrainConfig(t: TrainConfig): void {
  positiveInt(t.batch, 'batch', 65536);
  positiveInt(t.epochs, 'epochs', 1e7);
  check(Number.isFinite(t.stopErrSum) && t.stopErrSum >= 0, `stop error sum must be >= 0, got ${t.stopErrSum}`);
  check(t.alphaDecay === undefined || (Number.isFinite(t.alphaDecay) && t.alphaDecay >= 0), `alpha decay must be a number >= 0, got ${String(t.alphaDecay)}`);
  check(Number.isInteger(t.seed) && t.seed >= 0 && t.seed <= 0xffffffff, `seed must be an integer from 0 to 4294967295, got ${t.seed}`);
}
