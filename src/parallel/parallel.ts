/**
 * The parallel executors. `layer` and `pipeline`: consecutive layer groups, the coordinator thread
 * owning the first; per batch the forward pass flows group to group, the last group computes the
 * amine, every group updates its own layers. `output`: Kaneko's independent output networks spread
 * over threads, one synchronisation per epoch. All memory is allocated by the coordinator before any
 * worker starts; per batch only sequence numbers move, through Atomics on the control block.
 */
import { type Kernels, kernelsFor } from '../kernels/backend.js';
import { Crew } from './crew.js';
import { stageBatch, type Samples } from '../engine/engine.js';
import { check } from '../errors.js';
import { BatchRows, type BatchHook, emptyTally, layerGroupName, type PassOptions, takeGroupStats, yielder, type EpochTally, type Executor, identityOrder, type StrategyName, type WorkerStats } from '../engine/executor.js';
import type { Calibration } from '../model-io.js';
import { EvalPool } from './eval-pool.js';
import { LayerGroup } from '../engine/layer-group.js';
import { computeLayout, type Layout, type Memory } from '../engine/layout.js';
import type { ModelConfig } from '../options.js';
import { OutputExecutor } from './output-executor.js';
import { CellsExecutor, checkCellsModel } from './cells-executor.js';
import { checkSamplesModel, planFor, SamplesExecutor } from './samples-executor.js';
import { balanceGroups, type CellRange, cellRanges, cellSegments, firstLayerLive, layerCost, pipelineGroups, splittable, STAGE_COST, wholeLayerRanges } from './partition.js';
import { FLAG_LAST, FLAG_TRAIN, MAX_GROUPS, publish, RING, SLOT, statsView, type WorkerInit } from './protocol.js';
import { TraceRecorder, type TraceSpec } from './trace.js';

export const MAX_WORKERS = MAX_GROUPS;

/** Test-only: make worker `group` throw, exit, hang or pause for 300 ms when it reaches batch (or epoch) `at`. */
export interface FaultInjection {
  group: number;
  kind: 'throw' | 'exit' | 'hang' | 'pause';
  at: number;
}

export interface ParallelOptions {
  /** A worker that makes no progress for this long is declared hung (default: 2 s, more for huge batches). */
  stallMs?: number;
  fault?: FaultInjection;
  /** Record every thread's spans here (--trace). */
  trace?: TraceSpec;
}


type Labeled = Samples & { labels: Int32Array };



/** `layer` (lag 0, one slot: byte-identical to serial) and `pipeline` (lag G-1-g, G+1 slots). */
class LayerExecutor implements Executor {
  private seq = 0;
  private done = 0;
  private pool: EvalPool | undefined;
  private readonly group0: LayerGroup;
  private readonly rows: BatchRows;
  private readonly stats;
  private readonly names: string[];

  constructor(
    readonly name: StrategyName,
    private readonly mem: Memory,
    private readonly layout: Layout,
    private readonly config: ModelConfig,
    /** ranges[layer][group]: each group's cells, consecutive in (layer, cell) order. */
    ranges: CellRange[][],
    private readonly crew: Crew,
    /** The coordinator's kernels on `mem` (group 0's, and the batch staging's row gather). */
    private readonly kern: Kernels,
    private readonly trace?: TraceRecorder,
  ) {
    this.groups = ranges[0]!.length;
    const nOut = layout.nets[0]!.layers.map((l) => l.nOut);
    this.group0 = new LayerGroup(this.kern, mem.f, layout, cellSegments(ranges, 0, (k) => nOut[k]!), config.u0, config.u1, config.rule === 'kaneko', this.groups === 1);
    this.rows = new BatchRows(layout);
    this.stats = statsView(mem.buffer);
    this.names = ranges[0]!.map((_, g) => layerGroupName(g, ranges, nOut));
  }

  private readonly groups: number;

  private lag(g: number): number {
    return this.name === 'pipeline' ? this.groups - 1 - g : 0;
  }

