/**
 * `samples`: every thread is a worker and the coordinator only announces streams (an epoch or an
 * evaluation) and waits for them without blocking its event loop. Per batch the workers forward
 * chunks of the batch's rows through every layer (no hand-off between layers), then update ranges
 * of cells over the whole batch, claiming both kinds of item from one atomic counter; the next
 * batch's forward pass starts on each layer as soon as that layer's updates are done
 * (samples-plan.ts has the plan and its dependencies, workers/samples-host.ts the worker side).
 * Every item runs serial's kernel calls on serial's values: the model is byte-identical to serial
 * for any thread count.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Crew } from './crew.js';
import { stagedInputs, type Samples } from '../engine/engine.js';
import { check, EdsimError } from '../errors.js';
import { emptyTally, type BatchHook, type EpochTally, type PassOptions, type Executor, identityOrder, type StrategyName, takeGroupStats, tallyRows, type WorkerStats } from '../engine/executor.js';
import type { Calibration } from '../model-io.js';
import type { Layout, Memory } from '../engine/layout.js';
import { claimStart, MAX_STREAM_ITEMS, publish, shareFeatures, SLOT, statsView, type StreamMessage } from './protocol.js';
import { itemsPerBatch, planSamples, type SamplesPlan } from './samples-plan.js';

type Labeled = Samples & { labels: Int32Array };

/** The shared copy of one data set (made once, reused every epoch). */
interface SharedSet {
  id: number;
  x: SharedArrayBuffer;
  xType: 'f64' | 'f32';
  rows?: SharedArrayBuffer;
  y: SharedArrayBuffer;
}

let nextDataId = 1;

export function samplesName(g: number): string {
  return `samples thread ${g}`;
}

/** The plan for a layout: its nets' layers, the kernels' register tile, a columns readout whole. */
export function planFor(layout: Layout, threads: number, tile: number): SamplesPlan {
  const layers = layout.nets[0]!.layers;
  return planSamples(layers, layout.nets.length, layout.batch, threads, tile, (k) => layers[k]!.readoutColumn > 0);
}

export class SamplesExecutor implements Executor {
  readonly name: StrategyName = 'samples';
  private seq = 0;
  private streamSeq = 0;
  /** Items in the running stream (0: none). */
  private streamItems = 0;
  private readonly sets = new WeakMap<Samples['x'], SharedSet>();
  private order = new Int32Array(new SharedArrayBuffer(4));
  private results = new SharedArrayBuffer(8);
  private readonly total: number;
  private readonly stats;
  readonly threadNames: string[];

  constructor(
    private readonly mem: Memory,
    private readonly layout: Layout,
    readonly plan: SamplesPlan,
    private readonly crew: Crew,
    /** The coordinator's end of each worker's stream port. */
    private readonly ports: MessagePort[],
    /** Whether the workers stage from stagedInputs' doubled rows (kernels without gatherDoubled: wasm). */
    private readonly shareRows = true,
  ) {
    this.total = layout.nets.reduce((sum, net) => sum + net.outputs, 0);
    this.stats = statsView(mem.buffer);
    this.threadNames = ports.map((_, g) => samplesName(g));
  }

  /** One MessageChannel per worker: the worker's end goes in its init, the coordinator keeps the other. */
  static channels(threads: number): { mine: MessagePort[]; theirs: MessagePort[] } {
    const ch = Array.from({ length: threads }, () => new MessageChannel());
    return { mine: ch.map((c) => c.port1), theirs: ch.map((c) => c.port2) };
  }

  private shared(data: Samples): SharedSet {
    let set = this.sets.get(data.x);
    if (set) return set;
    const y = new SharedArrayBuffer(data.y.length * 8);
    new Float64Array(y).set(data.y);
    set = { id: nextDataId++, ...shareFeatures(data.x, this.mem.f instanceof Float32Array), y };
    const rows = this.mem.f instanceof Float32Array && this.shareRows ? stagedInputs(this.layout.nets[0]!, data) : undefined;
    if (rows) {
      set.rows = new SharedArrayBuffer(rows.length * 4);
      new Float32Array(set.rows).set(rows);
    }
    this.sets.set(data.x, set);
    return set;
  }

