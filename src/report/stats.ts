/**
 * Summary statistics for reports (mathjs: well-tested, and never on a hot path). mathjs takes about
 * 0.6 s to load, so it is loaded on the first summary, not when the CLI starts: a command that
 * fails on its arguments answers at once.
 */
import { createRequire } from 'node:module';

type MathStats = Pick<typeof import('mathjs'), 'mean' | 'median' | 'min' | 'max'>;
let math: MathStats | undefined;

export interface Summary {
  n: number;
  mean: number;
  median: number;
  min: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) return { n: 0, mean: NaN, median: NaN, min: NaN, max: NaN };
  math ??= createRequire(import.meta.url)('mathjs') as MathStats;
  const { mean, median, min, max } = math;
  return {
    n: values.length,
    mean: mean(values) as number,
    median: median(values) as number,
    min: min(values) as number,
    max: max(values) as number,
  };
}
