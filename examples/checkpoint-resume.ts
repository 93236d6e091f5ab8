/**
 * Checkpoint, stop, resume and predict: a run stopped after two epochs (as a killed process would
 * be) goes on from its checkpoint in a fresh trainer and ends with the very weights of a run
 * never stopped; then the model predicts a few test digits.
 *
 *   node checkpoint-resume.js [dir]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTrainer, loadDataset, loadTrainer, type TrainerOptions } from 'edsim';

const dir = process.argv[2] ?? '.';
const data = await loadDataset('mnist', { classes: [0, 1], limit: 800 });
const options: TrainerOptions = { preset: 'bench-wide', model: { hidden: [128, 128] }, train: { epochs: 4 }, strategy: 'cells', workers: 2 };

// The whole run, for comparison.
const whole = await createTrainer(options);
await whole.fit(data.train);
await whole.save(join(dir, 'whole.edsim'));
await whole.close();

// The same run, stopped after two epochs with a checkpoint...
const first = await createTrainer(options);
await first.fit(data.train, { epochs: 2, checkpoint: join(dir, 'run.ckpt') });
await first.close();
// ...and resumed in a fresh trainer (a new process would do the same) on one thread.
const second = await createTrainer({ ...options, strategy: 'serial', workers: 1 });
const history = await second.fit(data.train, { resume: join(dir, 'run.ckpt') });
await second.save(join(dir, 'resumed.edsim'));
await second.close();
const same = readFileSync(join(dir, 'whole.edsim')).equals(readFileSync(join(dir, 'resumed.edsim')));
console.log(`resumed at epoch ${history.resumedAt}, ended at ${history.epochs.length}; byte-identical to the run never stopped: ${same}`);

// Predict with the saved model: one output (class 1's score) per sample.
const model = await loadTrainer(join(dir, 'resumed.edsim'));
const first5 = { ...data.test, x: data.test.x.slice(0, 5 * data.test.features) };
const scores = model.predict(first5);
await model.close();
console.log(JSON.stringify({ identical: same, labels: Array.from(data.test.labels.slice(0, 5)), scores: Array.from(scores, (v) => Number(v.toFixed(3))) }));
if (!same) process.exitCode = 1;
