/**
 * End-to-end training speed (npm run bench:train): seconds per epoch, median over measured epochs
 * after a warm-up, for the article preset (MNIST 0/1), bench-wide, and Kaneko's online setting
 * (256 inputs, 10 outputs, 128 hidden cells, 1000 random patterns). Writes results/bench-train.csv.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import { benchKernels } from '../src/kernels/bench.js';
import { type Dataset, loadDataset } from '../src/data/data.js';
import { provenance, loadAvg1 } from '../src/report/report.js';
import { Rng } from '../src/engine/rng.js';
import { summarize } from '../src/report/stats.js';
import { nativeAddon } from '../src/kernels/native.js';
import { createTrainer, type TrainerOptions } from '../src/trainer.js';

/** Kaneko's random patterns: inputs uniform in [0, 1) (no zeros for edsim's online kernels to skip), 0/1 targets. */
function randomPatterns(n: number, features: number, outputs: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = Float64Array.from({ length: n * features }, () => rng.next());
  const y = Float64Array.from({ length: n * outputs }, () => (rng.next() < 0.5 ? 0 : 1));
  return { n, features, outputs, x, y, labels: new Int32Array(n).fill(-1), classes: [] };
}

interface Row {
  setting: string;
  precision: string;
  kernels: string;
  strategy: string;
  workers: number;
  epochs_measured: number;
  seconds_per_epoch: number;
  min_seconds: number;
  max_seconds: number;
  test_accuracy: number | string;
  gflops: number | string;
  reference: string;
}

async function measure(setting: string, o: TrainerOptions, train: Dataset, test: Dataset | undefined, epochs: number, flopsPerEpoch: number, reference: string): Promise<Row> {
  const t = await createTrainer(o);
  await t.fit(train, { epochs: 1 }); // warm-up (JIT, workers)
  const h = await t.fit(train, { epochs });
  const acc = test ? (await t.evaluate(test)).accuracy : '';
  await t.close();
  const s = summarize(h.epochs.map((e) => e.seconds));
  const row: Row = {
    setting, precision: t.model!.precision, kernels: t.model!.kernels, strategy: t.strategy, workers: t.workers, epochs_measured: epochs,
    seconds_per_epoch: s.median, min_seconds: s.min, max_seconds: s.max, test_accuracy: acc,
    gflops: flopsPerEpoch ? flopsPerEpoch / s.median / 1e9 : '', reference,
  };
  console.log(`${setting.padEnd(34)} ${row.precision}/${row.kernels} ${row.strategy} x${row.workers}: ${s.median.toFixed(3)} s/epoch${acc !== '' ? `, test ${(100 * Number(acc)).toFixed(2)} %` : ''}${row.gflops !== '' ? `, ${Number(row.gflops).toFixed(1)} GFLOP/s` : ''}`);
  return row;
}

/**
 * Two trainers measured in turn, one epoch each per round (this VM drifts by 20 % over a minute, so
 * a ratio is only fair when both sides share the same moments).
 */
async function measureInTurn(setting: string, a: TrainerOptions, b: TrainerOptions, train: Dataset, rounds: number, flopsPerEpoch: number, reference: string): Promise<Row[]> {
  const trainers = [await createTrainer(a), await createTrainer(b)];
  for (const t of trainers) await t.fit(train, { epochs: 1 });
  const secs: number[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 2; i++) secs[i]!.push((await trainers[i]!.fit(train, { epochs: 1 })).epochs[0]!.seconds);
  }
  const rows = trainers.map((t, i): Row => {
    const s = summarize(secs[i]!);
    return {
      setting, precision: t.model!.precision, kernels: t.model!.kernels, strategy: t.strategy, workers: t.workers, epochs_measured: rounds,
      seconds_per_epoch: s.median, min_seconds: s.min, max_seconds: s.max, test_accuracy: '', gflops: flopsPerEpoch / s.median / 1e9, reference,
    };
  });
  for (const t of trainers) await t.close();
  for (const r of rows) console.log(`${setting.padEnd(34)} ${r.precision}/${r.kernels} ${r.strategy} x${r.workers}: ${r.seconds_per_epoch.toFixed(3)} s/epoch (in turn, ${rounds} rounds)`);
  console.log(`    ${rows[1]!.strategy} x${rows[1]!.workers} over ${rows[0]!.strategy}: ${(rows[0]!.seconds_per_epoch / rows[1]!.seconds_per_epoch).toFixed(2)}x`);
  return rows;
}

/** Multiply-adds times 2, forward and update, per sample, over every layer of every net. */
async function flopsPerSample(o: TrainerOptions, d: Dataset): Promise<number> {
  const t = await createTrainer({ ...o, strategy: 'serial' });
  await t.build(d.features, d.outputs);
  const f = t.layout!.nets.reduce((s, n) => s + n.layers.reduce((a, l) => a + 4 * l.nIn * l.nOut, 0), 0);
  await t.close();
  return f;
}

