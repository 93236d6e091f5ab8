/**
 * Reference kernels over one typed array `m` (float64 or float32) addressed by offsets. Weights are
 * source-major, W[i * nOut + j] for source i and cell j (the article's (in, out) matrices), which
 * keeps each cell's sum in source order, as Kaneko's program adds it, while the inner loops run over
 * contiguous cells. They allocate nothing (one scratch row that grows on demand), validate nothing
 * and return nothing.
 */
import { activate, derivative } from '../engine/activations.js';
import type { LayerLayout, NetLayout } from '../engine/layout.js';

type F = Float64Array | Float32Array;

let scratch = new Float64Array(1024);
function row(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(2 * n);
  return scratch;
}

/**
 * y[b, j] = f(sum_i W[i, j] x[b, i] (+ bias[j])) for cells j0 <= j < j1. Zero inputs are skipped
 * (exact: they add nothing); each cell's sum is the same whatever range it is computed in.
 */
export function forwardDense(
  m: F, w: number, bias: number, x: number, xStride: number, y: number, yStride: number,
  batch: number, nIn: number, nOut: number, act: number, u0: number, j0 = 0, j1 = nOut,
): void {
  const s = row(nOut);
  for (let b = 0; b < batch; b++) {
    const xr = x + b * xStride;
    const yr = y + b * yStride;
    s.fill(0, j0, j1);
    for (let i = 0; i < nIn; i++) {
      const xi = m[xr + i]!;
      if (xi === 0) continue;
      const wr = w + i * nOut;
      for (let j = j0; j < j1; j++) s[j] = s[j]! + m[wr + j]! * xi;
    }
    if (bias >= 0) for (let j = j0; j < j1; j++) s[j] = s[j]! + m[bias + j]!;
    for (let j = j0; j < j1; j++) m[yr + j] = activate(act, s[j]!, u0);
  }
}

/**
 * Per-sample, per-cell update coefficients from the broadcast amine a: one value per sample and
 * amine channel, cells j in [c * group, (c + 1) * group) receiving channel c (a hidden layer with one
 * channel: group = nOut; the output layer: group = 1, one channel per cell, its own error; class
 * columns: group = cells per column). gE applies to excitatory sources, gI to inhibitory ones.
 * kaneko rule: gE = t_j f'(o) max(a, 0), gI = -t_j f'(o) max(-a, 0); bidirectional: both t_j f'(o) a.
 */
