/**
 * The executor interface every strategy implements, the serial reference executor, and the batch
 * scoring they share. Executors move work between threads; the math lives in engine.ts and kernels/.
 */
import { kernelsFor, type Kernels } from '../kernels/backend.js';
import { type Samples, stageBatch } from './engine.js';
import { runNets } from './layer-group.js';
import type { Floats, Layout, Memory, NetLayout } from './layout.js';
import type { ModelConfig } from '../options.js';
import type { StatsView } from '../parallel/protocol.js';
import type { TraceRecorder } from '../parallel/trace.js';
import type { CellRange } from '../parallel/partition.js';
import type { Calibration } from '../model-io.js';

/** How the work of a batch is spread over threads: see docs/parallel.md. */
export type StrategyName = 'serial' | 'layer' | 'pipeline' | 'output' | 'cells' | 'samples';
/** Every strategy name, in the order the CLI lists them. */
export const STRATEGIES: readonly StrategyName[] = ['serial', 'layer', 'pipeline', 'output', 'cells', 'samples'];
/** The strategies whose trained weights are byte-identical to serial for any thread count (all but pipeline). */
export const EXACT_STRATEGIES: readonly StrategyName[] = ['serial', 'layer', 'output', 'cells', 'samples'];

export interface EpochTally {
  errSum: number;
  wrong: number;
  correct: number;
  samples: number;
}

/** Time one thread (or layer group) spent computing and waiting in an epoch. */
export interface WorkerStats {
  /** The thread or group, e.g. "coordinator" or "worker 1". */
  group: string;
  /** Milliseconds spent computing. */
  busyMs: number;
  /** Milliseconds spent waiting for other threads. */
  waitMs: number;
}

/** Called after each mini-batch with the batch's first position in `order` and its size (outputs are still in memory). */
export type BatchHook = (start: number, count: number) => void;

/** What an executor's own pass over the samples may take besides them: a per-batch hook (training), an abort signal, a calibration (evaluation). */
export interface PassOptions {
  hook?: BatchHook;
  signal?: AbortSignal;
  cal?: Calibration;
}

export interface Executor {
  readonly name: StrategyName;
  /** One pass over `order`, in mini-batches of `batch`, training as it goes. */
  trainEpoch(data: Samples & { labels: Int32Array }, order: Int32Array, batch: number, hook?: BatchHook, signal?: AbortSignal): Promise<EpochTally>;
  /**
   * Forward passes only; returns the tally of the outputs against the targets. With a calibration,
   * a sample's answer is its largest (output - mean) / sd (errSum and wrong stay the raw outputs').
   */
  evaluate(data: Samples & { labels: Int32Array }, cal?: Calibration): Promise<EpochTally>;
  /** Busy and waiting time per thread since the last call. */
  takeStats(): WorkerStats[];
  /** The share of the running epoch done so far (0 between epochs; absent where it is not known until the end). */
  progress?(): number;
  /** Names of the threads, coordinator first (the tracks of a trace). */
  readonly threadNames: string[];
  close(): Promise<void>;
}

/**
 * Long synchronous stretches would keep signal handlers (Ctrl-C) and worker events from ever
 * running: this yields to the event loop when `everyMs` have passed since the last yield.
 */
export function yielder(everyMs = 50): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < everyMs) return undefined;
    last = now;
    return new Promise<void>((r) => setImmediate(r));
  };
}

export function emptyTally(): EpochTally {
  return { errSum: 0, wrong: 0, correct: 0, samples: 0 };
}

/** Copies a computed batch's outputs and errors, all nets side by side, into row-major `out` and `err`. */
export function gatherBatch(f: Floats, nets: NetLayout[], count: number, out: Float64Array, err: Float64Array, total: number): void {
  for (const net of nets) {
    const o = net.layers[net.layers.length - 1]!;
    for (let b = 0; b < count; b++) {
      for (let c = 0; c < net.outputs; c++) {
        out[b * total + net.firstOutput + c] = f[o.y + b * o.yStride + c]!;
        err[b * total + net.firstOutput + c] = f[net.err + b * net.outputs + c]!;
      }
    }
  }
}

/**
 * The value at v[at] averaged with the `members` - 1 values `width` apart after it (an ensemble's
 * members side by side in a row), summed in member order; one member: the value itself.
 */
function memberMean(v: Float64Array, at: number, width: number, members: number): number {
  if (members === 1) return v[at]!;
  let s = v[at]!;
  for (let m = 1; m < members; m++) s += v[at + m * width]!;
  return s / members;
}

/** n rows of an ensemble's members side by side as rows of their means (one member: `v` itself). */
export function memberMeans(v: Float64Array, n: number, members: number): Float64Array {
  if (members === 1) return v;
  const total = v.length / n;
  const width = total / members;
  const out = new Float64Array(n * width);
  for (let b = 0; b < n; b++) for (let c = 0; c < width; c++) out[b * width + c] = memberMean(v, b * total + c, width, members);
  return out;
}