  private async stream(data: Labeled, order: Int32Array, batch: number, train: boolean, { signal, cal }: PassOptions = {}): Promise<EpochTally> {
    const n = order.length;
    const tally = emptyTally();
    if (signal?.aborted || n === 0) return tally;
    check(batch <= this.layout.batch, `batch ${batch} exceeds the allocated ${this.layout.batch}`);
    const batches = Math.ceil(n / batch);
    const total = batches * itemsPerBatch(this.plan, train);
    check(total <= MAX_STREAM_ITEMS, `the samples strategy cuts an epoch into at most ${MAX_STREAM_ITEMS} work items, this one needs ${total}: use a larger --batch`);
    check(this.seq + batches + 2 < 2 ** 31, 'the samples strategy has run out of sequence numbers: create a new trainer');
    const set = this.shared(data);
    if (this.order.length < n) this.order = new Int32Array(new SharedArrayBuffer(n * 4));
    this.order.set(order);
    if (this.results.byteLength < n * this.total * 16) this.results = new SharedArrayBuffer(n * this.total * 16);
    const s = ++this.streamSeq;
    const msg: StreamMessage = {
      s, t0: this.seq + 1, n, batch, train, total, dataId: set.id, x: set.x, xType: set.xType, ...(set.rows ? { rows: set.rows } : {}),
      y: set.y, features: data.features, outputs: data.outputs, order: this.order.buffer as SharedArrayBuffer, results: this.results, totalOutputs: this.total,
    };
    this.seq += batches;
    const { ctrl } = this.mem;
    for (const p of this.ports) p.postMessage(msg);
    Atomics.store(ctrl, SLOT.ABORT, 0);
    Atomics.store(ctrl, SLOT.DONE, 0);
    Atomics.store(ctrl, SLOT.CLAIM, claimStart(s));
    publish(ctrl, SLOT.STREAM, s);
    this.streamItems = total;
    let aborted = false;
    await this.crew.waitAsync(SLOT.DONE, total, () => this.holder(), () => {
      if (signal?.aborted && !aborted) {
        aborted = true;
        Atomics.store(ctrl, SLOT.ABORT, 1);
      }
    });
    this.streamItems = 0;
    if (aborted) return tally; // incomplete: the trainer rolls the epoch back
    const out = new Float64Array(this.results, 0, n * this.total);
    const err = new Float64Array(this.results, n * this.total * 8, n * this.total);
    tallyRows(out, err, n, this.total, data.labels, order, 0, tally, this.layout.members, cal);
    return tally;
  }

  /** Who to blame for a stall: every worker could hold the missing item. */
  private holder(): string {
    return `the samples strategy's threads (${this.threadNames.length})`;
  }

  trainEpoch(data: Labeled, order: Int32Array, batch: number, hook?: BatchHook, signal?: AbortSignal): Promise<EpochTally> {
    if (hook) throw new EdsimError('the samples strategy does not report single batches; use serial, layer or cells for onBatch');
    return this.stream(data, order, batch, true, { signal });
  }

  evaluate(data: Labeled, cal?: Calibration): Promise<EpochTally> {
    return this.stream(data, identityOrder(data.y.length / data.outputs), this.layout.batch, false, { cal });
  }

  progress(): number {
    return this.streamItems > 0 ? Atomics.load(this.mem.ctrl, SLOT.DONE) / this.streamItems : 0;
  }

  takeStats(): WorkerStats[] {
    return takeGroupStats(this.stats, this.threadNames);
  }

  async close(): Promise<void> {
    await this.crew.close();
    for (const p of this.ports) p.close();
  }
}

/** Checks the model suits the samples strategy: every net of the same shape. */
export function checkSamplesModel(layout: Layout): void {
  const first = layout.nets[0]!.layers;
  check(layout.nets.every((n) => n.layers.length === first.length && n.layers.every((l, k) => l.nIn === first[k]!.nIn && l.nOut === first[k]!.nOut)),
    'the samples strategy needs every net to have the same layers');
}
