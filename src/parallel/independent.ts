/**
 * The machine's ceiling for P threads (`scale --ceiling`, bench:samples): P serial trainers, each in
 * a worker thread of its own with its own model, train one epoch each at the same moment, sharing
 * nothing but the (read-only) training data. P x (one serial epoch's samples) / (the wall time of
 * all P) is the most any exact strategy could reach on P threads of this machine: what it falls
 * short of P is the machine (cores sharing caches, memory bandwidth, clocks, a host), not a strategy.
 */
import { Worker } from 'node:worker_threads';
import type { Dataset } from '../data/data.js';
import { EdsimError } from '../errors.js';
import type { TrainerOptions } from '../trainer.js';
import { samplesView, type SharedSamples, shareSamples } from './protocol.js';

/** What a worker of the crew is handed. */
export interface IndependentInit {
  options: TrainerOptions;
  data: SharedSamples;
  classes: number[];
  warmup: number;
}

/** The data set a worker trains on (views of the shared copy). */
export function trainingDataView(init: IndependentInit): Dataset {
  return { ...samplesView(init.data), n: init.data.n, classes: init.classes };
}

export class IndependentCrew {
  private constructor(private readonly workers: Worker[], private readonly timeoutMs: number) {}

  /**
   * Starts `p` workers, each building a serial trainer of `options` on `data` and training `warmup`
   * epochs. `f32` shares the features as float32 (what a float32 model holds), else as they are.
   */
  static async start(p: number, options: TrainerOptions, data: Dataset, warmup: number, f32: boolean, timeoutMs = 600_000): Promise<IndependentCrew> {
    const init: IndependentInit = { options: { ...options, strategy: 'serial', workers: 1 }, data: shareSamples(data, f32), classes: data.classes, warmup };
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const workers = Array.from({ length: p }, () => new Worker(new URL('../../workers/independent.worker.js', import.meta.url), { workerData: init, execArgv }));
    const crew = new IndependentCrew(workers, timeoutMs);
    try {
      await Promise.all(workers.map((w) => crew.reply(w)));
    } catch (e) {
      await crew.close();
      throw e;
    }
    return crew;
  }

  /** Seconds from starting every worker's epoch to the last one's end. */
  async epoch(): Promise<number> {
    const t0 = performance.now();
    const done = this.workers.map((w) => this.reply(w));
    for (const w of this.workers) w.postMessage('epoch');
    await Promise.all(done);
    return (performance.now() - t0) / 1000;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** The worker's next message, or its error; bounded, so that a stuck worker cannot hang a run. */
  private reply(w: Worker): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const done = (f: () => void): void => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        f();
      };
      const timer = setTimeout(() => done(() => reject(new EdsimError(`an independent serial trainer did not answer in ${this.timeoutMs / 1000} s`))), this.timeoutMs);
      const onMessage = (m: unknown): void => done(() => resolve(m));
      const onError = (e: Error): void => done(() => reject(new EdsimError(`an independent serial trainer failed: ${e.message}`)));
      const onExit = (code: number): void => done(() => reject(new EdsimError(`an independent serial trainer exited (code ${code})`)));
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
    });
  }
}
