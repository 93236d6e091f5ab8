import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadDataset } from '../src/data/data.js';
import { EdsimError } from '../src/errors.js';
import { createTrainer, type TrainerOptions } from '../src/trainer.js';
import { balanceGroups, cellRanges, cellSegments, liveShare, pipelineRanges } from '../src/parallel/partition.js';
import { layerRanges } from '../src/parallel/parallel.js';
import { LayerGroup } from '../src/engine/layer-group.js';
import { stageBatch } from '../src/engine/engine.js';
import { identityOrder } from '../src/engine/executor.js';
import { kernelsFor } from '../src/kernels/backend.js';
import { spinBudgetUs, waitAtLeast } from '../src/parallel/protocol.js';
import { nativeAddon } from '../src/kernels/native.js';
import { hangingWorkerRun, tempDir, trainedModelFile, withTimeout } from './helpers.js';

const dir = tempDir();
const mnist01 = await loadDataset('mnist', { classes: [0, 1], limit: 256 });
const mnist10 = await loadDataset('mnist', { limit: 200 });
const small: TrainerOptions = { preset: 'bench-wide', model: { hidden: [48, 16, 16, 8, 8] }, train: { epochs: 2, batch: 32 } };

const trainAndSave = (o: TrainerOptions, data = mnist01.train, name = `${o.strategy}-${o.workers}`): Promise<string> => trainedModelFile(o, data, dir, name);

test('layer strategy with 1-4 workers saves model files byte-identical to serial', withTimeout(120000, async () => {
  const serial = await trainAndSave({ ...small, strategy: 'serial' });
  for (const workers of [1, 2, 3, 4]) {
    const file = await trainAndSave({ ...small, strategy: 'layer', workers });
    assert.ok(file === serial, `layer with ${workers} workers differs from serial`);
  }
  // The same on the WebAssembly kernels (the default above is native where the addon built).
  const wasm = { ...small, model: { ...small.model, kernels: 'wasm' as const } };
  const wasmSerial = await trainAndSave({ ...wasm, strategy: 'serial' }, mnist01.train, 'wasm-serial');
  assert.ok(await trainAndSave({ ...wasm, strategy: 'layer', workers: 2 }, mnist01.train, 'wasm-layer') === wasmSerial, 'layer on wasm differs from serial');
}));

test('cells strategy with 2, 3 and 4 workers saves model files byte-identical to serial: paired mini-batch on every backend, Kaneko online', withTimeout(240000, async () => {
  const { parityData } = await import('../src/data/data.js');
  const paired = (kernels: 'native' | 'wasm' | 'js', precision: 'f32' | 'f64'): TrainerOptions =>
    ({ preset: 'bench-wide', model: { hidden: [66, 64, 50], kernels, precision }, train: { epochs: 2, batch: 32 } });
  const backends = [...(nativeAddon() ? [['native', 'f32'] as const] : []), ['wasm', 'f32'] as const, ['js', 'f64'] as const];
  for (const [kernels, precision] of backends) {
    const o = paired(kernels, precision);
    const serial = await trainAndSave({ ...o, strategy: 'serial' }, mnist01.train, `cells-serial-${kernels}`);
    for (const workers of kernels === 'js' ? [3] : [2, 3, 4]) {
      const file = await trainAndSave({ ...o, strategy: 'cells', workers }, mnist01.train, `cells-${kernels}-${workers}`);
      assert.ok(file === serial, `cells x${workers} on ${kernels} differs from serial`);
    }
  }
  // Tiny paired layers, some split between threads and some whole (fused into chains as in serial).
  const tiny: TrainerOptions = { preset: 'article', model: { hidden: [8, 8, 8, 8, 4, 4, 4] }, train: { epochs: 2, batch: 32 } };
  for (const kernels of backends.filter(([k]) => k !== 'js').map(([k]) => k)) {
    const o = { ...tiny, model: { ...tiny.model, kernels } };
    const serial = await trainAndSave({ ...o, strategy: 'serial' }, mnist01.train, `cells-tiny-serial-${kernels}`);
    for (const workers of [2, 3]) assert.ok(await trainAndSave({ ...o, strategy: 'cells', workers }, mnist01.train, `cells-tiny-${kernels}-${workers}`) === serial, `tiny layers, cells x${workers} on ${kernels}`);
  }
  // Kaneko's nets online: serial runs them net by net with the fused update-then-forward kernel,
  // cells sample by sample with the separate kernels; the same bits either way.
  const nets: TrainerOptions = { preset: 'mnist10', model: { hidden: [16] }, train: { epochs: 1, batch: 1 } };
  const netsSerial = await trainAndSave({ ...nets, strategy: 'serial' }, mnist10.train, 'cells-nets-serial');
  assert.ok(await trainAndSave({ ...nets, strategy: 'cells', workers: 2 }, mnist10.train, 'cells-nets-2') === netsSerial, 'online nets, cells x2 against serial');
  const parity4 = parityData(4);
  const online: TrainerOptions = { preset: 'kaneko', model: { hidden: [24] }, train: { epochs: 60 } };
  const serial = await trainAndSave({ ...online, strategy: 'serial' }, parity4, 'cells-kaneko-serial');
  for (const workers of [2, 3, 4]) {
    assert.ok(await trainAndSave({ ...online, strategy: 'cells', workers }, parity4, `cells-kaneko-${workers}`) === serial, `Kaneko online, cells x${workers}`);
  }
}));

