/** The `output` strategy: Kaneko's independent output networks spread over threads, one synchronisation per epoch. */
import type { Kernels } from '../kernels/backend.js';
import { kernelsFor } from '../kernels/backend.js';
import type { Crew } from './crew.js';
import type { Samples } from '../engine/engine.js';
import { check } from '../errors.js';
import { type BatchHook, emptyTally, yielder, groupName, takeGroupStats, type EpochTally, type Executor, identityOrder, slotSerial, type StrategyName, tallyRows, type WorkerStats } from '../engine/executor.js';
import type { Calibration } from '../model-io.js';
import { runNets } from '../engine/layer-group.js';
import type { Layout, Memory } from '../engine/layout.js';
import type { ModelConfig } from '../options.js';
import { featuresView, publish, shareFeatures, SLOT, statsView, type SharedData } from './protocol.js';

type Labeled = Samples & { labels: Int32Array };

export interface SharedViews {
  d: SharedData;
  x: Float64Array | Float32Array;
  y: Float64Array;
  order: Int32Array;
  out: Float64Array;
  err: Float64Array;
}

/** `output`: each thread trains whole independent nets; one synchronisation per epoch (an abort stops every thread after its current batch). */
export class OutputExecutor implements Executor {
  readonly name: StrategyName = 'output';
  private epochSeq = 0;
  private shared: { data: Labeled } & SharedViews | undefined;
  private readonly stats;
  private readonly names: string[];
  private readonly k: Kernels;

  constructor(
    private readonly mem: Memory,
    private readonly layout: Layout,
    private readonly config: ModelConfig,
    private readonly bounds: number[],
    private readonly crew: Crew,
    private readonly total: number,
  ) {
    this.stats = statsView(mem.buffer);
    this.k = kernelsFor(config.kernels, mem);
    this.names = bounds.slice(0, -1).map((lo, g) => groupName('output', g, lo, bounds[g + 1]!));
  }

  /** The data, order and result buffers the workers read: allocated before they start (the features: shareFeatures). */
  static sharedFor(data: Labeled, total: number, f32: boolean): SharedViews {
    const n = data.y.length / data.outputs;
    const d: SharedData = {
      ...shareFeatures(data.x, f32), y: new SharedArrayBuffer(data.y.length * 8), features: data.features,
      outputs: data.outputs, n, order: new SharedArrayBuffer(n * 4), results: new SharedArrayBuffer(n * 2 * total * 8), totalOutputs: total,
    };
    new Float64Array(d.y).set(data.y);
    return {
      d, x: featuresView(d.x, d.xType), y: new Float64Array(d.y), order: new Int32Array(d.order),
      out: new Float64Array(d.results, 0, n * total), err: new Float64Array(d.results, n * total * 8, n * total),
    };
  }

  attach(data: Labeled, s: ReturnType<typeof OutputExecutor.sharedFor>): void {
    this.shared = { data, ...s };
  }

  private async run(data: Labeled, order: Int32Array, train: boolean, cal?: Calibration, signal?: AbortSignal): Promise<EpochTally> {
    const s = this.shared!;
    check(s.data === data, 'the output strategy trains on the data it was started with');
    const { ctrl, f } = this.mem;
    const n = order.length;
    s.order.set(order);
    const e = ++this.epochSeq;
    ctrl[SLOT.EPOCH_SAMPLES] = n;
    ctrl[SLOT.EPOCH_MODE] = train ? 1 : 0;
    publish(ctrl, SLOT.EPOCH, e);
    const c = this.config;
    const data64 = { x: s.x, y: s.y, features: s.d.features, outputs: s.d.outputs };
    // The coordinator's nets one at a time, letting the event loop in between (a Ctrl-C, a worker's
    // error): an aborted training epoch tells the workers to stop after their current batch.
    let aborted = false;
    const abort = (): void => {
      if (!train || aborted) return;
      Atomics.store(ctrl, SLOT.EPOCH_ABORT, e);
      aborted = true;
    };
    const breathe = yielder();
    let busy = 0;
    for (let k = this.bounds[0]!; k < this.bounds[1]!; k++) {
      await breathe();
      if (signal?.aborted) abort();
      if (aborted) break;
      const t0 = performance.now();
      runNets(this.k, f, this.layout, k, k + 1, data64, s.order, n, train, c.u0, c.u1, c.rule === 'kaneko', s.out, s.err, this.total);
      busy += performance.now() - t0;
    }
    this.stats.addBusy(0, busy);
    // Workers still on their nets when an abort comes hear it at their next batch.
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort);
    const t0 = performance.now();
    try {
      for (let g = 1; g < this.bounds.length - 1; g++) await this.crew.waitFor(SLOT.UPD + g, e, () => this.names[g]!);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    this.stats.addWait(0, performance.now() - t0);
    const tally = emptyTally();
    if (aborted) return tally; // incomplete: the trainer rolls the epoch back
    tallyRows(s.out, s.err, n, this.total, data.labels, order, 0, tally, this.layout.members, cal);
    return tally;
  }

  async trainEpoch(data: Labeled, order: Int32Array, _batch: number, hook?: BatchHook, signal?: AbortSignal): Promise<EpochTally> {
    check(!hook, 'the output strategy does not report single batches; use serial or layer for onBatch');
    if (signal?.aborted) return emptyTally();
    return this.run(data, order, true, undefined, signal);
  }

  evaluate(data: Labeled, cal?: Calibration): Promise<EpochTally> {
    if (this.shared?.data === data) return this.run(data, identityOrder(data.y.length / data.outputs), false, cal);
    return evaluateSerially(this.mem, this.layout, this.config, data, cal);
  }

  get threadNames(): string[] {
    return this.names;
  }

  takeStats(): WorkerStats[] {
    return takeGroupStats(this.stats, this.names);
  }

  close(): Promise<void> {
    return this.crew.close();
  }
}

/** Forward passes over other data with the shared weights in place, on the calling thread (the workers wait between epochs). */
function evaluateSerially(mem: Memory, layout: Layout, config: ModelConfig, data: Labeled, cal?: Calibration): Promise<EpochTally> {
  return slotSerial(mem, layout, config).evaluate(data, cal);
}
