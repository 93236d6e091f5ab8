/**
 * Kernel implementations behind one interface: plain JavaScript (float64 or float32), or the
 * WebAssembly SIMD kernels (float32) running directly on the shared memory. Every thread builds
 * its own from the memory it holds; the math is the same per layer whichever thread runs it.
 */
import { readFileSync } from 'node:fs';
import { activate } from '../engine/activations.js';
import { computeAmine, type DoubledGather, forwardLayer, type RowGather, updateLayer } from '../engine/engine.js';
import { amineCoefficients } from './reference.js';
import { CTRL_BYTES, type Floats, type LayerLayout, type Memory, type NetLayout } from '../engine/layout.js';
import { bindNative, nativeAddon } from './native.js';
import type { KernelChoice, KernelImpl } from '../options.js';

export interface Kernels {
  readonly impl: KernelImpl;
  /** Cells per register tile of the batch kernels: a range of cells that is a multiple of it runs no narrower edge tile. */
  readonly cellTile: number;
  /** Cells j0 <= j < j1 (default: all) of one layer; a cell's result never depends on the range. */
  forward(f: Floats, l: LayerLayout, batch: number, u0: number, j0?: number, j1?: number): void;
  amine(f: Floats, net: NetLayout, batch: number, u1: number): void;
  /** The incoming weights (and biases) of cells j0 <= j < j1 (default: all). */
  update(f: Floats, net: NetLayout, l: LayerLayout, batch: number, kanekoRule: boolean, j0?: number, j1?: number): void;
  /** Layers [lo, hi) of a net, in order (the wasm kernels fuse runs of identical tiny layers). */
  forwardLayers(f: Floats, net: NetLayout, lo: number, hi: number, batch: number, u0: number): void;
  updateLayers(f: Floats, net: NetLayout, lo: number, hi: number, batch: number, kanekoRule: boolean): void;
  /**
   * Online training, one pass over layer k's weights: the update of `cur`'s sample (batch of one),
   * then the forward pass of `next`'s sample (another slot, same weights) with the new weights;
   * the same results as update then forward. Only where a kernel fuses them (native).
   */
  updateThenForward?(f: Floats, cur: NetLayout, next: NetLayout, k: number, u0: number, kanekoRule: boolean): void;
  /** A batch's input rows into the memory in one call, for stageBatch (native). */
  gatherRows?: RowGather;
  /** The same for unpaired float32 rows written twice (the native kernels offer it). */
  gatherDoubled?: DoubledGather;
}

function forwardEach(this: Kernels, f: Floats, net: NetLayout, lo: number, hi: number, batch: number, u0: number): void {
  for (let k = lo; k < hi; k++) this.forward(f, net.layers[k]!, batch, u0);
}

function updateEach(this: Kernels, f: Floats, net: NetLayout, lo: number, hi: number, batch: number, kanekoRule: boolean): void {
  for (let k = lo; k < hi; k++) this.update(f, net, net.layers[k]!, batch, kanekoRule);
}

export const jsKernels: Kernels = {
  impl: 'js', cellTile: 1, forward: forwardLayer, amine: computeAmine, update: updateLayer, forwardLayers: forwardEach, updateLayers: updateEach,
};

/**
 * A hidden paired layer the fused wasm chain handles: sigmoid, no bias, as many cells as sources
 * (E sources then I sources, E cells then I cells), output written as the next stage.
 */
function chainable(l: LayerLayout): boolean {
  if (l.isOutput || l.amineGroup < l.nOut || l.act !== 0 || l.b >= 0 || l.nIn !== l.nOut || l.xStride !== l.nIn || l.yStride !== l.nOut || l.y <= l.x) return false;
  const half = l.nIn / 2;
  for (let i = 0; i < l.nIn; i++) if ((l.srcE[i] === 1) !== i < half || (l.cellTypes[i] === 1) !== i < half) return false;
  return true;
}

/** Maximal runs of chainable layers with constant strides in [lo, hi): [start, end) pairs; others alone. */
function chainRuns(net: NetLayout, lo: number, hi: number): [number, number, boolean][] {
  const runs: [number, number, boolean][] = [];
  for (let k = lo; k < hi;) {
    const l = net.layers[k]!;
    if (!chainable(l)) {
      runs.push([k, k + 1, false]);
      k++;
      continue;
    }
    let e = k + 1;
    while (e < hi) {
      const q = net.layers[e]!;
      const p = net.layers[e - 1]!;
      // Consecutive stages, and weights and coefficients at one constant stride along the run.
      if (!chainable(q) || q.nIn !== l.nIn || q.x !== p.y || q.y - q.x !== l.y - l.x) break;
      if (e >= k + 2 && (q.w - p.w !== net.layers[k + 1]!.w - l.w || q.gE - p.gE !== net.layers[k + 1]!.gE - l.gE)) break;
      e++;
    }
    runs.push([k, e, true]);
    k = e;
  }
  return runs;
}