test('evaluation on the piscina pool (slices over the shared weights) equals serial evaluation', withTimeout(60000, async () => {
  const full = await loadDataset('mnist', { classes: [0, 1] });
  for (const kernels of ['auto', 'wasm'] as const) {
    const o = { ...small, model: { ...small.model, kernels } };
    const a = await createTrainer({ ...o, strategy: 'serial' });
    const b = await createTrainer({ ...o, strategy: 'layer', workers: 2 });
    await a.fit(full.train, { epochs: 1 });
    await b.fit(full.train, { epochs: 1 });
    assert.equal(await b.evaluate(full.train), await a.evaluate(full.train));
    assert.equal(await b.evaluate(full.test), await a.evaluate(full.test));
    await a.close();
    await b.close();
  }
}));

test('output strategy with 1-3 workers is byte-identical to serial (10 independent nets)', withTimeout(120000, async () => {
  const o: TrainerOptions = { preset: 'kaneko', model: { hidden: [6], faithfulExp: false }, train: { epochs: 2 } };
  const serial = await trainAndSave({ ...o, strategy: 'serial' }, mnist10.train, 'out-serial');
  for (const workers of [1, 2, 3]) {
    assert.ok(await trainAndSave({ ...o, strategy: 'output', workers }, mnist10.train, `out-${workers}`) === serial, `output with ${workers} workers differs`);
  }
}));

test('output strategy: an abort stops every thread within a net or a batch and rolls the epoch back; the next epoch is serial\'s', withTimeout(120000, async () => {
  const data = (await loadDataset('mnist', { limit: 2000 })).train;
  const o: TrainerOptions = { preset: 'mnist10', model: { hidden: [256], ensemble: 2 }, train: { epochs: 1 } };
  const a = await createTrainer({ ...o, strategy: 'serial' });
  const b = await createTrainer({ ...o, strategy: 'output', workers: 2 });
  try {
    await a.fit(data, { epochs: 2 });
    const whole = (await b.fit(data)).epochs[0]!.seconds;
    const before = b.weights();
    const ac = new AbortController();
    const t0 = performance.now();
    // A quarter into the epoch (its set-up, sharing the data with the workers, takes a few ms).
    setTimeout(() => ac.abort(), (whole * 1000) / 4);
    const h = await b.fit(data, { signal: ac.signal });
    const took = (performance.now() - t0) / 1000;
    assert.ok(h.aborted, `the fit was not aborted (a whole epoch took ${whole.toFixed(2)} s, this one ${took.toFixed(2)} s)`);
    assert.ok(took < whole * 0.75, `the aborted epoch took ${took.toFixed(2)} s, a whole one ${whole.toFixed(2)} s`);
    assert.equal(b.weights(), before);
    await b.fit(data);
    assert.equal(b.weights(), a.weights());
  } finally {
    await a.close();
    await b.close();
  }
}));

