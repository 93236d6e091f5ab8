/** Splits consecutive layers into groups of nearly equal estimated cost (not equal layer count). */
import type { Layout, LayerShape } from '../engine/layout.js';
import type { ModelConfig } from '../options.js';

/** Estimated cost of a layer per sample: forward and update multiply-adds plus a fixed per-layer overhead. */
export function layerCost(l: Pick<LayerShape, 'nIn' | 'nOut'>, batch: number): number {
  const flops = 4 * l.nIn * l.nOut;
  const overhead = 3000 / batch; // ~1 us per layer call and batch, in flop-equivalents (PERF_NOTES)
  return flops + overhead + 8 * l.nOut;
}

/**
 * Returns group boundaries [0, b1, ..., L] over `costs` for `groups` groups, minimising the largest
 * group's cost (exact, by binary search over the bottleneck and a greedy fill).
 */
export function balanceGroups(costs: number[], groups: number): number[] {
  const n = costs.length;
  const g = Math.max(1, Math.min(groups, n));
  const fits = (cap: number): number[] | null => {
    const bounds = [0];
    let acc = 0;
    for (let i = 0; i < n; i++) {
      if (costs[i]! > cap) return null;
      if (acc + costs[i]! > cap) {
        bounds.push(i);
        acc = 0;
      }
      acc += costs[i]!;
    }
    bounds.push(n);
    return bounds.length - 1 <= g ? bounds : null;
  };
  let lo = Math.max(...costs);
  let hi = costs.reduce((a, b) => a + b, 0);
  for (let it = 0; it < 100 && hi - lo > 1e-9 * hi; it++) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  let bounds = fits(hi)!;
  // Use every group we were given when layers allow: split the largest groups further.
  while (bounds.length - 1 < g) {
    let best = -1;
    let bestCost = -1;
    for (let k = 0; k + 1 < bounds.length; k++) {
      if (bounds[k + 1]! - bounds[k]! < 2) continue;
      const c = costs.slice(bounds[k], bounds[k + 1]).reduce((a, b) => a + b, 0);
      if (c > bestCost) {
        bestCost = c;
        best = k;
      }
    }
    if (best < 0) break;
    const a = bounds[best]!;
    const b = bounds[best + 1]!;
    let acc = 0;
    let cut = a + 1;
    for (let i = a; i < b - 1; i++) {
      acc += costs[i]!;
      cut = i + 1;
      if (acc >= bestCost / 2) break;
    }
    bounds = [...bounds.slice(0, best + 1), cut, ...bounds.slice(best + 1)];
  }
  return bounds;
}

/**
 * The coordinator's own per-sample work besides its cells or layers (staging the next batch,
 * scoring this one), in flop-equivalents of the kernels per input value; the cells and pipeline
 * splits give the coordinator that much less. Measured on bench-wide with the native kernels: 55 us
 * a batch of 128 on one thread (measureCosts, the amine included) beside 2.8 ms of kernels, about
 * 70 per input value; 85 us in a 2-thread --trace of cells beside 832 us for the first layer's
 * forward pass and update, about 120. Between the two: bench-wide's splits come out the same for any
 * value from 70 to 105. Proportionally less beside slower kernels (wasm about 8x slower).
 */
export const STAGE_COST: Record<'native' | 'wasm' | 'js', number> = { native: 100, wasm: 12, js: 1 };

/** One thread's cells of one layer, [j0, j1) (empty when j0 === j1). */
export type CellRange = [number, number];

/** Ranges[layer][group] for whole-layer groups: group g owns every cell of layers [bounds[g], bounds[g + 1]). */
export function wholeLayerRanges(bounds: number[], nOut: number[]): CellRange[][] {
  return nOut.map((n, k) => bounds.slice(0, -1).map((lo, g): CellRange => (k >= lo && k < bounds[g + 1]! ? [0, n] : [n, n])));
}

/**
 * The share of a data set's inputs the kernels still compute with when they skip sources that are
 * zero in every row of a block: the mean over features of 1 - (1 - p)^rows, p the feature's share
 * of nonzero samples (MNIST 0/1: 0.43 for the forward pass's tiles of 8 rows, 0.55 for a batch of
 * 128 in the update). The first layer's cost scales by it; deeper layers' inputs are rarely zero.
 */
