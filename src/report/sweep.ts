/** Many seeds, one network each, trained until Kaneko's stop rule: how many converge, and how fast. */
import type { Dataset } from '../data/data.js';
import { summarize } from './stats.js';
import { createTrainer, type TrainerOptions } from '../trainer.js';

export interface SweepResult {
  runs: number;
  converged: number;
  meanEpochs: number;
  medianEpochs: number;
  minEpochs: number;
  maxEpochs: number;
  epochsBySeed: { seed: number; epochs: number; converged: boolean }[];
}

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