/** The wasm module's exports: `nOut` cells from w on, rows of the weights `ws` bytes apart. */
interface WasmExports {
  fwd(w: number, bias: number, hasBias: number, x: number, xs: number, y: number, ys: number, B: number, nIn: number, nOut: number, ws: number): void;
  upd(w: number, x: number, xs: number, g: number, gs: number, B: number, i0: number, i1: number, nOut: number, scale: number, freeze: number, ws: number): void;
  sigmoid(p: number, rows: number, cols: number, stride: number, k: number): void;
  upd1(w: number, x: number, gE: number, gI: number, types: number, nIn: number, nOut: number, scale: number, freeze: number, ws: number): void;
  fwd1(w: number, bias: number, hasBias: number, x: number, y: number, nIn: number, nOut: number, ws: number): void;
  chainFwd(w: number, wS: number, x: number, xS: number, count: number, B: number, nIn: number, nOut: number, k: number): void;
  chainUpd(w: number, wS: number, x: number, xS: number, g: number, gS: number, count: number, B: number, nIn: number, nOut: number, nE: number, amine: number, scale: number): void;
}

let wasmModule: WebAssembly.Module | undefined;
const WASM_URL = new URL('../../wasm/kernels.wasm', import.meta.url);

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

/**
 * What the SIMD kernels offer, in the native addon's signatures: byte offsets into the shared
 * memory, strides in bytes, cells j0 <= j < j1 of a layer of nOut; `fwd`/`fwd1` apply the sigmoid
 * when act is 1. The wasm module is adapted to them (a cell range is an offset and a row stride).
 */
type SimdExports = Pick<WasmExports, 'sigmoid' | 'chainFwd' | 'chainUpd'> & {
  fwd(w: number, bias: number, hasBias: number, x: number, xs: number, y: number, ys: number, B: number, nIn: number, nOut: number, act: number, k: number, j0: number, j1: number): void;
  upd(w: number, x: number, xs: number, g: number, gs: number, B: number, i0: number, i1: number, nOut: number, scale: number, freeze: number, j0: number, j1: number, dup?: number): void;
  /** Native only: upd with gE for the sources whose types value is not 0 and gI for the others, in one call (Kaneko's interleaved E/I sources). */
  updTyped?(w: number, x: number, xs: number, gE: number, gI: number, gs: number, B: number, types: number, i0: number, i1: number, nOut: number, scale: number, freeze: number, j0: number, j1: number): void;
  upd1(w: number, x: number, gE: number, gI: number, types: number, nIn: number, nOut: number, scale: number, freeze: number, j0: number, j1: number): void;
  fwd1(w: number, bias: number, hasBias: number, x: number, y: number, nIn: number, nOut: number, act: number, k: number, j0: number, j1: number): void;
  /** Native only: an online update of one sample then the forward pass of the next, in one pass; the fixed arguments once (prep), then an index and the rate (run). */
  prepUpdFwd1?(w: number, xOld: number, gE: number, gI: number, types: number, freeze: number, xNew: number, bias: number, hasBias: number, y: number, nIn: number, nOut: number, act: number, k: number): number;
  runUpdFwd1?(index: number, scale: number): void;
  /** Native only: the bidirectional coefficients of a sigmoid layer whose E cells come first. */
  coef?(y: number, ys: number, B: number, nOut: number, nE: number, amine: number, amineStride: number, g: number, j0: number, j1: number): void;
};

