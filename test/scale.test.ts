import { test } from 'uvu';
import { nativeAddon } from '../src/kernels/native.js';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { chanceNote } from '../src/cli/cli-options.js';
import type { Topology } from '../src/options.js';
import { CSV_COLUMNS, formatTable, summarizeRows } from '../src/report/report.js';
import { loadModel } from '../src/model-io.js';
import { barrier, contentionAt, type MachineCosts, measureContention, predictBatchSeconds, straggle } from '../src/parallel/scaling-model.js';
import { createTrainer } from '../src/trainer.js';
import { parityData } from '../src/data/data.js';
import { CLI, lastJson, runCli, tempDir, withTimeout } from './helpers.js';

const dir = tempDir();

function parseCsv(text: string): string[][] {
  return text.trim().split('\n').map((l) => l.split(','));
}

test('scale writes the documented CSV schema, an SVG and a table', withTimeout(120000, async () => {
  const out = join(dir, 'scale.csv');
  const r = runCli(['scale', '--data', 'mirror:3', '--preset', 'kaneko', '--hidden', '8', '--strategies', 'serial,layer,pipeline,output', '--workers', '1,2', '--repeats', '2', '--out', out, '--json']);
  assert.is(r.code, 0, r.stderr);
  const rows = parseCsv(readFileSync(out, 'utf8'));
  assert.equal(rows[0], [...CSV_COLUMNS]);
  const body = rows.slice(1).map((cells) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, cells[i]!])));
  // serial x1, then layer, pipeline and output with 1 and 2 threads, 2 repeats each
  assert.is(body.length, 2 * 7);
  for (const row of body) {
    assert.ok(Number(row.epoch_seconds) > 0);
    assert.ok(Math.abs(Number(row.efficiency) - Number(row.speedup) / Number(row.workers)) < 1e-9);
    assert.ok(Number(row.test_accuracy) >= 0 && Number(row.test_accuracy) <= 1);
    assert.ok(Number(row.busy_fraction) > 0 && Number(row.busy_fraction) <= 1, `busy ${row.busy_fraction}`);
    assert.match(row.node_version!, /^v\d+/);
    assert.equal([row.precision, row.kernels], ['f64', 'js']); // the kaneko preset's engine
    assert.ok(Number(row.cores) >= 1);
    assert.is(row.kind, 'measured');
    assert.is(row.mode, 'strong');
    assert.is(row.oversubscribed, Number(row.workers) > availableParallelism() ? '1' : '0');
    assert.is(row.batches_per_epoch, '8'); // mirror:3 has 8 patterns, trained online
  }
  const serial = body.filter((b) => b.strategy === 'serial').map((b) => Number(b.speedup)).sort();
  assert.ok(Math.abs((serial[0]! + serial[1]!) / 2 - 1) < 1e-9, 'the serial median is the baseline');
  const svg = readFileSync(out.replace(/\.csv$/, '.svg'), 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /speedup/);
  const j = lastJson(r.stdout);
  assert.is(j.csv, out);
  assert.is((j.configurations as unknown[]).length, 7);
}));

test('scale --weak grows the batch with the threads (mode weak); oversubscribed rows are marked and short epochs warned about, one line each', withTimeout(120000, async () => {
  const out = join(dir, 'weak.csv');
  const threads = availableParallelism() + 1;
  const r = runCli(['scale', '--data', 'mnist', '--classes', '0,1', '--limit', '256', '--preset', 'bench-wide', '--hidden', '32,32', '--batch', '16', '--strategies', 'serial,samples',
    '--workers', `1,${threads}`, '--repeats', '1', '--weak', '--out', out, '--json']);
  assert.is(r.code, 0, r.stderr);
  const body = parseCsv(readFileSync(out, 'utf8')).slice(1).map((cells) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, cells[i]!])));
  assert.equal(body.map((b) => [b.strategy, b.workers, b.batch, b.mode, b.oversubscribed, b.batches_per_epoch]), [
    ['serial', '1', '16', 'weak', '0', '16'], ['samples', '1', '16', 'weak', '0', '16'], ['samples', String(threads), String(16 * threads), 'weak', '1', String(Math.ceil(256 / (16 * threads)))],
  ]);
  const warnings = r.stderr.trim().split('\n');
  assert.is(warnings.length, 2, r.stderr);
  assert.match(warnings[0]!, new RegExp(`^edsim: warning: up to ${threads} threads on ${availableParallelism()} available cores`));
  assert.match(warnings[1]!, new RegExp(`^edsim: warning: at ${threads} threads an epoch took [0-9.]+ s over \\d+ batches \\(under 0.5 s or 200 batches\\)`));
  assert.match(readFileSync(out.replace(/\.csv$/, '.svg'), 'utf8'), /weak scaling/);
}));

