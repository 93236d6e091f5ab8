/**
 * A scaling model: each strategy's samples per second at any thread count, from costs measured on
 * this machine: every layer's forward and update time per batch on one thread, the forward pass of
 * a chunk of rows at each chunk size (fewer rows re-read the weights more per row), the
 * coordinator's own per-batch work (staging, amine, scoring), the latency of one hand-off between
 * two threads, a contended atomic (a barrier among P threads costs a hand-off plus P - 1 of them),
 * and the spread of repeated kernel times (a phase waits for its slowest thread: a straggler margin
 * growing as sqrt(2 ln P)), and the contention among cores: how much slower one thread's kernels
 * run while P threads run theirs at once on private copies of the model (shared caches, memory
 * bandwidth, clocks, a host). Assumptions (stated in the docs): every thread has a core of its own;
 * kernel times split linearly over the cells a thread owns; the contention grows linearly from one
 * thread to the count it was measured at (the cores here, at most) and stays there beyond.
 */
import { planSamples } from './samples-plan.js';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { kernelsFor } from '../kernels/backend.js';
import type { Dataset } from '../data/data.js';
import { stageBatch } from '../engine/engine.js';
import type { StrategyName } from '../engine/executor.js';
import { BatchRows, emptyTally, identityOrder } from '../engine/executor.js';
import { balanceGroups, type CellRange, cellRanges, firstLayerLive, pipelineGroups, splittable, STAGE_COST } from './partition.js';
import { summarize } from '../report/stats.js';
import { Rng } from '../engine/rng.js';
import { allocateMemory, type Layout, type Memory, rowSlice } from '../engine/layout.js';
import { EdsimError } from '../errors.js';
import type { ModelConfig } from '../options.js';
import { createTrainer, resolveOptions, type TrainerOptions } from '../trainer.js';

/** What one machine's measurements say a model costs ({@link measureCosts}), the scaling model's inputs. */
export interface MachineCosts {
  /** Rows per mini-batch measured. */
  batch: number;
  /** Seconds per batch on one thread, per layer index (every net of the model together). */
  forward: number[];
  /** Seconds per batch on one thread to update each layer. */
  update: number[];
  /** Every layer's sources and cells (the cells strategy's split is computed from them, as it runs). */
  shapes: {
    /** Sources (inputs) of the layer. */
    nIn: number;
    /** Cells of the layer. */
    nOut: number;
  }[];
  /** The kernels measured, and their cell tile (the cells and pipeline splits depend on them). */
  kernels: 'native' | 'wasm' | 'js';
  /** Cells per register tile of those kernels (splits fall on whole tiles). */
  cellTile: number;
  /** The splits' inputs: the first layer's live share on this data (firstLayerLive), and whether a pipeline may cut layers. */
  firstLive: number;
  /** Whether a pipeline group may end inside a layer. */
  splittable: boolean;
  /** Independent networks in the model (Kaneko's topology: one per output). */
  nets: number;
  /** The coordinator's own seconds per batch: staging, amine, scoring. */
  coordinator: number;
  /** Seconds for one thread to see what another published (spin, then a bounded wait). */
  handoff: number;
  /**
   * Seconds one thread's atomic read-modify-write takes while another thread hammers the same word
   * (measureAtomic): a barrier or a claim among P threads costs about handoff + (P - 1) x atomic.
   */
  atomic: number;
  /**
   * The spread of one thread's kernel times (the interquartile range over the median of repeated
   * runs of the same call, measureCosts): a phase that ends when the slowest of P threads ends
   * lasts a straggler margin of about jitter x sqrt(2 ln P) of its longest item more.
   */
  jitter: number;
  /**
   * Seconds to forward `rows` rows through every layer (every net), the samples strategy's F item,
   * keyed by rows (multiples of 8 up to the batch): fewer rows re-read the weights more often per
   * row, which the linear split of `forward` would miss.
   */
  chunkForward: Record<number, number>;
  /**
   * Extra seconds per byte to read data another core has just written, over reading it again
   * (measureCrossCore, on a buffer the size of the weights): every samples thread reads every
   * weight once a batch, updated by the other threads; every cells thread reads the activations of
   * the layer below, computed by the others.
   */
  crossCore: number;
  /** Bytes of every weight and bias (the samples strategy's cross-core reads). */
  weightBytes: number;
  /**
   * The contention among cores (measured by `measureContention`): while `threads` threads compute at once,
   * sharing nothing, a batch's forward pass and update take `batch` times their lone time, and the
   * forward pass in chunks of the samples strategy's rows (fewer rows per weight read: more of the
   * shared bandwidth) `chunk` times. Absent: none.
   */
  contention?: Contention;
}

