/**
 * A piscina task: evaluate one slice of a dataset with the shared weights, read in place; the task's
 * activations live in its own slot of the shared memory; stateless. (The other worker threads run
 * ed.worker.ts, the strategies; contention.worker.ts and independent.worker.ts, measurements.)
 */
import type { EvalTask } from '../src/parallel/eval-pool.js';
import { slotSerial } from '../src/engine/executor.js';
import { viewMemory } from '../src/engine/layout.js';
import { samplesView } from '../src/parallel/protocol.js';

export default async function evaluateSlice(t: EvalTask): Promise<import('../src/engine/executor.js').EpochTally> {
  return slotSerial(viewMemory(t.memory, t.layout), t.layout, t.config, t.slot).evaluate(samplesView(t.data, t.start, t.end), t.cal);
}
