/**
 * Evaluation on the piscina pool reads the weights in place: peak RSS may not grow by anything near
 * a copy of the weights. Measured in a child process (uvu runs every suite in one process).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTrainer } from '../src/trainer.js';

async function child(): Promise<void> {
  const n = 512;
  const x = new Float64Array(n * 784).map((_, i) => ((i * 2654435761) % 1000) / 1000);
  const y = Float64Array.from({ length: n }, (_, i) => i % 2);
  const data = { n, features: 784, outputs: 1, x, y, labels: Int32Array.from({ length: n }, (_, i) => i % 2), classes: [0, 1] };
  const t = await createTrainer({ preset: 'bench-wide', model: { hidden: [3072, 3072] }, train: { batch: 64 }, strategy: 'layer', workers: 2 });
  await t.fit(data, { epochs: 1 });
  const weightBytes = t.layout!.weightFloats * t.layout!.elem;
  const before = process.resourceUsage().maxRSS * 1024;
  const serial = t.predict(data);
  const pooled = await t.evaluate(data);
  const after = process.resourceUsage().maxRSS * 1024;
  await t.close();
  console.log(JSON.stringify({ weightBytes, growth: after - before, accuracy: pooled.accuracy, predicted: serial.length }));
}

if (process.env.EDSIM_MEMORY_CHILD) {
  await child();
} else {
  test('evaluating with two pool threads adds less than one copy of the weights to peak RSS', () => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, EDSIM_MEMORY_CHILD: '1' }, encoding: 'utf8', timeout: 120000 });
    assert.is(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { weightBytes: number; growth: number; predicted: number };
    assert.ok(m.weightBytes > 40e6, `weights ${m.weightBytes} bytes`);
    assert.is(m.predicted, 512);
    assert.ok(m.growth < m.weightBytes, `peak RSS grew by ${(m.growth / 1e6).toFixed(1)} MB during evaluation; the weights are ${(m.weightBytes / 1e6).toFixed(1)} MB`);
  });
  test.run();
}
