/**
 * The shared-memory protocol between the coordinator and the workers: every slot of the Int32
 * control block, and the bounded waits on it. The only file both sides share besides the math.
 * Sequence numbers (one per mini-batch, counting up across epochs) only ever grow, so a waiter
 * needs just "has slot X reached t?".
 */
import type { Samples } from '../engine/engine.js';

export const MAX_GROUPS = 64;
export const RING = 16;

export const SLOT = {
  /** 1 = every worker leaves its loop. */
  STOP: 0,
  /** 1 + index of a group that failed. */
  FAULT: 1,
  /** Output strategy: the epoch (or evaluation) number the workers should run next. */
  EPOCH: 2,
  /** Output strategy: samples in the epoch's order. */
  EPOCH_SAMPLES: 3,
  /** Output strategy: 1 = train, 0 = evaluate. */
  EPOCH_MODE: 4,
  /** Output strategy: the epoch whose training is aborted (each thread stops after its current batch; the trainer rolls back). */
  EPOCH_ABORT: 5,
  /** FWD + g: the last batch whose input for group g is ready (cells: FWD + 0, the batch staged). */
  FWD: 16,
  /**
   * UPD + g: the last batch group g has finished with (forward and update). Cells: thread g's
   * progress step, cellStep(t, k) once it has computed its cells of hidden layer k of batch t,
   * cellStep(t, hidden) once it has also updated them.
   */
  UPD: 16 + MAX_GROUPS,
  /** The last batch whose amine is ready. */
  AMINE: 16 + 2 * MAX_GROUPS,
  /** COUNT + t % RING: samples in batch t. */
  COUNT: 17 + 2 * MAX_GROUPS,
  /** FLAGS + t % RING: bit 0 = train, bit 1 = last batch of the stream (drain pending updates). */
  FLAGS: 17 + 2 * MAX_GROUPS + RING,
  /** Samples strategy: the last stream (epoch or evaluation) announced; its description waits on each worker's port. */
  STREAM: 200,
  /** Samples strategy: the claim counter, (stream tag << CLAIM_BITS) | next item (claimItem). */
  CLAIM: 201,
  /** Samples strategy: items finished in the current stream (the coordinator's progress and stall watch). */
  DONE: 202,
  /** Samples strategy: 1 = skip the rest of the stream's work (aborted epoch; the trainer rolls back). */
  ABORT: 203,
} as const;

/** Item bits of the samples strategy's claim word; the stream's tag takes the bits above. */
export const CLAIM_BITS = 21;
export const MAX_STREAM_ITEMS = 2 ** CLAIM_BITS - 1;

/** The claim word that opens stream s (tag s mod 1024, item 0). */
export function claimStart(s: number): number {
  return (s & 0x3ff) << CLAIM_BITS;
}

/**
 * Takes the next item of stream s, or -1 once its `total` items are all taken or a newer stream
 * has begun (a thread that slept through the end of its stream cannot take the next stream's work:
 * the tag in the word no longer matches, and a compare-and-swap on a stale word fails).
 */
export function claimItem(ctrl: Int32Array, s: number, total: number): number {
  const tag = s & 0x3ff;
  for (;;) {
    const v = Atomics.load(ctrl, SLOT.CLAIM);
    if (v >>> CLAIM_BITS !== tag) return -1;
    const i = v & MAX_STREAM_ITEMS;
    if (i >= total) return -1;
    if (Atomics.compareExchange(ctrl, SLOT.CLAIM, v, v + 1) === v) return i;
  }
}

/** The cells strategy's progress steps: hidden + 1 per batch (one per hidden layer, one for the update). */
export function cellStep(t: number, k: number, hidden: number): number {
  return t * (hidden + 1) + k + 1;
}

export const FLAG_TRAIN = 1;
export const FLAG_LAST = 2;

/** Float64 stats block at this byte offset of the control area: busy ms, wait ms per group. */
export const STATS_BYTE_OFFSET = 2048;

export interface StatsView {
  busy(g: number): number;
  addBusy(g: number, ms: number): void;
  addWait(g: number, ms: number): void;
  wait(g: number): number;
  reset(): void;
}