test('pipeline stays within a point of serial on MNIST 0/1 and is reproducible', withTimeout(120000, async () => {
  const full = await loadDataset('mnist', { classes: [0, 1] });
  const o: TrainerOptions = { preset: 'bench-wide', model: { hidden: [32, 16, 16, 8] }, train: { epochs: 2, batch: 64 } };
  const acc = async (x: TrainerOptions): Promise<number> => {
    const t = await createTrainer(x);
    await t.fit(full.train);
    const { accuracy } = await t.evaluate(full.test);
    await t.close();
    return accuracy;
  };
  const serial = await acc({ ...o, strategy: 'serial' });
  const pipe = await acc({ ...o, strategy: 'pipeline', workers: 2 });
  const again = await acc({ ...o, strategy: 'pipeline', workers: 2 });
  assert.ok(Math.abs(serial - pipe) <= 0.01, `serial ${serial}, pipeline ${pipe}`);
  assert.is(again, pipe);
}));

test('pipeline groups cut inside a layer equal a serial replay of the pipeline schedule, byte for byte, with 2 and 3 groups', withTimeout(120000, async () => {
  const backends = [...(nativeAddon() ? ['native' as const] : []), 'wasm' as const];
  // The cut falls in the first layer (it dominates), or in the last hidden layer.
  for (const hidden of [[192, 64, 64], [16, 512, 512]]) {
    for (const kernels of backends) {
      for (const workers of [2, 3]) {
        const o: TrainerOptions = { preset: 'bench-wide', model: { hidden, kernels }, train: { epochs: 1, batch: 32, shuffle: false }, strategy: 'pipeline', workers };
        const run = await createTrainer(o);
        const replay = await createTrainer(o);
        try {
          await run.fit(mnist01.train);
          await replay.build(mnist01.train.features, mnist01.train.outputs, undefined, mnist01.train);
          const { mem, layout, model } = replay;
          const kern = kernelsFor(model!.kernels, mem!);
        const ranges = layerRanges('pipeline', workers, model!, layout!, kern, mnist01.train);
          const nOut = layout!.nets[0]!.layers.map((l) => l.nOut);
          assert.ok(ranges.some((r, k) => r.some(([j0, j1]) => j0 > 0 && j1 <= nOut[k]! && j0 < j1)), `${hidden}: no cut inside a layer`);
          // Group g forwards batch t, then updates batch t - (G - 1 - g); the last group computes the
          // amine after its forward pass. Groups touch disjoint weights, so this order is the one.
          const G = ranges[0]!.length;
          const groups = ranges[0]!.map((_, g) => new LayerGroup(kern, mem!.f, layout!, cellSegments(ranges, g, (k) => nOut[k]!), model!.u0, model!.u1, model!.rule === 'kaneko', g === G - 1));
          const S = layout!.slots.length;
          const order = identityOrder(mnist01.train.n);
          const counts: number[] = [];
          for (let start = 0; start < order.length; start += 32) counts.push(Math.min(32, order.length - start));
          mem!.f[layout!.rate] = 1;
          for (let t = 0; t < counts.length + G - 1; t++) {
            if (t < counts.length) for (const net of layout!.slots[t % S]!) stageBatch(mem!.f, net, mnist01.train, order, t * 32, counts[t]!, kern);
            for (let g = 0; g < G; g++) {
              if (t < counts.length) groups[g]!.forward(t % S, counts[t]!);
              const u = t - (G - 1 - g);
              if (u >= 0 && u < counts.length) groups[g]!.update(u % S, counts[u]!);
            }
          }
          const bytes = (t: typeof run): Buffer => Buffer.from(t.mem!.f.buffer, t.mem!.f.byteOffset, t.layout!.weightFloats * t.mem!.f.BYTES_PER_ELEMENT);
          assert.ok(bytes(run).equals(bytes(replay)), `${hidden}, ${kernels}, ${workers} groups: the pipeline differs from its serial replay`);
        } finally {
          await run.close();
          await replay.close();
        }
      }
    }
  }
}));