/** Kaneko's setting in C (scripts/kaneko-reference.c, gcc -O2) on the same inputs: seconds per epoch, or undefined without gcc. */
function cBaseline(d: Dataset, hidden: number, epochs: number): number | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'edsim-kaneko-c-'));
  try {
    const exe = join(dir, 'kaneko');
    const cc = spawnSync('gcc', ['-O2', '-o', exe, fileURLToPath(new URL('../../scripts/kaneko-reference.c', import.meta.url)), '-lm'], { encoding: 'utf8' });
    if (cc.status !== 0) {
      console.log(`Kaneko C baseline skipped: gcc failed (${(cc.stderr || String(cc.error)).split('\n')[0]})`);
      return undefined;
    }
    const raw = new Float32Array(d.x.length + d.y.length);
    raw.set(d.x);
    raw.set(d.y, d.x.length);
    writeFileSync(join(dir, 'data.bin'), raw);
    const r = spawnSync(exe, [join(dir, 'data.bin'), String(d.n), String(d.features), String(d.outputs), String(hidden), String(epochs)], { encoding: 'utf8' });
    return summarize(r.stdout.trim().split(' ').map(Number).slice(1)).median;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
const mnist = await loadDataset('mnist', { classes: [0, 1] });
const native = { precision: 'f32', kernels: 'native' } as const;
const wasm = { precision: 'f32', kernels: 'wasm' } as const;
const ref = { precision: 'f64', kernels: 'js' } as const;
const fast = nativeAddon() ? [native, wasm] : [wasm];
const article: TrainerOptions = { preset: 'article' };
const aFlops = (await flopsPerSample(article, mnist.train)) * mnist.train.n;
for (const k of fast) rows.push(await measure('article MNIST 0/1 (10 epochs)', { ...article, model: k }, mnist.train, mnist.test, 10, aFlops, 'NumPy (article code): 1.7 s/epoch, 97.66 %'));
rows.push(await measure('article MNIST 0/1 (10 epochs)', { ...article, model: ref }, mnist.train, mnist.test, 10, aFlops, 'NumPy (article code): 1.7 s/epoch, 97.66 %'));
const wide: TrainerOptions = { preset: 'bench-wide' };
const wFlops = (await flopsPerSample(wide, mnist.train)) * mnist.train.n;
for (const k of fast) rows.push(await measure('bench-wide MNIST 0/1', { ...wide, model: k }, mnist.train, mnist.test, 5, wFlops, 'NumPy: npm run bench:numpy'));
rows.push(await measure('bench-wide MNIST 0/1', { ...wide, model: ref }, mnist.train, mnist.test, 1, wFlops, ''));
const kanekoData = randomPatterns(1000, 256, 10, 7);
const kaneko: TrainerOptions = { preset: 'kaneko', model: { hidden: [128], faithfulExp: false }, train: { stopErrSum: 0 } };
const kFlops = (await flopsPerSample(kaneko, kanekoData)) * kanekoData.n;
const cSeconds = cBaseline(kanekoData, 128, 4);
const cRef = cSeconds === undefined ? 'C baseline: no gcc' : `scripts/kaneko-reference.c (gcc -O2), same inputs, this run: ${cSeconds.toFixed(3)} s/epoch`;
if (cSeconds !== undefined) console.log(`Kaneko online in C (gcc -O2): ${cSeconds.toFixed(3)} s/epoch`);
for (const k of fast) {
  rows.push(...(await measureInTurn('Kaneko online 256-128x10, 1000 pat.', { ...kaneko, model: { ...kaneko.model, ...k } },
    { ...kaneko, model: { ...kaneko.model, ...k }, strategy: 'output', workers: 2 }, kanekoData, 7, kFlops, cRef)));
}
rows.push(await measure('Kaneko online 256-128x10, 1000 pat.', { ...kaneko, model: { ...kaneko.model, ...ref } }, kanekoData, undefined, 1, kFlops, cRef));
if (cSeconds !== undefined) {
  for (const r of rows.filter((x) => x.setting.startsWith('Kaneko'))) console.log(`    ${r.kernels} ${r.strategy} x${r.workers}: ${(cSeconds / r.seconds_per_epoch).toFixed(1)}x the C program`);
}
const kernels = benchKernels([[128, 1568, 512], [128, 1024, 512]], 3);
const best = fast[0]!.kernels;
const kernelRate = summarize(kernels.filter((k) => k.impl === best && k.op !== 'peak').map((k) => k.gflops)).median;
const wideRow = rows.find((r) => r.setting.startsWith('bench-wide') && r.kernels === best)!;
console.log(`${best} kernel median on bench-wide's shapes: ${kernelRate.toFixed(1)} GFLOP/s; bench-wide end to end: ${Number(wideRow.gflops).toFixed(1)} GFLOP/s (${(100 * Number(wideRow.gflops) / kernelRate).toFixed(0)} %)`);
const cColumn = cSeconds ?? '';
const prov = provenance();
const stamp = new Date().toISOString();
const out = rows.map((r) => ({ ...r, kaneko_c_seconds_per_epoch: r.setting.startsWith('Kaneko') ? cColumn : '', kernel_gflops_bench_wide_shapes: kernelRate, load_avg_1m: loadAvg1(), ...prov, timestamp: stamp }));
writeFileSync('results/bench-train.csv', stringify(out, { header: true }));
console.log('wrote results/bench-train.csv');