function wasmExports(mem: Memory): SimdExports {
  wasmModule ??= new WebAssembly.Module(readFileSync(WASM_URL));
  const ex = new WebAssembly.Instance(wasmModule, { env: { memory: mem.wasm } }).exports as unknown as WasmExports;
  return {
    sigmoid: ex.sigmoid,
    chainFwd: ex.chainFwd,
    chainUpd: ex.chainUpd,
    fwd(w, bias, hasBias, x, xs, y, ys, B, nIn, nOut, act, k, j0, j1) {
      ex.fwd(w + 4 * j0, bias + 4 * j0, hasBias, x, xs, y + 4 * j0, ys, B, nIn, j1 - j0, 4 * nOut);
      if (act === 1) ex.sigmoid(y + 4 * j0, B, j1 - j0, ys, k);
    },
    upd(w, x, xs, g, gs, B, i0, i1, nOut, scale, freeze, j0, j1, dup = 0) {
      ex.upd(w + 4 * j0, x, xs, g + 4 * j0, gs, B, i0, i1, j1 - j0, scale, freeze, 4 * nOut);
      if (dup > 0) ex.upd(w + 4 * j0, x, xs, g + 4 * j0, gs, B, i0 + dup, i1 + dup, j1 - j0, scale, freeze, 4 * nOut);
    },
    upd1(w, x, gE, gI, types, nIn, nOut, scale, freeze, j0, j1) {
      ex.upd1(w + 4 * j0, x, gE + 4 * j0, gI + 4 * j0, types, nIn, j1 - j0, scale, freeze, 4 * nOut);
    },
    fwd1(w, bias, hasBias, x, y, nIn, nOut, act, k, j0, j1) {
      ex.fwd1(w + 4 * j0, bias + 4 * j0, hasBias, x, y + 4 * j0, nIn, j1 - j0, 4 * nOut);
      if (act === 1) ex.sigmoid(y + 4 * j0, 1, j1 - j0, 4 * (j1 - j0), k);
    },
  };
}

/** The WebAssembly SIMD kernels on `mem` (float32 layouts only). */
export function wasmKernels(mem: Memory): Kernels {
  return simdKernels('wasm', wasmExports(mem), 8); // the 4x8 kernel's 8 cells
}

/** The native kernels (the addon's best variant for this CPU) on `mem`, in place (float32 layouts only). */
export function nativeKernels(mem: Memory): Kernels {
  const ex = bindNative(mem.buffer);
  // Two vectors of cells: 32 with AVX-512, 16 with AVX2 (the portable scalar kernels have no tile; 16 keeps their ranges as before).
  const k = simdKernels('native', ex, ex.variant === 'avx512' ? 32 : 16);
  const stageRows = ex.stageRows?.bind(ex);
  if (stageRows) k.gatherRows = (dst, stride, rows, order, start, count, width) => stageRows(CTRL_BYTES + 4 * dst, 4 * stride, rows, order, start, count, width);
  const doubled = ex.stageRowsDoubled?.bind(ex);
  if (doubled) k.gatherDoubled = (dst, stride, rows, order, start, count, width, interleaved) => doubled(CTRL_BYTES + 4 * dst, 4 * stride, rows, order, start, count, width, interleaved);
  return k;
}

const blocks = new WeakMap<LayerLayout, number>();
/**
 * For a sigmoid layer with one amine channel per cell group covering the layer (or the output
 * layer's single cell) and its E cells first: how many E cells; -1 otherwise (cached per layer).
 */
function sigmoidBlocks(l: LayerLayout): number {
  let nE = blocks.get(l);
  if (nE !== undefined) return nE;
  nE = 0;
  while (nE < l.nOut && l.cellTypes[nE] === 1) nE++;
  let ok = (l.act === 0 || l.act === 5) && l.amineGroup >= l.nOut;
  for (let j = nE; j < l.nOut; j++) if (l.cellTypes[j] !== -1) ok = false;
  blocks.set(l, (nE = ok ? nE : -1));
  return nE;
}