  private async stream(data: Labeled, order: Int32Array, batch: number, train: boolean, { hook, signal, cal }: PassOptions = {}): Promise<EpochTally> {
    const { f, ctrl } = this.mem;
    const G = this.groups;
    const S = this.layout.slots.length;
    const tally = emptyTally();
    const pending: { t: number; start: number; count: number }[] = [];
    const starts: number[] = [];
    for (let start = 0; start < order.length; start += batch) starts.push(start);
    if (signal?.aborted) return tally;
    // Batch i + 1 is staged while the other groups work on batch i (its activation slot is free
    // once every group has finished batch i + 1 - S).
    const stage = async (i: number, t: number): Promise<void> => {
      for (let g = 1; g < G; g++) await this.crew.waitFor(SLOT.UPD + g, t - S, () => this.names[g]!);
      const count = Math.min(batch, order.length - starts[i]!);
      for (const net of this.layout.slots[t % S]!) stageBatch(f, net, data, order, starts[i]!, count, this.kern);
    };
    await stage(0, this.seq + 1);
    const breathe = yielder();
    for (let i = 0; i < starts.length; i++) {
      await breathe();
      const start = starts[i]!;
      const count = Math.min(batch, order.length - start);
      const lastBatch = i === starts.length - 1 || signal?.aborted === true;
      const t = ++this.seq;
      const slot = t % S;
      ctrl[SLOT.COUNT + (t % RING)] = count;
      ctrl[SLOT.FLAGS + (t % RING)] = (train ? FLAG_TRAIN : 0) | (lastBatch ? FLAG_LAST : 0);
      let t0 = performance.now();
      this.group0.forward(slot, count);
      this.stats.addBusy(0, performance.now() - t0);
      this.trace?.span('forward', t0, performance.now());
      if (G > 1) publish(ctrl, SLOT.FWD + 1, t);
      else publish(ctrl, SLOT.AMINE, t);
      // With one slot the next batch must wait for this one's updates (below); with more, stage it now.
      if (!lastBatch && S > 1) await stage(i + 1, t + 1);
      pending.push({ t, start, count });
      while (pending.length > this.lag(0) || (pending.length > 0 && lastBatch)) {
        const u = pending.shift()!;
        t0 = performance.now();
        await this.crew.waitFor(SLOT.AMINE, u.t, () => this.holder(u.t));
        this.stats.addWait(0, performance.now() - t0);
        this.trace?.span('wait', t0, performance.now());
        t0 = performance.now();
        if (train) this.group0.update(u.t % S, u.count);
        this.stats.addBusy(0, performance.now() - t0);
        if (train) this.trace?.span('update', t0, performance.now());
        publish(ctrl, SLOT.UPD, u.t);
        this.rows.tally(f, this.layout.slots[u.t % S]!, u.count, data.labels, order, u.start, tally, cal);
        hook?.(u.start, u.count);
        this.done = (u.start + u.count) / order.length;
      }
      if (lastBatch) break;
      if (S === 1) await stage(i + 1, t + 1);
    }
    const t0 = performance.now();
    for (let g = 1; g < G; g++) await this.crew.waitFor(SLOT.UPD + g, this.seq, () => this.names[g]!);
    this.stats.addWait(0, performance.now() - t0);
    return tally;
  }

  /** The group holding batch t: the first that has its input but has not passed the batch on. */
  private holder(t: number): string {
    const { ctrl } = this.mem;
    const G = this.groups;
    for (let g = 1; g < G; g++) {
      const passed = Atomics.load(ctrl, g === G - 1 ? SLOT.AMINE : SLOT.FWD + g + 1);
      if (Atomics.load(ctrl, SLOT.FWD + g) >= t && passed < t) return this.names[g]!;
    }
    return this.names[G - 1]!;
  }

  trainEpoch(data: Labeled, order: Int32Array, batch: number, hook?: BatchHook, signal?: AbortSignal): Promise<EpochTally> {
    check(batch <= this.layout.batch, `batch ${batch} exceeds the allocated ${this.layout.batch}`);
    return this.stream(data, order, batch, true, { hook, signal });
  }