export function liveShare(x: ArrayLike<number>, features: number, rows: number): number {
  const n = Math.floor(x.length / features);
  if (n === 0 || features === 0) return 1;
  const nonzero = new Float64Array(features);
  for (let s = 0; s < n; s++) for (let i = 0; i < features; i++) if (x[s * features + i] !== 0) nonzero[i]!++;
  let live = 0;
  for (let i = 0; i < features; i++) live += 1 - (1 - nonzero[i]! / n) ** rows;
  return live / features;
}

/**
 * Pipeline groups that may cut inside a layer: the layers' cells in order, (layer, cell)
 * lexicographically, split into `groups` consecutive stretches of nearly equal estimated cost, the
 * coordinator's (group 0's) staging and scoring counted first. A cut inside a layer falls on a
 * multiple of `tile` cells (the kernels' register tile, as in cellRanges), and only in a hidden
 * layer of at least 4 tiles; elsewhere it snaps to the nearer layer boundary. The last group keeps the whole output layer (it computes the amine).
 * Returns ranges[layer][group], or null when the cuts would leave a group empty (then whole-layer
 * groups are used). `costs` are the layers' per-sample costs (the first scaled by the live share).
 */
export function pipelineRanges(costs: number[], nOut: number[], groups: number, extra: number, tile = 16): CellRange[][] | null {
  const L = costs.length;
  const total = extra + costs.reduce((a, b) => a + b, 0);
  // A cut is a position: layer index times a large stride plus the cell index.
  const S = Math.max(...nOut) + 1;
  const cuts = [0];
  for (let g = 1; g < groups; g++) {
    const target = (g * total) / groups;
    let before = extra;
    let k = 0;
    while (k < L - 1 && before + costs[k]! < target) before += costs[k++]!;
    const n = nOut[k]!;
    let cell: number;
    if (k < L - 1 && n >= 4 * tile) cell = Math.min(n, Math.max(0, Math.round(((target - before) / costs[k]!) * (n / tile)) * tile));
    else cell = target - before < costs[k]! / 2 || k === L - 1 ? 0 : n;
    const pos = cell === n ? (k + 1) * S : k * S + cell;
    if (pos <= cuts.at(-1)! || pos > (L - 1) * S) return null;
    cuts.push(pos);
  }
  cuts.push(L * S);
  return nOut.map((n, k) => cuts.slice(0, -1).map((from, g): CellRange => {
    const j0 = Math.min(n, Math.max(0, from - k * S));
    const j1 = Math.min(n, Math.max(0, cuts[g + 1]! - k * S));
    return j0 < j1 ? [j0, j1] : [n, n];
  }));
}

/**
 * The cells strategy's split: for every hidden layer, one contiguous range of cells per thread
 * (thread 0 is the coordinator), balanced phase by phase, since a barrier ends each phase:
 * - the forward pass of hidden layer k >= 1 is a phase of its own: equal shares;
 * - the rest (the updates of batch t, then the first layer's forward pass of batch t + 1) is one
 *   phase, in which the coordinator also stages the batch, scores it and updates the output
 *   layers (`extra`): it takes that much less of the first layer (whose cost is scaled by
 *   `firstLive`, the share the kernels' zero skipping leaves, see firstLayerLive).
 * A layer splits by count (its cells cost the same), in multiples of `tile` cells (the kernels'
 * register tile: a range that is not a multiple of it runs a narrower, slower tile at its edge)
 * when it is wide enough. A layer too narrow to share (fewer than 4 cells per thread) stays whole
 * with the coordinator: splitting it would cost a barrier for nothing.
 */
export function cellRanges(
  hidden: Pick<LayerShape, 'nIn' | 'nOut'>[], output: Pick<LayerShape, 'nIn' | 'nOut'>, batch: number, threads: number, stageCost: number, tile = 16, firstLive = 1,
): CellRange[][] {
  // Staging, scoring and the output layer's update, per sample, in flop-equivalents (see STAGE_COST).
  const extra = stageCost * hidden[0]!.nIn + layerCost(output, batch) / 2;
  const p0 = layerCost(hidden[0]!, batch) * firstLive;
  const a0 = threads === 1 ? 1 : Math.max(0, 1 / threads - ((threads - 1) * extra) / (threads * p0));
  const equal = new Array<number>(threads).fill(1 / threads);
  return hidden.map((l, k) => {
    const n = l.nOut;
    if (n < 4 * threads) return equal.map((_, g): CellRange => (g === 0 ? [0, n] : [n, n]));
    const shares = k === 0 ? [a0, ...new Array<number>(threads - 1).fill((1 - a0) / (threads - 1))] : equal;
    const unit = n >= tile * threads ? tile : 1;
    const bounds = [0];
    let acc = 0;
    for (let g = 0; g < threads - 1; g++) {
      acc += shares[g]!;
      bounds.push(Math.min(n, Math.max(bounds[g]!, Math.round((n * acc) / unit) * unit)));
    }
    bounds.push(n);
    return shares.map((_, g): CellRange => [bounds[g]!, bounds[g + 1]!]);
  });
}

