/** Splits consecutive layers into groups of nearly equal estimated cost (not equal layer count). */
import type { LayerShape } from './layout.js';

/** Estimated cost of a layer per sample: forward and update multiply-adds plus a fixed per-layer overhead. */
export function layerCost(l: LayerShape, batch: number): number {
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
