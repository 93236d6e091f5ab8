/**
 * Why shuffled Fashion-MNIST runs fall on some epochs (issue 21): trains one `fashion10`-shaped net
 * per class (512 cells, rate 0.15, decay 0.1, 0.5 sqrt(v) coding, one member) on the search's fit
 * split, shuffled, and after every epoch prints, on the validation split (the last 10 % of the
 * training split, as scripts/search-accuracy.ts holds it out), how often each class is answered,
 * each class's recall, each class net's mean output and how many samples it puts above 0.5.
 * A fall that is one class's net answering "mine" for many samples shows as one large count.
 *
 *   SEED=4 EPOCHS=13 node dist/scripts/class-drift.js >> results/class-drift.jsonl
 */
import { loadDataset, sliceDataset } from '../src/data/data.js';
import { codeInputs } from '../src/data/coding.js';
import { createTrainer } from '../src/trainer.js';

const seed = Number(process.env.SEED ?? 1);
const epochs = Number(process.env.EPOCHS ?? 12);
const d = (await loadDataset('fashion-mnist', {})).train;
const cut = Math.round(d.n * 0.9);
// The search's coding, applied to the data (the script turns the preset's own off), so rows match its seeds.
const coded = <T extends { x: Float64Array | Float32Array }>(s: T): T => ({ ...s, x: codeInputs(s.x, { power: 0.5, scale: 0.5 }) });
const fit = coded(sliceDataset(d, 0, cut));
const held = coded(sliceDataset(d, cut, d.n));
const t = await createTrainer({ preset: 'fashion10', model: { ensemble: 1, inputPower: undefined, inputScale: undefined, inputOnOff: undefined, calibrate: undefined }, train: { shuffle: true, seed }, workers: 2 });
try {
  for (let e = 1; e <= epochs; e++) {
    const h = await t.fit(fit, { epochs: 1 });
    const o = t.predict(held);
    const k = held.outputs;
    const answered = new Array<number>(k).fill(0);
    const right = new Array<number>(k).fill(0);
    const total = new Array<number>(k).fill(0);
    const mean = new Array<number>(k).fill(0);
    const above = new Array<number>(k).fill(0);
    for (let s = 0; s < held.n; s++) {
      let best = 0;
      for (let c = 0; c < k; c++) {
        const v = o[s * k + c]!;
        mean[c]! += v / held.n;
        if (v > 0.5) above[c]!++;
        if (v > o[s * k + best]!) best = c;
      }
      answered[best]!++;
      total[held.labels[s]!]!++;
      if (best === held.labels[s]) right[best]!++;
    }
    const round = (v: number, p: number): number => Number(v.toFixed(p));
    console.log(JSON.stringify({
      data: 'fashion-mnist', seed, epoch: e, validation: round(right.reduce((a, b) => a + b, 0) / held.n, 4), trainAccuracy: round(h.epochs.at(-1)!.trainAccuracy, 4),
      answered, recall: right.map((r, c) => round(r / total[c]!, 3)), meanOutput: mean.map((m) => round(m, 3)), aboveHalf: above,
    }));
  }
} finally {
  await t.close();
}
