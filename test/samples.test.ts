import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadDataset, parityData } from '../src/data/data.js';
import { createTrainer, type TrainerOptions } from '../src/trainer.js';
import { nativeAddon } from '../src/kernels/native.js';
import { itemsPerBatch, planSamples } from '../src/parallel/samples-plan.js';
import { claimItem, claimStart, SLOT } from '../src/parallel/protocol.js';
import { rowSlice } from '../src/engine/layout.js';
import { computeLayout } from '../src/engine/layout.js';
import { getPreset } from '../src/options.js';
import { hangingWorkerRun, tempDir, trainedModelFile, withTimeout } from './helpers.js';

const dir = tempDir();
const mnist01 = await loadDataset('mnist', { classes: [0, 1], limit: 256 });
const mnist10 = await loadDataset('mnist', { limit: 200 });
const backends = [...(nativeAddon() ? [['native', 'f32'] as const] : []), ['wasm', 'f32'] as const, ['js', 'f64'] as const];

const same = async (o: TrainerOptions, data: typeof mnist01.train, name: string, workers: number[]): Promise<void> => {
  const serial = await trainedModelFile({ ...o, strategy: 'serial' }, data, dir, `${name}-serial`);
  for (const w of workers) {
    const file = await trainedModelFile({ ...o, strategy: 'samples', workers: w }, data, dir, `${name}-${w}`);
    assert.ok(file === serial, `${name}: samples x${w} differs from serial`);
  }
};

test('samples: paired mini-batch, byte-identical to serial for 1-4 and 16 workers on every backend (16 oversubscribed)', withTimeout(240000, async () => {
  for (const [kernels, precision] of backends) {
    const o: TrainerOptions = { preset: 'bench-wide', model: { hidden: [66, 64, 50], kernels, precision }, train: { epochs: 2, batch: 32 } };
    await same(o, mnist01.train, `paired-${kernels}`, kernels === 'js' ? [3] : [1, 2, 3, 4, 16]);
  }
  // Tiny layers merged into one update item (the fused chains), and a last batch of 4 rows.
  const tiny: TrainerOptions = { preset: 'article', model: { hidden: [8, 8, 8, 8, 4, 4, 4] }, train: { epochs: 2, batch: 36 } };
  await same(tiny, mnist01.train, 'tiny', [2, 3]);
}));

test('samples: Kaneko\'s independent nets, mini-batch and online, and the columns topology, byte-identical to serial', withTimeout(240000, async () => {
  await same({ preset: 'mnist10', model: { hidden: [32] }, train: { epochs: 2, batch: 16 } }, mnist10.train, 'nets-batch', [2, 3, 16]);
  await same({ preset: 'mnist10', model: { hidden: [16] }, train: { epochs: 1, batch: 1 } }, mnist10.train, 'nets-online', [2, 4]);
  await same({ preset: 'kaneko', model: { hidden: [24] }, train: { epochs: 40 } }, parityData(4), 'kaneko-online-f64', [2, 3]);
  await same({ preset: 'mnist10', model: { topology: 'columns', hidden: [8] }, train: { epochs: 1, batch: 16 } }, mnist10.train, 'columns', [2, 3]);
}));

test('samples: evaluation equals serial evaluation; an aborted epoch rolls back; onBatch is refused in one line', withTimeout(60000, async () => {
  const o: TrainerOptions = { preset: 'bench-wide', model: { hidden: [64, 32] }, train: { epochs: 1, batch: 32 } };
  const a = await createTrainer({ ...o, strategy: 'serial' });
  const b = await createTrainer({ ...o, strategy: 'samples', workers: 2 });
  await a.fit(mnist01.train);
  await b.fit(mnist01.train);
  assert.equal(await b.evaluate(mnist01.test), await a.evaluate(mnist01.test));
  const before = b.weights();
  const ac = new AbortController();
  ac.abort();
  const h = await b.fit(mnist01.train, { signal: ac.signal });
  assert.ok(h.aborted);
  assert.equal(b.weights()[0]![0]!.w, before[0]![0]!.w);
  await b.fit(mnist01.train, { onBatch: () => undefined }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /samples strategy does not report single batches/));
  await a.close();
  await b.close();
}));

test('samples: a thread that falls behind in an evaluation delays the others, it does not corrupt them (the same rows of a slot, two batches apart)', withTimeout(60000, async () => {
  const o: TrainerOptions = { preset: 'bench-wide', model: { hidden: [64, 32] }, train: { epochs: 1, batch: 32 } };
  const a = await createTrainer({ ...o, strategy: 'serial' });
  // 8 training batches (t = 1..8), then the evaluation's batches t = 9..22: worker 1 holds its first
  // item of batch 10 or later for 300 ms while worker 0 runs ahead.
  const b = await createTrainer({ ...o, strategy: 'samples', workers: 2, parallel: { fault: { group: 1, kind: 'pause', at: 10 } } });
  await a.fit(mnist01.train);
  await b.fit(mnist01.train);
  assert.equal(await b.evaluate(mnist01.test), await a.evaluate(mnist01.test));
  await a.close();
  await b.close();
  // The same in training: a thread held up in the middle of an item of batch 3 changes no bit.
  const paused = await trainedModelFile({ ...o, train: { epochs: 2, batch: 32 }, strategy: 'samples', workers: 3, parallel: { fault: { group: 2, kind: 'pause', at: 3 } } }, mnist01.train, dir, 'paused');
  assert.ok(paused === await trainedModelFile({ ...o, train: { epochs: 2, batch: 32 }, strategy: 'serial' }, mnist01.train, dir, 'paused-serial'), 'a paused thread changed the model');
}));