test('scale --ceiling adds rows of independent serial trainings at once at every thread count up to the cores; not over a queue', withTimeout(120000, async () => {
  const out = join(dir, 'ceiling.csv');
  const r = runCli(['scale', '--data', 'mnist', '--classes', '0,1', '--limit', '256', '--preset', 'bench-wide', '--hidden', '32,32', '--batch', '16', '--strategies', 'serial,cells',
    '--workers', `1,2,${availableParallelism() + 1}`, '--repeats', '2', '--ceiling', '--out', out, '--json']);
  assert.is(r.code, 0, r.stderr);
  const body = parseCsv(readFileSync(out, 'utf8')).slice(1).map((cells) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, cells[i]!])));
  const ceiling = body.filter((b) => b.kind === 'ceiling');
  assert.equal(ceiling.map((b) => [b.strategy, b.workers, b.repeat, b.batch]), availableParallelism() >= 2 ? [['serial', '2', '1', '16'], ['serial', '2', '2', '16']] : []);
  for (const b of ceiling) {
    assert.ok(Math.abs(Number(b.samples_per_second) * Number(b.epoch_seconds) - 2 * 256) < 1e-6, 'two epochs of 256 samples in the wall time');
    assert.ok(Number(b.speedup) > 0 && Math.abs(Number(b.efficiency) - Number(b.speedup) / 2) < 1e-12);
  }
  const json = lastJson(r.stdout) as { configurations: { kind: string }[] };
  assert.is(json.configurations.filter((c) => c.kind === 'ceiling').length, availableParallelism() >= 2 ? 1 : 0);
  assert.match(readFileSync(out.replace(/\.csv$/, '.svg'), 'utf8'), availableParallelism() >= 2 ? /ceiling \(serials at once\)/ : /speedup/);
  const lone = runCli(['scale', '--data', 'xor', '--strategies', 'serial', '--workers', '1', '--repeats', '1', '--ceiling', '--out', join(dir, 'lone.csv')]);
  assert.is(lone.code, 0, lone.stderr);
  assert.match(lone.stderr, /--ceiling: no thread count above 1 within the \d+ cores, so no ceiling was measured/);
  const queued = runCli(['scale', '--data', 'xor', '--ceiling', '--queue', 'redis://127.0.0.1:1']);
  assert.is(queued.code, 2);
  assert.match(queued.stderr, /--ceiling measures this machine: it does not go over a --queue/);
}));

test('a note where a paired network reads about chance on three or more classes, and only there', () => {
  const r = (name: string, accuracy: number, topology: Topology = 'paired') => ({ name, accuracy, topology });
  assert.match(chanceNote([r('bench-wide', 0.101), r('mnist10', 0.97, 'kaneko')], 10)!, /^test accuracy about chance for 10 classes \(bench-wide 10\.1 %\): the paired topology is one network for all outputs/);
  assert.match(chanceNote([r('article', 0.11), r('bench-wide', 0.1)], 10)!, /\(article 11\.0 %, bench-wide 10\.0 %\)/);
  assert.is(chanceNote([r('bench-wide', 0.4)], 2), undefined, 'two classes: the paired presets learn them');
  assert.is(chanceNote([r('bench-wide', 0.5)], 10), undefined, 'above chance');
  assert.is(chanceNote([r('mnist10', 0.1, 'kaneko')], 10), undefined, 'not a paired network');
});

