/**
 * `cells`: every thread owns a slice of the cells of every hidden layer, with their incoming
 * weights. Per batch the threads compute their cells layer by layer (a thread waits only for the
 * threads owning cells of the layer below), the coordinator computes the output layers and the
 * amine, and every thread updates its own cells with no further synchronisation, then goes on to
 * the next batch, whose activations live in the other slot. Each cell runs the same kernel on the
 * same inputs as in `serial`, so the models are byte-identical for any thread count.
 */
import type { Kernels } from '../kernels/backend.js';
import type { Crew } from './crew.js';
import { stageBatch, type Samples } from '../engine/engine.js';
import { check, EdsimError } from '../errors.js';
import { BatchRows, type BatchHook, emptyTally, type EpochTally, type Executor, identityOrder, type PassOptions, type StrategyName, takeGroupStats, type WorkerStats, yielder } from '../engine/executor.js';
import type { Calibration } from '../model-io.js';
import type { Layout, Memory } from '../engine/layout.js';
import { forwardSegment, updateSegment } from '../engine/layer-group.js';
import type { ModelConfig } from '../options.js';
import { type CellRange, type CellSegment, cellSegments } from './partition.js';
import type { TraceRecorder } from './trace.js';
import { cellStep, FLAG_LAST, FLAG_TRAIN, publish, RING, SLOT, statsView } from './protocol.js';

type Labeled = Samples & { labels: Int32Array };

/** The name every message and report uses for thread g of the cells strategy. */
export function cellsName(g: number, ranges: CellRange[][]): string {
  const cells = ranges.reduce((s, layer) => s + layer[g]![1] - layer[g]![0], 0);
  return `cells thread ${g} (${cells} hidden cells${g === 0 ? ', output layers, coordinator' : ''})`;
}

export class CellsExecutor implements Executor {
  readonly name: StrategyName = 'cells';
  private seq = 0;
  private done = 0;
  private readonly rows: BatchRows;
  private readonly stats;
  private readonly names: string[];
  private readonly hidden: number;
  private readonly segments: CellSegment[];

  constructor(
    private readonly mem: Memory,
    private readonly layout: Layout,
    private readonly config: ModelConfig,
    private readonly ranges: CellRange[][],
    private readonly crew: Crew,
    /** The coordinator's kernels on `mem` (the split was made for their tile). */
    private readonly k: Kernels,
    private readonly trace?: TraceRecorder,
  ) {
    this.rows = new BatchRows(layout);
    this.stats = statsView(mem.buffer);
    this.hidden = ranges.length;
    this.segments = cellSegments(ranges, 0, (k) => layout.nets[0]!.layers[k]!.nOut);
    this.names = ranges[0]!.map((_, g) => cellsName(g, ranges));
  }

  get threadNames(): string[] {
    return this.names;
  }

  private get threads(): number {
    return this.names.length;
  }

  /** Waits until every other thread owning cells of hidden layer k has passed step `step`. */
  private async waitOwners(k: number, step: number): Promise<void> {
    for (let h = 1; h < this.threads; h++) {
      const r = this.ranges[k]![h]!;
      if (r[0] !== r[1]) await this.crew.waitFor(SLOT.UPD + h, step, () => this.names[h]!);
    }
  }