test('samples: a worker that throws is named; one that hangs is caught by the stall watch and leaves no thread behind', withTimeout(60000, async () => {
  const t = await createTrainer({ preset: 'bench-wide', model: { hidden: [32, 16] }, train: { epochs: 3, batch: 16 }, strategy: 'samples', workers: 2, parallel: { fault: { group: 1, kind: 'throw', at: 4 } } });
  await t.fit(mnist01.train).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /samples thread 1 failed: injected fault at 4/));
  await t.close();
  const r = hangingWorkerRun('samples');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /rejected: the samples strategy's threads \(3\) stopped answering/);
}));

test('samples plan: chunks cover the batch on 8-row tiles, update items cover every cell once, layer-major; tiny layers merge', () => {
  const bench = getPreset('bench-wide').model;
  const layout = computeLayout({ ...bench, inputs: 784, outputs: 10 }, 128);
  const shapes = layout.nets[0]!.layers;
  for (const threads of [1, 2, 3, 4, 8, 16]) {
    const p = planSamples(shapes, 1, 128, threads, 32);
    assert.ok(p.rows % 8 === 0 && p.chunks * p.rows >= 128 && (p.chunks - 1) * p.rows < 128, `rows ${p.rows} x ${p.chunks}`);
    const covered = shapes.map((l) => new Uint8Array(l.nOut));
    let lastK = 0;
    for (const u of p.updates) {
      assert.ok(u.k0 >= lastK, 'layer-major');
      lastK = u.k0;
      for (let k = u.k0; k < u.k1; k++) {
        const [j0, j1] = u.range ?? [0, shapes[k]!.nOut];
        if (u.range) assert.ok(j0 % 32 === 0, `range ${j0}-${j1} not on the tile`);
        for (let j = j0; j < j1; j++) covered[k]![j]!++;
      }
    }
    assert.ok(covered.every((c) => c.every((v) => v === 1)), `threads ${threads}: a cell updated other than once`);
    assert.is(p.blocks.at(-1)!.k1, shapes.length);
    assert.is(itemsPerBatch(p, true), p.chunks + p.updates.length);
    assert.is(itemsPerBatch(p, false), p.chunks);
  }
  // The article's 512 layers of 4 cells: about threads x UPDATES_PER_THREAD whole-layer items.
  const tiny = planSamples(Array.from({ length: 512 }, () => ({ nIn: 4, nOut: 4 })), 1, 128, 2, 32);
  assert.ok(tiny.blocks.length <= 9 && tiny.updates.every((u) => u.range === null), `tiny layers merge into whole-layer items (${tiny.blocks.length})`);
  const online = planSamples(shapes, 3, 1, 4, 32);
  assert.is(online.rows, 1);
  assert.is(online.chunks, 1);
});

test('claims: items in order, none past the total, none once a newer stream has begun', () => {
  const ctrl = new Int32Array(new SharedArrayBuffer(4096));
  Atomics.store(ctrl, SLOT.CLAIM, claimStart(5));
  assert.equal([claimItem(ctrl, 5, 3), claimItem(ctrl, 5, 3), claimItem(ctrl, 5, 3), claimItem(ctrl, 5, 3)], [0, 1, 2, -1]);
  Atomics.store(ctrl, SLOT.CLAIM, claimStart(6));
  assert.is(claimItem(ctrl, 5, 3), -1, 'a thread of stream 5 takes nothing of stream 6');
  assert.is(claimItem(ctrl, 6, 3), 0);
});

test('rowSlice moves every per-sample region by whole rows and shares the weights', () => {
  const layout = computeLayout({ ...getPreset('bench-wide').model, hidden: [16, 8], inputs: 10, outputs: 3 }, 32);
  const net = layout.nets[0]!;
  const s = rowSlice(net, 8);
  assert.is(s.input, net.input + 8 * net.inputStride);
  assert.is(s.err, net.err + 8 * net.outputs);
  s.layers.forEach((l, k) => {
    assert.is(l.w, net.layers[k]!.w);
    assert.is(l.x, net.layers[k]!.x + 8 * net.layers[k]!.xStride);
    assert.is(l.y, net.layers[k]!.y + 8 * net.layers[k]!.yStride);
  });
});

test.run();
