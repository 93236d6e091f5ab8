/** Initial weights, and copying weights in and out of shared memory. */
import type { Layout } from './layout.js';
import type { ModelConfig } from '../options.js';
import { Rng } from './rng.js';

/** Per net, per layer: the weight matrix (source-major: w[i * nOut + j]) and the bias vector (empty when none). */
export type WeightSet = {
  /** The weight matrix, source-major: w[i * cells + j] joins source i to cell j. */
  w: Float64Array;
  /** The bias vector (empty when the model has none). */
  b: Float64Array;
}[][];

/**
 * Magnitudes uniform in [0, initScale), signs fixed by type(source) * type(cell), drawn net by net,
 * layer by layer, cell by cell, source by source. With `field`, each first-layer cell's window is
 * drawn from a second generator and the weights from pixels outside it are then set to 0, so every
 * other weight is the one the model without fields draws.
 */
export function initWeights(f: Float64Array | Float32Array, layout: Layout, c: ModelConfig, seed: number): void {
  const rng = new Rng(seed);
  for (const net of layout.nets) {
    for (const l of net.layers) {
      const h = l.readoutColumn;
      const cells = l.nIn - l.nOut * h;
      for (let j = 0; j < l.nOut; j++) {
        const t = l.cellTypes[j]!;
        for (let i = 0; i < l.nIn; i++) {
          const r = rng.next();
          // A columns readout starts from its own column only: the other columns' weights start at 0.
          const cross = h > 0 && i >= cells && ((i - cells) / h | 0) !== j;
          f[l.w + i * l.nOut + j] = cross ? 0 : (l.srcE[i] === 1 ? t : -t) * c.initScale * r;
        }
      }
      if (l.b >= 0) for (let j = 0; j < l.nOut; j++) f[l.b + j] = l.cellTypes[j]! * c.initScale * rng.next();
    }
  }
  if (c.field) maskFields(f, layout, c.inputs, c.field, seed);
}

/**
 * Zeroes the weights of each first-layer cell from the pixels outside its field x field window
 * (kaneko topology: the sources are the bias cells, then each pixel as an E and an I source).
 */
function maskFields(f: Float64Array | Float32Array, layout: Layout, pixels: number, field: number, seed: number): void {
  const rng = new Rng((seed ^ 0x5eedf1e1) >>> 0);
  const side = Math.round(Math.sqrt(pixels));
  const span = side - field + 1;
  for (const net of layout.nets) {
    const l = net.layers[0]!;
    const first = net.biasCells ? 2 : 0;
    for (let j = 0; j < l.nOut; j++) {
      const r0 = Math.floor(rng.next() * span);
      const c0 = Math.floor(rng.next() * span);
      for (let p = 0; p < pixels; p++) {
        const r = Math.floor(p / side);
        const q = p % side;
        if (r >= r0 && r < r0 + field && q >= c0 && q < c0 + field) continue;
        f[l.w + (first + 2 * p) * l.nOut + j] = 0;
        f[l.w + (first + 2 * p + 1) * l.nOut + j] = 0;
      }
    }
  }
}

export function readWeights(f: Float64Array | Float32Array, layout: Layout): WeightSet {
  return layout.nets.map((net) =>
    net.layers.map((l) => ({
      w: Float64Array.from(f.subarray(l.w, l.w + l.nOut * l.nIn)),
      b: l.b >= 0 ? Float64Array.from(f.subarray(l.b, l.b + l.nOut)) : new Float64Array(0),
    })),
  );
}

export function writeWeights(f: Float64Array | Float32Array, layout: Layout, ws: WeightSet): void {
  layout.nets.forEach((net, n) =>
    net.layers.forEach((l, k) => {
      f.set(ws[n]![k]!.w, l.w);
      if (l.b >= 0) f.set(ws[n]![k]!.b, l.b);
    }),
  );
}