/** What the contention probe measured: slow-down factors at `threads` threads. */
export interface Contention {
  /** The threads that computed at once. */
  threads: number;
  /** A batch's forward pass and update, each thread's time together over its time alone. */
  batch: number;
  /** The same for the forward pass in chunks of the samples strategy's rows. */
  chunk: number;
}

/** A contention factor at `threads` threads: linear from 1 at one thread to the measured one, held beyond it. */
export function contentionAt(c: Pick<MachineCosts, 'contention'>, threads: number, kind: 'batch' | 'chunk'): number {
  const m = c.contention;
  if (!m || threads <= 1 || m.threads <= 1) return 1;
  return 1 + (m[kind] - 1) * (Math.min(threads, m.threads) - 1) / (m.threads - 1);
}

/** Relative spreads of every median() call since the last reset (measureCosts' jitter). */
const spreads: number[] = [];

function median(fn: () => void, reps = 7, warm = 1): number {
  for (let w = 0; w < warm; w++) fn();
  const s: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    s.push((performance.now() - t0) / 1000);
  }
  const st = summarize(s);
  s.sort((a, b) => a - b);
  if (st.median > 0) spreads.push((s[Math.floor(0.75 * (reps - 1))]! - s[Math.floor(0.25 * (reps - 1))]!) / st.median);
  return st.median;
}

/**
 * The extra seconds per byte of reading `bytes` that another thread has just written, over reading
 * them again from this core's caches: medians of a few rounds of (the peer fills, this thread sums
 * twice).
 */
export async function measureCrossCore(bytes: number, rounds = 5): Promise<number> {
  const n = Math.max(1 << 16, Math.min(bytes, 64 << 20) >> 2);
  const sab = new SharedArrayBuffer(n * 4 + 64);
  const ctl = new Int32Array(sab, n * 4, 16);
  const x = new Float32Array(sab, 0, n);
  const peer = new Worker(`
    const { workerData } = require('node:worker_threads');
    const x = new Float32Array(workerData.sab, 0, workerData.n);
    const ctl = new Int32Array(workerData.sab, workerData.n * 4, 16);
    for (let r = 1; ; r++) {
      while (Atomics.load(ctl, 0) < r) Atomics.wait(ctl, 0, r - 1, 50);
      if (Atomics.load(ctl, 2) === 1) break;
      x.fill(r);
      Atomics.store(ctl, 1, r);
      Atomics.notify(ctl, 1);
    }
  `, { eval: true, workerData: { sab, n } });
  await new Promise<void>((r) => peer.once('online', () => r()));
  const sum = (): number => {
    let a = 0;
    for (let i = 0; i < n; i += 16) a += x[i]!; // one load per 64-byte line
    return a;
  };
  const extra: number[] = [];
  let sink = 0;
  for (let r = 1; r <= rounds; r++) {
    Atomics.store(ctl, 0, r);
    Atomics.notify(ctl, 0);
    while (Atomics.load(ctl, 1) < r) Atomics.wait(ctl, 1, r - 1, 50);
    let t0 = performance.now();
    sink += sum();
    const remote = performance.now() - t0;
    t0 = performance.now();
    sink += sum();
    const local = performance.now() - t0;
    extra.push(Math.max(0, remote - local) / 1000 / (n * 4));
  }
  Atomics.store(ctl, 2, 1);
  Atomics.store(ctl, 0, rounds + 1);
  Atomics.notify(ctl, 0);
  await peer.terminate();
  return sink < 0 ? 0 : summarize(extra).median;
}