/** The float32 kernels over one SIMD implementation: fused runs of tiny layers, the online kernels, E/I runs. */
function simdKernels(impl: 'wasm' | 'native', ex: SimdExports, cellTile: number): Kernels {
  // Prepared online steps (native): per layer, per next slot, slope and rule, the step's index.
  const steps = new WeakMap<LayerLayout, Map<number, { u0: number; id: number }>>();
  const runs = new WeakMap<Uint8Array, [number, number, boolean][]>();
  const addr = (off: number): number => CTRL_BYTES + 4 * off;
  const chains = new WeakMap<NetLayout, Map<number, [number, number, boolean][]>>();
  const runsOf = (net: NetLayout, lo: number, hi: number): [number, number, boolean][] => {
    let m = chains.get(net);
    if (!m) chains.set(net, (m = new Map()));
    let r = m.get(lo * 65536 + hi);
    if (!r) m.set(lo * 65536 + hi, (r = chainRuns(net, lo, hi)));
    return r;
  };
  // A run's strides: from its first two layers (a run of one has no neighbour: its strides are unused).
  const stride = (net: NetLayout, k: number, e: number, key: 'w' | 'x' | 'gE'): number => (e - k > 1 ? net.layers[k + 1]![key] - net.layers[k]![key] : 0);
  const kernels: Kernels = {
    impl,
    cellTile,
    forwardLayers(f, net, lo, hi, batch, u0) {
      for (const [k, e, chain] of runsOf(net, lo, hi)) {
        if (!chain) {
          this.forward(f, net.layers[k]!, batch, u0);
          continue;
        }
        const l = net.layers[k]!;
        ex.chainFwd(addr(l.w), 4 * stride(net, k, e, 'w'), addr(l.x), 4 * (l.y - l.x), e - k, batch, l.nIn, l.nOut, -2 / u0);
      }
    },
    updateLayers(f, net, lo, hi, batch, kanekoRule) {
      for (const [k, e, chain] of runsOf(net, lo, hi)) {
        if (!chain || kanekoRule || batch === 1) {
          for (let c = k; c < e; c++) this.update(f, net, net.layers[c]!, batch, kanekoRule);
          continue;
        }
        const l = net.layers[k]!;
        ex.chainUpd(addr(l.w), 4 * stride(net, k, e, 'w'), addr(l.x), 4 * (l.y - l.x), addr(l.gE), 4 * stride(net, k, e, 'gE'),
          e - k, batch, l.nIn, l.nOut, l.nOut / 2, addr(net.amine), (l.alpha * f[net.rate]!) / batch);
      }
    },
    forward(f, l, batch, u0, j0 = 0, j1 = l.nOut) {
      const act = l.act;
      const bias = l.b >= 0 ? addr(l.b) : 0;
      const hasBias = l.b >= 0 ? 1 : 0;
      if (batch === 1) {
        ex.fwd1(addr(l.w), bias, hasBias, addr(l.x), addr(l.y), l.nIn, l.nOut, act === 0 ? 1 : 0, -2 / u0, j0, j1);
      } else {
        ex.fwd(addr(l.w), bias, hasBias, addr(l.x), 4 * l.xStride, addr(l.y), 4 * l.yStride, batch, l.nIn, l.nOut, act === 0 ? 1 : 0, -2 / u0, j0, j1);
      }
      if (act === 0) return;
      for (let b = 0; b < batch; b++) {
        const r = l.y + b * l.yStride;
        for (let j = j0; j < j1; j++) f[r + j] = activate(act, f[r + j]!, u0);
      }
    },
    amine: computeAmine,
    ...(ex.prepUpdFwd1 && ex.runUpdFwd1 ? {
      updateThenForward(f: Floats, cur: NetLayout, next: NetLayout, k: number, u0: number, kanekoRule: boolean): void {
        const l = cur.layers[k]!;
        const n = next.layers[k]!;
        if (l.readoutColumn > 0 || l.act !== 0) {
          this.update(f, cur, l, 1, kanekoRule);
          this.forward(f, n, 1, u0);
          return;
        }
        amineCoefficients(f, l.y, l.yStride, 1, l.nOut, l.cellTypes, l.act, l.isOutput ? cur.err : cur.amine,
          l.isOutput ? cur.outputs : cur.channels, l.amineGroup, kanekoRule, l.gE, l.gI);
        const scale = l.alpha * f[cur.rate]!;
        // The bias first: the next sample's sums add the updated bias (it does not depend on the weights).
        if (l.b >= 0) for (let j = 0; j < l.nOut; j++) f[l.b + j] = f[l.b + j]! + scale * f[l.gE + j]!;
        // The step's fixed arguments are handed over once per layer, next slot, slope and rule.
        let byNext = steps.get(l);
        if (!byNext) steps.set(l, (byNext = new Map()));
        const key = 2 * n.x + (kanekoRule ? 1 : 0);
        let step = byNext.get(key);
        if (step === undefined || step.u0 !== u0) {
          step = { u0, id: ex.prepUpdFwd1!(addr(l.w), addr(l.x), addr(l.gE), addr(l.gI), addr(l.types), kanekoRule ? 1 : 0, addr(n.x),
            l.b >= 0 ? addr(l.b) : 0, l.b >= 0 ? 1 : 0, addr(n.y), l.nIn, l.nOut, 1, -2 / u0) };
          byNext.set(key, step);
        }
        ex.runUpdFwd1!(step.id, scale);
      },
    } : {}),
    update(f, net, l, batch, kanekoRule, j0 = 0, j1 = l.nOut) {
      // The columns readout (one small layer) has no SIMD kernel: the reference one runs it.
      if (l.readoutColumn > 0) return updateLayer(f, net, l, batch, kanekoRule, j0, j1);
      const amine = l.isOutput ? net.err : net.amine;
      const amineStride = l.isOutput ? net.outputs : net.channels;
      const scale = (l.alpha * f[net.rate]!) / batch;
      const nE = ex.coef && batch > 1 && !kanekoRule ? sigmoidBlocks(l) : -1;
      if (nE >= 0) {
        // Native, bidirectional, sigmoid, one amine channel, E cells first: gE = gI, computed natively,
        // and one update call over every source.
        ex.coef!(addr(l.y), 4 * l.yStride, batch, l.nOut, nE, addr(amine), 4 * amineStride, addr(l.gE), j0, j1);
        // A paired net's input stage holds every input twice (E copy, I copy): the first layer's
        // rows for the second copy get the same sums as the first (bit-identical, half the work).
        const dup = l.x === net.input && !net.interleaved ? (l.nIn - (net.biasCells ? 2 : 0)) / 2 : 0;
        const cells = l.nIn - 2 * dup;
        if (dup === 0 || cells > 0) ex.upd(addr(l.w), addr(l.x), 4 * l.xStride, addr(l.gE), 4 * l.nOut, batch, 0, dup ? cells : l.nIn, l.nOut, scale, 0, j0, j1);
        if (dup > 0) ex.upd(addr(l.w), addr(l.x), 4 * l.xStride, addr(l.gE), 4 * l.nOut, batch, cells, cells + dup, l.nOut, scale, 0, j0, j1, dup);
      } else {
        amineCoefficients(f, l.y, l.yStride, batch, l.nOut, l.cellTypes, l.act, amine, amineStride, l.amineGroup, kanekoRule, l.gE, l.gI, j0, j1);
        if (batch === 1) {
          ex.upd1(addr(l.w), addr(l.x), addr(l.gE), addr(l.gI), addr(l.types), l.nIn, l.nOut, scale, kanekoRule ? 1 : 0, j0, j1);
        } else {
          let r = runs.get(l.srcE);
          if (!r) runs.set(l.srcE, (r = typeRuns(l.srcE)));
          if (r.length > 2 && ex.updTyped) {
            // Interleaved E/I sources (Kaneko's nets: runs of one source) in one call over every
            // source, bit-identical to the calls run by run below.
            ex.updTyped(addr(l.w), addr(l.x), 4 * l.xStride, addr(l.gE), addr(l.gI), 4 * l.nOut, batch, addr(l.types), 0, l.nIn, l.nOut, scale, kanekoRule ? 1 : 0, j0, j1);
          } else for (let k = 0; k < r.length; k++) {
            const run = r[k]!;
            ex.upd(addr(l.w), addr(l.x), 4 * l.xStride, addr(run[2] ? l.gE : l.gI), 4 * l.nOut, batch, run[0], run[1], l.nOut, scale, kanekoRule ? 1 : 0, j0, j1);
          }
        }
      }
      if (l.b >= 0) {
        for (let j = j0; j < j1; j++) {
          let a = 0;
          for (let b = 0; b < batch; b++) a += f[l.gE + b * l.nOut + j]!;
          f[l.b + j] = f[l.b + j]! + scale * a;
        }
      }
    },
  };
  return kernels;
}

