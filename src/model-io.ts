/** Model files: JSON with a format name and version; weights as base64 float64 bytes, so files compare byte for byte. */
import { readFileSync } from 'node:fs';
import { check, EdsimError } from './errors.js';
import { netShapes } from './engine/layout.js';
import { type ModelConfig, validateModelConfig } from './options.js';
import { atomicWrite, MAX_TEXT_BYTES, readChecked } from './files.js';
import type { WeightSet } from './engine/weights.js';

export const MODEL_FORMAT = 'edsim-model';
export const MODEL_VERSION = 1;

export interface ModelFile {
  config: ModelConfig;
  weights: WeightSet;
  /** Class labels the outputs stand for (empty when the task has no classes). */
  classes: number[];
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

export function serializeModel(m: ModelFile): string {
  return JSON.stringify({
    format: MODEL_FORMAT, version: MODEL_VERSION, config: m.config, classes: m.classes,
    weights: m.weights.map((net) => net.map((l) => ({ w: enc(l.w), b: enc(l.b) }))),
  });
}

/** Writes atomically (temporary file, then rename) so an interrupted save never leaves half a model. */
export function saveModel(path: string, m: ModelFile): void {
  atomicWrite(path, serializeModel(m));
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
  check(o.version === MODEL_VERSION, `model file ${where} has format version ${String(o.version)}; this edsim reads version ${MODEL_VERSION}`);
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
  return { config, weights, classes };
}

export function loadModel(path: string): ModelFile {
  const text = readChecked(path, 'model file', MAX_TEXT_BYTES, 'utf8');
  check(text.length > 0, `model file ${path} is empty`);
  return parseModel(text, path);
}