for (const kind of ['throw', 'exit', 'hang'] as const) {
  test(`a worker that ${kind}s makes fit reject within 2 s, naming the group; the model can still be saved`, withTimeout(30000, async () => {
    const t = await createTrainer({ ...small, strategy: 'layer', workers: 3, parallel: { fault: { group: 2, kind, at: 5 }, stallMs: 1000 } });
    const t0 = performance.now();
    let err: unknown;
    try {
      await t.fit(mnist01.train);
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - t0;
    assert.instance(err, EdsimError);
    assert.match((err as Error).message, /^layer group 2 \(layers \d+-\d+\)/);
    assert.match((err as Error).message, kind === 'throw' ? /injected fault/ : kind === 'exit' ? /exit code 3/ : /stopped answering/);
    assert.ok(ms < 2000 + 500, `took ${ms} ms`);
    await t.save(join(dir, `after-${kind}.edsim`));
    await t.fit(mnist01.train).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /failed earlier/));
    await t.close();
  }));
}

test('output strategy: a failing worker is named too', withTimeout(30000, async () => {
  const t = await createTrainer({ preset: 'kaneko', model: { hidden: [4], faithfulExp: false }, train: { epochs: 3 }, strategy: 'output', workers: 2, parallel: { fault: { group: 1, kind: 'throw', at: 2 } } });
  await t.fit(mnist10.train).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /output group 1 \(nets 5-9\) failed: injected fault at 2/));
  await t.close();
}));

test('after a worker fault no thread is left behind: the process exits by itself', withTimeout(60000, async () => {
  const r = hangingWorkerRun('layer');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /rejected: layer group 1/);
}));

test('workers and strategies are validated', withTimeout(10000, async () => {
  await createTrainer({ strategy: 'layer', workers: 0 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /workers must be an integer from 1/));
  const t = await createTrainer({ preset: 'article', model: { hidden: [4] }, strategy: 'output', workers: 2 });
  await t.fit(mnist01.train).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /output strategy needs the kaneko topology/));
}));

test('groups are balanced by cost, not by layer count', () => {
  // One heavy layer and many tiny ones (the article's shape): the heavy layer gets a group of its own.
  const costs = [784 * 4, ...new Array(511).fill(16)];
  const b = balanceGroups(costs, 2);
  assert.equal(b.length, 3);
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
  const first = sum(costs.slice(0, b[1]));
  const second = sum(costs.slice(b[1]));
  assert.ok(Math.abs(first - second) <= 16, `${first} vs ${second}`);
  assert.ok(b[1]! < 256, 'an equal layer count would put 256 layers in each group');
  assert.equal(balanceGroups([5, 5, 5, 5], 2), [0, 2, 4]);
  assert.equal(balanceGroups([1, 1], 5), [0, 1, 2]);
});

test('pipeline cuts: every cell in exactly one group, in order, on multiples of 16, the output layer whole with the last group', () => {
  const nOut = [512, 512, 512, 512, 1];
  const costs = [1574, 1049, 1049, 1049, 2];
  for (const G of [2, 3, 4]) {
    const r = pipelineRanges(costs, nOut, G, 110)!;
    let prev = -1;
    for (let k = 0; k < nOut.length; k++) {
      let covered = 0;
      for (let g = 0; g < G; g++) {
        const [j0, j1] = r[k]![g]!;
        if (j0 === j1) continue;
        covered += j1 - j0;
        assert.ok(k * 1e4 + g > prev, 'groups in (layer, cell) order');
        prev = k * 1e4 + g;
        assert.is(j0 % 16, 0);
      }
      assert.is(covered, nOut[k]);
    }
    assert.equal(r[4]![G - 1], [0, 1]);
    const load = (g: number): number => r.reduce((a, x, k) => a + (costs[k]! * (x[g]![1] - x[g]![0])) / nOut[k]!, g === 0 ? 110 : 0);
    const loads = Array.from({ length: G }, (_, g) => load(g));
    assert.ok(Math.max(...loads) / Math.min(...loads) < 1.05, `balanced: ${loads}`);
  }
  // bench-wide, 2 groups: the first layer and about 0.7 of the second against the rest.
  assert.equal(pipelineRanges(costs, nOut, 2, 110)![1], [[0, 352], [352, 512]]);
  // Narrow layers are never cut: the cut snaps to a layer boundary; a group left empty gives null.
  assert.equal(pipelineRanges([12, 10, 10], [8, 8, 1], 2, 0), [[[0, 8], [8, 8]], [[8, 8], [0, 8]], [[1, 1], [0, 1]]]);
  assert.is(pipelineRanges([100, 1], [8, 1], 3, 0), null);
});

