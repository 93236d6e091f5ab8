/**
 * A scaling model: each strategy's samples per second at any thread count, from costs measured on
 * this machine: every layer's forward and update time per batch on one thread, the coordinator's
 * own per-batch work (staging, amine, scoring), and the latency of one hand-off between two
 * threads. Assumptions (stated in the README): every thread has a core of its own; kernel times
 * split linearly over the cells a thread owns (memory bandwidth and shared caches do not limit);
 * a wait costs one hand-off whatever the thread count.
 */
import { planSamples } from './samples-plan.js';
import { Worker } from 'node:worker_threads';
import { kernelsFor } from '../kernels/backend.js';
import type { Dataset } from '../data/data.js';
import { stageBatch } from '../engine/engine.js';
import type { StrategyName } from '../engine/executor.js';
import { BatchRows, emptyTally, identityOrder } from '../engine/executor.js';
import { balanceGroups, type CellRange, cellRanges, firstLayerLive, pipelineGroups, splittable, STAGE_COST } from './partition.js';
import { summarize } from '../report/stats.js';
import { createTrainer, resolveOptions, type TrainerOptions } from '../trainer.js';

export interface MachineCosts {
  batch: number;
  /** Seconds per batch on one thread, per layer index (every net of the model together). */
  forward: number[];
  update: number[];
  /** Every layer's sources and cells (the cells strategy's split is computed from them, as it runs). */
  shapes: { nIn: number; nOut: number }[];
  /** The kernels measured, and their cell tile (the cells and pipeline splits depend on them). */
  kernels: 'native' | 'wasm' | 'js';
  cellTile: number;
  /** The splits' inputs: the first layer's live share on this data (firstLayerLive), and whether a pipeline may cut layers. */
  firstLive: number;
  splittable: boolean;
  nets: number;
  /** The coordinator's own seconds per batch: staging, amine, scoring. */
  coordinator: number;
  /** Seconds for one thread to see what another published (spin, then a bounded wait). */
  handoff: number;
}

function median(fn: () => void, reps = 7): number {
  fn();
  const s: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    s.push((performance.now() - t0) / 1000);
  }
  return summarize(s).median;
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

