import type { Executor, StrategyName } from './executor.js';
import type { Layout, Memory } from './layout.js';
import type { ModelConfig } from './options.js';
export const MAX_WORKERS = 64;
export async function createParallelExecutor(s: StrategyName, w: number, m: Memory, l: Layout, c: ModelConfig): Promise<Executor> {
  throw new Error(`strategy ${s} ${w} ${m.f.length} ${l.batch} ${c.inputs} not built yet`);
}