/** Seconds per Atomics.add on a word another thread is adding to at the same time. */
export async function measureAtomic(ops = 200000): Promise<number> {
  const sab = new SharedArrayBuffer(64);
  const a = new Int32Array(sab);
  const peer = new Worker(`
    const { workerData } = require('node:worker_threads');
    const a = new Int32Array(workerData.sab);
    Atomics.store(a, 1, 1);
    while (Atomics.load(a, 2) === 0) Atomics.add(a, 0, 1);
  `, { eval: true, workerData: { sab } });
  await new Promise<void>((r) => peer.once('online', () => r()));
  while (Atomics.load(a, 1) === 0) await new Promise<void>((r) => setTimeout(r, 1));
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) Atomics.add(a, 0, 1);
  const seconds = (performance.now() - t0) / 1000;
  Atomics.store(a, 2, 1);
  await peer.terminate();
  return seconds / ops;
}

/** One hand-off between two threads, as the engine's waits do it (spin, then Atomics.wait): half a measured round trip. */
export async function measureHandoff(rounds = 2000): Promise<number> {
  const sab = new SharedArrayBuffer(8);
  const a = new Int32Array(sab);
  const wait = (i: number, v: number): void => {
    for (let s = 0; s < 2000; s++) if (Atomics.load(a, i) >= v) return;
    while (Atomics.load(a, i) < v) Atomics.wait(a, i, Atomics.load(a, i), 50);
  };
  const peer = new Worker(`
    const { workerData } = require('node:worker_threads');
    const a = new Int32Array(workerData.sab);
    const wait = (i, v) => { for (let s = 0; s < 2000; s++) if (Atomics.load(a, i) >= v) return; while (Atomics.load(a, i) < v) Atomics.wait(a, i, Atomics.load(a, i), 50); };
    for (let r = 1; r <= workerData.rounds; r++) { wait(0, r); Atomics.store(a, 1, r); Atomics.notify(a, 1); }
  `, { eval: true, workerData: { sab, rounds } });
  await new Promise<void>((r) => peer.once('online', () => r()));
  const t0 = performance.now();
  for (let r = 1; r <= rounds; r++) {
    Atomics.store(a, 0, r);
    Atomics.notify(a, 0);
    wait(1, r);
  }
  const seconds = (performance.now() - t0) / 1000;
  await peer.terminate();
  return seconds / rounds / 2;
}

const PROBE_URL = new URL('../../workers/contention.worker.js', import.meta.url);
/** The most memory the contention probes' copies of a model may take together. */
const PROBE_BYTES = 2 ** 31;

/**
 * How much slower one thread's kernels run while `threads` threads run theirs at once, each on a
 * private copy of the model (`mem` as it stands: its weights and staged batch): what the cores
 * share, not what a strategy does. Two kinds of work: a batch's forward pass and update, and the
 * forward pass in chunks of `chunkRows` rows. Rounds cycle through one probe alone and every probe
 * together for each kind; a factor is the median over `pairs` pairs of rounds of (the median probe
 * together over the lone probe just before), at least 1: a slow moment of the machine spoils one
 * pair, not the factor. The probes are as many as asked, at most the cores and as many copies as
 * PROBE_BYTES holds.
 */