test('the table\'s spread is each configuration\'s slowest epoch less its fastest over the median; none for one repeat or a prediction', () => {
  const row = (kind: string, strategy: string, workers: number, seconds: number) => ({ kind, preset: 'p', strategy, workers, epoch_seconds: seconds, samples_per_second: 1 / seconds, speedup: 1, efficiency: 1, test_accuracy: '', busy_fraction: '' });
  const rows = [row('measured', 'serial', 1, 2), row('measured', 'serial', 1, 2.5), row('measured', 'serial', 1, 3), row('measured', 'cells', 2, 1), row('predicted', 'cells', 4, 0.5)];
  const s = summarizeRows(rows as unknown as Parameters<typeof summarizeRows>[0]);
  assert.is(s.find((r) => r.strategy === 'serial')!.spread, (3 - 2) / 2.5);
  assert.ok(Number.isNaN(s.find((r) => r.strategy === 'cells' && r.workers === 2)!.spread));
  assert.ok(Number.isNaN(s.find((r) => r.kind === 'predicted')!.spread));
  const table = formatTable(s).split('\n');
  assert.match(table[0]!, /s\/epoch +spread +speedup/);
  assert.match(table[2]!, / 40 % /);
});

test('scale --predict adds predicted rows for every strategy at the measured and the predicted thread counts', withTimeout(120000, async () => {
  const out = join(dir, 'predict.csv');
  const r = runCli(['scale', '--data', 'mnist', '--classes', '0,1', '--limit', '256', '--preset', 'bench-wide', '--hidden', '64,64', '--strategies', 'serial,cells,layer,pipeline',
    '--workers', '1,2', '--predict', '4,16', '--repeats', '1', '--out', out, '--json']);
  assert.is(r.code, 0, r.stderr);
  const rows = parseCsv(readFileSync(out, 'utf8'));
  const body = rows.slice(1).map((cells) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, cells[i]!])));
  const predicted = body.filter((b) => b.kind === 'predicted');
  // serial at 1; cells, layer and pipeline at 1, 2, 4 and 16
  assert.is(predicted.length, 1 + 3 * 4);
  assert.is(body.filter((b) => b.kind === 'measured').length, 1 + 3 * 2);
  for (const p of predicted) {
    assert.ok(Number(p.samples_per_second) > 0);
    assert.ok(Math.abs(Number(p.epoch_seconds) * Number(p.samples_per_second) - 256) < 1e-6);
    assert.is(p.test_accuracy, '');
  }
  const at = (s: string, w: number): number => Number(predicted.find((p) => p.strategy === s && Number(p.workers) === w)!.samples_per_second);
  // From measured costs the curve's far end depends on this machine's spread (the straggler term):
  // only the near end is certain. The terms themselves are held to fixed costs below.
  assert.ok(at('cells', 4) > at('cells', 1), 'cells scales to 4 threads on 64-cell layers');
  assert.ok(Math.abs(at('serial', 1) - at('cells', 1)) < 1e-9 * at('serial', 1), 'one thread: every strategy is serial');
  assert.match(readFileSync(out.replace(/\.csv$/, '.svg'), 'utf8'), /predicted/);
  // --trace on scale: one trace per configuration
  const tr = runCli(['scale', '--data', 'xor', '--preset', 'article', '--hidden', '8', '--strategies', 'serial,cells', '--workers', '2', '--repeats', '1', '--out', join(dir, 't.csv'), '--trace', join(dir, 'tr'), '--json']);
  assert.is(tr.code, 0, tr.stderr);
  for (const name of ['tr-article-serial-x1.json', 'tr-article-cells-x2.json']) {
    const t = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { traceEvents: { ph: string; name: string }[] };
    assert.ok(t.traceEvents.some((e) => e.ph === 'X' && e.name === 'update'), name);
  }
  const bad = runCli(['scale', '--data', 'xor', '--predict', '0']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--predict must list integers/);
}));