  private async stream(data: Labeled, order: Int32Array, batch: number, train: boolean, { hook, signal, cal }: PassOptions = {}): Promise<EpochTally> {
    const { f, ctrl } = this.mem;
    const H = this.hidden;
    const S = this.layout.slots.length;
    const c = this.config;
    const tally = emptyTally();
    if (signal?.aborted) return tally;
    check(cellStep(this.seq + Math.ceil(order.length / batch) + 1, H, H) < 2 ** 31, 'the cells strategy has run out of sequence numbers: create a new trainer');
    const starts: number[] = [];
    for (let start = 0; start < order.length; start += batch) starts.push(start);
    // Batch t goes to slot t % S, last used by batch t - S: every thread must be done updating from it.
    const stage = async (i: number, t: number): Promise<void> => {
      const t0 = performance.now();
      for (let h = 1; h < this.threads; h++) await this.crew.waitFor(SLOT.UPD + h, cellStep(t - S, H, H), () => this.names[h]!);
      this.stats.addWait(0, performance.now() - t0);
      const t1 = performance.now();
      this.trace?.span('wait', t0, t1);
      const start = starts[i]!;
      const count = Math.min(batch, order.length - start);
      for (const net of this.layout.slots[t % S]!) stageBatch(f, net, data, order, start, count, this.k);
      ctrl[SLOT.COUNT + (t % RING)] = count;
      ctrl[SLOT.FLAGS + (t % RING)] = (train ? FLAG_TRAIN : 0) | (i === starts.length - 1 || signal?.aborted === true ? FLAG_LAST : 0);
      publish(ctrl, SLOT.FWD, t);
      this.stats.addBusy(0, performance.now() - t1);
      this.trace?.span('stage', t1, performance.now());
    };
    await stage(0, this.seq + 1);
    const breathe = yielder();
    for (let i = 0; i < starts.length; i++) {
      await breathe();
      const start = starts[i]!;
      const count = Math.min(batch, order.length - start);
      const lastBatch = i === starts.length - 1 || signal?.aborted === true;
      const t = ++this.seq;
      const nets = this.layout.slots[t % S]!;
      let busy = 0;
      let waited = 0;
      let t0 = 0;
      for (const seg of [...this.segments, { k0: H, k1: H + 1, range: null }]) {
        t0 = performance.now();
        if (seg.k0 > 0) await this.waitOwners(seg.k0 - 1, cellStep(t, seg.k0 - 1, H));
        const t1 = performance.now();
        waited += t1 - t0;
        this.trace?.span('wait', t0, t1);
        t0 = t1;
        if (seg.k0 < H) {
          for (const net of nets) forwardSegment(this.k, f, net, seg, count, c.u0);
          publish(ctrl, SLOT.UPD, cellStep(t, seg.k1 - 1, H));
        } else {
          // The output layers (all their cells) and the amine, then the other threads may update.
          for (const net of nets) {
            this.k.forward(f, net.layers[H]!, count, c.u0);
            this.k.amine(f, net, count, c.u1);
          }
          publish(ctrl, SLOT.AMINE, t);
        }
        const t2 = performance.now();
        busy += t2 - t0;
        this.trace?.span(seg.k0 < H ? 'forward' : 'amine', t0, t2);
      }
      this.stats.addBusy(0, busy);
      this.stats.addWait(0, waited);
      // With two slots the next batch goes in now, so the others start it as soon as they have updated.
      if (!lastBatch && S > 1) await stage(i + 1, t + 1);
      t0 = performance.now();
      this.rows.tally(f, nets, count, data.labels, order, start, tally, cal);
      hook?.(start, count);
      this.done = (start + count) / order.length;
      if (train) {
        const t1 = performance.now();
        for (const net of nets) {
          for (const seg of this.segments) updateSegment(this.k, f, net, seg, count, c.rule === 'kaneko');
          this.k.update(f, net, net.layers[H]!, count, c.rule === 'kaneko');
        }
        this.trace?.span('update', t1, performance.now());
      }
      publish(ctrl, SLOT.UPD, cellStep(t, H, H));
      this.stats.addBusy(0, performance.now() - t0);
      if (lastBatch) break;
      if (S === 1) await stage(i + 1, t + 1);
    }
    const t0 = performance.now();
    for (let h = 1; h < this.threads; h++) await this.crew.waitFor(SLOT.UPD + h, cellStep(this.seq, H, H), () => this.names[h]!);
    this.stats.addWait(0, performance.now() - t0);
    return tally;
  }

  trainEpoch(data: Labeled, order: Int32Array, batch: number, hook?: BatchHook, signal?: AbortSignal): Promise<EpochTally> {
    check(batch <= this.layout.batch, `batch ${batch} exceeds the allocated ${this.layout.batch}`);
    return this.stream(data, order, batch, true, { hook, signal });
  }

  /** Forward passes only, sliced the same way (per sample the same results as serial). */
  evaluate(data: Labeled, cal?: Calibration): Promise<EpochTally> {
    return this.stream(data, identityOrder(data.y.length / data.outputs), this.layout.batch, false, { cal });
  }

  progress(): number {
    return this.done;
  }

  takeStats(): WorkerStats[] {
    this.done = 0;
    return takeGroupStats(this.stats, this.names);
  }

  close(): Promise<void> {
    return this.crew.close();
  }
}

/** Checks the model suits the cells strategy: every net of the same depth, no class columns. */
export function checkCellsModel(config: ModelConfig, layout: Layout): void {
  if (config.topology === 'columns') throw new EdsimError('the cells strategy does not run the columns topology (its readout mixes every column); use serial or layer');
  const depth = layout.nets[0]!.layers.length;
  check(layout.nets.every((n) => n.layers.length === depth), 'the cells strategy needs every net to have the same number of layers');
}
