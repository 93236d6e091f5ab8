/** Readings shared by the accuracy-search scripts (search-accuracy.ts, combine-outputs.ts). */

/** The index of the largest of the `k` values of `o` from `at` (the first on ties). */
export function argmaxRow(o: Float64Array, at: number, k: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (o[at + c]! > o[at + best]!) best = c;
  return best;
}

/** The share of rows of `out` (its length / labels' outputs a row) whose largest output is the labelled class. */
export function accuracy(out: Float64Array, d: { labels: ArrayLike<number> }): number {
  const n = d.labels.length;
  const k = out.length / n;
  let right = 0;
  for (let s = 0; s < n; s++) if (argmaxRow(out, s * k, k) === d.labels[s]) right++;
  return right / n;
}