test('the scaling model\'s terms on fixed costs: barriers, stragglers, cross-core reads', () => {
  const costs: MachineCosts = {
    batch: 128, forward: [2e-3, 1e-3, 1e-4], update: [2e-3, 1e-3, 1e-4], shapes: [{ nIn: 1568, nOut: 512 }, { nIn: 512, nOut: 512 }, { nIn: 512, nOut: 10 }],
    kernels: 'native', cellTile: 32, firstLive: 1, splittable: true, nets: 1, coordinator: 1e-4, handoff: 1e-6, atomic: 5e-8, jitter: 0,
    chunkForward: { 8: 3.2e-3 / 16, 16: 3.15e-3 / 8, 32: 3.1e-3 / 4, 64: 3.1e-3 / 2, 128: 3.1e-3 }, crossCore: 0, weightBytes: 4 * (1568 * 512 + 512 * 512 + 512 * 10),
  };
  assert.is(barrier(costs, 1), 1e-6);
  assert.ok(Math.abs(barrier(costs, 16) - (1e-6 + 15 * 5e-8)) < 1e-15, 'one atomic per arriving thread');
  assert.is(straggle(costs, 16), 0);
  assert.ok(Math.abs(straggle({ jitter: 0.05 }, 16) - 0.05 * Math.sqrt(2 * Math.log(16))) < 1e-12);
  assert.ok(straggle({ jitter: 0.05 }, 64) > straggle({ jitter: 0.05 }, 16), 'more threads, a slower slowest');
  const at = (c: MachineCosts, s: 'samples' | 'cells', p: number): number => predictBatchSeconds(c, s, p);
  // No spread, no cross-core cost: samples on 16 threads stays within half again of the work / 16.
  const ideal = (costs.forward.reduce((a, b) => a + b) + costs.update.reduce((a, b) => a + b) + costs.coordinator) / 16;
  assert.ok(at(costs, 'samples', 16) >= ideal && at(costs, 'samples', 16) < 1.5 * ideal, `${at(costs, 'samples', 16)} against ${ideal}`);
  // Every term only slows a strategy down.
  assert.ok(at({ ...costs, jitter: 0.05 }, 'samples', 16) > at(costs, 'samples', 16));
  assert.ok(at({ ...costs, crossCore: 1e-10 }, 'samples', 16) > at(costs, 'samples', 16));
  assert.ok(at({ ...costs, crossCore: 1e-10 }, 'cells', 16) > at(costs, 'cells', 16));
  assert.ok(at({ ...costs, atomic: 1e-5 }, 'cells', 16) > at(costs, 'cells', 16));
  // Contention: linear from one thread to the count measured, held beyond; it slows every parallel strategy, never serial.
  const contention = { threads: 4, batch: 1.3, chunk: 1.6 };
  assert.is(contentionAt(costs, 16, 'batch'), 1);
  assert.is(contentionAt({ contention }, 1, 'batch'), 1);
  assert.ok(Math.abs(contentionAt({ contention }, 2, 'batch') - 1.1) < 1e-12);
  assert.ok(Math.abs(contentionAt({ contention }, 16, 'chunk') - 1.6) < 1e-12);
  const slowed = { ...costs, contention };
  assert.is(predictBatchSeconds(slowed, 'serial', 16), predictBatchSeconds(costs, 'serial', 16));
  for (const s of ['cells', 'samples', 'layer'] as const) assert.ok(predictBatchSeconds(slowed, s, 4) > predictBatchSeconds(costs, s, 4), s);
  assert.ok(at({ ...costs, contention: { ...contention, batch: 1 } }, 'samples', 4) > at(costs, 'samples', 4), 'the chunk factor alone slows samples');
});

