/**
 * The machine's ceiling for P threads: P serial trainers, each in a worker thread of its own with
 * its own model, train one epoch each at the same moment, with nothing shared and no hand-off
 * between them. P x (one serial epoch) / (the wall time of all P) is the most any exact strategy
 * could gain on P threads of this machine; what it falls short of P is the machine (cores sharing
 * caches, memory bandwidth, clocks or a host), not the strategy. bench-samples measures it in turn
 * with the strategies.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Dataset } from '../src/data/data.js';
import type { PresetName } from '../src/options.js';

/** What each worker builds: a serial trainer of a preset on MNIST classes. */
export interface CrewSpec {
  preset: PresetName;
  /** MNIST classes (undefined: all ten). */
  classes?: number[];
  shifted: boolean;
  /** Epochs each worker trains before it is ready (JIT, caches). */
  warmup: number;
}

export class IndependentCrew {
  private constructor(private readonly workers: Worker[]) {}

  /** Starts `p` workers, each loading the data and warming up its own serial trainer. */
  static async start(p: number, spec: CrewSpec): Promise<IndependentCrew> {
    const workers = Array.from({ length: p }, () => new Worker(new URL(import.meta.url), { workerData: spec }));
    await Promise.all(workers.map((w) => reply(w)));
    return new IndependentCrew(workers);
  }

  /** Seconds from starting every worker's epoch to the last one's end. */
  async epoch(): Promise<number> {
    const t0 = performance.now();
    const done = this.workers.map((w) => reply(w));
    for (const w of this.workers) w.postMessage('epoch');
    await Promise.all(done);
    return (performance.now() - t0) / 1000;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The worker's next message, or its error; bounded so that a stuck worker cannot hang a benchmark. */
function reply(w: Worker, ms = 600_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`an independent trainer did not answer in ${ms / 1000} s`)), ms);
    const done = (f: () => void): void => { clearTimeout(timer); w.off('message', onMessage); w.off('error', onError); f(); };
    const onMessage = (m: unknown): void => done(() => resolve(m));
    const onError = (e: Error): void => done(() => reject(e));
    w.on('message', onMessage);
    w.on('error', onError);
  });
}

if (!isMainThread) {
  const spec = workerData as CrewSpec;
  const { loadDataset } = await import('../src/data/data.js');
  const { createTrainer } = await import('../src/trainer.js');
  const data = await loadDataset('mnist', { ...(spec.classes ? { classes: spec.classes } : {}), shifted: spec.shifted });
  const train: Dataset = data.train;
  const trainer = await createTrainer({ preset: spec.preset, strategy: 'serial', workers: 1 });
  await trainer.fit(train, { epochs: spec.warmup });
  parentPort!.on('message', () => {
    void trainer.fit(train, { epochs: 1 }).then((r) => parentPort!.postMessage(r.epochs[0]!.seconds));
  });
  parentPort!.postMessage('ready');
}