export function amineCoefficients(
  m: F, y: number, yStride: number, batch: number, nOut: number, cellTypes: Int8Array, act: number,
  amine: number, amineStride: number, group: number, kanekoRule: boolean, gE: number, gI: number, j0 = 0, j1 = nOut,
): void {
  if (kanekoRule && group >= nOut && (act === 0 || act === 5)) {
    // Kaneko's rule on a sigmoid layer with one channel (online training, mostly): per sample the
    // amine's sign picks gE or gI, the other is all 0 (the same arithmetic as the general path).
    for (let b = 0; b < batch; b++) {
      const yr = y + b * yStride;
      const a = m[amine + b * amineStride]!;
      const gr = b * nOut;
      const on = a > 0 ? gE : gI;
      m.fill(0, (a > 0 ? gI : gE) + gr + j0, (a > 0 ? gI : gE) + gr + j1);
      if (a === 0) m.fill(0, on + gr + j0, on + gr + j1);
      else {
        for (let j = j0; j < j1; j++) {
          const o = m[yr + j]!;
          m[on + gr + j] = o * (1 - o) * a * cellTypes[j]!;
        }
      }
    }
    return;
  }
  if (!kanekoRule && group >= nOut && (act === 0 || act === 5)) {
    // The common case (bidirectional rule, hidden layer, sigmoid) without branches per cell.
    for (let b = 0; b < batch; b++) {
      const yr = y + b * yStride;
      const a = m[amine + b * amineStride]!;
      const gr = b * nOut;
      for (let j = j0; j < j1; j++) {
        const o = m[yr + j]!;
        const g = o * (1 - o) * a * cellTypes[j]!;
        m[gE + gr + j] = g;
        m[gI + gr + j] = g;
      }
    }
    return;
  }
  for (let b = 0; b < batch; b++) {
    const yr = y + b * yStride;
    const ar = amine + b * amineStride;
    const gr = b * nOut;
    for (let c = Math.floor(j0 / group), c0 = c * group; c0 < j1; c++, c0 += group) {
      const a = m[ar + c]!;
      for (let j = Math.max(c0, j0), end = Math.min(c0 + group, j1); j < end; j++) {
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
}

/**
 * W[i, j] += scale * sum_b x[b, i] g[b, j], with g = gE for excitatory sources and gI for inhibitory
 * ones; the bias vector learns like an excitatory source of value 1. With `freezeZeros`, a weight
 * that is exactly 0 stays 0 (Kaneko's way of masking absent connections).
 */
export function amineUpdate(
  m: F, w: number, bias: number, x: number, xStride: number, batch: number, nIn: number, nOut: number,
  srcE: Uint8Array, gE: number, gI: number, scale: number, freezeZeros: boolean, j0 = 0, j1 = nOut,
): void {
  const acc = row(nOut);
  for (let i = 0; i < nIn; i++) {
    const g = srcE[i] === 1 ? gE : gI;
    acc.fill(0, j0, j1);
    for (let b = 0; b < batch; b++) {
      const xi = m[x + b * xStride + i]!;
      if (xi === 0) continue;
      const gr = g + b * nOut;
      for (let j = j0; j < j1; j++) acc[j] = acc[j]! + xi * m[gr + j]!;
    }
    const wr = w + i * nOut;
    for (let j = j0; j < j1; j++) {
      if (freezeZeros && m[wr + j] === 0) continue;
      m[wr + j] = m[wr + j]! + scale * acc[j]!;
    }
  }
  if (bias >= 0) {
    for (let j = j0; j < j1; j++) {
      let a = 0;
      for (let b = 0; b < batch; b++) a += m[gE + b * nOut + j]!;
      m[bias + j] = m[bias + j]! + scale * a;
    }
  }
}

/**
 * The online (batch of one) update in exactly the operation order of Kaneko's program:
 * del = alpha * x_i; del *= o; del *= (1 - o); w += del * d * sign, so float64 replays match bit for bit.
 * `a` is the amine of cell j's channel, amine[j / group] (group = 1 for the output layer: its own error); kaneko rule: d+ from E sources,
 * d- from I sources, zero weights frozen; bidirectional: the signed amine times type(j).
 */
export function amineUpdateOnline(
  m: F, w: number, bias: number, x: number, y: number, nIn: number, nOut: number, srcE: Uint8Array,
  cellTypes: Int8Array, act: number, amine: number, group: number, alpha: number, kanekoRule: boolean, j0 = 0, j1 = nOut,
): void {
  const sig = act === 0 || act === 5;
  // Each cell's amine, looked up once rather than once per synapse.
  const av = row(nOut);
  for (let j = j0; j < j1; j++) av[j] = m[amine + ((j / group) | 0)]!;
  for (let i = 0; i < nIn; i++) {
    const xi = m[x + i]!;
    const e = srcE[i] === 1;
    const wr = w + i * nOut;
    for (let j = j0; j < j1; j++) {
      const cur = m[wr + j]!;
      if (kanekoRule && cur === 0) continue;
      const o = m[y + j]!;
      const a = av[j]!;
      const t = cellTypes[j]!;
      let del = alpha * xi;
      if (sig) {
        del *= o;
        del *= 1 - o;
      } else {
        del *= derivative(act, o);
      }
      m[wr + j] = cur + (kanekoRule ? (e ? del * (a > 0 ? a : 0) * t : del * (a < 0 ? -a : 0) * -t) : del * a * t);
    }
  }
  if (bias >= 0) {
    for (let j = j0; j < j1; j++) {
      const o = m[y + j]!;
      const a = av[j]!;
      const t = cellTypes[j]!;
      let del = alpha;
      if (sig) {
        del *= o;
        del *= 1 - o;
      } else {
        del *= derivative(act, o);
      }
      m[bias + j] = m[bias + j]! + (kanekoRule ? del * (a > 0 ? a : 0) * t : del * a * t);
    }
  }
}

/**
 * The columns topology's output layer (sigmoid-family output cells, E type). Output k's weights from
 * the bias and from its own column (sources [cells + k * h, cells + (k + 1) * h)) learn by the
 * model's rule, as in Kaneko's nets; its weights from the other columns learn by the delta rule at
 * their own rate, w += alphaCross/B * sum_b x * f'(o) * e, and may take either sign: fixed signs would let a cell that
 * detects class k' only push output k up, never down. Every term is output k's own error.
 */
export function columnReadoutUpdate(m: F, net: NetLayout, l: LayerLayout, batch: number, kanekoRule: boolean): void {
  const nOut = l.nOut;
  const h = l.readoutColumn;
  const cells = l.nIn - nOut * h;
  const scale = (l.alpha * m[net.rate]!) / batch;
  const cross = l.alphaCross / l.alpha;
  for (let b = 0; b < batch; b++) {
    const xr = l.x + b * l.xStride;
    for (let k = 0; k < nOut; k++) {
      const e = m[net.err + b * net.outputs + k]!;
      const g = derivative(l.act, m[l.y + b * l.yStride + k]!) * e * scale;
      if (g === 0) continue;
      const own0 = cells + k * h;
      const own1 = own0 + h;
      const gE = kanekoRule ? (e > 0 ? g : 0) : g;
      const gI = kanekoRule ? (e < 0 ? g : 0) : g;
      for (let i = 0; i < l.nIn; i++) {
        const xi = m[xr + i]!;
        if (xi === 0) continue;
        const at = l.w + i * nOut + k;
        if (i >= cells && (i < own0 || i >= own1)) {
          m[at] = m[at]! + cross * g * xi;
        } else if (!(kanekoRule && m[at] === 0)) {
          m[at] = m[at]! + (l.srcE[i] === 1 ? gE : gI) * xi;
        }
      }
      if (l.b >= 0) m[l.b + k] = m[l.b + k]! + gE;
    }
  }
}
