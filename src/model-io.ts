/**
 * Model files: edsim's JSON (a format name and version; weights as base64 float64 bytes, so files
 * compare byte for byte), or safetensors (one tensor per layer's weights and bias in the model's
 * precision, the config in the header's metadata) for NumPy, PyTorch and the model hubs.
 */
import { featureSpec } from './data/features.js';
import { extname } from 'node:path';
import { check, EdsimError } from './errors.js';
import { decodeSafetensors, encodeSafetensors, isSafetensors, type Tensor } from './safetensors.js';
import { netShapes } from './engine/layout.js';
import { type ModelConfig, validateModelConfig } from './options.js';
import { atomicWrite, MAX_TEXT_BYTES, readChecked } from './files.js';
import type { WeightSet } from './engine/weights.js';

export const MODEL_FORMAT = 'edsim-model';
/**
 * The newest format version this edsim writes and reads. Version 2 is written only for models whose
 * config changes what the network reads (a feature bank, an input coding): edsim before it reads
 * version 1 alone, so it refuses such a file in one line instead of silently reading pixels as they
 * are. Version 3 is written only for models that carry an output calibration (config.calibrate),
 * which changes their answers, for the same reason, and version 4 only for models with the ON/OFF
 * input coding (config.inputOnOff, its means in tensor input.mean). Everything else is still written
 * as version 1, which every edsim reads.
 */
export const MODEL_VERSION = 4;

/** Whether this edsim reads files of format version `v`. */
function readsVersion(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MODEL_VERSION;
}

/** The format version a model file is written as (see MODEL_VERSION). */
export function modelVersion(m: Pick<ModelFile, 'config' | 'calibration'>): number {
  const c = m.config;
  return c.inputOnOff ? 4 : m.calibration ? 3 : c.features !== undefined || c.inputPower !== undefined || c.inputScale !== undefined ? 2 : 1;
}

/** Per output, the mean and standard deviation of the trained model's outputs over its calibration samples (ModelConfig.calibrate). */
export interface Calibration {
  /** Per output, the mean output. */
  mean: Float64Array;
  /** Per output, the standard deviation (> 0). */
  sd: Float64Array;
}

/** Checks a calibration against a model's output count; `where` names the file in the message. */
function checkCalibration(c: Calibration, outputs: number, where: string): void {
  check(c.mean.length === outputs && c.sd.length === outputs, `${where}: the calibration has ${c.mean.length} means and ${c.sd.length} deviations; the model has ${outputs} outputs`);
  check(c.mean.every(Number.isFinite) && c.sd.every((v) => Number.isFinite(v) && v > 0), `${where}: the calibration holds NaN, infinite or non-positive deviations`);
}

/** A saved model: what {@link saveModel} writes and {@link loadModel} reads. */
export interface ModelFile {
  /** The model's settings, shape included. */
  config: ModelConfig;
  /** Per net, per layer: weights and bias. */
  weights: WeightSet;
  /** Class labels the outputs stand for (empty when the task has no classes). */
  classes: number[];
  /** The output calibration measured at the end of training, where the config asks for one. */
  calibration?: Calibration;
  /** The ON/OFF coding's per-value means (config.inputOnOff): config.inputs / 2 values. */
  inputMean?: Float64Array;
}

/** Checks that a model has its ON/OFF means exactly where its config asks for the coding; `where` names the file. */
function checkInputMean(config: ModelConfig, mean: Float64Array | undefined, where: string): void {
  check(!config.inputOnOff === !mean, config.inputOnOff ? `${where}: the config asks for the ON/OFF coding but the file has no input means` : `${where} has input means but its config has no ON/OFF coding`);
  if (!mean) return;
  check(mean.length * 2 === config.inputs, `${where}: the ON/OFF coding has ${mean.length} means; the model reads ${config.inputs} inputs (two a value)`);
  check(mean.every(Number.isFinite), `${where}: the input means hold NaN or infinite values`);
}