test('cells split: equal shares of the deeper layers, less of the first for the coordinator, on whole register tiles', () => {
  const hidden = [{ nIn: 1568, nOut: 512 }, { nIn: 512, nOut: 512 }, { nIn: 512, nOut: 512 }, { nIn: 512, nOut: 6 }];
  const out = { nIn: 6, nOut: 1 };
  // bench-wide's shape on 2 threads, 32-cell tiles, MNIST's live share of the first layer.
  const r = cellRanges(hidden, out, 128, 2, 120, 32, 0.49);
  assert.equal(r, [[[0, 224], [224, 512]], [[0, 256], [256, 512]], [[0, 256], [256, 512]], [[0, 6], [6, 6]]]);
  // A dense first layer costs more, so the coordinator's extra work is a smaller share of it.
  assert.equal(cellRanges(hidden, out, 128, 2, 120, 32, 1)[0], [[0, 256], [256, 512]]);
  for (const threads of [3, 4, 16]) {
    const x = cellRanges(hidden, out, 128, threads, 120, 32, 0.49);
    for (let k = 0; k < 3; k++) {
      assert.is(x[k]![0]![0], 0);
      assert.is(x[k]![threads - 1]![1], 512);
      for (let g = 0; g < threads; g++) {
        const [j0, j1] = x[k]![g]!;
        assert.ok(j0 % 32 === 0 && j1 % 32 === 0 && j0 <= j1 && (g === 0 || x[k]![g - 1]![1] === j0), `layer ${k} thread ${g}: ${j0}-${j1}`);
      }
    }
    assert.ok(x[0]![0]![1] - x[0]![0]![0] <= x[1]![0]![1] - x[1]![0]![0], 'the coordinator takes no more of the first layer than of the others');
  }
});

test('liveShare: the share of inputs nonzero somewhere in a block of rows', () => {
  // Feature 0 always zero, feature 1 nonzero in half the samples, feature 2 always nonzero.
  const x = [0, 1, 3, 0, 0, 3, 0, 1, 3, 0, 0, 3];
  assert.ok(Math.abs(liveShare(x, 3, 1) - (0 + 0.5 + 1) / 3) < 1e-12);
  assert.ok(Math.abs(liveShare(x, 3, 2) - (0 + 0.75 + 1) / 3) < 1e-12);
  assert.is(liveShare([], 3, 8), 1);
});

test('waits spin 200 us when every thread has a core, never when threads outnumber cores; EDSIM_SPIN_US overrides', () => {
  const saved = process.env.EDSIM_SPIN_US;
  delete process.env.EDSIM_SPIN_US;
  assert.is(spinBudgetUs(2, 2), 200);
  assert.is(spinBudgetUs(3, 2), 0);
  process.env.EDSIM_SPIN_US = '1500';
  assert.is(spinBudgetUs(3, 2), 1500);
  process.env.EDSIM_SPIN_US = 'lots';
  assert.is(spinBudgetUs(2, 2), 200, 'a bad value is ignored');
  if (saved === undefined) delete process.env.EDSIM_SPIN_US;
  else process.env.EDSIM_SPIN_US = saved;
  // The wait itself: done at once, after a spin that runs out (then sleeping slices), or given up.
  const ctrl = new Int32Array(new SharedArrayBuffer(8));
  ctrl[0] = 5;
  assert.ok(waitAtLeast(ctrl, 0, 5, 200, 1, () => false));
  const t0 = performance.now();
  let slices = 0;
  assert.not.ok(waitAtLeast(ctrl, 0, 6, 2000, 1, () => ++slices > 3));
  const ms = performance.now() - t0;
  assert.ok(ms >= 2 && ms < 1000, `spun 2 ms, then slept until given up: ${ms.toFixed(1)} ms`);
});

test.run();