/** The SIMD update kernel alone, with the coefficients already in gE/gI (for tests and benchmarks). */
const rawInstances = new WeakMap<WebAssembly.Memory, SimdExports>();
export function rawUpdate(mem: Memory, l: LayerLayout, batch: number, scale: number, impl: 'wasm' | 'native' = 'wasm'): void {
  const key = impl === 'wasm' ? mem.wasm : (mem.buffer as unknown as WebAssembly.Memory);
  let ex = rawInstances.get(key);
  if (!ex) rawInstances.set(key, (ex = impl === 'wasm' ? wasmExports(mem) : bindNative(mem.buffer)));
  const addr = (off: number): number => CTRL_BYTES + 4 * off;
  for (const [i0, i1, isE] of typeRuns(l.srcE)) {
    ex.upd(addr(l.w), addr(l.x), 4 * l.xStride, addr(isE ? l.gE : l.gI), 4 * l.nOut, batch, i0, i1, l.nOut, scale, 0, 0, l.nOut);
  }
}

/** The kernels of one implementation on `mem` (`auto`, unresolved: native where it loads, else wasm; js for float64). */
export function kernelsFor(choice: KernelChoice, mem: Memory): Kernels {
  const impl = choice === 'auto' ? (mem.f instanceof Float64Array ? 'js' : nativeAddon() ? 'native' : 'wasm') : choice;
  return impl === 'wasm' ? wasmKernels(mem) : impl === 'native' ? nativeKernels(mem) : jsKernels;
}
