/**
 * The ED step on one net, in the pieces the executors schedule: stage a mini-batch, forward each
 * layer, compute the amine, update each layer. Every piece reads and writes only shared memory.
 */
import { amineCoefficients, amineUpdate, amineUpdateOnline, columnReadoutUpdate, forwardDense } from '../kernels/reference.js';
import type { Floats, LayerLayout, NetLayout } from './layout.js';

export interface Samples {
  /** Row-major features, `features` per sample. */
  x: Float64Array | Float32Array;
  /** Features per sample. */
  features: number;
  /** Row-major targets, `outputs` per sample. */
  y: Float64Array;
  /** Targets (outputs) per sample. */
  outputs: number;
}

/**
 * Copies rows[order[start + b]] (`width` floats) to float offset dst + b * stride of the shared
 * memory for b < count, in one call (the native kernels offer one: Kernels.gatherRows).
 */
export type RowGather = (dst: number, stride: number, rows: Float32Array, order: Int32Array, start: number, count: number, width: number) => void;

/** RowGather for unpaired rows written twice: the row, then the row again, or each value twice when interleaved (Kernels.gatherDoubled). */
export type DoubledGather = (dst: number, stride: number, rows: Float32Array, order: Int32Array, start: number, count: number, width: number, interleaved: boolean) => void;

/** The kernels' batch copies stageBatch uses where they exist (native). */
export interface Gathers {
  gatherRows?: RowGather;
  gatherDoubled?: DoubledGather;
}

/**
 * Copies samples `order[start .. start + count)` into the net's input stage and target rows. A
 * float32 memory copies rows of float32 values instead of converting float64 rows per batch (0.5-0.7
 * ms a bench-wide batch, on the critical path of every strategy's coordinator): with the native
 * kernels all of a batch's rows in one call from the data's float32 copy (float32Inputs), each row
 * written twice (80-135 us a batch; from stagedInputs' doubled rows 115-180 us, scripts/stage-cost.ts);
 * otherwise one typed-array copy per sample from stagedInputs' rows, or two from the float32 copy for
 * data sets too large for those rows. Data whose float32 copy would pass stagingLimits (1 GiB) is
 * converted batch by batch.
 */
export function stageBatch(f: Floats, net: NetLayout, data: Samples, order: Int32Array, start: number, count: number, k: Gathers = {}): void {
  const cells = net.biasCells ? 2 : 0;
  const nf = data.features;
  const f32 = f instanceof Float32Array;
  // One copy of the data is read, and only it is built: the doubled rows where the kernels cannot
  // double rows themselves, else (or where those rows would pass their limit) the float32 copy.
  const rows = f32 && k.gatherDoubled === undefined ? stagedInputs(net, data) : undefined;
  const x32 = f32 && !rows ? float32Inputs(data.x) : undefined;
  const doubled = x32 !== undefined && k.gatherDoubled !== undefined;
  const x = x32 ?? data.x;
  if (doubled) k.gatherDoubled!(net.input + cells, net.inputStride, x32, order, start, count, nf, net.interleaved);
  else if (rows && k.gatherRows) k.gatherRows(net.input + cells, net.inputStride, rows, order, start, count, 2 * nf);
  const gathered = doubled || (rows !== undefined && k.gatherRows !== undefined);
  for (let b = 0; b < count; b++) {
    const s = order[start + b]!;
    const t = net.target + b * net.outputs;
    const ys = s * data.outputs + net.dataOutput;
    for (let j = 0; j < net.outputs; j++) f[t + j] = data.y[ys + j]!;
    if (gathered) continue;
    const row = net.input + b * net.inputStride + cells;
    if (rows) {
      f.set(rows.subarray(s * 2 * nf, (s + 1) * 2 * nf), row);
      continue;
    }
    const src = s * nf;
    if (net.interleaved) {
      for (let i = 0; i < nf; i++) {
        const v = x[src + i]!;
        f[row + 2 * i] = v;
        f[row + 2 * i + 1] = v;
      }
    } else {
      // Paired: the E copy, then the I copy (typed-array copies; a float64 memory converts float32 data in bulk).
      const xs = x.subarray(src, src + nf);
      f.set(xs, row);
      f.set(xs, row + nf);
    }
  }
}

const float32Cache = new WeakMap<Float64Array, Float32Array>();

/**
 * The features in float32 (what a float32 memory holds of them), copied once per data set (half the
 * float64 features' memory: 120 MB and 0.1-0.4 s for the shifted ten MNIST classes' 39,980 images):
 * `x` itself when it is float32; undefined where the copy would pass stagingLimits.float32CopyBytes
 * (stageBatch then converts each batch's rows, 4-5x slower, with no copy).
 */
export function float32Inputs(x: Samples['x']): Float32Array | undefined {
  if (x instanceof Float32Array) return x;
  let c = float32Cache.get(x);
  if (!c && x.length * 4 <= stagingLimits.float32CopyBytes) {
    c = new Float32Array(x);
    float32Cache.set(x, c);
  }
  return c;
}

