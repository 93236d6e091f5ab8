/** Summary statistics for reports (mathjs: well-tested, and never on a hot path). */
import { mean, median, min, max } from 'mathjs';

export interface Summary {
  n: number;
  mean: number;
  median: number;
  min: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) return { n: 0, mean: NaN, median: NaN, min: NaN, max: NaN };
  return {
    n: values.length,
    mean: mean(values) as number,
    median: median(values) as number,
    min: min(values) as number,
    max: max(values) as number,
  };
}
