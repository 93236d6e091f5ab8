/** Many seeds, one network each, trained until Kaneko's stop rule: how many converge, and how fast. */
import type { Dataset } from '../data/data.js';
import { summarize } from './stats.js';
import { createTrainer, type TrainerOptions } from '../trainer.js';

/** How many seeds converged under Kaneko's stop rule, and how fast. */
export interface SweepResult {
  /** Seeds run. */
  runs: number;
  /** Runs that reached the stop rule. */
  converged: number;
  /** Mean epochs to converge, over the converged runs. */
  meanEpochs: number;
  /** Median epochs to converge. */
  medianEpochs: number;
  /** Fewest epochs to converge. */
  minEpochs: number;
  /** Most epochs to converge. */
  maxEpochs: number;
  /** Per seed: epochs run and whether it converged. */
  epochsBySeed: {
    /** The run's seed. */
    seed: number;
    /** Epochs it ran. */
    epochs: number;
    /** Whether it reached the stop rule. */
    converged: boolean;
  }[];
}

/** Trains one network per seed on `data` (seed by seed, on this thread and its workers) and tallies convergence. */
export async function sweep(data: Dataset, seeds: number[], opts: TrainerOptions, onSeed?: (done: number) => void): Promise<SweepResult> {
  const bySeed: SweepResult['epochsBySeed'] = [];
  for (const seed of seeds) {
    const trainer = await createTrainer({ ...opts, train: { ...opts.train, seed } });
    try {
      const h = await trainer.fit(data);
      bySeed.push({ seed, epochs: h.epochs.length, converged: h.converged });
    } finally {
      await trainer.close();
    }
    onSeed?.(bySeed.length);
  }
  const s = summarize(bySeed.filter((r) => r.converged).map((r) => r.epochs));
  return {
    runs: seeds.length, converged: s.n, meanEpochs: s.mean, medianEpochs: s.median, minEpochs: s.min, maxEpochs: s.max,
    epochsBySeed: bySeed,
  };
}