const enc = (a: Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function dec(s: unknown, n: number, what: string): Float64Array {
  check(typeof s === 'string', `model file is corrupt: ${what} is not a base64 string`);
  const buf = Buffer.from(s, 'base64');
  check(buf.length === n * 8, `model file is corrupt: ${what} has ${buf.length / 8} values, expected ${n}`);
  const out = new Float64Array(n);
  new Uint8Array(out.buffer).set(buf);
  check(out.every(Number.isFinite), `model file is corrupt: ${what} contains NaN or infinite values`);
  return out;
}

/**
 * Refuses, in one line, a model too large for edsim's JSON: its float64 values as base64 take 32 / 3
 * characters each, and V8 holds at most MAX_TEXT_BYTES characters in one string (so neither
 * JSON.stringify nor loadModel could take it). `values`: weights, biases, calibration and means.
 */
export function checkJsonModelFits(values: number, path: string): void {
  const chars = Math.ceil((values * 8) / 3) * 4 + (1 << 20); // a MiB for the config and the names
  check(chars <= MAX_TEXT_BYTES, `${path}: a model of ${values} values is ${Math.round(chars / 2 ** 20)} MiB as edsim's JSON, over the ${Math.floor(MAX_TEXT_BYTES / 2 ** 20)} MiB a string can hold; save it as safetensors (a name ending in .safetensors)`);
}

/** How many values edsim's JSON of `m` would hold (weights, biases, calibration, input means). */
function modelValues(m: ModelFile): number {
  let n = 0;
  for (const net of m.weights) for (const l of net) n += l.w.length + l.b.length;
  return n + (m.calibration ? 2 * m.calibration.mean.length : 0) + (m.inputMean?.length ?? 0);
}

export function serializeModel(m: ModelFile, path = 'the model'): string {
  checkJsonModelFits(modelValues(m), path);
  return JSON.stringify({
    format: MODEL_FORMAT, version: modelVersion(m), config: m.config, classes: m.classes,
    weights: m.weights.map((net) => net.map((l) => ({ w: enc(l.w), b: enc(l.b) }))),
    ...(m.calibration ? { calibration: { mean: enc(m.calibration.mean), sd: enc(m.calibration.sd) } } : {}),
    ...(m.inputMean ? { inputMean: enc(m.inputMean) } : {}),
  });
}

/** A path ending in .safetensors is written in that format; anything else as edsim's JSON. */
export function modelFormatOf(path: string): 'json' | 'safetensors' {
  return extname(path).toLowerCase() === '.safetensors' ? 'safetensors' : 'json';
}

/**
 * Writes atomically and durably (atomicWrite) so an interrupted save never leaves half a model;
 * as safetensors where the path ends in .safetensors (or `format` says so), else as edsim's JSON.
 */
export function saveModel(path: string, m: ModelFile, format = modelFormatOf(path)): void {
  atomicWrite(path, format === 'safetensors' ? modelToSafetensors(m) : serializeModel(m, path), 'model');
}

/** The tensor names of net n's layer k: `net{n}.layer{k}.weight` (shape [inputs, cells], source-major) and `.bias` ([cells]). */
export const tensorName = (n: number, k: number, what: 'weight' | 'bias'): string => `net${n}.layer${k}.${what}`;

/** How the exported tensors compute the model's outputs, for whoever reads the file without edsim. */
export const FORWARD_NOTE = 'Per net n (kaneko topology: one net per output; paired/columns: one net), x0 = the input row with every feature twice (kaneko/columns: x1,x1,x2,x2,...; paired: all features, then all again), '
  + 'preceded by [beta, beta] when config.bias is "cells". Layer k: u = x @ weight (+ bias when present), o = act(u) with sigmoid(u) = 1 / (1 + exp(-2u/u0)), '
  + 'relu, elu, softplus(u) = log1p(exp(u/5))/5, tanh; act is config.activation, the last layer config.outputActivation if set. The next layer reads [beta, beta] (bias cells) then o. '
  + 'The outputs are the last layers\' o, nets in order; with config.ensemble = m (kaneko topology, m nets per output, net j * outputs + o serving output o), output o is the mean of its m nets\' o. '
  + 'With config.features (e.g. "gabor"), the input row is not the pixels but their features as metadata edsim.features describes (JSON of the bank): per orientation k (angle k * pi / orientations), '
  + 'even and odd kernels over dx, dy in [-radius, radius]: xr = dx cos + dy sin, yr = -dx sin + dy cos, env = exp(-(xr^2 + gamma^2 yr^2) / (2 sigma^2)), even = env cos(2 pi xr / lambda) minus its mean, odd = env sin(2 pi xr / lambda); '
  + 're and im = the square image convolved with each (same size, zeros outside), energy = min(1, sqrt(re^2 + im^2) / scale), the max of each pool x pool block (row-major blocks); features ordered orientation, block row, block column, then the pixels if raw. '
  + 'With config.inputPower or config.inputScale (absent: 1), every value of that row v becomes inputScale * sign(v) * |v|^inputPower before anything reads it. '
  + 'With config.inputOnOff and tensor input.mean (m, one value per value of the coded row), the row v becomes max(0, v - m) followed by max(0, m - v), twice as long. '
  + 'With tensors calibration.mean and calibration.sd (config.calibrate), the answer is the argmax of (output - mean) / sd, not of the outputs.';

/** The model as safetensors: a tensor per layer's weights and bias, in the model's precision; config and classes as JSON in the metadata. */
export function modelToSafetensors(m: ModelFile, extra: [string, Tensor][] = [], metadata: Record<string, string> = {}): Buffer {
  return encodeSafetensors([...modelTensors(m), ...extra], {
    format: MODEL_FORMAT, 'edsim.version': String(modelVersion(m)),
    'edsim.config': JSON.stringify(m.config), 'edsim.classes': JSON.stringify(m.classes), 'edsim.forward': FORWARD_NOTE,
    ...(m.config.features ? { 'edsim.features': JSON.stringify(featureSpec(m.config.features)) } : {}), ...metadata,
  });
}

/** The model's tensors, named as {@link tensorName} says, in its precision. */
export function modelTensors(m: ModelFile): [string, Tensor][] {
  const f32 = m.config.precision === 'f32';
  const out: [string, Tensor][] = [];
  const shapes = netShapes(m.config);
  m.weights.forEach((net, n) => net.forEach((l, k) => {
    const shape = shapes[n]![k]!;
    out.push([tensorName(n, k, 'weight'), { dtype: f32 ? 'F32' : 'F64', shape: [shape.nIn, shape.nOut], data: f32 ? Float32Array.from(l.w) : l.w }]);
    if (l.b.length > 0) out.push([tensorName(n, k, 'bias'), { dtype: f32 ? 'F32' : 'F64', shape: [shape.nOut], data: f32 ? Float32Array.from(l.b) : l.b }]);
  }));
  // The calibration stays float64 in every precision: it is measured in float64 and is tiny.
  if (m.calibration) {
    for (const what of ['mean', 'sd'] as const) out.push([`calibration.${what}`, { dtype: 'F64', shape: [m.config.outputs], data: m.calibration[what] }]);
  }
  if (m.inputMean) out.push(['input.mean', { dtype: 'F64', shape: [m.inputMean.length], data: m.inputMean }]);
  return out;
}

function jsonField(meta: Record<string, string>, key: string, where: string): unknown {
  check(typeof meta[key] === 'string', `${where} has no ${key} in its metadata: not an edsim model (edsim imports safetensors files it exported, or written with the same names and metadata)`);
  try {
    return JSON.parse(meta[key]!);
  } catch {
    throw new EdsimError(`${where}: the metadata's ${key} is not valid JSON`);
  }
}

/** Reads a model from safetensors bytes (edsim's tensor names, the config in the metadata); weights may be F32 or F64. */
export function modelFromSafetensors(buf: Uint8Array, where: string): ModelFile {
  const { tensors, metadata } = decodeSafetensors(buf, where);
  const version = metadata['edsim.version'];
  check(version === undefined || readsVersion(Number(version)), `${where} has edsim.version ${String(version)}; this edsim reads versions 1 to ${MODEL_VERSION}`);
  const config = jsonField(metadata, 'edsim.config', where) as ModelConfig;
  check(config !== null && typeof config === 'object' && !Array.isArray(config), `${where}: the metadata's edsim.config is not an object`);
  validateModelConfig(config);
  const classes = metadata['edsim.classes'] === undefined ? [] : jsonField(metadata, 'edsim.classes', where);
  check(Array.isArray(classes) && classes.every((c) => Number.isInteger(c)), `${where}: the metadata's edsim.classes is not a list of integers`);
  const weights = netShapes(config).map((layers, n) => layers.map((l, k) => {
    const get = (what: 'weight' | 'bias', shape: number[]): Float64Array => {
      const name = tensorName(n, k, what);
      const t = tensors.get(name);
      check(t, `${where} has no tensor ${name}, which its config needs`);
      check(t.dtype === 'F32' || t.dtype === 'F64', `${where}: tensor ${name} is ${t.dtype}; weights must be F32 or F64`);
      check(t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]), `${where}: tensor ${name} has shape ${JSON.stringify(t.shape)}; the config needs ${JSON.stringify(shape)}`);
      const v = Float64Array.from(t.data);
      check(v.every(Number.isFinite), `${where}: tensor ${name} contains NaN or infinite values`);
      return v;
    };
    return { w: get('weight', [l.nIn, l.nOut]), b: l.biasVector ? get('bias', [l.nOut]) : new Float64Array(0) };
  }));
  const mean = tensors.get('calibration.mean');
  const sd = tensors.get('calibration.sd');
  check(!mean === !sd, `${where} has only one of the tensors calibration.mean and calibration.sd`);
  let calibration: Calibration | undefined;
  if (mean && sd) {
    check(mean.dtype === 'F64' && sd.dtype === 'F64', `${where}: the calibration tensors must be F64`);
    calibration = { mean: Float64Array.from(mean.data), sd: Float64Array.from(sd.data) };
    checkCalibration(calibration, config.outputs, where);
  }
  const im = tensors.get('input.mean');
  check(!im || (im.dtype === 'F64' && im.shape.length === 1), `${where}: tensor input.mean must be F64 and one-dimensional`);
  const inputMean = im ? Float64Array.from(im.data) : undefined;
  checkInputMean(config, inputMean, where);
  return { config, weights, classes: classes as number[], ...(calibration ? { calibration } : {}), ...(inputMean ? { inputMean } : {}) };
}

