/**
 * A piscina task: evaluate one slice of a dataset with the shared weights, in private scratch memory.
 * The only other code that runs in a worker thread (besides ed.worker.ts); stateless.
 */
import type { EvalTask } from '../src/eval-pool.js';
import { detachedSerial } from '../src/executor.js';
import { viewMemory } from '../src/layout.js';
import { readWeights } from '../src/weights.js';

export default async function evaluateSlice(t: EvalTask): Promise<import('../src/executor.js').EpochTally> {
  const weights = readWeights(viewMemory(t.memory, t.layout).f, t.layout);
  const x = new Float64Array(t.x, t.start * t.features * 8, (t.end - t.start) * t.features);
  const y = new Float64Array(t.y, t.start * t.outputs * 8, (t.end - t.start) * t.outputs);
  const labels = new Int32Array(t.labels, t.start * 4, t.end - t.start);
  return detachedSerial(t.config, t.layout.batch, weights).evaluate({ x, features: t.features, y, outputs: t.outputs, labels });
}
