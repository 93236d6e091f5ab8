/**
 * Output coding for many classes (npm run study:codes): instead of one network per class, one
 * network per bit of a code word, each bit splitting the classes into two groups, so every
 * network's hidden cells serve several classes; a sample's class is the code word nearest to its
 * outputs (L1). Compares one-hot (Kaneko's independent nets), one-hot plus extra split bits, and
 * random balanced codes, on 10-class MNIST with the mnist10 preset's networks. Appends to
 * results/output-codes.jsonl.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Dataset, loadDataset } from '../src/data/data.js';
import { Rng } from '../src/engine/rng.js';
import { createTrainer } from '../src/trainer.js';

const { values } = parseArgs({ options: { bits: { type: 'string', default: '15' }, epochs: { type: 'string', default: '14' }, code: { type: 'string', default: 'random' }, seed: { type: 'string', default: '1' }, data: { type: 'string', default: 'mnist' } } });
const K = 10;

/** Random balanced codes (5 classes on each side of every bit), the draw with the largest minimum Hamming distance between classes. */
function randomCode(bits: number, seed: number): number[][] {
  const rng = new Rng(seed);
  let best: number[][] = [];
  let bestD = -1;
  for (let draw = 0; draw < 200; draw++) {
    const cols: number[][] = [];
    for (let b = 0; b < bits; b++) {
      const perm = Array.from({ length: K }, (_, k) => k);
      rng.shuffle(perm);
      const col = new Array<number>(K).fill(0);
      for (let k = 0; k < K / 2; k++) col[perm[k]!] = 1;
      cols.push(col);
    }
    const code = Array.from({ length: K }, (_, k) => cols.map((c) => c[k]!));
    let d = Infinity;
    for (let a = 0; a < K; a++) for (let b = a + 1; b < K; b++) d = Math.min(d, code[a]!.reduce((s, v, i) => s + (v !== code[b]![i] ? 1 : 0), 0));
    if (d > bestD) [best, bestD] = [code, d];
  }
  return best;
}

function oneHot(extra: number, seed: number): number[][] {
  const r = extra > 0 ? randomCode(extra, seed) : Array.from({ length: K }, () => []);
  return Array.from({ length: K }, (_, k) => [...Array.from({ length: K }, (_, j) => (j === k ? 1 : 0)), ...r[k]!]);
}

function recode(d: Dataset, code: number[][]): Dataset {
  const bits = code[0]!.length;
  const y = new Float64Array(d.n * bits);
  for (let s = 0; s < d.n; s++) y.set(code[d.labels[s]!]!, s * bits);
  return { ...d, outputs: bits, y };
}

const bits = Number(values.bits);
const seed = Number(values.seed);
const code = values.code === 'onehot' ? oneHot(bits - K, seed) : randomCode(bits, seed);
const data = await loadDataset(values.data, { classes: Array.from({ length: K }, (_, k) => k) });
const train = recode(data.train, code);
const test = recode(data.test, code);
const t = await createTrainer({ preset: 'mnist10', workers: 2, train: { epochs: Number(values.epochs), seed } });
const t0 = performance.now();
try {
  for (let e = 1; e <= Number(values.epochs); e++) {
    await t.fit(train, { epochs: 1 });
    const out = t.predict(test);
    let correct = 0;
    for (let s = 0; s < test.n; s++) {
      let best = -1, bestD = Infinity;
      for (let k = 0; k < K; k++) {
        let dist = 0;
        for (let b = 0; b < code[k]!.length; b++) dist += Math.abs(out[s * code[k]!.length + b]! - code[k]![b]!);
        if (dist < bestD) [best, bestD] = [k, dist];
      }
      if (best === test.labels[s]) correct++;
    }
    const line = { data: values.data, code: values.code, bits, seed, epoch: e, testAccuracy: correct / test.n, wallSeconds: (performance.now() - t0) / 1000 };
    console.log(JSON.stringify(line));
    appendFileSync('results/output-codes.jsonl', `${JSON.stringify(line)}\n`);
  }
} finally {
  await t.close();
}
