/**
 * A piscina task: evaluate one slice of a dataset with the shared weights, read in place; the task's
 * activations live in its own slot of the shared memory. The only other code that runs in a worker
 * thread (besides ed.worker.ts); stateless.
 */
import type { EvalTask } from '../src/parallel/eval-pool.js';
import { slotSerial } from '../src/engine/executor.js';
import { viewMemory } from '../src/engine/layout.js';

export default async function evaluateSlice(t: EvalTask): Promise<import('../src/engine/executor.js').EpochTally> {
  const x = new Float64Array(t.x, t.start * t.features * 8, (t.end - t.start) * t.features);
  const y = new Float64Array(t.y, t.start * t.outputs * 8, (t.end - t.start) * t.outputs);
  const labels = new Int32Array(t.labels, t.start * 4, t.end - t.start);
  return slotSerial(viewMemory(t.memory, t.layout), t.layout, t.config, t.slot).evaluate({ x, features: t.features, y, outputs: t.outputs, labels }, t.cal);
}