export function statsView(buffer: SharedArrayBuffer): StatsView {
  const s = new Float64Array(buffer, STATS_BYTE_OFFSET, 2 * MAX_GROUPS);
  return {
    busy: (g) => s[2 * g]!,
    wait: (g) => s[2 * g + 1]!,
    addBusy: (g, ms) => { s[2 * g] = s[2 * g]! + ms; },
    addWait: (g, ms) => { s[2 * g + 1] = s[2 * g + 1]! + ms; },
    reset: () => s.fill(0),
  };
}

/**
 * Spins for up to `spinUs` microseconds, then sleeps in Atomics.wait slices of `sliceMs` until
 * ctrl[slot] >= t. Returns false when `giveUp()` says so between slices (stop flag, fault, deadline).
 * Waking a sleeping thread costs far more than a spinning one notices a store (a futex wake, and on
 * a VM a halted virtual CPU to restart), and the waits between layers last tens to hundreds of
 * microseconds, so threads that have a core each spin through them.
 */
export function waitAtLeast(ctrl: Int32Array, slot: number, t: number, spinUs: number, sliceMs: number, giveUp: () => boolean): boolean {
  if (Atomics.load(ctrl, slot) >= t) return true;
  if (spinUs > 0) {
    const end = performance.now() + spinUs / 1000;
    do {
      for (let i = 0; i < 64; i++) if (Atomics.load(ctrl, slot) >= t) return true;
    } while (performance.now() < end);
  }
  for (;;) {
    const v = Atomics.load(ctrl, slot);
    if (v >= t) return true;
    if (giveUp()) return false;
    Atomics.wait(ctrl, slot, v, sliceMs);
  }
}

/**
 * How long a waiting thread spins before it sleeps: 200 us when every thread has a core, 0 when
 * threads outnumber cores (a spinning thread would take the core the awaited one needs).
 * EDSIM_SPIN_US overrides it. Measured: on 2 cores here, bench-wide cells x2 ran 3-5 % faster with
 * 100-3000 us than with the old ~10 us (2000 loads); on the 16-core Xeon, 1000 us against 10 us made
 * no difference at 16 threads (results/xeon16/spin-*.csv), so the budget stays short.
 */
export function spinBudgetUs(threads: number, cores: number): number {
  const env = process.env.EDSIM_SPIN_US;
  if (env !== undefined && env !== '' && Number.isFinite(Number(env)) && Number(env) >= 0) return Number(env);
  return threads <= cores ? 200 : 0;
}

/** Sets ctrl[slot] = t and wakes every waiter on it. */
export function publish(ctrl: Int32Array, slot: number, t: number): void {
  Atomics.store(ctrl, slot, t);
  Atomics.notify(ctrl, slot);
}

/** What the coordinator hands each worker at start-up (structured-clonable; memory travels as the buffer). */
export interface WorkerInit {
  kind: 'layer' | 'output' | 'cells' | 'samples';
  /** The shared memory itself (structured clone shares it): views and WebAssembly instances are built on it. */
  memory: WebAssembly.Memory;
  kernels: import('../options.js').KernelChoice;
  layout: import('../engine/layout.js').Layout;
  u0: number;
  u1: number;
  kanekoRule: boolean;
  group: number;
  groups: number;
  /** Output strategy: this worker's nets [lo, hi). */
  lo: number;
  hi: number;
  /** Pipeline: how many batches this group's updates trail its forward passes. */
  lag: number;
  slots: number;
  /** Microseconds a wait spins before it sleeps (spinBudgetUs). */
  spinUs: number;
  /** Output strategy: the training data and result buffers. */
  data?: SharedData;
  /** `--trace`: where this thread records its spans (thread index = group). */
  trace?: import('./trace.js').TraceSpec;
  /** Every thread's cells, [layer][thread] = [j0, j1): of every hidden layer (cells), of every layer (layer, pipeline). */
  cells?: [number, number][][];
  /** Samples strategy: the work plan, the per-item done flags, and the port that carries each stream's description. */
  plan?: import('./samples-plan.js').SamplesPlan;
  work?: SharedArrayBuffer;
  port?: import('node:worker_threads').MessagePort;
  /** Test-only fault injection: make this worker throw, exit or hang at batch/epoch `at`. */
  fault?: { kind: 'throw' | 'exit' | 'hang' | 'pause'; at: number };
}

