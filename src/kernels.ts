/**
 * Float64 reference kernels over one shared Float64Array `m`, addressed by offsets.
 * They allocate nothing, validate nothing and return nothing.
 */
import { activate, derivative } from './activations.js';

/** y[b, j] = f(sum_i W[j, i] x[b, i] (+ bias[j])), summing sources in order as Kaneko's program does. */
export function forwardDense(
  m: Float64Array, w: number, bias: number, x: number, xStride: number, y: number, yStride: number,
  batch: number, nIn: number, nOut: number, act: number, u0: number,
): void {
  for (let b = 0; b < batch; b++) {
    const xr = x + b * xStride;
    const yr = y + b * yStride;
    for (let j = 0; j < nOut; j++) {
      const wr = w + j * nIn;
      let s = 0;
      for (let i = 0; i < nIn; i++) s += m[wr + i]! * m[xr + i]!;
      if (bias >= 0) s += m[bias + j]!;
      m[yr + j] = activate(act, s, u0);
    }
  }
}

/**
 * Per-sample, per-cell update coefficients from the broadcast amine a (one value per sample, or per
 * sample and cell for the output layer): gE applies to excitatory sources, gI to inhibitory ones.
 * kaneko rule: gE = t_j f'(o) max(a, 0), gI = -t_j f'(o) max(-a, 0); bidirectional: both t_j f'(o) a.
 */
export function amineCoefficients(
  m: Float64Array, y: number, yStride: number, batch: number, nOut: number, cellTypes: Int8Array, act: number,
  amine: number, amineStride: number, perCell: boolean, kanekoRule: boolean, gE: number, gI: number,
): void {
  for (let b = 0; b < batch; b++) {
    const yr = y + b * yStride;
    const ar = amine + b * amineStride;
    const gr = b * nOut;
    for (let j = 0; j < nOut; j++) {
      const a = m[perCell ? ar + j : ar]!;
      const fd = derivative(act, m[yr + j]!);
      const t = cellTypes[j]!;
      if (kanekoRule) {
        m[gE + gr + j] = a > 0 ? fd * a * t : 0;
        m[gI + gr + j] = a < 0 ? fd * a * t : 0;
      } else {
        const g = fd * a * t;
        m[gE + gr + j] = g;
        m[gI + gr + j] = g;
      }
    }
  }
}

/**
 * W[j, i] += scale * sum_b x[b, i] g[b, j], with g = gE for excitatory sources and gI for inhibitory
 * ones; the bias vector learns like an excitatory source of value 1. With `freezeZeros`, a weight
 * that is exactly 0 stays 0 (Kaneko's way of masking absent connections).
 */
export function amineUpdate(
  m: Float64Array, w: number, bias: number, x: number, xStride: number, batch: number, nIn: number, nOut: number,
  srcE: Uint8Array, gE: number, gI: number, scale: number, freezeZeros: boolean,
): void {
  for (let j = 0; j < nOut; j++) {
    const wr = w + j * nIn;
    for (let i = 0; i < nIn; i++) {
      const g = srcE[i] === 1 ? gE : gI;
      let acc = 0;
      for (let b = 0; b < batch; b++) acc += m[x + b * xStride + i]! * m[g + b * nOut + j]!;
      if (freezeZeros && m[wr + i] === 0) continue;
      m[wr + i] = m[wr + i]! + scale * acc;
    }
    if (bias >= 0) {
      let acc = 0;
      for (let b = 0; b < batch; b++) acc += m[gE + b * nOut + j]!;
      m[bias + j] = m[bias + j]! + scale * acc;
    }
  }
}

/**
 * The online (batch of one) update in exactly the operation order of Kaneko's program:
 * del = alpha * x_i; del *= o; del *= (1 - o); w += del * d * sign, so float64 replays match bit for bit.
 * `a` is the amine of cell j's net (per cell for the output layer); kaneko rule: d+ from E sources,
 * d- from I sources, zero weights frozen; bidirectional: the signed amine times type(j).
 */
export function amineUpdateOnline(
  m: Float64Array, w: number, bias: number, x: number, y: number, nIn: number, nOut: number, srcE: Uint8Array,
  cellTypes: Int8Array, act: number, amine: number, perCell: boolean, alpha: number, kanekoRule: boolean,
): void {
  for (let j = 0; j < nOut; j++) {
    const o = m[y + j]!;
    const a = m[perCell ? amine + j : amine]!;
    const t = cellTypes[j]!;
    const dPlus = a > 0 ? a : 0;
    const dMinus = a < 0 ? -a : 0;
    const sig = act === 0 || act === 5;
    const fd = sig ? 0 : derivative(act, o);
    const wr = w + j * nIn;
    for (let i = 0; i < nIn; i++) {
      const cur = m[wr + i]!;
      if (kanekoRule && cur === 0) continue;
      let del = alpha * m[x + i]!;
      if (sig) {
        del *= o;
        del *= 1 - o;
      } else {
        del *= fd;
      }
      const e = srcE[i] === 1;
      m[wr + i] = cur + (kanekoRule ? (e ? del * dPlus * t : del * dMinus * -t) : del * a * t);
    }
    if (bias >= 0) {
      let del = alpha;
      if (sig) {
        del *= o;
        del *= 1 - o;
      } else {
        del *= fd;
      }
      m[bias + j] = m[bias + j]! + (kanekoRule ? del * dPlus * t : del * a * t);
    }
  }
}
