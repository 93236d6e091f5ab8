/**
 * Kernel implementations behind one interface: plain JavaScript (float64 or float32), or the
 * WebAssembly SIMD kernels (float32) running directly on the shared memory. Every thread builds
 * its own from the memory it holds; the math is the same per layer whichever thread runs it.
 */
import { readFileSync } from 'node:fs';
import { activate } from './activations.js';
import { computeAmine, forwardLayer, updateLayer } from './engine.js';
import { amineCoefficients } from './kernels.js';
import { CTRL_BYTES, type Floats, type LayerLayout, type Memory, type NetLayout } from './layout.js';
import type { KernelImpl } from './options.js';

export interface Kernels {
  readonly impl: KernelImpl;
  forward(f: Floats, l: LayerLayout, batch: number, u0: number): void;
  amine(f: Floats, net: NetLayout, batch: number, u1: number): void;
  update(f: Floats, net: NetLayout, l: LayerLayout, batch: number, kanekoRule: boolean): void;
}

export const jsKernels: Kernels = { impl: 'js', forward: forwardLayer, amine: computeAmine, update: updateLayer };

interface WasmExports {
  fwd(w: number, bias: number, hasBias: number, x: number, xs: number, y: number, ys: number, B: number, nIn: number, nOut: number): void;
  upd(w: number, x: number, xs: number, g: number, gs: number, B: number, i0: number, i1: number, nOut: number, scale: number, freeze: number): void;
  sigmoid(p: number, rows: number, cols: number, stride: number, k: number): void;
  upd1(w: number, x: number, gE: number, gI: number, types: number, nIn: number, nOut: number, scale: number, freeze: number): void;
}

let wasmModule: WebAssembly.Module | undefined;
const WASM_URL = new URL('../wasm/kernels.wasm', import.meta.url);

/** Source runs of one type, [start, end, isE], so the wasm update reads one coefficient matrix per run. */
function typeRuns(srcE: Uint8Array): [number, number, boolean][] {
  const runs: [number, number, boolean][] = [];
  for (let i = 0; i < srcE.length;) {
    let j = i + 1;
    while (j < srcE.length && srcE[j] === srcE[i]) j++;
    runs.push([i, j, srcE[i] === 1]);
    i = j;
  }
  return runs;
}

/** The WebAssembly SIMD kernels on `mem` (float32 layouts only). */
export function wasmKernels(mem: Memory): Kernels {
  wasmModule ??= new WebAssembly.Module(readFileSync(WASM_URL));
  const ex = new WebAssembly.Instance(wasmModule, { env: { memory: mem.wasm } }).exports as unknown as WasmExports;
  const runs = new WeakMap<Uint8Array, [number, number, boolean][]>();
  const addr = (off: number): number => CTRL_BYTES + 4 * off;
  return {
    impl: 'wasm',
    forward(f, l, batch, u0) {
      ex.fwd(addr(l.w), l.b >= 0 ? addr(l.b) : 0, l.b >= 0 ? 1 : 0, addr(l.x), 4 * l.xStride, addr(l.y), 4 * l.yStride, batch, l.nIn, l.nOut);
      const act = l.act;
      const n = l.nOut;
      if (act === 0) {
        ex.sigmoid(addr(l.y), batch, n, 4 * l.yStride, -2 / u0);
        return;
      }
      for (let b = 0; b < batch; b++) {
        const r = l.y + b * l.yStride;
        for (let j = 0; j < n; j++) f[r + j] = activate(act, f[r + j]!, u0);
      }
    },
    amine: computeAmine,
    update(f, net, l, batch, kanekoRule) {
      const perCell = l.isOutput;
      amineCoefficients(f, l.y, l.yStride, batch, l.nOut, l.cellTypes, l.act, perCell ? net.err : net.amine, perCell ? net.outputs : 1, perCell, kanekoRule, l.gE, l.gI);
      const scale = l.alpha / batch;
      if (batch === 1) {
        ex.upd1(addr(l.w), addr(l.x), addr(l.gE), addr(l.gI), addr(l.types), l.nIn, l.nOut, scale, kanekoRule ? 1 : 0);
      } else {
        let r = runs.get(l.srcE);
        if (!r) runs.set(l.srcE, (r = typeRuns(l.srcE)));
        for (let k = 0; k < r.length; k++) {
          const run = r[k]!;
          ex.upd(addr(l.w), addr(l.x), 4 * l.xStride, addr(run[2] ? l.gE : l.gI), 4 * l.nOut, batch, run[0], run[1], l.nOut, scale, kanekoRule ? 1 : 0);
        }
      }
      if (l.b >= 0) {
        for (let j = 0; j < l.nOut; j++) {
          let a = 0;
          for (let b = 0; b < batch; b++) a += f[l.gE + b * l.nOut + j]!;
          f[l.b + j] = f[l.b + j]! + scale * a;
        }
      }
    },
  };
}

/** The wasm update kernel alone, with the coefficients already in gE/gI (for tests and benchmarks). */
const rawInstances = new WeakMap<WebAssembly.Memory, WasmExports>();
export function rawUpdate(mem: Memory, l: LayerLayout, batch: number, scale: number): void {
  wasmModule ??= new WebAssembly.Module(readFileSync(WASM_URL));
  let ex = rawInstances.get(mem.wasm);
  if (!ex) rawInstances.set(mem.wasm, (ex = new WebAssembly.Instance(wasmModule, { env: { memory: mem.wasm } }).exports as unknown as WasmExports));
  const addr = (off: number): number => CTRL_BYTES + 4 * off;
  for (const [i0, i1, isE] of typeRuns(l.srcE)) {
    ex.upd(addr(l.w), addr(l.x), 4 * l.xStride, addr(isE ? l.gE : l.gI), 4 * l.nOut, batch, i0, i1, l.nOut, scale, 0);
  }
}

export function kernelsFor(impl: KernelImpl, mem: Memory): Kernels {
  return impl === 'wasm' ? wasmKernels(mem) : jsKernels;
}
