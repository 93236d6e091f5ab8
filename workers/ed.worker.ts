/**
 * The strategies' code inside a worker thread. Control plane: comlink (init, run). Data plane:
 * Atomics on the shared control block. The worker owns one layer group (layer and pipeline
 * strategies) or some of the independent nets (output strategy); weights and activations live in
 * the shared buffer it is handed, so nothing but sequence numbers crosses threads per batch.
 */
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { kernelsFor } from '../src/kernels/backend.js';
import { viewMemory } from '../src/engine/layout.js';
import { forwardSegment, LayerGroup, runNets, updateSegment } from '../src/engine/layer-group.js';
import { cellSegments } from '../src/parallel/partition.js';
import { TraceRecorder } from '../src/parallel/trace.js';
import { SamplesHost } from './samples-host.js';
import { cellStep, featuresView, FLAG_LAST, FLAG_TRAIN, publish, RING, SLOT, statsView, type StatsView, waitAtLeast, type WorkerInit } from '../src/parallel/protocol.js';

const SLICE_MS = 50;

/**
 * This thread's trace recorder, its stop test, and its bounded wait for ctrl[slot] >= t (a short
 * spin, then Atomics.wait in slices), counted as waiting time and traced.
 */
function waiting(m: WorkerInit, ctrl: Int32Array, stats: StatsView): {
  trace: TraceRecorder | undefined; stop: () => boolean; wait: (slot: number, t: number) => boolean; waitOn: (words: Int32Array, slot: number, t: number) => boolean;
} {
  const trace = m.trace && new TraceRecorder(m.trace, m.group);
  const stop = (): boolean => Atomics.load(ctrl, SLOT.STOP) !== 0;
  const waitOn = (words: Int32Array, slot: number, t: number): boolean => {
    if (Atomics.load(words, slot) >= t) return true;
    const t0 = performance.now();
    const ok = waitAtLeast(words, slot, t, m.spinUs, SLICE_MS, stop);
    const t1 = performance.now();
    stats.addWait(m.group, t1 - t0);
    trace?.span('wait', t0, t1);
    return ok;
  };
  return { trace, stop, wait: (slot, t) => waitOn(ctrl, slot, t), waitOn };
}

class WorkerHost {
  private init_: WorkerInit | undefined;

  init(msg: WorkerInit): string {
    this.init_ = msg;
    return 'READY';
  }

  /** Runs until the stop flag; rejects (after raising the fault flag) if anything throws. */
  run(): void {
    const m = this.init_!;
    const ctrl = viewMemory(m.memory, m.layout).ctrl;
    try {
      if (m.kind === 'layer') this.layerLoop(m, ctrl);
      else if (m.kind === 'cells') this.cellsLoop(m, ctrl);
      else if (m.kind === 'samples') this.samplesLoop(m, ctrl);
      else this.outputLoop(m, ctrl);
    } catch (e) {
      Atomics.store(ctrl, SLOT.FAULT, m.group + 1);
      for (let i = 0; i < 256; i++) Atomics.notify(ctrl, i);
      throw e;
    }
  }

  private maybeFault(m: WorkerInit, at: number): void {
    if (!m.fault || m.fault.at !== at) return;
    if (m.fault.kind === 'throw') throw new Error(`injected fault at ${at}`);
    if (m.fault.kind === 'exit') process.exit(3);
    // pause: fall 300 ms behind, as a descheduled thread would, then go on.
    if (m.fault.kind === 'pause') return void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    for (;;) { /* hang: stop answering */ }
  }

  private layerLoop(m: WorkerInit, ctrl: Int32Array): void {
    const mem = viewMemory(m.memory, m.layout);
    const { f } = mem;
    const stats = statsView(mem.buffer);
    const g = m.group;
    const last = g === m.groups - 1;
    const segments = cellSegments(m.cells!, g, (k) => m.layout.nets[0]!.layers[k]!.nOut);
    const group = new LayerGroup(kernelsFor(m.kernels, mem), f, m.layout, segments, m.u0, m.u1, m.kanekoRule, last);
    const { trace, stop, wait } = waiting(m, ctrl, stats);
    const pending: number[] = [];
    let t = Atomics.load(ctrl, SLOT.UPD + g) + 1;
    let idle = true; // waiting for the first batch of a stream is idle time, not synchronisation
    for (;;) {
      if (idle) {
        if (!waitAtLeast(ctrl, SLOT.FWD + g, t, m.spinUs, SLICE_MS, stop)) return;
        idle = false;
      } else if (!wait(SLOT.FWD + g, t)) return;
      this.maybeFault(m, t);
      const flags = Atomics.load(ctrl, SLOT.FLAGS + (t % RING));
      const count = Atomics.load(ctrl, SLOT.COUNT + (t % RING));
      if (!last && !wait(SLOT.UPD + g + 1, t - m.slots)) return;
      let t0 = performance.now();
      group.forward(t % m.slots, count);
      stats.addBusy(g, performance.now() - t0);
      trace?.span('forward', t0, performance.now());
      publish(ctrl, last ? SLOT.AMINE : SLOT.FWD + g + 1, t);
      pending.push(t);
      while (pending.length > m.lag || (pending.length > 0 && flags & FLAG_LAST)) {
        const u = pending.shift()!;
        if (!wait(SLOT.AMINE, u)) return;
        if (Atomics.load(ctrl, SLOT.FLAGS + (u % RING)) & FLAG_TRAIN) {
          t0 = performance.now();
          group.update(u % m.slots, Atomics.load(ctrl, SLOT.COUNT + (u % RING)));
          stats.addBusy(g, performance.now() - t0);
          trace?.span('update', t0, performance.now());
        }
        publish(ctrl, SLOT.UPD + g, u);
      }
      if (flags & FLAG_LAST) idle = true;
      t++;
    }
  }

