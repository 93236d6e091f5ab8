/**
 * Train in parallel and evaluate: bench-wide (four hidden layers of 512 cells) on MNIST 0/1 with
 * the `samples` strategy on two threads, byte-identical to training on one.
 *
 *   npx tsx examples/train-parallel.ts      (or compile with tsc and run the .js)
 */
import { createTrainer, loadDataset } from 'edsim';

const data = await loadDataset('mnist', { classes: [0, 1], limit: 1200 });
const trainer = await createTrainer({ preset: 'bench-wide', strategy: 'samples', workers: 2 });
try {
  const history = await trainer.fit(data.train, {
    epochs: 3,
    onEpoch: (e) => console.log(`epoch ${e.epoch}: ${e.wrong} wrong, ${Math.round(e.samplesPerSecond)} samples/s`),
  });
  const test = await trainer.evaluate(data.test);
  console.log(JSON.stringify({ epochs: history.epochs.length, testAccuracy: test.accuracy, strategy: trainer.strategy, workers: trainer.workers }));
} finally {
  await trainer.close();
}