/** A stretch of hidden layers [k0, k1) a thread runs in one go: whole layers (fused where the kernels fuse them), or one layer's range. */
export interface CellSegment {
  k0: number;
  k1: number;
  /** The thread's cells when the segment is one layer it shares; null when it owns every cell of [k0, k1). */
  range: CellRange | null;
}

/** Thread g's segments over the hidden layers, consecutive whole layers merged (so serial's chains of tiny layers stay chains). */
export function cellSegments(ranges: CellRange[][], g: number, nOut: (k: number) => number): CellSegment[] {
  const out: CellSegment[] = [];
  for (let k = 0; k < ranges.length; k++) {
    const [j0, j1] = ranges[k]![g]!;
    if (j0 === j1) continue;
    const whole = j0 === 0 && j1 === nOut(k);
    const prev = out.at(-1);
    if (whole && prev && prev.range === null && prev.k1 === k) prev.k1 = k + 1;
    else out.push({ k0: k, k1: k + 1, range: whole ? null : [j0, j1] });
  }
  return out;
}

/**
 * How the kernels skip zero inputs, for the estimates of the first layer's cost: a source is
 * skipped where it is zero in every one of `forward` rows of a forward tile (0: never) and, where
 * `update`, in every row of the batch in the update. Native: tiles of 8 rows (6 on AVX2), and the
 * update's live-row list. wasm tests every input for zero one sample at a time inside a 4-cell
 * vector loop, which saves about what the test costs (bench-wide's first layer, measured per batch:
 * forward 5.6-6.7 ms against 4.6-5.5 ms for the same flops in the second), so it counts as none.
 * The float64 JavaScript kernels skip a zero input's whole row of cells, one sample at a time.
 */
export const ZERO_SKIP: Record<'native' | 'wasm' | 'js', { forward: number; update: boolean }> = {
  native: { forward: 8, update: true }, wasm: { forward: 0, update: false }, js: { forward: 1, update: false },
};

/**
 * The first layer's share of its dense cost that the kernels `impl` still spend on data `x`
 * (ZERO_SKIP and liveShare: the mean of the forward pass's and the update's); 1 without data.
 */
export function firstLayerLive(impl: 'native' | 'wasm' | 'js', batch: number, data?: { x: ArrayLike<number>; features: number }): number {
  if (!data) return 1;
  const skip = ZERO_SKIP[impl];
  const live = (rows: number): number => (rows > 0 ? liveShare(data.x, data.features, rows) : 1);
  return (live(skip.forward) + live(skip.update ? batch : 0)) / 2;
}

/**
 * The pipeline strategy's groups, ranges[layer][group]: as many as layer groups would be
 * (balanceGroups), cut inside a layer where that balances them better (pipelineRanges, with the first
 * layer's estimated cost times `firstLive` and the coordinator's staging counted in); whole-layer
 * groups where no layer may be cut or the cuts would leave a group empty.
 */
export function pipelineGroups(
  shapes: Pick<LayerShape, 'nIn' | 'nOut'>[], batch: number, workers: number, impl: 'native' | 'wasm' | 'js', firstLive: number, splittable: boolean, tile: number,
): CellRange[][] {
  const nOut = shapes.map((l) => l.nOut);
  const costs = shapes.map((l) => layerCost(l, batch));
  const bounds = balanceGroups(costs, workers);
  const whole = wholeLayerRanges(bounds, nOut);
  if (!splittable || bounds.length < 3) return whole;
  costs[0] = costs[0]! * firstLive;
  return pipelineRanges(costs, nOut, bounds.length - 1, STAGE_COST[impl] * shapes[0]!.nIn, tile) ?? whole;
}

/** Whether a pipeline group may own part of a layer (as the cells strategy's threads do). */
export function splittable(config: ModelConfig, layout: Layout): boolean {
  return config.topology !== 'columns' && layout.nets.every((n) => n.layers.length === layout.nets[0]!.layers.length);
}
