/**
 * One training run of a sweep, as a row: the unit a sweep runs locally or sends through the job
 * queue. Training is deterministic per seed, so a run gives the same row wherever it runs (but
 * its machine and time).
 */
import { createHash } from 'node:crypto';
import type { SweepResult } from '../report/sweep.js';
import { availableParallelism, cpus, hostname } from 'node:os';
import { type Dataset, loadDataset, type LoadOptions } from '../data/data.js';
import { summarize } from '../report/stats.js';
import { createTrainer, type TrainerOptions } from '../trainer.js';

/** Everything a run needs, JSON-clonable: where the data comes from, the trainer options, the seed. */
export interface RunSpec {
  /** Data set name, as loadDataset takes it. */
  data: string;
  /** Classes, limit and shifts to load. */
  dataOptions: LoadOptions;
  /** Trainer options (preset, model, train). */
  options: TrainerOptions;
  /** The run's seed (overrides options.train.seed). */
  seed: number;
}

/** One finished run, as a CSV row. */
export interface RunRow {
  /** The run's seed. */
  seed: number;
  /** Epochs run. */
  epochs: number;
  /** Whether it met the stop rule. */
  converged: boolean;
  /** The last epoch's error sum. */
  final_err_sum: number;
  /** Test accuracy. */
  test_accuracy: number;
  /** Wall seconds of training. */
  seconds: number;
  /** The machine that ran it. */
  host: string;
  /** Its CPU. */
  cpu_model: string;
  /** Its available cores. */
  cores: number;
}

export const ROW_COLUMNS: (keyof RunRow)[] = ['seed', 'epochs', 'converged', 'final_err_sum', 'test_accuracy', 'seconds', 'host', 'cpu_model', 'cores'];

/** A job id from the run's configuration: submitting the same sweep twice names the same jobs. */
export function runId(spec: RunSpec): string {
  return createHash('sha256').update(JSON.stringify([spec.data, spec.dataOptions, spec.options, spec.seed])).digest('hex').slice(0, 32);
}

export async function runOne(spec: RunSpec, loaded?: { train: Dataset; test: Dataset }): Promise<RunRow> {
  const data = loaded ?? (await loadDataset(spec.data, spec.dataOptions));
  const t0 = performance.now();
  const trainer = await createTrainer({ ...spec.options, train: { ...spec.options.train, seed: spec.seed } });
  try {
    const h = await trainer.fit(data.train);
    const { accuracy } = await trainer.evaluate(data.test);
    return {
      seed: spec.seed, epochs: h.epochs.length, converged: h.converged, final_err_sum: h.epochs.at(-1)?.errSum ?? NaN, test_accuracy: accuracy,
      seconds: (performance.now() - t0) / 1000, host: hostname(), cpu_model: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(),
    };
  } finally {
    await trainer.close();
  }
}

/** A sweep's summary: how many runs converged and in how many epochs, and the test accuracy. */
export interface SweepSummary extends Omit<SweepResult, 'epochsBySeed'> {
  /** Mean test accuracy over all runs. */
  meanTestAccuracy: number;
  /** Median test accuracy. */
  medianTestAccuracy: number;
}

/** A sweep's summary: how many runs converged and in how many epochs, and the test accuracy. */
export function summarizeRuns(rows: RunRow[]): SweepSummary {
  const e = summarize(rows.filter((r) => r.converged).map((r) => r.epochs));
  const a = summarize(rows.map((r) => r.test_accuracy));
  return { runs: rows.length, converged: e.n, meanEpochs: e.mean, medianEpochs: e.median, minEpochs: e.min, maxEpochs: e.max, meanTestAccuracy: a.mean, medianTestAccuracy: a.median };
}
