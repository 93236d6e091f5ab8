/**
 * A per-value input coding (issue 21's "input coding" on raw pixels): every value the network reads
 * becomes scale * sign(v) * |v|^power, each value on its own (no pixel reads another, nothing is
 * learned). On Fashion-MNIST a compressive power with a smaller scale (0.5 * sqrt(v)) trained more
 * stably and reached higher validation accuracy than the pixels themselves
 * (results/accuracy-search.jsonl, configurations fq-* and f-h512-*-sqrt0.5).
 *
 * The ON/OFF coding (inputMeans, onOffInputs) goes one step further, as a retina's ON and OFF cells
 * do: each coded value becomes two inputs, how far it lies above its mean over the training images
 * and how far below. ED's weights from an input have one sign per cell pair, so a pixel darker than
 * usual and one brighter than usual can now excite different cells (fs-onoff-*, f-ens4-onoff).
 */
import { check } from '../errors.js';

/** How each input value is coded: scale * sign(v) * |v|^power (absent fields: 1). */
export interface InputCoding {
  /** The exponent (1: linear). */
  power?: number;
  /** The factor applied after the power (1: none). */
  scale?: number;
}

/** Whether a coding changes anything. */
export function codes(c: InputCoding): boolean {
  return (c.power ?? 1) !== 1 || (c.scale ?? 1) !== 1;
}

/** A one-line error unless power and scale are usable (finite, positive, power at most 8). */
export function checkCoding(c: InputCoding): void {
  check(c.power === undefined || (Number.isFinite(c.power) && c.power > 0 && c.power <= 8), `input power must be a number above 0 and at most 8, got ${String(c.power)}`);
  check(c.scale === undefined || (Number.isFinite(c.scale) && c.scale > 0), `input scale must be a positive number, got ${String(c.scale)}`);
}

/** The values `x` coded: a new array of scale * sign(v) * |v|^power. */
export function codeInputs(x: ArrayLike<number>, c: InputCoding): Float64Array {
  const power = c.power ?? 1;
  const scale = c.scale ?? 1;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const m = power === 1 ? Math.abs(v) : Math.abs(v) ** power;
    out[i] = v < 0 ? -scale * m : scale * m;
  }
  return out;
}

/** A model config's coding as text ("0.5 * v^0.5", "ON/OFF of 0.5 * v^0.5"), or undefined where it names none. */
export function codingText(c: { inputPower?: number; inputScale?: number; inputOnOff?: boolean }): string | undefined {
  const value = c.inputPower === undefined && c.inputScale === undefined ? undefined : `${c.inputScale ?? 1} * v^${c.inputPower ?? 1}`;
  return c.inputOnOff ? `ON/OFF of ${value ?? 'v'} against its training mean` : value;
}

/**
 * Per input, the mean of the rows of `x` (`features` values a row): the ON/OFF coding's reference
 * (ModelConfig.inputOnOff), measured once on the first training data and saved with the model.
 */
export function inputMeans(x: ArrayLike<number>, features: number): Float64Array {
  const n = x.length / features;
  check(Number.isInteger(n) && n >= 1, `input means need whole rows of ${features} values, got ${x.length} values`);
  const sum = new Float64Array(features);
  for (let i = 0; i < x.length; i++) sum[i % features]! += x[i]!;
  for (let p = 0; p < features; p++) sum[p]! /= n;
  return sum;
}

/**
 * The ON/OFF coding (ModelConfig.inputOnOff): every row of `features` values v becomes twice as
 * many, first max(0, v - m) for each input, then max(0, m - v), m that input's mean (inputMeans).
 * Each input reads only its own value and one fixed number; a value at its mean reads 0 twice.
 */
export function onOffInputs(x: ArrayLike<number>, features: number, mean: Float64Array): Float64Array {
  check(mean.length === features, `the ON/OFF coding has ${mean.length} means, but the data has ${features} values a row`);
  const n = x.length / features;
  const out = new Float64Array(2 * x.length);
  for (let s = 0; s < n; s++) {
    const row = s * features;
    for (let p = 0; p < features; p++) {
      const u = x[row + p]! - mean[p]!;
      out[2 * row + p] = u > 0 ? u : 0;
      out[2 * row + features + p] = u < 0 ? -u : 0;
    }
  }
  return out;
}