  /**
   * Cells: per batch, this thread's cells of every hidden layer of every net, layer by layer (each
   * layer after the threads owning cells of the layer below have passed it); then, once the
   * coordinator has computed the output layers and the amine, the update of those same cells. The
   * next batch's forward pass starts right away: its activations live in the other slot.
   */
  private cellsLoop(m: WorkerInit, ctrl: Int32Array): void {
    const mem = viewMemory(m.memory, m.layout);
    const { f } = mem;
    const kern = kernelsFor(m.kernels, mem);
    const stats = statsView(mem.buffer);
    const g = m.group;
    const ranges = m.cells!;
    const H = ranges.length;
    const segments = cellSegments(ranges, g, (k) => m.layout.nets[0]!.layers[k]!.nOut);
    const { trace, stop, wait } = waiting(m, ctrl, stats);
    let t = 0; // batches count from 1, as the coordinator numbers them
    for (;;) {
      t++;
      if (!waitAtLeast(ctrl, SLOT.FWD, t, m.spinUs, SLICE_MS, stop)) return;
      this.maybeFault(m, t);
      const count = Atomics.load(ctrl, SLOT.COUNT + (t % RING));
      const train = (Atomics.load(ctrl, SLOT.FLAGS + (t % RING)) & FLAG_TRAIN) !== 0;
      const nets = m.layout.slots[t % m.slots]!;
      for (const seg of segments) {
        if (seg.k0 > 0) {
          for (let h = 0; h < m.groups; h++) {
            const r = ranges[seg.k0 - 1]![h]!;
            if (h !== g && r[0] !== r[1] && !wait(SLOT.UPD + h, cellStep(t, seg.k0 - 1, H))) return;
          }
        }
        const t0 = performance.now();
        for (const net of nets) forwardSegment(kern, f, net, seg, count, m.u0);
        stats.addBusy(g, performance.now() - t0);
        trace?.span('forward', t0, performance.now());
        publish(ctrl, SLOT.UPD + g, cellStep(t, seg.k1 - 1, H));
      }
      if (!wait(SLOT.AMINE, t)) return;
      if (train) {
        const t0 = performance.now();
        for (const net of nets) for (const seg of segments) updateSegment(kern, f, net, seg, count, m.kanekoRule);
        stats.addBusy(g, performance.now() - t0);
        trace?.span('update', t0, performance.now());
      }
      publish(ctrl, SLOT.UPD + g, cellStep(t, H, H));
    }
  }

  private samplesLoop(m: WorkerInit, ctrl: Int32Array): void {
    const mem = viewMemory(m.memory, m.layout);
    const stats = statsView(mem.buffer);
    const { trace, stop, waitOn } = waiting(m, ctrl, stats);
    // Items go to whichever thread claims them: the fault fires on this thread's first item of batch `at` or later.
    let fired = false;
    const fault = (t: number): void => {
      if (fired || !m.fault || t < m.fault.at) return;
      fired = true;
      this.maybeFault(m, m.fault.at);
    };
    new SamplesHost(m, ctrl, mem.f, m.layout, kernelsFor(m.kernels, mem), stats, trace, stop, waitOn, fault).run();
  }

  private outputLoop(m: WorkerInit, ctrl: Int32Array): void {
    const mem = viewMemory(m.memory, m.layout);
    const { f } = mem;
    const kern = kernelsFor(m.kernels, mem);
    const stats = statsView(mem.buffer);
    const d = m.data!;
    const data = { x: featuresView(d.x, d.xType), y: new Float64Array(d.y), features: d.features, outputs: d.outputs };
    const order = new Int32Array(d.order);
    const out = new Float64Array(d.results, 0, d.n * d.totalOutputs);
    const err = new Float64Array(d.results, d.n * d.totalOutputs * 8, d.n * d.totalOutputs);
    const stop = (): boolean => Atomics.load(ctrl, SLOT.STOP) !== 0;
    let e = Atomics.load(ctrl, SLOT.UPD + m.group) + 1;
    for (;;) {
      let t0 = performance.now();
      const ok = waitAtLeast(ctrl, SLOT.EPOCH, e, m.spinUs, SLICE_MS, stop);
      stats.addWait(m.group, performance.now() - t0);
      if (!ok) return;
      this.maybeFault(m, e);
      t0 = performance.now();
      const epoch = e;
      runNets(kern, f, m.layout, m.lo, m.hi, data, order, Atomics.load(ctrl, SLOT.EPOCH_SAMPLES), Atomics.load(ctrl, SLOT.EPOCH_MODE) === 1,
        m.u0, m.u1, m.kanekoRule, out, err, d.totalOutputs, () => Atomics.load(ctrl, SLOT.EPOCH_ABORT) === epoch);
      stats.addBusy(m.group, performance.now() - t0);
      publish(ctrl, SLOT.UPD + m.group, e);
      e++;
    }
  }
}

expose(new WorkerHost(), nodeEndpoint(parentPort!));
