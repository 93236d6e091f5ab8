/**
 * A group of consecutive layers (of every net) and what one thread does with it: forward a batch
 * through the group, and update the group from the broadcast amine. Also the output strategy's unit
 * of work: a whole pass of some nets over a stretch of samples, and the cells strategy's (a segment
 * of layers, or one thread's cells of a layer). Used by the coordinator for its own
 * share and by every worker; it moves no data between threads.
 */
import type { Kernels } from '../kernels/backend.js';
import { type Samples, stageBatch, stagedInputs, stageStaged } from './engine.js';
import type { Floats, Layout, NetLayout } from './layout.js';
import type { CellSegment } from '../parallel/partition.js';

export class LayerGroup {
  /**
   * `segments`: the group's stretches of layers in order, whole (fused where the kernels fuse them)
   * or one layer's range of cells (a pipeline group cut inside a layer).
   */
  constructor(
    private readonly k: Kernels,
    private readonly f: Floats,
    private readonly layout: Layout,
    private readonly segments: CellSegment[],
    private readonly u0: number,
    private readonly u1: number,
    private readonly kanekoRule: boolean,
    private readonly isLast: boolean,
  ) {}

  /** Forward through the group's layers of every net in `slot`; the last group also computes the amine. */
  forward(slot: number, count: number): void {
    for (const net of this.layout.slots[slot]!) {
      for (const seg of this.segments) forwardSegment(this.k, this.f, net, seg, count, this.u0);
      if (this.isLast) this.k.amine(this.f, net, count, this.u1);
    }
  }

  update(slot: number, count: number): void {
    for (const net of this.layout.slots[slot]!) {
      for (const seg of this.segments) updateSegment(this.k, this.f, net, seg, count, this.kanekoRule);
    }
  }
}

/**
 * The output strategy's unit: nets [lo, hi) (independent Kaneko networks) run serial passes over
 * order[0 .. n); sample position p's outputs and errors go to row p of `out` and `err`
 * (`total` columns: every output of every net). `stop` is asked before each net and each batch
 * after a net's first: true leaves the pass unfinished (returns false; the caller rolls back).
 */
export function runNets(
  kern: Kernels, f: Floats, layout: Layout, lo: number, hi: number, data: Samples, order: Int32Array, n: number,
  train: boolean, u0: number, u1: number, kanekoRule: boolean, out: Float64Array, err: Float64Array, total: number,
  stop?: () => boolean,
): boolean {
  const batch = layout.batch;
  // Online training with a kernel that fuses a sample's update with the next sample's forward pass
  // (one pass over the weights) and a second activation slot for the next sample.
  const rows = train && batch === 1 && kern.updateThenForward !== undefined && layout.slots.length > 1 && f instanceof Float32Array && lo < hi
    ? stagedInputs(layout.nets[lo]!, data) : undefined;
  const fused = rows !== undefined;
  for (let k = lo; k < hi; k++) {
    if (stop?.()) return false;
    if (fused) {
      onlinePass(kern, f, layout.slots[0]![k]!, layout.slots[1]![k]!, data, rows!, order, n, u0, u1, kanekoRule, out, err, total);
      continue;
    }
    const net = layout.nets[k]!;
    const last = net.layers[net.layers.length - 1]!;
    for (let start = 0; start < n; start += batch) {
      if (stop !== undefined && start > 0 && stop()) return false;
      const count = Math.min(batch, n - start);
      stageBatch(f, net, data, order, start, count, kern);
      kern.forwardLayers(f, net, 0, net.layers.length, count, u0);
      kern.amine(f, net, count, u1);
      if (train) kern.updateLayers(f, net, 0, net.layers.length, count, kanekoRule);
      for (let b = 0; b < count; b++) {
        const row = (start + b) * total + net.firstOutput;
        for (let c = 0; c < net.outputs; c++) {
          out[row + c] = f[last.y + b * last.yStride + c]!;
          err[row + c] = f[net.err + b * net.outputs + c]!;
        }
      }
    }
  }
  return true;
}

/**
 * runNets' online pass over one net with the fused kernel: sample p's activations in slot p % 2;
 * once it is scored, each layer's update of sample p and forward pass of sample p + 1 go in one
 * pass over its weights, layer by layer. The same arithmetic as sample after sample (each layer's
 * update reads only sample p's activations; each forward pass sees the new weights either way).
 */
function onlinePass(
  kern: Kernels, f: Floats, a: NetLayout, b: NetLayout, data: Samples, rows: Float32Array, order: Int32Array, n: number,
  u0: number, u1: number, kanekoRule: boolean, out: Float64Array, err: Float64Array, total: number,
): void {
  const L = a.layers.length;
  if (n === 0) return;
  stageStaged(f, a, data, rows, order, 0);
  kern.forwardLayers(f, a, 0, L, 1, u0);
  for (let p = 0; p < n; p++) {
    const cur = p % 2 === 0 ? a : b;
    const next = p % 2 === 0 ? b : a;
    kern.amine(f, cur, 1, u1);
    const o = cur.layers[L - 1]!;
    const row = p * total + cur.firstOutput;
    for (let c = 0; c < cur.outputs; c++) {
      out[row + c] = f[o.y + c]!;
      err[row + c] = f[cur.err + c]!;
    }
    if (p + 1 < n) {
      // Every layer in order: the next sample's input to layer k is ready once layer k - 1 has run.
      stageStaged(f, next, data, rows, order, p + 1);
      for (let k = 0; k < L; k++) kern.updateThenForward!(f, cur, next, k, u0, kanekoRule);
    } else {
      kern.updateLayers(f, cur, 0, L, 1, kanekoRule);
    }
  }
}

/** One thread's forward pass over a segment: whole layers through the (fusing) layer runs, or its cells of one layer. */
export function forwardSegment(k: Kernels, f: Floats, net: NetLayout, seg: CellSegment, count: number, u0: number): void {
  if (seg.range) k.forward(f, net.layers[seg.k0]!, count, u0, seg.range[0], seg.range[1]);
  else k.forwardLayers(f, net, seg.k0, seg.k1, count, u0);
}

export function updateSegment(k: Kernels, f: Floats, net: NetLayout, seg: CellSegment, count: number, kanekoRule: boolean): void {
  if (seg.range) k.update(f, net, net.layers[seg.k0]!, count, kanekoRule, seg.range[0], seg.range[1]);
  else k.updateLayers(f, net, seg.k0, seg.k1, count, kanekoRule);
}