/** Measures the costs of a model on this machine with one thread (a serial trainer on the data's shape, one real batch). */
export async function measureCosts(o: TrainerOptions, data: Dataset): Promise<MachineCosts> {
  const t = await createTrainer({ ...o, strategy: 'serial', workers: 1 });
  try {
    await t.build(data.features, data.outputs);
    const { layout, mem, model } = t;
    const f = mem!.f;
    const k = kernelsFor(model!.kernels, mem!);
    const B = Math.min(t.train.batch, data.n);
    const order = identityOrder(data.n);
    const nets = layout!.nets;
    const L = nets[0]!.layers.length;
    const forward: number[] = [];
    const update: number[] = [];
    const stage = (): void => { for (const net of nets) stageBatch(f, net, data, order, 0, B, k.gatherRows); };
    stage();
    for (let l = 0; l < L; l++) forward.push(median(() => { for (const net of nets) k.forward(f, net.layers[l]!, B, model!.u0); }));
    // Runs of tiny layers are fused into one call when run together: scale the per-layer times to the whole pass.
    const fusedForward = median(() => { for (const net of nets) k.forwardLayers(f, net, 0, L, B, model!.u0); });
    const rows = new BatchRows(layout!);
    const coordinator = median(() => {
      stage();
      for (const net of nets) k.amine(f, net, B, model!.u1);
      rows.tally(f, nets, B, data.labels, order, 0, emptyTally());
    });
    for (let l = 0; l < L; l++) update.push(median(() => { for (const net of nets) k.update(f, net, net.layers[l]!, B, model!.rule === 'kaneko'); }));
    const fusedUpdate = median(() => { for (const net of nets) k.updateLayers(f, net, 0, L, B, model!.rule === 'kaneko'); });
    const scale = (v: number[], to: number): void => {
      const sum = v.reduce((a, b) => a + b, 0);
      for (let l = 0; l < v.length; l++) v[l] = (v[l]! * to) / sum;
    };
    scale(forward, fusedForward);
    scale(update, fusedUpdate);
    const kernels = k.impl;
    return {
      batch: B, forward, update, shapes: nets[0]!.layers.map((l) => ({ nIn: l.nIn, nOut: l.nOut })), kernels, nets: nets.length, coordinator, handoff: await measureHandoff(),
      firstLive: firstLayerLive(kernels, t.train.batch, data), splittable: splittable(model!, layout!), cellTile: k.cellTile,
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
export function predictBatchSeconds(c: MachineCosts, strategy: StrategyName, threads: number): number {
  const L = c.forward.length;
  const work = c.forward.map((fw, l) => fw + c.update[l]!);
  const total = work.reduce((a, b) => a + b, 0) + c.coordinator;
  if (strategy === 'serial' || threads === 1) return total;
  const h = c.handoff;
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
      return forward + c.forward[H]! + updates + (split + 1) * h;
    }
    case 'layer': {
      const bounds = balanceGroups(work, threads);
      const G = bounds.length - 1;
      const updates = bounds.slice(0, -1).map((lo, g) => c.update.slice(lo, bounds[g + 1]).reduce((a, b) => a + b, 0));
      return c.forward.reduce((a, b) => a + b, 0) + c.coordinator + Math.max(...updates) + G * h;
    }
    case 'pipeline': {
      // The executor's groups (cut inside a layer where that balances them), each at its measured cost.
      const ranges = pipelineGroups(c.shapes, c.batch, threads, c.kernels, c.firstLive, c.splittable, c.cellTile);
      return Math.max(...ranges[0]!.map((_, g) => ranges.reduce((a, _r, k) => a + part(work, ranges, g, k), g === 0 ? c.coordinator : 0))) + h;
    }
    case 'output':
      return (Math.ceil(c.nets / Math.min(threads, c.nets)) / c.nets) * total;
    case 'samples': {
      const plan = planSamples(c.shapes, c.nets, c.batch, threads, c.cellTile);
      const fw = (c.forward.reduce((a, b) => a + b, 0) + c.coordinator) * Math.ceil(plan.chunks / threads) * plan.rows / c.batch;
      return fw + lpt(plan.updates.map((u) => (u.range ? (c.update[u.k0]! * (u.range[1] - u.range[0])) / c.shapes[u.k0]!.nOut : c.update.slice(u.k0, u.k1).reduce((a, b) => a + b, 0)) / c.nets), threads) + 2 * h;
    }
  }
}

/**
 * The exact strategy (byte-identical to serial: cells, layer, or output for Kaneko's independent
 * nets) the model predicts fastest for this model, data and thread count; pipeline, which changes
 * the arithmetic, is never picked for the user.
 */
export async function fastestExactStrategy(o: TrainerOptions, data: Dataset, threads: number): Promise<{ strategy: StrategyName; predicted: Partial<Record<StrategyName, number>> }> {
  const costs = await measureCosts(o, data);
  const topology = resolveOptions({ ...o, strategy: 'serial', workers: 1 }).model.topology;
  const candidates: StrategyName[] = topology === 'kaneko' && costs.nets > 1 ? ['output', 'samples', 'cells', 'layer'] : topology === 'columns' ? ['samples', 'layer'] : ['samples', 'cells', 'layer'];
  const predicted: Partial<Record<StrategyName, number>> = {};
  for (const s of candidates) predicted[s] = predictSamplesPerSecond(costs, s, threads);
  const strategy = candidates.reduce((best, s) => (predicted[s]! > predicted[best]! ? s : best));
  return { strategy, predicted };
}

export function predictSamplesPerSecond(c: MachineCosts, strategy: StrategyName, threads: number): number {
  return c.batch / predictBatchSeconds(c, strategy, threads);
}
