/**
 * A piscina task: evaluate one slice of a dataset with the shared weights, in private scratch memory.
 * The only other code that runs in a worker thread (besides ed.worker.ts); stateless.
 */
import type { EvalTask } from '../src/eval-pool.js';
import { SerialExecutor } from '../src/executor.js';
import { allocateMemory, computeLayout, viewMemory } from '../src/layout.js';
import { readWeights, writeWeights } from '../src/weights.js';

export default async function evaluateSlice(t: EvalTask): Promise<import('../src/executor.js').EpochTally> {
  const shared = viewMemory(t.memory, t.layout);
  const own = computeLayout(t.config, t.layout.batch, 1);
  const mem = allocateMemory(own, t.config.beta);
  writeWeights(mem.f, own, readWeights(shared.f, t.layout));
  const x = new Float64Array(t.x, t.start * t.features * 8, (t.end - t.start) * t.features);
  const y = new Float64Array(t.y, t.start * t.outputs * 8, (t.end - t.start) * t.outputs);
  const labels = new Int32Array(t.labels, t.start * 4, t.end - t.start);
  return new SerialExecutor(mem, own, t.config).evaluate({ x, y, features: t.features, outputs: t.outputs, labels });
}
