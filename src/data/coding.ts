/**
 * A per-value input coding (issue 21's "input coding" on raw pixels): every value the network reads
 * becomes scale * sign(v) * |v|^power, each value on its own (no pixel reads another, nothing is
 * learned). On Fashion-MNIST a compressive power with a smaller scale (0.5 * sqrt(v)) trained more
 * stably and reached higher validation accuracy than the pixels themselves
 * (results/accuracy-search.jsonl, configurations fq-* and f-h512-*-sqrt0.5).
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

/** A model config's coding as text ("0.5 * v^0.5"), or undefined where it names none. */
export function codingText(c: { inputPower?: number; inputScale?: number }): string | undefined {
  return c.inputPower === undefined && c.inputScale === undefined ? undefined : `${c.inputScale ?? 1} * v^${c.inputPower ?? 1}`;
}