/** Cells j0 <= j < j1 of a layer (all by default): each cell's output is the same whatever range computes it. */
const stagedCache = new WeakMap<Samples['x'], { interleaved: boolean; rows: Float32Array }>();

/**
 * The largest copies of a data set's features staging makes, in bytes: stagedInputs' doubled rows,
 * and float32Inputs' copy (1 GiB: a float64 data set of 2 GiB; larger ones are converted batch by
 * batch rather than grow the process by half again). Tests lower them to take the other paths.
 */
export const stagingLimits = { doubledRowsBytes: 64 * 2 ** 20, float32CopyBytes: 2 ** 30 };

/**
 * Every sample's input row as stageBatch writes it (E/I copies interleaved or in blocks), once per
 * dataset, in float32: online passes over many nets then stage a sample with one copy
 * (stageStaged). Undefined for data sets whose rows would pass 64 MB (stageBatch stages them from
 * float32Inputs instead).
 */
export function stagedInputs(net: NetLayout, data: Samples): Float32Array | undefined {
  const hit = stagedCache.get(data.x);
  if (hit && hit.interleaved === net.interleaved) return hit.rows;
  const nf = data.features;
  const n = data.x.length / nf;
  if (n * 2 * nf * 4 > stagingLimits.doubledRowsBytes) return undefined;
  const rows = new Float32Array(n * 2 * nf);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < nf; i++) {
      const v = data.x[s * nf + i]!;
      const r = s * 2 * nf;
      if (net.interleaved) {
        rows[r + 2 * i] = v;
        rows[r + 2 * i + 1] = v;
      } else {
        rows[r + i] = v;
        rows[r + nf + i] = v;
      }
    }
  }
  stagedCache.set(data.x, { interleaved: net.interleaved, rows });
  return rows;
}

/** Makes `rows` (stagedInputs' rows of the same data, built elsewhere: shared memory) what stagedInputs returns for `x`. */
export function adoptStagedInputs(x: Samples['x'], interleaved: boolean, rows: Float32Array): void {
  stagedCache.set(x, { interleaved, rows });
}

/** stageBatch for one sample (order position p) from stagedInputs' rows: the same values, one copy. */
export function stageStaged(f: Floats, net: NetLayout, data: Samples, rows: Float32Array, order: Int32Array, p: number): void {
  const s = order[p]!;
  const w = 2 * data.features;
  f.set(rows.subarray(s * w, (s + 1) * w), net.input + (net.biasCells ? 2 : 0));
  const ys = s * data.outputs + net.dataOutput;
  for (let k = 0; k < net.outputs; k++) f[net.target + k] = data.y[ys + k]!;
}

export function forwardLayer(f: Floats, l: LayerLayout, batch: number, u0: number, j0 = 0, j1 = l.nOut): void {
  forwardDense(f, l.w, l.b, l.x, l.xStride, l.y, l.yStride, batch, l.nIn, l.nOut, l.act, u0, j0, j1);
}

/**
 * err = target - output per output. The hidden amine: with one channel, u1 times the mean error over
 * the net's outputs; with one channel per output (class columns), u1 times each output's own error.
 */
export function computeAmine(f: Floats, net: NetLayout, batch: number, u1: number): void {
  const out = net.layers[net.layers.length - 1]!;
  const k = net.outputs;
  const perClass = net.channels > 1;
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = f[net.target + b * k + c]! - f[out.y + b * out.yStride + c]!;
      f[net.err + b * k + c] = e;
      if (perClass) f[net.amine + b * k + c] = u1 * e;
      sum += e;
    }
    if (!perClass) f[net.amine + b] = k === 1 ? u1 * sum : (u1 * sum) / k;
  }
}

/** Updates one layer from its cached input and output and the broadcast amine (mean over the batch). */
export function updateLayer(f: Floats, net: NetLayout, l: LayerLayout, batch: number, kanekoRule: boolean, j0 = 0, j1 = l.nOut): void {
  if (l.readoutColumn > 0) {
    columnReadoutUpdate(f, net, l, batch, kanekoRule);
    return;
  }
  const amine = l.isOutput ? net.err : net.amine;
  if (batch === 1) {
    amineUpdateOnline(f, l.w, l.b, l.x, l.y, l.nIn, l.nOut, l.srcE, l.cellTypes, l.act, amine, l.amineGroup, l.alpha * f[net.rate]!, kanekoRule, j0, j1);
    return;
  }
  amineCoefficients(
    f, l.y, l.yStride, batch, l.nOut, l.cellTypes, l.act,
    amine, l.isOutput ? net.outputs : net.channels, l.amineGroup, kanekoRule, l.gE, l.gI, j0, j1,
  );
  amineUpdate(f, l.w, l.b, l.x, l.xStride, batch, l.nIn, l.nOut, l.srcE, l.gE, l.gI, (l.alpha * f[net.rate]!) / batch, kanekoRule, j0, j1);
}
