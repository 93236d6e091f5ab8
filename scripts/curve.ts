/**
 * Test accuracy after every epoch of one training run, to choose epoch counts and compare designs:
 *   node dist/scripts/curve.js --data fashion-mnist --preset fashion10 --epochs 30 --workers 2 --model '{"hidden":[256]}' --label x
 * Model and training overrides are JSON (ModelConfig / TrainConfig fields); appends one JSON line per
 * epoch to results/curves.jsonl and prints it. `--holdout 0.1` trains on the first 90 % of the
 * training split and also reports accuracy on the last 10 % (a validation split).
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadDataset, parseClasses, sliceDataset } from '../src/data/data.js';
import type { PresetName } from '../src/options.js';
import { createTrainer } from '../src/trainer.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: 'mnist' }, classes: { type: 'string', default: '0-9' }, preset: { type: 'string', default: 'mnist10' },
    epochs: { type: 'string', default: '20' }, workers: { type: 'string', default: '1' }, seed: { type: 'string', default: '1' },
    model: { type: 'string', default: '{}' }, train: { type: 'string', default: '{}' }, label: { type: 'string', default: '' },
    holdout: { type: 'string', default: '0' },
  },
});
const loaded = await loadDataset(values.data, { classes: parseClasses(values.classes) });
// --holdout F trains on the first (1 - F) of the training split and reports accuracy on the rest too,
// so settings can be chosen without looking at the test split.
const holdout = Number(values.holdout);
const cut = Math.round(loaded.train.n * (1 - holdout));
const data = { train: sliceDataset(loaded.train, 0, cut), validation: holdout > 0 ? sliceDataset(loaded.train, cut, loaded.train.n) : undefined, test: loaded.test };
const model = JSON.parse(values.model) as object;
const train = JSON.parse(values.train) as object;
const trainer = await createTrainer({
  preset: values.preset as PresetName, model, train: { ...train, seed: Number(values.seed) }, workers: Number(values.workers),
});
const t0 = performance.now();
try {
  for (let e = 1; e <= Number(values.epochs); e++) {
    const h = await trainer.fit(data.train, { epochs: 1 });
    const ev = await trainer.evaluate(data.test);
    const val = data.validation ? await trainer.evaluate(data.validation) : undefined;
    const line = {
      label: values.label, data: values.data, preset: values.preset, model, train, seed: Number(values.seed), workers: Number(values.workers),
      epoch: e, trainSamples: data.train.n, trainAccuracy: h.epochs[0]!.trainAccuracy,
      ...(val ? { validationSamples: val.samples, validationAccuracy: val.accuracy } : {}), testAccuracy: ev.accuracy, trainSeconds: h.epochs[0]!.seconds,
      wallSeconds: (performance.now() - t0) / 1000,
    };
    appendFileSync('results/curves.jsonl', `${JSON.stringify(line)}\n`);
    console.log(JSON.stringify(line));
  }
} finally {
  await trainer.close();
}
