/**
 * A worker's side of the `samples` strategy (see src/parallel/samples-plan.ts): wait for a stream,
 * then claim items until the stream has none left. An F item stages a chunk of the batch's rows and
 * forwards them through every layer of every net, each block once its weights are updated, then
 * computes their amine and copies their outputs and errors out; a U item updates a block of layers
 * (or one layer's range of cells) of one net over the whole batch. Each item ends by publishing its
 * done flag (the batch's sequence number) and counting itself in SLOT.DONE.
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { Kernels } from '../src/kernels/backend.js';
import { adoptStagedInputs, stageBatch, type Samples } from '../src/engine/engine.js';
import { type Floats, type Layout, type NetLayout, rowSlice } from '../src/engine/layout.js';
import { itemsPerBatch, type SamplesPlan } from '../src/parallel/samples-plan.js';
import type { TraceRecorder } from '../src/parallel/trace.js';
import { claimItem, featuresView, publish, SLOT, type StatsView, type StreamMessage, waitAtLeast, type WorkerInit } from '../src/parallel/protocol.js';

interface StreamData {
  id: number;
  data: Samples;
}

export class SamplesHost {
  private readonly plan: SamplesPlan;
  private readonly work: Int32Array;
  /** slices[slot][chunk][net]. */
  private readonly slices: NetLayout[][][];
  private data: StreamData | undefined;

  constructor(
    private readonly m: WorkerInit,
    private readonly ctrl: Int32Array,
    private readonly f: Floats,
    private readonly layout: Layout,
    private readonly kern: Kernels,
    private readonly stats: StatsView,
    private readonly trace: TraceRecorder | undefined,
    private readonly stop: () => boolean,
    /** Bounded wait on this thread's clock: counted as waiting time and traced. */
    private readonly wait: (flags: Int32Array, slot: number, t: number) => boolean,
    private readonly maybeFault: (at: number) => void,
  ) {
    this.plan = m.plan!;
    this.work = new Int32Array(m.work!);
    this.slices = layout.slots.map((nets) => Array.from({ length: this.plan.chunks }, (_, c) => nets.map((net) => rowSlice(net, c * this.plan.rows))));
  }

  /** Runs streams until the stop flag. */
  run(): void {
    for (let s = 1; ; s++) {
      if (!waitAtLeast(this.ctrl, SLOT.STREAM, s, this.m.spinUs, 50, this.stop)) return;
      const msg = this.receive(s);
      if (!msg) return;
      if (!this.runStream(msg)) return;
    }
  }

  /** The description of stream s (posted before the stream was announced). */
  private receive(s: number): StreamMessage | undefined {
    const port = this.m.port as MessagePort;
    for (;;) {
      const got = receiveMessageOnPort(port);
      if (got) {
        const msg = got.message as StreamMessage;
        if (msg.s === s) return msg;
        continue; // an older stream's description (never expected: streams are announced in order)
      }
      if (this.stop()) return undefined;
      Atomics.wait(this.ctrl, SLOT.STOP, 0, 1);
    }
  }

  private dataOf(msg: StreamMessage): Samples {
    if (this.data?.id === msg.dataId) return this.data.data;
    const x = featuresView(msg.x, msg.xType);
    const data: Samples = { x, features: msg.features, y: new Float64Array(msg.y), outputs: msg.outputs };
    if (msg.rows) adoptStagedInputs(x, this.layout.nets[0]!.interleaved, new Float32Array(msg.rows));
    this.data = { id: msg.dataId, data };
    return data;
  }

  private runStream(msg: StreamMessage): boolean {
    const data = this.dataOf(msg);
    const order = new Int32Array(msg.order);
    const out = new Float64Array(msg.results, 0, msg.n * msg.totalOutputs);
    const err = new Float64Array(msg.results, msg.n * msg.totalOutputs * 8, msg.n * msg.totalOutputs);
    const per = itemsPerBatch(this.plan, msg.train);
    const chunks = this.plan.chunks;
    for (;;) {
      const idx = claimItem(this.ctrl, msg.s, msg.total);
      if (idx < 0) return true;
      const i = Math.floor(idx / per);
      const j = idx - i * per;
      const t = msg.t0 + i;
      const start = i * msg.batch;
      const count = Math.min(msg.batch, msg.n - start);
      if (Atomics.load(this.ctrl, SLOT.ABORT) === 0) {
        const ok = j < chunks
          ? this.forwardItem(msg, data, order, out, err, t, i, j, start, count)
          : this.updateItem(t, j - chunks, count);
        if (!ok) return false;
      }
      // F flags per slot (two batches of one slot are ordered, two of different slots are not:
      // in an evaluation batch t + 1's chunk may finish before batch t's), U flags per item.
      publish(this.work, j < chunks ? (t % this.layout.slots.length) * chunks + j : j + (this.layout.slots.length - 1) * chunks, t);
      if (Atomics.add(this.ctrl, SLOT.DONE, 1) + 1 === msg.total) Atomics.notify(this.ctrl, SLOT.DONE);
    }
  }

  /** Waits until flags [lo, hi) of the work block have reached t. */
  private waitFlags(lo: number, hi: number, t: number): boolean {
    for (let q = lo; q < hi; q++) if (!this.wait(this.work, q, t)) return false;
    return true;
  }

  private forwardItem(msg: StreamMessage, data: Samples, order: Int32Array, out: Float64Array, err: Float64Array, t: number, i: number, c: number, start: number, count: number): boolean {
    const { plan, f, kern, m } = this;
    const b0 = c * plan.rows;
    const rows = Math.min(plan.rows, count - b0);
    if (rows <= 0) return true;
    const S = this.layout.slots.length;
    const U = S * plan.chunks;
    const slot = t % S;
    // The slot's rows were last used by batch t - 2: by its updates (training), or by this chunk's
    // own forward pass (evaluation, where nothing else orders two batches of the same slot).
    const mine = slot * plan.chunks + c;
    if (i >= 2 && !(msg.train ? this.waitFlags(U, U + plan.updates.length, t - 2) : this.waitFlags(mine, mine + 1, t - 2))) return false;
    const nets = this.slices[slot]![c]!;
    let t0 = performance.now();
    let busy = 0;
    for (const net of nets) stageBatch(f, net, data, order, start + b0, rows, kern);
    this.maybeFault(t); // test-only: a fault or a pause in the middle of an item
    for (const b of plan.blocks) {
      if (msg.train && i >= 1) {
        busy += performance.now() - t0;
        this.trace?.span('forward', t0, performance.now());
        if (!this.waitFlags(U + b.uLo, U + b.uHi, t - 1)) return false;
        t0 = performance.now();
      }
      for (const net of nets) kern.forwardLayers(f, net, b.k0, b.k1, rows, m.u0);
    }
    for (const net of nets) {
      kern.amine(f, net, rows, m.u1);
      const o = net.layers[net.layers.length - 1]!;
      for (let r = 0; r < rows; r++) {
        const row = (start + b0 + r) * msg.totalOutputs + net.firstOutput;
        for (let k = 0; k < net.outputs; k++) {
          out[row + k] = f[o.y + r * o.yStride + k]!;
          err[row + k] = f[net.err + r * net.outputs + k]!;
        }
      }
    }
    const t1 = performance.now();
    this.stats.addBusy(m.group, busy + t1 - t0);
    this.trace?.span('forward', t0, t1);
    return true;
  }

  private updateItem(t: number, u: number, count: number): boolean {
    const { plan, f, kern, m } = this;
    const slot = t % this.layout.slots.length;
    if (!this.waitFlags(slot * plan.chunks, slot * plan.chunks + Math.ceil(count / plan.rows), t)) return false;
    this.maybeFault(t);
    const item = plan.updates[u]!;
    const net = this.layout.slots[slot]![item.net]!;
    const t0 = performance.now();
    if (item.range) kern.update(f, net, net.layers[item.k0]!, count, m.kanekoRule, item.range[0], item.range[1]);
    else kern.updateLayers(f, net, item.k0, item.k1, count, m.kanekoRule);
    const t1 = performance.now();
    this.stats.addBusy(m.group, t1 - t0);
    this.trace?.span('update', t0, t1);
    return true;
  }
}
