/**
 * K prototype images for the routed-experts screen (scripts/patches/routed-experts.patch): k-means
 * (Lloyd's, 20 rounds, started from images OFFSET, OFFSET + 997, OFFSET + 1994, ...; OFFSET 0 by default) on the first N training
 * images read through an input coding, labels unused. Writes K x features float64 values (little-endian)
 * and prints each cluster's size and class mix.
 *
 *   node dist/scripts/prototypes.js fashion-mnist 4 /tmp/protos4.bin   # N=12000 POWER=0.5 SCALE=0.5 by default
 */
import { writeFileSync } from 'node:fs';
import { codeInputs } from '../src/data/coding.js';
import { loadDataset } from '../src/data/data.js';

const [name = 'fashion-mnist', kArg = '4', out = 'prototypes.bin'] = process.argv.slice(2);
const K = Number(kArg);
const n = Number(process.env.N ?? 12000);
const train = (await loadDataset(name, {})).train;
const F = train.features;
const x = codeInputs(train.x.subarray(0, n * F), { power: Number(process.env.POWER ?? 0.5), scale: Number(process.env.SCALE ?? 0.5) });
const centre = new Float64Array(K * F);
const offset = Number(process.env.OFFSET ?? 0);
for (let k = 0; k < K; k++) centre.set(x.subarray((offset + k * 997) * F, (offset + k * 997 + 1) * F), k * F);
const cluster = new Int32Array(n);
const sizes = new Int32Array(K);
for (let round = 0; round < 20; round++) {
  for (let s = 0; s < n; s++) {
    let best = 0;
    let bestDistance = Infinity;
    for (let k = 0; k < K; k++) {
      let d = 0;
      for (let i = 0; i < F; i++) d += (x[s * F + i]! - centre[k * F + i]!) ** 2;
      if (d < bestDistance) [best, bestDistance] = [k, d];
    }
    cluster[s] = best;
  }
  centre.fill(0);
  sizes.fill(0);
  for (let s = 0; s < n; s++) {
    const k = cluster[s]!;
    sizes[k]!++;
    for (let i = 0; i < F; i++) centre[k * F + i]! += x[s * F + i]!;
  }
  for (let k = 0; k < K; k++) for (let i = 0; i < F; i++) centre[k * F + i]! /= Math.max(1, sizes[k]!);
}
const mix = Array.from({ length: K }, () => new Array<number>(train.classes.length).fill(0));
for (let s = 0; s < n; s++) mix[cluster[s]!]![train.labels[s]!]!++;
for (let k = 0; k < K; k++) console.log(`cluster ${k}: ${sizes[k]} images, by class ${mix[k]!.join(' ')}`);
writeFileSync(out, new Uint8Array(centre.buffer));