  /** Evaluation is stateless: slices of the data on a piscina pool (one thread per group) over the shared weights. */
  async evaluate(data: Labeled, cal?: Calibration): Promise<EpochTally> {
    const n = data.y.length / data.outputs;
    if (this.groups === 1 || n < 2 * this.layout.batch) return this.stream(data, identityOrder(n), this.layout.batch, false, { cal });
    this.pool ??= new EvalPool(this.groups);
    return this.pool.evaluate(this.mem, this.layout, this.config, data, cal);
  }

  get threadNames(): string[] {
    return this.names;
  }

  progress(): number {
    return this.done;
  }

  takeStats(): WorkerStats[] {
    this.done = 0;
    return takeGroupStats(this.stats, this.names);
  }

  async close(): Promise<void> {
    await this.pool?.close();
    await this.crew.close();
  }
}

/** Starts a worker for every thread but the coordinator's (thread 0), named and set up by `names` and `init`; if one fails to start, stops them all. */
async function startWorkers(crew: Crew, names: string[], init: (g: number) => WorkerInit, fault?: FaultInjection): Promise<void> {
  try {
    await crew.start(names.slice(1).map((name, i) => {
      const g = i + 1;
      const msg = init(g);
      if (fault?.group === g) msg.fault = { kind: fault.kind, at: fault.at };
      return { name, init: msg };
    }));
  } catch (e) {
    await crew.close();
    throw e;
  }
}

/**
 * Lays out memory for a strategy: layer uses two activation slots (the next batch is staged while
 * the current one flows through the other groups); pipeline one per batch in flight, plus one.
 */
export function layoutFor(strategy: StrategyName, workers: number, c: ModelConfig, batch: number): Layout {
  if ((strategy === 'layer' || strategy === 'cells') && workers > 1) return computeLayout(c, batch, 2);
  // samples: batch t + 1 is forwarded while batch t's deeper layers still update from the other slot.
  if (strategy === 'samples') return computeLayout(c, batch, 2);
  // Kaneko's independent nets trained online, net by net: a second slot holds the next sample, so
  // fused kernels update one sample and forward the next in one pass over the weights.
  if ((strategy === 'serial' || strategy === 'output') && c.topology === 'kaneko' && c.outputs * (c.ensemble ?? 1) > 1 && batch === 1) return computeLayout(c, batch, 2);
  if (strategy !== 'pipeline') return computeLayout(c, batch, 1);
  const groups = Math.min(workers, computeLayout(c, 1).nets[0]!.layers.length);
  return computeLayout(c, batch, groups + 1);
}