test('the contention probe runs private copies of a model at once and reports factors of at least 1', withTimeout(60000, async () => {
  const data = parityData(6);
  const t = await createTrainer({ preset: 'article', model: { hidden: [16, 16], kernels: 'wasm' }, train: { batch: 16 } });
  try {
    await t.fit(data, { epochs: 1 });
    const c = await measureContention(t.mem!, t.layout!, t.model!, 16, 8, 2, 3);
    assert.is(c.threads, Math.min(2, availableParallelism()));
    assert.ok(c.batch >= 1 && c.chunk >= 1 && Number.isFinite(c.batch) && Number.isFinite(c.chunk), JSON.stringify(c));
    assert.equal(await measureContention(t.mem!, t.layout!, t.model!, 16, 8, 1, 3), { threads: 1, batch: 1, chunk: 1 });
  } finally {
    await t.close();
  }
}));

test('scale skips strategies that do not apply, and rejects bad lists', withTimeout(60000, async () => {
  const out = join(dir, 'skip.csv');
  const r = runCli(['scale', '--data', 'xor', '--preset', 'article', '--hidden', '4,4', '--strategies', 'serial,output', '--repeats', '1', '--out', out]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /output strategy skipped/);
  assert.match(r.stdout, /serial/);
  const bad = runCli(['scale', '--data', 'xor', '--strategies', 'serial,turbo']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--strategies: unknown value 'turbo'/);
  const w = runCli(['scale', '--data', 'xor', '--workers', '1,0']);
  assert.is(w.code, 2);
  assert.match(w.stderr, /--workers must list integers/);
  const path = runCli(['scale', '--data', 'xor', '--out', join(dir, 'nope', 'x.csv')]);
  assert.is(path.code, 2);
  assert.match(path.stderr, /does not exist/);
  // Found by the fuzzer: an empty trace prefix used to write "-kaneko-serial-x1.json" in the working directory.
  const trace = runCli(['scale', '--data', 'xor', '--strategies', 'serial', '--workers', '1', '--repeats', '1', '--out', join(dir, 'empty-trace.csv'), '--trace', '']);
  assert.is(trace.code, 2);
  assert.match(trace.stderr, /^edsim: --trace needs a file prefix, got an empty one/);
  assert.not.ok(existsSync(join(dir, 'empty-trace.csv')), 'nothing written');
}));

function interrupt(args: string[], ready: (stderr: string) => boolean): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const poll = setInterval(() => {
      if (ready(stderr)) {
        clearInterval(poll);
        child.kill('SIGINT');
      }
    }, 50);
    const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child did not stop')); }, 60000);
    child.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(guard);
      resolve({ code, stderr });
    });
  });
}

test('Ctrl-C during scale keeps the rows measured so far and exits non-zero', withTimeout(90000, async () => {
  const out = join(dir, 'int.csv');
  const r = await interrupt(['scale', '--data', 'mnist', '--classes', '0,1', '--limit', '600', '--preset', 'bench-wide', '--hidden', '256,256', '--strategies', 'serial,layer', '--workers', '2', '--repeats', '30', '--out', out],
    () => existsSync(out) && parseCsv(readFileSync(out, 'utf8')).length >= 3);
  assert.is(r.code, 130, r.stderr);
  const rows = parseCsv(readFileSync(out, 'utf8'));
  assert.ok(rows.length >= 3);
  for (const row of rows) assert.is(row.length, CSV_COLUMNS.length);
}));

test('Ctrl-C during train saves the last completed epoch atomically and exits non-zero', withTimeout(90000, async () => {
  const model = join(dir, 'int.edsim');
  const r = await interrupt(['train', '--data', 'mnist', '--classes', '0,1', '--preset', 'bench-wide', '--hidden', '256,256', '--epochs', '500', '--save', model, '--strategy', 'layer', '--workers', '2'],
    (stderr) => /epoch 2 /.test(stderr));
  assert.is(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted/);
  assert.match(r.stderr, /stopped after \d+ complete epoch\(s\); saved them to/);
  const m = loadModel(model);
  assert.is(m.config.inputs, 784);
  assert.not.ok(existsSync(`${model}.tmp`));
}));