/**
 * The features in shared memory for workers: float32 where the memory is float32 (the values it
 * holds; half the bytes, and staged by copies), else as the data has them.
 */
export function shareFeatures(x: Float64Array | Float32Array, f32Memory: boolean): { x: SharedArrayBuffer; xType: 'f64' | 'f32' } {
  const f32 = f32Memory || x instanceof Float32Array;
  const buf = new SharedArrayBuffer(x.length * (f32 ? 4 : 8));
  (f32 ? new Float32Array(buf) : new Float64Array(buf)).set(x);
  return { x: buf, xType: f32 ? 'f32' : 'f64' };
}

/** A worker's view of shareFeatures' buffer. */
export function featuresView(x: SharedArrayBuffer, xType: 'f64' | 'f32'): Float64Array | Float32Array {
  return xType === 'f32' ? new Float32Array(x) : new Float64Array(x);
}

/** Labelled samples in shared memory for workers that read them all (evaluation slices, the ceiling's trainers). */
export interface SharedSamples {
  /** The features as shareFeatures shares them. */
  x: SharedArrayBuffer;
  xType: 'f64' | 'f32';
  /** Float64 targets, `outputs` per sample. */
  y: SharedArrayBuffer;
  /** Int32 class index per sample. */
  labels: SharedArrayBuffer;
  features: number;
  outputs: number;
  n: number;
}

/** Copies labelled samples into shared memory once (the features as shareFeatures does, for a float32 memory or not). */
export function shareSamples(d: Samples & { labels: Int32Array }, f32Memory: boolean): SharedSamples {
  const y = new SharedArrayBuffer(d.y.length * 8);
  const labels = new SharedArrayBuffer(d.labels.length * 4);
  new Float64Array(y).set(d.y);
  new Int32Array(labels).set(d.labels);
  return { ...shareFeatures(d.x, f32Memory), y, labels, features: d.features, outputs: d.outputs, n: d.labels.length };
}

/** A worker's view of samples [start, end) of shareSamples' buffers (no copy). */
export function samplesView(s: SharedSamples, start = 0, end = s.n): Samples & { labels: Int32Array } {
  const f = s.features;
  const x = s.xType === 'f32' ? new Float32Array(s.x, start * f * 4, (end - start) * f) : new Float64Array(s.x, start * f * 8, (end - start) * f);
  return {
    x, features: s.features, outputs: s.outputs,
    y: new Float64Array(s.y, start * s.outputs * 8, (end - start) * s.outputs),
    labels: new Int32Array(s.labels, start * 4, end - start),
  };
}

export interface SharedData {
  /** Features, row-major: Float64Array or Float32Array elements (xType; float32 for float32 memories, which hold no more). */
  x: SharedArrayBuffer;
  xType: 'f64' | 'f32';
  y: SharedArrayBuffer;
  features: number;
  outputs: number;
  n: number;
  order: SharedArrayBuffer;
  /** Per sample: every output of every net, then every error. */
  results: SharedArrayBuffer;
  totalOutputs: number;
}

/**
 * Samples strategy: what a stream is, posted on every worker's port before SLOT.STREAM reaches `s`
 * (structured clone shares the buffers). The data buffers change only with the data set (`dataId`).
 */
export interface StreamMessage {
  s: number;
  /** The sequence number of the stream's first batch (batch i is t0 + i). */
  t0: number;
  n: number;
  batch: number;
  train: boolean;
  /** Items in the stream: batches times items per batch. */
  total: number;
  dataId: number;
  /** Features, row-major: Float64Array or Float32Array elements (xType). */
  x: SharedArrayBuffer;
  xType: 'f64' | 'f32';
  /** Float32 memories: every sample's staged input row (stagedInputs), shared instead of built per thread. */
  rows?: SharedArrayBuffer;
  y: SharedArrayBuffer;
  features: number;
  outputs: number;
  /** Int32 sample order of the stream. */
  order: SharedArrayBuffer;
  /** Float64 rows of outputs, then rows of errors (`totalOutputs` per sample), by order position. */
  results: SharedArrayBuffer;
  totalOutputs: number;
}
