/** Splits consecutive layers into groups of nearly equal estimated cost (not equal layer count). */
import type { LayerShape } from '../engine/layout.js';

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
 * The coordinator's per-sample work besides its cells (staging the batch, scoring it, the amine),
 * in flop-equivalents of the kernels per input value: measured on bench-wide as 11 % of an epoch
 * with the native kernels (~250 GFLOP/s) when staging converted float64 rows, lowered to 300 once
 * it copied float32 ones (the threads' busy times then match: 20.4 / 20.2 ms an epoch against
 * 18.8 / 20.9 at 450; cells x2 1.73-1.77x against 1.72-1.76x, three rounds in turn), proportionally
 * less beside slower kernels.
 */
export const STAGE_COST: Record<'native' | 'wasm' | 'js', number> = { native: 300, wasm: 45, js: 4 };

/** One thread's cells of one layer, [j0, j1) (empty when j0 === j1). */
export type CellRange = [number, number];

/**
 * The cells strategy's split: for every hidden layer, one contiguous range of cells per thread
 * (thread 0 is the coordinator). Every cell of a layer costs the same (its nIn sources), so a layer
 * splits by count, in multiples of 16 cells (one AVX-512 vector) when it is wide enough; the
 * coordinator, which also runs the output layers, the amine, staging and scoring, takes a smaller
 * share. A layer too narrow to share (fewer than 4 cells per thread) stays whole with the
 * coordinator: splitting it would cost a barrier for nothing.
 */
export function cellRanges(hidden: Pick<LayerShape, 'nIn' | 'nOut'>[], output: Pick<LayerShape, 'nIn' | 'nOut'>, batch: number, threads: number, stageCost: number): CellRange[][] {
  const hiddenCost = hidden.reduce((s, l) => s + layerCost(l, batch), 0);
  // The coordinator's own work per sample: the output layer, and staging, scoring and the amine,
  // about `stageCost` flop-equivalents per input value (see STAGE_COST).
  const extra = layerCost(output, batch) + stageCost * hidden[0]!.nIn;
  const fair = (hiddenCost + extra) / threads;
  // The coordinator's weight relative to the others' 1, so that its total comes near the fair share.
  const w0 = threads === 1 ? 1 : Math.max(0.2, Math.min(1, (fair - extra) / fair));
  const weights = [w0, ...new Array<number>(threads - 1).fill(1)];
  const total = weights.reduce((a, b) => a + b, 0);
  return hidden.map((l) => {
    const n = l.nOut;
    if (n < 4 * threads) return weights.map((_, g): CellRange => (g === 0 ? [0, n] : [n, n]));
    const unit = n >= 16 * threads ? 16 : 1;
    const bounds = [0];
    let acc = 0;
    for (let g = 0; g < threads - 1; g++) {
      acc += weights[g]!;
      const cut = Math.round((n * acc) / total / unit) * unit;
      bounds.push(Math.min(n, Math.max(bounds[g]!, cut)));
    }
    bounds.push(n);
    return weights.map((_, g): CellRange => [bounds[g]!, bounds[g + 1]!]);
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
