/**
 * The optional native kernel addon (native/, built from source by `npm install` with node-gyp):
 * loaded once per thread, or the reason it is not there. EDSIM_NATIVE=0 turns it off;
 * EDSIM_NATIVE_VARIANT=avx512|avx2|portable forces a variant (tests hold every variant to the same results);
 * EDSIM_FLUSH_DENORMALS=0 keeps subnormal floats in the kernels (flushed to zero by default: see native/addon.cc).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The kernels bound to one memory, with the WebAssembly module's signatures (byte offsets). */
export interface NativeBound {
  readonly variant: string;
  fwd(w: number, bias: number, hasBias: number, x: number, xs: number, y: number, ys: number, B: number, nIn: number, nOut: number, act: number, k: number, j0?: number, j1?: number): void;
  upd(w: number, x: number, xs: number, g: number, gs: number, B: number, i0: number, i1: number, nOut: number, scale: number, freeze: number, j0?: number, j1?: number, dup?: number): void;
  /** upd with gE for the sources whose `types` value is not 0 and gI for the others (an addon built before it lacks it). */
  updTyped?(w: number, x: number, xs: number, gE: number, gI: number, gs: number, B: number, types: number, i0: number, i1: number, nOut: number, scale: number, freeze: number, j0?: number, j1?: number): void;
  sigmoid(p: number, rows: number, cols: number, stride: number, k: number): void;
  upd1(w: number, x: number, gE: number, gI: number, types: number, nIn: number, nOut: number, scale: number, freeze: number, j0?: number, j1?: number): void;
  fwd1(w: number, bias: number, hasBias: number, x: number, y: number, nIn: number, nOut: number, act: number, k: number, j0?: number, j1?: number): void;
  /** updfwd1 with every argument but the rate fixed once; returns the index runUpdFwd1 takes. */
  prepUpdFwd1(w: number, xOld: number, gE: number, gI: number, types: number, freeze: number, xNew: number, bias: number, hasBias: number, y: number, nIn: number, nOut: number, act: number, k: number): number;
  runUpdFwd1(index: number, scale: number): void;
  updfwd1(w: number, xOld: number, gE: number, gI: number, types: number, scale: number, freeze: number, xNew: number, bias: number, hasBias: number, y: number, nIn: number, nOut: number, act: number, k: number): void;
  coef(y: number, ys: number, B: number, nOut: number, nE: number, amine: number, amineStride: number, g: number, j0?: number, j1?: number): void;
  chainFwd(w: number, wS: number, x: number, xS: number, count: number, B: number, nIn: number, nOut: number, k: number): void;
  chainUpd(w: number, wS: number, x: number, xS: number, g: number, gS: number, count: number, B: number, nIn: number, nOut: number, nE: number, amine: number, scale: number): void;
  /** Copies rows[order[start + b]] (width floats) to byte offset dst + b * dstStride for b < count (an addon built before it lacks it). */
  stageRows?(dst: number, dstStride: number, rows: Float32Array, order: Int32Array, start: number, count: number, width: number): void;
  /** stageRows for unpaired rows the net reads twice (the row twice, or each value twice when interleaved): 2 * width floats a sample. */
  stageRowsDoubled?(dst: number, dstStride: number, rows: Float32Array, order: Int32Array, start: number, count: number, width: number, interleaved: boolean): void;
}

interface NativeAddon {
  bind(view: Float32Array, variant?: string): NativeBound;
  info(): { variant: string; avx512f: boolean; avx2: boolean; fma: boolean; flushDenormals?: boolean };
  peak(seconds: number, variant?: string): number;
}

const ADDON_PATH = fileURLToPath(new URL('../../../build/Release/edsim_native.node', import.meta.url));
let loaded: { addon?: NativeAddon; reason: string } | undefined;

function load(): { addon?: NativeAddon; reason: string } {
  if (loaded) return loaded;
  if (process.env.EDSIM_NATIVE === '0') return (loaded = { reason: 'turned off by EDSIM_NATIVE=0' });
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    const info = addon.info();
    const cpu = info.avx512f ? 'AVX-512' : info.avx2 && info.fma ? 'AVX2 and FMA' : 'neither AVX-512 nor AVX2+FMA';
    return (loaded = { addon, reason: `${info.variant} kernels: this CPU has ${cpu}${info.flushDenormals === false ? '; subnormals not flushed (EDSIM_FLUSH_DENORMALS=0)' : ''}` });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'MODULE_NOT_FOUND' ? 'the addon was not built at install (no C++ compiler or node-gyp?); `npm run build:native` shows why' : (e as Error).message.split('\n')[0];
    return (loaded = { reason: `native kernels unavailable: ${why}` });
  }
}

/** The addon, or undefined when it cannot load (see nativeReason). */
export function nativeAddon(): NativeAddon | undefined {
  return load().addon;
}

/** Which native variant runs and why, or why there is none. */
export function nativeReason(): string {
  return load().reason;
}

/** Binds the native kernels to a shared memory (a Float32Array over all of it, from byte 0). */
export function bindNative(buffer: SharedArrayBuffer): NativeBound {
  const addon = nativeAddon();
  if (!addon) throw new Error(nativeReason());
  return addon.bind(new Float32Array(buffer), process.env.EDSIM_NATIVE_VARIANT || undefined);
}

let warned = false;
/** Says once per process that the default fell back to WebAssembly, and why. */
export function warnFallbackOnce(): void {
  if (warned) return;
  warned = true;
  process.stderr.write(`edsim: ${nativeReason()}; using the WebAssembly kernels\n`);
}