export async function measureContention(mem: Memory, layout: Layout, model: Pick<ModelConfig, 'kernels' | 'u0' | 'rule'>, batch: number, chunkRows: number, threads: number, pairs = 25): Promise<Contention> {
  const probes = Math.min(threads, availableParallelism(), Math.max(1, Math.floor(PROBE_BYTES / layout.bytes)));
  if (probes <= 1) return { threads: 1, batch: 1, chunk: 1 };
  const ctl = new Int32Array(new SharedArrayBuffer(32));
  const rounds = 4 * (pairs + 1); // the first pair of each kind warms the probes up and is left out
  const times = new Float64Array(new SharedArrayBuffer(8 * rounds * probes));
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  let failed: Error | undefined;
  const workers: Worker[] = [];
  // Round r (from 0): kind (r >> 1) % 2 (0: batch, 1: chunks), the lone probe when r is even, else all.
  try {
    for (let index = 0; index < probes; index++) {
      const copy = allocateMemory(layout, 0);
      copy.f.set(mem.f);
      const w = new Worker(PROBE_URL, {
        execArgv,
        workerData: { memory: copy.wasm, layout, kernels: model.kernels, batch, chunkRows, u0: model.u0, kanekoRule: model.rule === 'kaneko', index, ctl, times, probes },
      });
      w.on('error', (e) => { failed = e; });
      workers.push(w);
    }
    for (let r = 0; r < rounds; r++) {
      const n = r % 2 === 0 ? 1 : probes;
      Atomics.store(ctl, 2, 0);
      Atomics.store(ctl, 1, n);
      Atomics.store(ctl, 4, (r >> 1) % 2);
      Atomics.store(ctl, 0, r + 1);
      Atomics.notify(ctl, 0);
      const t0 = performance.now();
      for (let done = Atomics.load(ctl, 2); done < n; done = Atomics.load(ctl, 2)) {
        if (failed) throw new EdsimError(`the contention probe failed: ${failed.message}`);
        if (performance.now() - t0 > 120_000) throw new EdsimError('the contention probe did not finish a round in 120 s');
        const w = Atomics.waitAsync(ctl, 2, done, 50);
        if (w.async) await w.value;
      }
    }
  } finally {
    Atomics.store(ctl, 3, 1);
    Atomics.notify(ctl, 0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const factor = (kind: number): number => {
    const ratios: number[] = [];
    for (let r = 4; r < rounds; r += 2) {
      if ((r >> 1) % 2 !== kind) continue;
      const together = Array.from({ length: probes }, (_, i) => times[(r + 1) * probes + i]!);
      ratios.push(summarize(together).median / times[r * probes]!);
    }
    return Math.max(1, summarize(ratios).median);
  };
  return { threads: probes, batch: factor(0), chunk: factor(1) };
}

/**
 * Measures the costs of a model on this machine with one thread (a serial trainer on the data's
 * shape, one real batch), and the contention among up to `threads` threads.
 */
export async function measureCosts(o: TrainerOptions, pixels: Dataset, threads = availableParallelism()): Promise<MachineCosts> {
  const t = await createTrainer({ ...o, strategy: 'serial', workers: 1 });
  const data = t.seen(pixels); // the network's inputs: a feature bank's features, where the model has one
  try {
    await t.build(data.features, data.outputs);
    const { layout, mem, model } = t;
    const f = mem!.f;
    const k = kernelsFor(model!.kernels, mem!);
    const B = Math.min(t.train.batch, data.n);
    // A shuffled order, the staged batch moving through it: staging reads scattered rows, as an
    // epoch of a shuffling preset does (the same first batch every time sat in the caches).
    const order = identityOrder(data.n);
    new Rng(1).shuffle(order);
    const batches = Math.floor(data.n / B);
    let start = 0;
    const nets = layout!.nets;
    const L = nets[0]!.layers.length;
    const forward: number[] = [];
    const update: number[] = [];
    const stage = (): void => {
      start = ((start / B + 1) % batches) * B;
      for (const net of nets) stageBatch(f, net, data, order, start, B, k);
    };
    spreads.length = 0;
    stage();
    for (let l = 0; l < L; l++) forward.push(median(() => { for (const net of nets) k.forward(f, net.layers[l]!, B, model!.u0); }));
    // Runs of tiny layers are fused into one call when run together: scale the per-layer times to the whole pass.
    const fusedForward = median(() => { for (const net of nets) k.forwardLayers(f, net, 0, L, B, model!.u0); });
    const rows = new BatchRows(layout!);
    // Its JavaScript (the targets' copy, the tally) warmed up as a training run's first batches do:
    // measured cold, after one call, it read 0.74-0.78 ms a batch on the ten shifted classes against
    // 0.16 ms once compiled.
    const coordinator = median(() => {
      stage();
      for (const net of nets) k.amine(f, net, B, model!.u1);
      rows.tally(f, nets, B, data.labels, order, start, emptyTally());
    }, 15, 60);
    for (let l = 0; l < L; l++) update.push(median(() => { for (const net of nets) k.update(f, net, net.layers[l]!, B, model!.rule === 'kaneko'); }));
    const fusedUpdate = median(() => { for (const net of nets) k.updateLayers(f, net, 0, L, B, model!.rule === 'kaneko'); });
    const scale = (v: number[], to: number): void => {
      const sum = v.reduce((a, b) => a + b, 0);
      for (let l = 0; l < v.length; l++) v[l] = (v[l]! * to) / sum;
    };
    scale(forward, fusedForward);
    scale(update, fusedUpdate);
    // The samples strategy's F item at each chunk size it may use, as a share of the whole pass
    // measured alongside, applied to `forward`'s total (measured before the updates changed the
    // weights: saturated cells make later passes cheaper). Every chunk of the batch in turn, each at
    // its own rows, as the executor runs them: the first rows again and again sat in the caches and
    // read 10 % cheaper per row than a whole batch, which predicted samples x2 above 2x.
    const chunkForward: Record<number, number> = {};
    for (let rows = 8; ; rows *= 2) {
      const r = Math.min(rows, B);
      const slices = Array.from({ length: Math.ceil(B / r) }, (_, c) => nets.map((net) => rowSlice(net, c * r)));
      chunkForward[r] = median(() => {
        for (let c = 0; c < slices.length; c++) for (const net of slices[c]!) k.forwardLayers(f, net, 0, L, Math.min(r, B - c * r), model!.u0);
      }) / slices.length;
      if (r === B) break;
    }
    const whole = chunkForward[B]!;
    for (const r of Object.keys(chunkForward)) chunkForward[Number(r)] = (chunkForward[Number(r)]! / whole) * fusedForward;
    const kernels = k.impl;
    const jitter = summarize(spreads).median;
    const weightBytes = layout!.weightFloats * layout!.elem;
    const shapes = nets[0]!.layers.map((l) => ({ nIn: l.nIn, nOut: l.nOut }));
    return {
      batch: B, forward, update, shapes, kernels, nets: nets.length, coordinator, handoff: await measureHandoff(),
      atomic: await measureAtomic(), jitter, chunkForward, weightBytes, crossCore: await measureCrossCore(weightBytes),
      firstLive: firstLayerLive(kernels, t.train.batch, data), splittable: splittable(model!, layout!), cellTile: k.cellTile,
      contention: await measureContention(mem!, layout!, { ...model!, kernels }, B, planSamples(shapes, nets.length, B, Math.max(2, threads), k.cellTile).rows, threads),
    };
  } finally {
    await t.close();
  }
}

/** The makespan of jobs taken in order by whichever of `threads` threads is free first. */
function lpt(jobs: number[], threads: number): number {
  const free = new Array<number>(threads).fill(0);
  for (const j of jobs) {
    let g = 0;
    for (let q = 1; q < threads; q++) if (free[q]! < free[g]!) g = q;
    free[g] = free[g]! + j;
  }
  return Math.max(...free);
}

/** Predicted seconds per batch of one strategy on `threads` threads. */
export function predictBatchSeconds(lone: MachineCosts, strategy: StrategyName, threads: number): number {
  // Every thread's work at the pace the machine keeps with `threads` of them computing.
  const slow = strategy === 'serial' ? 1 : contentionAt(lone, threads, 'batch');
  const slowChunk = strategy === 'serial' ? 1 : contentionAt(lone, threads, 'chunk');
  const c: MachineCosts = slow === 1 && slowChunk === 1 ? lone : {
    ...lone, forward: lone.forward.map((v) => v * slow), update: lone.update.map((v) => v * slow), coordinator: lone.coordinator * slow,
    chunkForward: Object.fromEntries(Object.entries(lone.chunkForward).map(([r, v]) => [r, v * slowChunk])),
  };
  const L = c.forward.length;
  const work = c.forward.map((fw, l) => fw + c.update[l]!);
  const total = work.reduce((a, b) => a + b, 0) + c.coordinator;
  if (strategy === 'serial' || threads === 1) return total;
  // Thread g's part of layer k's time `v[k]`: the share of the layer's cells it owns.
  const part = (v: number[], ranges: CellRange[][], g: number, k: number): number => (v[k]! * (ranges[k]![g]![1] - ranges[k]![g]![0])) / c.shapes[k]!.nOut;
  switch (strategy) {
    case 'cells': {
      // The split the strategy makes, phase by phase (a barrier ends each): the forward pass of
      // every hidden layer but the first at the pace of its slowest thread; the output layers and
      // the amine on the coordinator alone; then every thread's updates and its part of the next
      // batch's first layer, the coordinator also staging and scoring.
      const H = L - 1;
      const ranges = cellRanges(c.shapes.slice(0, H), c.shapes[H]!, c.batch, threads, STAGE_COST[c.kernels], c.cellTile, c.firstLive);
      const threadsOf = Array.from({ length: threads }, (_, g) => g);
      let forward = 0;
      for (let k = 1; k < H; k++) forward += Math.max(...threadsOf.map((g) => part(c.forward, ranges, g, k)));
      const updates = Math.max(...threadsOf.map((g) => ranges.reduce((a, _, k) => a + part(c.update, ranges, g, k), part(c.forward, ranges, g, 0)) + (g === 0 ? c.update[H]! + c.coordinator : 0)));
      const split = ranges.filter((r) => r[0]![1] - r[0]![0] < r.reduce((a, x) => a + x[1] - x[0], 0)).length;
      // Every phase ends when its slowest thread does; every hand-off wakes every thread; every
      // thread reads the activations of each layer below from the cores that computed them.
      const activations = c.shapes.reduce((a, l) => a + c.batch * l.nIn * 4, 0) * ((threads - 1) / threads) * c.crossCore;
      return (forward + updates + activations) * (1 + straggle(c, threads)) + c.forward[H]! + (split + 1) * barrier(c, threads);
    }
    case 'layer': {
      const bounds = balanceGroups(work, threads);
      const G = bounds.length - 1;
      const updates = bounds.slice(0, -1).map((lo, g) => c.update.slice(lo, bounds[g + 1]).reduce((a, b) => a + b, 0));
      return c.forward.reduce((a, b) => a + b, 0) + c.coordinator + Math.max(...updates) * (1 + straggle(c, G)) + G * barrier(c, 2);
    }
    case 'pipeline': {
      // The executor's groups (cut inside a layer where that balances them), each at its measured cost.
      const ranges = pipelineGroups(c.shapes, c.batch, threads, c.kernels, c.firstLive, c.splittable, c.cellTile);
      const G = ranges[0]!.length;
      return Math.max(...ranges[0]!.map((_, g) => ranges.reduce((a, _r, k) => a + part(work, ranges, g, k), g === 0 ? c.coordinator : 0))) * (1 + straggle(c, G)) + barrier(c, 2);
    }
    case 'output':
      return (Math.ceil(c.nets / Math.min(threads, c.nets)) / c.nets) * total;
    case 'samples': {
      // Two phases a batch, each ended by a barrier among all threads: the F items (chunks of rows
      // through every layer, at the measured cost of their row count, the coordinator's staging and
      // amine included per row), then the U items claimed in order (list scheduling); each phase
      // adds a straggler margin of its largest item. The next batch's forward overlapping the last
      // updates is not counted (a small gain the model leaves out).
      const plan = planSamples(c.shapes, c.nets, c.batch, threads, c.cellTile);
      const item = chunkSeconds(c, plan.rows) + (c.coordinator * plan.rows) / c.batch;
      const forward = Math.ceil(plan.chunks / threads) * item;
      const items = plan.updates.map((u) => (u.range ? (c.update[u.k0]! * (u.range[1] - u.range[0])) / c.shapes[u.k0]!.nOut : c.update.slice(u.k0, u.k1).reduce((a, b) => a + b, 0)) / c.nets);
      // Every thread reads every weight once a batch, (P - 1) / P of them written by other cores.
      const remote = (c.weightBytes * (threads - 1) / threads) * c.crossCore;
      return forward + remote + lpt(items, threads) + straggle(c, threads) * (item + Math.max(...items)) + 2 * barrier(c, threads);
    }
  }
}

/** A barrier or hand-off among `threads` threads: one hand-off, plus each arrival's atomic on the shared word. */
export function barrier(c: Pick<MachineCosts, 'handoff' | 'atomic'>, threads: number): number {
  return c.handoff + Math.max(0, threads - 1) * c.atomic;
}

/** The straggler margin: the expected excess of the slowest of `threads` threads, as a share of one item. */
export function straggle(c: Pick<MachineCosts, 'jitter'>, threads: number): number {
  return threads > 1 ? c.jitter * Math.sqrt(2 * Math.log(threads)) : 0;
}

/** Seconds of one F item of `rows` rows: measured where measured, else the nearest measured row count scaled per row. */
function chunkSeconds(c: MachineCosts, rows: number): number {
  const at = c.chunkForward[rows];
  if (at !== undefined) return at;
  const keys = Object.keys(c.chunkForward).map(Number);
  if (keys.length === 0) return (c.forward.reduce((a, b) => a + b, 0) * rows) / c.batch;
  const near = keys.reduce((best, k) => (Math.abs(k - rows) < Math.abs(best - rows) ? k : best));
  return (c.chunkForward[near]! * rows) / near;
}

/**
 * The exact strategy (byte-identical to serial: cells, layer, or output for Kaneko's independent
 * nets) the model predicts fastest for this model, data and thread count; pipeline, which changes
 * the arithmetic, is never picked for the user.
 */
export async function fastestExactStrategy(o: TrainerOptions, data: Dataset, threads: number): Promise<{ strategy: StrategyName; predicted: Partial<Record<StrategyName, number>> }> {
  const costs = await measureCosts(o, data, threads);
  const topology = resolveOptions({ ...o, strategy: 'serial', workers: 1 }).model.topology;
  const candidates: StrategyName[] = topology === 'kaneko' && costs.nets > 1 ? ['output', 'samples', 'cells', 'layer'] : topology === 'columns' ? ['samples', 'layer'] : ['samples', 'cells', 'layer'];
  const predicted: Partial<Record<StrategyName, number>> = {};
  for (const s of candidates) predicted[s] = predictSamplesPerSecond(costs, s, threads);
  const strategy = candidates.reduce((best, s) => (predicted[s]! > predicted[best]! ? s : best));
  return { strategy, predicted };
}

/** Predicted training rate (samples per second) of `strategy` on `threads` threads, from costs measured by {@link measureCosts}. */
export function predictSamplesPerSecond(c: MachineCosts, strategy: StrategyName, threads: number): number {
  return c.batch / predictBatchSeconds(c, strategy, threads);
}
