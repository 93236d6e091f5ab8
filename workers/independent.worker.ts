/**
 * One serial trainer of the machine's ceiling (src/parallel/independent.ts): builds its own model on
 * the shared training data, trains the warm-up epochs, says so, then trains one epoch per message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type IndependentInit, trainingDataView } from '../src/parallel/independent.js';
import { createTrainer } from '../src/trainer.js';

const init = workerData as IndependentInit;
const data = trainingDataView(init);
const trainer = await createTrainer(init.options);
if (init.warmup > 0) await trainer.fit(data, { epochs: init.warmup });
parentPort!.on('message', () => {
  void trainer.fit(data, { epochs: 1 }).then((r) => parentPort!.postMessage(r.epochs[0]!.seconds));
});
parentPort!.postMessage('ready');