/**
 * Adds rows of outputs and errors to the tally: summed |error| and outputs off by more than 0.5
 * (Kaneko's counts), and correct samples (one output: rounds to the target; several outputs with
 * classes: argmax is the label; otherwise every output within 0.5). Row b is sample order[start + b].
 * An ensemble's rows (`members` > 1) are scored by their members' mean outputs and errors. With a
 * calibration `cal`, the argmax is over (output - mean) / sd (Trainer.scores); errSum and wrong are not.
 */
export function tallyRows(out: Float64Array, err: Float64Array, count: number, total: number, labels: Int32Array, order: Int32Array, start: number, t: EpochTally, members = 1, cal?: Calibration): void {
  const width = total / members;
  for (let b = 0; b < count; b++) {
    let allOk = true;
    let best = -1;
    let bestV = -Infinity;
    for (let c = 0; c < width; c++) {
      const e = Math.abs(memberMean(err, b * total + c, width, members));
      t.errSum += e;
      if (e > 0.5) {
        t.wrong++;
        allOk = false;
      }
      const m = memberMean(out, b * total + c, width, members);
      const v = cal ? (m - cal.mean[c]!) / cal.sd[c]! : m;
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    const label = labels[order[start + b]!]!;
    t.correct += width > 1 && label >= 0 ? (best === label ? 1 : 0) : allOk ? 1 : 0;
  }
  t.samples += count;
}

/** Scratch rows for gatherBatch/tallyRows, sized once per executor. */
export class BatchRows {
  readonly out: Float64Array;
  readonly err: Float64Array;
  readonly total: number;
  readonly members: number;
  constructor(layout: Layout) {
    this.total = layout.nets.reduce((s, n) => s + n.outputs, 0);
    this.members = layout.members;
    this.out = new Float64Array(layout.batch * this.total);
    this.err = new Float64Array(layout.batch * this.total);
  }
  tally(f: Floats, nets: NetLayout[], count: number, labels: Int32Array, order: Int32Array, start: number, t: EpochTally, cal?: Calibration): void {
    gatherBatch(f, nets, count, this.out, this.err, this.total);
    tallyRows(this.out, this.err, count, this.total, labels, order, start, t, this.members, cal);
  }
}

/** Busy and waiting time per group from the shared stats block, then reset for the next epoch. */
export function takeGroupStats(stats: StatsView, names: string[]): WorkerStats[] {
  const out = names.map((group, g) => ({ group, busyMs: stats.busy(g), waitMs: stats.wait(g) }));
  stats.reset();
  return out;
}

/** The name every message and report uses for group g: its kind, its layers or nets, and its thread. */
export function groupName(kind: 'layer' | 'output', g: number, lo: number, hi: number): string {
  return `${kind} group ${g} (${kind === 'layer' ? 'layers' : 'nets'} ${lo}-${hi - 1}${g === 0 ? ', coordinator' : ''})`;
}

/** The name of layer group g given as ranges[layer][group], with the layers it shares: "layer group 0 (layers 0-1, layer 1 cells 0-271, coordinator)". */
export function layerGroupName(g: number, ranges: CellRange[][], nOut: number[]): string {
  const mine = ranges.flatMap((r, k) => (r[g]![0] < r[g]![1] ? [{ k, r: r[g]! }] : []));
  const shared = mine.filter(({ k, r }) => r[1] - r[0] < nOut[k]!).map(({ k, r }) => `, layer ${k} cells ${r[0]}-${r[1] - 1}`);
  return `layer group ${g} (layers ${mine[0]!.k}-${mine.at(-1)!.k}${shared.join('')}${g === 0 ? ', coordinator' : ''})`;
}

export function identityOrder(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/**
 * A serial executor over the weights in `mem`, in place, running on activation slot `slot`: only
 * the activations are its own, so evaluating or predicting copies no weight. The caller makes sure
 * no training batch uses that slot meanwhile (evaluation runs between epochs).
 */
export function slotSerial(mem: Memory, layout: Layout, config: ModelConfig, slot = 0): SerialExecutor {
  return new SerialExecutor(mem, { ...layout, nets: layout.slots[slot]! }, config);
}

/** The reference: everything on the calling thread, layer after layer. */
export class SerialExecutor implements Executor {
  readonly name: StrategyName = 'serial';
  private busy = 0;
  private done = 0;
  private readonly rows: BatchRows;
  private readonly k: Kernels;
  private epochRows: { out: Float64Array; err: Float64Array } | undefined;
  readonly threadNames = ['coordinator'];

  constructor(
    private readonly mem: Memory,
    private readonly layout: Layout,
    private readonly config: ModelConfig,
    private readonly trace?: TraceRecorder,
  ) {
    this.rows = new BatchRows(layout);
    this.k = kernelsFor(config.kernels, mem);
  }

  private pass(data: Samples, order: Int32Array, start: number, count: number, train: boolean): void {
    const { f } = this.mem;
    const kanekoRule = this.config.rule === 'kaneko';
    const tr = this.trace;
    for (const net of this.layout.nets) {
      const t0 = tr ? performance.now() : 0;
      stageBatch(f, net, data, order, start, count, this.k);
      const t1 = tr ? performance.now() : 0;
      this.k.forwardLayers(f, net, 0, net.layers.length, count, this.config.u0);
      const t2 = tr ? performance.now() : 0;
      this.k.amine(f, net, count, this.config.u1);
      const t3 = tr ? performance.now() : 0;
      if (train) this.k.updateLayers(f, net, 0, net.layers.length, count, kanekoRule);
      if (tr) {
        const t4 = performance.now();
        tr.span('stage', t0, t1);
        tr.span('forward', t1, t2);
        tr.span('amine', t2, t3);
        if (train) tr.span('update', t3, t4);
      }
    }
  }

  /**
   * Several independent nets and no per-batch hook: each net makes its whole pass in turn, so its
   * weights stay in cache (the same arithmetic as batch by batch: the nets share nothing).
   */
  private async runByNet(data: Samples & { labels: Int32Array }, order: Int32Array, train: boolean, { signal, cal }: PassOptions): Promise<EpochTally> {
    const t0 = performance.now();
    const n = order.length;
    const total = this.rows.total;
    if (!this.epochRows || this.epochRows.out.length < n * total) this.epochRows = { out: new Float64Array(n * total), err: new Float64Array(n * total) };
    const c = this.config;
    const breathe = yielder();
    const tally = emptyTally();
    for (let k = 0; k < this.layout.nets.length; k++) {
      this.done = k / this.layout.nets.length;
      await breathe();
      if (signal?.aborted) return tally; // incomplete: the trainer rolls the epoch back
      runNets(this.k, this.mem.f, this.layout, k, k + 1, data, order, n, train, c.u0, c.u1, c.rule === 'kaneko', this.epochRows.out, this.epochRows.err, total);
    }
    tallyRows(this.epochRows.out, this.epochRows.err, n, total, data.labels, order, 0, tally, this.layout.members, cal);
    this.busy += performance.now() - t0;
    return tally;
  }

  private async run(data: Samples & { labels: Int32Array }, order: Int32Array, batch: number, train: boolean, opts: PassOptions = {}): Promise<EpochTally> {
    const { hook, signal, cal } = opts;
    if (this.layout.nets.length > 1 && !hook && batch === this.layout.batch) return this.runByNet(data, order, train, opts);
    const t0 = performance.now();
    const tally = emptyTally();
    const breathe = yielder();
    for (let start = 0; start < order.length; start += batch) {
      await breathe();
      if (signal?.aborted) break;
      const count = Math.min(batch, order.length - start);
      this.pass(data, order, start, count, train);
      this.rows.tally(this.mem.f, this.layout.nets, count, data.labels, order, start, tally, cal);
      hook?.(start, count);
      this.done = (start + count) / order.length;
    }
    this.busy += performance.now() - t0;
    return tally;
  }

  async trainEpoch(data: Samples & { labels: Int32Array }, order: Int32Array, batch: number, hook?: BatchHook, signal?: AbortSignal): Promise<EpochTally> {
    return this.run(data, order, batch, true, { hook, signal });
  }

  async evaluate(data: Samples & { labels: Int32Array }, cal?: Calibration): Promise<EpochTally> {
    return this.run(data, identityOrder(data.y.length / data.outputs), this.layout.batch, false, { cal });
  }

  /** Forward passes only; every sample's outputs, row-major (every net's outputs side by side: an ensemble's members one after another). */
  outputs(data: Samples): Float64Array {
    const n = data.x.length / data.features;
    const order = identityOrder(n);
    const total = this.rows.total;
    const out = new Float64Array(n * total);
    for (let start = 0; start < n; start += this.layout.batch) {
      const count = Math.min(this.layout.batch, n - start);
      this.pass(data, order, start, count, false);
      gatherBatch(this.mem.f, this.layout.nets, count, this.rows.out, this.rows.err, total);
      out.set(this.rows.out.subarray(0, count * total), start * total);
    }
    return out;
  }

  progress(): number {
    return this.done;
  }

  takeStats(): WorkerStats[] {
    this.done = 0;
    const s = [{ group: 'coordinator', busyMs: this.busy, waitMs: 0 }];
    this.busy = 0;
    return s;
  }

  async close(): Promise<void> {}
}