export async function createParallelExecutor(
  strategy: StrategyName, workers: number, mem: Memory, layout: Layout, config: ModelConfig, opts: ParallelOptions & { data?: Labeled } = {},
): Promise<Executor> {
  const layers = layout.nets[0]!.layers;
  const perBatchFlops = layout.nets.reduce((s, n) => s + n.layers.reduce((a, l) => a + layerCost(l, layout.batch), 0), 0) * layout.batch;
  const stallMs = opts.stallMs ?? Math.max(2000, perBatchFlops / 2e4);
  const kanekoRule = config.rule === 'kaneko';
  const base = { memory: mem.wasm, kernels: config.kernels, layout, u0: config.u0, u1: config.u1, kanekoRule, ...(opts.trace ? { trace: opts.trace } : {}) };
  if (strategy === 'output') {
    check(config.topology === 'kaneko', 'the output strategy needs the kaneko topology (one independent network per output)');
    check(opts.data, 'the output strategy needs the training data when it starts');
    const total = layout.nets.length;
    const costs = layout.nets.map(() => 1);
    const bounds = balanceGroups(costs, workers);
    const G = bounds.length - 1;
    const shared = OutputExecutor.sharedFor(opts.data, total, mem.f instanceof Float32Array);
    const crew = new Crew(mem.buffer, mem.ctrl, opts.stallMs ?? Math.max(2000, perBatchFlops * (opts.data.y.length / opts.data.outputs) / layout.batch / 2e4), G);
    const exec = new OutputExecutor(mem, layout, config, bounds, crew, total);
    exec.attach(opts.data, shared);
    await startWorkers(crew, exec.threadNames, (g) => ({ ...base, kind: 'output', group: g, groups: G, lo: bounds[g]!, hi: bounds[g + 1]!, lag: 0, slots: 1, spinUs: crew.spinUs, data: shared.d }), opts.fault);
    return exec;
  }
  if (strategy === 'cells') {
    checkCellsModel(config, layout);
    const kern = kernelsFor(config.kernels, mem);
    const ranges = cellRanges(layers.slice(0, -1), layers.at(-1)!, layout.batch, workers, STAGE_COST[kern.impl], kern.cellTile, firstLayerLive(kern.impl, layout.batch, opts.data));
    const crew = new Crew(mem.buffer, mem.ctrl, stallMs, workers);
    const exec = new CellsExecutor(mem, layout, config, ranges, crew, kern, opts.trace && new TraceRecorder(opts.trace, 0));
    await startWorkers(crew, exec.threadNames, (g) => ({ ...base, kind: 'cells', group: g, groups: workers, lo: 0, hi: 0, lag: 0, slots: layout.slots.length, spinUs: crew.spinUs, cells: ranges }), opts.fault);
    return exec;
  }
  if (strategy === 'samples') {
    checkSamplesModel(layout);
    const kern = kernelsFor(config.kernels, mem);
    const plan = planFor(layout, workers, kern.cellTile);
    const { mine, theirs } = SamplesExecutor.channels(workers);
    const crew = new Crew(mem.buffer, mem.ctrl, stallMs, workers);
    // Done flags: F items per activation slot and chunk, then U items (samples-plan.ts).
    const work = new SharedArrayBuffer(4 * (layout.slots.length * plan.chunks + plan.updates.length));
    const exec = new SamplesExecutor(mem, layout, plan, crew, mine, kern.gatherDoubled === undefined);
    try {
      await crew.start(exec.threadNames.map((name, g) => {
        const init: WorkerInit = { ...base, kind: 'samples', group: g, groups: workers, lo: 0, hi: 0, lag: 0, slots: layout.slots.length, spinUs: crew.spinUs, plan, work, port: theirs[g]! };
        if (opts.fault?.group === g) init.fault = { kind: opts.fault.kind, at: opts.fault.at };
        return { name, init };
      }));
    } catch (e) {
      await exec.close();
      throw e;
    }
    return exec;
  }
  const kern = kernelsFor(config.kernels, mem);
  const ranges = layerRanges(strategy, workers, config, layout, kern, opts.data);
  const G = ranges[0]!.length;
  const crew = new Crew(mem.buffer, mem.ctrl, stallMs, G);
  const exec = new LayerExecutor(strategy, mem, layout, config, ranges, crew, kern, opts.trace && new TraceRecorder(opts.trace, 0));
  await startWorkers(crew, exec.threadNames, (g) => ({ ...base, kind: 'layer', group: g, groups: G, lo: 0, hi: 0, lag: strategy === 'pipeline' ? G - 1 - g : 0, slots: layout.slots.length, spinUs: crew.spinUs, cells: ranges }), opts.fault);
  return exec;
}

/**
 * The layer and pipeline strategies' groups, as ranges[layer][group]. layer: whole layers, balanced
 * by estimated cost. pipeline: may cut inside a layer (pipelineGroups), except for class columns
 * (their readout mixes every column) and nets of different depths.
 */
export function layerRanges(strategy: StrategyName, workers: number, config: ModelConfig, layout: Layout, kern: Kernels, data?: Pick<Samples, 'x' | 'features'>): CellRange[][] {
  const layers = layout.nets[0]!.layers;
  if (strategy === 'pipeline') {
    return pipelineGroups(layers, layout.batch, workers, kern.impl, firstLayerLive(kern.impl, layout.batch, data), splittable(config, layout), kern.cellTile);
  }
  return wholeLayerRanges(balanceGroups(layers.map((l) => layerCost(l, layout.batch)), workers), layers.map((l) => l.nOut));
}

