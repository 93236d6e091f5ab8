/**
 * Evaluation over slices of a dataset on a piscina pool: stateless jobs that read the shared
 * weights in place. Slice k runs on activation slot k of the shared memory (evaluation runs between
 * epochs, when no training batch uses any slot), so no weight is copied; each returns its tally.
 */
import { Piscina } from 'piscina';
import type { Samples } from '../engine/engine.js';
import { emptyTally, type EpochTally } from '../engine/executor.js';
import type { Layout, Memory } from '../engine/layout.js';
import type { ModelConfig } from '../options.js';
import type { Calibration } from '../model-io.js';
import { type SharedSamples, shareSamples } from './protocol.js';

/** One evaluation job (structured-clonable; the memory and data buffers are shared, not copied). */
export interface EvalTask {
  memory: WebAssembly.Memory;
  layout: Layout;
  config: ModelConfig;
  data: SharedSamples;
  start: number;
  end: number;
  /** The activation slot this slice runs on. */
  slot: number;
  /** Answers compare calibrated outputs (Executor.evaluate). */
  cal?: Calibration;
}

const EVAL_URL = new URL('../../workers/eval.worker.js', import.meta.url);

export class EvalPool {
  private readonly pool: Piscina<EvalTask, EpochTally>;
  private readonly shared = new WeakMap<object, SharedSamples>();

  constructor(readonly threads: number) {
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    this.pool = new Piscina<EvalTask, EpochTally>({ filename: EVAL_URL.href, minThreads: threads, maxThreads: threads, idleTimeout: 60000, execArgv });
  }

  /** Splits the data into one slice per thread and sums the slices' tallies. */
  async evaluate(mem: Memory, layout: Layout, config: ModelConfig, data: Samples & { labels: Int32Array }, cal?: Calibration): Promise<EpochTally> {
    let s = this.shared.get(data);
    if (!s) this.shared.set(data, (s = shareSamples(data, mem.f instanceof Float32Array)));
    const n = data.labels.length;
    const per = Math.ceil(n / Math.min(this.threads, layout.slots.length));
    const jobs: Promise<EpochTally>[] = [];
    for (let start = 0, slot = 0; start < n; start += per, slot++) {
      jobs.push(this.pool.run({ memory: mem.wasm, layout, config, data: s, start, end: Math.min(n, start + per), slot, ...(cal ? { cal } : {}) }));
    }
    const total = emptyTally();
    for (const t of await Promise.all(jobs)) {
      total.errSum += t.errSum;
      total.wrong += t.wrong;
      total.correct += t.correct;
      total.samples += t.samples;
    }
    return total;
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
