/**
 * The scaling model's contention probe (measureContention in src/parallel/scaling-model.ts): this
 * thread runs one batch's forward pass and update through every net of its own private copy of a
 * model, or (ctl[4] = 1) the batch's forward pass as chunks of `chunkRows` rows through every layer
 * (the samples strategy's F items), once per round it takes part in, and records how long it took.
 * Rounds are announced on a shared control block: ctl[0] the round, ctl[1] how many probes take part
 * (the first ctl[1]), ctl[2] the probes done, ctl[3] 1 = leave, ctl[4] the kind. Every wait is
 * bounded by the leave flag, tested between slices.
 */
import { workerData } from 'node:worker_threads';
import { kernelsFor } from '../src/kernels/backend.js';
import { type Layout, rowSlice, viewMemory } from '../src/engine/layout.js';
import type { KernelChoice } from '../src/options.js';
import { waitAtLeast } from '../src/parallel/protocol.js';

export interface ContentionProbe {
  memory: WebAssembly.Memory;
  layout: Layout;
  kernels: KernelChoice;
  batch: number;
  /** Rows of one chunk of the forward pass (kind 1). */
  chunkRows: number;
  u0: number;
  kanekoRule: boolean;
  /** This probe's index among the probes. */
  index: number;
  ctl: Int32Array;
  /** Seconds per round, [round * probes + index]. */
  times: Float64Array;
  probes: number;
}

const p = workerData as ContentionProbe;
const mem = viewMemory(p.memory, p.layout);
const k = kernelsFor(p.kernels, mem);
const nets = p.layout.nets;
for (let round = 1; ; round++) {
  if (!waitAtLeast(p.ctl, 0, round, 0, 50, () => Atomics.load(p.ctl, 3) !== 0) || Atomics.load(p.ctl, 3) !== 0) break;
  if (p.index < Atomics.load(p.ctl, 1)) {
    const t0 = performance.now();
    const chunks = Atomics.load(p.ctl, 4) === 1;
    for (const net of nets) {
      const L = net.layers.length;
      if (chunks) {
        // As measureCosts times the F items: every chunk of the batch, each at its own rows.
        for (let r = 0; r < p.batch; r += p.chunkRows) k.forwardLayers(mem.f, rowSlice(net, r), 0, L, Math.min(p.chunkRows, p.batch - r), p.u0);
        continue;
      }
      k.forwardLayers(mem.f, net, 0, L, p.batch, p.u0);
      k.updateLayers(mem.f, net, 0, L, p.batch, p.kanekoRule);
    }
    p.times[(round - 1) * p.probes + p.index] = (performance.now() - t0) / 1000;
    Atomics.add(p.ctl, 2, 1);
    Atomics.notify(p.ctl, 2);
  }
}
