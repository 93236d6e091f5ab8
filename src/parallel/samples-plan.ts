/**
 * The `samples` strategy's work plan, computed the same way by the coordinator and every worker:
 * per mini-batch, F items (a chunk of the batch's rows through every layer of every net, then the
 * amine) followed by U items (a block of layers of one net, or a range of one layer's cells, updated
 * over the whole batch). Threads claim items in that order through one atomic counter, so a thread
 * that falls behind (descheduled, slower core) delays only its own item, never a fixed share.
 *
 * Dependencies (each a flag holding the last batch that finished it, so nothing is reset: one per
 * F item and activation slot, since two batches of one slot are ordered and two of different slots
 * are not; one per U item, since a batch's updates all end before the next batch's begin):
 * - U items of batch t wait for every F item of batch t (the amine needs every sample).
 * - An F item of batch t forwards block b only once the U items of block b of batch t - 1 are
 *   done (the weights it reads), and stages its rows only once batch t - 2's U items are done (they
 *   read the activation slot it overwrites): layer 0's updates finish first, so the next batch's
 *   forward pass starts while deeper layers are still updating.
 * - In an evaluation (no U items) an F item stages its rows only once the same chunk of batch
 *   t - 2 is done: the same rows of the same slot.
 * Every F and U item runs the same kernel calls on the same values as `serial` (a row's forward
 * chain does not depend on its neighbours, a cell's update does not depend on the range), so the
 * model is byte-identical for any thread count and any claiming order.
 */
import type { LayerShape } from '../engine/layout.js';
import { layerCost } from './partition.js';

/** One U item: layers [k0, k1) of net `net`, every cell (range null) or one layer's range. */
export interface UpdateItem {
  net: number;
  k0: number;
  k1: number;
  range: [number, number] | null;
}

/** A stretch of layers forwarded in one call per net, after its U items of the previous batch are done. */
export interface Block {
  k0: number;
  k1: number;
  /** U items of this block: [uLo, uHi) in the plan's update list. */
  uLo: number;
  uHi: number;
}

export interface SamplesPlan {
  /** Rows per F item (a multiple of the native kernels' 8-row tile where the batch allows). */
  rows: number;
  /** F items of a full batch. */
  chunks: number;
  blocks: Block[];
  updates: UpdateItem[];
}

/** Items per batch in the claim order: the F items, then the U items (training only). */
export function itemsPerBatch(plan: SamplesPlan, train: boolean): number {
  return plan.chunks + (train ? plan.updates.length : 0);
}

/** F items per thread and batch, and U items per thread and batch: a little slack for claiming without re-reading every weight too often. */
export const CHUNKS_PER_THREAD = 4;
export const UPDATES_PER_THREAD = 4;

/** The two constants above, or EDSIM_SAMPLES_SPLIT=chunks,updates (benchmarks of other splits). */
function perThread(): [number, number] {
  const v = (process.env.EDSIM_SAMPLES_SPLIT ?? '').split(',').map(Number);
  return v.length === 2 && v.every((x) => Number.isInteger(x) && x >= 1) ? [v[0]!, v[1]!] : [CHUNKS_PER_THREAD, UPDATES_PER_THREAD];
}

/**
 * Plans a batch of `batch` rows over `threads` threads for nets of identical shapes `shapes` (one
 * list of layers, `nets` copies), cutting layer ranges on multiples of `tile` cells. A layer that may
 * not be cut (`whole(k)`: a columns readout) is one item.
 */
export function planSamples(shapes: Pick<LayerShape, 'nIn' | 'nOut'>[], nets: number, batch: number, threads: number, tile: number, whole: (k: number) => boolean = () => false): SamplesPlan {
  const [chunksPer, updatesPer] = perThread();
  const wantChunks = Math.max(1, threads * chunksPer);
  let rows = Math.ceil(batch / wantChunks);
  if (batch >= 8) rows = Math.ceil(rows / 8) * 8;
  rows = Math.max(1, Math.min(batch, rows));
  const chunks = Math.ceil(batch / rows);
  // Update cost per layer and net (forward cost is the F items'); the target size of one U item.
  const costs = shapes.map((l) => layerCost(l, batch));
  const total = costs.reduce((a, b) => a + b, 0) * nets;
  const target = total / Math.max(1, threads * updatesPer);
  // Blocks: a layer at least as costly as the target alone (cut into ranges), cheaper ones merged.
  const spans: { k0: number; k1: number; pieces: [number, number][] | null }[] = [];
  for (let k = 0; k < shapes.length; k++) {
    const n = shapes[k]!.nOut;
    const pieces = whole(k) ? 1 : Math.min(Math.ceil(costs[k]! / target), Math.floor(n / tile));
    if (pieces >= 2) {
      const bounds = [0];
      for (let p = 1; p < pieces; p++) bounds.push(Math.round((n * p) / pieces / tile) * tile);
      bounds.push(n);
      spans.push({ k0: k, k1: k + 1, pieces: bounds.slice(0, -1).map((j, p): [number, number] => [j, bounds[p + 1]!]).filter(([a, b]) => a < b) });
      continue;
    }
    const prev = spans.at(-1);
    const prevCost = prev && prev.pieces === null ? costs.slice(prev.k0, prev.k1).reduce((a, b) => a + b, 0) : Infinity;
    if (prev && prev.pieces === null && prev.k1 === k && prevCost + costs[k]! <= target) prev.k1 = k + 1;
    else spans.push({ k0: k, k1: k + 1, pieces: null });
  }
  const updates: UpdateItem[] = [];
  const blocks: Block[] = [];
  for (const s of spans) {
    const uLo = updates.length;
    for (let net = 0; net < nets; net++) {
      if (s.pieces === null) updates.push({ net, k0: s.k0, k1: s.k1, range: null });
      else for (const r of s.pieces) updates.push({ net, k0: s.k0, k1: s.k1, range: r });
    }
    blocks.push({ k0: s.k0, k1: s.k1, uLo, uHi: updates.length });
  }
  return { rows, chunks, blocks, updates };
}