export function parseModel(text: string, where: string): ModelFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new EdsimError(`model file ${where} is not valid JSON (corrupt or not an edsim model)`);
  }
  const o = raw as Record<string, unknown>;
  check(o && typeof o === 'object' && o.format === MODEL_FORMAT, `${where} is not an edsim model file`);
  check(readsVersion(o.version), `model file ${where} has format version ${String(o.version)}; this edsim reads versions 1 to ${MODEL_VERSION}`);
  const config = o.config as ModelConfig;
  check(config && typeof config === 'object', `model file ${where} is corrupt: no config`);
  validateModelConfig(config);
  const shapes = netShapes(config);
  const w = o.weights as { w: unknown; b: unknown }[][];
  check(Array.isArray(w) && w.length === shapes.length, `model file ${where} is corrupt: expected ${shapes.length} nets`);
  const weights = shapes.map((layers, n) => {
    check(Array.isArray(w[n]) && w[n]!.length === layers.length, `model file ${where} is corrupt: net ${n} should have ${layers.length} layers`);
    return layers.map((l, k) => ({
      w: dec(w[n]![k]!.w, l.nIn * l.nOut, `net ${n} layer ${k} weights`),
      b: dec(w[n]![k]!.b, l.biasVector ? l.nOut : 0, `net ${n} layer ${k} bias`),
    }));
  });
  const classes = Array.isArray(o.classes) ? (o.classes as number[]) : [];
  const inputMean = o.inputMean === undefined ? undefined : dec(o.inputMean, Math.floor(config.inputs / 2), 'input means');
  checkInputMean(config, inputMean, `model file ${where}`);
  const means = inputMean ? { inputMean } : {};
  const cal = o.calibration as { mean: unknown; sd: unknown } | undefined;
  if (cal === undefined) return { config, weights, classes, ...means };
  check(cal !== null && typeof cal === 'object', `model file ${where} is corrupt: calibration is not an object`);
  const calibration = { mean: dec(cal.mean, config.outputs, 'calibration means'), sd: dec(cal.sd, config.outputs, 'calibration deviations') };
  checkCalibration(calibration, config.outputs, `model file ${where}`);
  return { config, weights, classes, calibration, ...means };
}

/** Reads an edsim JSON model or a safetensors model (told apart by the first bytes, not the name). */
export function loadModel(path: string): ModelFile {
  const buf = readChecked(path, 'model file', MAX_TEXT_BYTES);
  check(buf.length > 0, `model file ${path} is empty`);
  if (isSafetensors(buf)) return modelFromSafetensors(buf, path); // edsim's JSON starts with '{"format"'
  return parseModel(buf.toString('utf8'), path);
}