test('halftone: PNG in, black-and-white PNG out; bad files named', withTimeout(30000, async () => {
  const input = join(dir, 'in.png');
  const r = runCli(['halftone', '--demo', input, join(dir, 'out.png'), '--kernel', 'jarvis']);
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'out.png')));
  const bad = runCli(['halftone', join(dir, 'scale.csv'), join(dir, 'o.png')]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /is not a readable PNG image/);
  const missing = runCli(['halftone', join(dir, 'none.png'), join(dir, 'o.png')]);
  assert.match(missing.stderr, /cannot read image/);
}));

test('train --trace writes Chrome trace events for every thread and a timeline SVG', withTimeout(60000, async () => {
  const dir = tempDir();
  const file = join(dir, 'run.json');
  const r = runCli(['train', '--data', 'mnist', '--classes', '0,1', '--limit', '256', '--preset', 'bench-wide', '--hidden', '64,64', '--epochs', '2', '--strategy', 'cells', '--workers', '2', '--trace', file, '--json']);
  assert.is(r.code, 0, r.stderr);
  const t = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: { name: string; ph: string; tid: number; ts?: number; dur?: number; args?: { name: string } }[]; otherData: { droppedSpans: number } };
  const threads = t.traceEvents.filter((e) => e.ph === 'M');
  assert.equal(threads.map((e) => e.tid), [0, 1]);
  assert.match(threads[0]!.args!.name, /coordinator/);
  const spans = t.traceEvents.filter((e) => e.ph === 'X');
  // 2 epochs of 2 batches: each thread updates 4 times; the coordinator also computes the amine 4 times.
  for (const tid of [0, 1]) assert.is(spans.filter((e) => e.tid === tid && e.name === 'update').length, 4, `thread ${tid} updates`);
  assert.is(spans.filter((e) => e.tid === 0 && e.name === 'amine').length, 4);
  assert.ok(spans.every((e) => e.ts! >= 0 && e.dur! >= 0 && ['forward', 'amine', 'update', 'wait', 'stage'].includes(e.name)));
  assert.is(t.otherData.droppedSpans, 0);
  assert.match(readFileSync(join(dir, 'run.svg'), 'utf8'), /^<svg/);
  const bad = runCli(['train', '--data', 'xor', '--trace', join(dir, 'no', 'such', 'dir', 't.json')]);
  assert.is(bad.code, 2);
}));

test('bench --json ends with the kernels table', withTimeout(60000, async () => {
  const r = runCli(['bench', '--json', '--repeats', '1', '--shapes', '8x16x12']);
  assert.is(r.code, 0, r.stderr);
  const j = lastJson(r.stdout) as { native: string; kernels: { op: string; dtype: string; impl: string; gflops: number; batch: number; in: number; out: number; shareOfPeak?: number }[] };
  assert.type(j.native, 'string');
  const peak = j.kernels.filter((k) => k.op === 'peak');
  const rows = j.kernels.filter((k) => k.op !== 'peak');
  // forward and update for js f64, js f32 and wasm, and native where the addon built (with its peak).
  assert.is(rows.length, nativeAddon() ? 8 : 6);
  assert.is(peak.length, nativeAddon() && nativeAddon()!.info().variant !== 'portable' ? 1 : 0);
  for (const k of rows) {
    assert.ok(k.gflops > 0);
    assert.equal([k.batch, k.in, k.out], [8, 16, 12]);
    if (peak.length) assert.ok(Math.abs(k.shareOfPeak! - k.gflops / peak[0]!.gflops) < 1e-9);
  }
  const bad = runCli(['bench', '--shapes', '8x0x1']);
  assert.is(bad.code, 2);
}));

test.run();
