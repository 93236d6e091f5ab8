/** Kernel micro-benchmarks: GFLOP/s of the forward and update kernels per implementation, precision and shape. */
import { kernelsFor, rawUpdate } from './backend.js';
import { nativeAddon } from './native.js';
import { amineUpdate } from './reference.js';
import { allocateMemory, type LayerLayout, type Memory } from '../engine/layout.js';
import { Rng } from '../engine/rng.js';
import { summarize } from '../report/stats.js';

export interface KernelResult {
  op: 'forward' | 'update' | 'peak';
  dtype: 'f32' | 'f64';
  batch: number;
  in: number;
  out: number;
  gflops: number;
  impl: 'native' | 'wasm' | 'js';
  /** Native rows: the variant that ran; every row with a native peak: the kernel's share of it. */
  variant?: string;
  shareOfPeak?: number;
}

export const DEFAULT_SHAPES: [number, number, number][] = [[128, 784, 256], [128, 1568, 512], [128, 1024, 512], [128, 4, 4], [1, 256, 128]];

function setup(elem: 4 | 8, B: number, nIn: number, nOut: number): { mem: Memory; l: LayerLayout } {
  const sizes = [nIn * nOut, B * nIn, B * nOut, B * nOut, B * nOut];
  const offs: number[] = [];
  let off = 0;
  for (const n of sizes) {
    offs.push(off);
    off += Math.ceil(n / 4) * 4;
  }
  const mem = allocateMemory({ batch: B, elem, floats: off + 1, weightFloats: 0, rate: off, bytes: Math.ceil((4096 + (off + 4) * elem) / 65536) * 65536, members: 1, nets: [], slots: [] }, 0);
  const rng = new Rng(1);
  for (let i = 0; i < off; i++) mem.f[i] = rng.next() - 0.5;
  const [w, x, y, gE, gI] = offs as [number, number, number, number, number];
  const srcE = Uint8Array.from({ length: nIn }, (_, i) => (i < nIn / 2 ? 1 : 0));
  const l: LayerLayout = { nIn, nOut, srcE, cellTypes: new Int8Array(nOut).fill(1), biasVector: false, act: 0, alpha: 0.1, isOutput: false, amineGroup: nOut, readoutColumn: 0, alphaCross: 0, w, b: -1, types: -1, x, xStride: nIn, y, yStride: nOut, gE, gI };
  return { mem, l };
}

/** Median GFLOP/s over `reps` timed runs of at least ~20 ms each, after a warm-up. */
function time(flops: number, fn: () => void, reps: number): number {
  fn();
  let inner = 1;
  for (let t0 = performance.now(); performance.now() - t0 < 20; inner *= 2) for (let i = 0; i < inner; i++) fn();
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    rates.push((flops * inner) / ((performance.now() - t0) * 1e6));
  }
  return summarize(rates).median;
}

/**
 * Every kernel per implementation (native where the addon loads, wasm, js in f32 and f64) and
 * shape, plus the native peak: register-only FMAs on one core, which every row is a share of.
 */
export function benchKernels(shapes = DEFAULT_SHAPES, reps = 5): KernelResult[] {
  const out: KernelResult[] = [];
  const addon = nativeAddon();
  const variant = addon?.info().variant;
  const peak = addon && variant !== 'portable' ? summarize(Array.from({ length: reps }, () => addon.peak(0.2))).median : undefined;
  if (peak !== undefined) out.push({ op: 'peak', dtype: 'f32', batch: 0, in: 0, out: 0, gflops: peak, impl: 'native', variant, shareOfPeak: 1 });
  const impls = [...(addon ? [['native', 'f32'] as const] : []), ['wasm', 'f32'] as const, ['js', 'f32'] as const, ['js', 'f64'] as const];
  for (const [B, nIn, nOut] of shapes) {
    const flops = 2 * B * nIn * nOut;
    for (const [impl, dtype] of impls) {
      const { mem, l } = setup(dtype === 'f32' ? 4 : 8, B, nIn, nOut);
      const k = kernelsFor(impl, mem);
      const fwd = time(flops, () => k.forward(mem.f, l, B, 0.4), reps);
      const upd = impl !== 'js'
        ? time(flops, () => rawUpdate(mem, l, B, 1e-9, impl), reps)
        : time(flops, () => amineUpdate(mem.f, l.w, -1, l.x, l.xStride, B, nIn, nOut, l.srcE, l.gE, l.gI, 1e-9, false), reps);
      const extra = (g: number): Partial<KernelResult> => ({ ...(impl === 'native' ? { variant } : {}), ...(peak ? { shareOfPeak: g / peak } : {}) });
      out.push({ op: 'forward', dtype, batch: B, in: nIn, out: nOut, gflops: fwd, impl, ...extra(fwd) }, { op: 'update', dtype, batch: B, in: nIn, out: nOut, gflops: upd, impl, ...extra(upd) });
    }
  }
  return out;
}
